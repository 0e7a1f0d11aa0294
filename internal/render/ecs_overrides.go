package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// taskdef_overrides, with the rules of Copilot's template/override package:
// each rule's path walks the TaskDefinition's Properties, one dot-separated
// segment at a time. A segment is a key ("Cpu"), an index into a list
// ("ContainerDefinitions[0]") or "[-]", which appends to a list (creating
// it). Missing maps on the way are created; an index past the end is an
// error. The last segment receives the value, as written in the manifest
// (intrinsic-function tags included).

// overrideRule is one entry of taskdef_overrides.
type overrideRule = manifest.TaskdefOverride

// overrideSegment matches "key", "key[3]" and "key[-]".
var overrideSegment = regexp.MustCompile(`^([a-zA-Z0-9_-]+)(\[(\d+|-)\])?$`)

// Paths Copilot refuses to override: the family names the task definition
// and the container names tie the service to its load balancer.
var forbiddenOverridePaths = []*regexp.Regexp{
	regexp.MustCompile(`^Family$`),
	regexp.MustCompile(`^ContainerDefinitions\[\d+\]\.Name$`),
}

// parseOverrides decodes and validates taskdef_overrides.
func parseOverrides(rules []overrideRule, fail failFunc) []overrideRule {
	var out []overrideRule
	for i, r := range rules {
		at := r.Pos
		if err := validateOverridePath(r.Path); err != nil {
			fail(at, ruleManifest, fmt.Sprintf("taskdef_overrides[%d]: %v", i, err), `write segments as "Key", "List[0]" or "List[-]", separated by dots`)
			continue
		}
		if r.Value.IsZero() {
			fail(at, ruleManifest, fmt.Sprintf("taskdef_overrides[%d] (%s) needs a value", i, r.Path), "")
			continue
		}
		out = append(out, r)
	}
	return out
}

func validateOverridePath(path string) error {
	if path == "" {
		return fmt.Errorf("the path is empty")
	}
	for _, re := range forbiddenOverridePaths {
		if re.MatchString(path) {
			return fmt.Errorf("%q cannot be overridden with a custom value", path)
		}
	}
	for _, seg := range strings.Split(path, ".") {
		if !overrideSegment.MatchString(seg) {
			return fmt.Errorf("invalid path segment %q", seg)
		}
	}
	return nil
}

// applyOverrides applies the rules, in order, to the task definition's
// Properties.
func applyOverrides(props *yaml.Node, rules []overrideRule) error {
	for _, r := range rules {
		if err := applyOverride(props, r); err != nil {
			return fmt.Errorf("taskdef_overrides %s: %w", r.Path, err)
		}
	}
	return nil
}

func applyOverride(node *yaml.Node, r overrideRule) error {
	segs := strings.Split(r.Path, ".")
	for i, raw := range segs {
		m := overrideSegment.FindStringSubmatch(raw)
		key, index := m[1], m[3]
		last := i == len(segs)-1
		if node.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is not a map in the rendered task definition", strings.Join(segs[:i], "."))
		}
		child := get(node, key)
		if index == "" {
			if last {
				set(node, key, deepCopy(&r.Value))
				return nil
			}
			if child == nil {
				child = kv()
				set(node, key, child)
			}
			node = child
			continue
		}
		if child == nil {
			if index != "-" {
				return fmt.Errorf("cannot specify %s[%s] because %s does not exist: use %s[-] to append instead", key, index, key, key)
			}
			child = seq()
			set(node, key, child)
		}
		if child.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s is not a list in the rendered task definition", key)
		}
		var next *yaml.Node
		if index == "-" {
			next = kv()
			if last {
				next = deepCopy(&r.Value)
			}
			child.Content = append(child.Content, next)
		} else {
			n, _ := strconv.Atoi(index) // the segment pattern allows digits only
			if n >= len(child.Content) {
				return fmt.Errorf("cannot specify %s[%d] because the current length is %d: use %s[-] to append instead", key, n, len(child.Content), key)
			}
			if last {
				child.Content[n] = deepCopy(&r.Value)
				return nil
			}
			next = child.Content[n]
		}
		if last {
			return nil
		}
		node = next
	}
	return nil
}
