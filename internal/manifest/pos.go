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
	Set     bool
	mapping bool
	keys    map[string]field
}

// IsMapping reports that the value is a mapping (not a scalar or a list).
func (s Section) IsMapping() bool { return s.mapping }

// field is where one key of a mapping and its value are.
type field struct {
	key, value Pos
	null       bool
}

// At is the position of the value of key in the mapping, or the zero Pos.
func (s Section) At(key string) Pos { return s.keys[key].value }

// KeyAt is the position of key itself in the mapping, or the zero Pos.
func (s Section) KeyAt(key string) Pos { return s.keys[key].key }

// Has reports that the mapping has key (with any value, null included).
func (s Section) Has(key string) bool {
	_, ok := s.keys[key]
	return ok
}

// Present reports that the mapping has key with a value that is not null.
func (s Section) Present(key string) bool {
	f, ok := s.keys[key]
	return ok && !f.null
}

var (
	sectionType     = reflect.TypeFor[Section]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// decode decodes n into out (a pointer to a model type) and records the
// positions of every Section on the way.
func decode(n *yaml.Node, out any) error {
	if err := n.Decode(out); err != nil {
		return err
	}
	fillSections(reflect.ValueOf(out), n)
	return nil
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
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := reflect.ValueOf(n.Content[i].Value).Convert(v.Type().Key())
			e := v.MapIndex(key)
			if !e.IsValid() {
				continue
			}
			c := reflect.New(e.Type()).Elem()
			c.Set(e)
			fillSections(c, n.Content[i+1])
			v.SetMapIndex(key, c)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode || !holdsSection(v.Type().Elem()) {
			return
		}
		for i := 0; i < v.Len() && i < len(n.Content); i++ {
			fillSections(v.Index(i), n.Content[i])
		}
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
