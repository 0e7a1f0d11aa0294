package render

import "testing"

// exec in both of Copilot's forms: `exec: true`, or the map `{enable: …}`
// that Copilot reads as on whenever enable is set.
func TestECSExecForms(t *testing.T) {
	const base = "name: api\ntype: Backend Service\nimage:\n  location: nginx\n"
	for _, tc := range []struct {
		exec string
		on   bool
	}{
		{"", false},
		{"exec: false\n", false},
		{"exec: true\n", true},
		{"exec:\n  enable: true\n", true},
		{"exec:\n  enable: false\n", true},
	} {
		_, root := renderOne(t, "app", "api", base+tc.exec)
		enabled := scalarValue(nodeAt(root, "Resources", "Service", "Properties", "EnableExecuteCommand")) == "true"
		policy := false
		for _, p := range nodeAt(root, "Resources", "TaskRole", "Properties", "Policies").Content {
			policy = policy || scalarValue(get(p, "PolicyName")) == "ExecuteCommand"
		}
		if enabled != tc.on || policy != tc.on {
			t.Errorf("%q: EnableExecuteCommand %v, ExecuteCommand policy %v; want both %v", tc.exec, enabled, policy, tc.on)
		}
	}
}

// A workload that does not decode stops the render even when another one
// is selected: every workload shapes the environment stack's lists.
func TestUndecodableUnselectedWorkloadStopsTheRender(t *testing.T) {
	ws := loadWorkspace(t, "app", map[string]string{
		"copilot/api/manifest.yml":               "name: api\ntype: Backend Service\nimage:\n  location: nginx\n",
		"copilot/web/manifest.yml":               "name: web\ntype: Backend Service\nimage:\n  location: nginx\ncount: [1]\nnetwork:\n  vpc:\n    placement: private\n",
		"copilot/environments/test/manifest.yml": testEnvManifest,
	})
	_, diags, err := Render(ws, nil, []string{"api"}, seedOptions)
	if err == nil {
		t.Fatal("render succeeded without web's NAT need")
	}
	if len(diags) == 0 || diags[0].Line != 5 || diags[0].Rule != ruleManifest {
		t.Errorf("want a render/manifest error at web's count (line 5), got %v", diags)
	}
}
