package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"
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
