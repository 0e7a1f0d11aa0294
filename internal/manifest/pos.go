package manifest

import (
	"reflect"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// Pos is a 1-based line and column in a manifest; the zero Pos means the
// whole file.
type Pos struct {
	Line, Column int
}

// PosOf is n's position; the zero Pos for nil.
func PosOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{}
	}
	return Pos{n.Line, n.Column}
}

// Section is embedded in every mapping of the model. Decode fills it.
type Section struct {
	// Pos is where the mapping is; zero when the manifest leaves it out.
	Pos Pos
	// Set reports that the manifest has the mapping (not null).
	Set bool
	// node is the mapping (nil for any other value); positions, key order
	// and text as written are read from it when a finding needs them.
	node *yaml.Node
}

// IsMapping reports that the value is a mapping (not a scalar or a list).
func (s Section) IsMapping() bool { return s.node != nil }

// lookup returns key and its value in the mapping (the last one when a
// key repeats, as decoding keeps it), or nils.
func (s Section) lookup(key string) (k, v *yaml.Node) {
	if s.node == nil {
		return nil, nil
	}
	for j := len(s.node.Content) - 2; j >= 0; j -= 2 {
		if s.node.Content[j].Value == key {
			return s.node.Content[j], s.node.Content[j+1]
		}
	}
	return nil, nil
}

// At is the position of the value of key in the mapping, or the zero Pos.
func (s Section) At(key string) Pos {
	_, v := s.lookup(key)
	return PosOf(v)
}

// KeyAt is the position of key itself in the mapping, or the zero Pos.
func (s Section) KeyAt(key string) Pos {
	k, _ := s.lookup(key)
	return PosOf(k)
}

// Has reports that the mapping has key (with any value, null included).
func (s Section) Has(key string) bool {
	k, _ := s.lookup(key)
	return k != nil
}

// Present reports that the mapping has key with a value that is not null.
func (s Section) Present(key string) bool {
	_, v := s.lookup(key)
	return v != nil && resolveAlias(v).Tag != "!!null"
}

// Keys are the mapping's keys in file order: the order of a map of the
// model (sidecars, volumes, depends_on) is recovered from its Sub.
func (s Section) Keys() []string {
	if s.node == nil {
		return nil
	}
	keys := make([]string, 0, len(s.node.Content)/2)
	for j := 0; j+1 < len(s.node.Content); j += 2 {
		keys = append(keys, s.node.Content[j].Value)
	}
	return keys
}

// Sub is the Section of the value under key: the positions of a map of
// the model, whose values have no Section of their own.
func (s Section) Sub(key string) Section {
	_, v := s.lookup(key)
	if v == nil {
		return Section{}
	}
	return newSection(resolveAlias(v))
}

// Text is the scalar under key as written (a duration's "1m", not 1m0s),
// for messages; "" for null and anything else.
func (s Section) Text(key string) string {
	_, v := s.lookup(key)
	if v = resolveAlias(v); v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return ""
	}
	return v.Value
}

// IsText reports that the value under key is a plain string scalar (not a
// number or a bool), as a duration is written.
func (s Section) IsText(key string) bool {
	_, v := s.lookup(key)
	v = resolveAlias(v)
	return v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

var (
	sectionType     = reflect.TypeFor[Section]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// decode decodes n into out (a pointer to a model type) and records the
// positions of every Section on the way.
// A value of the wrong type (a *yaml.TypeError) leaves that field zero
// and the rest decoded, positions included.
func decode(n *yaml.Node, out any) error {
	err := n.Decode(out)
	if _, ok := err.(*yaml.TypeError); err != nil && !ok {
		return err
	}
	if err != nil {
		clearFailed(reflect.ValueOf(out), n)
	}
	fillSections(reflect.ValueOf(out), n)
	return err
}

// clearFailed unsets the pointers to scalars that yaml.v3 allocated for
// values it then could not decode (cpu: [1] is no cpu, not cpu 0).
func clearFailed(v reflect.Value, n *yaml.Node) {
	n = resolveAlias(n)
	if n == nil || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if e := v.Type().Elem(); e.Kind() <= reflect.Float64 || e.Kind() == reflect.String {
			if n.Kind != yaml.ScalarNode || n.Decode(reflect.New(e).Interface()) != nil {
				v.Set(reflect.Zero(v.Type()))
			}
			return
		}
		clearFailed(v.Elem(), n)
	case reflect.Struct:
		if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) || n.Kind != yaml.MappingNode {
			return
		}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Type == sectionType {
				continue
			}
			switch name, inline := yamlName(f); {
			case inline:
				clearFailed(v.Field(i), n)
			case name != "-":
				clearFailed(v.Field(i), valueOf(n, name))
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode || v.Type().Key().Kind() != reflect.String {
			return
		}
		eachValue(v, n, clearFailed)
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			eachItem(v, n, clearFailed)
		}
	}
}

// eachValue calls fn with each value of map v (string keys) and its node
// in mapping n; map values are copies, so each is set back.
func eachValue(v reflect.Value, n *yaml.Node, fn func(reflect.Value, *yaml.Node)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := reflect.ValueOf(n.Content[i].Value).Convert(v.Type().Key())
		e := v.MapIndex(key)
		if !e.IsValid() {
			continue
		}
		c := reflect.New(e.Type()).Elem()
		c.Set(e)
		fn(c, n.Content[i+1])
		v.SetMapIndex(key, c)
	}
}

// eachItem calls fn with each item of slice v and its node in n. yaml.v3
// leaves out an item that cannot become the element type (a scalar, list
// or null where a mapping belongs; the schema reports it): skipping its
// node keeps the others on their positions.
func eachItem(v reflect.Value, n *yaml.Node, fn func(reflect.Value, *yaml.Node)) {
	plain := !reflect.PointerTo(v.Type().Elem()).Implements(unmarshalerType) && v.Type().Elem().Kind() == reflect.Struct
	i := 0
	for _, item := range n.Content {
		if i == v.Len() {
			break
		}
		if item = resolveAlias(item); plain && item.Kind != yaml.MappingNode {
			continue
		}
		fn(v.Index(i), item)
		i++
	}
}

// fillSections walks v and n together, filling each embedded Section with
// the positions of its mapping. Types with their own UnmarshalYAML record
// their positions themselves.
func fillSections(v reflect.Value, n *yaml.Node) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fillSections(v.Elem(), n)
		}
	case reflect.Struct:
		if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
			return
		}
		fillStruct(v, n)
	case reflect.Map:
		if n.Kind != yaml.MappingNode || v.Type().Key().Kind() != reflect.String || !holdsSection(v.Type().Elem()) {
			return
		}
		eachValue(v, n, fillSections)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode || !holdsSection(v.Type().Elem()) {
			return
		}
		eachItem(v, n, fillSections)
	}
}

// structField is what fillStruct needs of one field of a model struct.
type structField struct {
	index   int
	section bool // the embedded Section
	name    string
	inline  bool
}

// fieldsOf and holdsSection are computed once per type: decoding runs for
// every manifest in every environment, in lint and in render.
var fieldsCache, holdsCache sync.Map // reflect.Type -> []structField, bool

func fieldsOf(t reflect.Type) []structField {
	if f, ok := fieldsCache.Load(t); ok {
		return f.([]structField)
	}
	var out []structField
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case f.Type == sectionType && f.Anonymous:
			out = append(out, structField{index: i, section: true})
		case f.IsExported():
			name, inline := yamlName(f)
			if name != "-" && (inline || holdsSection(f.Type)) {
				out = append(out, structField{index: i, name: name, inline: inline})
			}
		}
	}
	fieldsCache.Store(t, out)
	return out
}

func fillStruct(v reflect.Value, n *yaml.Node) {
	for _, f := range fieldsOf(v.Type()) {
		switch {
		case f.section:
			v.Field(f.index).Set(reflect.ValueOf(newSection(n)))
		case f.inline:
			fillSections(v.Field(f.index), n)
		default:
			fillSections(v.Field(f.index), valueOf(n, f.name))
		}
	}
}

// holdsSection reports whether values of t can hold a Section to fill.
func holdsSection(t reflect.Type) bool {
	if h, ok := holdsCache.Load(t); ok {
		return h.(bool)
	}
	h := holds(t, map[reflect.Type]bool{})
	holdsCache.Store(t, h)
	return h
}

// holds is holdsSection without the cache; seen ends recursive types
// (yaml.Node).
func holds(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || reflect.PointerTo(t).Implements(unmarshalerType) {
		return false
	}
	seen[t] = true
	for i := range t.NumField() {
		if f := t.Field(i); f.Type == sectionType || f.IsExported() && holds(f.Type, seen) {
			return true
		}
	}
	return false
}

func yamlName(f reflect.StructField) (name string, inline bool) {
	tag := f.Tag.Get("yaml")
	name = tag
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			name, inline = tag[:i], tag[i:] == ",inline"
			break
		}
	}
	if name == "" && !inline {
		name = lower(f.Name)
	}
	return name, inline
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// valueOf is the value under key in mapping n, or nil (null too).
var valueOf = workspace.Lookup
