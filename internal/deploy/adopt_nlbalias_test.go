package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	"github.com/autopilot-dev/autopilot/internal/render"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// renderNLBAlias renders service fe with nlb.alias in an application with
// a domain, and the deploy.Stack for it.
func renderNLBAlias(t *testing.T, alias string) (render.Stack, deploy.Stack) {
	t.Helper()
	ws := loadWorkspace(t, map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/fe/manifest.yml": "name: fe\ntype: Load Balanced Web Service\nimage: {location: public.ecr.aws/nginx/nginx:1.27, port: 80}\n" +
			"http: false\nnlb: {port: 80/tcp, alias: " + alias + "}\ncount: 1\n",
	})
	stacks, diags, err := render.Render(ws, nil, []string{"fe"}, render.Options{AppDomain: "example.com"})
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	svc := stacks[1]
	s := deploy.Stack{Name: svc.Name, Template: svc.Template, Parameters: svc.Parameters}
	for _, l := range svc.Live {
		s.Live = append(s.Live, deploy.LiveResource{ID: l.ID, Properties: l.Properties, For: l.For, Optional: l.Optional})
	}
	return svc, s
}

// loadWorkspace writes files under a temporary workspace root and loads it.
func loadWorkspace(t *testing.T, files map[string]string) *workspace.Workspace {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
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
	return ws
}

// copilotNLBCustomDomain restates Copilot v1.33's nlb.yml resources for
// nlb.alias (the records written by its Lambda).
const copilotNLBCustomDomain = `
NLBCustomDomainAction:
  Type: Custom::NLBCustomDomainFunction
  Condition: HasAssociatedDomain
  Properties:
    ServiceToken: !GetAtt NLBCustomDomainFunction.Arn
    PublicAccessHostedZoneID: !GetAtt PublicNetworkLoadBalancerV2.CanonicalHostedZoneID
    PublicAccessDNS: !GetAtt PublicNetworkLoadBalancerV2.DNSName
    EnvName: !Ref EnvName
    AppName: !Ref AppName
    ServiceName: !Ref WorkloadName
    RootDNSRole: arn:aws:iam::123456789012:role/shop-DNSDelegationRole
    DomainName: example.com
    Aliases: [ALIASES]
NLBCustomDomainFunction:
  Type: AWS::Lambda::Function
  Condition: HasAssociatedDomain
  Properties:
    Code: {S3Bucket: stackset-shop-infra-pipelinebuiltartifactbuc, S3Key: manual/scripts/custom-resources/nlbcustomdomainfunction/1.zip}
    Handler: index.handler
    Timeout: 900
    MemorySize: 512
    Role: !GetAtt NLBCustomDomainRole.Arn
    Runtime: nodejs20.x
NLBCustomDomainRole:
  Type: AWS::IAM::Role
  Properties:
    AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: [lambda.amazonaws.com]}, Action: ['sts:AssumeRole']}]}
    Path: /
`

// copilotMadeNLBAlias is the rendered template as Copilot made it: its
// custom-domain resources for aliases instead of a native record set.
func copilotMadeNLBAlias(t *testing.T, template []byte, aliases string) string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		t.Fatal(err)
	}
	res := mapGet(doc.Content[0], "Resources")
	for i := 0; i < len(res.Content); i += 2 {
		if res.Content[i].Value == "NLBCustomDomainAction" {
			res.Content = append(res.Content[:i], res.Content[i+2:]...)
			break
		}
	}
	body, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return withResources(t, body, strings.Replace(copilotNLBCustomDomain, "ALIASES", aliases, 1))
}

// nlb.alias over the stack Copilot made keeps its custom-domain resources
// as they are (nothing removed, no handler run); other aliases than the
// deployed ones are refused; a new stack gets native records for aliases
// in the environment's zone and is refused for others.
func TestNLBAliasKeepsCopilotsCustomDomain(t *testing.T) {
	const alias = "api.test.shop.example.com"
	svc, stack := renderNLBAlias(t, alias)
	live := map[string]string{"ArtifactKeyARN": "arn:aws:kms:us-east-1:123456789012:key/app"}
	for k, v := range svc.Parameters {
		live[k] = v
	}
	t.Run("over Copilot's stack", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, fakecfn.Seed{Name: "shop-test", Template: exportsTemplate(t, "shop-test", svc.Template)})
		e.seed(t, fakecfn.Seed{Name: svc.Name, Template: copilotMadeNLBAlias(t, svc.Template, alias), Parameters: live})
		res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
		if err != nil {
			t.Fatalf("deploy: %v", err)
		}
		for _, c := range res.Plan.Stacks[0].Changes {
			if c.Action == deploy.ActionRemove || c.Replacement == deploy.ReplacementTrue || strings.HasPrefix(c.LogicalID, "NLBCustomDomain") {
				t.Errorf("change %s %s (replacement %q)", c.Action, c.LogicalID, c.Replacement)
			}
		}
		deployed := e.cfn.StackTemplate(svc.Name)
		if !strings.Contains(deployed, "Custom::NLBCustomDomainFunction") || strings.Contains(deployed, "NetworkLoadBalancer aliases for service") {
			t.Errorf("Copilot's NLBCustomDomainAction not kept as deployed:\n%s", deployed)
		}
	})
	t.Run("other aliases than Copilot's are refused", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, fakecfn.Seed{Name: "shop-test", Template: exportsTemplate(t, "shop-test", svc.Template)})
		e.seed(t, fakecfn.Seed{Name: svc.Name, Template: copilotMadeNLBAlias(t, svc.Template, "old.test.shop.example.com"), Parameters: live})
		_, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
		if err == nil || !strings.Contains(err.Error(), `the deployed NLBCustomDomainAction has Aliases "old.test.shop.example.com", the manifest "api.test.shop.example.com"`) {
			t.Fatalf("err = %v, want a refusal naming both", err)
		}
		if n := callsFor(e.cfn, "ExecuteChangeSet", ""); n != 0 {
			t.Errorf("%d change sets executed", n)
		}
	})
	t.Run("a new stack gets native records", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, fakecfn.Seed{Name: "shop-test", Template: exportsTemplate(t, "shop-test", svc.Template)})
		fresh := stack
		fresh.Parameters = live
		if _, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{fresh}); err != nil {
			t.Fatalf("deploy: %v", err)
		}
		if deployed := e.cfn.StackTemplate(svc.Name); !strings.Contains(deployed, "NetworkLoadBalancer aliases for service") {
			t.Errorf("no native records:\n%s", deployed)
		}
	})
	t.Run("a new stack with an alias outside the environment's zone is refused", func(t *testing.T) {
		_, outside := renderNLBAlias(t, "api.shop.example.com")
		e := newEnv(t)
		_, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{outside})
		if err == nil || !strings.Contains(err.Error(), "nlb.alias api.shop.example.com (Copilot's NLB custom-domain Lambda) needs Copilot's resource NLBCustomDomainAction") {
			t.Fatalf("err = %v, want a refusal naming the alias", err)
		}
	})
}
