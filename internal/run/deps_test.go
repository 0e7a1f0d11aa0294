package run

import (
	"os/exec"
	"strings"
	"testing"
)

// The core runs in any CI: no stage package, and not the orchestrator,
// depends on the GitHub adapter or go-github.
func TestCoreDoesNotDependOnGitHub(t *testing.T) {
	if testing.Short() {
		t.Skip("lists package dependencies with the go command")
	}
	for _, pkg := range []string{"workspace", "lint", "render", "image", "image/chroot", "deploy", "report", "run"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/autopilot-dev/autopilot/internal/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == "github.com/autopilot-dev/autopilot/internal/github" || strings.HasPrefix(dep, "github.com/google/go-github/") {
				t.Errorf("internal/%s depends on %s; GitHub-specific code belongs in internal/github", pkg, dep)
			}
		}
	}
}
