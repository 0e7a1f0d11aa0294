package cfn

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is the part of a CloudFormation template a diff needs.
type Template struct {
	Parameters map[string]Parameter
	Resources  map[string]Resource
	// Other holds the remaining top-level sections (Outputs, Conditions, ...)
	// so two templates can be compared as a whole.
	Other map[string]any
}

// Parameter is a template parameter declaration.
type Parameter struct {
	Type    string
	Default *string
	NoEcho  bool
}

// Resource is one resource declaration, intrinsic short forms expanded to
// their long form ("!Ref X" becomes {"Ref": "X"}).
type Resource struct {
	Type                string
	Properties          map[string]any
	Metadata            any
	DeletionPolicy      string
	UpdateReplacePolicy string
	Condition           string
	DependsOn           any
}

// Parse reads a JSON or YAML template. Scalars become strings so that 80 and
// "80" compare equal, as CloudFormation treats them.
func Parse(body []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("template is neither JSON nor YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("template is empty")
	}
	conv := &converter{budget: maxNodes}
	value := conv.value(doc.Content[0])
	if conv.budget < 0 {
		return nil, fmt.Errorf("template expands to more than %d values through YAML aliases", maxNodes)
	}
	root, ok := value.(map[string]any)
	if !ok {
		return nil, errors.New("template is not a mapping at the top level")
	}
	t := &Template{
		Parameters: map[string]Parameter{},
		Resources:  map[string]Resource{},
		Other:      map[string]any{},
	}
	for section, v := range root {
		switch section {
		case "Parameters":
			params, _ := v.(map[string]any)
			for name, decl := range params {
				m, _ := decl.(map[string]any)
				p := Parameter{Type: str(m["Type"]), NoEcho: strings.EqualFold(str(m["NoEcho"]), "true")}
				if d, ok := m["Default"]; ok {
					s := Display(d)
					p.Default = &s
				}
				t.Parameters[name] = p
			}
		case "Resources":
			resources, ok := v.(map[string]any)
			if !ok {
				return nil, errors.New("template format error: Resources must be a mapping")
			}
			for id, decl := range resources {
				m, ok := decl.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("template format error: resource %s must be a mapping", id)
				}
				props, _ := m["Properties"].(map[string]any)
				t.Resources[id] = Resource{
					Type:                str(m["Type"]),
					Properties:          props,
					Metadata:            m["Metadata"],
					DeletionPolicy:      str(m["DeletionPolicy"]),
					UpdateReplacePolicy: str(m["UpdateReplacePolicy"]),
					Condition:           str(m["Condition"]),
					DependsOn:           m["DependsOn"],
				}
			}
		default:
			t.Other[section] = v
		}
	}
	return t, nil
}

// Effective returns the parameter values a stack would run with: the given
// values over the template's defaults.
func (t *Template) Effective(given map[string]string) map[string]string {
	out := map[string]string{}
	if t != nil {
		for name, p := range t.Parameters {
			if p.Default != nil {
				out[name] = *p.Default
			}
		}
	}
	for k, v := range given {
		out[k] = v
	}
	return out
}

// NoEcho returns the names of the template's NoEcho parameters.
func (t *Template) NoEcho() map[string]bool {
	out := map[string]bool{}
	if t == nil {
		return out
	}
	for name, p := range t.Parameters {
		if p.NoEcho {
			out[name] = true
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// maxNodes bounds how many values a template may expand to, so that
// nested YAML aliases (a "billion laughs") cannot exhaust memory.
const maxNodes = 1 << 20

// converter turns YAML nodes into plain Go values, expanding
// CloudFormation short-form tags, within a budget of values.
type converter struct{ budget int }

func (c *converter) value(n *yaml.Node) any {
	c.budget--
	if c.budget < 0 {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return c.value(n.Content[0])
	case yaml.AliasNode:
		return c.value(n.Alias)
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return wrapTag(n.Tag, n.Value, true)
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			list = append(list, c.value(e))
		}
		return wrapTag(n.Tag, list, false)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = c.value(n.Content[i+1])
		}
		return wrapTag(n.Tag, m, false)
	}
	return nil
}

func wrapTag(tag string, v any, scalar bool) any {
	if !strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "!!") {
		return v
	}
	name := strings.TrimPrefix(tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}
	case "GetAtt":
		if s, ok := v.(string); ok && scalar {
			resource, attr, _ := strings.Cut(s, ".")
			return map[string]any{"Fn::GetAtt": []any{resource, attr}}
		}
	}
	return map[string]any{"Fn::" + name: v}
}

// Display renders a value the way change sets show property values: strings
// as they are, anything else as compact JSON with sorted keys.
func Display(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Equal reports whether two parsed values are the same.
func Equal(a, b any) bool { return Display(a) == Display(b) && sameKind(a, b) }

func sameKind(a, b any) bool {
	_, as := a.(string)
	_, bs := b.(string)
	return as == bs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
