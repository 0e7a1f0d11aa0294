package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

const envAddonsDir = "testdata/env-addons"

// Copilot v1.33's environment template (templates/environment/cf.yml)
// adds, when the workspace has copilot/environments/addons, one resource
// AddonsStack of type AWS::CloudFormation::Stack, described "A
// CloudFormation nested stack for your additional AWS resources", passing
// App: !Ref AppName and Env: !Ref EnvironmentName followed by the values
// of addons.parameters.yml, which are evaluated in the environment stack.
// Its reserved addon parameters are App and Env (no Name).
func TestEnvironmentAddonsRenderAsNestedStack(t *testing.T) {
	ws, err := workspace.Load(envAddonsDir)
	if err != nil {
		t.Fatal(err)
	}
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render %s: %v\n%v", envAddonsDir, err, diags)
	}
	if len(stacks) != 1 {
		t.Fatalf("want the environment stack only, got %d stacks", len(stacks))
	}
	env := stacks[0]
	validateTemplate(t, env.Name, env.Template)
	validateTemplate(t, env.Name+" addons", env.AddonsTemplate)

	root := parseTemplate(t, env.Template)
	got := map[string]string{
		"type":        flowString(t, nodeAt(root, "Resources", "AddonsStack", "Type")),
		"description": flowString(t, nodeAt(root, "Resources", "AddonsStack", "Metadata", "aws:copilot:description")),
		"parameters":  flowString(t, nodeAt(root, "Resources", "AddonsStack", "Properties", "Parameters")),
		"url":         flowString(t, nodeAt(root, "Resources", "AddonsStack", "Properties", "TemplateURL")),
	}
	want := map[string]string{
		"type":        "AWS::CloudFormation::Stack",
		"description": "A CloudFormation nested stack for your additional AWS resources",
		"parameters":  "{App: !Ref AppName, Env: !Ref EnvironmentName, VpcId: !Ref VPC, EnvSecurityGroup: !GetAtt EnvironmentSecurityGroup.GroupId, ClusterName: !Ref Cluster}",
		"url":         "!Ref AddonsTemplateURL",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AddonsStack (-want +got):\n%s", diff)
	}
	if get(nodeAt(root, "Resources", "AddonsStack"), "Condition") != nil {
		t.Error("the environment's AddonsStack has no condition in Copilot's template")
	}
	// deploy uploads the merged template and sets the URL; left out here so
	// a deploy that forgot the upload cannot blank it.
	if _, ok := env.Parameters["AddonsTemplateURL"]; ok {
		t.Errorf("AddonsTemplateURL = %q in the parameters; deploy sets it after the upload", env.Parameters["AddonsTemplateURL"])
	}
	merged := parseTemplate(t, env.AddonsTemplate)
	if got, want := sectionKeys(merged, "Resources"), []string{"CacheSecurityGroup", "LedgerTable"}; !slices.Equal(got, want) {
		t.Errorf("merged addon resources = %q, want %q", got, want)
	}
	if got, want := sectionKeys(merged, "Parameters"), []string{"App", "ClusterName", "Env", "EnvSecurityGroup", "VpcId"}; !slices.Equal(got, want) {
		t.Errorf("merged addon parameters = %q, want %q", got, want)
	}
}

func TestEnvironmentAddonsErrors(t *testing.T) {
	const params = "Parameters:\n  App: {Type: String}\n  Env: {Type: String}\n"
	const topic = "Resources:\n  T: {Type: AWS::SNS::Topic}\n"
	tests := []struct {
		name  string
		files map[string]string
		file  string // the finding's file, relative to the workspace
		line  int
		want  string
	}{
		{"Name is not passed to environment addons, so it needs a value",
			map[string]string{"copilot/environments/addons/t.yml": params + "  Name: {Type: String}\n" + topic},
			"copilot/environments/addons", 0, `addon parameter "Name" has no default value`},
		{"Env is reserved",
			map[string]string{"copilot/environments/addons/t.yml": params + topic,
				"copilot/environments/addons/addons.parameters.yml": "Parameters:\n  Env: prod\n"},
			"copilot/environments/addons/addons.parameters.yml", 2, `reserved parameter "Env"`},
		{"a reference to a resource autopilot does not render (DNS delegation) is refused before CloudFormation sees it",
			map[string]string{"copilot/environments/addons/t.yml": params + "  Cert: {Type: String}\n" + topic,
				"copilot/environments/addons/addons.parameters.yml": "Parameters:\n  Cert: !Ref HTTPSCert\n"},
			"copilot/environments/addons/addons.parameters.yml", 2, `refers to "HTTPSCert", which the environment stack does not define`},
		{"so is one inside Fn::Sub",
			map[string]string{"copilot/environments/addons/t.yml": params + "  Zone: {Type: String}\n" + topic,
				"copilot/environments/addons/addons.parameters.yml": "Parameters:\n  Zone:\n    Fn::Sub: ${AWS::Region}-${MissingZone.Id}\n"},
			"copilot/environments/addons/addons.parameters.yml", 3, `refers to "MissingZone"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"copilot/environments/test/manifest.yml": testEnvManifest}
			for k, v := range tc.files {
				files[k] = v
			}
			ws := loadWorkspace(t, "app", files)
			_, diags, err := Render(ws, nil, nil, seedOptions)
			if err == nil {
				t.Fatalf("render succeeded; want an error containing %q", tc.want)
			}
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool {
				return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) && strings.HasSuffix(d.File, tc.file) && d.Line == tc.line && d.Env == "test"
			}) {
				t.Errorf("findings do not name %s:%d with %q:\n%v", tc.file, tc.line, tc.want, diags)
			}
		})
	}
}
