package workspace

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// The reserved variables Copilot defines for every manifest.
const (
	VarAppName = "COPILOT_APPLICATION_NAME"
	VarEnvName = "COPILOT_ENVIRONMENT_NAME"
)

// varRef matches ${NAME} and its escaped form \${NAME}; Copilot recognises
// only the braced form.
var varRef = regexp.MustCompile(`(\\?)\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}`)

// interpolate substitutes ${VAR} in every string scalar value of the tree
// (never in keys), as Copilot does before decoding. A value that becomes a
// JSON array of strings turns into a YAML sequence, unless it was written as
// a literal block. Findings carry the referencing node's position.
func interpolate(n *yaml.Node, vars Vars, path string, ds *diag.List) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			interpolate(n.Content[i], vars, path, ds)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			interpolate(c, vars, path, ds)
		}
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" || !strings.Contains(n.Value, "${") {
			return
		}
		out := substitute(n, vars, path, ds)
		var list []string
		if err := json.Unmarshal([]byte(out), &list); err == nil && len(list) > 0 && n.Style != yaml.LiteralStyle {
			seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column}
			for _, v := range list {
				item := &yaml.Node{Kind: yaml.ScalarNode, Value: v, Line: n.Line, Column: n.Column}
				// Copilot re-parses the document, so each item takes the
				// tag its plain text resolves to (a "3" becomes an int).
				item.Tag = item.ShortTag()
				seq.Content = append(seq.Content, item)
			}
			*n = *seq
			return
		}
		// The value keeps its string tag: Copilot re-encodes it quoted, so
		// `port: ${PORT}` stays the string "80" and fails as Copilot fails.
		n.Value = out
		n.Tag = "!!str"
	}
}

func substitute(n *yaml.Node, vars Vars, path string, ds *diag.List) string {
	lookup := vars.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	reserved := map[string]string{VarAppName: vars.App, VarEnvName: vars.Env}
	return varRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		escaped, name := m[1] == `\`, m[2]
		if escaped {
			return ref[1:]
		}
		osVal, inOS := lookup(name)
		if want, ok := reserved[name]; ok {
			if inOS && osVal != want && want != "" {
				*ds = append(*ds, diag.Diagnostic{File: path, Line: n.Line, Column: n.Column, Severity: diag.Error, Rule: "reserved-variable",
					Message: fmt.Sprintf("predefined variable %s cannot be overridden: the job's environment sets it to another value than %q", name, want),
					Fix:     fmt.Sprintf("unset %s in the job's environment", name)})
			}
			if want != "" {
				return want
			}
		}
		if inOS {
			return osVal
		}
		sev, fix := diag.Warning, fmt.Sprintf("set %s in the deploy job's environment; lint leaves the reference as written", name)
		if vars.Strict {
			sev, fix = diag.Error, fmt.Sprintf("set %s in the job's environment before deploying", name)
		}
		*ds = append(*ds, diag.Diagnostic{File: path, Line: n.Line, Column: n.Column, Severity: sev, Rule: "undefined-variable",
			Message: fmt.Sprintf("environment variable %s is not defined", name), Fix: fix})
		return ref
	})
}
