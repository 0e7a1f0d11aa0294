package github

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// eventsDir holds real webhook payloads beside the module (../shared).
const eventsDir = "../../../shared/reference/github-events"

func readPayload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name))
	if os.IsNotExist(err) {
		t.Skipf("reference payload %s not present", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRealEvents(t *testing.T) {
	const sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	pr := func(action string) *PullRequestEvent {
		return &PullRequestEvent{Action: action, Number: 2, HeadSHA: sha, HeadRef: "changes", BaseRef: "master",
			HeadRepo: "Codertocat/Hello-World", BaseRepo: "Codertocat/Hello-World"}
	}
	tests := []struct {
		file, name string
		want       *Event
		toDefault  bool
	}{
		{file: "pull_request-opened.payload.json", name: "pull_request", want: &Event{Name: "pull_request", Repository: "Codertocat/Hello-World", DefaultBranch: "master", PullRequest: pr("opened")}},
		{file: "pull_request-synchronize.payload.json", name: "pull_request", want: &Event{Name: "pull_request", Repository: "Codertocat/Hello-World", DefaultBranch: "master", PullRequest: pr("synchronize")}},
		{file: "pull_request-closed.payload.json", name: "pull_request", want: &Event{Name: "pull_request", Repository: "Codertocat/Hello-World", DefaultBranch: "master", PullRequest: pr("closed")}},
		{
			file: "push-payload.json", name: "push",
			want: &Event{Name: "push", Repository: "Codertocat/Hello-World", DefaultBranch: "master", Push: &PushEvent{
				Ref: "refs/tags/simple-tag", Before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", After: "0000000000000000000000000000000000000000",
				DefaultBranch: "master", Deleted: true}},
		},
		{
			file: "push-with-new-branch.payload.json", name: "push", toDefault: true,
			want: &Event{Name: "push", Repository: "Codertocat/Hello-World", DefaultBranch: "master", Push: &PushEvent{
				Ref: "refs/heads/master", Before: "0000000000000000000000000000000000000000", After: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
				DefaultBranch: "master", Created: true}},
		},
		{
			file: "workflow_dispatch-payload.json", name: "workflow_dispatch",
			want: &Event{Name: "workflow_dispatch", Repository: "octo-org/octo-repo", DefaultBranch: "master", Dispatch: &DispatchEvent{Ref: "refs/heads/master", Inputs: map[string]string{"name": "Mona the Octocat"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(eventsDir, tc.file)
			readPayload(t, tc.file) // skips when absent
			got, err := LoadEvent(Env{EventName: tc.name, EventPath: path})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
			if got.PullRequest != nil && got.PullRequest.Fork() {
				t.Error("a same-repository pull request counts as a fork")
			}
			if got.Push != nil && got.Push.ToDefaultBranch() != tc.toDefault {
				t.Errorf("ToDefaultBranch() = %v, want %v", got.Push.ToDefaultBranch(), tc.toDefault)
			}
		})
	}
}

func TestParsePullRequestVariants(t *testing.T) {
	base := string(readPayload(t, "pull_request-opened.payload.json"))
	tests := []struct {
		name       string
		edit       func(string) string
		wantFork   bool
		wantMerged bool
	}{
		{name: "fork", edit: func(s string) string {
			// the head repository is the first full_name in the payload
			return strings.Replace(s, `"full_name": "Codertocat/Hello-World"`, `"full_name": "forker/Hello-World"`, 1)
		}, wantFork: true},
		{name: "deleted fork", edit: func(s string) string {
			i := strings.Index(s, `"head": {`)
			j := strings.Index(s[i:], `"repo": {`) + i
			return s[:j] + `"repo": null, "old_repo": {` + s[j+len(`"repo": {`):]
		}, wantFork: true},
		{name: "merged", edit: func(s string) string { return strings.Replace(s, `"merged": false`, `"merged": true`, 1) }, wantMerged: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseEvent("pull_request", []byte(tc.edit(base)))
			if err != nil {
				t.Fatal(err)
			}
			if ev.PullRequest.Fork() != tc.wantFork || ev.PullRequest.Merged != tc.wantMerged {
				t.Errorf("fork=%v merged=%v, want %v %v (head repo %q)", ev.PullRequest.Fork(), ev.PullRequest.Merged, tc.wantFork, tc.wantMerged, ev.PullRequest.HeadRepo)
			}
		})
	}
}

func TestPushRefs(t *testing.T) {
	tests := []struct {
		push        PushEvent
		branch, tag string
		toDefault   bool
	}{
		{push: PushEvent{Ref: "refs/heads/main", DefaultBranch: "main"}, branch: "main", toDefault: true},
		{push: PushEvent{Ref: "refs/heads/feature", DefaultBranch: "main"}, branch: "feature"},
		{push: PushEvent{Ref: "refs/tags/main", DefaultBranch: "main"}, tag: "main"},
		{push: PushEvent{Ref: "refs/heads/main", DefaultBranch: "main", Deleted: true}, branch: "main"},
	}
	for _, tc := range tests {
		if tc.push.Branch() != tc.branch || tc.push.Tag() != tc.tag || tc.push.ToDefaultBranch() != tc.toDefault {
			t.Errorf("%+v: branch %q tag %q default %v; want %q %q %v", tc.push, tc.push.Branch(), tc.push.Tag(), tc.push.ToDefaultBranch(), tc.branch, tc.tag, tc.toDefault)
		}
	}
}

func TestParseEventErrors(t *testing.T) {
	tests := []struct {
		name, event, payload, want string
	}{
		{"not JSON", "push", "{", "parse push event"},
		{"pull request without its object", "pull_request", `{"action": "opened"}`, "no pull_request object"},
		{"pull request without number", "pull_request", `{"pull_request": {"head": {}}}`, "no number"},
		{"push without ref", "push", `{"after": "abc"}`, "no ref"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEvent(tc.event, []byte(tc.payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDispatchInputTypes(t *testing.T) {
	ev, err := ParseEvent("workflow_dispatch", []byte(`{"ref": "refs/heads/main", "inputs": {"command": "plan", "strict": true, "count": 3, "empty": ""}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"command": "plan", "strict": "true", "count": "3", "empty": ""}
	if diff := cmp.Diff(want, ev.Dispatch.Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
}

func TestOtherEventsParseWithoutDetails(t *testing.T) {
	ev, err := ParseEvent("schedule", []byte(`{"schedule": "0 0 * * *"}`))
	if err != nil || ev.PullRequest != nil || ev.Push != nil || ev.Dispatch != nil {
		t.Errorf("schedule event = %+v, %v", ev, err)
	}
}

func TestLoadEventErrors(t *testing.T) {
	if _, err := LoadEvent(Env{}); err == nil || !strings.Contains(err.Error(), "GITHUB_EVENT_NAME") {
		t.Errorf("no event name: %v", err)
	}
	if _, err := LoadEvent(Env{EventName: "push", EventPath: filepath.Join(t.TempDir(), "missing.json")}); err == nil {
		t.Error("a missing payload file was accepted")
	}
}

func TestReadEnv(t *testing.T) {
	vars := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "https://ghe.example.com/api/v3/", "GITHUB_SERVER_URL": "https://ghe.example.com",
		"GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "42", "GITHUB_SHA": "abc", "GITHUB_EVENT_NAME": "push",
		"GITHUB_REF": "refs/heads/main", "GITHUB_OUTPUT": "/o", "GITHUB_STEP_SUMMARY": "/s", "GITHUB_BASE_REF": "", "GITHUB_HEAD_REF": "",
	}
	e := ReadEnv(func(k string) string { return vars[k] })
	if !e.Actions || e.APIURL != "https://ghe.example.com/api/v3" || e.OutputPath != "/o" || e.SummaryPath != "/s" {
		t.Errorf("env = %+v", e)
	}
	if got := e.RunURL(); got != "https://ghe.example.com/acme/shop/actions/runs/42" {
		t.Errorf("RunURL() = %q", got)
	}
	if got := e.CommitURL("abc"); got != "https://ghe.example.com/acme/shop/commit/abc" {
		t.Errorf("CommitURL() = %q", got)
	}
	if o, r, err := e.OwnerRepo(); o != "acme" || r != "shop" || err != nil {
		t.Errorf("OwnerRepo() = %q %q %v", o, r, err)
	}

	local := ReadEnv(func(string) string { return "" })
	if local.Actions || local.APIURL != "https://api.github.com" || local.ServerURL != "https://github.com" || local.RunURL() != "" {
		t.Errorf("defaults = %+v", local)
	}
	for _, bad := range []string{"", "acme", "acme/", "/shop", "a/b/c"} {
		if _, _, err := (Env{Repository: bad}).OwnerRepo(); err == nil {
			t.Errorf("OwnerRepo accepted %q", bad)
		}
	}
}
