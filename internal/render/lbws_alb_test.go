package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

const importedALBARN = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/demo-t-Publi-MqfbfMJgLPZ0/5ea280ee3a7eff37"

// importedALBWorkspace restates Copilot v1.33's svc-manifest.yml test
// environment: an alias with a hosted zone, source IPs and an additional
// rule, on an imported load balancer; and a service importing an HTTP-only
// load balancer by name.
func importedALBWorkspace(t *testing.T) *workspace.Workspace {
	return loadWorkspace(t, "shop", map[string]string{
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\nhttp:\n  public:\n    certificates: [arn:aws:acm:us-west-2:123456789012:certificate/example-com]\n",
		"copilot/fe/manifest.yml": `name: fe
type: Load Balanced Web Service
image:
  location: public.ecr.aws/nginx/nginx:1.27
  port: 4000
http:
  path: '/'
  alias:
    - name: example.com
      hosted_zone: Z08230443CW11KE6JBNUA
  alb: ` + importedALBARN + `
  allowed_source_ips: ["192.0.2.0/24", "198.51.100.10/32", "67.170.82.49/32"]
  additional_rules:
    - path: "/"
      allowed_source_ips: ["67.170.82.40/32", "0.0.0.0/0"]
      alias: example.com
count:
  range: 2-10
  response_time: 2s
  requests: 100
`,
		"copilot/legacy/manifest.yml": `name: legacy
type: Load Balanced Web Service
image:
  location: public.ecr.aws/nginx/nginx:1.27
  port: 8080
http:
  path: legacy
  alb: legacy-http
`,
	})
}

var importedALBs = map[string]ImportedALB{
	importedALBARN: {ARN: importedALBARN, Name: "demo-t-Publi-MqfbfMJgLPZ0", DNSName: "demo-t-publi-123.us-west-2.elb.amazonaws.com", HostedZoneID: "Z1H1FL5HABSF5",
		SecurityGroups: []string{"sg-0aaa1111", "sg-0bbb2222"},
		Listeners:      []ALBListener{{ARN: "arn:listener/https", Port: 443, Protocol: "HTTPS"}, {ARN: "arn:listener/http", Port: 80, Protocol: "HTTP"}}},
	"legacy-http": {ARN: "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/legacy-http/0123456789abcdef", Name: "legacy-http",
		DNSName: "legacy-http-1.us-west-2.elb.amazonaws.com", HostedZoneID: "Z1H1FL5HABSF5", SecurityGroups: []string{"sg-0ccc3333"},
		Listeners: []ALBListener{{ARN: "arn:listener/legacy-http", Port: 80, Protocol: "HTTP"}}},
}

// Copilot's facts for the imported load balancer (svc-test.stack.yml):
// logical IDs and types, the rules on the imported listeners, the
// redirect on HTTP when the load balancer has HTTPS, the records pointing
// at it and the ingress from its security groups.
func TestImportedALBMatchesCopilotTestdata(t *testing.T) {
	ws := importedALBWorkspace(t)
	opts := seedOptions
	opts.ImportedALBs = importedALBs
	stacks, diags, err := Render(ws, nil, nil, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	byName := map[string]Stack{}
	for _, s := range stacks {
		byName[s.Name] = s
		validateTemplate(t, s.Name, s.Template)
	}
	if got := byName["shop-test"].Parameters["ALBWorkloads"]; got != "" {
		t.Errorf("ALBWorkloads = %q; a service on an imported load balancer needs no environment ALB", got)
	}
	fe := parseTemplate(t, byName["shop-test-fe"].Template)
	facts := resourceFacts(t, fe)
	for _, want := range []string{
		"TargetGroupForImportedALB:AWS::ElasticLoadBalancingV2::TargetGroup",
		"TargetGroupForImportedALB1:AWS::ElasticLoadBalancingV2::TargetGroup",
		"HTTPSListenerRuleForImportedALB:AWS::ElasticLoadBalancingV2::ListenerRule",
		"HTTPSListenerRuleForImportedALB1:AWS::ElasticLoadBalancingV2::ListenerRule",
		"HTTPListenerRedirectRuleForImportedALB:AWS::ElasticLoadBalancingV2::ListenerRule",
		"HTTPListenerRedirectRuleForImportedALB1:AWS::ElasticLoadBalancingV2::ListenerRule",
		"LoadBalancerDNSAliasZ08230443CW11KE6JBNUA:AWS::Route53::RecordSetGroup",
		"EnvironmentSecurityGroupIngressFromImportedALB:AWS::EC2::SecurityGroupIngress",
		"EnvironmentSecurityGroupIngressFromImportedALB1:AWS::EC2::SecurityGroupIngress",
	} {
		if !slices.Contains(facts, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, id := range []string{"TargetGroup", "HTTPListenerRule", "HTTPListenerRuleWithDomain", "HTTPSListenerRule", "LoadBalancerDNSAlias"} {
		if nodeAt(fe, "Resources", id) != nil {
			t.Errorf("%s rendered; the service is not on the environment's load balancer", id)
		}
	}
	checkFacts(t, fe, map[string]string{
		"Resources.Service.DependsOn": "[HTTPSListenerRuleForImportedALB, HTTPListenerRedirectRuleForImportedALB, HTTPSListenerRuleForImportedALB1, HTTPListenerRedirectRuleForImportedALB1]",
		"Resources.Service.Properties.LoadBalancers": "[{ContainerName: fe, ContainerPort: 4000, TargetGroupArn: !Ref TargetGroupForImportedALB}, " +
			"{ContainerName: fe, ContainerPort: 4000, TargetGroupArn: !Ref TargetGroupForImportedALB1}]",
		"Resources.HTTPSListenerRuleForImportedALB.Properties.ListenerArn": "arn:listener/https",
		"Resources.HTTPSListenerRuleForImportedALB.Properties.Actions":     "[{TargetGroupArn: !Ref TargetGroupForImportedALB, Type: forward}]",
		"Resources.HTTPSListenerRuleForImportedALB.Properties.Conditions": "[{Field: source-ip, SourceIpConfig: {Values: [192.0.2.0/24, 198.51.100.10/32, 67.170.82.49/32]}}, " +
			"{Field: host-header, HostHeaderConfig: {Values: [example.com]}}, {Field: path-pattern, PathPatternConfig: {Values: [/*]}}]",
		"Resources.HTTPListenerRedirectRuleForImportedALB1.Properties.ListenerArn":  "arn:listener/http",
		"Resources.HTTPListenerRedirectRuleForImportedALB1.Properties.Actions":      "[{Type: redirect, RedirectConfig: {Protocol: HTTPS, Port: 443, Host: '#{host}', Path: '/#{path}', Query: '#{query}', StatusCode: HTTP_301}}]",
		"Resources.HTTPListenerRedirectRuleForImportedALB1.Properties.Conditions.0": "{Field: source-ip, SourceIpConfig: {Values: [67.170.82.40/32, 0.0.0.0/0]}}",
		"Resources.LoadBalancerDNSAliasZ08230443CW11KE6JBNUA.Properties.RecordSets": "[{Name: example.com, Type: A, AliasTarget: {HostedZoneId: Z1H1FL5HABSF5, DNSName: demo-t-publi-123.us-west-2.elb.amazonaws.com}}]",
		"Resources.EnvironmentSecurityGroupIngressFromImportedALB1.Properties":      "{GroupId: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-EnvironmentSecurityGroup'}, Description: Ingress from the imported ALB, SourceSecurityGroupId: sg-0bbb2222, IpProtocol: -1}",
		// CloudWatch's LoadBalancer dimension is app/<name>/<id>.
		"Resources.AutoScalingPolicyALBAverageResponseTime.Properties.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification.Dimensions":              "[{Name: LoadBalancer, Value: app/demo-t-Publi-MqfbfMJgLPZ0/5ea280ee3a7eff37}, {Name: TargetGroup, Value: !GetAtt TargetGroupForImportedALB.TargetGroupFullName}]",
		"Resources.AutoScalingPolicyALBSumRequestCountPerTarget.Properties.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification.Dimensions.1.Value": "!GetAtt TargetGroupForImportedALB.TargetGroupFullName",
	})
	if env := flowString(t, nodeAt(fe, "Resources", "TaskDefinition", "Properties", "ContainerDefinitions", "0", "Environment")); !strings.Contains(env, "{Name: COPILOT_LB_DNS, Value: demo-t-publi-123.us-west-2.elb.amazonaws.com}") {
		t.Errorf("COPILOT_LB_DNS is not the imported load balancer's DNS name: %s", env)
	}
	https := scalarValue(nodeAt(fe, "Resources", "HTTPSListenerRuleForImportedALB", "Properties", "Priority"))
	redirect := scalarValue(nodeAt(fe, "Resources", "HTTPListenerRedirectRuleForImportedALB", "Properties", "Priority"))
	if https == "" || https != redirect {
		t.Errorf("priorities HTTPS %q, redirect %q; want one number, each on its listener", https, redirect)
	}

	// Without HTTPS on the load balancer, the rule forwards on HTTP.
	legacy := parseTemplate(t, byName["shop-test-legacy"].Template)
	checkFacts(t, legacy, map[string]string{
		"Resources.Service.DependsOn":                                     "[HTTPListenerRuleForImportedALB]",
		"Resources.HTTPListenerRuleForImportedALB.Properties.ListenerArn": "arn:listener/legacy-http",
		"Resources.HTTPListenerRuleForImportedALB.Properties.Conditions":  "[{Field: path-pattern, PathPatternConfig: {Values: [/legacy, /legacy/*]}}]",
	})
	if got := ImportedALBNames(ws, nil, seedOptions.Vars); !slices.Equal(got, []string{importedALBARN, "legacy-http"}) {
		t.Errorf("ImportedALBNames = %v", got)
	}
}

// Offline, render says the load balancer needs Elastic Load Balancing;
// lint (Check) reports nothing: the manifest is valid. The load balancer
// Copilot would refuse is refused too.
func TestImportedALBRefusals(t *testing.T) {
	ws := importedALBWorkspace(t)
	_, diags, _ := Render(ws, nil, []string{"legacy"}, seedOptions)
	if !hasFinding(diags, ruleParameter, "Elastic Load Balancing") || !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return strings.Contains(d.Fix, "autopilot plan or deploy") }) {
		t.Errorf("offline render: %v; want a render/parameter finding saying it needs Elastic Load Balancing", diags)
	}
	if got := Check(ws, "test", seedOptions.Vars, ""); len(got) != 0 {
		t.Errorf("Check reports %v; the manifest is valid", got)
	}
	for name, alb := range map[string]ImportedALB{
		"two HTTPS listeners": {ARN: "arn:x", Listeners: []ALBListener{{ARN: "a", Protocol: "HTTPS"}, {ARN: "b", Protocol: "HTTPS"}}},
		"no listener":         {ARN: "arn:x"},
	} {
		opts := seedOptions
		opts.ImportedALBs = map[string]ImportedALB{"legacy-http": alb}
		if _, diags, _ := Render(ws, nil, []string{"legacy"}, opts); !hasFinding(diags, ruleParameter, "imported load balancer arn:x") {
			t.Errorf("%s: %v", name, diags)
		}
	}
	backend := loadWorkspace(t, "shop", map[string]string{
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/be/manifest.yml":                "name: be\ntype: Backend Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  alb: legacy-http\n",
	})
	if got := Check(backend, "test", seedOptions.Vars, ""); !hasFinding(got, ruleManifest, "http.alb is for Load Balanced Web Services") {
		t.Errorf("Backend Service with http.alb: %v", got)
	}
}

func hasFinding(diags diag.List, rule, text string) bool {
	return slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Rule == rule && strings.Contains(d.Message, text) })
}
