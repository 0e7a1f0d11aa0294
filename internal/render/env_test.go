package render

import (
	"testing"
)

// Copilot v1.33 reads flow_logs as a union of a bool and {retention}; any
// value that decodes counts as set, so `false` switches flow logs on with
// the default 14 days, and only a missing (or null) key leaves them out.
// An environment Copilot deployed with `flow_logs: false` therefore has
// FlowLog, FlowLogRole and VpcFlowLogGroup, which autopilot must keep.
func TestFlowLogsFollowCopilotForEverySpelling(t *testing.T) {
	tests := []struct {
		spelling  string
		retention string // "" means no flow-log resources
	}{
		{"", ""},
		{"    flow_logs:\n", ""},
		{"    flow_logs: true\n", "14"},
		{"    flow_logs: false\n", "14"},
		{"    flow_logs: off\n", "14"},
		{"    flow_logs:\n      retention: 30\n", "30"},
		{"    flow_logs:\n      retention:\n", "14"},
	}
	for _, tc := range tests {
		t.Run(tc.spelling, func(t *testing.T) {
			manifest := "name: test\ntype: Environment\nnetwork:\n  vpc:\n" + tc.spelling
			ws := loadWorkspace(t, "demo", map[string]string{"copilot/environments/test/manifest.yml": manifest})
			st, diags := renderEnvOnly(t, ws, "test")
			if diags.HasErrors() || st == nil {
				t.Fatalf("render: %v", diags)
			}
			root := parseTemplate(t, st.Template)
			for _, id := range []string{"FlowLog", "FlowLogRole", "VpcFlowLogGroup"} {
				if got := nodeAt(root, "Resources", id) != nil; got != (tc.retention != "") {
					t.Errorf("%s rendered = %v, want %v", id, got, tc.retention != "")
				}
			}
			if tc.retention == "" {
				return
			}
			if got := flowString(t, nodeAt(root, "Resources", "VpcFlowLogGroup", "Properties", "RetentionInDays")); got != tc.retention {
				t.Errorf("retention = %s, want %s", got, tc.retention)
			}
			if got := flowString(t, nodeAt(root, "Resources", "FlowLog", "Properties", "DeliverLogsPermissionArn")); got != "!GetAtt FlowLogRole.Arn" {
				t.Errorf("flow log role = %s", got)
			}
		})
	}
}
