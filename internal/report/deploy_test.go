package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

func TestDeploymentHeadline(t *testing.T) {
	tests := []struct {
		name string
		d    Deployment
		want string
	}{
		{
			name: "first failing resource is the headline",
			d: Deployment{Stacks: []StackResult{
				{StackName: "app-test", Outcome: Updated},
				{StackName: "app-test-api", Outcome: Failed, Status: "UPDATE_ROLLBACK_COMPLETE", FailedResource: "Service", FailedType: "AWS::AppRunner::Service",
					Reason: "Resource handler returned message: \"Invalid Memory\""},
				{StackName: "app-test-web", Outcome: Skipped},
			}},
			want: `Deploy failed in stack app-test-api: Service (AWS::AppRunner::Service): Resource handler returned message: "Invalid Memory"`,
		},
		{name: "success", d: Deployment{Stacks: []StackResult{{Outcome: Updated}, {Outcome: NoChanges}, {Outcome: Updated}}}, want: "Deploy succeeded: 2 stacks updated"},
		{name: "new stacks are created, not updated", d: Deployment{Stacks: []StackResult{{Outcome: Created}, {Outcome: Created}, {Outcome: Updated}}}, want: "Deploy succeeded: 2 stacks created, 1 stack updated"},
		{name: "nothing to do", d: Deployment{Stacks: []StackResult{{Outcome: NoChanges}}}, want: "Deploy succeeded: no changes"},
		{name: "canceled", d: Deployment{Stacks: []StackResult{{StackName: "s", Outcome: Canceled}}}, want: "Deploy canceled while stack s was in progress"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.Headline(); got != tc.want {
				t.Errorf("Headline() = %q, want %q", got, tc.want)
			}
		})
	}
}

func failedDeployment() Deployment {
	return Deployment{App: "shop", Account: "123456789012", Region: "eu-west-1", Stacks: []StackResult{
		{StackName: "shop-prod", Env: "prod", Outcome: NoChanges, Status: "UPDATE_COMPLETE"},
		{StackName: "shop-prod-web", Env: "prod", Workload: "web", Outcome: Updated, Status: "UPDATE_COMPLETE", ServiceURL: "https://web.example.com", Duration: 95 * time.Second},
		{StackName: "shop-prod-api", Env: "prod", Workload: "api", Outcome: Failed, Status: "UPDATE_ROLLBACK_COMPLETE",
			FailedResource: "TaskDefinition", FailedType: "AWS::ECS::TaskDefinition", Reason: "Invalid <cpu> | memory @admins"},
	}}
}

func TestDeployMarkdown(t *testing.T) {
	md := DeployMarkdown(failedDeployment(), testRun)
	for _, want := range []string{
		"### :x: autopilot deploy: `shop`",
		"**Deploy failed in stack shop-prod-api: TaskDefinition (AWS::ECS::TaskDefinition): Invalid &lt;cpu&gt; \\| memory @\u200badmins**",
		"| `shop-prod-web` | prod | updated | `UPDATE_COMPLETE` | [https://web.example.com](https://web.example.com) |",
		"> `TaskDefinition` in `shop-prod-api`: Invalid &lt;cpu&gt; \\| memory @\u200badmins",
		"[workflow run](https://github.com/acme/shop/actions/runs/42)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestDeployText(t *testing.T) {
	var buf bytes.Buffer
	if err := DeployText(&buf, failedDeployment()); err != nil {
		t.Fatal(err)
	}
	want := `Deploy failed in stack shop-prod-api: TaskDefinition (AWS::ECS::TaskDefinition): Invalid <cpu> | memory @admins
  shop-prod                                no changes UPDATE_COMPLETE
  shop-prod-web                            updated    UPDATE_COMPLETE in 1m35s
    https://web.example.com
  shop-prod-api                            failed     UPDATE_ROLLBACK_COMPLETE
    TaskDefinition: Invalid <cpu> | memory @admins
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}

func TestServiceURLs(t *testing.T) {
	if diff := cmp.Diff(map[string]string{"web": "https://web.example.com"}, failedDeployment().ServiceURLs()); diff != "" {
		t.Errorf("ServiceURLs (-want +got):\n%s", diff)
	}
}

func TestLinkRefusesOtherSchemes(t *testing.T) {
	for url, want := range map[string]string{
		"https://x.example/a b": "[l](https://x.example/a%20b)",
		"javascript:alert(1)":   "l",
		"":                      "l",
		"http://x/(y)":          "[l](http://x/%28y%29)",
	} {
		if got := link("l", url); got != want {
			t.Errorf("link(%q) = %q, want %q", url, got, want)
		}
	}
}

func TestFromResult(t *testing.T) {
	plan := &deploy.Plan{App: "shop", Account: "1", Region: "r", Stacks: []deploy.StackPlan{
		{StackName: "shop-prod", Env: "prod", Kind: "environment"},
		{StackName: "shop-prod-web", Env: "prod", Workload: "web"},
		{StackName: "shop-prod-api", Env: "prod", Workload: "api"},
		{StackName: "shop-prod-worker", Env: "prod", Workload: "worker"},
		{StackName: "shop-prod-job", Env: "prod", Workload: "job"},
		{StackName: "shop-prod-new", Env: "prod", Workload: "new", ChangeSetType: "CREATE"},
	}}
	res := &deploy.Result{Plan: plan, Stacks: []deploy.StackResult{
		{StackName: "shop-prod", Status: "UPDATE_COMPLETE", NoChanges: true},
		{StackName: "shop-prod-web", Status: "UPDATE_COMPLETE", Executed: true},
		{StackName: "shop-prod-api", Status: "UPDATE_ROLLBACK_COMPLETE", Executed: true, Error: "stack shop-prod-api failed",
			RootCause: &deploy.StackEvent{LogicalID: "Service", ResourceType: "AWS::AppRunner::Service", Status: "UPDATE_FAILED", Reason: "bad memory"}},
		{StackName: "shop-prod-worker", Error: "skipped: stack shop-prod-api it depends on did not deploy"},
		{StackName: "shop-prod-job", Status: "UPDATE_IN_PROGRESS", Error: "cancelled"},
		{StackName: "shop-prod-new", Status: "CREATE_COMPLETE", Executed: true},
	}}
	got := FromResult(res, map[string]string{"web": "https://web.example.com", "api": "https://api.example.com"})
	want := Deployment{App: "shop", Account: "1", Region: "r", Stacks: []StackResult{
		{StackName: "shop-prod", Env: "prod", Outcome: NoChanges, Status: "UPDATE_COMPLETE"},
		{StackName: "shop-prod-web", Env: "prod", Workload: "web", Outcome: Updated, Status: "UPDATE_COMPLETE", ServiceURL: "https://web.example.com"},
		{StackName: "shop-prod-api", Env: "prod", Workload: "api", Outcome: Failed, Status: "UPDATE_ROLLBACK_COMPLETE", FailedResource: "Service", FailedType: "AWS::AppRunner::Service", Reason: "bad memory"},
		{StackName: "shop-prod-worker", Env: "prod", Workload: "worker", Outcome: Skipped, Reason: "skipped: stack shop-prod-api it depends on did not deploy"},
		{StackName: "shop-prod-job", Env: "prod", Workload: "job", Outcome: Canceled, Status: "UPDATE_IN_PROGRESS", Reason: "cancelled"},
		{StackName: "shop-prod-new", Env: "prod", Workload: "new", Outcome: Created, Status: "CREATE_COMPLETE"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromResult (-want +got):\n%s", diff)
	}
	if h := got.Headline(); h != "Deploy failed in stack shop-prod-api: Service (AWS::AppRunner::Service): bad memory" {
		t.Errorf("Headline() = %q", h)
	}
}

// A Static Site's deploy reports its URL (the alias when it has one) and
// what was synced, also when the stack itself did not change.
func TestDeployReportsStaticSite(t *testing.T) {
	res := &deploy.Result{Plan: &deploy.Plan{App: "brochure", Stacks: []deploy.StackPlan{{StackName: "brochure-test-www", Env: "test", Workload: "www", NoChanges: true}}},
		Stacks: []deploy.StackResult{{StackName: "brochure-test-www", NoChanges: true, Status: "UPDATE_COMPLETE",
			Outputs: map[string]string{"CloudFrontDistributionDomainName": "d111.cloudfront.net", "CloudFrontDistributionAlternativeDomainName": "www.example.com"},
			Files:   &deploy.FileChanges{Put: 1, PutBytes: 2048, Delete: 2, Unchanged: 3}}}}
	d := FromResult(res, nil)
	if got := d.Stacks[0].ServiceURL; got != "https://www.example.com" {
		t.Errorf("URL = %q, want the alias", got)
	}
	if got := d.Headline(); got != "Deploy succeeded: 1 site synced" {
		t.Errorf("headline = %q", got)
	}
	var b bytes.Buffer
	if err := DeployText(&b, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "site files: 1 put (2.0 KiB), 2 deleted, 3 unchanged") {
		t.Errorf("deploy text:\n%s", b.String())
	}
}
