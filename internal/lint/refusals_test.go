package lint

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/diag"
	renderer "github.com/autopilot-dev/autopilot/internal/render"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// What render refuses, lint reports: the same rule id at the same
// position, an error for a value render cannot render and a notice for a
// feature it does not render yet (render and plan still stop on it).
func TestLintReportsWhatRenderRefuses(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		sev    diag.Severity
		rule   string
		domain string // the application's domain, an input of both
	}{
		{"environment with vpc.cidr but no subnets", map[string]string{
			"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\nnetwork:\n  vpc:\n    cidr: 10.0.0.0/16\n",
		}, diag.Error, ruleRenderManifest, ""},
		{"environment with a CDN, for an application with a domain", map[string]string{
			"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\ncdn: true\n",
		}, diag.Notice, ruleRenderUnsupported, "example.com"},
		{"alias the environment's certificate does not cover, for an application with a domain", map[string]string{
			"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
			"copilot/web/manifest.yml":               "name: web\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  alias: www.example.com\n",
		}, diag.Error, ruleRenderManifest, "example.com"},
		{"alias in an environment without certificates or domain", map[string]string{
			"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
			"copilot/web/manifest.yml":               "name: web\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  alias: www.example.com\n",
		}, diag.Notice, ruleRenderUnsupported, ""},
		{"worker whose env file is missing", map[string]string{
			"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
			"copilot/svc/manifest.yml":               "name: svc\ntype: Worker Service\nimage:\n  location: nginx\nenv_file: svc.env\n",
		}, diag.Error, ruleRenderManifest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeWorkspace(t, tc.files)
			ws, err := workspace.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, rendered, err := renderer.Render(ws, nil, nil, renderer.Options{Vars: workspace.Vars{Lookup: lookup}, AppDomain: tc.domain})
			if err == nil {
				t.Fatal("render accepts the workspace; the case tests nothing")
			}
			var refused diag.List
			for _, d := range rendered {
				if d.Severity == diag.Error {
					refused = append(refused, d)
				}
			}
			linted, err := Lint(ws, Options{Lookup: lookup, AppDomain: tc.domain})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range refused {
				found := slices.ContainsFunc(linted, func(d diag.Diagnostic) bool {
					return d.Rule == r.Rule && d.Rule == tc.rule && d.File == r.File && d.Line == r.Line && d.Column == r.Column &&
						d.Message == r.Message && d.Severity == tc.sev
				})
				if !found {
					t.Errorf("render refuses with\n  %v\nbut lint does not report it as a %s; lint says:\n%s", r, tc.sev, render(linted))
				}
			}
			if tc.sev == diag.Error && !linted.HasErrors() {
				t.Errorf("lint passes a workspace render refuses")
			}
		})
	}
}

// The rule ids lint gives render's refusals are render's own.
func TestRefusalRulesAreRenders(t *testing.T) {
	if want := []string{ruleRenderManifest, ruleRenderUnsupported}; !slices.Equal(renderer.RefusalRules, want) {
		t.Errorf("render.RefusalRules = %q, lint knows %q", renderer.RefusalRules, want)
	}
}

// writeWorkspace writes files into a workspace of the application demo.
func writeWorkspace(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["copilot/.workspace"] = "application: demo\n"
	for p, s := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
