package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	fakegithub "github.com/autopilot-dev/autopilot/internal/fakes/github"
	"github.com/autopilot-dev/autopilot/internal/report"
)

const testRepo = "acme/shop"

func newFakeClient(t *testing.T, opts ...fakegithub.Option) (*fakegithub.Server, *Client) {
	t.Helper()
	fake := fakegithub.New(opts...)
	t.Cleanup(fake.Close)
	c, err := NewClient(fake.Token(), testRepo, WithAPIURL(fake.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

func planBody(run int) (marker, body string) {
	target := report.Target{App: "shop", Env: "prod", Account: "123456789012", Region: "eu-west-1"}
	marker = target.Marker()
	return marker, marker + "\n" + report.FingerprintLine(fmt.Sprintf("sha256:%d", run)) + "\n### plan, run " + fmt.Sprint(run) + "\n"
}

func TestUpsertCommentAcrossThreeRuns(t *testing.T) {
	for _, prefix := range []string{"", "/api/v3"} {
		t.Run("prefix "+prefix, func(t *testing.T) {
			fake, c := newFakeClient(t, fakegithub.WithPathPrefix(prefix))
			fake.AddComment(testRepo, 7, "octocat", "LGTM")
			var urls []string
			for run := 1; run <= 3; run++ {
				marker, body := planBody(run)
				url, err := c.UpsertComment(context.Background(), 7, marker, body)
				if err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
				urls = append(urls, url)
			}
			comments := fake.Comments(testRepo, 7)
			if len(comments) != 2 {
				t.Fatalf("%d comments, want the user's and one sticky comment", len(comments))
			}
			_, last := planBody(3)
			if comments[1].Body != last || comments[0].Body != "LGTM" {
				t.Errorf("comments = %+v", comments)
			}
			if urls[0] != urls[2] || !strings.Contains(urls[0], "#issuecomment-") {
				t.Errorf("URLs %v: want the same comment every run", urls)
			}
			var calls []string
			for _, r := range fake.Requests() {
				calls = append(calls, r.Method+" "+r.Path)
				if !r.Authorized {
					t.Errorf("%s %s went without the token", r.Method, r.Path)
				}
				if !strings.HasPrefix(r.Path, prefix+"/repos/acme/shop/") {
					t.Errorf("%s: want the API under %q", r.Path, prefix)
				}
				if r.Method == http.MethodGet && r.Query.Get("per_page") != "100" {
					t.Errorf("listing with per_page=%q, want 100", r.Query.Get("per_page"))
				}
			}
			id := comments[1].ID
			want := []string{
				"GET " + prefix + "/repos/acme/shop/issues/7/comments",
				"POST " + prefix + "/repos/acme/shop/issues/7/comments",
				"GET " + prefix + "/repos/acme/shop/issues/7/comments",
				fmt.Sprintf("PATCH %s/repos/acme/shop/issues/comments/%d", prefix, id),
				"GET " + prefix + "/repos/acme/shop/issues/7/comments",
				fmt.Sprintf("PATCH %s/repos/acme/shop/issues/comments/%d", prefix, id),
			}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Errorf("API calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpsertUnchangedBodyIsNotRewritten(t *testing.T) {
	fake, c := newFakeClient(t)
	marker, body := planBody(1)
	for range 2 {
		if _, err := c.UpsertComment(context.Background(), 3, marker, body); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPatch {
			t.Errorf("an identical body was written again: %s %s", r.Method, r.Path)
		}
	}
}

func TestUpsertFindsMarkerOnALaterPage(t *testing.T) {
	fake, c := newFakeClient(t)
	marker, old := planBody(1)
	fake.AddComment(testRepo, 9, "reviewer", "> "+marker+"\n> quoted, not ours")
	for i := range 230 {
		fake.AddComment(testRepo, 9, "octocat", fmt.Sprintf("comment %d", i))
	}
	fake.AddComment(testRepo, 9, "github-actions[bot]", old)
	for i := range 20 {
		fake.AddComment(testRepo, 9, "octocat", fmt.Sprintf("later %d", i))
	}
	_, body := planBody(2)
	if _, err := c.UpsertComment(context.Background(), 9, marker, body); err != nil {
		t.Fatal(err)
	}
	comments := fake.Comments(testRepo, 9)
	if len(comments) != 252 {
		t.Fatalf("%d comments, want 252: a new one was created instead of updating", len(comments))
	}
	if comments[231].Body != body || !strings.HasPrefix(comments[0].Body, "> ") {
		t.Errorf("updated the wrong comment: #231 = %q, #0 = %q", comments[231].Body, comments[0].Body)
	}
	var pages []string
	for _, r := range fake.Requests() {
		if r.Method == http.MethodGet {
			pages = append(pages, r.Query.Get("page"))
		}
	}
	if diff := cmp.Diff([]string{"", "2", "3"}, pages); diff != "" {
		t.Errorf("pages read (-want +got):\n%s", diff)
	}

	got, found, err := c.FindComment(context.Background(), 9, marker)
	if err != nil || !found {
		t.Fatalf("FindComment = %v, %v", found, err)
	}
	if fp, ok := report.ParseFingerprint(got); !ok || fp != "sha256:2" {
		t.Errorf("fingerprint read back = %q, %v", fp, ok)
	}
}

func TestUpsertAddsMissingMarker(t *testing.T) {
	fake, c := newFakeClient(t)
	if _, err := c.UpsertComment(context.Background(), 1, "<!-- m -->", "body"); err != nil {
		t.Fatal(err)
	}
	if got := fake.Comments(testRepo, 1)[0].Body; got != "<!-- m -->\nbody" {
		t.Errorf("body = %q", got)
	}
}

func TestFindCommentAbsent(t *testing.T) {
	fake, c := newFakeClient(t)
	fake.AddComment(testRepo, 4, "octocat", "hello")
	if body, found, err := c.FindComment(context.Background(), 4, "<!-- autopilot:plan app=x env=y account= region= -->"); found || err != nil || body != "" {
		t.Errorf("FindComment = %q, %v, %v", body, found, err)
	}
}

func TestCommentErrorsSayWhatToDo(t *testing.T) {
	marker, body := planBody(1)
	tests := []struct {
		name  string
		setup func(*fakegithub.Server)
		token string
		want  string
	}{
		{name: "read-only token", setup: func(f *fakegithub.Server) {
			f.FailNext(http.MethodPost, http.StatusForbidden, "Resource not accessible by integration")
		}, want: "pull-requests: write"},
		{name: "bad token", token: "wrong", want: "token was refused"},
		{name: "listing fails", setup: func(f *fakegithub.Server) { f.FailNext(http.MethodGet, http.StatusInternalServerError, "boom") }, want: "list comments of pull request #5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakegithub.New()
			defer fake.Close()
			if tc.setup != nil {
				tc.setup(fake)
			}
			token := fake.Token()
			if tc.token != "" {
				token = tc.token
			}
			c, err := NewClient(token, testRepo, WithAPIURL(fake.URL()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.UpsertComment(context.Background(), 5, marker, body)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error shows the token: %v", err)
			}
			if n := len(fake.Comments(testRepo, 5)); n != 0 {
				t.Errorf("%d comments created despite the failure", n)
			}
		})
	}
}

func TestUpsertRejectsBadInput(t *testing.T) {
	fake, c := newFakeClient(t)
	tests := []struct {
		name, marker, body string
		pr                 int
	}{
		{"no pull request", "<!-- m -->", "b", 0},
		{"empty marker", "", "b", 1},
		{"multi-line marker", "<!-- a\nb -->", "b", 1},
		{"body over the limit", "<!-- m -->", strings.Repeat("é", MaxCommentBody), 1},
	}
	for _, tc := range tests {
		if _, err := c.UpsertComment(context.Background(), tc.pr, tc.marker, tc.body); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d requests sent for bad input", n)
	}
}

func TestNewClientChecks(t *testing.T) {
	if _, err := NewClient("", testRepo); err == nil || !strings.Contains(err.Error(), "github-token") {
		t.Errorf("no token: %v", err)
	}
	if _, err := NewClient("t", "noslash"); err == nil {
		t.Error("a bad repository was accepted")
	}
	if _, err := NewClient("t", testRepo, WithAPIURL("ftp://x")); err == nil {
		t.Error("a non-HTTP API URL was accepted")
	}
}

func TestMergedPullRequest(t *testing.T) {
	fake, c := newFakeClient(t)
	merged := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	fake.AddPullRequest(testRepo, fakegithub.PullRequest{Number: 11, State: "open", HeadSHA: "aaa"}, "squash1")
	fake.AddPullRequest(testRepo, fakegithub.PullRequest{Number: 12, State: "closed", MergedAt: &merged, HeadSHA: "bbb"}, "squash1")
	tests := []struct {
		sha   string
		want  int
		found bool
	}{
		{"squash1", 12, true},
		{"aaa", 0, false},
		{"unknown", 0, false},
	}
	for _, tc := range tests {
		pr, found, err := c.FindMergedPullRequest(context.Background(), tc.sha)
		if err != nil || pr.Number != tc.want || found != tc.found {
			t.Errorf("FindMergedPullRequest(%s) = %+v, %v, %v; want #%d, %v", tc.sha, pr, found, err, tc.want, tc.found)
		}
		if found && (pr.HeadSHA != "bbb" || !pr.MergedAt.Equal(merged)) {
			t.Errorf("FindMergedPullRequest(%s) = %+v, want head bbb merged at %s", tc.sha, pr, merged)
		}
	}
	for _, r := range fake.Requests() {
		if !strings.HasPrefix(r.Path, "/repos/acme/shop/commits/") || !strings.HasSuffix(r.Path, "/pulls") {
			t.Errorf("unexpected call %s %s", r.Method, r.Path)
		}
	}
}

func TestFilePublisher(t *testing.T) {
	p := &FilePublisher{Dir: t.TempDir()}
	ctx := context.Background()
	marker, body1 := planBody(1)
	_, body2 := planBody(2)
	other := report.Target{App: "shop", Env: "test"}.Marker()
	path1, err := p.UpsertComment(ctx, 3, marker, body1)
	if err != nil {
		t.Fatal(err)
	}
	path2, err := p.UpsertComment(ctx, 3, marker, body2)
	if err != nil {
		t.Fatal(err)
	}
	if path1 != path2 {
		t.Errorf("the same marker went to %s and %s", path1, path2)
	}
	if _, err := p.UpsertComment(ctx, 3, other, "x"); err != nil {
		t.Fatal(err)
	}
	got, found, err := p.FindComment(ctx, 3, marker)
	if err != nil || !found || got != body2 {
		t.Errorf("FindComment = %q, %v, %v; want the second body", got, found, err)
	}
	if _, found, _ := p.FindComment(ctx, 4, marker); found {
		t.Error("found a comment of another pull request")
	}
}
