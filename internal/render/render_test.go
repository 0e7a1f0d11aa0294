package render

import (
	"bytes"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const seedDir = "../../examples/apprunner-vpc"

// seedOptions are fixed so the golden output is fully concrete.
var seedOptions = Options{
	Vars:              workspace.Vars{Strict: true, Lookup: func(string) (string, bool) { return "", false }},
	AccountID:         "123456789012",
	Region:            "us-east-1",
	ArtifactBucketARN: "arn:aws:s3:::stackset-apprunner-vpc-infr-pipelinebuiltartifactbuc-example",
	ArtifactKeyARN:    "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
}

// renderSeed renders the seed example's App Runner environment, test.
func renderSeed(t *testing.T) []Stack {
	t.Helper()
	stacks, _ := renderSeedEnv(t, "test")
	return stacks
}

// renderSeedEnv renders one environment of the seed example and fails on
// any error or warning but those about the move to ECS Express Mode, which
// it returns with the rest.
func renderSeedEnv(t *testing.T, env string) ([]Stack, diag.List) {
	t.Helper()
	ws, err := workspace.Load(seedDir)
	if err != nil {
		t.Fatalf("load seed example: %v", err)
	}
	stacks, diags, err := Render(ws, []string{env}, nil, seedOptions)
	if err != nil {
		t.Fatalf("render seed example: %v\n%v", err, diags)
	}
	for _, d := range diags {
		if d.Severity == diag.Error || d.Severity == diag.Warning && d.Rule != ruleExpress {
			t.Errorf("unexpected finding: %v", d)
		}
	}
	return stacks, diags
}

func parseTemplate(t *testing.T, body []byte) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("rendered template does not parse: %v", err)
	}
	return doc.Content[0]
}

// namedValue finds {Name: name, Value: v} in a list and returns v.
func namedValue(list *yaml.Node, name string) *yaml.Node {
	if list == nil {
		return nil
	}
	for _, e := range list.Content {
		if scalarValue(get(e, "Name")) == name {
			return get(e, "Value")
		}
	}
	return nil
}

// flowString renders a node compactly for comparisons.
func flowString(t *testing.T, n *yaml.Node) string {
	t.Helper()
	if n == nil {
		return "<missing>"
	}
	c := deepCopy(n)
	var setFlow func(*yaml.Node)
	setFlow = func(n *yaml.Node) {
		if n.Kind != yaml.ScalarNode {
			n.Style = yaml.FlowStyle
		}
		for _, ch := range n.Content {
			setFlow(ch)
		}
	}
	setFlow(c)
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(out))
}

func TestSeedExampleRendersEndToEnd(t *testing.T) {
	stacks := renderSeed(t)
	var names []string
	for _, s := range stacks {
		names = append(names, s.Name)
	}
	if want := []string{"apprunner-vpc-test", "apprunner-vpc-test-demo-service"}; !slices.Equal(names, want) {
		t.Fatalf("stacks = %q, want %q (environment first)", names, want)
	}
	env, svc := stacks[0], stacks[1]

	t.Run("environment switches on NAT for the private service", func(t *testing.T) {
		if got := env.Parameters["NATWorkloads"]; got != "demo-service" {
			t.Errorf("NATWorkloads = %q, want demo-service", got)
		}
		if got := env.Parameters["AppRunnerPrivateWorkloads"]; got != "" {
			t.Errorf("AppRunnerPrivateWorkloads = %q, want empty: the service is public", got)
		}
		if diff := cmp.Diff(map[string]string{"copilot-application": "apprunner-vpc", "copilot-environment": "test"}, env.Tags); diff != "" {
			t.Errorf("env tags (-want +got):\n%s", diff)
		}
		root := parseTemplate(t, env.Template)
		for _, export := range []string{"VpcId", "PrivateSubnets", "PublicSubnets", "EnvironmentSecurityGroup"} {
			got := flowString(t, nodeAt(root, "Outputs", export, "Export", "Name"))
			if want := "!Sub ${AWS::StackName}-" + export; got != want {
				t.Errorf("export of %s = %s, want %s", export, got, want)
			}
		}
	})

	t.Run("service wires the database secret, policy and security group", func(t *testing.T) {
		if got := svc.DependsOn; !slices.Equal(got, []string{"apprunner-vpc-test"}) {
			t.Errorf("DependsOn = %q, want the environment stack", got)
		}
		root := parseTemplate(t, svc.Template)
		image := nodeAt(root, "Resources", "Service", "Properties", "SourceConfiguration", "ImageRepository", "ImageConfiguration")
		checks := []struct {
			what string
			got  *yaml.Node
			want string
		}{
			{"DEMO_DB_SECRET_ARN variable", namedValue(get(image, "RuntimeEnvironmentVariables"), "DEMO_DB_SECRET_ARN"), "{'Fn::GetAtt': [AddonsStack, Outputs.demoDbSecret]}"},
			{"DEMO_DB_SECRET secret", namedValue(get(image, "RuntimeEnvironmentSecrets"), "DEMO_DB_SECRET"), "{'Fn::GetAtt': [AddonsStack, Outputs.demoDbSecret]}"},
			{"service discovery endpoint", namedValue(get(image, "RuntimeEnvironmentVariables"), "COPILOT_SERVICE_DISCOVERY_ENDPOINT"), "test.apprunner-vpc.local"},
			{"LOG_LEVEL from the test override", namedValue(get(image, "RuntimeEnvironmentVariables"), "LOG_LEVEL"), "debug"},
			{"instance role policy", nodeAt(root, "Resources", "InstanceRole", "Properties", "ManagedPolicyArns"), "[{'Fn::GetAtt': [AddonsStack, Outputs.demoDbAuroraSecretAccessPolicy]}]"},
			{"addons get the connector's security group", nodeAt(root, "Resources", "AddonsStack", "Properties", "Parameters", "ServiceSecurityGroupId"), "!GetAtt ServiceSecurityGroup.GroupId"},
			{"egress through the connector", nodeAt(root, "Resources", "Service", "Properties", "NetworkConfiguration", "EgressConfiguration"), "{EgressType: VPC, VpcConnectorArn: !Ref VpcConnector}"},
			{"connector security groups", nodeAt(root, "Resources", "VpcConnector", "Properties", "SecurityGroups"), "[!Ref ServiceSecurityGroup, {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-EnvironmentSecurityGroup'}]"},
			{"connector has no env-controller dependency", nodeAt(root, "Resources", "VpcConnector", "DependsOn"), "<missing>"},
			{"no env controller", nodeAt(root, "Resources", "EnvControllerAction"), "<missing>"},
		}
		for _, c := range checks {
			if got := flowString(t, c.got); got != c.want {
				t.Errorf("%s = %s, want %s", c.what, got, c.want)
			}
		}
		if _, ok := svc.Parameters["AddonsTemplateURL"]; ok {
			t.Errorf("AddonsTemplateURL is set before the upload; an empty value would delete the database's stack")
		}
		if got := svc.Parameters["ContainerImage"]; got != ImagePlaceholder("demo-service") {
			t.Errorf("ContainerImage = %q, want the placeholder before a build", got)
		}
	})

	t.Run("database admits PostgreSQL from the service security group", func(t *testing.T) {
		root := parseTemplate(t, svc.AddonsTemplate)
		ingress := nodeAt(root, "Resources", "demoDbDBClusterSecurityGroup", "Properties", "SecurityGroupIngress")
		if ingress == nil || len(ingress.Content) != 1 {
			t.Fatalf("want one ingress rule on the cluster security group, got %s", flowString(t, ingress))
		}
		rule := ingress.Content[0]
		for key, want := range map[string]string{"IpProtocol": "tcp", "FromPort": "5432", "ToPort": "5432", "SourceSecurityGroupId": "!Ref ServiceSecurityGroupId"} {
			if got := flowString(t, get(rule, key)); got != want {
				t.Errorf("ingress %s = %s, want %s", key, got, want)
			}
		}
	})

	t.Run("every template validates offline", func(t *testing.T) {
		for _, s := range stacks {
			validateTemplate(t, s.Name, s.Template)
			if s.AddonsTemplate != nil {
				validateTemplate(t, s.Name+" addons", s.AddonsTemplate)
			}
		}
	})
}

func TestRenderIsByteIdenticalAcrossRuns(t *testing.T) {
	first := renderSeed(t)
	for range 3 {
		again := renderSeed(t)
		if diff := cmp.Diff(first, again); diff != "" {
			t.Fatalf("second render differs (-first +again):\n%s", diff)
		}
	}
}

func BenchmarkRenderSeed(b *testing.B) {
	ws, err := workspace.Load(seedDir)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Render(ws, nil, nil, seedOptions); err != nil {
			b.Fatal(err)
		}
	}
}

func TestOversizedTemplateIsFlagged(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: svc\ntype: Request-Driven Web Service\nimage: {location: public.ecr.aws/a/b, port: 80}\nvariables:\n")
	for i := range 1500 {
		fmt.Fprintf(&b, "  VARIABLE_%04d: %s\n", i, strings.Repeat("v", 20))
	}
	ws := loadWorkspace(t, "app", map[string]string{"copilot/svc/manifest.yml": b.String(), "copilot/environments/test/manifest.yml": testEnvManifest})
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("an oversized template is a warning, not an error: %v", err)
	}
	if len(stacks[1].Template) <= maxInlineTemplate {
		t.Fatalf("test manifest too small: template is %d bytes", len(stacks[1].Template))
	}
	if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Rule == ruleSize && d.Severity == diag.Warning }) {
		t.Errorf("no %s warning for a %d-byte template: %v", ruleSize, len(stacks[1].Template), diags)
	}
}

func TestParamsJSONIsCopilotsForm(t *testing.T) {
	got, err := ParamsJSON(Stack{Name: "a-b", Parameters: map[string]string{"Z": "<&>", "A": ""}, Tags: map[string]string{"copilot-application": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "Parameters": {
    "A": "",
    "Z": "<&>"
  },
  "Tags": {
    "copilot-application": "a"
  }
}
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("params JSON (-want +got):\n%s", diff)
	}
}

// nodeAt follows mapping keys (or sequence indexes) from a rendered
// template node; nil when one is missing.
func nodeAt(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n != nil && n.Kind == yaml.SequenceNode {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
			continue
		}
		n = get(n, k)
		if n == nil {
			return nil
		}
	}
	return n
}
