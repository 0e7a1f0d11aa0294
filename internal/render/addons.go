package render

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// addonsStackName is the logical ID of the nested stack that holds addons.
const addonsStackName = "AddonsStack"

// Rule IDs of the findings this package reports.
const (
	ruleAddons      = "render/addons"
	ruleUnsupported = "render/unsupported"
	ruleManifest    = "render/manifest"
	ruleImage       = "render/image"
	ruleSize        = "render/template-size"
	ruleParameter   = "render/parameter"
)

// addonOutput is one Output of the merged addons template and what Copilot
// makes of it.
type addonOutput struct {
	Name                                  string
	IsSecret, IsManagedPolicy, IsSecGroup bool
}

// mergedAddons is the single template Copilot packages from an addons/ folder.
type mergedAddons struct {
	Template []byte
	Outputs  []addonOutput
	// Params are the key/value nodes of addons.parameters.yml, in file order.
	Params []*yaml.Node
	// Objects are the packaged local artifacts, by key in the artifacts bucket.
	Objects map[string][]byte
}

// templateSections lists the template sections in the order Copilot writes
// the merged template; AWSTemplateFormatVersion and Description of the
// individual files are dropped, as Copilot drops them.
var templateSections = []string{"Metadata", "Parameters", "Mappings", "Conditions", "Transform", "Resources", "Outputs"}

// workloadReservedParams are passed by the parent stack to every workload
// addon; envReservedParams to environment addons (Copilot's reserved keys).
var (
	workloadReservedParams = []string{"App", "Env", "Name"}
	envReservedParams      = []string{"App", "Env"}
)

// mergeAddons merges every template of an addons folder into one, with
// Copilot's rules: a logical ID defined twice must be defined identically,
// Mappings merge one level deeper, Transform is a set. reserved are the
// parameters the parent stack passes.
func mergeAddons(a *workspace.Addons, reserved []string) (*mergedAddons, diag.List) {
	if a == nil || len(a.Templates) == 0 {
		return nil, nil
	}
	var diags diag.List
	merged := map[string]*yaml.Node{}
	origin := map[*yaml.Node]string{} // node -> file it came from, for conflict messages
	index := keyIndex{}
	perFile := map[string]map[string]int{} // section -> file -> entries, for the limit messages
	for _, t := range a.Templates {
		doc := t.Doc
		if doc == nil {
			var root yaml.Node
			if err := yaml.Unmarshal(t.Raw, &root); err != nil {
				diags = append(diags, diag.Diagnostic{File: t.Path, Line: errorLine(err), Severity: diag.Error, Rule: ruleAddons,
					Message: fmt.Sprintf("addon template is not valid YAML: %v", err), Fix: "fix the YAML syntax of this CloudFormation template"})
				continue
			}
			doc = &root
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
			doc = doc.Content[0]
		}
		if doc.Kind != yaml.MappingNode {
			diags = append(diags, diag.Diagnostic{File: t.Path, Line: doc.Line, Column: doc.Column, Severity: diag.Error, Rule: ruleAddons,
				Message: "addon template must be a YAML mapping with a Resources section"})
			continue
		}
		for _, section := range templateSections {
			src := get(doc, section)
			if src == nil {
				continue
			}
			dst := merged[section]
			if section == "Transform" {
				merged[section] = addToSet(dst, deepCopy(src))
				continue
			}
			if src.Kind != yaml.MappingNode {
				diags = append(diags, diag.Diagnostic{File: t.Path, Line: src.Line, Column: src.Column, Severity: diag.Error, Rule: ruleAddons,
					Message: fmt.Sprintf("section %s must be a map", section)})
				continue
			}
			if dst == nil {
				dst = kv()
				merged[section] = dst
			}
			depth := 1
			if section == "Mappings" {
				depth = 2
			}
			diags = append(diags, mergeMaps(dst, src, depth, section, t.Path, origin, index)...)
			if perFile[section] == nil {
				perFile[section] = map[string]int{}
			}
			perFile[section][filepath.Base(t.Path)] += len(src.Content) / 2
		}
	}
	diags = append(diags, checkAddonLimits(a, merged, perFile)...)
	if merged["Resources"] == nil && !diags.HasErrors() {
		diags = append(diags, diag.Diagnostic{File: a.Dir, Severity: diag.Error, Rule: ruleAddons,
			Message: "addon templates define no Resources", Fix: "add a Resources section to an addon template, or remove the addons folder"})
	}
	params, pdiags := addonParams(a, merged["Parameters"], reserved)
	diags = append(diags, pdiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	root := kv()
	for _, section := range templateSections {
		if n := merged[section]; n != nil {
			root.Content = append(root.Content, str(section), n)
		}
	}
	out, err := encode(root)
	if err != nil {
		return nil, append(diags, diag.Diagnostic{File: a.Dir, Severity: diag.Error, Rule: ruleAddons, Message: fmt.Sprintf("encode merged addons template: %v", err)})
	}
	if len(out) > maxS3Template {
		sizes := map[string]int{}
		for _, t := range a.Templates {
			sizes[filepath.Base(t.Path)] = len(t.Raw)
		}
		return nil, append(diags, diag.Diagnostic{File: a.Dir, Severity: diag.Error, Rule: ruleAddons,
			Message: fmt.Sprintf("the merged addons template is %d bytes (%s), over CloudFormation's limit of %d bytes for a template in S3", len(out), byFile(sizes, "bytes"), maxS3Template),
			Fix:     "make the addon templates smaller, or deploy part of them as a stack of their own"})
	}
	return &mergedAddons{Template: out, Outputs: classifyOutputs(merged["Resources"], merged["Outputs"], index), Params: params}, diags
}

// CloudFormation's limits for one stack (its quotas table), which the
// nested addons stack must fit: a template in S3 may not exceed 1,000,000
// bytes ("Template may not exceed 1000000 bytes in size").
const maxS3Template = 1000000

var addonLimits = []struct {
	section string
	max     int
}{{"Resources", 500}, {"Outputs", 200}, {"Parameters", 200}, {"Mappings", 200}}

// checkAddonLimits refuses merged addons with more resources, outputs,
// parameters or mappings than one stack may hold, naming each file's share.
func checkAddonLimits(a *workspace.Addons, merged map[string]*yaml.Node, perFile map[string]map[string]int) diag.List {
	var diags diag.List
	for _, l := range addonLimits {
		n := merged[l.section]
		if n == nil || len(n.Content)/2 <= l.max {
			continue
		}
		diags = append(diags, diag.Diagnostic{File: a.Dir, Severity: diag.Error, Rule: ruleAddons,
			Message: fmt.Sprintf("the addon templates define %d %s (%s), over CloudFormation's limit of %d per stack",
				len(n.Content)/2, strings.ToLower(l.section), byFile(perFile[l.section], strings.ToLower(l.section)), l.max),
			Fix: fmt.Sprintf("keep this workload's addons to %d %s, and deploy the rest as a stack of their own", l.max, strings.ToLower(l.section))})
	}
	return diags
}

// byFile lists counts per file: "a.yml: 300 resources, b.yml: 250 resources".
func byFile(counts map[string]int, unit string) string {
	parts := make([]string, 0, len(counts))
	for _, f := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s: %d %s", f, counts[f], unit))
	}
	return strings.Join(parts, ", ")
}

// keyIndex maps a merged mapping node to its keys' values, so merging n
// keys costs O(n) rather than a scan of the mapping per key.
type keyIndex map[*yaml.Node]map[string]*yaml.Node

// get returns m's value for key (the first, as yaml's own lookup does).
func (ix keyIndex) get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	keys, ok := ix[m]
	if !ok {
		keys = make(map[string]*yaml.Node, len(m.Content)/2)
		for i := len(m.Content) - 2; i >= 0; i -= 2 {
			keys[m.Content[i].Value] = m.Content[i+1]
		}
		ix[m] = keys
	}
	return keys[key]
}

// add appends key: v to m.
func (ix keyIndex) add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, str(key), v)
	if keys, ok := ix[m]; ok {
		keys[key] = v
	}
}

// mergeMaps adds src's keys to dst; a key already present must hold an equal
// value (depth 1) or be merged one level down (depth 2).
func mergeMaps(dst, src *yaml.Node, depth int, path, file string, origin map[*yaml.Node]string, ix keyIndex) diag.List {
	var diags diag.List
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		existing := ix.get(dst, k.Value)
		if existing == nil {
			c := deepCopy(v)
			origin[c] = file
			ix.add(dst, k.Value, c)
			continue
		}
		if depth > 1 && existing.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode {
			diags = append(diags, mergeMaps(existing, v, depth-1, path+"."+k.Value, file, origin, ix)...)
			continue
		}
		if !sameNode(existing, v) {
			first := origin[existing]
			diags = append(diags, diag.Diagnostic{File: file, Line: k.Line, Column: k.Column, Severity: diag.Error, Rule: ruleAddons,
				Message: fmt.Sprintf("%s.%s is already defined differently in %s", path, k.Value, filepath.Base(first)),
				Fix:     "give the two definitions different logical IDs, or make them identical"})
		}
	}
	return diags
}

// sameNode compares values ignoring style, comments and position.
func sameNode(a, b *yaml.Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

func addToSet(set, n *yaml.Node) *yaml.Node {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	if set == nil {
		set = seq()
	}
	for _, it := range items {
		if !slices.ContainsFunc(set.Content, func(e *yaml.Node) bool { return sameNode(e, it) }) {
			set.Content = append(set.Content, it)
		}
	}
	return set
}

// addonParams checks addons.parameters.yml against the merged template's
// Parameters, as Copilot does, and returns its key/value nodes.
func addonParams(a *workspace.Addons, tplParams *yaml.Node, reserved []string) ([]*yaml.Node, diag.List) {
	var diags diag.List
	file := a.ParametersPath
	if file == "" {
		file = a.Dir
	}
	errAt := func(n *yaml.Node, msg, fix string) {
		d := diag.Diagnostic{File: file, Severity: diag.Error, Rule: ruleParameter, Message: msg, Fix: fix}
		if n != nil {
			d.Line, d.Column = n.Line, n.Column
		}
		diags = append(diags, d)
	}
	if a.ParametersPath != "" && (a.Parameters == nil || a.Parameters.Kind != yaml.MappingNode) {
		errAt(a.Parameters, "addons.parameters.yml must define a Parameters map", "write `Parameters:` followed by NAME: VALUE pairs")
		return nil, diags
	}
	custom := map[string]*yaml.Node{}
	var nodes []*yaml.Node
	if a.Parameters != nil {
		for i := 0; i+1 < len(a.Parameters.Content); i += 2 {
			k := a.Parameters.Content[i]
			custom[k.Value] = k
			nodes = append(nodes, k, a.Parameters.Content[i+1])
		}
	}
	declared := map[string]bool{}
	if tplParams != nil {
		for i := 0; i+1 < len(tplParams.Content); i += 2 {
			declared[tplParams.Content[i].Value] = true
		}
	}
	for _, k := range reserved {
		if !declared[k] {
			errAt(nil, fmt.Sprintf("required parameter %q is missing from the addon templates", k),
				fmt.Sprintf("declare `%s: {Type: String}` under Parameters in an addon template", k))
		}
		if n, ok := custom[k]; ok {
			errAt(n, fmt.Sprintf("reserved parameter %q cannot be set in addons.parameters.yml", k), fmt.Sprintf("remove it: %s and %s are always passed", strings.Join(reserved[:len(reserved)-1], ", "), reserved[len(reserved)-1]))
		}
	}
	for _, k := range sortedKeys(custom) {
		if !declared[k] {
			errAt(custom[k], fmt.Sprintf("the addon templates do not declare the parameter %q set in addons.parameters.yml", k),
				"declare it under Parameters in an addon template, or remove it")
		}
	}
	if tplParams != nil {
		for i := 0; i+1 < len(tplParams.Content); i += 2 {
			name := tplParams.Content[i].Value
			if slices.Contains(reserved, name) || custom[name] != nil || get(tplParams.Content[i+1], "Default") != nil {
				continue
			}
			errAt(tplParams.Content[i], fmt.Sprintf("addon parameter %q has no default value and is not set in addons.parameters.yml", name),
				"give it a Default, or set it in addons.parameters.yml")
		}
	}
	return nodes, diags
}

func classifyOutputs(resources, outputs *yaml.Node, ix keyIndex) []addonOutput {
	if outputs == nil {
		return nil
	}
	var res []addonOutput
	for i := 0; i+1 < len(outputs.Content); i += 2 {
		o := addonOutput{Name: outputs.Content[i].Value}
		if target, ok := refTarget(get(outputs.Content[i+1], "Value")); ok {
			switch typ := scalarValue(get(ix.get(resources, target), "Type")); typ {
			case "AWS::SecretsManager::Secret":
				o.IsSecret = true
			case "AWS::IAM::ManagedPolicy":
				o.IsManagedPolicy = true
			case "AWS::EC2::SecurityGroup":
				o.IsSecGroup = true
			}
		}
		res = append(res, o)
	}
	return res
}

// refTarget returns X for `!Ref X` or `{Ref: X}`.
func refTarget(n *yaml.Node) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!Ref" {
		return strings.TrimSpace(n.Value), true
	}
	if r := get(n, "Ref"); r != nil && r.Kind == yaml.ScalarNode && len(n.Content) == 2 {
		return r.Value, true
	}
	return "", false
}

func scalarValue(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

var (
	lowerUpper = regexp.MustCompile("([a-z0-9]+)([A-Z])")
	upperLower = regexp.MustCompile("([A-Z0-9])([A-Z][a-z])")
	nonAlnum   = regexp.MustCompile("[^a-zA-Z0-9]+")
)

// snakeCase turns an output name into the variable name Copilot gives it:
// demoDbSecret -> DEMO_DB_SECRET.
func snakeCase(s string) string {
	s = lowerUpper.ReplaceAllString(s, "${1}_${2}")
	s = upperLower.ReplaceAllString(s, "${1}_${2}")
	return strings.ToUpper(s)
}

// logicalIDSafe strips what CloudFormation logical IDs cannot hold.
func logicalIDSafe(s string) string { return nonAlnum.ReplaceAllString(s, "") }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// workloadAddons merges a workload's addons (nil without any) and packages
// their local artifacts, its findings naming the environment being rendered.
func workloadAddons(a *workspace.Addons, env, workload string, opts Options) (*mergedAddons, diag.List) {
	return addonsIn(a, env, workload, workloadReservedParams, opts)
}

// envAddonsKey is the folder Copilot keys environment addons' local
// artifacts under, in place of a workload's name:
// manual/addons/environments/assets/<hash>.
const envAddonsKey = "environments"

// addonsIn merges an addons folder for one environment's render, with the
// parameters its parent passes (reserved), and packages its local
// artifacts under key.
func addonsIn(a *workspace.Addons, env, key string, reserved []string, opts Options) (*mergedAddons, diag.List) {
	if a == nil {
		return nil, nil
	}
	merged, diags := mergeAddons(a, reserved)
	if merged != nil {
		diags = append(diags, packageAddonAssets(merged, a, key, opts)...)
	}
	for i := range diags {
		diags[i].Env = env
	}
	return merged, diags
}

// paramRefProblem is a reference in addons.parameters.yml the parent
// template cannot resolve.
type paramRefProblem struct {
	at  manifest.Pos
	msg string
}

// subRefs are the ${Name} and ${Name.Attr} variables of an Fn::Sub string.
var subRefs = regexp.MustCompile(`\$\{([^!}][^}.]*)[^}]*\}`)

// envAddonParamRefs checks that every Ref, GetAtt and Sub variable in the
// values of addons.parameters.yml names a parameter or resource of the
// rendered environment template: Copilot evaluates them in the environment
// stack, and one naming something autopilot does not render would fail
// only when CloudFormation reads the template.
func envAddonParamRefs(tpl *yaml.Node, addons *mergedAddons) []paramRefProblem {
	known := func(name string) bool {
		return strings.HasPrefix(name, "AWS::") || get(get(tpl, "Parameters"), name) != nil || get(get(tpl, "Resources"), name) != nil
	}
	var out []paramRefProblem
	var walk func(param string, n *yaml.Node)
	check := func(param, name string, n *yaml.Node) {
		if name = strings.TrimSpace(name); name != "" && !known(name) {
			out = append(out, paramRefProblem{at: manifest.Pos{Line: n.Line, Column: n.Column},
				msg: fmt.Sprintf("addon parameter %s refers to %q, which the environment stack does not define", param, name)})
		}
	}
	walk = func(param string, n *yaml.Node) {
		if n == nil {
			return
		}
		switch {
		case n.Kind == yaml.ScalarNode && n.Tag == "!Ref":
			check(param, n.Value, n)
		case n.Kind == yaml.ScalarNode && n.Tag == "!GetAtt":
			check(param, strings.SplitN(n.Value, ".", 2)[0], n)
		case n.Kind == yaml.ScalarNode && n.Tag == "!Sub":
			for _, m := range subRefs.FindAllStringSubmatch(n.Value, -1) {
				check(param, m[1], n)
			}
		case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Ref":
			check(param, scalarValue(n.Content[1]), n.Content[1])
		case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::Sub" && n.Content[1].Kind == yaml.ScalarNode:
			for _, m := range subRefs.FindAllStringSubmatch(n.Content[1].Value, -1) {
				check(param, m[1], n.Content[1])
			}
		case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::GetAtt":
			v := n.Content[1]
			if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
				check(param, scalarValue(v.Content[0]), v.Content[0])
			} else {
				check(param, strings.SplitN(scalarValue(v), ".", 2)[0], v)
			}
		default:
			for _, c := range n.Content {
				walk(param, c)
			}
		}
	}
	for i := 0; i+1 < len(addons.Params); i += 2 {
		walk(addons.Params[i].Value, addons.Params[i+1])
	}
	return out
}
