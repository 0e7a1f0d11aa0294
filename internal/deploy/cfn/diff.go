package cfn

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Masked replaces a value that must never be shown.
const Masked = "****"

// Change is one resource change, shaped like a change set's ResourceChange.
type Change struct {
	Action       string // Add, Modify, Remove
	LogicalID    string
	ResourceType string
	Replacement  string // True, Conditional, False; empty for Add and Remove
	// PolicyAction is "Retain" for a Remove of a resource whose
	// DeletionPolicy keeps it, "Delete" for other Removes.
	PolicyAction string
	Scope        []string
	Details      []Detail
}

// Detail is one changed attribute of a modified resource.
type Detail struct {
	Attribute          string // Properties, Metadata
	Name               string // property name
	Path               string // /Properties/Name
	ChangeType         string // Add, Remove, Modify
	Before, After      string // display values, NoEcho parameters masked
	RequiresRecreation string // Never, Conditionally, Always
	ChangeSource       string // DirectModification, ParameterReference
	CausingEntity      string // the parameter, for ParameterReference
}

// Diff compares a deployed template and its parameters with a new one. A nil
// old template stands for a stack that does not exist: everything is added.
// Changes come out sorted by logical ID.
func Diff(old *Template, oldParams map[string]string, new *Template, newParams map[string]string) []Change {
	if new == nil {
		new = &Template{}
	}
	// Resources whose Condition is false do not exist, before or after.
	oldRes, newRes := old.Active(oldParams), new.Active(newParams)
	oldVals, newVals := old.Effective(oldParams), new.Effective(newParams)
	oldSecret, newSecret := old.NoEcho(), new.NoEcho()

	ids := map[string]bool{}
	for id := range oldRes {
		ids[id] = true
	}
	for id := range newRes {
		ids[id] = true
	}
	var out []Change
	for _, id := range sortedKeys(ids) {
		before, inOld := oldRes[id]
		after, inNew := newRes[id]
		switch {
		case !inOld:
			out = append(out, Change{Action: "Add", LogicalID: id, ResourceType: after.Type})
		case !inNew:
			policy := "Delete"
			if before.DeletionPolicy == "Retain" || before.DeletionPolicy == "RetainExceptOnCreate" {
				policy = "Retain"
			}
			out = append(out, Change{Action: "Remove", LogicalID: id, ResourceType: before.Type, PolicyAction: policy})
		default:
			c := Change{Action: "Modify", LogicalID: id, ResourceType: after.Type}
			if before.Type != after.Type {
				c.Replacement = "True"
				c.Scope = []string{"Properties"}
				c.Details = []Detail{{Attribute: "Properties", Name: "Type", Path: "/Type", ChangeType: "Modify",
					Before: before.Type, After: after.Type, RequiresRecreation: "Always", ChangeSource: "DirectModification"}}
				out = append(out, c)
				continue
			}
			c.Details = propertyDetails(after.Type, before.Properties, oldVals, oldSecret, after.Properties, newVals, newSecret)
			if len(c.Details) > 0 {
				c.Scope = append(c.Scope, "Properties")
			}
			if !Equal(before.Metadata, after.Metadata) {
				c.Scope = append(c.Scope, "Metadata")
				c.Details = append(c.Details, Detail{Attribute: "Metadata", Path: "/Metadata", ChangeType: "Modify",
					Before: Display(before.Metadata), After: Display(after.Metadata), RequiresRecreation: "Never", ChangeSource: "DirectModification"})
			}
			if len(c.Details) == 0 {
				continue
			}
			c.Replacement = replacement(c.Details)
			out = append(out, c)
		}
	}
	return out
}

func propertyDetails(resourceType string, before map[string]any, oldVals map[string]string, oldSecret map[string]bool,
	after map[string]any, newVals map[string]string, newSecret map[string]bool) []Detail {
	names := map[string]bool{}
	for k := range before {
		names[k] = true
	}
	for k := range after {
		names[k] = true
	}
	var out []Detail
	for _, name := range sortedKeys(names) {
		b, inBefore := before[name]
		a, inAfter := after[name]
		d := Detail{
			Attribute:          "Properties",
			Name:               name,
			Path:               "/Properties/" + name,
			ChangeType:         "Modify",
			RequiresRecreation: RequiresRecreation(resourceType, name),
			ChangeSource:       "DirectModification",
		}
		switch {
		case !inBefore:
			d.ChangeType = "Add"
		case !inAfter:
			d.ChangeType = "Remove"
		}
		var rb, ra any
		if inBefore {
			rb = resolve(b, oldVals, oldSecret, true)
			d.Before = Display(rb)
		}
		if inAfter {
			ra = resolve(a, newVals, newSecret, true)
			d.After = Display(ra)
		}
		if Equal(b, a) && inBefore == inAfter {
			// Same text in both templates: it still changes when a
			// parameter it refers to changes value.
			for _, p := range referencedParams(a) {
				if oldVals[p] != newVals[p] {
					d.ChangeSource = "ParameterReference"
					d.CausingEntity = p
					break
				}
			}
			if d.ChangeSource != "ParameterReference" {
				continue
			}
		}
		if !inBefore || !inAfter {
			out = append(out, d)
			continue
		}
		// Point at the values that changed inside the property, as change
		// sets with property values do, rather than at the whole property.
		leaves := leafChanges(rb, ra, d.Path)
		if len(leaves) == 0 {
			out = append(out, d) // e.g. a masked NoEcho value changed
			continue
		}
		for _, l := range leaves {
			ld := d
			ld.Path, ld.ChangeType, ld.Before, ld.After = l.path, l.changeType, l.before, l.after
			out = append(out, ld)
		}
	}
	return out
}

type leaf struct {
	path, changeType, before, after string
}

// leafChanges lists where two resolved values differ: it descends through
// mappings and lists (matching list items by their Name or Key when every
// item has a distinct one, by position otherwise) down to the scalars,
// intrinsic functions or shapes that differ.
func leafChanges(before, after any, path string) []leaf {
	if Equal(before, after) {
		return nil
	}
	bm, bIsMap := before.(map[string]any)
	am, aIsMap := after.(map[string]any)
	if bIsMap && aIsMap && !isIntrinsic(bm) && !isIntrinsic(am) {
		keys := map[string]bool{}
		for k := range bm {
			keys[k] = true
		}
		for k := range am {
			keys[k] = true
		}
		var out []leaf
		for _, k := range sortedKeys(keys) {
			b, inB := bm[k]
			a, inA := am[k]
			switch {
			case !inB:
				out = append(out, leaf{path + "/" + k, "Add", "", Display(a)})
			case !inA:
				out = append(out, leaf{path + "/" + k, "Remove", Display(b), ""})
			default:
				out = append(out, leafChanges(b, a, path+"/"+k)...)
			}
		}
		return out
	}
	bl, bIsList := before.([]any)
	al, aIsList := after.([]any)
	if bIsList && aIsList {
		if bk, ak := itemKeys(bl), itemKeys(al); bk != nil && ak != nil {
			var out []leaf
			for i, item := range al {
				if j, ok := bk[itemKey(item)]; ok {
					out = append(out, leafChanges(bl[j], item, path+"/"+strconv.Itoa(i))...)
				} else {
					out = append(out, leaf{path + "/" + strconv.Itoa(i), "Add", "", Display(item)})
				}
			}
			for j, item := range bl {
				if _, ok := ak[itemKey(item)]; !ok {
					out = append(out, leaf{path + "/" + strconv.Itoa(j), "Remove", Display(item), ""})
				}
			}
			return out
		}
		if len(bl) == len(al) {
			var out []leaf
			for i := range al {
				out = append(out, leafChanges(bl[i], al[i], path+"/"+strconv.Itoa(i))...)
			}
			return out
		}
	}
	return []leaf{{path, "Modify", Display(before), Display(after)}}
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// itemKey is a list item's Name or Key, which identifies environment
// variables, tags and the like better than their position.
func itemKey(item any) string {
	m, _ := item.(map[string]any)
	for _, f := range []string{"Name", "Key"} {
		if s, ok := m[f].(string); ok {
			return f + "=" + s
		}
	}
	return ""
}

// itemKeys indexes a list by item key, or returns nil when some item has
// none or two share one.
func itemKeys(list []any) map[string]int {
	idx := make(map[string]int, len(list))
	for i, item := range list {
		k := itemKey(item)
		if _, dup := idx[k]; k == "" || dup {
			return nil
		}
		idx[k] = i
	}
	return idx
}

func replacement(details []Detail) string {
	r := "False"
	for _, d := range details {
		switch d.RequiresRecreation {
		case "Always":
			return "True"
		case "Conditionally":
			r = "Conditional"
		}
	}
	return r
}

var subVar = regexp.MustCompile(`\$\{([A-Za-z0-9_:.]+)\}`)

// resolve substitutes parameter values for Ref and Fn::Sub references, with
// NoEcho values masked when mask is set.
func resolve(v any, vals map[string]string, secret map[string]bool, mask bool) any {
	value := func(p string) (string, bool) {
		s, ok := vals[p]
		if ok && mask && secret[p] {
			return Masked, true
		}
		return s, ok
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if p, ok := x["Ref"].(string); ok {
				if s, ok := value(p); ok {
					return s
				}
				return x
			}
			if s, ok := x["Fn::Sub"].(string); ok {
				return subVar.ReplaceAllStringFunc(s, func(m string) string {
					if r, ok := value(m[2 : len(m)-1]); ok {
						return r
					}
					return m
				})
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = resolve(e, vals, secret, mask)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolve(e, vals, secret, mask)
		}
		return out
	}
	return v
}

// referencedParams lists every name a value refers to through Ref or Fn::Sub.
func referencedParams(v any) []string {
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if p, ok := x["Ref"].(string); ok {
				seen[p] = true
			}
			if s, ok := x["Fn::Sub"].(string); ok {
				for _, m := range subVar.FindAllStringSubmatch(s, -1) {
					seen[m[1]] = true
				}
			}
			if l, ok := x["Fn::Sub"].([]any); ok && len(l) > 0 {
				if s, ok := l[0].(string); ok {
					for _, m := range subVar.FindAllStringSubmatch(s, -1) {
						seen[m[1]] = true
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	out := make([]string, 0, len(seen))
	for p := range seen {
		if !strings.HasPrefix(p, "AWS::") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Resolve substitutes parameter values for Ref and Fn::Sub references in v.
// Values of parameters named in secret come out masked.
func Resolve(v any, vals map[string]string, secret map[string]bool) any {
	return resolve(v, vals, secret, len(secret) > 0)
}

// ReferencedParams lists the names v refers to through Ref or Fn::Sub
// (parameters or resources; pseudo parameters left out), sorted.
func ReferencedParams(v any) []string { return referencedParams(v) }
