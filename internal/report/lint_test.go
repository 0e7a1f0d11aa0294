package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/sethvargo/go-githubactions"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

var sampleFindings = diag.List{
	{File: "copilot/web/manifest.yml", Line: 12, Column: 3, Severity: diag.Warning, Rule: "unknown-key", Message: `unknown key "prot"`, Fix: `did you mean "port"?`, Env: "prod"},
	{File: "copilot/api/manifest.yml", Line: 4, Column: 9, Severity: diag.Error, Rule: "type", Message: `port must be an integer, got "80"`, Fix: "write port: 80"},
	{File: "copilot/api/addons/db.yml", Severity: diag.Error, Rule: "aurora-v1", Message: "Aurora Serverless v1 will not deploy"},
	{File: "copilot/api/manifest.yml", Line: 1, Column: 1, Severity: diag.Notice, Rule: "apprunner-closed", Message: "App Runner is closed to new customers"},
}

func TestLintText(t *testing.T) {
	tests := []struct {
		name     string
		findings diag.List
		want     string
	}{
		{
			name:     "sorted, with fixes, environments and counts",
			findings: sampleFindings,
			want: `copilot/api/addons/db.yml: error: Aurora Serverless v1 will not deploy [aurora-v1]
copilot/api/manifest.yml:1:1: notice: App Runner is closed to new customers [apprunner-closed]
copilot/api/manifest.yml:4:9: error: port must be an integer, got "80" [type]
    fix: write port: 80
copilot/web/manifest.yml:12:3: warning: unknown key "prot" [unknown-key] (environment prod)
    fix: did you mean "port"?
2 errors, 1 warning, 1 notice
`,
		},
		{name: "no findings", findings: nil, want: "0 errors, 0 warnings, 0 notices\n"},
		{
			name:     "a multi-line message stays on its line",
			findings: diag.List{{File: "m.yml", Line: 2, Column: 1, Severity: diag.Error, Rule: "yaml", Message: "bad\nindent\r\nhere"}},
			want:     "m.yml:2:1: error: bad indent here [yaml]\n1 error, 0 warnings, 0 notices\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Lint(&buf, tc.findings, FormatText); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("text report (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLintDoesNotReorderCallersList(t *testing.T) {
	in := append(diag.List(nil), sampleFindings...)
	if err := Lint(&bytes.Buffer{}, in, FormatText); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleFindings, in); diff != "" {
		t.Errorf("Lint changed its input (-want +got):\n%s", diff)
	}
}

func TestLintJSON(t *testing.T) {
	root := t.TempDir()
	abs := append(diag.List(nil), sampleFindings...)
	abs[0].File = filepath.Join(root, "copilot/web/manifest.yml")
	var buf bytes.Buffer
	if err := Lint(&buf, abs, FormatJSON, WithRoot(root), WithVersion("1.2.3")); err != nil {
		t.Fatal(err)
	}
	var got JSONReport
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, buf.String())
	}
	want := append(diag.List(nil), sampleFindings...)
	want.Sort()
	if diff := cmp.Diff(JSONReport{
		Version: 1, Tool: "autopilot", ToolVersion: "1.2.3",
		Findings: want,
		Counts:   JSONCounts{Error: 2, Warning: 1, Notice: 1},
	}, got); diff != "" {
		t.Errorf("JSON report (-want +got):\n%s", diff)
	}
	// The documented field names are the contract; check them literally.
	for _, key := range []string{`"version": 1`, `"findings": [`, `"severity": "warning"`, `"environment": "prod"`, `"counts": {`, `"rule": "unknown-key"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON report lacks %s:\n%s", key, buf.String())
		}
	}
}

func TestLintJSONEmptyFindingsIsAnArray(t *testing.T) {
	var buf bytes.Buffer
	if err := Lint(&buf, nil, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"findings": []`) {
		t.Errorf("want an empty findings array, got:\n%s", buf.String())
	}
}

func TestLintGitHub(t *testing.T) {
	tests := []struct {
		name string
		in   diag.Diagnostic
		want string
	}{
		{
			name: "error with position and fix",
			in:   diag.Diagnostic{File: "copilot/api/manifest.yml", Line: 4, Column: 9, Severity: diag.Error, Rule: "type", Message: "port must be an integer", Fix: "write port: 80"},
			want: "::error file=copilot/api/manifest.yml,line=4,col=9,title=autopilot type::port must be an integer%0AFix: write port: 80\n",
		},
		{
			name: "notice without a position",
			in:   diag.Diagnostic{File: "copilot/api/addons/db.yml", Severity: diag.Notice, Rule: "advice", Message: "100% sure"},
			want: "::notice file=copilot/api/addons/db.yml,title=autopilot advice::100%25 sure\n",
		},
		{
			name: "hostile file, rule and message cannot add properties or commands",
			in: diag.Diagnostic{File: "a,line=1:b%.yml", Line: 2, Severity: diag.Warning, Rule: "r,col=9::x", Env: "p:q",
				Message: "bad\r\n::add-mask::secret\n::error::forged"},
			want: "::warning file=a%2Cline=1%3Ab%25.yml,line=2,title=autopilot r%2Ccol=9%3A%3Ax (environment p%3Aq)::bad%0D%0A::add-mask::secret%0A::error::forged\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Lint(&buf, diag.List{tc.in}, FormatGitHub); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("annotation (-want +got):\n%s", diff)
			}
			if n := strings.Count(buf.String(), "\n"); n != 1 {
				t.Errorf("one finding took %d lines; a newline in it would end the command", n)
			}
		})
	}
}

// The escaping must match what the runner decodes; go-githubactions follows
// actions/toolkit, so it is the reference.
func TestEscapingMatchesToolkit(t *testing.T) {
	for _, s := range []string{"plain", "100%", "a\r\nb", "k:v,w", "%0A", "::x::", "ünïcode:%,\n"} {
		cmd := githubactions.Command{Name: "warning", Properties: githubactions.CommandProperties{"title": s}, Message: s}
		want := cmd.String()
		got := "::warning title=" + EscapeProperty(s) + "::" + EscapeData(s)
		if got != want {
			t.Errorf("escaping %q: got %q, toolkit writes %q", s, got, want)
		}
	}
}

func TestLintSARIF(t *testing.T) {
	root := t.TempDir()
	findings := append(diag.List(nil), sampleFindings...)
	findings[1].File = filepath.Join(root, "copilot/api/manifest.yml") // absolute under the root
	findings = append(findings, diag.Diagnostic{File: "/elsewhere/x y.yml", Line: 3, Severity: diag.Error, Rule: "type", Message: "outside the root"})
	var buf bytes.Buffer
	err := Lint(&buf, findings, FormatSARIF, WithRoot(root), WithVersion("0.4.0"),
		WithRuleHelp(map[string]string{"unknown-key": "Copilot ignores unknown keys. autopilot warns so typos are found."}))
	if err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, buf.Bytes())

	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Rules   []struct {
						ID               string `json:"id"`
						ShortDescription *struct{ Text string }
						Help             *struct{ Text string }
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
			Results            []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
						Region *struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "autopilot" || run.Tool.Driver.Version != "0.4.0" {
		t.Errorf("driver = %+v", run.Tool.Driver)
	}
	var ruleIDs []string
	for _, r := range run.Tool.Driver.Rules {
		ruleIDs = append(ruleIDs, r.ID)
	}
	if diff := cmp.Diff([]string{"type", "aurora-v1", "apprunner-closed", "unknown-key"}, ruleIDs); diff != "" {
		t.Errorf("rules are the ids seen, once each (-want +got):\n%s", diff)
	}
	if h := run.Tool.Driver.Rules[3].Help; h == nil || !strings.Contains(h.Text, "typos") {
		t.Errorf("unknown-key rule help = %+v, want the given help text", h)
	}
	if h := run.Tool.Driver.Rules[0].Help; h == nil || h.Text != "write port: 80" {
		t.Errorf("type rule help = %+v, want its fix", h)
	}
	if got := run.OriginalURIBaseIDs["%SRCROOT%"].URI; !strings.HasPrefix(got, "file:///") || !strings.HasSuffix(got, "/") {
		t.Errorf("%%SRCROOT%% = %q, want a file URI of a folder", got)
	}
	type loc struct {
		rule, level, uri, base string
		line, col              int
	}
	var got []loc
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d", r.RuleID, r.RuleIndex)
		}
		pl := r.Locations[0].PhysicalLocation
		l := loc{rule: r.RuleID, level: r.Level, uri: pl.ArtifactLocation.URI, base: pl.ArtifactLocation.URIBaseID}
		if pl.Region != nil {
			l.line, l.col = pl.Region.StartLine, pl.Region.StartColumn
		}
		got = append(got, l)
	}
	want := []loc{
		{"type", "error", "file:///elsewhere/x%20y.yml", "", 3, 0},
		{"aurora-v1", "error", "copilot/api/addons/db.yml", "%SRCROOT%", 0, 0},
		{"apprunner-closed", "note", "copilot/api/manifest.yml", "%SRCROOT%", 1, 1},
		{"type", "error", "copilot/api/manifest.yml", "%SRCROOT%", 4, 9},
		{"unknown-key", "warning", "copilot/web/manifest.yml", "%SRCROOT%", 12, 3},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(loc{})); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestLintSARIFEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Lint(&buf, nil, FormatSARIF); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, buf.Bytes())
}

// validateSARIF checks a log against testdata/sarif-2.1.0-required.json, the
// fields SARIF 2.1.0 requires and the values it allows, written from the
// OASIS specification.
func validateSARIF(t testing.TB, doc []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	f, err := os.Open("testdata/sarif-2.1.0-required.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("sarif.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("SARIF is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("SARIF does not validate: %v\n%s", err, doc)
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "text, json, github or sarif") {
		t.Errorf("ParseFormat(xml) error = %v, want one listing the formats", err)
	}
	if err := Lint(&bytes.Buffer{}, nil, Format("xml")); err == nil {
		t.Error("Lint with an unknown format succeeded")
	}
}

// The validator must be able to fail, or TestLintSARIF proves nothing.
func TestSARIFValidatorRejectsBrokenLogs(t *testing.T) {
	for name, doc := range map[string]string{
		"no version":      `{"runs": []}`,
		"driver unnamed":  `{"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}`,
		"bad level":       `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"level": "fatal", "message": {"text": "m"}}]}]}`,
		"no message text": `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {}}]}]}`,
		"line zero":       `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a"}, "region": {"startLine": 0}}}]}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			ft := &fakeT{T: t}
			validateSARIF(ft, []byte(doc))
			if !ft.failed {
				t.Errorf("validator accepted %s", doc)
			}
		})
	}
}

// fakeT records an Errorf instead of failing the test.
type fakeT struct {
	*testing.T
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }

func TestLintMarkdown(t *testing.T) {
	md, err := LintMarkdown(sampleFindings, CommentLimit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### :x: autopilot lint",
		"**2 errors, 1 warning, 1 notice**",
		"| error | `copilot/api/addons/db.yml` | `aurora-v1` | Aurora Serverless v1 will not deploy |  |",
		"| warning | `copilot/web/manifest.yml:12:3` | `unknown-key` | unknown key \"prot\" (environment `prod`) | did you mean \"port\"? |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	clean, _ := LintMarkdown(nil, CommentLimit)
	if !strings.Contains(clean, ":white_check_mark:") || strings.Contains(clean, "| Severity") {
		t.Errorf("clean run:\n%s", clean)
	}
	many := make(diag.List, 5000)
	for i := range many {
		many[i] = diag.Diagnostic{File: "m.yml", Line: i + 1, Severity: diag.Warning, Rule: "r", Message: strings.Repeat("long message ", 5)}
	}
	cut, _ := LintMarkdown(many, CommentLimit)
	if len(cut) > CommentLimit || !strings.Contains(cut, "More findings than fit") || !strings.Contains(cut, "5000 warnings") {
		t.Errorf("5000 findings: %d bytes, note present=%v", len(cut), strings.Contains(cut, "More findings"))
	}
}
