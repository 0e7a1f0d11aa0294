package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	"github.com/autopilot-dev/autopilot/internal/render"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// TestFirstDeployOverCopilotServiceWithAlias deploys autopilot's template
// over the stack Copilot v1.33 made for the same Load Balanced Web Service
// with aliases, in an environment that imports certificates. Copilot's
// template is autopilot's with Copilot's differences restated from its
// https-listener and env-controller partials: the listener ARNs, the load
// balancer's DNS name and hosted zone read from EnvControllerAction, the
// priorities from HTTPSRulePriorityAction / HTTPRuleWithDomainPriorityAction,
// and those custom resources with their functions and roles. The first
// change set must remove nothing and replace nothing.
func TestFirstDeployOverCopilotServiceWithAlias(t *testing.T) {
	ws, err := workspace.Load("../render/testdata/domains")
	if err != nil {
		t.Fatal(err)
	}
	stacks, diags, err := render.Render(ws, []string{"prod"}, []string{"storefront"}, render.Options{})
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	var svc render.Stack
	for _, s := range stacks {
		if s.Name == "shop-prod-storefront" {
			svc = s
		}
	}
	if svc.Name == "" {
		t.Fatal("storefront not rendered")
	}

	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "shop-prod", Template: exportsTemplate(t, "shop-prod", svc.Template)})
	live := map[string]string{"ArtifactKeyARN": "arn:aws:kms:us-east-1:123456789012:key/app"}
	for k, v := range svc.Parameters {
		live[k] = v
	}
	e.seed(t, fakecfn.Seed{Name: svc.Name, Template: copilotAliasTemplate(t, svc.Template), Parameters: live})

	stack := deploy.Stack{Name: svc.Name, Template: svc.Template, Parameters: svc.Parameters, KeepPrevious: svc.KeepPrevious}
	res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
	if err != nil {
		t.Fatalf("deploy over Copilot's stack: %v", err)
	}
	plan := res.Plan.Stacks[0]
	for _, c := range plan.Changes {
		if c.Action == deploy.ActionRemove {
			t.Errorf("first change set removes %s", c.LogicalID)
		}
		if c.Replacement == deploy.Replacement("True") {
			t.Errorf("first change set replaces %s: %+v", c.LogicalID, c.Details)
		}
	}
	// What changes: where a value came from (the env controller's attribute
	// or the rule-priority Lambda's number), not what it is.
	want := map[string]deploy.Action{"HTTPListenerRuleWithDomain": deploy.ActionModify, "HTTPSListenerRule": deploy.ActionModify,
		"LoadBalancerDNSAliasZ0SHOPEXAMPLE": deploy.ActionModify}
	if diff := cmp.Diff(want, actions(plan)); diff != "" {
		t.Errorf("first change set (-want +got):\n%s", diff)
	}
	deployed := e.cfn.StackTemplate(svc.Name)
	for _, id := range []string{"EnvControllerAction", "RulePriorityFunction", "RulePriorityFunctionRole", "HTTPSRulePriorityAction", "HTTPRuleWithDomainPriorityAction"} {
		if !strings.Contains(deployed, id+":") {
			t.Errorf("%s not carried over", id)
		}
	}
	if n := strings.Count(deployed, "DeletionPolicy: Retain"); n != 7 {
		t.Errorf("%d carried resources retained, want the env controller's 3 and the rule priority's 4", n)
	}
}

// copilotAliasTemplate turns autopilot's template of a service with
// aliases into the one Copilot renders for it.
func copilotAliasTemplate(t *testing.T, ours []byte) string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(ours, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	res := mapGet(root, "Resources")
	getAtt := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!GetAtt", Value: s} }
	for _, r := range []struct{ id, listener, priority string }{
		{"HTTPListenerRuleWithDomain", "HTTPListenerArn", "HTTPRuleWithDomainPriorityAction"},
		{"HTTPSListenerRule", "HTTPSListenerArn", "HTTPSRulePriorityAction"},
	} {
		props := mapGet(mapGet(res, r.id), "Properties")
		mapSet(props, "ListenerArn", getAtt("EnvControllerAction."+r.listener))
		mapSet(props, "Priority", getAtt(r.priority+".Priority"))
	}
	for i := 0; i < len(res.Content); i += 2 {
		if !strings.HasPrefix(res.Content[i].Value, "LoadBalancerDNSAlias") {
			continue
		}
		for _, rs := range mapGet(mapGet(res.Content[i+1], "Properties"), "RecordSets").Content {
			target := mapGet(rs, "AliasTarget")
			mapSet(target, "HostedZoneId", getAtt("EnvControllerAction.PublicLoadBalancerHostedZone"))
			mapSet(target, "DNSName", getAtt("EnvControllerAction.PublicLoadBalancerDNSName"))
		}
	}
	svc := mapGet(res, "Service")
	deps := mapGet(svc, "DependsOn")
	deps.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "EnvControllerAction"}}, deps.Content...)

	const customResources = `
EnvControllerAction:
  Type: Custom::EnvControllerFunction
  Properties:
    ServiceToken: !GetAtt EnvControllerFunction.Arn
    Workload: !Ref WorkloadName
    EnvStack: !Sub '${AppName}-${EnvName}'
    Parameters: [ALBWorkloads, Aliases]
EnvControllerFunction:
  Type: AWS::Lambda::Function
  Properties:
    Code: {S3Bucket: stackset-shop-infra-pipelinebuiltartifactbuc, S3Key: manual/scripts/custom-resources/envcontrollerfunction/abc.zip}
    Handler: index.handler
    Timeout: 900
    MemorySize: 512
    Role: !GetAtt EnvControllerRole.Arn
    Runtime: nodejs20.x
EnvControllerRole:
  Type: AWS::IAM::Role
  Properties:
    AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: [lambda.amazonaws.com]}, Action: ['sts:AssumeRole']}]}
    Path: /
RulePriorityFunction:
  Type: AWS::Lambda::Function
  Properties:
    Code: {S3Bucket: stackset-shop-infra-pipelinebuiltartifactbuc, S3Key: manual/scripts/custom-resources/rulepriorityfunction/def.zip}
    Handler: index.nextAvailableRulePriorityHandler
    Timeout: 600
    MemorySize: 512
    Role: !GetAtt RulePriorityFunctionRole.Arn
    Runtime: nodejs20.x
RulePriorityFunctionRole:
  Type: AWS::IAM::Role
  Properties:
    AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: [lambda.amazonaws.com]}, Action: ['sts:AssumeRole']}]}
    Path: /
HTTPSRulePriorityAction:
  Type: Custom::RulePriorityFunction
  Properties:
    ServiceToken: !GetAtt RulePriorityFunction.Arn
    RulePath: ["/"]
    ListenerArn: !GetAtt EnvControllerAction.HTTPSListenerArn
HTTPRuleWithDomainPriorityAction:
  Type: Custom::RulePriorityFunction
  Properties:
    ServiceToken: !GetAtt RulePriorityFunction.Arn
    RulePath: ["/"]
    ListenerArn: !GetAtt EnvControllerAction.HTTPListenerArn
`
	var extra yaml.Node
	if err := yaml.Unmarshal([]byte(customResources), &extra); err != nil {
		t.Fatal(err)
	}
	res.Content = append(res.Content, extra.Content[0].Content...)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

var importName = regexp.MustCompile(`\$\{AppName\}-\$\{EnvName\}-([A-Za-z]+)`)

// exportsTemplate is the environment stack env exporting every name the
// workload template imports.
func exportsTemplate(t *testing.T, env string, workload []byte) string {
	t.Helper()
	var names []string
	for _, m := range importName.FindAllStringSubmatch(string(workload), -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	var b strings.Builder
	b.WriteString("Resources:\n  Cluster:\n    Type: AWS::ECS::Cluster\nOutputs:\n")
	for _, n := range names {
		b.WriteString("  " + n + ":\n    Value: value-of-" + n + "\n    Export:\n      Name: " + env + "-" + n + "\n")
	}
	return b.String()
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func mapSet(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

// Copilot's custom-domain resources of a Request-Driven Web Service with
// http.alias (rd-web/cf.yml), restated: the Lambda from Copilot's bucket, the
// custom resource associating the alias, and their role.
const copilotCustomDomain = `
CustomDomainFunction:
  Type: AWS::Lambda::Function
  Properties:
    Code: {S3Bucket: stackset-shop-infra-pipelinebuiltartifactbuc, S3Key: manual/scripts/custom-resources/customdomainfunction/123.zip}
    Handler: index.handler
    Timeout: 900
    MemorySize: 512
    Role: !GetAtt CustomResourceRole.Arn
    Runtime: nodejs20.x
CustomDomainAction:
  DependsOn: CustomDomainFunction
  Type: Custom::CustomDomainFunction
  Properties:
    ServiceToken: !GetAtt CustomDomainFunction.Arn
    ServiceARN: !GetAtt Service.ServiceArn
    CustomDomain: status.shop.example.com
    AppDNSRole: arn:aws:iam::123456789012:role/shop-DNSDelegationRole
    AppDNSName: example.com
CustomResourceRole:
  Type: AWS::IAM::Role
  Properties:
    AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: [lambda.amazonaws.com]}, Action: ['sts:AssumeRole']}]}
    Path: /
`

// TestRDWSAliasKeepsCopilotsCustomDomain deploys a Request-Driven Web
// Service with an alias over the stack Copilot made: its custom-domain
// resources stay as they are (no change, no removal, no delete handler);
// a changed alias and a new stack are refused before any change set.
func TestRDWSAliasKeepsCopilotsCustomDomain(t *testing.T) {
	ws, err := workspace.Load("../render/testdata/domains")
	if err != nil {
		t.Fatal(err)
	}
	stacks, diags, err := render.Render(ws, []string{"prod"}, []string{"status"}, render.Options{})
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	svc := stacks[1]
	stack := deploy.Stack{Name: svc.Name, Template: svc.Template, Parameters: svc.Parameters}
	for _, l := range svc.Live {
		stack.Live = append(stack.Live, deploy.LiveResource{ID: l.ID, Properties: l.Properties, For: l.For})
	}
	copilot := withResources(t, svc.Template, copilotCustomDomain)

	t.Run("a new stack is refused", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
		if err == nil || !strings.Contains(err.Error(), "http.alias status.shop.example.com (App Runner custom domain association) needs Copilot's resource CustomDomainAction") {
			t.Fatalf("err = %v, want a refusal naming the alias and the resource", err)
		}
		if n := callsFor(e.cfn, "CreateChangeSet", ""); n != 0 {
			t.Errorf("%d change sets created", n)
		}
	})
	t.Run("over Copilot's stack the custom domain is kept as it is", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, fakecfn.Seed{Name: svc.Name, Template: copilot, Parameters: svc.Parameters})
		res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
		if err != nil {
			t.Fatalf("deploy: %v", err)
		}
		for _, c := range res.Plan.Stacks[0].Changes {
			if strings.HasPrefix(c.LogicalID, "Custom") {
				t.Errorf("change set touches %s: %s", c.LogicalID, c.Action)
			}
		}
		deployed := e.cfn.StackTemplate(svc.Name)
		for _, id := range []string{"CustomDomainAction", "CustomDomainFunction", "CustomResourceRole"} {
			if !strings.Contains(deployed, id+":") {
				t.Errorf("%s dropped", id)
			}
		}
		if strings.Contains(deployed, "Retain") {
			t.Error("the kept resources were marked to drop (Retain): they stay for good")
		}
		// And on every later deploy.
		res, err = e.deployer(t, deploy.WithRevision("fedcba9876543210", "43")).Deploy(context.Background(), []deploy.Stack{stack})
		if err != nil {
			t.Fatalf("second deploy: %v", err)
		}
		if len(res.Plan.Stacks[0].Changes) != 0 {
			t.Errorf("second deploy changes %v", actions(res.Plan.Stacks[0]))
		}
	})
	t.Run("another alias is refused", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, fakecfn.Seed{Name: svc.Name, Template: strings.ReplaceAll(copilot, "CustomDomain: status.shop.example.com", "CustomDomain: old.shop.example.com"), Parameters: svc.Parameters})
		_, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
		if err == nil || !strings.Contains(err.Error(), `the deployed CustomDomainAction has CustomDomain "old.shop.example.com", the manifest "status.shop.example.com"`) {
			t.Fatalf("err = %v, want a refusal naming both aliases", err)
		}
		if n := callsFor(e.cfn, "ExecuteChangeSet", ""); n != 0 {
			t.Errorf("%d change sets executed", n)
		}
	})
}

// withResources adds the resources of extra (YAML) to a template.
func withResources(t *testing.T, template []byte, extra string) string {
	t.Helper()
	var doc, add yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(extra), &add); err != nil {
		t.Fatal(err)
	}
	res := mapGet(doc.Content[0], "Resources")
	res.Content = append(res.Content, add.Content[0].Content...)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestFirstDeployOverCopilotTLSNetworkLoadBalancer deploys a service whose
// NLB listens on TLS (an application with a domain) over the stack Copilot
// made: Copilot's certificate Lambda and custom resource stay, retained;
// the native certificate is added and the listener moves to it in place.
func TestFirstDeployOverCopilotTLSNetworkLoadBalancer(t *testing.T) {
	root := t.TempDir()
	for name, body := range map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/fe/manifest.yml": "name: fe\ntype: Load Balanced Web Service\nimage: {location: public.ecr.aws/nginx/nginx:1.27, port: 80}\n" +
			"http: false\nnlb: {port: 443/tls}\ncount: 1\n",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	stacks, diags, err := render.Render(ws, nil, []string{"fe"}, render.Options{AppDomain: "example.com"})
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	svc := stacks[1]

	// Copilot's template: the listener's certificate from its Lambda.
	var doc yaml.Node
	if err := yaml.Unmarshal(svc.Template, &doc); err != nil {
		t.Fatal(err)
	}
	res := mapGet(doc.Content[0], "Resources")
	for i := 0; i < len(res.Content); i += 2 {
		if res.Content[i].Value == "NLBCertificate" {
			res.Content = append(res.Content[:i], res.Content[i+2:]...)
			break
		}
	}
	cert := mapGet(mapGet(mapGet(mapGet(res, "NLBListener"), "Properties"), "Certificates").Content[0], "CertificateArn")
	cert.Value = "NLBCertValidatorAction"
	body, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	copilot := withResources(t, body, `
NLBCertValidatorAction:
  Type: Custom::NLBCertValidatorFunction
  Condition: HasAssociatedDomain
  Properties:
    ServiceToken: !GetAtt NLBCertValidatorFunction.Arn
    LoadBalancerDNS: !GetAtt PublicNetworkLoadBalancerV2.DNSName
    EnvName: !Ref EnvName
    AppName: !Ref AppName
    ServiceName: !Ref WorkloadName
    DomainName: example.com
    Aliases: []
NLBCertValidatorFunction:
  Type: AWS::Lambda::Function
  Condition: HasAssociatedDomain
  Properties:
    Code: {S3Bucket: stackset-shop-infra-pipelinebuiltartifactbuc, S3Key: manual/scripts/custom-resources/nlbcertvalidatorfunction/1.zip}
    Handler: index.certificateRequestHandler
    Timeout: 900
    MemorySize: 512
    Role: !GetAtt NLBCertValidatorRole.Arn
    Runtime: nodejs20.x
NLBCertValidatorRole:
  Type: AWS::IAM::Role
  Properties:
    AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: [lambda.amazonaws.com]}, Action: ['sts:AssumeRole']}]}
    Path: /
`)
	live := map[string]string{"ArtifactKeyARN": "arn:aws:kms:us-east-1:123456789012:key/app"}
	for k, v := range svc.Parameters {
		live[k] = v
	}
	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "shop-test", Template: exportsTemplate(t, "shop-test", svc.Template)})
	e.seed(t, fakecfn.Seed{Name: svc.Name, Template: copilot, Parameters: live})
	res2, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{{Name: svc.Name, Template: svc.Template, Parameters: svc.Parameters}})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	plan := res2.Plan.Stacks[0]
	if diff := cmp.Diff(map[string]deploy.Action{"NLBCertificate": deploy.ActionAdd, "NLBListener": deploy.ActionModify}, actions(plan)); diff != "" {
		t.Errorf("first change set (-want +got):\n%s", diff)
	}
	if c, _ := change(plan, "NLBListener"); c.Replacement == deploy.Replacement("True") {
		t.Errorf("the listener is replaced: %+v", c.Details)
	}
	if deployed := e.cfn.StackTemplate(svc.Name); strings.Count(deployed, "DeletionPolicy: Retain") != 3 {
		t.Errorf("Copilot's certificate resources not kept retained:\n%s", deployed)
	}
}
