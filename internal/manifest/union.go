package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/shlex"
	"gopkg.in/yaml.v3"
)

// Union forms: fields a manifest may write in more than one shape. Each
// decodes itself; a shape it cannot read is a decoding error naming the
// line, as the schema would have reported first.

// Variable is a scalar value or {from_cfn: export}.
type Variable struct {
	Value   string
	FromCFN *string
}

func (v *Variable) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m struct {
			FromCFN *string `yaml:"from_cfn"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		if m.FromCFN == nil {
			return valueErrorf("line %d: a variable given as a map needs from_cfn", n.Line)
		}
		v.FromCFN = m.FromCFN
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return valueErrorf("line %d: a variable must be a scalar or {from_cfn: export}", n.Line)
	}
	v.Value = n.Value
	return nil
}

// Secret is an SSM parameter name or ARN, {secretsmanager: name} or
// {from_cfn: export}.
type Secret struct {
	Plain          string
	SecretsManager *string
	FromCFN        *string
}

func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m struct {
			SecretsManager *string `yaml:"secretsmanager"`
			FromCFN        *string `yaml:"from_cfn"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		if (m.SecretsManager == nil) == (m.FromCFN == nil) {
			return valueErrorf("line %d: a secret given as a map needs exactly one of secretsmanager and from_cfn", n.Line)
		}
		s.SecretsManager, s.FromCFN = m.SecretsManager, m.FromCFN
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return valueErrorf("line %d: a secret must be a string, {secretsmanager: name} or {from_cfn: export}", n.Line)
	}
	s.Plain = n.Value
	return nil
}

// StringOrList is a command or entrypoint: a list, or a string split into
// words with shell quoting rules by the splitter Copilot uses
// (github.com/google/shlex), so `python -c "print('hi')"` is three words;
// quotes group and are dropped, a backslash escapes, `#` starts a comment.
type StringOrList []string

// SplitWords splits a command written as a string into its words.
func SplitWords(s string) ([]string, error) { return shlex.Split(s) }

func (s *StringOrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		words, err := SplitWords(n.Value)
		if err != nil {
			return valueErrorf("line %d: split %q into words with shell quoting rules: %v; close the quote, or write the words as a list", n.Line, n.Value, err)
		}
		*s = words
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// OneOrList is a string or a list of strings, a string taken whole (a
// Static Site's exclude and reinclude patterns).
type OneOrList []string

func (s *OneOrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// Duration is a Go duration string such as 30s or 1h.
func parseDuration(n *yaml.Node, what string, s *string) (*time.Duration, error) {
	if s == nil {
		return nil, nil
	}
	d, err := time.ParseDuration(*s)
	if err != nil {
		return nil, valueErrorf("line %d: %s %q is not a duration such as 10s", n.Line, what, *s)
	}
	return &d, nil
}

// AppRunnerHealthCheck is an RDWS http.healthcheck: a path or a map, read
// as a target group's health check is.
type AppRunnerHealthCheck struct {
	TargetHealthCheck
	// Set: Copilot renders a health check for any non-empty value.
	Set bool
}

func (h *AppRunnerHealthCheck) UnmarshalYAML(n *yaml.Node) error {
	h.Set = n.Kind == yaml.ScalarNode && n.Value != "" || n.Kind == yaml.MappingNode && len(n.Content) > 0
	return h.TargetHealthCheck.UnmarshalYAML(n)
}

// PrivateHTTP is `private: true` or `private: {endpoint: vpce-id}`.
type PrivateHTTP struct {
	Section  `yaml:"-"`
	Enabled  bool
	Endpoint *string
}

func (p *PrivateHTTP) UnmarshalYAML(n *yaml.Node) error {
	p.Section = newSection(n)
	if n.Kind == yaml.MappingNode {
		var m struct {
			Endpoint *string `yaml:"endpoint"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		p.Endpoint = m.Endpoint
		p.Enabled = m.Endpoint != nil
		return nil
	}
	return n.Decode(&p.Enabled)
}

// FIFO is `fifo: true` or `fifo: {content_based_deduplication: bool}`.
type FIFO struct {
	Enabled                   bool
	ContentBasedDeduplication *bool
}

func (f *FIFO) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m struct {
			CBD *bool `yaml:"content_based_deduplication"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		f.Enabled, f.ContentBasedDeduplication = true, m.CBD
		return nil
	}
	return n.Decode(&f.Enabled)
}

// Placement is `public`/`private` or {subnets: [ids] | {from_tags: ...}}.
type Placement struct {
	Pos       Pos
	Set       bool
	Kind      string // "public", "private" or "" for the subnets form
	SubnetIDs []string
	// FromTags selects subnets by tag, looked up when deploying: a subnet
	// needs every key, with one of the key's values (any value when a key
	// lists none).
	FromTags map[string][]string
}

func (p *Placement) UnmarshalYAML(n *yaml.Node) error {
	p.Set, p.Pos = true, PosOf(n)
	if n.Kind == yaml.ScalarNode {
		p.Kind = n.Value
		return nil
	}
	var m struct {
		Subnets yaml.Node `yaml:"subnets"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	switch m.Subnets.Kind {
	case yaml.SequenceNode:
		return m.Subnets.Decode(&p.SubnetIDs)
	case yaml.MappingNode:
		var args struct {
			FromTags map[string]yaml.Node `yaml:"from_tags"`
		}
		if err := m.Subnets.Decode(&args); err != nil {
			return err
		}
		if len(args.FromTags) == 0 {
			return fmt.Errorf("line %d: placement.subnets.from_tags needs at least one tag", m.Subnets.Line)
		}
		p.FromTags = map[string][]string{}
		for key, v := range args.FromTags {
			var values []string
			switch v.Kind {
			case yaml.ScalarNode:
				values = []string{v.Value}
			case yaml.SequenceNode:
				if err := v.Decode(&values); err != nil {
					return err
				}
			default:
				return fmt.Errorf("line %d: placement.subnets.from_tags.%s must be a string or a list of strings", v.Line, key)
			}
			p.FromTags[key] = values
		}
		return nil
	}
	return valueErrorf("line %d: placement needs subnets as a list of ids or {from_tags: ...}", n.Line)
}

// FlowLogs is `flow_logs: <bool>` or `flow_logs: {retention: days}`.
// Copilot v1.33 switches flow logs on for any value the key has, `false`
// included (its bool-or-map union counts a set bool as non-zero), so
// environments it deployed with `flow_logs: false` have them; rendering
// the same keeps a first deploy from deleting them. Only a missing or
// null key leaves them out.
type FlowLogs struct {
	Pos       Pos
	Set       bool
	Off       bool // written `false`, which does not turn them off
	Retention *int
}

func (f *FlowLogs) UnmarshalYAML(n *yaml.Node) error {
	f.Pos = PosOf(n)
	if n.Kind == yaml.MappingNode {
		var m struct {
			Retention *int `yaml:"retention"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		f.Set, f.Retention = true, m.Retention
		return nil
	}
	var on bool
	if err := n.Decode(&on); err != nil {
		return err
	}
	f.Set, f.Off = true, !on
	return nil
}

// PortRange is a security group rule's `ports`: 80 or 1-100.
type PortRange struct {
	Pos    Pos
	Set    bool
	Value  string // as written
	Scalar bool   // a scalar, not a list or map
	Int    bool   // an integer, not a string
}

func (p *PortRange) UnmarshalYAML(n *yaml.Node) error {
	p.Pos, p.Set, p.Value, p.Scalar = PosOf(n), true, n.Value, n.Kind == yaml.ScalarNode
	p.Int = p.Scalar && n.ShortTag() == "!!int"
	return nil
}

var portRange = regexp.MustCompile(`^(\d+)-(\d+)$`)

// Bounds returns the range's from and to ports.
func (p PortRange) Bounds() (from, to int, err error) {
	v := strings.TrimSpace(p.Value)
	if !p.Scalar || v == "" {
		return 0, 0, errors.New(`"ports" must be a port such as 80 or a range such as 8000-8080`)
	}
	if m := portRange.FindStringSubmatch(v); m != nil {
		from, _ = strconv.Atoi(m[1])
		to, _ = strconv.Atoi(m[2])
		return from, to, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid range value %s: valid format is ${from_port}-${to_port}", v)
	}
	return n, n, nil
}

// BoolOrMap is a field written `true`/`false` or as a map of settings
// (network.connect, storage.volumes.<name>.efs, ...): Bool is the scalar
// form, Map the mapping (decoded by the field's type), Bad a value of
// neither shape.
type BoolOrMap[T any] struct {
	Section                  `yaml:"-"`
	IsBool, Bool, IsMap, Bad bool
	Map                      T
	Err                      error // why the map did not decode
}

// Written reports that the manifest sets the field (to any value but null).
func (b BoolOrMap[T]) Written() bool { return b.IsBool || b.IsMap || b.Bad }

func (b *BoolOrMap[T]) UnmarshalYAML(n *yaml.Node) error {
	b.Section = newSection(n)
	switch n.Kind {
	case yaml.ScalarNode:
		b.IsBool = true
		if err := n.Decode(&b.Bool); err != nil {
			b.Bad = true
		}
	case yaml.MappingNode:
		b.IsMap = true
		if err := decode(n, &b.Map); err != nil {
			b.Err = plainError(err)
		}
	default:
		b.Bad = true
	}
	return nil
}

// ListOrMap is a field written as a list or as a map (security_groups,
// rollback_alarms): List or Map is set, Bad is neither or a list or map
// that did not decode.
type ListOrMap[L, M any] struct {
	Section            `yaml:"-"`
	IsList, IsMap, Bad bool
	List               L
	Map                M
	Err                error
}

func (u *ListOrMap[L, M]) UnmarshalYAML(n *yaml.Node) error {
	u.Section = newSection(n)
	switch n.Kind {
	case yaml.SequenceNode:
		u.IsList = true
		u.Err = plainError(decode(n, &u.List))
	case yaml.MappingNode:
		u.IsMap = true
		u.Err = plainError(decode(n, &u.Map))
	default:
		u.Bad = true
	}
	u.Bad = u.Bad || u.Err != nil
	return nil
}

// newSection records n as a Section, for types that decode themselves.
func newSection(n *yaml.Node) Section {
	s := Section{Pos: PosOf(n), Set: n.Tag != "!!null"}
	if n.Kind == yaml.MappingNode {
		s.node = n
	}
	return s
}
