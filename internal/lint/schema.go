package lint

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/agext/levenshtein"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/schema"
)

// schemaBase is the URL the embedded schema files are known by when they
// carry no $id of their own.
const schemaBase = "https://autopilot.dev/schema/"

// schemas holds the compiled manifest schemas; compiled once per process.
var schemas = sync.OnceValues(compileSchemas)

type compiled struct {
	compiler *jsonschema.Compiler
	byKind   map[string]*jsonschema.Schema
	mu       sync.Mutex // guards compiler: sub-schema look-ups for suggestions
}

func compileSchemas() (*compiled, error) {
	c := jsonschema.NewCompiler()
	ids := map[string]string{} // file name -> URL
	files, err := fs.Glob(schema.FS, "*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		raw, err := fs.ReadFile(schema.FS, name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		url := schemaBase + name
		if m, ok := doc.(map[string]any); ok {
			if id, ok := m["$id"].(string); ok && id != "" {
				url = id
			}
		}
		ids[name] = url
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
	}
	out := &compiled{compiler: c, byKind: map[string]*jsonschema.Schema{}}
	for _, k := range manifestKinds {
		file, ok := schema.File(string(k))
		if !ok {
			continue
		}
		s, err := c.Compile(ids[file])
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", file, err)
		}
		out.byKind[string(k)] = s
	}
	return out, nil
}

// properties returns the property names the schema at url allows, for
// "did you mean" suggestions.
func (c *compiled) properties(url string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.compiler.Compile(url)
	if err != nil || s == nil {
		return nil
	}
	var names []string
	for n := range s.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// instance is a manifest converted for validation, with the node behind
// every JSON pointer so findings point at the right line.
type instance struct {
	value any
	nodes map[string]*yaml.Node // pointer -> value node
	keys  map[string]*yaml.Node // pointer -> key node, for mapping entries
}

func toInstance(n *yaml.Node) *instance {
	in := &instance{nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	in.value = in.convert(n, "")
	return in
}

func (in *instance) convert(n *yaml.Node, ptr string) any {
	in.nodes[ptr] = n
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil
		}
		return in.convert(n.Alias, ptr)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				in.mergeInto(m, v, ptr)
				continue
			}
			// Copilot decodes `key:` with no value as "not set".
			if v.ShortTag() == "!!null" {
				continue
			}
			p := ptr + "/" + escapePointer(k.Value)
			in.keys[p] = k
			m[k.Value] = in.convert(v, p)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = in.convert(c, ptr+"/"+strconv.Itoa(i))
		}
		return s
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil
}

// mergeInto applies a YAML merge key (<<: *anchor): the merged mapping's
// keys fill in what the mapping does not set itself.
func (in *instance) mergeInto(m map[string]any, v *yaml.Node, ptr string) {
	sources := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		sources = v.Content
	}
	for _, src := range sources {
		for src.Kind == yaml.AliasNode && src.Alias != nil {
			src = src.Alias
		}
		if src.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(src.Content); i += 2 {
			k := src.Content[i].Value
			if _, set := m[k]; !set {
				m[k] = in.convert(src.Content[i+1], ptr+"/"+escapePointer(k))
			}
		}
	}
}

// scalarValue decodes a scalar as yaml.v3 would for Copilot's fields: the
// resolved tag decides, so a quoted "80" stays a string.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err == nil {
			switch v.(type) {
			case bool, int, int64, uint64, float64:
				return v
			}
		}
	}
	return n.Value
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// validate checks a resolved manifest against its kind's schema.
func validate(kindName string, doc *yaml.Node, file, env string) (diag.List, error) {
	c, err := schemas()
	if err != nil {
		return nil, err
	}
	s := c.byKind[kindName]
	if s == nil {
		return nil, nil
	}
	in := toInstance(doc)
	verr := s.Validate(in.value)
	if verr == nil {
		return nil, nil
	}
	ve, ok := verr.(*jsonschema.ValidationError)
	if !ok {
		return nil, fmt.Errorf("validate %s: %w", file, verr)
	}
	f := &findings{c: c, in: in, file: file, env: env}
	f.collect(ve)
	return f.out, nil
}

type findings struct {
	c    *compiled
	in   *instance
	file string
	env  string
	out  diag.List
}

var printer = message.NewPrinter(language.English)

// collect walks the error tree down to the failures worth showing. For a
// union (anyOf/oneOf) it follows the branch the value was evidently meant
// for, instead of listing every branch's complaint.
func (f *findings) collect(e *jsonschema.ValidationError) {
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		if len(e.Causes) > 0 {
			f.union(e)
			return
		}
	}
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			f.collect(c)
		}
		return
	}
	f.leaf(e)
}

func (f *findings) union(e *jsonschema.ValidationError) {
	var deeper []*jsonschema.ValidationError
	var wants []string
	for _, branch := range e.Causes {
		if t, ok := onlyTypeError(branch, e.InstanceLocation); ok {
			wants = append(wants, t.Want...)
			continue
		}
		deeper = append(deeper, branch)
	}
	if len(deeper) == 0 {
		got := ""
		if t, ok := onlyTypeError(e.Causes[0], e.InstanceLocation); ok {
			got = t.Got
		}
		f.add(e.InstanceLocation, "schema/type", diag.Error,
			fmt.Sprintf("%s must be %s, not %s", fieldName(e.InstanceLocation), joinOr(uniq(wants)), article(got)), "")
		return
	}
	// The branch whose errors reach deepest is the one the value was
	// written for.
	best := deeper[0]
	for _, b := range deeper[1:] {
		if depth(b) > depth(best) {
			best = b
		}
	}
	f.collect(best)
}

// onlyTypeError reports whether a branch failed only because the value at
// loc has another type.
func onlyTypeError(e *jsonschema.ValidationError, loc []string) (*kind.Type, bool) {
	for len(e.Causes) == 1 {
		e = e.Causes[0]
	}
	t, ok := e.ErrorKind.(*kind.Type)
	if !ok || len(e.Causes) > 0 || !slices.Equal(e.InstanceLocation, loc) {
		return nil, false
	}
	return t, true
}

func depth(e *jsonschema.ValidationError) int {
	d := len(e.InstanceLocation)
	for _, c := range e.Causes {
		d = max(d, depth(c))
	}
	return d
}

func (f *findings) leaf(e *jsonschema.ValidationError) {
	loc := e.InstanceLocation
	name := fieldName(loc)
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		allowed := f.c.properties(strings.TrimSuffix(e.SchemaURL, "/additionalProperties"))
		for _, p := range k.Properties {
			msg := fmt.Sprintf("unknown key %q in %s; Copilot ignores it silently", p, placeName(loc))
			fix := "remove it, or move it to where it belongs"
			if s := suggest(p, allowed); s != "" {
				fix = fmt.Sprintf("did you mean %q?", s)
			}
			f.addKey(append(slices.Clone(loc), p), RuleUnknownKey, diag.Warning, msg, fix)
		}
	case *kind.Required:
		for _, p := range k.Missing {
			f.add(loc, "schema/required", diag.Error, fmt.Sprintf("%s is required", fieldName(append(slices.Clone(loc), p))), fmt.Sprintf("add %q to %s", p, placeName(loc)))
		}
	case *kind.Type:
		f.add(loc, "schema/type", diag.Error, fmt.Sprintf("%s must be %s, not %s", name, joinOr(k.Want), article(k.Got)), typeFix(loc, k.Want, k.Got))
	case *kind.Enum:
		got := fmt.Sprint(f.value(loc))
		var opts []string
		for _, v := range k.Want {
			opts = append(opts, fmt.Sprint(v))
		}
		fix := "use one of: " + strings.Join(opts, ", ")
		if s := suggest(got, opts); s != "" {
			fix = fmt.Sprintf("did you mean %q?", s)
		}
		f.add(loc, "schema/enum", diag.Error, fmt.Sprintf("%s has an invalid value %q", name, got), fix)
	case *kind.Const:
		f.add(loc, "schema/enum", diag.Error, fmt.Sprintf("%s must be %v", name, k.Want), "")
	case *kind.Minimum, *kind.Maximum, *kind.ExclusiveMinimum, *kind.ExclusiveMaximum:
		f.add(loc, "schema/range", diag.Error, fmt.Sprintf("%s: %s", name, e.ErrorKind.LocalizedString(printer)), "")
	case *kind.Pattern:
		msg := fmt.Sprintf("%s: value %q does not have the expected format", name, fmt.Sprint(f.value(loc)))
		if len(k.Want) <= 40 {
			msg += " " + k.Want
		}
		f.add(loc, "schema/pattern", diag.Error, msg, f.description(e.SchemaURL))
	case *kind.OneOf:
		names := f.alternatives(e, k.Subschemas)
		f.add(f.latest(loc, names), "exclusive-fields", diag.Error, fmt.Sprintf("%s sets %s together; they are alternatives", name, joinAnd(names)), "keep only one of them")
	case *kind.Not:
		f.add(loc, "schema/not-allowed", diag.Error, fmt.Sprintf("%s cannot be %q", name, fmt.Sprint(f.value(loc))), "choose another value; this one is reserved")
	case *kind.FalseSchema:
		f.add(loc, "schema/not-allowed", diag.Error, fmt.Sprintf("%s is not allowed here", name), "remove it")
	default:
		kw := "schema"
		if p := e.ErrorKind.KeywordPath(); len(p) > 0 {
			kw = "schema/" + p[0]
		}
		f.add(loc, kw, diag.Error, fmt.Sprintf("%s: %s", name, e.ErrorKind.LocalizedString(printer)), "")
	}
}

// alternatives names the keys that made several oneOf branches match, from
// each branch's required list.
func (f *findings) alternatives(e *jsonschema.ValidationError, matched []int) []string {
	var names []string
	for _, i := range matched {
		f.c.mu.Lock()
		s, err := f.c.compiler.Compile(fmt.Sprintf("%s/oneOf/%d", e.SchemaURL, i))
		f.c.mu.Unlock()
		if err == nil {
			names = append(names, s.Required...)
		}
	}
	return uniq(names)
}

// latest returns the location of whichever of keys under loc was written
// last, so a conflict an override creates points into the override.
func (f *findings) latest(loc []string, keys []string) []string {
	best, line := loc, -1
	for _, k := range keys {
		l := append(slices.Clone(loc), k)
		if n := f.in.nodes[pointer(l)]; n != nil && n.Line > line {
			best, line = l, n.Line
		}
	}
	return best
}

func joinAnd(names []string) string {
	if len(names) < 2 {
		return "several alternative forms"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// description returns the schema's description of a field, which tells what
// a valid value looks like.
func (f *findings) description(url string) string {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if s, err := f.c.compiler.Compile(url); err == nil {
		return s.Description
	}
	return ""
}

func (f *findings) value(loc []string) any {
	n := f.in.nodes[pointer(loc)]
	if n == nil {
		return ""
	}
	return scalarValue(n)
}

func (f *findings) add(loc []string, rule string, sev diag.Severity, msg, fix string) {
	n := f.in.nodes[pointer(loc)]
	f.push(n, rule, sev, msg, fix)
}

// addKey positions a finding on the key itself (an unknown key).
func (f *findings) addKey(loc []string, rule string, sev diag.Severity, msg, fix string) {
	n := f.in.keys[pointer(loc)]
	if n == nil {
		n = f.in.nodes[pointer(loc[:len(loc)-1])]
	}
	f.push(n, rule, sev, msg, fix)
}

func (f *findings) push(n *yaml.Node, rule string, sev diag.Severity, msg, fix string) {
	d := diag.Diagnostic{File: f.file, Severity: sev, Rule: rule, Message: msg, Fix: fix, Env: f.env}
	if n != nil {
		d.Line, d.Column = n.Line, n.Column
	}
	f.out = append(f.out, d)
}

func pointer(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		b.WriteByte('/')
		b.WriteString(escapePointer(t))
	}
	return b.String()
}

// fieldName renders a location as the dotted path users write, e.g.
// "http.healthcheck.interval" or "publish.topics[0].name".
func fieldName(loc []string) string {
	if len(loc) == 0 {
		return "the manifest"
	}
	var b strings.Builder
	for i, t := range loc {
		if _, err := strconv.Atoi(t); err == nil {
			b.WriteString("[" + t + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return fmt.Sprintf("%q", b.String())
}

func placeName(loc []string) string {
	if len(loc) == 0 {
		return "the top level"
	}
	return fieldName(loc)
}

// suggest returns the closest candidate to s, if it is close enough to be
// a likely typo.
func suggest(s string, candidates []string) string {
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		d := levenshtein.Distance(strings.ToLower(s), strings.ToLower(c), nil)
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" && bestDist <= max(2, len(s)/3) {
		return best
	}
	return ""
}

var typeNames = map[string]string{
	"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean (true or false)",
	"object": "a mapping", "array": "a list", "null": "empty",
}

func article(t string) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return t
}

func joinOr(ts []string) string {
	var words []string
	for _, t := range ts {
		words = append(words, article(t))
	}
	switch len(words) {
	case 0:
		return "of another type"
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// durationFields hold Go duration strings in Copilot manifests.
var durationFields = []string{"interval", "timeout", "grace_period", "start_period", "in", "out", "deregistration_delay",
	"acceptable_latency", "msg_processing_time", "cooldown", "retention", "delay", "stop_timeout"}

func typeFix(loc []string, want []string, got string) string {
	switch {
	case got == "string" && (slices.Contains(want, "integer") || slices.Contains(want, "number") || slices.Contains(want, "boolean")):
		return "remove the quotes around the value"
	case (got == "integer" || got == "number") && slices.Contains(want, "string") && len(loc) > 0 && slices.Contains(durationFields, loc[len(loc)-1]):
		return `write a duration with its unit, e.g. "10s" or "1m30s"`
	case (got == "integer" || got == "number" || got == "boolean") && slices.Contains(want, "string"):
		return "quote the value"
	}
	return ""
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
