package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fakegithub "github.com/autopilot-dev/autopilot/internal/fakes/github"
)

// actionsEnv sets the variables a GitHub Actions runner sets for a
// pull_request run, with the event rewritten from a real payload.
func actionsEnv(t *testing.T, gh *fakegithub.Server, fork bool) (summary string) {
	t.Helper()
	raw, err := os.ReadFile("../../../shared/reference/github-events/pull_request-opened.payload.json")
	if err != nil {
		t.Skipf("real webhook payloads not found beside the repository: %v", err)
	}
	var event map[string]any
	if err := json.Unmarshal(raw, &event); err != nil {
		t.Fatal(err)
	}
	if fork {
		pr := event["pull_request"].(map[string]any)
		pr["head"].(map[string]any)["repo"].(map[string]any)["full_name"] = "someone/Hello-World"
	}
	dir := t.TempDir()
	eventPath := filepath.Join(dir, "event.json")
	b, _ := json.Marshal(event)
	if err := os.WriteFile(eventPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	summary = filepath.Join(dir, "summary.md")
	for k, v := range map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": eventPath,
		"GITHUB_REPOSITORY": "Codertocat/Hello-World", "GITHUB_SHA": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
		"GITHUB_RUN_ID": "42", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": gh.URL(),
		"GITHUB_TOKEN": gh.Token(), "GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": filepath.Join(dir, "output"),
	} {
		t.Setenv(k, v)
	}
	return summary
}

// A plan in a pull request posts one sticky comment and updates it on the
// next run instead of adding another; the full preview is in the summary.
func TestPlanCommentsOnThePullRequest(t *testing.T) {
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	summary := actionsEnv(t, gh, false)
	for run := 0; run < 2; run++ {
		if code := runMain(context.Background(), []string{"plan", "--offline", "--env", "test", "--output", filepath.Join(t.TempDir(), "plan.txt"), "../../examples/apprunner-vpc"}); code != exitOK {
			t.Fatalf("run %d: exit %d", run, code)
		}
	}
	comments := gh.Comments("Codertocat/Hello-World", 2)
	if len(comments) != 1 {
		t.Fatalf("%d comments after two runs, want one sticky comment", len(comments))
	}
	if body := comments[0].Body; !strings.Contains(body, "apprunner-vpc-test-demo-service") || !strings.Contains(body, "<!-- autopilot") {
		t.Errorf("comment lacks the plan or its marker:\n%s", body)
	}
	if s, _ := os.ReadFile(summary); !strings.Contains(string(s), "demoDbDBCluster") {
		t.Errorf("job summary lacks the full preview:\n%s", s)
	}
}

// A fork's pull request gets the preview in the summary only, and the run
// still succeeds.
func TestPlanOnAForkWritesOnlyTheSummary(t *testing.T) {
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	summary := actionsEnv(t, gh, true)
	if code := runMain(context.Background(), []string{"plan", "--offline", "--env", "test", "--output", filepath.Join(t.TempDir(), "plan.txt"), "../../examples/apprunner-vpc"}); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if n := len(gh.Comments("Codertocat/Hello-World", 2)); n != 0 {
		t.Errorf("%d comments on a fork's pull request", n)
	}
	if s, _ := os.ReadFile(summary); !strings.Contains(string(s), "apprunner-vpc-test") {
		t.Error("job summary lacks the preview")
	}
}
