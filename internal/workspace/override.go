package workspace

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// OverrideEnvs returns the environment names under `environments:`, sorted.
func (m *Manifest) OverrideEnvs() []string {
	envs := mapGet(m.Doc, "environments")
	if envs == nil || envs.Kind != yaml.MappingNode {
		return nil
	}
	set := map[string]bool{}
	for i := 0; i+1 < len(envs.Content); i += 2 {
		set[envs.Content[i].Value] = true
	}
	return sortedKeys(set)
}

// Resolve returns the manifest as Copilot sees it for env: a deep copy,
// interpolated, with `environments.<env>` merged over the base and the
// `environments` key removed. An empty env resolves the base manifest alone.
// Every node keeps its line and column in m.Path. It returns nil when the
// file did not parse.
func (m *Manifest) Resolve(env string, vars Vars) (*yaml.Node, diag.List) {
	if m.Doc == nil {
		return nil, nil
	}
	vars.Env = env
	var ds diag.List
	doc := clone(m.Doc)
	interpolate(doc, vars, m.Path, &ds)
	overrides := mapGet(doc, "environments")
	mapDelete(doc, "environments")
	if env == "" || m.Kind == Environment {
		return doc, ds
	}
	override := mapGet(overrides, env)
	if override == nil || override.ShortTag() == "!!null" {
		return doc, ds
	}
	if override.Kind != yaml.MappingNode {
		ds = append(ds, diag.Diagnostic{File: m.Path, Line: override.Line, Column: override.Column, Severity: diag.Error, Rule: "override-type",
			Message: fmt.Sprintf("environments.%s must be a mapping of the fields to override", env), Fix: "indent the overriding fields under the environment name"})
		return doc, ds
	}
	// name and type are not part of an override; Copilot ignores them there.
	override = clone(override)
	mapDelete(override, "name")
	mapDelete(override, "type")
	merge(doc, override, nil)
	return doc, ds
}

// exclusiveGroups lists mappings whose keys come in alternative forms: when
// an override sets a key of one form, the base's keys of the other forms are
// dropped (Copilot's union transformers), so image.location clears
// image.build. The key is the parent mapping's name.
var exclusiveGroups = map[string][][]string{
	"image": {{"build"}, {"location"}},
	// secrets.X: {secretsmanager} or {from_cfn}
	"*secret": {{"secretsmanager"}, {"from_cfn"}},
	// storage.volumes.X.efs: bring-your-own or managed file system
	"efs": {{"id", "root_dir", "auth"}, {"uid", "gid"}},
	// count: Fargate Spot tasks, or autoscaling between a range
	"count": {{"spot"}, {"range", "cooldown", "cpu_percentage", "memory_percentage", "requests", "response_time", "queue_delay"}},
}

// merge applies Copilot's override rules onto base in place: a scalar or a
// sequence replaces, a mapping merges key by key, a null leaves the base
// value alone, and a value of another shape (a union switching form)
// replaces. parents are the keys leading to base, innermost last.
func merge(base, over *yaml.Node, parents []string) {
	if base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return
	}
	dropAlternatives(base, over, parents)
	for i := 0; i+1 < len(over.Content); i += 2 {
		key, val := over.Content[i], over.Content[i+1]
		if val.ShortTag() == "!!null" {
			continue
		}
		cur := mapGet(base, key.Value)
		switch {
		case cur == nil:
			base.Content = append(base.Content, key, val)
		case cur.Kind == yaml.MappingNode && val.Kind == yaml.MappingNode:
			merge(cur, val, append(parents, key.Value))
		default:
			*cur = *val
		}
	}
}

func dropAlternatives(base, over *yaml.Node, parents []string) {
	if len(parents) == 0 {
		return
	}
	groups := exclusiveGroups[parents[len(parents)-1]]
	if len(parents) >= 2 && parents[len(parents)-2] == "secrets" {
		groups = exclusiveGroups["*secret"]
	}
	for gi, group := range groups {
		if !slices.ContainsFunc(group, func(k string) bool { return mapGet(over, k) != nil }) {
			continue
		}
		for oi, other := range groups {
			if oi == gi {
				continue
			}
			for _, k := range other {
				mapDelete(base, k)
			}
		}
	}
}
