package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// The rules and results of Copilot's template/override tests (v1.33.2),
// restated as manifests: each override lands where Copilot's would.
func TestTaskDefOverrides(t *testing.T) {
	base := "name: api\ntype: Backend Service\nimage: {location: nginx, port: 80}\n"
	tests := []struct {
		name, overrides string
		facts           map[string]string
	}{
		{
			name:      "append to a list of scalars",
			overrides: "  - path: RequiresCompatibilities[-]\n    value: EC2\n",
			facts:     map[string]string{"RequiresCompatibilities": "[FARGATE, EC2]"},
		},
		{
			name:      "create nested maps under an existing container",
			overrides: "  - path: ContainerDefinitions[0].LinuxParameters.Capabilities.Add\n    value: [\"AUDIT_CONTROL\", \"AUDIT_WRITE\"]\n  - path: ContainerDefinitions[0].LinuxParameters.InitProcessEnabled\n    value: true\n",
			facts:     map[string]string{"ContainerDefinitions.0.LinuxParameters": `{Capabilities: {Add: ["AUDIT_CONTROL", "AUDIT_WRITE"]}, InitProcessEnabled: true}`},
		},
		{
			name:      "append a map to a list and set its key",
			overrides: "  - path: ContainerDefinitions[0].PortMappings[-].ContainerPort\n    value: 5000\n",
			facts:     map[string]string{"ContainerDefinitions.0.PortMappings": "[{ContainerPort: 80, Protocol: tcp, Name: target}, {ContainerPort: 5000}]"},
		},
		{
			name:      "create a list with [-]",
			overrides: "  - path: ContainerDefinitions[0].Ulimits[-]\n    value: {Name: nofile, SoftLimit: 1024, HardLimit: 4096}\n",
			facts:     map[string]string{"ContainerDefinitions.0.Ulimits": "[{Name: nofile, SoftLimit: 1024, HardLimit: 4096}]"},
		},
		{
			name:      "replace a value, keeping intrinsic functions",
			overrides: "  - path: ContainerDefinitions[0].LogConfiguration.Options.awslogs-stream-prefix\n    value: !Sub '${WorkloadName}'\n",
			facts:     map[string]string{"ContainerDefinitions.0.LogConfiguration.Options.awslogs-stream-prefix": "!Sub '${WorkloadName}'"},
		},
		{
			name:      "replace a list item",
			overrides: "  - path: RequiresCompatibilities[0]\n    value: EC2\n",
			facts:     map[string]string{"RequiresCompatibilities": "[EC2]"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, root := renderOne(t, "demo", "api", base+"taskdef_overrides:\n"+tc.overrides)
			props := nodeAt(root, "Resources", "TaskDefinition", "Properties")
			for path, want := range tc.facts {
				if got := flowString(t, nodeAt(props, strings.Split(path, ".")...)); got != want {
					t.Errorf("%s =\n  %s\nwant\n  %s", path, got, want)
				}
			}
		})
	}
}

func TestTaskDefOverrideRefusals(t *testing.T) {
	base := "name: api\ntype: Backend Service\nimage: {location: nginx, port: 80}\ntaskdef_overrides:\n"
	tests := []struct {
		name, overrides, want string
	}{
		{"family", "  - {path: Family, value: other}\n", `"Family" cannot be overridden`},
		{"container name", "  - {path: 'ContainerDefinitions[0].Name', value: other}\n", `"ContainerDefinitions[0].Name" cannot be overridden`},
		{"index past the end", "  - {path: 'ContainerDefinitions[0].PortMappings[1].ContainerPort', value: 5000}\n", "cannot specify PortMappings[1] because the current length is 1"},
		{"index into a missing list", "  - {path: 'ContainerDefinitions[0].VolumesFrom[1].SourceContainer', value: foo}\n", "cannot specify VolumesFrom[1] because VolumesFrom does not exist"},
		{"bad segment", "  - {path: 'ContainerDefinitions[x].Image', value: foo}\n", `invalid path segment "ContainerDefinitions[x]"`},
		{"no value", "  - {path: Cpu}\n", "needs a value"},
		{"through a scalar", "  - {path: Cpu.Units, value: 1}\n", "Cpu is not a map"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", map[string]string{
				"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
				"copilot/api/manifest.yml":               base + tc.overrides,
			})
			_, diags, err := Render(ws, nil, nil, seedOptions)
			if err == nil {
				t.Fatalf("render succeeded; want an error containing %q", tc.want)
			}
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool {
				return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) && d.File != "" && d.Line > 0
			}) {
				t.Errorf("findings %v do not contain an error with a line naming the manifest with %q", diags, tc.want)
			}
		})
	}
}
