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
