package render

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// `nlb`: a Load Balanced Web Service's own Network Load Balancer, as
// Copilot's nlb partial writes it: the load balancer in the public
// subnets, its security group open on the listener ports, the ingress into
// the environment security group, one listener and target group per
// listener (NLBListener, NLBListener1, …), the default DNS alias under
// HasAssociatedDomain, and the PublicNetworkLoadBalancerDNSName output.
// A TLS listener (an application with a domain and no imported
// certificate, as Copilot requires) gets NLBCertificate, a native
// certificate for <svc>-nlb.<env>.<app>.<domain> validated in the
// environment's zone: the name Copilot's certificate Lambda
// (NLBCertValidatorAction, which deploy keeps retained on a stack Copilot
// made) requests. nlb.alias (Copilot's custom-domain Lambda writes its
// records and certificates in the application's zones) is refused.

// nlbListenerSpec is nlb or one of nlb.additional_listeners.
type nlbListenerSpec struct {
	manifest.NLBListener

	port                        int
	protocol                    string // TCP, UDP or TLS
	interval, timeout, grace    *int
	deregistration              int
	targetContainer             string // decided by exposedPorts
	targetPort                  int
	targetContainerIsUnknown    bool
	targetContainerHasNoPortSet bool
}

// nlbSpec is `nlb`.
type nlbSpec struct {
	manifest.NLB
	listeners []nlbListenerSpec // the main listener, then the additional ones
}

// parseNLB decodes and validates `nlb`; nil without one.
func parseNLB(in ecsInput, n manifest.NLB, fail failFunc) *nlbSpec {
	if !n.Set {
		return nil
	}
	if in.kind != workspace.LoadBalancedWebService {
		fail(n.Pos, ruleManifest, fmt.Sprintf("nlb is a Load Balanced Web Service field, not a %s one", in.kind), "remove nlb")
		return nil
	}
	s := nlbSpec{NLB: n}
	if n.Has("alias") {
		fail(n.Pos, ruleUnsupported, "rendering nlb.alias is not supported yet: Copilot adds the records with its custom-domain Lambda through the application's domain", "remove nlb.alias for now, or deploy this service with your current tooling")
	}
	ok := true
	for i, ml := range append([]manifest.NLBListener{n.NLBListener}, n.AdditionalListeners...) {
		l := nlbListenerSpec{NLBListener: ml}
		where := "nlb"
		if i > 0 {
			where = fmt.Sprintf("nlb.additional_listeners[%d]", i-1)
		}
		bad := func(rule, msg, fix string) {
			fail(n.Pos, rule, where+": "+msg, fix)
			ok = false
		}
		if l.Port == nil {
			bad(ruleManifest, `"port" must be specified`, "set port, e.g. 80/tcp")
			continue
		}
		p, proto, hasProto := strings.Cut(*l.Port, "/")
		port, err := strconv.ParseUint(p, 10, 16)
		if err != nil || port == 0 {
			bad(ruleManifest, fmt.Sprintf("port %q must be a number from 1 to 65535 followed by /tcp or /udp", *l.Port), "")
			continue
		}
		l.port, l.protocol = int(port), "TCP"
		if hasProto {
			l.protocol = strings.ToUpper(proto)
		}
		switch l.protocol {
		case "TCP", "UDP":
		case "TLS":
			if !in.tls.delegated {
				bad(ruleUnsupported, "a TLS listener needs the application's domain and no imported public certificate: its certificate is requested for <svc>-nlb.<env>.<app>.<domain> and validated in the environment's zone",
					"give the application's domain (--app-domain), or listen on TCP")
				continue
			}
		default:
			bad(ruleManifest, fmt.Sprintf("protocol %q must be one of TCP, UDP, TLS", proto), "")
			continue
		}
		secs := func(s *string, key string) *int {
			if s == nil {
				return nil
			}
			d, err := time.ParseDuration(*s)
			if err != nil {
				bad(ruleManifest, fmt.Sprintf("%s %q is not a duration such as 10s", key, *s), "")
				return nil
			}
			v := int(d.Seconds())
			return &v
		}
		l.interval = secs(l.HealthCheck.Interval, "healthcheck.interval")
		l.timeout = secs(l.HealthCheck.Timeout, "healthcheck.timeout")
		l.grace = secs(l.HealthCheck.GracePeriod, "healthcheck.grace_period")
		l.deregistration = 60
		if d := secs(l.DeregistrationDelay, "deregistration_delay"); d != nil {
			l.deregistration = *d
		}
		s.listeners = append(s.listeners, l)
	}
	if !ok {
		return nil
	}
	return &s
}

// exposeNLBPorts adds what the listeners expose (their target port, on
// target_container or the main container, unless a container already
// exposes that port and protocol), as Copilot's ExposedPorts does between
// the http rule and image.port.
func exposeNLBPorts(in ecsInput, s *nlbSpec, exposed map[int]exposedPort) {
	if s == nil {
		return
	}
	for _, l := range s.listeners {
		target := l.port
		if l.TargetPort != nil {
			target = *l.TargetPort
		}
		proto := strings.ToLower(l.targetProtocol())
		taken := false
		for p, e := range exposed {
			if p == target && e.protocol == proto {
				taken = true
			}
		}
		if taken {
			continue
		}
		c := in.name
		if l.TargetContainer != nil {
			c = *l.TargetContainer
		}
		exposed[target] = exposedPort{c, proto}
	}
}

// nlbTargets decides each listener's target container and port, as
// Copilot's NetworkLoadBalancerListener.Target does.
func nlbTargets(in ecsInput, s *nlbSpec, exposed map[int]exposedPort, definedBy map[string]int, known map[string]bool) {
	if s == nil {
		return
	}
	for i := range s.listeners {
		l := &s.listeners[i]
		l.targetContainer, l.targetPort = in.name, l.port
		switch {
		case l.TargetContainer == nil && l.TargetPort == nil:
		case l.TargetPort == nil:
			if *l.TargetContainer != in.name {
				l.targetContainer = *l.TargetContainer
				l.targetContainerIsUnknown = !known[*l.TargetContainer]
				if p, ok := definedBy[*l.TargetContainer]; ok {
					l.targetPort = p
				}
			}
		case l.TargetContainer == nil:
			l.targetPort = *l.TargetPort
			if e, ok := exposed[l.targetPort]; ok {
				l.targetContainer = e.container
			}
		default:
			l.targetContainer, l.targetPort = *l.TargetContainer, *l.TargetPort
			l.targetContainerIsUnknown = !known[*l.TargetContainer]
		}
	}
}

// targetProtocol is what the listener speaks to its targets: TCP behind
// TLS, which the listener terminates.
func (l nlbListenerSpec) targetProtocol() string {
	if l.protocol == "TLS" {
		return "TCP"
	}
	return l.protocol
}

// nlbTLSPolicy is Copilot's SSL policy for a TLS listener without ssl_policy.
const nlbTLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

func nlbSuffix(i int) string {
	if i == 0 {
		return ""
	}
	return strconv.Itoa(i)
}

// addNLB adds the load balancer, its listeners and target groups.
func addNLB(add func(string, *yaml.Node), s *nlbSpec) {
	ingress := seq()
	for _, l := range s.listeners {
		ingress.Content = append(ingress.Content, kv(
			"CidrIp", "0.0.0.0/0",
			"Description", fmt.Sprintf("Allow %s traffic from anyone on listener port %d", l.targetProtocol(), l.port),
			"FromPort", l.port,
			"IpProtocol", l.targetProtocol(),
			"ToPort", l.port,
		))
	}
	add("PublicNetworkLoadBalancerV2", kv(
		"Metadata", kv("aws:copilot:description", "A Network Load Balancer to distribute public traffic to your service"),
		"Type", "AWS::ElasticLoadBalancingV2::LoadBalancer",
		"Properties", kv(
			"Scheme", "internet-facing",
			"Subnets", kv("Fn::Split", fn("", ",", importValue(sub("${AppName}-${EnvName}-PublicSubnets")))),
			"Type", "network",
			"SecurityGroups", seq(getAtt("NetworkLoadBalancerSecurityGroup.GroupId")),
		),
	))
	add("NetworkLoadBalancerSecurityGroup", kv(
		"Metadata", kv("aws:copilot:description", "A security group for your network load balancer allowing public traffic"),
		"Type", "AWS::EC2::SecurityGroup",
		"Properties", kv(
			"GroupDescription", "Allow traffic to the public facing load balancer on listener ports",
			"SecurityGroupIngress", ingress,
			"VpcId", importValue(sub("${AppName}-${EnvName}-VpcId")),
			"Tags", tagList("Name", sub("copilot-${AppName}-${EnvName}-${WorkloadName}-nlb")),
		),
	))
	add("EnvironmentSecurityGroupIngressFromNetworkLoadBalancerSecurityGroup", kv(
		"Type", "AWS::EC2::SecurityGroupIngress",
		"Metadata", kv("aws:copilot:description", "Allow ingress from the network load balancer to services in your environment"),
		"Properties", kv(
			"GroupId", importValue(sub("${AppName}-${EnvName}-EnvironmentSecurityGroup")),
			"IpProtocol", -1,
			"SourceSecurityGroupId", getAtt("NetworkLoadBalancerSecurityGroup.GroupId"),
		),
	))
	for i, l := range s.listeners {
		suffix := nlbSuffix(i)
		listener := kv(
			"DefaultActions", seq(kv("TargetGroupArn", ref("NetworkLoadBalancerTargetGroup"+suffix), "Type", "forward")),
			"LoadBalancerArn", ref("PublicNetworkLoadBalancerV2"),
			"Port", l.port,
			"Protocol", l.protocol,
		)
		if l.protocol == "TLS" {
			set(listener, "Certificates", seq(kv("CertificateArn", ref("NLBCertificate"))))
			set(listener, "SslPolicy", cmp.Or(deref(l.SSLPolicy), nlbTLSPolicy))
		}
		add("NLBListener"+suffix, kv(
			"Metadata", kv("aws:copilot:description", fmt.Sprintf("A %s listener on port `%d` that forwards traffic to your tasks", l.protocol, l.port)),
			"Type", "AWS::ElasticLoadBalancingV2::Listener",
			"Properties", listener,
		))
		props := kv()
		hc := l.HealthCheck
		if hc.HealthyThreshold != nil {
			set(props, "HealthyThresholdCount", int(*hc.HealthyThreshold))
		}
		if hc.UnhealthyThreshold != nil {
			set(props, "UnhealthyThresholdCount", int(*hc.UnhealthyThreshold))
		}
		if l.interval != nil {
			set(props, "HealthCheckIntervalSeconds", *l.interval)
		}
		if l.timeout != nil {
			set(props, "HealthCheckTimeoutSeconds", *l.timeout)
		}
		if hc.Port != nil {
			set(props, "HealthCheckPort", strconv.Itoa(*hc.Port))
		}
		set(props, "Port", l.targetPort)
		set(props, "Protocol", l.targetProtocol())
		attrs := seq(kv("Key", "deregistration_delay.timeout_seconds", "Value", l.deregistration))
		// Target groups behind TLS listeners take no stickiness, as Copilot
		// leaves it out there.
		if l.Stickiness != nil && l.protocol != "TLS" {
			attrs.Content = append(attrs.Content, kv("Key", "stickiness.enabled", "Value", *l.Stickiness))
		}
		set(props, "TargetGroupAttributes", attrs)
		set(props, "TargetType", "ip")
		set(props, "VpcId", importValue(sub("${AppName}-${EnvName}-VpcId")))
		add("NetworkLoadBalancerTargetGroup"+suffix, kv(
			"Metadata", kv("aws:copilot:description", fmt.Sprintf("A target group to connect the network load balancer to your service on port %d", l.targetPort)),
			"Type", "AWS::ElasticLoadBalancingV2::TargetGroup",
			"Properties", props,
		))
	}
	if slices.ContainsFunc(s.listeners, func(l nlbListenerSpec) bool { return l.protocol == "TLS" }) {
		name := join(".", seq(sub("${WorkloadName}-nlb"), importValue(sub("${AppName}-${EnvName}-SubDomain"))))
		add("NLBCertificate", kv(
			"Metadata", kv("aws:copilot:description", "The certificate of the network load balancer's TLS listeners"),
			"Type", "AWS::CertificateManager::Certificate",
			"Properties", kv(
				"DomainName", name,
				"DomainValidationOptions", seq(kv("DomainName", deepCopy(name), "HostedZoneId", importValue(sub("${AppName}-${EnvName}-HostedZone")))),
				"ValidationMethod", "DNS",
			),
		))
	}
	add("NLBDNSAlias", kv(
		"Metadata", kv("aws:copilot:description", "The default alias record for the network load balancer"),
		"Type", "AWS::Route53::RecordSetGroup",
		"Condition", "HasAssociatedDomain",
		"Properties", kv(
			"HostedZoneId", importValue(sub("${AppName}-${EnvName}-HostedZone")),
			"Comment", sub("Default NetworkLoadBalancer alias for service ${WorkloadName}"),
			"RecordSets", seq(kv(
				"Name", join(".", seq(sub("${WorkloadName}-nlb"), importValue(sub("${AppName}-${EnvName}-SubDomain")), "")),
				"Type", "A",
				"AliasTarget", kv(
					"HostedZoneId", getAtt("PublicNetworkLoadBalancerV2.CanonicalHostedZoneID"),
					"DNSName", getAtt("PublicNetworkLoadBalancerV2.DNSName"),
				),
			)),
		),
	))
}

// nlbServiceTargets are the service's LoadBalancers entries for the NLB.
func nlbServiceTargets(s *nlbSpec) []*yaml.Node {
	var out []*yaml.Node
	for i, l := range s.listeners {
		out = append(out, kv("ContainerName", l.targetContainer, "ContainerPort", l.targetPort, "TargetGroupArn", ref("NetworkLoadBalancerTargetGroup"+nlbSuffix(i))))
	}
	return out
}

// nlbOutput is Copilot's PublicNetworkLoadBalancerDNSName output.
func nlbOutput() *yaml.Node {
	return kv("Value", getAtt("PublicNetworkLoadBalancerV2.DNSName"),
		"Export", kv("Name", sub("${AWS::StackName}-PublicNetworkLoadBalancerDNSName")))
}
