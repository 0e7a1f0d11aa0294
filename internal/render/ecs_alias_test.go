package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

const domainsDir = "testdata/domains"

// TestDomainsWorkspace renders services with aliases in an environment
// whose load balancers import certificates, validates every template
// against AWS's schemas, and checks what a user of the aliases relies on.
func TestDomainsWorkspace(t *testing.T) {
	ws, err := workspace.Load(domainsDir)
	if err != nil {
		t.Fatal(err)
	}
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render %s: %v\n%v", domainsDir, err, diags)
	}
	byName := map[string]Stack{}
	for _, s := range stacks {
		byName[s.Name] = s
		validateTemplate(t, s.Name, s.Template)
	}
	env := byName["shop-prod"]
	if got := env.Parameters["ALBWorkloads"]; got != "admin,catalog,storefront" {
		t.Errorf("ALBWorkloads = %q", got)
	}
	if got := env.Parameters["CreateHTTPSListener"]; got != "true" {
		t.Errorf("CreateHTTPSListener = %q", got)
	}
	tests := []struct {
		stack  string
		facts  map[string]string
		absent []string
	}{
		{"shop-prod-storefront", map[string]string{
			"Resources.HTTPListenerRuleWithDomain.Properties.Actions.0.Type":                  "redirect",
			"Resources.HTTPListenerRuleWithDomain.Properties.Actions.0.RedirectConfig.Port":   "443",
			"Resources.HTTPListenerRuleWithDomain.Properties.Conditions.0.HostHeaderConfig":   "{Values: [shop.example.com, www.shop.example.com]}",
			"Resources.HTTPSListenerRule.Properties.ListenerArn":                              "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-HTTPSListenerArn'}",
			"Resources.HTTPSListenerRule.Properties.Conditions.1.PathPatternConfig":           "{Values: [/*]}",
			"Resources.LoadBalancerDNSAliasZ0SHOPEXAMPLE.Properties.RecordSets.1.Name":        "www.shop.example.com",
			"Resources.LoadBalancerDNSAliasZ0SHOPEXAMPLE.Properties.RecordSets.0.AliasTarget": "{HostedZoneId: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-CanonicalHostedZoneID'}, DNSName: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-PublicLoadBalancerDNS'}}",
			"Resources.Service.DependsOn":                                                     "[HTTPListenerRuleWithDomain, HTTPSListenerRule]",
		}, []string{"Resources.HTTPListenerRule"}},
		{"shop-prod-admin", map[string]string{
			// redirect_to_https: false keeps plain HTTP forwarding, by host.
			"Resources.HTTPListenerRuleWithDomain.Properties.Actions": "[{TargetGroupArn: !Ref TargetGroup, Type: forward}]",
			"Resources.HTTPSListenerRule.Properties.Conditions": "[{Field: source-ip, SourceIpConfig: {Values: [198.51.100.0/24]}}, " +
				"{Field: host-header, HostHeaderConfig: {Values: [admin.example.com, admin.example.net]}}, {Field: path-pattern, PathPatternConfig: {Values: [/admin, /admin/*]}}]",
			// Only the alias with a hosted zone gets a record.
			"Resources.LoadBalancerDNSAliasZ0ADMINEXAMPLE.Properties.RecordSets": "[{Name: admin.example.com, Type: A, AliasTarget: {HostedZoneId: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-CanonicalHostedZoneID'}, " +
				"DNSName: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-PublicLoadBalancerDNS'}}}]",
		}, nil},
		{"shop-prod-catalog", map[string]string{
			// Copilot's svc-grpc-test.stack.yml: gRPC over HTTP on the container port.
			"Resources.TargetGroup.Properties.ProtocolVersion":                     "GRPC",
			"Resources.TargetGroup.Properties.Protocol":                            "HTTP",
			"Resources.TargetGroup.Properties.Port":                                "50051",
			"Resources.HTTPSListenerRule.Properties.Conditions.0.HostHeaderConfig": "{Values: [grpc.shop.example.com]}",
		}, nil},
		{"shop-prod-inventory", map[string]string{
			"Resources.HTTPListenerRuleWithDomain.Properties.Actions.0.Type":                              "redirect",
			"Resources.HTTPSListenerRule.Properties.ListenerArn":                                          "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalHTTPSListenerArn'}",
			"Resources.LoadBalancerDNSAliasZ0INTERNALEXAMPLE.Properties.RecordSets.0.AliasTarget.DNSName": "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalLoadBalancerDNS'}",
		}, []string{"Resources.LoadBalancerInternalDNSAlias", "Resources.HTTPListenerRule"}},
	}
	for _, tc := range tests {
		t.Run(tc.stack, func(t *testing.T) {
			st, ok := byName[tc.stack]
			if !ok {
				t.Fatalf("stack %s not rendered", tc.stack)
			}
			root := parseTemplate(t, st.Template)
			checkFacts(t, root, tc.facts)
			for _, path := range tc.absent {
				if nodeAt(root, strings.Split(path, ".")...) != nil {
					t.Errorf("%s rendered; Copilot leaves it out with HTTPS", path)
				}
			}
			// Both rules of a service share its priority, each on its listener.
			http := scalarValue(nodeAt(root, "Resources", "HTTPListenerRuleWithDomain", "Properties", "Priority"))
			https := scalarValue(nodeAt(root, "Resources", "HTTPSListenerRule", "Properties", "Priority"))
			if http == "" || http != https {
				t.Errorf("priorities HTTP %q, HTTPS %q; want one number", http, https)
			}
		})
	}
}

// A Request-Driven Web Service's alias renders the App Runner service and
// names Copilot's custom-domain resources for deploy to keep from the
// deployed stack; nothing in the template stands for them.
func TestRDWSAliasKeepsCopilotsCustomDomain(t *testing.T) {
	ws, err := workspace.Load(domainsDir)
	if err != nil {
		t.Fatal(err)
	}
	stacks, diags, err := Render(ws, nil, []string{"status"}, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	st := stacks[1]
	validateTemplate(t, st.Name, st.Template)
	want := []LiveResource{
		{ID: "CustomDomainAction", Properties: map[string]string{"CustomDomain": "status.shop.example.com"}, For: "http.alias status.shop.example.com (App Runner custom domain association)"},
		{ID: "CustomDomainFunction", For: "http.alias status.shop.example.com (App Runner custom domain association)"},
		{ID: "CustomResourceRole", For: "http.alias status.shop.example.com (App Runner custom domain association)"},
	}
	if diff := cmp.Diff(want, st.Live); diff != "" {
		t.Errorf("Live (-want +got):\n%s", diff)
	}
	root := parseTemplate(t, st.Template)
	for _, l := range want {
		if nodeAt(root, "Resources", l.ID) != nil {
			t.Errorf("%s rendered; its Lambda code is Copilot's", l.ID)
		}
	}
}

// Copilot's svc-manifest.yml in environment staging (v1.33.2,
// stack/testdata/workloads/svc-staging.stack.yml), restated as far as its
// listener rules go: an alias with the service's hosted zone, and an
// additional rule on another container port.
const copilotStagingRulesManifest = `name: fe
type: Load Balanced Web Service
image:
  location: 123456789000.dkr.ecr.us-east-1.amazonaws.com/vault/e2e:1
  port: 4000
http:
  path: '/'
  alias: example.com
  hosted_zone: mockHostedZone
  healthcheck:
    path: /
    grace_period: 30s
  deregistration_delay: 30s
  additional_rules:
    - path: "admin"
      alias: "example.com"
      target_port: 4001
`

func TestAdditionalRulesMatchCopilotTestdata(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/fe/manifest.yml":                   copilotStagingRulesManifest,
		"copilot/environments/staging/manifest.yml": "name: staging\ntype: Environment\n" + certEnv,
	})
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	svc := stacks[1]
	validateTemplate(t, svc.Name, svc.Template)
	root := parseTemplate(t, svc.Template)
	want := []string{
		"AddonsStack:AWS::CloudFormation::Stack@HasAddons", "DiscoveryService:AWS::ServiceDiscovery::Service", "ExecutionRole:AWS::IAM::Role",
		"HTTPListenerRuleWithDomain1:AWS::ElasticLoadBalancingV2::ListenerRule", "HTTPListenerRuleWithDomain:AWS::ElasticLoadBalancingV2::ListenerRule",
		"HTTPSListenerRule1:AWS::ElasticLoadBalancingV2::ListenerRule", "HTTPSListenerRule:AWS::ElasticLoadBalancingV2::ListenerRule",
		"LoadBalancerDNSAliasmockHostedZone:AWS::Route53::RecordSetGroup", "LogGroup:AWS::Logs::LogGroup", "Service:AWS::ECS::Service",
		"TargetGroup1:AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroup:AWS::ElasticLoadBalancingV2::TargetGroup",
		"TaskDefinition:AWS::ECS::TaskDefinition", "TaskRole:AWS::IAM::Role",
	}
	if diff := cmp.Diff(want, resourceFacts(t, root)); diff != "" {
		t.Errorf("resources (-copilot without its custom resources +autopilot):\n%s", diff)
	}
	facts := map[string]string{
		"Resources.Service.DependsOn":                                               "[HTTPListenerRuleWithDomain, HTTPSListenerRule, HTTPListenerRuleWithDomain1, HTTPSListenerRule1]",
		"Resources.Service.Properties.HealthCheckGracePeriodSeconds":                "30",
		"Resources.Service.Properties.LoadBalancers":                                "[{ContainerName: fe, ContainerPort: 4000, TargetGroupArn: !Ref TargetGroup}, {ContainerName: fe, ContainerPort: 4001, TargetGroupArn: !Ref TargetGroup1}]",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.0.PortMappings":   "[{ContainerPort: 4000, Protocol: tcp, Name: target}, {ContainerPort: 4001, Protocol: tcp}]",
		"Resources.TargetGroup.Properties.TargetGroupAttributes.0.Value":            "30",
		"Resources.TargetGroup1.Properties.Port":                                    "4001",
		"Resources.TargetGroup1.Properties.TargetGroupAttributes.0.Value":           "60",
		"Resources.TargetGroup1.Properties.HealthCheckPath":                         "/",
		"Resources.HTTPListenerRuleWithDomain1.Metadata":                            "{'aws:copilot:description': An HTTP listener rule for path `/admin` that redirects HTTP to HTTPS}",
		"Resources.HTTPListenerRuleWithDomain1.Properties.Conditions":               "[{Field: host-header, HostHeaderConfig: {Values: [example.com]}}, {Field: path-pattern, PathPatternConfig: {Values: [/admin, /admin/*]}}]",
		"Resources.HTTPSListenerRule1.Properties.Actions":                           "[{TargetGroupArn: !Ref TargetGroup1, Type: forward}]",
		"Resources.LoadBalancerDNSAliasmockHostedZone.Properties.RecordSets.0.Name": "example.com",
	}
	checkFacts(t, root, facts)
	p0 := scalarValue(nodeAt(root, "Resources", "HTTPSListenerRule", "Properties", "Priority"))
	p1 := scalarValue(nodeAt(root, "Resources", "HTTPSListenerRule1", "Properties", "Priority"))
	if p0 == p1 {
		t.Errorf("both rules have priority %s", p0)
	}
}

// Without HTTPS, each additional rule is an HTTPListenerRule<N> forwarding
// to its own target group, at its own priority.
func TestAdditionalRulesOnTheHTTPListener(t *testing.T) {
	ws := loadWorkspace(t, "demo", map[string]string{
		"copilot/web/manifest.yml": "name: web\ntype: Load Balanced Web Service\nimage: {location: nginx, port: 80}\n" +
			"http:\n  path: /\n  additional_rules:\n    - {path: /docs, target_port: 8080, allowed_source_ips: [10.0.0.0/8]}\n    - {path: /status}\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	svc := stacks[1]
	validateTemplate(t, svc.Name, svc.Template)
	root := parseTemplate(t, svc.Template)
	facts := map[string]string{
		"Resources.Service.DependsOn":                       "[HTTPListenerRule, HTTPListenerRule1, HTTPListenerRule2]",
		"Resources.HTTPListenerRule1.Properties.Actions":    "[{TargetGroupArn: !Ref TargetGroup1, Type: forward}]",
		"Resources.HTTPListenerRule1.Properties.Conditions": "[{Field: source-ip, SourceIpConfig: {Values: [10.0.0.0/8]}}, {Field: path-pattern, PathPatternConfig: {Values: [/docs, /docs/*]}}]",
		"Resources.TargetGroup1.Properties.Port":            "8080",
		"Resources.TargetGroup2.Properties.Port":            "80",
		"Resources.Service.Properties.LoadBalancers.2":      "{ContainerName: web, ContainerPort: 80, TargetGroupArn: !Ref TargetGroup2}",
	}
	checkFacts(t, root, facts)
	seen := map[string]bool{}
	for _, id := range []string{"HTTPListenerRule", "HTTPListenerRule1", "HTTPListenerRule2"} {
		p := scalarValue(nodeAt(root, "Resources", id, "Properties", "Priority"))
		if seen[p] {
			t.Errorf("%s shares priority %s", id, p)
		}
		seen[p] = true
	}
}

// A service's path rules are evaluated in the order its manifest lists
// them, as Copilot numbers them, whatever numbers the names hash to.
func TestRulePrioritiesFollowManifestOrder(t *testing.T) {
	keys := []string{"svc", "svc#1", "svc#2", "svc#3"}
	paths := map[string]string{"svc": "/admin", "svc#1": "/admin/api", "svc#2": "/", "svc#3": "/b"}
	byKey := map[string]int{"svc": 3000, "svc#1": 1500, "svc#2": 48100, "svc#3": 2000}
	if got, want := inRuleOrder(keys, paths, byKey), []int{1500, 2000, 48100, 3000}; !cmp.Equal(got, want) {
		t.Errorf("priorities %v, want %v", got, want)
	}
}

// Copilot's svc-nlb-manifest.yml in environment dev (v1.33.2,
// stack/testdata/workloads/svc-nlb-dev.stack.yml, an application with the
// domain example.com), restated with its dev overrides applied: a service
// without aliases gets <svc>.<env>.<app>.<domain> through the environment's
// zone, and its HTTP rule redirects to HTTPS.
const copilotNLBDevManifest = `name: fe
type: Load Balanced Web Service
image:
  location: 123456789000.dkr.ecr.us-east-1.amazonaws.com/fe:1
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
count: 5
`

func TestApplicationDomainMatchesCopilotTestdata(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/fe/manifest.yml":               copilotNLBDevManifest,
		"copilot/environments/dev/manifest.yml": "name: dev\ntype: Environment\n",
	})
	opts := seedOptions
	opts.AppDomain = "example.com"
	stacks, diags, err := Render(ws, nil, nil, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	svc := stacks[1]
	validateTemplate(t, svc.Name, svc.Template)
	root := parseTemplate(t, svc.Template)
	if got := svc.Parameters["DNSDelegated"]; got != "true" {
		t.Errorf("DNSDelegated = %q, want Copilot's true", got)
	}
	host := "[{Field: host-header, HostHeaderConfig: {Values: [!Join [., [!Ref WorkloadName, {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-SubDomain'}]]]}}, " +
		"{Field: path-pattern, PathPatternConfig: {Values: [/*]}}]"
	facts := map[string]string{
		"Resources.LoadBalancerDNSAlias.Type":                         "AWS::Route53::RecordSetGroup",
		"Resources.LoadBalancerDNSAlias.Properties.HostedZoneId":      "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-HostedZone'}",
		"Resources.LoadBalancerDNSAlias.Properties.Comment":           "!Sub LoadBalancer alias for service ${WorkloadName}",
		"Resources.LoadBalancerDNSAlias.Properties.RecordSets.0.Name": "!Join [., [!Ref WorkloadName, {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-SubDomain'}, \"\"]]",
		"Resources.LoadBalancerDNSAlias.Properties.RecordSets.0.AliasTarget": "{HostedZoneId: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-CanonicalHostedZoneID'}, " +
			"DNSName: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-PublicLoadBalancerDNS'}}",
		"Resources.HTTPListenerRuleWithDomain.Properties.Actions.0.Type": "redirect",
		"Resources.HTTPListenerRuleWithDomain.Properties.Conditions":     host,
		"Resources.HTTPSListenerRule.Properties.Conditions":              host,
		"Resources.Service.DependsOn":                                    "[HTTPListenerRuleWithDomain, HTTPSListenerRule, NLBListener, NLBListener1]",
		"Conditions.HasAssociatedDomain":                                 "!Equals [!Ref DNSDelegated, true]",
	}
	checkFacts(t, root, facts)
}

// With the application's domain, the environment's certificate covers
// <env>.<app>.<domain> and its subdomains; an alias outside it (Copilot's
// environment Lambda would add a certificate for it) is refused, naming
// the alias and what the certificate covers. Inside it, the alias renders.
func TestApplicationDomainAliasCoverage(t *testing.T) {
	for _, tc := range []struct{ alias, refusal string }{
		{"api.dev.my-app.example.com", ""},
		{"dev.my-app.example.com", ""},
		{"www.example.com", "http.alias www.example.com is not covered by environment dev's certificate (dev.my-app.example.com, *.dev.my-app.example.com)"},
		{"a.b.dev.my-app.example.com", "http.alias a.b.dev.my-app.example.com is not covered"},
	} {
		t.Run(tc.alias, func(t *testing.T) {
			ws := loadWorkspace(t, "my-app", map[string]string{
				"copilot/fe/manifest.yml":               "name: fe\ntype: Load Balanced Web Service\nimage: {location: nginx, port: 80}\nhttp: {path: /, alias: " + tc.alias + "}\n",
				"copilot/environments/dev/manifest.yml": "name: dev\ntype: Environment\n",
			})
			opts := seedOptions
			opts.AppDomain = "example.com"
			stacks, diags, err := Render(ws, nil, nil, opts)
			if tc.refusal == "" {
				if err != nil {
					t.Fatalf("render: %v\n%v", err, diags)
				}
				root := parseTemplate(t, stacks[1].Template)
				if got := flowString(t, nodeAt(root, "Resources", "HTTPSListenerRule", "Properties", "Conditions", "0", "HostHeaderConfig")); got != "{Values: ["+tc.alias+"]}" {
					t.Errorf("host header %s", got)
				}
				if nodeAt(root, "Resources", "LoadBalancerDNSAlias") != nil {
					t.Error("the default record is rendered for a service with an alias")
				}
				if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool {
					return d.Severity == diag.Warning && strings.Contains(d.Message, "alias "+tc.alias+" gets its DNS record from the environment's custom-domain resources")
				}) {
					t.Errorf("no warning that the record is the environment's: %v", diags)
				}
				return
			}
			if err == nil || !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return strings.Contains(d.Message, tc.refusal) && d.Line == 4 }) {
				t.Errorf("findings %v, want %q at line 4", diags, tc.refusal)
			}
		})
	}
}

// Copilot's svc-nlb-manifest.yml in environment test (svc-nlb-test.stack.yml,
// an application with a domain), restated without its network.connect:
// a TLS listener on 443 in front of TCP targets, and two more listeners.
const copilotNLBTestManifest = `name: fe
type: Load Balanced Web Service
image:
  location: 123456789000.dkr.ecr.us-east-1.amazonaws.com/fe:1
  port: 80
http: false
nlb:
  port: 443/tls
  healthcheck:
    port: 80
  additional_listeners:
    - port: 8080/tcp
    - port: 8081/udp
      healthcheck:
        port: 80
count: 5
`

func TestNLBTLSMatchesCopilotTestdata(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/fe/manifest.yml":                copilotNLBTestManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	opts := seedOptions
	opts.AppDomain = "example.com"
	stacks, diags, err := Render(ws, nil, nil, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	svc := stacks[1]
	validateTemplate(t, svc.Name, svc.Template)
	root := parseTemplate(t, svc.Template)
	name := "!Join [., [!Sub '${WorkloadName}-nlb', {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-SubDomain'}]]"
	checkFacts(t, root, map[string]string{
		"Resources.NLBListener.Properties.Protocol":                                               "TLS",
		"Resources.NLBListener.Properties.SslPolicy":                                              "ELBSecurityPolicy-TLS13-1-2-2021-06",
		"Resources.NLBListener.Properties.Certificates":                                           "[{CertificateArn: !Ref NLBCertificate}]",
		"Resources.NLBListener1.Properties.Protocol":                                              "TCP",
		"Resources.NetworkLoadBalancerTargetGroup.Properties.Protocol":                            "TCP",
		"Resources.NetworkLoadBalancerTargetGroup.Properties.Port":                                "443",
		"Resources.NetworkLoadBalancerTargetGroup.Properties.HealthCheckPort":                     `"80"`,
		"Resources.NetworkLoadBalancerSecurityGroup.Properties.SecurityGroupIngress.0":            "{CidrIp: 0.0.0.0/0, Description: Allow TCP traffic from anyone on listener port 443, FromPort: 443, IpProtocol: TCP, ToPort: 443}",
		"Resources.NetworkLoadBalancerSecurityGroup.Properties.SecurityGroupIngress.2.IpProtocol": "UDP",
		// Copilot's NLBCertValidatorAction requests this name; here it is native.
		"Resources.NLBCertificate.Type":                                              "AWS::CertificateManager::Certificate",
		"Resources.NLBCertificate.Properties.DomainName":                             name,
		"Resources.NLBCertificate.Properties.DomainValidationOptions.0.HostedZoneId": "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-HostedZone'}",
		"Resources.NLBCertificate.Properties.ValidationMethod":                       "DNS",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.0.PortMappings":    "[{ContainerPort: 80, Protocol: tcp, Name: target}, {ContainerPort: 443, Protocol: tcp}, {ContainerPort: 8080, Protocol: tcp}, {ContainerPort: 8081, Protocol: udp}]",
	})
	if got := svc.Parameters["DNSDelegated"]; got != "true" {
		t.Errorf("DNSDelegated = %q", got)
	}
}
