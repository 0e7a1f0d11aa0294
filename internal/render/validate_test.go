package render

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"gopkg.in/yaml.v3"
)

// schemaDir is AWS's resource schemas, one file per type, beside the repo.
const schemaDir = "../../../shared/reference/aws/cfn-resource-schemas/by-type"

type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool { ok, _ := r.re.MatchString(s); return ok }
func (r ecmaRegexp) String() string            { return r.re.String() }

var (
	schemasOnce sync.Once
	schemaFiles map[string]string // type -> file
	schemaMu    sync.Mutex
	compiled    = map[string]*jsonschema.Schema{}
	schemaErr   error
)

// resourceSchema returns the compiled schema of a resource type, or skips the
// test when the shared reference folder is absent.
func resourceSchema(t *testing.T, typ string) *jsonschema.Schema {
	t.Helper()
	schemasOnce.Do(func() {
		f, err := os.Open(filepath.Join(schemaDir, "INDEX.tsv"))
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		schemaFiles = map[string]string{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			cols := strings.Split(sc.Text(), "\t")
			if len(cols) >= 2 && cols[0] != "type" {
				schemaFiles[cols[0]] = cols[1]
			}
		}
	})
	if schemaErr != nil {
		t.Skipf("AWS resource schemas not found at %s (%v): run beside ../shared to validate templates", schemaDir, schemaErr)
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := compiled[typ]; ok {
		return s
	}
	var doc any
	file, ok := schemaFiles[typ]
	if ok {
		raw, err := os.ReadFile(filepath.Join(schemaDir, file))
		if err != nil {
			t.Fatalf("read schema of %s: %v", typ, err)
		}
		if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(raw)); err != nil {
			t.Fatalf("parse schema of %s: %v", typ, err)
		}
	} else {
		// Types autopilot rarely renders come from the all-types bundle.
		file = typ
		doc = bundleSchema(t, typ)
	}
	if m, ok := doc.(map[string]any); ok {
		delete(m, "$schema")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseRegexpEngine(func(expr string) (jsonschema.Regexp, error) {
		// Some schemas (ApplicationAutoScaling's PolicyName) use the POSIX
		// class \p{Print}, which ECMAScript lacks: printable is "not a
		// control character".
		expr = strings.ReplaceAll(expr, `\p{Print}`, `[^\x00-\x1F\x7F]`)
		re, err := regexp2.Compile(expr, regexp2.ECMAScript)
		if err != nil {
			return nil, err
		}
		return ecmaRegexp{re}, nil
	})
	url := "file:///" + strings.ReplaceAll(file, ":", "_")
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("add schema of %s: %v", typ, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile schema of %s: %v", typ, err)
	}
	compiled[typ] = s
	return s
}

var (
	bundleOnce  sync.Once
	bundleTypes map[string]any
	bundleErr   error
)

func bundleSchema(t *testing.T, typ string) any {
	t.Helper()
	bundleOnce.Do(func() {
		f, err := os.Open(filepath.Join(schemaDir, "..", "us-east-1.bundle.json.gz"))
		if err != nil {
			bundleErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			bundleErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(zr)
		if err != nil {
			bundleErr = err
			return
		}
		m, _ := doc.(map[string]any)
		bundleTypes, _ = m["types"].(map[string]any)
	})
	if bundleErr != nil {
		t.Fatalf("read the schema bundle for %s: %v", typ, bundleErr)
	}
	s, ok := bundleTypes[typ]
	if !ok {
		t.Fatalf("no AWS schema for resource type %s", typ)
	}
	return s
}

// toValue turns a template node into JSON-like data, recording the paths of
// intrinsic function values, which the schemas cannot judge.
func toValue(n *yaml.Node, path []string, intrinsic map[string]bool) any {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		intrinsic[strings.Join(path, "/")] = true
		return "intrinsic:" + strings.Join(path, "/") // distinct, so uniqueItems holds
	}
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			k := n.Content[0].Value
			if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
				intrinsic[strings.Join(path, "/")] = true
				return "intrinsic:" + strings.Join(path, "/")
			}
		}
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			m[k] = toValue(n.Content[i+1], append(slices.Clone(path), k), intrinsic)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = toValue(c, append(slices.Clone(path), strconv.Itoa(i)), intrinsic)
		}
		return s
	}
	switch n.Tag {
	case "!!int":
		i, _ := strconv.ParseInt(n.Value, 0, 64)
		return json.Number(strconv.FormatInt(i, 10))
	case "!!float":
		return json.Number(n.Value)
	case "!!bool":
		return n.Value == "true"
	case "!!null":
		return nil
	}
	return n.Value
}

// leafErrors flattens a validation error to the findings that matter: not
// inside an intrinsic value, and not a scalar CloudFormation converts itself
// (a number where a string is expected, or a numeric string for a number).
func leafErrors(e *jsonschema.ValidationError, intrinsic map[string]bool, props any) []string {
	if len(e.Causes) > 0 {
		var out []string
		for _, c := range e.Causes {
			out = append(out, leafErrors(c, intrinsic, props)...)
		}
		return out
	}
	for i := len(e.InstanceLocation); i >= 0; i-- {
		if intrinsic[strings.Join(e.InstanceLocation[:i], "/")] {
			return nil
		}
	}
	if k, ok := e.ErrorKind.(*kind.Type); ok {
		if slices.Contains(k.Want, "string") && (k.Got == "number" || k.Got == "integer" || k.Got == "boolean") {
			return nil
		}
		if k.Got == "string" {
			s, _ := valueAt(props, e.InstanceLocation).(string)
			_, numErr := strconv.ParseFloat(s, 64)
			if (numErr == nil && (slices.Contains(k.Want, "integer") || slices.Contains(k.Want, "number"))) ||
				((s == "true" || s == "false") && slices.Contains(k.Want, "boolean")) {
				return nil
			}
		}
	}
	return []string{fmt.Sprintf("/%s: %s", strings.Join(e.InstanceLocation, "/"), e.Error())}
}

func valueAt(v any, path []string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, _ := strconv.Atoi(p)
			if i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// validateTemplate checks a rendered template offline: each resource's
// Properties against AWS's schema, then the template-level rules.
func validateTemplate(t *testing.T, name string, body []byte) {
	t.Helper()
	if len(body) > maxInlineTemplate {
		t.Errorf("%s: template is %d bytes, over %d", name, len(body), maxInlineTemplate)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("%s: template does not parse: %v", name, err)
	}
	root := doc.Content[0]
	resources := get(root, "Resources")
	if resources == nil {
		t.Fatalf("%s: no Resources", name)
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, r := resources.Content[i].Value, resources.Content[i+1]
		typ := scalarValue(get(r, "Type"))
		if strings.HasPrefix(typ, "Custom::") {
			continue
		}
		schema := resourceSchema(t, typ)
		intrinsic := map[string]bool{}
		var props any = map[string]any{}
		if p := get(r, "Properties"); p != nil {
			props = toValue(p, nil, intrinsic)
		}
		if err := schema.Validate(props); err != nil {
			ve, ok := err.(*jsonschema.ValidationError)
			if !ok {
				t.Errorf("%s: %s (%s): %v", name, id, typ, err)
				continue
			}
			for _, msg := range leafErrors(ve, intrinsic, props) {
				t.Errorf("%s: %s (%s) properties%s", name, id, typ, msg)
			}
		}
	}
	for _, problem := range templateProblems(root) {
		t.Errorf("%s: %s", name, problem)
	}
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// templateProblems applies the template-level rules: every Ref, GetAtt,
// Sub variable, Condition and DependsOn target exists, and every parameter
// is used.
func templateProblems(root *yaml.Node) []string {
	names := func(section string) map[string]bool {
		m := map[string]bool{}
		if s := get(root, section); s != nil {
			for i := 0; i+1 < len(s.Content); i += 2 {
				m[s.Content[i].Value] = true
			}
		}
		return m
	}
	params, resources, conditions := names("Parameters"), names("Resources"), names("Conditions")
	used := map[string]bool{}
	var problems []string
	refTo := func(target, where string) {
		if strings.HasPrefix(target, "AWS::") {
			return
		}
		used[target] = true
		if !params[target] && !resources[target] {
			problems = append(problems, fmt.Sprintf("%s refers to %q, which is neither a parameter nor a resource", where, target))
		}
	}
	attTo := func(target, where string) {
		res, _, _ := strings.Cut(target, ".")
		if !resources[res] {
			problems = append(problems, fmt.Sprintf("%s gets an attribute of %q, which is not a resource", where, res))
		}
	}
	condTo := func(target, where string) {
		if !conditions[target] {
			problems = append(problems, fmt.Sprintf("%s names condition %q, which is not defined", where, target))
		}
	}
	subTo := func(s, where string, locals map[string]bool) {
		for _, m := range subVar.FindAllStringSubmatch(s, -1) {
			v := m[1]
			if locals[v] {
				continue
			}
			if strings.Contains(v, ".") {
				attTo(v, where)
				continue
			}
			refTo(v, where)
		}
	}
	var walk func(n *yaml.Node, where string)
	walk = func(n *yaml.Node, where string) {
		if msg := intrinsicShape(n); msg != "" {
			problems = append(problems, fmt.Sprintf("%s: %s", where, msg))
		}
		switch {
		case n.Tag == "!Ref":
			refTo(n.Value, where)
		case n.Tag == "!GetAtt" && n.Kind == yaml.ScalarNode:
			attTo(n.Value, where)
		case n.Tag == "!Condition":
			condTo(n.Value, where)
		case n.Tag == "!Sub" && n.Kind == yaml.ScalarNode:
			subTo(n.Value, where, nil)
		case n.Tag == "!Sub" && n.Kind == yaml.SequenceNode && len(n.Content) == 2:
			locals := names0(n.Content[1])
			subTo(n.Content[0].Value, where, locals)
			walk(n.Content[1], where)
			return
		case n.Tag == "!If" && len(n.Content) > 0:
			condTo(n.Content[0].Value, where)
		}
		if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
			k, v := n.Content[0].Value, n.Content[1]
			switch k {
			case "Ref":
				refTo(v.Value, where)
			case "Fn::GetAtt":
				if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
					attTo(v.Content[0].Value, where)
				} else {
					attTo(v.Value, where)
				}
			case "Fn::Sub":
				if v.Kind == yaml.ScalarNode {
					subTo(v.Value, where, nil)
				}
			case "Fn::If":
				if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
					condTo(v.Content[0].Value, where)
				}
			}
		}
		for _, c := range n.Content {
			walk(c, where)
		}
	}
	for _, section := range []string{"Conditions", "Resources", "Outputs"} {
		s := get(root, section)
		if s == nil {
			continue
		}
		for i := 0; i+1 < len(s.Content); i += 2 {
			id, body := s.Content[i].Value, s.Content[i+1]
			where := section + "." + id
			if c := get(body, "Condition"); c != nil && section != "Conditions" {
				condTo(c.Value, where)
			}
			if d := get(body, "DependsOn"); d != nil && section == "Resources" {
				for _, target := range append([]*yaml.Node{d}, d.Content...) {
					if target.Kind == yaml.ScalarNode && !resources[target.Value] {
						problems = append(problems, fmt.Sprintf("%s depends on %q, which is not a resource", where, target.Value))
					}
				}
			}
			walk(body, where)
		}
	}
	for p := range params {
		if !used[p] {
			problems = append(problems, fmt.Sprintf("parameter %q is never used", p))
		}
	}
	slices.Sort(problems)
	return problems
}

// intrinsicArgs gives, per short-form intrinsic, the scalar/sequence forms
// CloudFormation accepts and the sequence lengths allowed.
var intrinsicArgs = map[string]struct {
	scalar   bool
	min, max int // sequence length; 0,0 = no sequence form
}{
	"!Ref": {scalar: true}, "!Condition": {scalar: true}, "!GetAZs": {scalar: true},
	"!Sub": {scalar: true, min: 2, max: 2}, "!GetAtt": {scalar: true, min: 2, max: 2},
	"!Join": {min: 2, max: 2}, "!Select": {min: 2, max: 2}, "!Split": {min: 2, max: 2},
	"!If": {min: 3, max: 3}, "!Equals": {min: 2, max: 2}, "!Not": {min: 1, max: 1},
	"!And": {min: 2, max: 10}, "!Or": {min: 2, max: 10}, "!FindInMap": {min: 3, max: 4},
	"!ImportValue": {scalar: true}, "!Base64": {scalar: true}, "!Cidr": {min: 3, max: 3},
}

func intrinsicShape(n *yaml.Node) string {
	spec, ok := intrinsicArgs[n.Tag]
	if !ok {
		return ""
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if !spec.scalar {
			return n.Tag + " needs a list of arguments"
		}
	case yaml.SequenceNode:
		if spec.max == 0 {
			return n.Tag + " does not take a list"
		}
		if len(n.Content) < spec.min || len(n.Content) > spec.max {
			return fmt.Sprintf("%s takes %d to %d arguments, not %d", n.Tag, spec.min, spec.max, len(n.Content))
		}
	case yaml.MappingNode:
		if n.Tag != "!ImportValue" && n.Tag != "!Base64" && n.Tag != "!GetAZs" {
			return n.Tag + " cannot take a map"
		}
	}
	return ""
}

func names0(m *yaml.Node) map[string]bool {
	out := map[string]bool{}
	if m != nil && m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			out[m.Content[i].Value] = true
		}
	}
	return out
}

func TestTemplateProblemsFindsBrokenReferences(t *testing.T) {
	tests := []struct {
		name string
		tpl  string
		want []string
	}{
		{"clean", `
Parameters: {P: {Type: String}}
Conditions: {C: !Equals [!Ref P, x]}
Resources:
  A: {Type: AWS::SNS::Topic, Condition: C, Properties: {TopicName: !Sub "${P}-${AWS::Region}"}}
  B: {Type: AWS::SNS::Topic, DependsOn: A, Properties: {TopicName: !GetAtt A.TopicName}}
`, nil},
		{"dangling", `
Parameters: {Unused: {Type: String}}
Resources:
  A: {Type: AWS::SNS::Topic, Condition: Missing, DependsOn: [Ghost], Properties: {TopicName: !Ref Nope, DisplayName: !GetAtt Gone.Arn, KmsMasterKeyId: !Sub "${Absent}"}}
`, []string{
			`Resources.A depends on "Ghost", which is not a resource`,
			`Resources.A gets an attribute of "Gone", which is not a resource`,
			`Resources.A names condition "Missing", which is not defined`,
			`Resources.A refers to "Absent", which is neither a parameter nor a resource`,
			`Resources.A refers to "Nope", which is neither a parameter nor a resource`,
			`parameter "Unused" is never used`,
		}},
		{"malformed intrinsic", `
Resources:
  S: {Type: AWS::EC2::Subnet, Properties: {AvailabilityZone: !Select [0, !GetAZs [""]], VpcId: !Join [","]}}
`, []string{
			"Resources.S: !GetAZs does not take a list",
			"Resources.S: !Join takes 2 to 2 arguments, not 1",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.tpl), &doc); err != nil {
				t.Fatal(err)
			}
			got := templateProblems(doc.Content[0])
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSchemaValidationCatchesBadProperties(t *testing.T) {
	schema := resourceSchema(t, "AWS::AppRunner::VpcConnector")
	intrinsic := map[string]bool{}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("Subnets: [subnet-1]\nSecurityGroups: [sg-1]\nBogus: 1\n"), &doc); err != nil {
		t.Fatal(err)
	}
	props := toValue(doc.Content[0], nil, intrinsic)
	err := schema.Validate(props)
	if err == nil {
		t.Fatal("a property the schema does not know passed validation")
	}
	if got := leafErrors(err.(*jsonschema.ValidationError), intrinsic, props); len(got) == 0 {
		t.Errorf("the unknown property was filtered out of the findings")
	}
}
