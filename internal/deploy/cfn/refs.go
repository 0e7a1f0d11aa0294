package cfn

import (
	"fmt"
	"regexp"
	"strings"
)

// pseudoParameters are the names Ref resolves without a declaration.
var pseudoParameters = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

// Dangling is a reference to a name the template does not define.
type Dangling struct {
	Where string // "resource Service", "output ServiceURL", "condition IsProd"
	Kind  string // Ref, Fn::GetAtt, Fn::Sub, DependsOn, Condition, Fn::If
	Name  string
}

func (d Dangling) String() string {
	return fmt.Sprintf("%s: %s names %q, which the template does not define", d.Where, d.Kind, d.Name)
}

// DanglingReferences lists the references of the template that do not
// resolve: Ref to an undeclared parameter or resource, Fn::GetAtt, Fn::Sub
// variables and DependsOn naming no resource, and conditions (of
// resources, outputs, Fn::If and other conditions) that are not defined.
// CloudFormation would refuse such a template, or a change set built on it.
func (t *Template) DanglingReferences() []Dangling {
	conditions, _ := t.Other["Conditions"].(map[string]any)
	outputs, _ := t.Other["Outputs"].(map[string]any)
	c := refChecker{t: t, conditions: conditions}
	for _, id := range sortedKeys(t.Resources) {
		r := t.Resources[id]
		c.where = "resource " + id
		if r.Condition != "" {
			c.condition("Condition", r.Condition)
		}
		var deps []any
		switch d := r.DependsOn.(type) {
		case string:
			deps = []any{d}
		case []any:
			deps = d
		}
		for _, d := range deps {
			if name, _ := d.(string); !c.isResource(name) {
				c.add("DependsOn", name)
			}
		}
		c.walk(r.Properties, nil)
		c.walk(r.Metadata, nil)
	}
	for _, name := range sortedKeys(conditions) {
		c.where = "condition " + name
		c.walk(conditions[name], nil)
	}
	for _, name := range sortedKeys(outputs) {
		c.where = "output " + name
		out, _ := outputs[name].(map[string]any)
		if cond, ok := out["Condition"].(string); ok {
			c.condition("Condition", cond)
		}
		c.walk(out["Value"], nil)
		c.walk(out["Export"], nil)
	}
	return c.out
}

type refChecker struct {
	t          *Template
	conditions map[string]any
	where      string
	out        []Dangling
}

func (c *refChecker) add(kind, name string) {
	c.out = append(c.out, Dangling{Where: c.where, Kind: kind, Name: name})
}

func (c *refChecker) isResource(name string) bool {
	_, ok := c.t.Resources[name]
	return ok
}

func (c *refChecker) ref(kind, name string, local map[string]bool) {
	_, param := c.t.Parameters[name]
	if !param && !c.isResource(name) && !pseudoParameters[name] && !local[name] {
		c.add(kind, name)
	}
}

func (c *refChecker) condition(kind, name string) {
	if _, ok := c.conditions[name]; !ok {
		c.add(kind, name)
	}
}

// walk checks every intrinsic function in v; local holds the variables of
// an enclosing Fn::Sub's map.
func (c *refChecker) walk(v any, local map[string]bool) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			c.walk(e, local)
		}
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				if c.intrinsic(fn, arg, local) {
					return
				}
			}
		}
		for _, k := range sortedKeys(x) {
			c.walk(x[k], local)
		}
	}
}

// intrinsic checks one intrinsic function call; it reports whether it
// walked the arguments itself.
func (c *refChecker) intrinsic(fn string, arg any, local map[string]bool) bool {
	switch fn {
	case "Ref":
		if name, ok := arg.(string); ok {
			c.ref("Ref", name, local)
		}
	case "Condition":
		// {"Condition": name} is a reference only inside Conditions; in a
		// resource's properties it may be a property of that name.
		if name, ok := arg.(string); ok && strings.HasPrefix(c.where, "condition ") {
			c.condition("Condition", name)
		}
	case "Fn::GetAtt":
		var target string
		switch a := arg.(type) {
		case string:
			target, _, _ = strings.Cut(a, ".")
		case []any:
			if len(a) > 0 {
				target, _ = a[0].(string)
			}
		}
		if target != "" && !c.isResource(target) {
			c.add("Fn::GetAtt", target)
		}
	case "Fn::If":
		if a, ok := arg.([]any); ok && len(a) > 0 {
			if name, ok := a[0].(string); ok {
				c.condition("Fn::If", name)
			}
			c.walk(a[1:], local)
			return true
		}
	case "Fn::Sub":
		text, vars := arg, map[string]any(nil)
		if a, ok := arg.([]any); ok && len(a) == 2 {
			text = a[0]
			vars, _ = a[1].(map[string]any)
		}
		s, ok := text.(string)
		if !ok {
			return false
		}
		inner := map[string]bool{}
		for k := range local {
			inner[k] = true
		}
		for k := range vars {
			inner[k] = true
		}
		for _, m := range subVariable.FindAllStringSubmatch(s, -1) {
			name := strings.TrimSpace(m[1])
			if resource, _, isAttr := strings.Cut(name, "."); isAttr && !inner[name] {
				if !c.isResource(resource) {
					c.add("Fn::Sub", name)
				}
				continue
			}
			c.ref("Fn::Sub", name, inner)
		}
		c.walk(vars, local)
		return true
	}
	return false
}

// subVariable is ${Name} or ${Resource.Attribute} in an Fn::Sub string;
// ${!Literal} is not a variable.
var subVariable = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)
