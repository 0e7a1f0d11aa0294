package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

// A property CloudFormation returned no values for reads as changed, not as
// "" → ""; an added or removed name/value item reads by its name.
func TestPlanShowsPropertiesAsChanged(t *testing.T) {
	env := "Properties.SourceConfiguration.ImageRepository.ImageConfiguration.RuntimeEnvironmentVariables"
	p := &deploy.Plan{App: "shop", Stacks: []deploy.StackPlan{{StackName: "shop-test-api", Env: "test", Workload: "api",
		Changes: []deploy.ResourceChange{{Action: deploy.ActionModify, LogicalID: "Service", ResourceType: "AWS::AppRunner::Service",
			Details: []deploy.PropertyChange{
				{Path: "Properties.InstanceConfiguration"},
				{Path: env + ".5", After: `{"Name":"FEATURE_FLAG","Value":"on"}`},
				{Path: env + ".2", Before: `{"Value":"debug","Name":"LOG_LEVEL"}`},
				{Path: "Properties.Tags.0", Before: `{"Key":"team","Value":"a"}`, After: `{"Key":"team","Value":"b"}`},
				{Path: env + ".1.Value", Before: "info", After: "debug"},
			}}}}}}
	var text bytes.Buffer
	if err := PlanText(&text, p); err != nil {
		t.Fatal(err)
	}
	md := PlanSummary(p, RunInfo{})
	for _, tc := range []struct{ in, want string }{
		{text.String(), "Properties.InstanceConfiguration: changed (CloudFormation returned no values)\n"},
		{text.String(), env + `: + FEATURE_FLAG = "on"` + "\n"},
		{text.String(), env + `: - LOG_LEVEL = "debug"` + "\n"},
		{text.String(), `Properties.Tags: team = "a" → team = "b"` + "\n"},
		{text.String(), env + `.1.Value: "info" → "debug"` + "\n"},
		{md, "  " + env + "\n+ FEATURE_FLAG = \"on\"\n"},
		{md, "  Properties.InstanceConfiguration\n  (changed; CloudFormation returned no values)\n"},
	} {
		if !strings.Contains(tc.in, tc.want) {
			t.Errorf("lacks %q:\n%s", tc.want, tc.in)
		}
	}
	for _, bad := range []string{`"" → ""`, `{"Name"`, env + ".5"} {
		if strings.Contains(text.String()+md, bad) {
			t.Errorf("shows %q:\n%s\n%s", bad, text.String(), md)
		}
	}
}
