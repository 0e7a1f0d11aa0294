package lint

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// pseudoParameters are the names CloudFormation defines in every template.
var pseudoParameters = []string{"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
	"AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}

// lintAddons checks an addons folder the way Copilot packages it: every
// template declares the parameters Copilot passes, every value in
// addons.parameters.yml is a declared parameter, every reference resolves,
// and nothing uses a resource AWS no longer deploys.
func lintAddons(a *workspace.Addons, workload bool) diag.List {
	var out diag.List
	required := []string{"App", "Env"}
	if workload {
		required = append(required, "Name")
	}
	declared := map[string]bool{}
	for _, t := range a.Templates {
		if t.Doc == nil {
			continue // the parse error is already reported
		}
		out = append(out, lintTemplate(t, required)...)
		for _, p := range keys(get(t.Doc, "Parameters")) {
			declared[p.Value] = true
		}
	}
	if params := a.Parameters; params != nil && params.Kind == yaml.MappingNode {
		for _, k := range keys(params) {
			switch {
			case slices.Contains(required, k.Value):
				out = append(out, diag.Diagnostic{File: a.ParametersPath, Line: k.Line, Column: k.Column, Severity: diag.Error, Rule: "addon-parameters",
					Message: fmt.Sprintf("parameter %s is reserved: Copilot passes it to every addon", k.Value), Fix: "remove it from addons.parameters.yml"})
			case !declared[k.Value]:
				out = append(out, diag.Diagnostic{File: a.ParametersPath, Line: k.Line, Column: k.Column, Severity: diag.Error, Rule: "addon-parameters",
					Message: fmt.Sprintf("parameter %s is not declared by any addon template", k.Value), Fix: "declare it under Parameters in the addon template, or remove it"})
			}
		}
	}
	return out
}

func keys(m *yaml.Node) []*yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, m.Content[i])
	}
	return out
}

func lintTemplate(t workspace.AddonTemplate, required []string) diag.List {
	var out diag.List
	add := func(n *yaml.Node, sev diag.Severity, rule, msg, fix string) {
		out = append(out, diag.Diagnostic{File: t.Path, Line: n.Line, Column: n.Column, Severity: sev, Rule: rule, Message: msg, Fix: fix})
	}
	if t.Doc.Kind != yaml.MappingNode {
		add(t.Doc, diag.Error, "addon-template", "an addon template must be a CloudFormation template (a mapping)", "start it with Parameters, Resources and Outputs")
		return out
	}
	params, resources := get(t.Doc, "Parameters"), get(t.Doc, "Resources")
	for _, p := range required {
		if get(params, p) == nil {
			at := t.Doc
			if params != nil {
				at = params
			}
			add(at, diag.Error, "addon-parameters", fmt.Sprintf("the template must declare parameter %s: Copilot and autopilot pass App, Env and Name to every addon", p),
				fmt.Sprintf("add `%s: {Type: String}` under Parameters", p))
		}
	}
	if resources == nil {
		add(t.Doc, diag.Error, "addon-template", "the template has no Resources", "add the resources this addon creates")
	}
	defined := map[string]bool{}
	for _, n := range pseudoParameters {
		defined[n] = true
	}
	for _, section := range []string{"Parameters", "Resources"} {
		for _, k := range keys(get(t.Doc, section)) {
			defined[k.Value] = true
		}
	}
	conditions := map[string]bool{}
	for _, k := range keys(get(t.Doc, "Conditions")) {
		conditions[k.Value] = true
	}
	resourceNames := map[string]bool{}
	for _, k := range keys(resources) {
		resourceNames[k.Value] = true
	}
	walkRefs(t.Doc, func(n *yaml.Node, kindOf, target string) {
		switch kindOf {
		case "Ref":
			if !defined[target] {
				add(n, diag.Error, "addon-reference", fmt.Sprintf("Ref to %q, which is neither a parameter nor a resource of this template", target), "declare it, or fix the name")
			}
		case "GetAtt":
			if !resourceNames[target] {
				add(n, diag.Error, "addon-reference", fmt.Sprintf("GetAtt on %q, which is not a resource of this template", target), "fix the resource name")
			}
		case "Condition":
			if !conditions[target] {
				add(n, diag.Error, "addon-reference", fmt.Sprintf("condition %q is not defined under Conditions", target), "define it, or fix the name")
			}
		}
	})
	entries(resources, func(k, r *yaml.Node) {
		if scalar(get(r, "Type")) == "AWS::RDS::DBCluster" {
			if mode := get(get(r, "Properties"), "EngineMode"); scalar(mode) == "serverless" {
				add(mode, diag.Error, "aurora-serverless-v1", fmt.Sprintf("%s uses Aurora Serverless v1 (EngineMode: serverless), which AWS has retired: it will not deploy", k.Value),
					"use Aurora Serverless v2: remove EngineMode, set ServerlessV2ScalingConfiguration and add an AWS::RDS::DBInstance with DBInstanceClass db.serverless")
			}
		}
	})
	return out
}

var subRef = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// walkRefs calls fn for every Ref, GetAtt and condition reference in the
// template, in both the short (!Ref) and long (Ref:, Fn::GetAtt:) forms.
func walkRefs(n *yaml.Node, fn func(n *yaml.Node, kind, target string)) {
	switch n.Tag {
	case "!Ref":
		fn(n, "Ref", n.Value)
	case "!GetAtt":
		if n.Kind == yaml.ScalarNode {
			target, _, _ := strings.Cut(n.Value, ".")
			fn(n, "GetAtt", target)
		} else if len(n.Content) > 0 {
			fn(n, "GetAtt", n.Content[0].Value)
		}
	case "!Condition":
		fn(n, "Condition", n.Value)
	case "!Sub":
		subRefs(n, fn)
	case "!If":
		if len(n.Content) > 0 {
			fn(n.Content[0], "Condition", n.Content[0].Value)
		}
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch k.Value {
			case "Ref":
				if v.Kind == yaml.ScalarNode {
					fn(v, "Ref", v.Value)
				}
			case "Fn::GetAtt":
				if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
					fn(v, "GetAtt", v.Content[0].Value)
				} else if v.Kind == yaml.ScalarNode {
					target, _, _ := strings.Cut(v.Value, ".")
					fn(v, "GetAtt", target)
				}
			case "Fn::Sub":
				subRefs(v, fn)
			case "Fn::If":
				if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
					fn(v.Content[0], "Condition", v.Content[0].Value)
				}
			case "Condition":
				if v.Kind == yaml.ScalarNode {
					fn(v, "Condition", v.Value)
				}
			}
		}
	}
	for _, c := range n.Content {
		walkRefs(c, fn)
	}
}

// subRefs checks ${Name} and ${Resource.Attr} in a Sub string; a variable
// map in the two-element form defines extra names.
func subRefs(n *yaml.Node, fn func(*yaml.Node, string, string)) {
	text, local := n, map[string]bool{}
	if n.Kind == yaml.SequenceNode && len(n.Content) == 2 {
		text = n.Content[0]
		for _, k := range keys(n.Content[1]) {
			local[k.Value] = true
		}
	}
	if text.Kind != yaml.ScalarNode {
		return
	}
	for _, m := range subRef.FindAllStringSubmatch(text.Value, -1) {
		name := strings.TrimSpace(m[1])
		if local[name] {
			continue
		}
		if target, _, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			fn(text, "GetAtt", target)
			continue
		}
		fn(text, "Ref", name)
	}
}

// entries calls fn for each key and value of a mapping, in file order.
func entries(m *yaml.Node, fn func(k, v *yaml.Node)) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		fn(m.Content[i], m.Content[i+1])
	}
}

// scalar is a scalar's value, "" for anything else.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
