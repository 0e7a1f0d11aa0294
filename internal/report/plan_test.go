package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var testRun = RunInfo{
	URL:       "https://github.com/acme/shop/actions/runs/42",
	SHA:       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
	CommitURL: "https://github.com/acme/shop/commit/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
}

const testFingerprint = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

func createPlan() *deploy.Plan {
	return &deploy.Plan{
		App: "apprunner-vpc", Account: "123456789012", Region: "us-east-1", Fingerprint: testFingerprint,
		Stacks: []deploy.StackPlan{
			{
				StackName: "apprunner-vpc-test", Kind: "environment", Env: "test",
				ChangeSetName: "autopilot-9f86d08-42", ChangeSetType: "CREATE", Status: "CREATE_COMPLETE",
				Changes: []deploy.ResourceChange{
					{Action: deploy.ActionAdd, LogicalID: "VPC", ResourceType: "AWS::EC2::VPC"},
					{Action: deploy.ActionAdd, LogicalID: "PrivateSubnet1", ResourceType: "AWS::EC2::Subnet"},
					{Action: deploy.ActionAdd, LogicalID: "Cluster", ResourceType: "AWS::ECS::Cluster"},
				},
			},
			{
				StackName: "apprunner-vpc-test-demo-service", Kind: "Request-Driven Web Service", Env: "test", Workload: "demo-service",
				ChangeSetName: "autopilot-9f86d08-42", ChangeSetType: "CREATE", Status: "CREATE_COMPLETE",
				Changes: []deploy.ResourceChange{
					{Action: deploy.ActionAdd, LogicalID: "Service", ResourceType: "AWS::AppRunner::Service"},
					{Action: deploy.ActionAdd, LogicalID: "AddonsStack", ResourceType: "AWS::CloudFormation::Stack"},
					{Action: deploy.ActionAdd, LogicalID: "demoDbDBCluster", ResourceType: "AWS::RDS::DBCluster", NestedStack: "AddonsStack"},
				},
				Images: []deploy.Image{{Workload: "demo-service", Repository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/apprunner-vpc/demo-service", Tag: "9f86d08", Digest: "sha256:4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce"}},
			},
		},
	}
}

func destructivePlan() *deploy.Plan {
	return &deploy.Plan{
		App: "apprunner-vpc", Account: "123456789012", Region: "us-east-1", Fingerprint: testFingerprint,
		Stacks: []deploy.StackPlan{
			{StackName: "apprunner-vpc-prod", Kind: "environment", Env: "prod", NoChanges: true},
			{
				StackName: "apprunner-vpc-prod-demo-service", Kind: "Request-Driven Web Service", Env: "prod", Workload: "demo-service",
				ChangeSetName: "autopilot-9f86d08-42", ChangeSetType: "UPDATE", Status: "CREATE_COMPLETE",
				Changes: []deploy.ResourceChange{
					{Action: deploy.ActionModify, LogicalID: "Service", PhysicalID: "arn:aws:apprunner:us-east-1:123456789012:service/demo", ResourceType: "AWS::AppRunner::Service", Replacement: deploy.ReplacementFalse,
						Details: []deploy.PropertyChange{
							{Path: "Properties.SourceConfiguration.ImageRepository.ImageIdentifier", Before: "…/demo-service:1a2b3c4", After: "…/demo-service:9f86d08", RequiresRecreation: "Never", ChangeSource: "ParameterReference"},
							{Path: "Properties.InstanceConfiguration.Memory", Before: "2048", After: "4096", RequiresRecreation: "Never"},
						}},
					{Action: deploy.ActionModify, LogicalID: "demoDbDBCluster", ResourceType: "AWS::RDS::DBCluster", NestedStack: "AddonsStack", Replacement: deploy.ReplacementTrue, Destructive: true,
						Details: []deploy.PropertyChange{
							{Path: "Properties.EngineVersion", Before: "14.6", After: "16.4", RequiresRecreation: "Always"},
							{Path: "Properties.MasterUserPassword", Before: "****", After: "****", RequiresRecreation: "Never"},
						}},
					{Action: deploy.ActionAdd, LogicalID: "AccessRole", ResourceType: "AWS::IAM::Role"},
					{Action: deploy.ActionRemove, LogicalID: "UploadsBucket", PhysicalID: "demo-uploads", ResourceType: "AWS::S3::Bucket", Destructive: true},
					{Action: deploy.ActionModify, LogicalID: "Policy", ResourceType: "AWS::IAM::ManagedPolicy", Replacement: deploy.ReplacementConditional,
						Details: []deploy.PropertyChange{{Path: "Properties.PolicyDocument", Before: "{\n  \"Version\": \"2012-10-17\"\n}", After: "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": \"```\"\n}", RequiresRecreation: "Conditionally"}}},
				},
				Images: []deploy.Image{{Workload: "demo-service", Repository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/apprunner-vpc/demo-service", Tag: "9f86d08", Digest: "sha256:4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce"}},
			},
		},
	}
}

func noChangesPlan() *deploy.Plan {
	return &deploy.Plan{
		App: "apprunner-vpc", Account: "123456789012", Region: "us-east-1", Fingerprint: testFingerprint,
		Stacks: []deploy.StackPlan{
			{StackName: "apprunner-vpc-test", Kind: "environment", Env: "test", NoChanges: true, Status: "FAILED", StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set."},
			{StackName: "apprunner-vpc-test-demo-service", Kind: "Request-Driven Web Service", Env: "test", Workload: "demo-service", NoChanges: true},
		},
	}
}

// bigPlan has 300 changes with property diffs, two of them destructive, so
// its full preview does not fit one comment.
func bigPlan() *deploy.Plan {
	var changes []deploy.ResourceChange
	for i := range 300 {
		rc := deploy.ResourceChange{
			Action: deploy.ActionModify, LogicalID: fmt.Sprintf("Queue%03d", i), ResourceType: "AWS::SQS::Queue", Replacement: deploy.ReplacementFalse,
			Details: []deploy.PropertyChange{
				{Path: "Properties.VisibilityTimeout", Before: "30", After: "60", RequiresRecreation: "Never"},
				{Path: "Properties.Tags", Before: strings.Repeat("old-tag-value ", 8), After: strings.Repeat("new-tag-value ", 8), RequiresRecreation: "Never"},
			},
		}
		switch i {
		case 150:
			rc = deploy.ResourceChange{Action: deploy.ActionRemove, LogicalID: "OrdersTable", ResourceType: "AWS::DynamoDB::Table", Destructive: true}
		case 299:
			rc = deploy.ResourceChange{Action: deploy.ActionModify, LogicalID: "AppLogs", ResourceType: "AWS::Logs::LogGroup", Replacement: deploy.ReplacementTrue, Destructive: true,
				Details: []deploy.PropertyChange{{Path: "Properties.LogGroupName", Before: "/copilot/a", After: "/copilot/b", RequiresRecreation: "Always"}}}
		}
		changes = append(changes, rc)
	}
	return &deploy.Plan{
		App: "shop", Account: "123456789012", Region: "eu-west-1", Fingerprint: testFingerprint,
		Stacks: []deploy.StackPlan{{
			StackName: "shop-prod-queues", Kind: "Worker Service", Env: "prod", Workload: "queues",
			ChangeSetName: "autopilot-9f86d08-42", ChangeSetType: "UPDATE", Changes: changes,
		}},
	}
}

func TestPlanCommentGolden(t *testing.T) {
	tests := []struct {
		name        string
		plan        *deploy.Plan
		wantTrimmed bool
	}{
		{name: "create", plan: createPlan()},
		{name: "destructive-update", plan: destructivePlan()},
		{name: "no-changes", plan: noChangesPlan()},
		{name: "300-changes-trimmed", plan: bigPlan(), wantTrimmed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			comments := PlanComments(tc.plan, testRun)
			if len(comments) != 1 {
				t.Fatalf("got %d comments for one environment", len(comments))
			}
			c := comments[0]
			if c.Trimmed != tc.wantTrimmed {
				t.Errorf("Trimmed = %v, want %v", c.Trimmed, tc.wantTrimmed)
			}
			golden(t, filepath.Join("testdata", "comment-"+tc.name+".md"), c.Body)

			if len(c.Body) > CommentLimit {
				t.Errorf("body is %d bytes, over GitHub's %d", len(c.Body), CommentLimit)
			}
			if !balanced(c.Body) || !balanced(c.Full) {
				t.Error("a fence or <details> is left open")
			}
			if !strings.HasPrefix(c.Body, c.Marker+"\n") {
				t.Error("the marker is not the body's first line")
			}
			if got, ok := ParseMarker(c.Body); !ok || got != c.Target {
				t.Errorf("marker parses to %+v, %v; want %+v", got, ok, c.Target)
			}
			if fp, ok := ParseFingerprint(c.Body); !ok || fp != testFingerprint {
				t.Errorf("fingerprint = %q, %v", fp, ok)
			}
			// Every destructive row survives, trimmed or not.
			for _, rc := range tc.plan.Destructive() {
				if !strings.Contains(c.Body, code(resourceName(rc))) {
					t.Errorf("destructive change %s missing from the comment", resourceName(rc))
				}
			}
			if tc.wantTrimmed {
				if !strings.Contains(c.Body, "job summary") || !strings.Contains(c.Body, testRun.URL) {
					t.Error("trimmed comment does not point at the job summary")
				}
				if strings.Contains(c.Body, "<details>") || !strings.Contains(c.Full, "<details>") {
					t.Error("want the property diffs in the full preview only")
				}
			}
		})
	}
}

// A plan whose rows alone overflow a comment keeps the destructive ones.
func TestPlanCommentHugePlanKeepsDestructiveRows(t *testing.T) {
	p := bigPlan()
	base := p.Stacks[0].Changes
	for i := range 20 {
		for _, rc := range base {
			rc.LogicalID = fmt.Sprintf("%s%02d", rc.LogicalID, i)
			p.Stacks[0].Changes = append(p.Stacks[0].Changes, rc)
		}
	}
	c := PlanComments(p, testRun)[0]
	if !c.Trimmed || len(c.Body) > CommentLimit || !balanced(c.Body) {
		t.Fatalf("trimmed=%v len=%d balanced=%v", c.Trimmed, len(c.Body), balanced(c.Body))
	}
	rows := tableRows(c.Body)
	if len(rows) != len(p.Destructive()) {
		t.Errorf("%d rows, want the %d destructive ones", len(rows), len(p.Destructive()))
	}
	for _, r := range rows {
		if !strings.Contains(r, ":warning:") {
			t.Errorf("non-destructive row kept: %s", r)
		}
	}
	if !strings.Contains(c.Body, "more changes not shown") || !strings.Contains(c.Body, "**0 to add, 6279 to change, 21 to remove, 21 replacements**") {
		t.Errorf("the headline or the trim note is missing:\n%s", c.Body[:min(len(c.Body), 2000)])
	}
}

func TestPlanCommentDestructiveRowsFirst(t *testing.T) {
	body := PlanComments(destructivePlan(), testRun)[0].Body
	rows := tableRows(body)
	want := []string{"AddonsStack/demoDbDBCluster", "UploadsBucket", "Policy", "Service", "AccessRole"}
	var got []string
	for _, r := range rows {
		got = append(got, strings.Trim(strings.TrimSpace(strings.Split(r, "|")[2]), "`"))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("row order (-want +got):\n%s", diff)
	}
}

func tableRows(md string) []string {
	var rows []string
	for l := range strings.Lines(md) {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| | Resource") {
			rows = append(rows, l)
		}
	}
	return rows
}

func TestPlanCommentsOnePerEnvironment(t *testing.T) {
	p := createPlan()
	prod := destructivePlan()
	p.Stacks = append(p.Stacks, prod.Stacks...)
	comments := PlanComments(p, testRun)
	var envs []string
	for _, c := range comments {
		envs = append(envs, c.Env)
		if c.App != "apprunner-vpc" || c.Account != "123456789012" || c.Region != "us-east-1" {
			t.Errorf("target = %+v", c.Target)
		}
		other := map[string]string{"test": "prod-demo-service", "prod": "test-demo-service"}[c.Env]
		if strings.Contains(c.Body, other) {
			t.Errorf("the %s comment shows another environment's stack %s", c.Env, other)
		}
	}
	if diff := cmp.Diff([]string{"test", "prod"}, envs); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
	if comments[0].Marker == comments[1].Marker {
		t.Error("two environments share a marker")
	}
}

// Names, reasons and values come from users and CloudFormation; none of them
// may break the markdown or inject HTML, links or mentions.
func TestPlanCommentHostileText(t *testing.T) {
	p := &deploy.Plan{App: "a|b`c", Fingerprint: "x", Stacks: []deploy.StackPlan{
		{StackName: "s</details>", Env: "e<script>", Error: "denied for @octocat: <img src=x> [x](javascript:alert(1)) | ```"},
		{StackName: "t", Env: "e<script>", ChangeSetName: "cs", Changes: []deploy.ResourceChange{{
			Action: deploy.ActionModify, LogicalID: "R|x", ResourceType: "AWS::X::Y`",
			Details: []deploy.PropertyChange{{Path: "P</summary></details>", Before: "````\n</details>", After: "<details>\n~~~"}},
		}}},
	}}
	body := PlanComments(p, testRun)[0].Body
	outsideCode := withoutCodeSpans(body)
	for _, bad := range []string{"<script>", "<img", "@octocat", "[x](javascript:", "</details>`", "P</summary>"} {
		if strings.Contains(outsideCode, bad) {
			t.Errorf("body contains %q:\n%s", bad, body)
		}
	}
	if !balanced(body) {
		t.Errorf("body is unbalanced:\n%s", body)
	}
	for _, r := range tableRows(body) {
		if n := strings.Count(strings.ReplaceAll(r, `\|`, ""), "|"); n != 6 {
			t.Errorf("row %q has %d cell separators, want 6", r, n)
		}
	}
}

func TestPlanSummaryHoldsEverything(t *testing.T) {
	p := bigPlan()
	s := PlanSummary(p, testRun)
	for _, rc := range p.Stacks[0].Changes {
		if !strings.Contains(s, code(rc.LogicalID)) {
			t.Fatalf("summary lacks %s", rc.LogicalID)
		}
	}
	if strings.Contains(s, "<!-- autopilot:plan") {
		t.Error("the summary carries the comment marker; a search for the comment could find the summary's text")
	}
}

func TestPlanSummaryCappedAtOneMiB(t *testing.T) {
	p := bigPlan()
	for i := range p.Stacks[0].Changes {
		p.Stacks[0].Changes[i].Details = append(p.Stacks[0].Changes[i].Details, deploy.PropertyChange{Path: "Properties.Big", After: strings.Repeat("v", maxValue)})
	}
	s := PlanSummary(p, testRun)
	if len(s) > SummaryLimit || !balanced(s) {
		t.Errorf("summary is %d bytes (limit %d), balanced=%v", len(s), SummaryLimit, balanced(s))
	}
	if !strings.Contains(s, "1 MiB") {
		t.Error("a cut summary does not say so")
	}
}

func TestPlanText(t *testing.T) {
	var buf bytes.Buffer
	if err := PlanText(&buf, destructivePlan()); err != nil {
		t.Fatal(err)
	}
	want := `Plan for "apprunner-vpc" (account 123456789012, region us-east-1)

Environment prod: 1 to add, 3 to change, 1 to remove, 2 replacements, 2 DESTRUCTIVE changes
  apprunner-vpc-prod [environment]: no changes
  apprunner-vpc-prod-demo-service [demo-service (Request-Driven Web Service)]: 1 to add, 3 to change, 1 to remove, 2 replacements (change set autopilot-9f86d08-42, UPDATE)
    ± AddonsStack/demoDbDBCluster  AWS::RDS::DBCluster  replacement: True  DESTRUCTIVE
        Properties.EngineVersion: "14.6" → "16.4"
        Properties.MasterUserPassword: "****" → "****"
    - UploadsBucket                AWS::S3::Bucket  DESTRUCTIVE
    ± Policy                       AWS::IAM::ManagedPolicy  replacement: Conditional
        Properties.PolicyDocument: "{\n  \"Version\": \"2012-10-17\"\n}" → "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": \"` + "```" + `\"\n}"
    ~ Service                      AWS::AppRunner::Service
        Properties.SourceConfiguration.ImageRepository.ImageIdentifier: "…/demo-service:1a2b3c4" → "…/demo-service:9f86d08"
        Properties.InstanceConfiguration.Memory: "2048" → "4096"
    + AccessRole                   AWS::IAM::Role
    image demo-service: 123456789012.dkr.ecr.us-east-1.amazonaws.com/apprunner-vpc/demo-service:9f86d08@sha256:4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("plan text (-want +got):\n%s", diff)
	}
}

func TestPlanTextEscapesControlCharacters(t *testing.T) {
	var buf bytes.Buffer
	p := &deploy.Plan{App: "a", Stacks: []deploy.StackPlan{{StackName: "s\x1b[31m", Error: "bad\nnews\x07"}}}
	if err := PlanText(&buf, p); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(buf.String(), "\x1b\x07") || !strings.Contains(buf.String(), `could not plan: bad\nnews\a`) {
		t.Errorf("control characters reached the terminal: %q", buf.String())
	}
}

func TestWritePlanJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePlanJSON(&buf, destructivePlan()); err != nil {
		t.Fatal(err)
	}
	var got PlanJSON
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || !got.HasChanges || got.DestructiveChanges != 2 {
		t.Errorf("header = version %d, hasChanges %v, destructive %d", got.Version, got.HasChanges, got.DestructiveChanges)
	}
	if diff := cmp.Diff([]EnvCounts{{Env: "prod", Add: 1, Change: 3, Remove: 1, Replace: 2, Destructive: 2}}, got.Environments); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(destructivePlan(), got.Plan); diff != "" {
		t.Errorf("plan does not round-trip (-want +got):\n%s", diff)
	}
}

// golden compares got with the file, or rewrites the file under -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func BenchmarkPlanComments(b *testing.B) {
	p := bigPlan()
	b.ReportAllocs()
	for b.Loop() {
		PlanComments(p, testRun)
	}
}

func TestPreviewedStackIsShownWithWhy(t *testing.T) {
	p := destructivePlan()
	s := &p.Stacks[1]
	s.ChangeSetName, s.ChangeSetType, s.Preview = "", "UPDATE", true
	s.StatusReason = "CloudFormation can plan this stack only after apprunner-vpc-prod deploys (No export named X found)"
	var text bytes.Buffer
	if err := PlanText(&text, p); err != nil {
		t.Fatal(err)
	}
	body := PlanComments(p, testRun)[0].Body
	for name, out := range map[string]string{"text": text.String(), "comment": body} {
		if !strings.Contains(out, "only after apprunner-vpc-prod deploys") || !strings.Contains(out, "UploadsBucket") {
			t.Errorf("%s does not show the previewed changes and why:\n%s", name, out)
		}
	}
	if !strings.Contains(body, ":warning:") {
		t.Errorf("the comment does not flag the previewed destructive change:\n%s", body)
	}
}

// A Static Site's files show in the comment and the text: counts and bytes
// to put, deletions, unchanged; a first sync says deletions come on deploy.
func TestPlanShowsSiteFiles(t *testing.T) {
	p := &deploy.Plan{App: "brochure", Fingerprint: "x", Stacks: []deploy.StackPlan{
		{StackName: "brochure-test-www", Env: "test", Kind: "Static Site", Workload: "www", NoChanges: true,
			Files: &deploy.FileChanges{Put: 2, PutBytes: 3 << 20, Delete: 1, Unchanged: 40}},
		{StackName: "brochure-test-blog", Env: "test", Kind: "Static Site", Workload: "blog", ChangeSetType: "CREATE",
			Changes: []deploy.ResourceChange{{Action: deploy.ActionAdd, LogicalID: "Bucket", ResourceType: "AWS::S3::Bucket"}},
			Files:   &deploy.FileChanges{Put: 1, PutBytes: 900, NewBucket: true}},
	}}
	var text bytes.Buffer
	if err := PlanText(&text, p); err != nil {
		t.Fatal(err)
	}
	body := PlanComments(p, testRun)[0].Body
	for _, want := range []string{
		"Site files: 2 files to put (3.0 MiB), 1 to delete, 40 unchanged.",
		"Site files: 1 file to put (900 B), into a new bucket.",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, text.String())
		}
		if !strings.Contains(body, want) {
			t.Errorf("plan comment lacks %q:\n%s", want, body)
		}
	}
	if !p.HasChanges() {
		t.Error("a plan with site files to put has no changes")
	}
	p.Stacks = p.Stacks[:1]
	if body := PlanComments(p, testRun)[0].Body; !strings.Contains(body, "**site files to sync**") {
		t.Errorf("an environment whose only change is site files is headed otherwise:\n%s", body)
	}
}
