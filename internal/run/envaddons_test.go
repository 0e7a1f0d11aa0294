package run

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/render"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

const envAddonsWorkspace = "../render/testdata/env-addons"

// Environment addons go the way workload addons go: plan uploads the
// merged template to the artifacts bucket through the S3 client, the
// change set shows the nested stack's resources, and deploy creates it.
func TestEnvironmentAddonsPlanAndDeploy(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	opts := f.options()
	opts.Paths = []string{envAddonsWorkspace}

	planned, err := Plan(ctx, opts)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if len(planned.Plan.Stacks) != 1 {
		t.Fatalf("planned %d stacks, want the environment only", len(planned.Plan.Stacks))
	}
	var nested []string
	for _, c := range planned.Plan.Stacks[0].Changes {
		if c.NestedStack == "AddonsStack" {
			nested = append(nested, c.LogicalID)
		}
	}
	slices.Sort(nested)
	if want := []string{"CacheSecurityGroup", "LedgerTable"}; !slices.Equal(nested, want) {
		t.Errorf("the plan shows %q in the addons stack, want %q", nested, want)
	}

	ws, err := workspace.Load(envAddonsWorkspace)
	if err != nil {
		t.Fatal(err)
	}
	stacks, _, err := render.Render(ws, nil, nil, render.Options{AccountID: "123456789012", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range f.s3.List("artifacts") {
		if body, _ := f.s3.Object("artifacts", k); string(body) == string(stacks[0].AddonsTemplate) {
			found = true
		}
	}
	if !found {
		t.Errorf("the merged environment addons template is not in the artifacts bucket (keys %v)", f.s3.List("artifacts"))
	}

	deployed, err := Deploy(ctx, opts)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if !deployed.Result.Succeeded() {
		t.Fatalf("deploy failed: %+v", deployed.Result.Stacks)
	}
	if st := f.cfn.StackStatus("ledger-test"); st != "CREATE_COMPLETE" {
		t.Errorf("ledger-test is %s, want CREATE_COMPLETE", st)
	}
	if tpl := f.cfn.StackTemplate("ledger-test"); !strings.Contains(tpl, "AddonsStack") {
		t.Error("the deployed environment template has no AddonsStack")
	}
}
