package chroot

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/fakes/runner"
)

// TestRunOutputCannotForgeWorkflowCommands prints workflow commands from
// RUN steps, plainly, after a carriage return and in the output of a failing
// step, which reaches the log again in the build's error.
func TestRunOutputCannotForgeWorkflowCommands(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	forge := `printf '::set-output name=image::evil\n::add-mask::autopilot\nprogress\r::error::forged after a carriage return\n  ::warning::indented\n::stop-commands::guess\n::endgroup::\n'`
	n := 0
	guard := func() (string, string, error) {
		n++
		tok := fmt.Sprintf("token%d", n)
		return "::stop-commands::" + tok + "\n", "::" + tok + "::\n", nil
	}
	for _, tc := range []struct {
		name  string
		guard func() (string, string, error)
	}{
		{"without a guard", nil},
		{"with stop-commands", guard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			var log bytes.Buffer
			opts := []Option{WithLog(&log)}
			if tc.guard != nil {
				opts = append(opts, WithOutputGuard(tc.guard))
			}
			r := newRunner(t, cache, opts...)
			_, err := buildWith(t, writeContext(t, "FROM busybox\nRUN "+forge+"\nRUN "+forge+"; exit 1\n", nil), base, cache, r, nil)
			if err == nil {
				t.Fatal("the failing step did not fail the build")
			}
			all := log.String() + "\n" + err.Error() + "\n"
			if cmds := runner.Commands(all); len(cmds) > 0 {
				t.Errorf("the runner would run %q from:\n%s", cmds, all)
			}
			if !strings.Contains(log.String(), "forged after a carriage return") {
				t.Errorf("the text after the carriage return was lost:\n%s", log.String())
			}
			if tc.guard != nil && !strings.Contains(log.String(), "::stop-commands::token1\n#2 ::set-output") {
				t.Errorf("the step's output is not inside stop-commands:\n%s", log.String())
			}
		})
	}
}
