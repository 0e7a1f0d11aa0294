package run

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/report"
)

// TestLintNeverEchoesEnvironmentValues is the attack of issue 10, item 8: a
// secret in the job's environment reaches a manifest field through ${VAR},
// the field fails lint, and the finding quotes the value. Every lint format
// must name the variable instead.
func TestLintNeverEchoesEnvironmentValues(t *testing.T) {
	const secret = `hunter2-S3cr3t*_<x>"q\z`
	dir := t.TempDir()
	files := map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/api/manifest.yml": "name: api\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\n" +
			"platform: ${DEPLOY_TOKEN}\nnetwork:\n  vpc:\n    placement: prefix-${DEPLOY_TOKEN}\n",
	}
	writeFiles(t, dir, files)
	lookup := func(name string) (string, bool) {
		if name == "DEPLOY_TOKEN" {
			return secret, true
		}
		return "", false
	}
	quoted, _ := json.Marshal(secret)
	forms := []string{secret, strings.Trim(string(quoted), `"`), strings.Trim(strconv.Quote(secret), `"`), "hunter2-S3cr3t"}
	for _, format := range report.Formats {
		t.Run(string(format), func(t *testing.T) {
			var out bytes.Buffer
			res, err := Lint(context.Background(), LintOptions{Paths: []string{dir}, Format: format, Out: &out, Lookup: lookup, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Findings.HasErrors() {
				t.Fatalf("the manifest passes lint; the attack needs a failing field:\n%s", out.String())
			}
			for _, f := range forms {
				if strings.Contains(out.String(), f) {
					t.Errorf("the %s report holds the secret (as %q):\n%s", format, f, out.String())
				}
			}
			if !strings.Contains(out.String(), "${DEPLOY_TOKEN}") {
				t.Errorf("the %s report does not name the variable:\n%s", format, out.String())
			}
		})
	}
}

// writeFiles writes files (path relative to root → content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A short value taken from the environment (a count, "on") is no secret;
// redacting it inside other words would garble findings, so a finding keeps
// its numbers whole.
func TestLintKeepsShortValuesReadable(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/api/manifest.yml": "name: api\ntype: Request-Driven Web Service\nimage:\n  location: nginx\n  port: 80\n" +
			"cpu: 1024\nmemory: 1024\ncount: ${REPLICAS}\n",
	})
	lookup := func(name string) (string, bool) {
		if name == "REPLICAS" {
			return "1", true
		}
		return "", false
	}
	var out bytes.Buffer
	if _, err := Lint(context.Background(), LintOptions{Paths: []string{dir}, Format: report.FormatText, Out: &out, Lookup: lookup, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1024") || strings.Contains(out.String(), "${REPLICAS}024") {
		t.Errorf("the findings lost their numbers:\n%s", out.String())
	}
}
