package report

import (
	"os/exec"
	"strings"
	"testing"
)

// report formats; it must not reach GitHub itself (STYLE §6).
func TestReportDoesNotImportGitHub(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasSuffix(dep, "/internal/github") || strings.HasPrefix(dep, "github.com/google/go-github") {
			t.Errorf("internal/report depends on %s", dep)
		}
	}
}
