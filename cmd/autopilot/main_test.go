package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chdirTemp runs the test in a fresh directory holding files.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestExitCodes(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "")
	broken := writeFiles(t, map[string]string{
		"copilot/.workspace":       "application: shop\n",
		"copilot/api/manifest.yml": "name: api\ntype: Backend Service\nimage:\n  location: nginx\n  port: \"80\"\n",
	})
	warnOnly := writeFiles(t, map[string]string{
		"copilot/.workspace":       "application: shop\n",
		"copilot/api/manifest.yml": "name: api\ntype: Backend Service\nimage:\n  location: nginx\ncpuu: 1\n",
	})
	loose := writeFiles(t, map[string]string{
		"manifest.yml": "name: api\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/nginx/nginx:latest\n  port: 80\nenvironments:\n  prod:\n    cpu: 1024\n",
	})
	looseOut := t.TempDir()
	out := t.TempDir()
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"example lints clean", []string{"lint", "../../examples/apprunner-vpc"}, exitOK},
		{"errors fail", []string{"lint", broken}, exitFailed},
		{"warnings pass", []string{"lint", warnOnly}, exitOK},
		{"warnings fail under strict", []string{"lint", "--strict", warnOnly}, exitFailed},
		{"missing path cannot run", []string{"lint", filepath.Join(out, "nope")}, exitUsage},
		{"unknown format", []string{"lint", "--format", "xml", warnOnly}, exitUsage},
		{"unknown flag", []string{"lint", "--bogus"}, exitUsage},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"no command", nil, exitUsage},
		{"render needs --out", []string{"render", "../../examples/apprunner-vpc"}, exitUsage},
		{"render example", []string{"render", "--out", out, "../../examples/apprunner-vpc"}, exitOK},
		{"render stops on lint errors", []string{"render", "--out", t.TempDir(), broken}, exitFailed},
		{"render a manifest outside a workspace needs --app", []string{"render", "--out", t.TempDir(), filepath.Join(loose, "manifest.yml")}, exitUsage},
		{"render a manifest outside a workspace", []string{"render", "--app", "shop", "--out", looseOut, filepath.Join(loose, "manifest.yml")}, exitOK},
		{"render unknown environment", []string{"render", "--env", "nope", "--out", t.TempDir(), "../../examples/apprunner-vpc"}, exitUsage},
		{"lint unknown environment", []string{"lint", "--env", "prod", "../../examples/apprunner-vpc"}, exitUsage},
		{"plan against a missing folder", []string{"plan", "--offline", "--against", filepath.Join(out, "nope"), "--output", filepath.Join(out, "plan.txt"), "../../examples/apprunner-vpc"}, exitUsage},
		{"plan against a file", []string{"plan", "--offline", "--against", filepath.Join(loose, "manifest.yml"), "--output", filepath.Join(out, "plan.txt"), "../../examples/apprunner-vpc"}, exitUsage},
		{"against without offline", []string{"plan", "--against", out, "../../examples/apprunner-vpc"}, exitUsage},
		{"unknown plan format", []string{"plan", "--offline", "--format", "yaml", "../../examples/apprunner-vpc"}, exitUsage},
		{"unknown log format", []string{"plan", "--offline", "--log-format", "xml", "../../examples/apprunner-vpc"}, exitUsage},
		{"bad build output", []string{"build", "--output", "dir/images", "../../examples/apprunner-vpc"}, exitUsage},
		{"action takes no arguments", []string{"action", "."}, exitUsage},
		{"help for an unknown command", []string{"help", "frobnicate"}, exitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := runMain(context.Background(), tc.args); got != tc.want {
				t.Errorf("autopilot %s: exit %d, want %d", strings.Join(tc.args, " "), got, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(looseOut, "shop-prod-api.template.yml")); err != nil {
		t.Errorf("render --app wrote no stack for the override's environment: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "apprunner-vpc-test-demo-service.template.yml")); err != nil {
		t.Errorf("render wrote no service template: %v", err)
	}
}

// misspelledPlacement copies the example with network.vpc.placement
// misspelled: Copilot would ignore the key and drop the VPC connector.
func misspelledPlacement(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/apprunner-vpc")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "copilot/demo-service/manifest.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(b), "placement: private", "placment: private", 1)
	if fixed == string(b) {
		t.Fatal("the example no longer sets network.vpc.placement")
	}
	if err := os.WriteFile(path, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Under --strict an unknown key is an error: lint fails and nothing is
// rendered or planned.
func TestStrictRefusesAMisspelledNestedKey(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "")
	ws := misspelledPlacement(t)
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"lint", ws}, exitOK},
		{[]string{"lint", "--strict", ws}, exitFailed},
		{[]string{"render", "--strict", "--out", filepath.Join(out, "stacks"), ws}, exitFailed},
		{[]string{"plan", "--offline", "--strict", "--output", filepath.Join(out, "plan.txt"), ws}, exitFailed},
	} {
		if got := runMain(context.Background(), tc.args); got != tc.want {
			t.Errorf("autopilot %s: exit %d, want %d", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	if files, _ := os.ReadDir(out); len(files) != 0 {
		t.Errorf("strict runs wrote %v", files)
	}
}

// Strict is about keys Copilot would ignore; advice that holds for working
// Copilot workspaces (here `flow_logs: false`, which Copilot deploys as on)
// stays a warning and never fails a strict run, so strict can be the
// Action's default without failing workspaces Copilot deploys today.
func TestStrictLetsAdviceWarningsPass(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/apprunner-vpc")); err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(dir, "copilot/environments/test/manifest.yml")
	b, err := os.ReadFile(env)
	if err != nil {
		t.Fatal(err)
	}
	advised := strings.Replace(string(b), "flow_logs: true", "flow_logs: false", 1)
	if advised == string(b) {
		t.Fatal("the example environment no longer sets flow_logs: true")
	}
	if err := os.WriteFile(env, []byte(advised), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "lint.json")
	if got := runMain(context.Background(), []string{"lint", "--strict", "--format", "json", "--output", report, dir}); got != exitOK {
		t.Fatalf("lint --strict with only an advice warning: exit %d, want %d", got, exitOK)
	}
	if out, _ := os.ReadFile(report); !strings.Contains(string(out), "env-flow-logs-false") {
		t.Errorf("the advice is not reported as a warning:\n%s", out)
	}
}
