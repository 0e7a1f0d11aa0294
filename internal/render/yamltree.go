package render

import (
	"bytes"
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Templates are built as ordered yaml.Node trees, never by text templating,
// so output is byte-identical on every run and every value is escaped.

// kv builds a mapping from alternating keys and values. A nil value (or a
// nil *yaml.Node) drops the pair, which keeps optional properties terse.
func kv(pairs ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(pairs); i += 2 {
		v := val(pairs[i+1])
		if v == nil {
			continue
		}
		n.Content = append(n.Content, str(pairs[i].(string)), v)
	}
	return n
}

// set adds or replaces key in mapping m.
func set(m *yaml.Node, key string, v any) {
	node := val(v)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if node == nil {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
			} else {
				m.Content[i+1] = node
			}
			return
		}
	}
	if node != nil {
		m.Content = append(m.Content, str(key), node)
	}
}

// get returns the value under key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
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

// seq builds a sequence; nil items are dropped.
func seq(items ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, it := range items {
		if v := val(it); v != nil {
			n.Content = append(n.Content, v)
		}
	}
	return n
}

func val(v any) *yaml.Node {
	switch x := v.(type) {
	case nil:
		return nil
	case *yaml.Node:
		return x
	case string:
		return str(x)
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(x)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	case []string:
		s := seq()
		for _, e := range x {
			s.Content = append(s.Content, str(e))
		}
		return s
	default:
		panic(fmt.Sprintf("render: unsupported template value %T", v)) // programming error, never input-driven
	}
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// Short-form intrinsic functions, as Copilot writes them.
func ref(name string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Ref", Value: name} }
func sub(s string) *yaml.Node    { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Sub", Value: s} }
func getAtt(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!GetAtt", Value: s} }
func condition(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Condition", Value: s}
}

func fn(tag string, args ...any) *yaml.Node {
	n := seq(args...)
	if tag != "" {
		n.Tag = tag
	}
	n.Style = yaml.FlowStyle
	return n
}

func ifFn(cond string, yes, no any) *yaml.Node {
	n := fn("!If", cond, yes, no)
	n.Style = 0
	return n
}
func join(sep string, items *yaml.Node) *yaml.Node { return fn("!Join", sep, items) }
func equals(a, b any) *yaml.Node                   { return fn("!Equals", a, b) }
func not(a *yaml.Node) *yaml.Node                  { return fn("!Not", a) }
func noValue() *yaml.Node                          { return ref("AWS::NoValue") }

// importValue is Fn::ImportValue of an export name.
func importValue(name *yaml.Node) *yaml.Node { return kv("Fn::ImportValue", name) }

// getAttOutput is Fn::GetAtt of a nested stack output, in the long form
// Copilot uses for addons outputs.
func getAttOutput(stack, output string) *yaml.Node {
	return kv("Fn::GetAtt", fn("", stack, "Outputs."+output))
}

// tagList renders CloudFormation Tags from ordered key/value pairs.
func tagList(pairs ...any) *yaml.Node {
	s := seq()
	for i := 0; i+1 < len(pairs); i += 2 {
		s.Content = append(s.Content, kv("Key", pairs[i], "Value", pairs[i+1]))
	}
	return s
}

// literal is a multi-line string kept readable as a block scalar.
func literal(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.LiteralStyle}
}

// encode writes a document with two-space indentation.
func encode(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// deepCopy copies a node tree, dropping comments and aliases' identity.
func deepCopy(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = deepCopy(ch)
	}
	if n.Alias != nil {
		c.Alias = deepCopy(n.Alias)
	}
	return &c
}
