package render

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

const rdwsOnECR = "name: svc\ntype: Request-Driven Web Service\nimage: {location: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/svc:v1, port: 80}\nnetwork: {vpc: {placement: private}}\n"

const reservedAddonParams = "Parameters:\n  App: {Type: String}\n  Env: {Type: String}\n  Name: {Type: String}\n"

func TestAddonsMergeIntoOneNestedStack(t *testing.T) {
	files := map[string]string{
		"copilot/svc/addons/a-table.yml": reservedAddonParams + `Mappings:
  Sizes:
    test: {Small: 1}
Resources:
  Table:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Sub "${App}-${Env}-${Name}"}
  TablePolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: sns:Publish, Resource: !Ref Table}]}
Outputs:
  TableName:
    Value: !GetAtt Table.TopicName
  TablePolicyArn:
    Value: !Ref TablePolicy
`,
		"copilot/svc/addons/b-queue.yml": reservedAddonParams + `  QueueSize: {Type: String}
Mappings:
  Sizes:
    prod: {Small: 2}
Resources:
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: !Sub "queue of ${QueueSize}"}
  Secret:
    Type: AWS::SecretsManager::Secret
Outputs:
  ExtraSecurityGroup:
    Value: {Ref: Group}
  apiKey:
    Value: {Ref: Secret}
`,
		"copilot/svc/addons/addons.parameters.yml": "Parameters:\n  QueueSize: '10'\n",
	}
	_, svc := renderService(t, rdwsOnECR, files, seedOptions)

	merged := parseTemplate(t, svc.AddonsTemplate)
	if got, want := sectionKeys(merged, "Resources"), []string{"Group", "Secret", "Table", "TablePolicy"}; !slices.Equal(got, want) {
		t.Errorf("merged resources = %q, want %q", got, want)
	}
	if got, want := flowString(t, nodeAt(merged, "Mappings", "Sizes")), "{test: {Small: 1}, prod: {Small: 2}}"; got != want {
		t.Errorf("mappings merge one level down: got %s, want %s", got, want)
	}

	root := parseTemplate(t, svc.Template)
	image := nodeAt(root, "Resources", "Service", "Properties", "SourceConfiguration", "ImageRepository", "ImageConfiguration")
	vars := get(image, "RuntimeEnvironmentVariables")
	checks := map[string]string{
		"TABLE_NAME variable": flowString(t, namedValue(vars, "TABLE_NAME")),
		"security group output is a plain variable, as Copilot does for App Runner": flowString(t, namedValue(vars, "EXTRA_SECURITY_GROUP")),
		"API_KEY secret":              flowString(t, namedValue(get(image, "RuntimeEnvironmentSecrets"), "API_KEY")),
		"API_KEY_ARN variable":        flowString(t, namedValue(vars, "API_KEY_ARN")),
		"policy on the instance role": flowString(t, nodeAt(root, "Resources", "InstanceRole", "Properties", "ManagedPolicyArns")),
		"addons parameter":            flowString(t, nodeAt(root, "Resources", "AddonsStack", "Properties", "Parameters", "QueueSize")),
		"connector security groups":   flowString(t, nodeAt(root, "Resources", "VpcConnector", "Properties", "SecurityGroups")),
	}
	want := map[string]string{
		"TABLE_NAME variable": "{'Fn::GetAtt': [AddonsStack, Outputs.TableName]}",
		"security group output is a plain variable, as Copilot does for App Runner": "{'Fn::GetAtt': [AddonsStack, Outputs.ExtraSecurityGroup]}",
		"API_KEY secret":              "{'Fn::GetAtt': [AddonsStack, Outputs.apiKey]}",
		"API_KEY_ARN variable":        "{'Fn::GetAtt': [AddonsStack, Outputs.apiKey]}",
		"policy on the instance role": "[{'Fn::GetAtt': [AddonsStack, Outputs.TablePolicyArn]}]",
		"addons parameter":            "'10'",
		"connector security groups":   "[!Ref ServiceSecurityGroup, {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-EnvironmentSecurityGroup'}]",
	}
	if diff := cmp.Diff(want, checks); diff != "" {
		t.Errorf("addon outputs wiring (-want +got):\n%s", diff)
	}
	if svc.Parameters["ArtifactKeyARN"] != seedOptions.ArtifactKeyARN {
		t.Errorf("a secret output needs ArtifactKeyARN; got %q", svc.Parameters["ArtifactKeyARN"])
	}
}

func TestAddonsErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"same logical ID defined twice differently", map[string]string{
			"copilot/svc/addons/a.yml": reservedAddonParams + "Resources:\n  Topic: {Type: AWS::SNS::Topic}\n",
			"copilot/svc/addons/b.yml": reservedAddonParams + "Resources:\n  Topic: {Type: AWS::SQS::Queue}\n",
		}, "Resources.Topic is already defined differently in a.yml"},
		{"reserved parameter set in the parameters file", map[string]string{
			"copilot/svc/addons/a.yml":                 reservedAddonParams + "Resources:\n  Topic: {Type: AWS::SNS::Topic}\n",
			"copilot/svc/addons/addons.parameters.yml": "Parameters:\n  Env: x\n",
		}, `reserved parameter "Env" cannot be set`},
		{"parameter without a default or a value", map[string]string{
			"copilot/svc/addons/a.yml": reservedAddonParams + "  Size: {Type: String}\nResources:\n  Topic: {Type: AWS::SNS::Topic}\n",
		}, `addon parameter "Size" has no default value`},
		{"value for an undeclared parameter", map[string]string{
			"copilot/svc/addons/a.yml":                 reservedAddonParams + "Resources:\n  Topic: {Type: AWS::SNS::Topic}\n",
			"copilot/svc/addons/addons.parameters.yml": "Parameters:\n  Ghost: x\n",
		}, `do not declare the parameter "Ghost"`},
		{"more resources than a stack may hold", map[string]string{
			"copilot/svc/addons/a.yml": reservedAddonParams + topics("A", 300, ""),
			"copilot/svc/addons/b.yml": reservedAddonParams + topics("B", 201, ""),
		}, "the addon templates define 501 resources (a.yml: 300 resources, b.yml: 201 resources), over CloudFormation's limit of 500 per stack"},
		{"more outputs than a stack may hold", map[string]string{
			"copilot/svc/addons/a.yml": reservedAddonParams + topics("A", 201, "") + outputs("A", 201),
		}, "define 201 outputs (a.yml: 201 outputs), over CloudFormation's limit of 200 per stack"},
		{"a merged template over 1,000,000 bytes", map[string]string{
			"copilot/svc/addons/a.yml": reservedAddonParams + topics("A", 200, strings.Repeat("x", 2600)),
			"copilot/svc/addons/b.yml": reservedAddonParams + topics("B", 200, strings.Repeat("y", 2600)),
		}, "over CloudFormation's limit of 1000000 bytes for a template in S3"},
		{"missing reserved parameter", map[string]string{
			"copilot/svc/addons/a.yml": "Parameters:\n  App: {Type: String}\nResources:\n  Topic: {Type: AWS::SNS::Topic}\n",
		}, `required parameter "Env" is missing`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"copilot/svc/manifest.yml": rdwsOnECR, "copilot/environments/test/manifest.yml": testEnvManifest}
			for k, v := range tc.files {
				files[k] = v
			}
			ws := loadWorkspace(t, "app", files)
			_, diags, err := Render(ws, nil, nil, seedOptions)
			if err == nil {
				t.Fatalf("render succeeded; want %q", tc.want)
			}
			i := slices.IndexFunc(diags, func(d diag.Diagnostic) bool { return strings.Contains(d.Message, tc.want) })
			if i < 0 {
				t.Fatalf("findings %v do not contain %q", diags, tc.want)
			}
			if !strings.Contains(diags[i].File, "addons") {
				t.Errorf("finding points at %q, want a file in the addons folder", diags[i].File)
			}
		})
	}
}

func TestIdenticalDefinitionsMergeQuietly(t *testing.T) {
	shared := "Resources:\n  Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: !Sub '${App}-${Env}-${Name}'}}\n"
	files := map[string]string{
		"copilot/svc/addons/a.yml": reservedAddonParams + shared,
		"copilot/svc/addons/b.yml": reservedAddonParams + "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub \"${App}-${Env}-${Name}\"\n",
	}
	_, svc := renderService(t, rdwsOnECR, files, seedOptions)
	if got := sectionKeys(parseTemplate(t, svc.AddonsTemplate), "Resources"); !slices.Equal(got, []string{"Topic"}) {
		t.Errorf("resources = %q, want the one shared Topic", got)
	}
}

// topics writes n SNS topics named <prefix><i> under Resources, each with a
// display name of filler (to make a template big).
func topics(prefix string, n int, filler string) string {
	var b strings.Builder
	b.WriteString("Resources:\n")
	for i := range n {
		fmt.Fprintf(&b, "  %s%d:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Sub '${App}-${Env}-${Name}-%s%d', DisplayName: '%s'}\n", prefix, i, prefix, i, filler)
	}
	return b.String()
}

// outputs writes n outputs naming the topics topics(prefix, n) writes.
func outputs(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("Outputs:\n")
	for i := range n {
		fmt.Fprintf(&b, "  %s%dArn: {Value: !Ref %s%d}\n", prefix, i, prefix, i)
	}
	return b.String()
}

// CloudFormation's limits apply to the merged template: two files of 300
// and 300 resources sharing 100 identical definitions hold 500, which fits.
func TestAddonsAtCloudFormationsLimitRender(t *testing.T) {
	shared := topics("Shared", 100, "")
	files := map[string]string{
		"copilot/svc/addons/a.yml": reservedAddonParams + topics("A", 200, "") + strings.TrimPrefix(shared, "Resources:\n"),
		"copilot/svc/addons/b.yml": reservedAddonParams + topics("B", 200, "") + strings.TrimPrefix(shared, "Resources:\n"),
	}
	files["copilot/svc/manifest.yml"], files["copilot/environments/test/manifest.yml"] = rdwsOnECR, testEnvManifest
	stacks, diags, err := Render(loadWorkspace(t, "app", files), nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	if got := len(sectionKeys(parseTemplate(t, stacks[1].AddonsTemplate), "Resources")); got != 500 {
		t.Errorf("merged %d resources, want 500", got)
	}
}

// A render whose context is done (SIGINT, SIGTERM) stops with its error
// instead of rendering every stack.
func TestRenderStopsWhenCancelled(t *testing.T) {
	ws := loadWorkspace(t, "app", map[string]string{"copilot/svc/manifest.yml": rdwsOnECR, "copilot/environments/test/manifest.yml": testEnvManifest})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := seedOptions
	opts.Context = ctx
	stacks, _, err := Render(ws, nil, nil, opts)
	if !errors.Is(err, context.Canceled) || stacks != nil {
		t.Fatalf("render of a cancelled context = %d stacks, %v; want none and context.Canceled", len(stacks), err)
	}
}

// BenchmarkMergeAddons merges two addon files of n resources each (parsed
// beforehand, as the workspace loads them): time per resource stays flat
// as n grows, the merge being linear. Above 500 resources in all the merge
// ends in the limit's refusal, after merging everything.
func BenchmarkMergeAddons(b *testing.B) {
	for _, n := range []int{250, 1000, 4000, 16000, 64000} {
		b.Run(fmt.Sprintf("resources=%d", 2*n), func(b *testing.B) {
			a := &workspace.Addons{Dir: "addons"}
			for _, prefix := range []string{"A", "B"} {
				raw := []byte(reservedAddonParams + topics(prefix, n, ""))
				var doc yaml.Node
				if err := yaml.Unmarshal(raw, &doc); err != nil {
					b.Fatal(err)
				}
				a.Templates = append(a.Templates, workspace.AddonTemplate{Path: prefix + ".yml", Raw: raw, Doc: doc.Content[0]})
			}
			b.ResetTimer()
			for range b.N {
				mergeAddons(a, workloadReservedParams)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*n), "ns/resource")
		})
	}
}
