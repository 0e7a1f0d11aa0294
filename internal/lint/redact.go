package lint

import (
	"cmp"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// envValues remembers the values ${VAR} references took from the
// environment, so that a finding about an interpolated field names the
// variable instead of printing its value, which may be a secret.
type envValues map[string]string // value → "${NAME}"

// recording wraps lookup so that every value it hands out is remembered.
func (e envValues) recording(lookup func(string) (string, bool)) func(string) (string, bool) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return func(name string) (string, bool) {
		v, ok := lookup(name)
		// The reserved variables take the application's and environment's
		// names, never the environment's value.
		reserved := name == workspace.VarAppName || name == workspace.VarEnvName
		if ok && !reserved && worthRedacting(v) {
			e[v] = "${" + name + "}"
			// A JSON list turns into one field per item.
			var items []string
			if json.Unmarshal([]byte(v), &items) == nil {
				for _, item := range items {
					if worthRedacting(item) {
						e[item] = "${" + name + "}"
					}
				}
			}
		}
		return v, ok
	}
}

// minRedacted is the shortest value redacted: shorter ones (a count of
// "2", "on") are no secret, and replacing them inside other words ("1024"
// for a value of "1") would garble every message.
const minRedacted = 4

func worthRedacting(v string) bool { return len(strings.TrimSpace(v)) >= minRedacted }

// redact replaces each remembered value in the findings' messages and
// fixes by its variable, in the raw form and in the escaped forms a message
// quotes values in (Go's %q, JSON).
func (e envValues) redact(ds diag.List) {
	if len(e) == 0 {
		return
	}
	type pair struct{ old, new string }
	var pairs []pair
	for v, name := range e {
		quoted, _ := json.Marshal(v)
		for _, form := range []string{v, strings.Trim(string(quoted), `"`), strings.Trim(strconv.Quote(v), `"`)} {
			pairs = append(pairs, pair{form, name})
		}
	}
	// Longest first, so a value holding another is replaced whole.
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Compare(len(b.old), len(a.old)) })
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p.old, p.new)
	}
	r := strings.NewReplacer(args...)
	for i := range ds {
		ds[i].Message = r.Replace(ds[i].Message)
		ds[i].Fix = r.Replace(ds[i].Fix)
	}
}
