package report

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/diag"
)

func TestLongCreatePlanFoldsUnderItsHeadline(t *testing.T) {
	p := createPlan()
	env := &p.Stacks[0]
	for i := range 25 {
		env.Changes = append(env.Changes, deploy.ResourceChange{Action: deploy.ActionAdd, LogicalID: fmt.Sprintf("Subnet%d", i), ResourceType: "AWS::EC2::Subnet"})
	}
	body := PlanComments(p, testRun)[0].Body
	summary := "<details><summary>28 to add, 0 to change, 0 to remove, 0 replacements · change set autopilot-9f86d08-42 (CREATE)</summary>\n\n"
	open := strings.Index(body, summary)
	if open < 0 {
		t.Fatalf("the long create plan is not folded under its headline:\n%s", body)
	}
	rows, closing := strings.Index(body, "`Subnet24`"), strings.Index(body[open:], "</details>")
	if rows < open || closing < 0 || rows > open+closing {
		t.Errorf("the rows are not inside the fold:\n%s", body)
	}
	// The short create of the service stays open, and so does its image line.
	if strings.Count(body, "<details><summary>") != 1 || !strings.Contains(body, "3 to add, 0 to change, 0 to remove, 0 replacements · change set `autopilot-9f86d08-42` (CREATE)\n") ||
		!strings.Contains(body, "Images:\n- demo-service:") {
		t.Errorf("the short create plan is folded too, or lost its images:\n%s", body)
	}
	if !strings.Contains(body, "**31 to add, 0 to change, 0 to remove, 0 replacements**") {
		t.Errorf("the comment's headline counts are gone:\n%s", body)
	}

	// A long update is read row by row: never folded.
	upd := destructivePlan()
	svc := &upd.Stacks[1]
	for i := range 25 {
		svc.Changes = append(svc.Changes, deploy.ResourceChange{Action: deploy.ActionModify, LogicalID: fmt.Sprintf("Rule%d", i), ResourceType: "AWS::Events::Rule"})
	}
	if body := PlanComments(upd, testRun)[0].Body; regexp.MustCompile(`<summary>\d+ to add`).MatchString(body) {
		t.Errorf("an update plan is folded:\n%s", body)
	}
}

func TestCommentShowsLintFindings(t *testing.T) {
	findings := diag.List{
		{File: "/repo/copilot/api/manifest.yml", Line: 5, Column: 3, Severity: diag.Warning, Rule: "schema/unknown-key", Message: "unknown key placment"},
		{File: "/repo/copilot/api/manifest.yml", Line: 9, Column: 1, Severity: diag.Warning, Rule: "prod-only", Message: "prod only", Env: "prod"},
		{File: "/repo/copilot/api/manifest.yml", Line: 1, Column: 1, Severity: diag.Notice, Rule: "pipeline-skipped", Message: "notice text"},
	}
	body := PlanComments(createPlan(), testRun, WithFindings(findings, "/repo"))[0].Body
	for _, want := range []string{
		"**Lint:** 0 errors, 1 warning, 1 notice",
		"- :warning: `copilot/api/manifest.yml:5:3` unknown key placment (`schema/unknown-key`)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "prod only") || strings.Contains(body, "notice text") {
		t.Errorf("the test comment lists another environment's finding or a notice:\n%s", body)
	}
	if strings.Index(body, "**Lint:**") > strings.Index(body, "#### ") {
		t.Errorf("the lint line comes after the stacks, where a trimmed comment loses it:\n%s", body)
	}

	var many diag.List
	for i := range 14 {
		many = append(many, diag.Diagnostic{File: "m.yml", Line: i + 1, Severity: diag.Error, Rule: "r", Message: fmt.Sprintf("problem %d", i)})
	}
	body = PlanComments(createPlan(), testRun, WithFindings(many, ""))[0].Body
	if strings.Count(body, "- :x: ") != maxCommentFindings || !strings.Contains(body, "- … and 4 more in the job summary") {
		t.Errorf("14 errors are not cut to %d lines and a count:\n%s", maxCommentFindings, body)
	}
	if body := PlanComments(createPlan(), testRun, WithFindings(nil, ""))[0].Body; !strings.Contains(body, "**Lint:** no findings.") {
		t.Errorf("a clean lint is not said:\n%s", body)
	}
	if body := PlanComments(createPlan(), testRun)[0].Body; strings.Contains(body, "Lint:") {
		t.Errorf("a comment without findings given talks about lint:\n%s", body)
	}
}

func TestCommentSaysWhatMergeDoes(t *testing.T) {
	cases := []struct {
		name    string
		plan    *deploy.Plan
		merge   OnMerge
		want    []string
		notWant string
	}{
		{"destructive changes refused", destructivePlan(), OnMerge{Branch: "main", RefuseDestructive: true, RequireReviewed: true},
			[]string{"**On merge** into `main`: with this step's inputs, autopilot deploys every environment of the workspace.", ":no_entry: The 2 destructive changes here will be refused: nothing in `prod` executes", "Only this reviewed plan executes"}, "will execute"},
		{"destructive changes allowed", destructivePlan(), OnMerge{Branch: "main", Envs: []string{"prod"}},
			[]string{"autopilot deploys `prod`.", ":warning: The 2 destructive changes here will execute"}, "refused"},
		{"environment not deployed", createPlan(), OnMerge{Branch: "main", Envs: []string{"prod", "staging"}},
			[]string{"**On merge** into `main`: `test` is not deployed (this step's inputs deploy `prod`, `staging`); this plan is a preview."}, "Only this reviewed"},
		{"nothing destructive", createPlan(), OnMerge{},
			[]string{"**On merge** into the default branch: with this step's inputs, autopilot deploys every environment of the workspace.\n"}, "destructive change"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := PlanComments(tc.plan, testRun, WithOnMerge(tc.merge))[0].Body
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("the comment lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, tc.notWant) {
				t.Errorf("the comment says %q:\n%s", tc.notWant, body)
			}
		})
	}
}
