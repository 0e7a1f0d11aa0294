package github

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/report"
)

func TestMasker(t *testing.T) {
	var m Masker
	m.Add("AKIAIOSFODNN7EXAMPLE")
	m.Add("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	m.Add("wJalrXUtnFEMI") // a prefix of another secret
	m.Add("")
	m.Add("line-one-secret\nline-two-secret")
	tests := []struct{ in, want string }{
		{"key AKIAIOSFODNN7EXAMPLE used", "key *** used"},
		{"secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY;", "secret=***;"},
		{"only line-two-secret leaked", "only *** leaked"},
		{"nothing here", "nothing here"},
	}
	for _, tc := range tests {
		if got := m.Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskWriterSplitWrites(t *testing.T) {
	var m Masker
	m.Add("hunter2-secret")
	var out bytes.Buffer
	w := m.Writer(&out)
	for _, chunk := range []string{"pass: hun", "ter2-sec", "ret\nnext hunter2-", "secret"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "pass: ***\nnext ***" || strings.Contains(got, "hunter2") {
		t.Errorf("written %q", got)
	}
}

func TestRuntimeMaskCoversCommentBodies(t *testing.T) {
	r, _ := newTestRuntime(t, nil)
	if err := r.AddMask("ghs_token123"); err != nil {
		t.Fatal(err)
	}
	if got := r.Mask("body with ghs_token123"); got != "body with ***" {
		t.Errorf("Mask = %q", got)
	}
}

// TestSummaryMasksBeforeEscaping is the attack of issue 10, item 8: a
// secret with Markdown-special characters, escaped by the report, no
// longer matches the secret, so masking the rendered text misses it.
// Masking the data before rendering does not.
func TestSummaryMasksBeforeEscaping(t *testing.T) {
	const secret = `p*ss_w|rd<1>&[x]`
	var m Masker
	m.Add(secret)
	plan := &deploy.Plan{App: "shop", Stacks: []deploy.StackPlan{
		{StackName: "shop-test", Env: "test", Error: "template refers to " + secret},
		{StackName: "shop-test-api", Env: "test", Workload: "api", ChangeSetName: "cs", Changes: []deploy.ResourceChange{{
			Action: deploy.ActionModify, LogicalID: "Service", ResourceType: "AWS::AppRunner::Service",
			Details: []deploy.PropertyChange{{Path: "Properties.Token", Before: "old", After: secret}},
		}}},
	}}
	findings := diag.List{{File: "copilot/api/manifest.yml", Line: 3, Severity: diag.Warning, Rule: "x", Message: "value " + secret + " is odd"}}
	escaped := "p\\*ss\\_w\\|rd&lt;1&gt;"
	if after := m.Mask(report.PlanSummary(plan, report.RunInfo{})); !strings.Contains(after, escaped) {
		t.Fatalf("the attack does not reproduce: masking the rendered summary no longer leaks %q", escaped)
	}
	lint, err := report.LintMarkdown(masked(&m, findings), report.SummaryLimit)
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{"plan summary": report.PlanSummary(masked(&m, plan), report.RunInfo{}), "lint summary": lint}
	for _, c := range report.PlanComments(masked(&m, plan), report.RunInfo{}) {
		texts["comment "+c.Env] = c.Body
	}
	var sarif bytes.Buffer
	if err := report.Lint(&sarif, masked(&m, findings), report.FormatSARIF); err != nil {
		t.Fatal(err)
	}
	texts["SARIF"] = sarif.String()
	for what, text := range texts {
		for _, leak := range []string{secret, escaped, "p*ss_w", `p\*ss`, "rd\\u003c1"} {
			if strings.Contains(text, leak) {
				t.Errorf("the %s holds the secret as %q:\n%s", what, leak, text)
			}
		}
		if !strings.Contains(text, "***") && !strings.Contains(text, `\*\*\*`) {
			t.Errorf("the %s does not show the mask:\n%s", what, text)
		}
	}
	if plan.Stacks[0].Error != "template refers to "+secret {
		t.Error("masked changed the plan it was given")
	}
}

func TestMaskWriterWritesNoWorkflowCommand(t *testing.T) {
	var out strings.Builder
	var m Masker
	m.Add("s3cr3t")
	w := m.Writer(&out)
	w.Guard("::stop-commands::tok\n", "::tok::\n")
	fmt.Fprint(w, "build: missing\n::warning::forged s3cr3t\rx\r  ::add-mask::y\n::stop-commands::tok\nstep\n::tok::\n::stop-commands::other\n")
	_ = w.Close()
	want := "build: missing\n| ::warning::forged ***\nx\n|   ::add-mask::y\n::stop-commands::tok\nstep\n::tok::\n| ::stop-commands::other\n"
	if out.String() != want {
		t.Errorf("log = %q, want %q", out.String(), want)
	}
}
