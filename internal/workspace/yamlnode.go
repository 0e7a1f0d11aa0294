package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// Limits that keep a hostile or broken file from costing unbounded time or
// memory. Real manifests are a few kilobytes, a dozen levels deep.
const (
	maxFileBytes = 4 << 20
	maxDepth     = 64
	maxNodes     = 200_000 // after expanding aliases
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses one YAML file into its top-level node (the document's
// content), checking size, encoding, duplicate keys, depth and alias
// expansion. Problems come back as findings with positions.
func parseYAML(path string, raw []byte) (*yaml.Node, diag.List) {
	bad := func(line int, rule, msg, fix string) diag.List {
		return diag.List{{File: path, Line: line, Column: 1, Severity: diag.Error, Rule: rule, Message: msg, Fix: fix}}
	}
	if len(raw) > maxFileBytes {
		return nil, bad(0, "file-too-large", fmt.Sprintf("file is larger than %d bytes, the most a manifest or addon template may be", maxFileBytes), "check that this is the file you meant; manifests are small YAML files")
	}
	if bytes.IndexByte(raw, 0) >= 0 || !utf8.Valid(raw) {
		return nil, bad(0, "not-text", "file is not UTF-8 text", "manifests and addon templates are YAML or JSON text files")
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, bad(1, "empty-file", "file is empty", "write the manifest, or delete the file")
		}
		line, msg := 1, err.Error()
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
			// yaml.v3 prints a parser error's 0-based context line: the
			// structure left open starts on the next line.
			if strings.HasPrefix(msg, "did not find expected") {
				line++
			}
		}
		return nil, bad(line, "yaml-syntax", "invalid YAML: "+msg, "fix the YAML syntax at this line (indentation, a missing colon or quote)")
	}
	if len(doc.Content) == 0 {
		return nil, bad(1, "empty-file", "file has no content", "write the manifest, or delete the file")
	}
	top := doc.Content[0]
	var ds diag.List
	budget := maxNodes
	if err := checkTree(top, 0, &budget, path, &ds); err != nil {
		return nil, append(ds, diag.Diagnostic{File: path, Line: err.line, Column: err.col, Severity: diag.Error, Rule: "yaml-limits", Message: err.msg, Fix: "simplify the document; manifests need neither deep nesting nor many aliases"})
	}
	return top, ds
}

type limitError struct {
	line, col int
	msg       string
}

// checkTree walks the tree as the decoder would see it (aliases expanded),
// enforcing the depth and node budget and reporting duplicate mapping keys.
func checkTree(n *yaml.Node, depth int, budget *int, path string, ds *diag.List) *limitError {
	if depth > maxDepth {
		return &limitError{n.Line, n.Column, fmt.Sprintf("nesting deeper than %d levels", maxDepth)}
	}
	*budget--
	if *budget < 0 {
		return &limitError{n.Line, n.Column, fmt.Sprintf("document expands to more than %d nodes (alias expansion)", maxNodes)}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil
		}
		return checkTree(n.Alias, depth+1, budget, path, ds)
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode {
				if first, dup := seen[k.Value]; dup {
					*ds = append(*ds, diag.Diagnostic{File: path, Line: k.Line, Column: k.Column, Severity: diag.Error, Rule: "duplicate-key",
						Message: fmt.Sprintf("key %q is already defined at line %d", k.Value, first.Line), Fix: "remove one of the two; YAML keeps only one"})
				} else {
					seen[k.Value] = k
				}
			}
			if err := checkTree(n.Content[i+1], depth+1, budget, path, ds); err != nil {
				return err
			}
		}
	default:
		for _, c := range n.Content {
			if err := checkTree(c, depth+1, budget, path, ds); err != nil {
				return err
			}
		}
	}
	return nil
}

// clone deep-copies a node tree, expanding aliases. The copy keeps every node's line and column. parseYAML has
// already bounded the expanded size.
func clone(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		c := clone(n.Alias)
		c.Line, c.Column = n.Line, n.Column
		c.Anchor = ""
		return c
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = clone(ch)
	}
	return &c
}

// Lookup walks a path of mapping keys from n (a mapping, or a document
// holding one) and returns the value there. Absent keys and null values
// both give nil: Copilot reads `key:` with no value as unset.
func Lookup(n *yaml.Node, path ...string) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, key := range path {
		if n = mapGet(n, key); n == nil {
			return nil
		}
	}
	if n != nil && n.ShortTag() == "!!null" {
		return nil
	}
	return n
}

// mapGet returns the value node of key in mapping m, or nil.
func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mapDelete removes key from mapping m.
func mapDelete(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// scalarString returns a scalar's value, or "" for anything else.
func scalarString(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}
