package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
			for path, want := range tc.facts {
				if got := flowString(t, nodeAt(root, strings.Split(path, ".")...)); got != want {
					t.Errorf("%s =\n  %s\nwant\n  %s", path, got, want)
				}
			}
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
