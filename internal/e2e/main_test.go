package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the autopilot binary TestMain builds, the one the action image
// ships.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	flag.Parse()
	// The tests wait on the binary's poll delays far more than they
	// compute: run more at once than there are cores, unless -parallel says.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		flag.Set("test.parallel", "8")
	}
	if testing.Short() {
		fmt.Fprintln(os.Stderr, "e2e: -short: skipping the end-to-end tests")
		return 0
	}
	dir, err := os.MkdirTemp("", "autopilot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "autopilot")
	// Built as the release workflow builds it (static, stripped), so the
	// release recipe test packs this same binary.
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", binary, "../../cmd/autopilot")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build autopilot: %v\n", err)
		return 1
	}
	return m.Run()
}
