package image

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// DefaultPlatform is the platform images are built for unless the spec says
// otherwise: App Runner only runs linux/amd64.
const DefaultPlatform = "linux/amd64"

// BuildSpec is one image to build.
type BuildSpec struct {
	Workload    string
	Context     string            // absolute build context folder
	Dockerfile  string            // absolute Dockerfile path
	Args        map[string]string // --build-arg values
	Target      string            // stage to build; empty means the last
	CacheFrom   []string          // accepted for Copilot compatibility; the local layer cache is used instead
	Platform    string            // os/arch[/variant]; empty means DefaultPlatform
	Labels      map[string]string // added to the image config
	Annotations map[string]string // added to an OCI manifest, and as labels
}

// CopilotLabels returns the labels Copilot puts on the images it builds,
// with autopilot as the builder.
func CopilotLabels(version, container string) map[string]string {
	return map[string]string{
		"com.aws.copilot.image.builder":        "autopilot",
		"com.aws.copilot.image.version":        version,
		"com.aws.copilot.image.container.name": container,
	}
}

// SourceAnnotations returns the OCI annotations naming the source
// repository and revision an image was built from; empty values are left out.
func SourceAnnotations(source, revision string) map[string]string {
	a := map[string]string{}
	if source != "" {
		a["org.opencontainers.image.source"] = source
	}
	if revision != "" {
		a["org.opencontainers.image.revision"] = revision
	}
	return a
}

// SpecFromManifest reads `image.build` from a workload's resolved manifest
// (the top-level mapping) as Copilot does: a string is the Dockerfile path
// and its folder is the context; a map takes context, dockerfile, args,
// target and cache_from, where a lone context implies <context>/Dockerfile
// and a lone dockerfile implies its folder as the context. Paths are relative
// to the workspace root. ok is false when the manifest has no image.build
// (image.location is used as it is).
func SpecFromManifest(root, workload string, manifest *yaml.Node) (spec BuildSpec, ok bool, err error) {
	build := lookup(manifest, "image", "build")
	if build == nil {
		return BuildSpec{}, false, nil
	}
	spec = BuildSpec{Workload: workload, Platform: DefaultPlatform}
	var dockerfile, context string
	switch build.Kind {
	case yaml.ScalarNode:
		dockerfile = build.Value
	case yaml.MappingNode:
		var raw struct {
			Context    string            `yaml:"context"`
			Dockerfile string            `yaml:"dockerfile"`
			Args       map[string]string `yaml:"args"`
			Target     string            `yaml:"target"`
			CacheFrom  []string          `yaml:"cache_from"`
		}
		if err := build.Decode(&raw); err != nil {
			return BuildSpec{}, false, fmt.Errorf("line %d: image.build of %s: %w", build.Line, workload, err)
		}
		dockerfile, context = raw.Dockerfile, raw.Context
		spec.Args, spec.Target, spec.CacheFrom = raw.Args, raw.Target, raw.CacheFrom
	default:
		return BuildSpec{}, false, fmt.Errorf("line %d: image.build of %s must be a Dockerfile path or a map with context and dockerfile", build.Line, workload)
	}
	if dockerfile == "" && context == "" {
		return BuildSpec{}, false, fmt.Errorf("line %d: image.build of %s names neither a dockerfile nor a context", build.Line, workload)
	}
	for _, p := range []string{dockerfile, context} {
		if filepath.IsAbs(p) {
			return BuildSpec{}, false, fmt.Errorf("line %d: image.build of %s: %q must be relative to the workspace root", build.Line, workload, p)
		}
	}
	switch {
	case dockerfile != "" && context != "":
	case dockerfile != "":
		context = filepath.Dir(dockerfile)
	default:
		dockerfile = filepath.Join(context, "Dockerfile")
	}
	spec.Context = filepath.Join(root, context)
	spec.Dockerfile = filepath.Join(root, dockerfile)
	return spec, true, nil
}

// lookup walks a chain of mapping keys; absent and null values are nil.
var lookup = workspace.Lookup

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// shortText cuts s for messages.
func shortText(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
