package lint

import (
	"testing"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// FuzzLint feeds arbitrary bytes to the loader and the linter as a workload
// manifest and as an environment manifest: whatever the input, linting
// finishes without a panic and every finding names the file with a position
// that is not negative.
func FuzzLint(f *testing.F) {
	seeds := []string{
		"name: api\ntype: Request-Driven Web Service\nimage:\n  build: Dockerfile\n  port: 80\n",
		"name: api\ntype: Load Balanced Web Service\nhttp:\n  path: /\nimage: {location: nginx, port: 80}\ncount: {range: 1-10, cpu_percentage: 70}\n",
		"name: w\ntype: Worker Service\nsubscribe:\n  topics: [{name: t, service: api}]\nenvironments:\n  test:\n    cpu: ${CPU}\n",
		"name: j\ntype: Scheduled Job\non: {schedule: '@daily'}\nimage: {location: x}\n",
		"name: s\ntype: Static Site\nfiles: [{source: dist}]\n",
		"name: test\ntype: Environment\nnetwork:\n  vpc:\n    id: vpc-1\n    subnets: {public: [{id: a}, {id: b}]}\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
		"name: x\ntype: Backend Service\nname: y\n",
		"{[",
		"- a\n- b\n",
		"type: Request-Driven Web Service\nhttp:\n  healthcheck: /\n  private: {endpoint: vpce-1}\n",
		"<<: {name: a}\ntype: Backend Service\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, path := range []string{"copilot/svc/manifest.yml", "copilot/environments/test/manifest.yml"} {
			ws := &workspace.Workspace{App: "fuzz"}
			ws.Add(path, raw)
			findings, err := Lint(ws, Options{Lookup: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatalf("lint: %v", err)
			}
			for _, d := range findings {
				if d.File != path || d.Line < 0 || d.Column < 0 || d.Rule == "" || d.Message == "" {
					t.Fatalf("malformed finding: %+v", d)
				}
			}
		}
	})
}
