package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// Copilot's svc-nlb-manifest.yml in environment "dev" (v1.33.2), restated
// without the application domain (DNSDelegated false): an http rule plus a
// TCP listener on 81 and an additional listener on 8082 targeting 8085. The
// facts are svc-nlb-dev.stack.yml's and svc-nlb-dev.params.json's.
const copilotNLBManifest = `name: fe
type: Load Balanced Web Service
image:
  build: ./Dockerfile
  port: 80
http:
  path: '/'
  deregistration_delay: 30s
nlb:
  port: 81/tcp
  additional_listeners:
    - port: 8082/tcp
      target_port: 8085
      deregistration_delay: 59s
count:
  spot: 5
cpu: 256
memory: 512
variables:
  LOG_LEVEL: info
`

func TestNLBMatchesCopilotTestdata(t *testing.T) {
	st, root := renderOne(t, "my-app", "fe", copilotNLBManifest)
	var nlbFacts []string
	for _, r := range resourceFacts(t, root) {
		if strings.Contains(r, "NetworkLoadBalancer") || strings.HasPrefix(r, "NLB") {
			nlbFacts = append(nlbFacts, r)
		}
	}
	want := []string{
		"EnvironmentSecurityGroupIngressFromNetworkLoadBalancerSecurityGroup:AWS::EC2::SecurityGroupIngress",
		"NLBDNSAlias:AWS::Route53::RecordSetGroup@HasAssociatedDomain",
		"NLBListener1:AWS::ElasticLoadBalancingV2::Listener",
		"NLBListener:AWS::ElasticLoadBalancingV2::Listener",
		"NetworkLoadBalancerSecurityGroup:AWS::EC2::SecurityGroup",
		"NetworkLoadBalancerTargetGroup1:AWS::ElasticLoadBalancingV2::TargetGroup",
		"NetworkLoadBalancerTargetGroup:AWS::ElasticLoadBalancingV2::TargetGroup",
		"PublicNetworkLoadBalancerV2:AWS::ElasticLoadBalancingV2::LoadBalancer",
	}
	if diff := cmp.Diff(want, nlbFacts); diff != "" {
		t.Errorf("NLB resources (-copilot +autopilot):\n%s", diff)
	}
	if !slices.Contains(sectionKeys(root, "Outputs"), "PublicNetworkLoadBalancerDNSName") {
		t.Errorf("outputs %v lack PublicNetworkLoadBalancerDNSName", sectionKeys(root, "Outputs"))
	}
	// Copilot also passes NLBAliases and NLBPort, which no resource reads.
	if got := st.Parameters["TargetPort"]; got != "80" {
		t.Errorf("TargetPort = %q, want 80", got)
	}
	checkFacts(t, root, map[string]string{
		"Resources.NetworkLoadBalancerSecurityGroup.Properties.SecurityGroupIngress": "[{CidrIp: 0.0.0.0/0, Description: Allow TCP traffic from anyone on listener port 81, FromPort: 81, IpProtocol: TCP, ToPort: 81}, " +
			"{CidrIp: 0.0.0.0/0, Description: Allow TCP traffic from anyone on listener port 8082, FromPort: 8082, IpProtocol: TCP, ToPort: 8082}]",
		"Resources.NLBListener.Properties":                                           "{DefaultActions: [{TargetGroupArn: !Ref NetworkLoadBalancerTargetGroup, Type: forward}], LoadBalancerArn: !Ref PublicNetworkLoadBalancerV2, Port: 81, Protocol: TCP}",
		"Resources.NLBListener1.Properties.Port":                                     "8082",
		"Resources.NetworkLoadBalancerTargetGroup.Properties.Port":                   "81",
		"Resources.NetworkLoadBalancerTargetGroup1.Properties.Port":                  "8085",
		"Resources.NetworkLoadBalancerTargetGroup1.Properties.TargetGroupAttributes": "[{Key: deregistration_delay.timeout_seconds, Value: 59}]",
		"Resources.PublicNetworkLoadBalancerV2.Properties.SecurityGroups":            "[!GetAtt NetworkLoadBalancerSecurityGroup.GroupId]",
		"Resources.Service.Properties.LoadBalancers": "[{ContainerName: fe, ContainerPort: 80, TargetGroupArn: !Ref TargetGroup}, {ContainerName: fe, ContainerPort: 81, TargetGroupArn: !Ref NetworkLoadBalancerTargetGroup}, " +
			"{ContainerName: fe, ContainerPort: 8085, TargetGroupArn: !Ref NetworkLoadBalancerTargetGroup1}]",
		"Resources.Service.DependsOn": "[HTTPListenerRule, NLBListener, NLBListener1]",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.0.PortMappings": "[{ContainerPort: 80, Protocol: tcp, Name: target}, {ContainerPort: 81, Protocol: tcp}, {ContainerPort: 8085, Protocol: tcp}]",
	})
}

// Copilot's svc-nlb-manifest.yml in prod, restated with TCP listeners (TLS
// is refused): listeners targeting sidecars by container, by port, and both.
func TestNLBTargetsSidecars(t *testing.T) {
	manifest := `name: fe
type: Load Balanced Web Service
image: {location: nginx, port: 80}
http: false
nlb:
  port: 443/tcp
  target_container: tls
  healthcheck: {grace_period: 90s, port: 80, interval: 15s}
  additional_listeners:
    - port: 8082/tcp
      target_port: 8085
      target_container: tls
    - port: 8083/TCP
      target_port: 85
    - port: 9000/udp
sidecars:
  tls: {port: 82, image: proxy:1}
  nginx: {port: 85, image: proxy:1}
`
	_, root := renderOne(t, "my-app", "fe", manifest)
	checkFacts(t, root, map[string]string{
		"Resources.Service.Properties.LoadBalancers": "[{ContainerName: tls, ContainerPort: 82, TargetGroupArn: !Ref NetworkLoadBalancerTargetGroup}, " +
			"{ContainerName: tls, ContainerPort: 8085, TargetGroupArn: !Ref NetworkLoadBalancerTargetGroup1}, {ContainerName: nginx, ContainerPort: 85, TargetGroupArn: !Ref NetworkLoadBalancerTargetGroup2}, " +
			"{ContainerName: fe, ContainerPort: 9000, TargetGroupArn: !Ref NetworkLoadBalancerTargetGroup3}]",
		"Resources.Service.Properties.HealthCheckGracePeriodSeconds":                     "90",
		"Resources.NetworkLoadBalancerTargetGroup.Properties.HealthCheckPort":            `"80"`,
		"Resources.NetworkLoadBalancerTargetGroup.Properties.HealthCheckIntervalSeconds": "15",
		"Resources.NetworkLoadBalancerTargetGroup2.Properties.Protocol":                  "TCP",
		"Resources.NetworkLoadBalancerTargetGroup3.Properties.Protocol":                  "UDP",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.1.PortMappings":        "[{ContainerPort: 85, Protocol: tcp}]",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.2.PortMappings":        "[{ContainerPort: 82, Protocol: tcp}, {ContainerPort: 443, Protocol: tcp}, {ContainerPort: 8085, Protocol: tcp}]",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.0.PortMappings":        "[{ContainerPort: 80, Protocol: tcp, Name: target}, {ContainerPort: 9000, Protocol: udp}]",
	})
}

// nlb.alias, as Copilot v1.33's nlb.yml renders it with the application's
// domain: no NLBDNSAlias; NLBCustomDomainAction (with its function and
// role) writes the records and NLBCertValidatorAction adds the aliases to
// the TLS certificate. Aliases in the environment's zone render natively
// (a record set of Copilot's ID, and the certificate's names), the
// Copilot resources optional for deploy to keep; others need the
// deployed Copilot resource, and TLS is refused for them.
func TestNLBAlias(t *testing.T) {
	render := func(t *testing.T, nlb string) (Stack, diag.List) {
		ws := loadWorkspace(t, "my-app", map[string]string{
			"copilot/fe/manifest.yml":                "name: fe\ntype: Load Balanced Web Service\nimage:\n  location: 123456789000.dkr.ecr.us-east-1.amazonaws.com/fe:1\n  port: 80\nhttp: false\n" + nlb,
			"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		})
		opts := seedOptions
		opts.AppDomain = "example.com"
		stacks, diags, _ := Render(ws, nil, nil, opts)
		if len(stacks) < 2 {
			return Stack{}, diags
		}
		return stacks[1], diags
	}
	t.Run("in the environment's zone", func(t *testing.T) {
		st, diags := render(t, "nlb:\n  port: 443/tls\n  alias: [api.test.my-app.example.com, grpc.test.my-app.example.com]\n")
		if st.Template == nil {
			t.Fatalf("not rendered: %v", diags)
		}
		validateTemplate(t, st.Name, st.Template)
		root := parseTemplate(t, st.Template)
		if nodeAt(root, "Resources", "NLBDNSAlias") != nil {
			t.Error("NLBDNSAlias rendered; Copilot leaves it out with aliases")
		}
		target := "{HostedZoneId: !GetAtt PublicNetworkLoadBalancerV2.CanonicalHostedZoneID, DNSName: !GetAtt PublicNetworkLoadBalancerV2.DNSName}"
		checkFacts(t, root, map[string]string{
			"Resources.NLBCustomDomainAction.Type":                          "AWS::Route53::RecordSetGroup",
			"Resources.NLBCustomDomainAction.Condition":                     "HasAssociatedDomain",
			"Resources.NLBCustomDomainAction.Properties.HostedZoneId":       "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-HostedZone'}",
			"Resources.NLBCustomDomainAction.Properties.RecordSets":         "[{Name: api.test.my-app.example.com, Type: A, AliasTarget: " + target + "}, {Name: grpc.test.my-app.example.com, Type: A, AliasTarget: " + target + "}]",
			"Resources.NLBCertificate.Properties.SubjectAlternativeNames":   "[api.test.my-app.example.com, grpc.test.my-app.example.com]",
			"Resources.NLBCertificate.Properties.DomainValidationOptions.2": "{DomainName: grpc.test.my-app.example.com, HostedZoneId: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-HostedZone'}}",
		})
		want := []LiveResource{
			{ID: "NLBCustomDomainAction", Properties: map[string]string{"Aliases": "api.test.my-app.example.com,grpc.test.my-app.example.com"}, For: "nlb.alias api.test.my-app.example.com, grpc.test.my-app.example.com (Copilot's NLB custom-domain Lambda)", Optional: true},
			{ID: "NLBCustomDomainFunction", For: "nlb.alias api.test.my-app.example.com, grpc.test.my-app.example.com (Copilot's NLB custom-domain Lambda)", Optional: true},
			{ID: "NLBCustomDomainRole", For: "nlb.alias api.test.my-app.example.com, grpc.test.my-app.example.com (Copilot's NLB custom-domain Lambda)", Optional: true},
		}
		if diff := cmp.Diff(want, st.Live); diff != "" {
			t.Errorf("Live (-want +got):\n%s", diff)
		}
	})
	t.Run("in the application's zone", func(t *testing.T) {
		st, diags := render(t, "nlb:\n  port: 80/tcp\n  alias: api.my-app.example.com\n")
		if st.Template == nil {
			t.Fatalf("not rendered: %v", diags)
		}
		validateTemplate(t, st.Name, st.Template)
		root := parseTemplate(t, st.Template)
		if nodeAt(root, "Resources", "NLBCustomDomainAction") != nil || nodeAt(root, "Resources", "NLBDNSAlias") != nil {
			t.Error("a record rendered for an alias outside the environment's zone")
		}
		if len(st.Live) != 3 || st.Live[0].ID != "NLBCustomDomainAction" || st.Live[0].Optional {
			t.Errorf("Live = %+v; want Copilot's NLBCustomDomainAction required", st.Live)
		}
	})
	t.Run("TLS in the application's zone", func(t *testing.T) {
		_, diags := render(t, "nlb:\n  port: 443/tls\n  alias: api.my-app.example.com\n")
		if !hasFinding(diags, ruleUnsupported, "a TLS listener with nlb.alias outside test.my-app.example.com") {
			t.Errorf("findings %v", diags)
		}
	})
}
