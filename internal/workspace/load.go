package workspace

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

const (
	copilotDir        = "copilot"
	workspaceFile     = ".workspace"
	manifestFile      = "manifest.yml"
	environmentsDir   = "environments"
	pipelinesDir      = "pipelines"
	addonsDir         = "addons"
	addonsParamsFile  = "addons.parameters.yml"
	legacyPipelineYML = "pipeline.yml"
)

// Load discovers a workspace from paths. Each path may be a repository root
// (holding copilot/), the copilot/ folder itself, or a manifest file. With no
// path, the current directory is used. An error means the command cannot run
// (nothing readable there); problems inside files are Diagnostics.
func Load(paths ...string) (*Workspace, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	ws := &Workspace{}
	seen := map[string]bool{}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("load workspace: %w", err)
		}
		if info.IsDir() {
			root, ok := findCopilotRoot(p)
			if !ok {
				return nil, fmt.Errorf("load workspace: %s holds no copilot/ folder; give the repository root, its copilot/ folder, or manifest files", p)
			}
			if err := ws.loadRoot(root, seen); err != nil {
				return nil, err
			}
			continue
		}
		if err := ws.loadFile(p, seen); err != nil {
			return nil, err
		}
	}
	for _, list := range [][]*Manifest{ws.Workloads, ws.Environments, ws.Pipelines} {
		slices.SortFunc(list, func(a, b *Manifest) int { return strings.Compare(a.Name, b.Name) })
	}
	ws.Diagnostics.Sort()
	return ws, nil
}

// findCopilotRoot returns the folder holding copilot/ for a directory given
// as either that folder or the copilot/ folder itself.
func findCopilotRoot(dir string) (string, bool) {
	if isDir(filepath.Join(dir, copilotDir)) {
		return dir, true
	}
	abs, err := filepath.Abs(dir)
	if err == nil && filepath.Base(abs) == copilotDir {
		return filepath.Dir(dir), true
	}
	return "", false
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

func (ws *Workspace) setRoot(root string) error {
	if ws.Root != "" && filepath.Clean(ws.Root) != filepath.Clean(root) {
		return fmt.Errorf("load workspace: paths belong to two workspaces, %s and %s; run once per workspace", ws.Root, root)
	}
	if ws.Root == "" {
		ws.Root = root
		ws.App = ws.readAppName(root)
	}
	return nil
}

// readAppName reads `application:` from copilot/.workspace.
func (ws *Workspace) readAppName(root string) string {
	path := filepath.Join(root, copilotDir, workspaceFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	node, ds := parseYAML(path, raw)
	ws.Diagnostics = append(ws.Diagnostics, ds...)
	name := scalarString(mapGet(node, "application"))
	if node != nil && name == "" {
		ws.Diagnostics = append(ws.Diagnostics, diag.Diagnostic{File: path, Line: 1, Column: 1, Severity: diag.Error, Rule: "workspace-file",
			Message: "copilot/.workspace has no application name", Fix: "write `application: <name>` in copilot/.workspace"})
	}
	return name
}

func (ws *Workspace) loadRoot(root string, seen map[string]bool) error {
	if err := ws.setRoot(root); err != nil {
		return err
	}
	cdir := filepath.Join(root, copilotDir)
	entries, err := os.ReadDir(cdir)
	if err != nil {
		return fmt.Errorf("load workspace: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == legacyPipelineYML:
			ws.addManifest(filepath.Join(cdir, name), seen)
		case !e.IsDir() || strings.HasPrefix(name, "."):
		case name == environmentsDir:
			if err := ws.loadEnvironments(filepath.Join(cdir, name), seen); err != nil {
				return err
			}
		case name == pipelinesDir:
			dirs, _ := os.ReadDir(filepath.Join(cdir, name))
			for _, d := range dirs {
				if p := filepath.Join(cdir, name, d.Name(), manifestFile); d.IsDir() && fileExists(p) {
					ws.addManifest(p, seen)
				}
			}
		default:
			if p := filepath.Join(cdir, name, manifestFile); fileExists(p) {
				ws.addManifest(p, seen)
			}
		}
	}
	return nil
}

func (ws *Workspace) loadEnvironments(dir string, seen map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("load environments: %w", err)
	}
	for _, e := range entries {
		switch {
		case !e.IsDir():
		case e.Name() == addonsDir:
			ws.EnvAddons = ws.loadAddons(filepath.Join(dir, addonsDir))
		default:
			if p := filepath.Join(dir, e.Name(), manifestFile); fileExists(p) {
				ws.addManifest(p, seen)
			}
		}
	}
	return nil
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}

// loadFile loads one manifest given directly. When it sits inside a
// workspace, the workspace's application name and addons still apply.
func (ws *Workspace) loadFile(path string, seen map[string]bool) error {
	if root, ok := enclosingRoot(path); ok {
		if err := ws.setRoot(root); err != nil {
			return err
		}
	}
	ws.addManifest(path, seen)
	return nil
}

// enclosingRoot finds the folder holding copilot/ above a manifest file,
// spelled relative to the path as given when it can be.
func enclosingRoot(path string) (string, bool) {
	abs, _ := filepath.Abs(path)
	for _, p := range []string{filepath.Clean(path), abs} {
		for dir := filepath.Dir(p); dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			if filepath.Base(dir) == copilotDir {
				return filepath.Dir(dir), true
			}
		}
	}
	return "", false
}

// addManifest reads and classifies one manifest file.
func (ws *Workspace) addManifest(path string, seen map[string]bool) {
	key, _ := filepath.Abs(path)
	if seen[key] {
		return
	}
	seen[key] = true
	raw, err := readBounded(path)
	if err != nil {
		ws.Diagnostics = append(ws.Diagnostics, diag.Diagnostic{File: path, Severity: diag.Error, Rule: "unreadable-file", Message: err.Error(), Fix: "check the file's permissions"})
		return
	}
	ws.Add(path, raw)
}

// Add parses a manifest's content as if read from path and adds it to the
// workspace, classified by its place and type. Load uses it; so can tools
// that hold manifests in memory (tests, fuzzing, editors).
func (ws *Workspace) Add(path string, raw []byte) *Manifest {
	m := &Manifest{Path: path, Raw: raw, Name: filepath.Base(filepath.Dir(path))}
	doc, ds := parseYAML(path, raw)
	ws.Diagnostics = append(ws.Diagnostics, ds...)
	if doc != nil && doc.Kind != yaml.MappingNode {
		ws.Diagnostics = append(ws.Diagnostics, diag.Diagnostic{File: path, Line: doc.Line, Column: doc.Column, Severity: diag.Error, Rule: "not-a-mapping",
			Message: "a manifest must be a YAML mapping of keys to values", Fix: "start the file with `name:` and `type:` keys"})
		doc = nil
	}
	m.Doc = doc
	if name := scalarString(mapGet(doc, "name")); name != "" {
		m.Name = name
	}
	m.Kind = ws.classify(m, path)
	switch m.Kind {
	case Environment:
		ws.Environments = append(ws.Environments, m)
	case Pipeline:
		ws.Pipelines = append(ws.Pipelines, m)
	default:
		if dir := filepath.Join(filepath.Dir(path), addonsDir); isDir(dir) {
			m.Addons = ws.loadAddons(dir)
		}
		ws.Workloads = append(ws.Workloads, m)
	}
	return m
}

// classify decides a manifest's kind from its place and its `type:`.
func (ws *Workspace) classify(m *Manifest, path string) Kind {
	dir := filepath.Base(filepath.Dir(filepath.Dir(path)))
	typ := scalarString(mapGet(m.Doc, "type"))
	switch {
	case filepath.Base(path) == legacyPipelineYML || dir == pipelinesDir:
		return Pipeline
	case dir == environmentsDir || typ == string(Environment):
		return Environment
	case m.Doc != nil && typ == "" && mapGet(m.Doc, "stages") != nil && mapGet(m.Doc, "source") != nil:
		return Pipeline
	}
	return Kind(typ)
}

// loadAddons reads an addons folder. Files that are not templates are ignored
// as Copilot does: only .yml, .yaml and .json count.
func (ws *Workspace) loadAddons(dir string) *Addons {
	a := &Addons{Dir: dir}
	entries, err := os.ReadDir(dir)
	if err != nil {
		ws.Diagnostics = append(ws.Diagnostics, diag.Diagnostic{File: dir, Severity: diag.Error, Rule: "unreadable-file", Message: err.Error()})
		return a
	}
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || (ext != ".yml" && ext != ".yaml" && ext != ".json") {
			continue
		}
		path := filepath.Join(dir, name)
		raw, err := readBounded(path)
		if err != nil {
			ws.Diagnostics = append(ws.Diagnostics, diag.Diagnostic{File: path, Severity: diag.Error, Rule: "unreadable-file", Message: err.Error()})
			continue
		}
		doc, ds := parseYAML(path, raw)
		ws.Diagnostics = append(ws.Diagnostics, ds...)
		if name == addonsParamsFile {
			a.ParametersPath = path
			a.Parameters = mapGet(doc, "Parameters")
			if doc != nil && a.Parameters == nil {
				ws.Diagnostics = append(ws.Diagnostics, diag.Diagnostic{File: path, Line: doc.Line, Column: doc.Column, Severity: diag.Error, Rule: "addon-parameters",
					Message: "addons.parameters.yml has no top-level `Parameters:` mapping", Fix: "put the parameter values under `Parameters:`"})
			}
			continue
		}
		a.Templates = append(a.Templates, AddonTemplate{Path: path, Raw: raw, Doc: doc})
	}
	return a
}

// readBounded reads at most one byte more than a file may hold, so an
// oversized file costs bounded memory and still fails the size check.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileBytes+1))
}

// sortedKeys returns a set's members in order.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
