package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fakegithub "github.com/autopilot-dev/autopilot/internal/fakes/github"
	"github.com/autopilot-dev/autopilot/internal/fakes/runner"
)

// TestActionErrorsIssueNoWorkflowCommands: a pull request's Dockerfile
// names a COPY source holding a newline and a workflow command (JSON form
// allows "\n"). The build fails and says which source is missing; the
// runner must not read the rest as a command of its own.
func TestActionErrorsIssueNoWorkflowCommands(t *testing.T) {
	w := newWorld(t)
	writeFileT(t, filepath.Join(w.ws, "api/Dockerfile"), "FROM busybox\n"+
		`COPY ["missing\n::warning::forged by a Dockerfile\r::add-mask::autopilot", "/srv/"]`+"\n")
	r := w.run(t, step{event: "pull_request", payload: "pull_request-opened.payload.json",
		set: prPayload(13, headA, repo), sha: "f00dfeed00000000000000000000000000000013", ref: "refs/pull/13/merge", runID: "313"})
	if r.code == 0 {
		t.Fatalf("exit 0 with a missing COPY source\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "forged by a Dockerfile") {
		t.Fatalf("the log does not say which source is missing:\n%s", r.stderr)
	}
	for _, log := range []string{r.stdout, r.stderr} {
		if cmds := runner.Commands(log); len(cmds) > 0 {
			for _, c := range cmds {
				if strings.Contains(c, "forged") || strings.HasPrefix(c, "::add-mask::autopilot") {
					t.Errorf("the runner would run %q:\n%s", c, log)
				}
			}
		}
	}
}

// TestPullRequestStoresNothingInTheLayerCache: a shared RUN layer cache
// (cache-repo, here a registry outside ECR) is keyed by the parent image and
// the instruction, not by what a cache mount held. A pull request's
// Dockerfile fills a cache mount first, so a step identical to main's
// stores a layer of its choosing under main's key; the next build on main
// would take it from the cache into the image it deploys. A pull request
// may read the cache, never write it.
func TestPullRequestStoresNothingInTheLayerCache(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("RUN needs root, as in the action's container")
	}
	w := newWorld(t)
	w.base = "busybox=oci:" + busyboxImage(t)
	writeFileT(t, filepath.Join(w.ws, "api/Dockerfile"), "FROM busybox\n"+
		"RUN --mount=type=cache,id=shared,target=/c echo poisoned > /c/x\n"+
		"RUN --mount=type=cache,id=shared,target=/c cp /c/x /x 2>/dev/null || echo clean > /x\n")
	dockerConfig := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(w.reg.Username + ":" + w.reg.Password))
	writeFileT(t, filepath.Join(dockerConfig, "config.json"), `{"auths":{"`+w.reg.Host+`":{"auth":"`+auth+`"}}}`)
	before := w.reg.BlobUploads()
	r := w.run(t, step{event: "pull_request", payload: "pull_request-opened.payload.json",
		set: prPayload(14, headA, repo), sha: "f00dfeed00000000000000000000000000000014", ref: "refs/pull/14/merge", runID: "314",
		inputs: map[string]string{"cache-repo": w.reg.Host + "/shop/cache", "cache-dir": t.TempDir()},
		env:    map[string]string{"DOCKER_CONFIG": dockerConfig}})
	mustExit(t, r, 0)
	if !strings.Contains(r.stderr, "DONE") {
		t.Fatalf("the RUN steps did not run:\n%s", r.stderr)
	}
	if n := w.reg.BlobUploads() - before; n != 0 {
		t.Errorf("the pull request stored %d blobs in the layer cache that main's builds read:\n%s", n, r.stderr)
	}
}

// TestClosedPullRequestDoesNotDeploy: a pull request is planned, then closed
// without merging; its head commit lands on main by another way (a direct
// push past branch protection). Its plan statuses are autopilot's own and
// match, but no merged pull request reviewed the commit.
func TestClosedPullRequestDoesNotDeploy(t *testing.T) {
	w := newWorld(t)
	mustExit(t, w.run(t, prStep(9, headA, "501", nil)), 0)
	w.gh.AddPullRequest(repo, fakegithub.PullRequest{Number: 9, State: "closed", HeadSHA: headA, BaseRef: "main"}, headA)
	w.gh.SetBranch(repo, "main", headA)
	r := w.run(t, pushStep(headA, "502", reviewed))
	mustExit(t, r, 1)
	if n := w.cfn.Count("ExecuteChangeSet"); n != 0 {
		t.Errorf("%d change sets executed for a commit no merged pull request brought in", n)
	}
	if !strings.Contains(r.summary, "did not come from a merged pull request") {
		t.Errorf("the summary does not say why:\n%s", r.summary)
	}
}

// TestMergeDuringDeployExecutesNothing: a workflow without the
// concurrency group; while the first merge's deploy builds, a second merge
// lands. The older deploy must not execute over the newer one.
func TestMergeDuringDeployExecutesNothing(t *testing.T) {
	w := newWorld(t)
	mustExit(t, w.run(t, prStep(7, headA, "601", nil)), 0)
	w.merge(7, headA, mergeSHA)
	done := make(chan *result)
	go func() { done <- w.run(t, pushStep(mergeSHA, "602", nil)) }()
	branchReads := func() int {
		n := 0
		for _, r := range w.gh.Requests() {
			if r.Method == "GET" && strings.HasSuffix(r.Path, "/branches/main") {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for branchReads() == 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	select {
	case r := <-done:
		t.Skipf("the deploy ended before the second merge could land:\n%s", r.stderr)
	default:
	}
	w.gh.SetBranch(repo, "main", merge2SHA) // the second merge, while the first deploy builds
	r := <-done
	mustExit(t, r, 1)
	if n := w.cfn.Count("ExecuteChangeSet"); n != 0 {
		t.Errorf("the older deploy executed %d change sets after a newer merge", n)
	}
	if !strings.Contains(r.stderr, "moved to "+merge2SHA[:7]) {
		t.Errorf("the log does not say why:\n%s", r.stderr)
	}
}
