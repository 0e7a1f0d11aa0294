package image

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDockerClient guards the promise of building without a daemon: the
// package must not link a Docker client or go-containerregistry's daemon package.
func TestNoDockerClient(t *testing.T) {
	if testing.Short() {
		t.Skip("go list is slow; skipped with -short")
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, forbidden := range []string{"github.com/docker/docker/client", "github.com/moby/moby/client", "github.com/google/go-containerregistry/pkg/v1/daemon"} {
		for _, dep := range strings.Fields(string(out)) {
			if dep == forbidden {
				t.Errorf("internal/image depends on %s", forbidden)
			}
		}
	}
}
