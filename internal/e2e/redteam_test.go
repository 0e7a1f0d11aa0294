package e2e

import (
	"path/filepath"
	"strings"
	"testing"

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
