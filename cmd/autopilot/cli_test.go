package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Flags may follow PATH, as users of kubectl and terraform expect.
func TestFlagsAfterThePath(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "")
	out := filepath.Join(t.TempDir(), "plan.txt")
	if code := runMain(context.Background(), []string{"plan", "../../examples/apprunner-vpc", "--offline", "--output", out}); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "apprunner-vpc-test-demo-service") {
		t.Errorf("the plan lacks the service stack:\n%s", b)
	}
}

// The README's tip parses as written: the flags around PATH all land.
// (Running it builds the image, which needs the network.)
func TestReadmeTipParses(t *testing.T) {
	args := strings.Fields("plan --offline examples/apprunner-vpc --build --build-output oci:out/images")
	cmd, rest, err := newRoot(new(bool)).Find(args)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("parse: %v", err)
	}
	for name, want := range map[string]string{"offline": "true", "build": "true", "build-output": "oci:out/images"} {
		if got := cmd.Flags().Lookup(name).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q", name, got, want)
		}
	}
	if got := cmd.Flags().Args(); len(got) != 1 || got[0] != "examples/apprunner-vpc" {
		t.Errorf("PATH = %q", got)
	}
}

// Help texts name every flag's value by a placeholder (--out DIR), never by
// a Go type or a phrase lifted from the description, and `help <command>`
// prints what `<command> --help` does.
func TestHelpTexts(t *testing.T) {
	placeholder := regexp.MustCompile(`^[A-Za-z:/|=,.<>-]*[A-Z][A-Za-z0-9:/|=,.<>-]*$`)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" {
			t.Errorf("%s has no summary", c.CommandPath())
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			name, usage := pflag.UnquoteUsage(f)
			if f.Value.Type() == "bool" || f.Name == "help" {
				return
			}
			if !placeholder.MatchString(name) {
				t.Errorf("%s --%s shows its value as %q, want a placeholder such as DIR", c.CommandPath(), f.Name, name)
			}
			if strings.Contains(usage, "`") {
				t.Errorf("%s --%s: stray backquote in %q", c.CommandPath(), f.Name, usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(new(bool)))

	for _, name := range []string{"lint", "render", "build", "plan", "deploy", "action"} {
		viaHelp := captureStdout(t, func() { runMain(context.Background(), []string{"help", name}) })
		viaFlag := captureStdout(t, func() { runMain(context.Background(), []string{name, "--help"}) })
		if viaHelp != viaFlag || !strings.Contains(viaHelp, "autopilot "+name) {
			t.Errorf("help %s differs from %s --help:\n%s\n---\n%s", name, name, viaHelp, viaFlag)
		}
	}
}

func TestShellCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out := captureStdout(t, func() {
			if code := runMain(context.Background(), []string{"completion", shell}); code != exitOK {
				t.Errorf("completion %s: exit %d", shell, code)
			}
		})
		if !strings.Contains(out, "autopilot") || len(out) < 500 {
			t.Errorf("completion %s printed no script:\n%s", shell, out)
		}
	}
}

// --env and --service complete with the names in the workspace at PATH.
func TestCompletionOfNames(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "../../examples/apprunner-vpc", "--env", ""}, "staging\ntest\n"},
		{[]string{"lint", "--strict", "../../examples/apprunner-vpc", "--env", ""}, "staging\ntest\n"},
		{[]string{"build", "../../examples/apprunner-vpc", "--service", "d"}, "demo-service\n"},
	} {
		out := captureStdout(t, func() { runMain(context.Background(), append([]string{cobra.ShellCompRequestCmd}, tc.args...)) })
		if !strings.HasPrefix(out, tc.want) {
			t.Errorf("completing %q: %q, want %q first", tc.args, out, tc.want)
		}
	}
}

func TestBuildInfoVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"go install at a version", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, true, "v1.4.0"},
		{"built from a checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}}}, true, "dev-0123456789ab"},
		{"no build info", nil, false, "dev"},
	} {
		if got := buildInfoVersion(tc.bi, tc.ok); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A release sets the version with -ldflags; --version and the version
// command print it.
func TestReleaseVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		if code, out, _ := runBinary(t, nil, arg); code != exitOK || strings.TrimSpace(out) != "autopilot version v9.8.7" {
			t.Errorf("autopilot %s: exit %d, %q", arg, code, out)
		}
	}
}
