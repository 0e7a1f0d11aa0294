package lint

import (
	"os"
	"regexp"
	"testing"
)

// Every rule id lint can report has a description, so SARIF output and
// code scanning explain each finding.
func TestEveryRuleIsDescribed(t *testing.T) {
	for _, r := range rules {
		if ruleHelp[r.id] == "" {
			t.Errorf("rule %q has no entry in ruleHelp", r.id)
		}
	}
	// Ids written as literals in the engine, the workspace loader and the
	// addon checks.
	literal := regexp.MustCompile(`(?:Rule: +|add\([^,]+, |addKey\([^,]+, |bad\([^,]+, )"([a-z0-9/-]+)"`)
	found := 0
	for _, file := range []string{"lint.go", "schema.go", "addons.go", "../workspace/yamlnode.go", "../workspace/load.go",
		"../workspace/interpolate.go", "../workspace/override.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
			found++
			if ruleHelp[m[1]] == "" {
				t.Errorf("%s reports rule %q, which has no entry in ruleHelp", file, m[1])
			}
		}
	}
	if found < 20 {
		t.Errorf("found only %d rule ids in the sources; the pattern no longer matches how rules are reported", found)
	}
}
