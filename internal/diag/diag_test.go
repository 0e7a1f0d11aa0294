package diag

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSeverityJSONRoundTrip(t *testing.T) {
	in := Diagnostic{File: "m.yml", Line: 3, Column: 5, Severity: Warning, Rule: "unknown-key", Message: "m"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"severity":"warning"`) {
		t.Errorf("severity not written as a word: %s", b)
	}
	var out Diagnostic
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
	if err := json.Unmarshal([]byte(`{"severity":"fatal"}`), &out); err == nil {
		t.Error("an unknown severity must be refused")
	}
}

func TestSortAndDedupMakeOutputStable(t *testing.T) {
	l := List{
		{File: "b.yml", Line: 1, Rule: "r", Message: "x"},
		{File: "a.yml", Line: 9, Rule: "r", Message: "x", Env: "prod"},
		{File: "a.yml", Line: 2, Rule: "r", Message: "x"},
		{File: "a.yml", Line: 9, Rule: "r", Message: "x", Env: "test"},
	}
	l.Sort()
	var got []string
	for _, d := range l.Dedup() {
		got = append(got, d.File+":"+d.Env)
	}
	if diff := cmp.Diff([]string{"a.yml:", "a.yml:prod", "b.yml:"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFailureNamesTheOnlyError(t *testing.T) {
	one := &Failure{Op: "render", Diags: List{{File: "m.yml", Line: 4, Column: 3, Severity: Error, Rule: "schema/type", Message: "bad"}, {Severity: Warning}}}
	if got := one.Error(); !strings.Contains(got, "m.yml:4:3") || !strings.Contains(got, "bad") {
		t.Errorf("Error() = %q, want the finding with its position", got)
	}
	many := &Failure{Op: "lint", Diags: List{{Severity: Error}, {Severity: Error}}}
	if got := many.Error(); got != "lint: 2 errors" {
		t.Errorf("Error() = %q", got)
	}
}
