package workspace

import (
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// Kind is a manifest type.
type Kind string

// The manifest types Copilot knows, spelled as in a manifest's `type:`.
const (
	RequestDrivenWebService Kind = "Request-Driven Web Service"
	LoadBalancedWebService  Kind = "Load Balanced Web Service"
	BackendService          Kind = "Backend Service"
	WorkerService           Kind = "Worker Service"
	ScheduledJob            Kind = "Scheduled Job"
	StaticSite              Kind = "Static Site"
	Environment             Kind = "Environment"
	Pipeline                Kind = "Pipeline"
)

// Kinds lists the deployable manifest types.
var Kinds = []Kind{RequestDrivenWebService, LoadBalancedWebService, BackendService, WorkerService, ScheduledJob, StaticSite, Environment}

// Workspace is a Copilot workspace on disk.
type Workspace struct {
	// Root is the folder that holds copilot/. image.build paths are relative to it.
	Root string
	// App is the application name from copilot/.workspace; empty when the
	// manifests were given without a workspace.
	App string
	// Workloads and Environments are sorted by name.
	Workloads    []*Manifest
	Environments []*Manifest
	// Pipelines are recognised and skipped with a notice.
	Pipelines []*Manifest
	// EnvAddons are the environment addons (copilot/environments/addons), or nil.
	EnvAddons *Addons
	// Diagnostics are problems found while discovering the workspace (a
	// manifest that is not valid YAML, a missing type, an unreadable file).
	Diagnostics diag.List
}

// Manifest is one manifest file as read, before interpolation.
type Manifest struct {
	Path string // path as discovered, for diagnostics
	Name string // `name:`, or the folder name when absent
	Kind Kind   // `type:`; for environments/<env>/manifest.yml always Environment
	Raw  []byte
	// Doc is the top-level mapping node; nil when the file did not parse.
	Doc *yaml.Node
	// Addons of a workload (copilot/<name>/addons), or nil.
	Addons *Addons
}

// Addons is an addons/ folder: CloudFormation templates plus the optional
// addons.parameters.yml.
type Addons struct {
	Dir       string
	Templates []AddonTemplate // sorted by file name
	// ParametersPath and Parameters come from addons.parameters.yml; the
	// node is the mapping under its top-level `Parameters:` key, or nil.
	ParametersPath string
	Parameters     *yaml.Node
}

// AddonTemplate is one template in an addons folder. Doc is the parsed
// top-level mapping (CloudFormation short-form tags such as !Ref are kept as
// node tags), nil when it did not parse.
type AddonTemplate struct {
	Path string
	Raw  []byte
	Doc  *yaml.Node
}

// Vars supplies the values ${VAR} references resolve to.
type Vars struct {
	App, Env string // the two reserved variables
	// Lookup returns an OS-style variable; nil means os.LookupEnv.
	Lookup func(string) (string, bool)
	// Strict makes an undefined variable an error; otherwise a warning and
	// the reference is left as written (lint mode).
	Strict bool
}

// Workload returns the workload manifest called name, or nil.
func (w *Workspace) Workload(name string) *Manifest { return find(w.Workloads, name) }

// Environment returns the environment manifest called name, or nil.
func (w *Workspace) Environment(name string) *Manifest { return find(w.Environments, name) }

func find(ms []*Manifest, name string) *Manifest {
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// EnvNames lists every environment the workspace knows: the folders under
// copilot/environments and the names workload overrides use, sorted.
func (w *Workspace) EnvNames() []string {
	seen := map[string]bool{}
	for _, e := range w.Environments {
		seen[e.Name] = true
	}
	for _, m := range w.Workloads {
		for _, e := range m.OverrideEnvs() {
			seen[e] = true
		}
	}
	return sortedKeys(seen)
}
