package render

import (
	"fmt"
	"net/netip"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// envLB is what the environment's two load balancers are rendered from.
type envLB struct {
	publicCerts, privateCerts   []string
	publicSSL, privateSSL       string
	sourceIPs                   []string
	allowVPCIngress             bool
	internalSubnets             []string // http.private.subnets
	logsBucket, logsPrefix      string   // access_logs with an existing bucket
	accessLogs                  bool
	logsBucketCreated           bool     // access_logs without a bucket: Copilot's ELBAccessLogsBucket
	prefixLists                 []string // ingress restricted to these prefix lists (CloudFront's)
	publicSubnetsMissing        bool     // an imported VPC without public subnets
	albWorkloads, internalALBWl []string
}

// planEnvLB reads the http section. Ingress restricted to CloudFront needs
// the id of the region's CloudFront prefix list: the given one, else
// looked up (plan, deploy); offline it must be given.
func planEnvLB(m *manifest.Environment, file, env string, p vpcPlan, opts Options) (envLB, diag.List) {
	var diags diag.List
	errAt := failer(&diags, file, env)
	var lb envLB
	h := m.HTTP
	if !h.Set {
		return lb, nil
	}
	if (h.Public.Ingress.CDN != nil && *h.Public.Ingress.CDN) || (h.Public.DeprecatedSG.Ingress.RestrictTo.CDN != nil && *h.Public.DeprecatedSG.Ingress.RestrictTo.CDN) {
		cloudFrontPrefixList := opts.CloudFrontPrefixList
		switch {
		case cloudFrontPrefixList == "" && opts.Lookups != nil:
			id, err := opts.Lookups.CloudFrontPrefixList(opts.ctx())
			if err != nil {
				errAt(h.At("public"), ruleLookup, fmt.Sprintf("http.public.ingress.cdn: %v", err),
					"allow ec2:DescribeManagedPrefixLists, or pass --cloudfront-prefix-list (or $AUTOPILOT_CLOUDFRONT_PREFIX_LIST)")
			}
			cloudFrontPrefixList = id
		case cloudFrontPrefixList == "":
			// Not a manifest problem (lint does not report it): an input.
			errAt(h.At("public"), ruleParameter, "http.public.ingress.cdn restricts the load balancer to CloudFront's prefix list, whose id render needs",
				"plan with AWS credentials, which look it up, or pass --cloudfront-prefix-list (or $AUTOPILOT_CLOUDFRONT_PREFIX_LIST) with the id of com.amazonaws.global.cloudfront.origin-facing in the region: "+
					"aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing")
		}
		lb.prefixLists = []string{cloudFrontPrefixList}
	}
	for i, ip := range h.Public.Ingress.SourceIPs {
		if _, err := netip.ParsePrefix(ip.Value); err != nil {
			errAt(ip.Pos, ruleManifest,
				fmt.Sprintf("http.public.ingress.source_ips[%d]: parse IPNet %s: invalid CIDR address", i, ip.Value), "write a CIDR block such as 10.0.0.0/24")
		}
		lb.sourceIPs = append(lb.sourceIPs, ip.Value)
	}
	if len(h.Private.Subnets) > 0 {
		if !p.imported {
			errAt(h.Private.At("subnets"), ruleManifest, "http.private.subnets can only be set with an imported VPC (network.vpc.id)", "remove http.private.subnets")
		}
		for _, s := range manifest.Values(h.Private.Subnets) {
			if p.imported && !slices.Contains(p.privateIDs, s) && !slices.Contains(p.publicIDs, s) {
				errAt(h.Private.At("subnets"), ruleManifest, fmt.Sprintf("subnet %s of http.private.subnets is not one of the imported subnets", s), "list subnets from network.vpc.subnets")
			}
		}
	}
	switch logs := h.Public.AccessLogs; {
	case logs.IsMap:
		lb.accessLogs = true
		lb.logsBucket = deref(logs.Map.BucketName)
		lb.logsBucketCreated = logs.Map.BucketName == nil
		lb.logsPrefix = deref(logs.Map.Prefix)
	case logs.IsBool && !logs.Bad && logs.Bool:
		lb.accessLogs, lb.logsBucketCreated = true, true
	}
	lb.publicCerts, lb.privateCerts = h.Public.Certificates, h.Private.Certificates
	if h.Public.SSLPolicy != nil {
		lb.publicSSL = *h.Public.SSLPolicy
	}
	if h.Private.SSLPolicy != nil {
		lb.privateSSL = *h.Private.SSLPolicy
	}
	lb.allowVPCIngress = h.Private.Ingress.VPC != nil && *h.Private.Ingress.VPC || h.Private.DeprecatedSG.Ingress.FromVPC != nil && *h.Private.DeprecatedSG.Ingress.FromVPC
	lb.internalSubnets = manifest.Values(h.Private.Subnets)
	return lb, diags
}

// publicHTTPSListener reports whether the HTTPS listener is rendered: with
// imported certificates, or with the application's domain, whose
// certificate is HTTPSCert.
func (lb envLB) publicHTTPSListener(domain bool) bool { return len(lb.publicCerts) > 0 || domain }

// addEnvLBResources adds Copilot's load balancer resources, each under its
// condition (CreateALB, ExportHTTPSListener, CreateInternalALB,
// ExportInternalHTTPSListener), so an environment without such workloads
// creates none of them.
func addEnvLBResources(add func(string, *yaml.Node), lb envLB, p vpcPlan, domain bool) {
	desc := func(s string) *yaml.Node { return kv("aws:copilot:description", s) }
	vpcRef := any(ref("VPC"))
	if p.imported {
		vpcRef = p.id
	}
	ingressRules := func(port int) *yaml.Node {
		rules := seq()
		for _, id := range lb.prefixLists {
			rules.Content = append(rules.Content, kv("SourcePrefixListId", id, "Description", fmt.Sprintf("Allow ingress from prefix list %s on port %d", id, port),
				"FromPort", port, "IpProtocol", "tcp", "ToPort", port))
		}
		for _, cidr := range lb.sourceIPs {
			rules.Content = append(rules.Content, kv("CidrIp", cidr, "Description", fmt.Sprintf("Allow ingress from source IP %s on port %d", cidr, port),
				"FromPort", port, "IpProtocol", "tcp", "ToPort", port))
		}
		if len(lb.sourceIPs) == 0 && len(lb.prefixLists) == 0 {
			rules.Content = append(rules.Content, kv("CidrIp", "0.0.0.0/0", "Description", fmt.Sprintf("Allow from anyone on port %d", port),
				"FromPort", port, "IpProtocol", "tcp", "ToPort", port))
		}
		return rules
	}
	nameTag := func(suffix string) *yaml.Node {
		return tagList("Name", sub("copilot-${AppName}-${EnvironmentName}-"+suffix))
	}
	add("PublicHTTPLoadBalancerSecurityGroup", kv("Metadata", desc("A security group for your load balancer allowing HTTP traffic"), "Condition", "CreateALB",
		"Type", "AWS::EC2::SecurityGroup", "Properties", kv("GroupDescription", "HTTP access to the public facing load balancer",
			"SecurityGroupIngress", ingressRules(80), "VpcId", vpcRef, "Tags", nameTag("lb-http"))))
	add("PublicHTTPSLoadBalancerSecurityGroup", kv("Metadata", desc("A security group for your load balancer allowing HTTPS traffic"), "Condition", "ExportHTTPSListener",
		"Type", "AWS::EC2::SecurityGroup", "Properties", kv("GroupDescription", "HTTPS access to the public facing load balancer",
			"SecurityGroupIngress", ingressRules(443), "VpcId", vpcRef, "Tags", nameTag("lb-https"))))
	add("InternalLoadBalancerSecurityGroup", kv("Metadata", desc("A security group for your internal load balancer allowing HTTP traffic from within the VPC"),
		"Condition", "CreateInternalALB", "Type", "AWS::EC2::SecurityGroup",
		"Properties", kv("GroupDescription", "Access to the internal load balancer", "VpcId", vpcRef, "Tags", nameTag("internal-lb"))))

	sgIngress := func(cond, description, group, source string) *yaml.Node {
		return kv("Type", "AWS::EC2::SecurityGroupIngress", "Condition", cond,
			"Properties", kv("Description", description, "GroupId", ref(group), "IpProtocol", -1, "SourceSecurityGroupId", ref(source)))
	}
	add("EnvironmentHTTPSecurityGroupIngressFromPublicALB", sgIngress("CreateALB", "HTTP ingress from the public ALB", "EnvironmentSecurityGroup", "PublicHTTPLoadBalancerSecurityGroup"))
	add("EnvironmentHTTPSSecurityGroupIngressFromPublicALB", sgIngress("ExportHTTPSListener", "HTTPS ingress from the public ALB", "EnvironmentSecurityGroup", "PublicHTTPSLoadBalancerSecurityGroup"))
	add("EnvironmentSecurityGroupIngressFromInternalALB", sgIngress("CreateInternalALB", "Ingress from the internal ALB", "EnvironmentSecurityGroup", "InternalLoadBalancerSecurityGroup"))
	add("InternalALBIngressFromEnvironmentSecurityGroup", sgIngress("CreateInternalALB", "Ingress from the env security group", "InternalLoadBalancerSecurityGroup", "EnvironmentSecurityGroup"))
	if lb.allowVPCIngress {
		for _, r := range []struct {
			id, cond string
			port     int
		}{{"InternalLoadBalancerSecurityGroupIngressFromHttp", "CreateInternalALB", 80}, {"InternalLoadBalancerSecurityGroupIngressFromHttps", "ExportInternalHTTPSListener", 443}} {
			add(r.id, kv("Metadata", desc(fmt.Sprintf("An inbound rule to the internal load balancer security group for port %d within the VPC", r.port)),
				"Type", "AWS::EC2::SecurityGroupIngress", "Condition", r.cond,
				"Properties", kv("Description", fmt.Sprintf("Allow from within the VPC on port %d", r.port), "CidrIp", "0.0.0.0/0",
					"FromPort", r.port, "ToPort", r.port, "IpProtocol", "tcp", "GroupId", ref("InternalLoadBalancerSecurityGroup"))))
		}
	}

	attrs := seq(kv("Key", "access_logs.s3.enabled", "Value", false))
	if lb.accessLogs {
		attrs = seq(kv("Key", "access_logs.s3.enabled", "Value", true))
		if lb.logsPrefix != "" {
			attrs.Content = append(attrs.Content, kv("Key", "access_logs.s3.prefix", "Value", lb.logsPrefix))
		}
		bucket := any(lb.logsBucket)
		if lb.logsBucketCreated {
			bucket = ref("ELBAccessLogsBucket")
		}
		attrs.Content = append(attrs.Content, kv("Key", "access_logs.s3.bucket", "Value", bucket))
	}
	publicSubnets := seq()
	if p.imported {
		for _, id := range p.publicIDs {
			publicSubnets.Content = append(publicSubnets.Content, str(id))
		}
	} else {
		for i := range p.publicCIDRs {
			publicSubnets.Content = append(publicSubnets.Content, ref(fmt.Sprintf("PublicSubnet%d", i+1)))
		}
	}
	publicSubnets.Style = yaml.FlowStyle
	publicLB := kv("Metadata", desc("An Application Load Balancer to distribute public traffic to your services"), "Condition", "CreateALB")
	if lb.logsBucketCreated {
		// ELB checks it may write to the bucket when logging is switched on.
		set(publicLB, "DependsOn", "ELBAccessLogsBucketPolicy")
	}
	set(publicLB, "Type", "AWS::ElasticLoadBalancingV2::LoadBalancer")
	set(publicLB, "Properties", kv("LoadBalancerAttributes", attrs, "Scheme", "internet-facing",
		"SecurityGroups", seq(getAtt("PublicHTTPLoadBalancerSecurityGroup.GroupId"), fn("!If", "ExportHTTPSListener", getAtt("PublicHTTPSLoadBalancerSecurityGroup.GroupId"), noValue())),
		"Subnets", publicSubnets, "Type", "application"))
	add("PublicLoadBalancer", publicLB)
	targetGroup := func(cond string) *yaml.Node {
		return kv("Type", "AWS::ElasticLoadBalancingV2::TargetGroup", "Condition", cond,
			"Properties", kv("HealthCheckIntervalSeconds", 10, "HealthyThresholdCount", 2, "HealthCheckTimeoutSeconds", 5, "Port", 80, "Protocol", "HTTP",
				"TargetGroupAttributes", seq(kv("Key", "deregistration_delay.timeout_seconds", "Value", 60)), "TargetType", "ip", "VpcId", vpcRef))
	}
	listener := func(description, cond, tg, lbID string, port int, protocol string, certs []any, ssl string) *yaml.Node {
		props := kv()
		if len(certs) > 0 {
			set(props, "Certificates", seq(kv("CertificateArn", certs[0])))
		}
		set(props, "DefaultActions", seq(kv("TargetGroupArn", ref(tg), "Type", "forward")))
		set(props, "LoadBalancerArn", ref(lbID))
		set(props, "Port", port)
		set(props, "Protocol", protocol)
		if ssl != "" {
			set(props, "SslPolicy", ssl)
		}
		return kv("Metadata", desc(description), "Type", "AWS::ElasticLoadBalancingV2::Listener", "Condition", cond, "Properties", props)
	}
	extraCerts := func(prefix, cond, listenerID string, certs []string) {
		for i := 1; i < len(certs); i++ {
			add(fmt.Sprintf("%s%d", prefix, i+1), kv("Type", "AWS::ElasticLoadBalancingV2::ListenerCertificate", "Condition", cond,
				"Properties", kv("ListenerArn", ref(listenerID), "Certificates", seq(kv("CertificateArn", certs[i])))))
		}
	}
	add("DefaultHTTPTargetGroup", targetGroup("CreateALB"))
	add("HTTPListener", listener("A load balancer listener to route HTTP traffic", "CreateALB", "DefaultHTTPTargetGroup", "PublicLoadBalancer", 80, "HTTP", nil, ""))
	if lb.publicHTTPSListener(domain) {
		certs := []any{ref("HTTPSCert")}
		if len(lb.publicCerts) > 0 {
			certs = []any{lb.publicCerts[0]}
		}
		add("HTTPSListener", listener("A load balancer listener to route HTTPS traffic", "ExportHTTPSListener", "DefaultHTTPTargetGroup", "PublicLoadBalancer", 443, "HTTPS", certs, lb.publicSSL))
		extraCerts("HTTPSImportCertificate", "ExportHTTPSListener", "HTTPSListener", lb.publicCerts)
	}

	internalSubnets := seq()
	switch {
	case len(lb.internalSubnets) > 0:
		for _, id := range lb.internalSubnets {
			internalSubnets.Content = append(internalSubnets.Content, str(id))
		}
	case p.imported:
		for _, id := range p.privateIDs {
			internalSubnets.Content = append(internalSubnets.Content, str(id))
		}
	default:
		for i := range p.privCIDRs {
			internalSubnets.Content = append(internalSubnets.Content, ref(fmt.Sprintf("PrivateSubnet%d", i+1)))
		}
	}
	internalSubnets.Style = yaml.FlowStyle
	sgs := seq(getAtt("InternalLoadBalancerSecurityGroup.GroupId"))
	sgs.Style = yaml.FlowStyle
	add("InternalLoadBalancer", kv("Metadata", desc("An internal Application Load Balancer to distribute private traffic from within the VPC to your services"),
		"Condition", "CreateInternalALB", "Type", "AWS::ElasticLoadBalancingV2::LoadBalancer",
		"Properties", kv("Scheme", "internal", "SecurityGroups", sgs, "Subnets", internalSubnets, "Type", "application")))
	add("DefaultInternalHTTPTargetGroup", targetGroup("CreateInternalALB"))
	add("InternalHTTPListener", listener("An internal load balancer listener to route HTTP traffic", "CreateInternalALB", "DefaultInternalHTTPTargetGroup", "InternalLoadBalancer", 80, "HTTP", nil, ""))
	var privateCert []any
	if len(lb.privateCerts) > 0 {
		privateCert = []any{lb.privateCerts[0]}
	}
	add("InternalHTTPSListener", listener("An internal load balancer listener to route HTTPS traffic", "ExportInternalHTTPSListener", "DefaultInternalHTTPTargetGroup", "InternalLoadBalancer", 443, "HTTPS", privateCert, lb.privateSSL))
	extraCerts("InternalHTTPSImportCertificate", "ExportInternalHTTPSListener", "InternalHTTPSListener", lb.privateCerts)
	if len(lb.privateCerts) == 0 {
		add("InternalWorkloadsHostedZone", kv("Metadata", kv("aws:copilot:description", sub("A hosted zone named ${EnvironmentName}.${AppName}.internal for backends behind a private load balancer")),
			"Condition", "CreateInternalALB", "Type", "AWS::Route53::HostedZone",
			"Properties", kv("Name", sub("${EnvironmentName}.${AppName}.internal"), "VPCs", seq(kv("VPCId", vpcRef, "VPCRegion", ref("AWS::Region"))))))
	}
}

// addEnvLBOutputs adds the load balancer outputs and exports workload stacks
// import, with Copilot's export names: service stacks may rely on
// `<app>-<env>-HTTPSListenerArn` (with imported certificates or the
// application's domain), `-HTTPListenerArn`, `-PublicLoadBalancerDNS`,
// `-CanonicalHostedZoneID`, `-InternalHTTPSListenerArn` (with
// http.private.certificates), and, with the domain, `-HostedZone` and
// `-SubDomain` (addDomainOutputs).
func addEnvLBOutputs(out *yaml.Node, lb envLB, domain bool) {
	export := func(name, exportName, cond string, value *yaml.Node) {
		set(out, name, kv("Condition", cond, "Value", value, "Export", kv("Name", sub("${AWS::StackName}-"+exportName))))
	}
	export("PublicLoadBalancerDNSName", "PublicLoadBalancerDNS", "CreateALB", getAtt("PublicLoadBalancer.DNSName"))
	export("PublicLoadBalancerFullName", "PublicLoadBalancerFullName", "CreateALB", getAtt("PublicLoadBalancer.LoadBalancerFullName"))
	export("PublicLoadBalancerHostedZone", "CanonicalHostedZoneID", "CreateALB", getAtt("PublicLoadBalancer.CanonicalHostedZoneID"))
	export("HTTPListenerArn", "HTTPListenerArn", "CreateALB", ref("HTTPListener"))
	if lb.publicHTTPSListener(domain) {
		export("HTTPSListenerArn", "HTTPSListenerArn", "ExportHTTPSListener", ref("HTTPSListener"))
	}
	export("DefaultHTTPTargetGroupArn", "DefaultHTTPTargetGroup", "CreateALB", ref("DefaultHTTPTargetGroup"))
	export("InternalLoadBalancerDNSName", "InternalLoadBalancerDNS", "CreateInternalALB", getAtt("InternalLoadBalancer.DNSName"))
	export("InternalLoadBalancerFullName", "InternalLoadBalancerFullName", "CreateInternalALB", getAtt("InternalLoadBalancer.LoadBalancerFullName"))
	export("InternalLoadBalancerHostedZone", "InternalLoadBalancerCanonicalHostedZoneID", "CreateInternalALB", getAtt("InternalLoadBalancer.CanonicalHostedZoneID"))
	if len(lb.privateCerts) == 0 {
		export("InternalWorkloadsHostedZone", "InternalWorkloadsHostedZoneID", "CreateInternalALB", ref("InternalWorkloadsHostedZone"))
		export("InternalWorkloadsHostedZoneName", "InternalWorkloadsHostedZoneName", "CreateInternalALB", sub("${EnvironmentName}.${AppName}.internal"))
	}
	export("InternalHTTPListenerArn", "InternalHTTPListenerArn", "CreateInternalALB", ref("InternalHTTPListener"))
	export("InternalHTTPSListenerArn", "InternalHTTPSListenerArn", "ExportInternalHTTPSListener", ref("InternalHTTPSListener"))
	export("InternalLoadBalancerSecurityGroup", "InternalLoadBalancerSecurityGroup", "CreateInternalALB", ref("InternalLoadBalancerSecurityGroup"))
}

// addPublicALBAccessible adds Copilot's unexported PublicALBAccessible
// output: true unless ingress is restricted to CloudFront.
func addPublicALBAccessible(out *yaml.Node, lb envLB) {
	set(out, "PublicALBAccessible", kv("Condition", "CreateALB", "Value", len(lb.prefixLists) == 0))
}

// workloadNeeds is what a workload asks of its environment stack, the
// parameters Copilot's env-controller would add it to.
type workloadNeeds struct {
	nat, appRunnerEndpoint, alb, internalALB, efs bool
}

// needsOf reads a resolved workload manifest for what it needs from the
// environment: NAT gateways (placement: private), the App Runner endpoint,
// the public ALB (a Load Balanced Web Service with http), the internal ALB
// (a Backend Service with http) and a Copilot-managed EFS file system.
func needsOf(w *manifest.Workload) workloadNeeds {
	if r := w.RDWS; r != nil {
		return workloadNeeds{nat: r.Network.VPC.Placement.Kind == "private", appRunnerEndpoint: r.HTTP.Private.Enabled && r.HTTP.Private.Endpoint == nil && !r.Autopilot.RemoveAppRunner()}
	}
	m := w.ECS
	if m == nil {
		return workloadNeeds{}
	}
	n := workloadNeeds{nat: m.Network.VPC.Placement.Kind == "private"}
	// An nlb-only service sets `http: false`; an imported ALB (http.alb)
	// is not Copilot's environment ALB.
	httpOn := m.HTTP.Enabled && !m.HTTP.Has("alb")
	switch w.Kind {
	case workspace.LoadBalancedWebService:
		n.alb = httpOn
	case workspace.BackendService:
		n.internalALB = httpOn
	}
	for _, v := range m.Storage.Volumes {
		switch efs := v.EFS; {
		case efs.IsBool:
			n.efs = n.efs || !efs.Bad && efs.Bool
		case efs.IsMap:
			n.efs = n.efs || !efs.Has("id") && !efs.Has("from_cfn")
		}
	}
	return n
}
