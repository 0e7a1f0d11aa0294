package runner

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCommands(t *testing.T) {
	log := "::group::build\n#2 ::error::quoted\nx\r::warning::after a carriage return\r\n  ::notice::indented\n" +
		"::stop-commands::tok\n::add-mask::hidden\n::tok::\n::endgroup::"
	want := []string{"::group::build", "::warning::after a carriage return", "::notice::indented", "::endgroup::"}
	if diff := cmp.Diff(want, Commands(log)); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
}
