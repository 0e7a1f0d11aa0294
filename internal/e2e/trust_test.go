package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v93/github"

	fakegithub "github.com/autopilot-dev/autopilot/internal/fakes/github"
	"github.com/autopilot-dev/autopilot/internal/report"
)

// The attacks on the review-to-deploy chain (issue 10): each test replays
// one the way an attacker or a careless team would, and checks that it
// does no harm.

const (
	prodStack    = "shop-production"
	prodSvcStack = "shop-production-api"
	merge2SHA    = "5555555eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	mainSHA      = "6666666fffffffffffffffffffffffffffffffff" // main before the pull requests
)

// addEnv adds an environment to the world's workspace.
func (w *world) addEnv(t *testing.T, name string) {
	t.Helper()
	p := filepath.Join(w.ws, "copilot/environments", name, "manifest.yml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("name: "+name+"\ntype: Environment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setGreeting checks out a revision of the service that differs in one
// variable.
func (w *world) setGreeting(t *testing.T, greeting string) {
	t.Helper()
	p := filepath.Join(w.ws, "copilot/api/manifest.yml")
	re := regexp.MustCompile(`GREETING: .*`)
	if err := os.WriteFile(p, re.ReplaceAll([]byte(readFile(t, p)), []byte("GREETING: "+greeting)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// merge records pull request number (last head head) as merged into main
// by commit sha, which becomes main's head.
func (w *world) merge(number int, head, sha string) {
	merged := time.Now().UTC().Truncate(time.Second)
	w.gh.AddPullRequest(repo, fakegithub.PullRequest{Number: number, State: "closed", MergedAt: &merged, HeadSHA: head, BaseRef: "main"}, sha)
	w.gh.SetBranch(repo, "main", sha)
}

func prStep(number int, head, runID string, inputs map[string]string) step {
	return step{event: "pull_request", payload: "pull_request-opened.payload.json", set: prPayload(number, head, repo),
		sha: "f00dfeed00000000000000000000000000000" + runID, ref: "refs/pull/" + runID + "/merge", runID: runID, inputs: inputs}
}

func pushStep(sha, runID string, inputs map[string]string) step {
	return step{event: "push", payload: "push-with-new-branch.payload.json",
		set: map[string]any{"ref": "refs/heads/main", "after": sha, "created": false,
			"repository.full_name": repo, "repository.default_branch": "main"},
		sha: sha, ref: "refs/heads/main", runID: runID, inputs: inputs}
}

func dispatchStep(ref, sha, runID string, inputs map[string]string) step {
	return step{event: "workflow_dispatch", payload: "workflow_dispatch-payload.json",
		set: map[string]any{"ref": ref, "repository.full_name": repo, "repository.default_branch": "main"},
		sha: sha, ref: ref, runID: runID, inputs: inputs}
}

var reviewed = map[string]string{"require-reviewed-plan": "true"}

func mustExit(t *testing.T, r *result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\n%s\n%s", r.code, code, r.stderr, r.summary)
	}
}

// attacker is a collaborator with push access but no say over what
// deploys, talking to GitHub's API with their own token.
func attacker(t *testing.T, w *world) *gh.Client {
	t.Helper()
	w.gh.AddUser("mallory-token", "mallory")
	u := w.gh.URL() + "/"
	c, err := gh.NewClient(gh.WithAuthToken("mallory-token"), gh.WithURLs(&u, nil))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var fingerprintRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// TestReviewedPlanCannotBeForged: a deploy of something other than the
// reviewed plan is refused and its summary shows the new fingerprint.
// Whoever can comment, edit comments or set commit statuses then tries to
// make that fingerprint look reviewed; none of it makes the re-run deploy.
func TestReviewedPlanCannotBeForged(t *testing.T) {
	w := newWorld(t)
	mallory := attacker(t, w)
	ctx := context.Background()
	mustExit(t, w.run(t, prStep(7, headA, "201", nil)), 0)
	w.merge(7, headA, mergeSHA)

	// What reaches main differs from what was reviewed.
	w.setGreeting(t, "hijacked")
	r := w.run(t, pushStep(mergeSHA, "202", reviewed))
	mustExit(t, r, 1)
	forged := map[string]bool{}
	for _, fp := range fingerprintRE.FindAllString(r.summary+r.stderr, -1) {
		forged[fp] = true
	}
	for _, c := range w.gh.Comments(repo, 7) {
		fp, _ := report.ParseFingerprint(c.Body)
		delete(forged, fp)
	}
	if len(forged) == 0 {
		t.Fatalf("the refused deploy printed no new fingerprint to forge:\n%s", r.summary)
	}
	target := report.Target{App: "shop", Env: "test", Account: account, Region: "us-east-1"}
	forgedBody := target.Marker() + "\n"
	for fp := range forged {
		forgedBody += report.FingerprintLine(fp) + "\n"
	}
	executions := w.cfn.Count("ExecuteChangeSet")

	t.Run("a collaborator's comment with the marker", func(t *testing.T) {
		if _, _, err := mallory.Issues.CreateComment(ctx, "acme", "shop", 7, gh.IssueCommentRequest{Body: forgedBody + "LGTM"}); err != nil {
			t.Fatal(err)
		}
		r := w.run(t, pushStep(mergeSHA, "203", reviewed))
		mustExit(t, r, 1)
	})
	t.Run("the bot's own comment edited by a maintainer", func(t *testing.T) {
		for _, c := range w.gh.Comments(repo, 7) {
			if c.User.Login != "github-actions[bot]" {
				continue
			}
			if _, _, err := mallory.Issues.UpdateComment(ctx, "acme", "shop", c.ID, gh.IssueCommentRequest{Body: forgedBody + c.Body}); err != nil {
				t.Fatal(err)
			}
		}
		r := w.run(t, pushStep(mergeSHA, "204", reviewed))
		mustExit(t, r, 1)
	})
	t.Run("a commit status set by a collaborator", func(t *testing.T) {
		for _, st := range w.gh.Statuses(repo, headA) {
			for fp := range forged {
				if _, _, err := mallory.Repositories.CreateStatus(ctx, "acme", "shop", headA, gh.RepoStatus{
					State: gh.Ptr("success"), Context: gh.Ptr(st.Context), Description: gh.Ptr(fp)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		r := w.run(t, pushStep(mergeSHA, "205", reviewed))
		mustExit(t, r, 1)
	})
	t.Run("the pull request's plan re-run after the merge", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond) // GitHub's timestamps are in seconds
		mustExit(t, w.run(t, prStep(7, headA, "206", nil)), 0)
		r := w.run(t, pushStep(mergeSHA, "207", reviewed))
		mustExit(t, r, 1)
		if !strings.Contains(r.stderr, "after pull request #7 was merged") {
			t.Errorf("the log does not say the late plan was ignored:\n%s", r.stderr)
		}
	})
	if n := w.cfn.Count("ExecuteChangeSet"); n != executions {
		t.Errorf("%d change sets executed on forged reviews", n-executions)
	}
}

// TestDeployRefusesWhatChangedSinceReview: another deploy ran between
// review and merge, so the same templates now have another effect. The
// deploy refuses and names the stack and resource that differ.
func TestDeployRefusesWhatChangedSinceReview(t *testing.T) {
	w := newWorld(t)
	w.setGreeting(t, "hello from the pull request")
	mustExit(t, w.run(t, prStep(7, headA, "301", nil)), 0)

	// Meanwhile main, without the pull request, is deployed by hand.
	w.setGreeting(t, "hello")
	w.gh.SetBranch(repo, "main", mainSHA)
	mustExit(t, w.run(t, dispatchStep("refs/heads/main", mainSHA, "302", map[string]string{"command": "deploy"})), 0)
	executions := w.cfn.Count("ExecuteChangeSet")

	w.setGreeting(t, "hello from the pull request")
	w.merge(7, headA, mergeSHA)
	r := w.run(t, pushStep(mergeSHA, "303", reviewed))
	mustExit(t, r, 1)
	if n := w.cfn.Count("ExecuteChangeSet"); n != executions {
		t.Errorf("%d change sets executed against stacks that changed since review", n-executions)
	}
	for _, want := range []string{svcStack, "Service", "AWS::AppRunner::Service", "reviewed Add"} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("the summary does not name %q:\n%s", want, r.summary)
		}
	}
}

// TestNoRollbackByRerun: re-running an older merge's deploy would put
// production back to it; only an explicit allow-stale does that. A manual
// deploy from another branch is refused the same way.
func TestNoRollbackByRerun(t *testing.T) {
	w := newWorld(t)
	mustExit(t, w.run(t, prStep(7, headA, "401", nil)), 0)
	w.merge(7, headA, mergeSHA)
	mustExit(t, w.run(t, pushStep(mergeSHA, "402", reviewed)), 0)

	w.setGreeting(t, "hello, second release")
	mustExit(t, w.run(t, prStep(8, headB, "403", nil)), 0)
	w.merge(8, headB, merge2SHA)
	mustExit(t, w.run(t, pushStep(merge2SHA, "404", reviewed)), 0)
	executions := w.cfn.Count("ExecuteChangeSet")

	w.setGreeting(t, "hello") // the first merge's checkout
	t.Run("re-run of the first merge's deploy", func(t *testing.T) {
		r := w.run(t, pushStep(mergeSHA, "402", reviewed))
		mustExit(t, r, 1)
		if n := w.cfn.Count("ExecuteChangeSet"); n != executions {
			t.Fatalf("the re-run executed %d change sets: production rolled back", n-executions)
		}
		if !strings.Contains(r.summary, "no longer the head of main") || !strings.Contains(r.summary, "allow-stale") {
			t.Errorf("the summary does not say why and what to do:\n%s", r.summary)
		}
	})
	t.Run("manual deploy of another branch", func(t *testing.T) {
		r := w.run(t, dispatchStep("refs/heads/feature", headA, "405", map[string]string{"command": "deploy"}))
		mustExit(t, r, 2)
		if n := w.cfn.Count("ExecuteChangeSet"); n != executions {
			t.Fatalf("a deploy of branch feature executed %d change sets", n-executions)
		}
		if !strings.Contains(r.summary, "default branch") {
			t.Errorf("the summary does not say why:\n%s", r.summary)
		}
	})
	t.Run("deliberate rollback with allow-stale", func(t *testing.T) {
		r := w.run(t, pushStep(mergeSHA, "406", map[string]string{"allow-stale": "true"}))
		mustExit(t, r, 0)
		if n := w.cfn.Count("ExecuteChangeSet"); n == executions {
			t.Error("the rollback executed nothing")
		}
		if !strings.Contains(r.stderr, "allow-stale") {
			t.Error("the log does not say the stale deploy was allowed")
		}
	})
}

// TestDeployOfAnUnplannedEnvironmentSaysSo: the pull request's workflow
// planned test only; the merge deploys production. The deploy refuses and
// says the selections differ, instead of blaming a change.
func TestDeployOfAnUnplannedEnvironmentSaysSo(t *testing.T) {
	w := newWorld(t)
	w.addEnv(t, "production")
	mustExit(t, w.run(t, prStep(7, headA, "601", map[string]string{"environments": "test"})), 0)
	w.merge(7, headA, mergeSHA)
	r := w.run(t, pushStep(mergeSHA, "602", map[string]string{"require-reviewed-plan": "true", "environments": "production"}))
	mustExit(t, r, 1)
	if !strings.Contains(r.summary, "The selection differs: the pull request planned test, this deploy selects production") {
		t.Errorf("the summary does not say the selections differ:\n%s", r.summary)
	}
	if n := w.cfn.Count("ExecuteChangeSet"); n != 0 {
		t.Errorf("%d change sets executed", n)
	}
}
