package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/diag"
	renderer "github.com/autopilot-dev/autopilot/internal/render"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// manifestKinds are the types with a schema and rules.
var manifestKinds = workspace.Kinds

// Options select what to lint.
type Options struct {
	// Envs limits linting to these environments; empty means every
	// environment the workspace or its overrides name.
	Envs []string
	// Lookup resolves ${VAR}; nil means the process environment.
	Lookup func(string) (string, bool)
	// Strict makes undefined variables errors, as commands that deploy need.
	Strict bool
	// AppDomain is the application's domain, which decides some of what
	// render refuses (a CDN with the domain).
	AppDomain string
}

// Lint checks every manifest and addon template of the workspace and
// returns the findings, sorted. An error means the linter itself could not
// run (a broken embedded schema), not that the manifests have problems.
func Lint(ws *workspace.Workspace, opts Options) (diag.List, error) {
	out := slices.Clone(ws.Diagnostics)
	for _, p := range ws.Pipelines {
		out = append(out, diag.Diagnostic{File: p.Path, Line: 1, Column: 1, Severity: diag.Notice, Rule: "pipeline-skipped",
			Message: "pipeline manifests are not deployed by autopilot; GitHub workflows replace Copilot pipelines",
			Fix:     "run autopilot from a workflow on pull requests and on pushes to the default branch"})
	}
	refusals := refusalsByEnv(ws, opts)
	for _, m := range ws.Workloads {
		ds, err := lintManifest(ws, m, workloadEnvs(ws, m, opts.Envs), opts, refusals)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
		if m.Addons != nil {
			out = append(out, lintAddons(m.Addons, m.Doc != nil && get(m.Doc, "image") != nil)...)
		}
	}
	for _, m := range ws.Environments {
		if len(opts.Envs) > 0 && !slices.Contains(opts.Envs, m.Name) {
			continue
		}
		ds, err := lintManifest(ws, m, []string{m.Name}, opts, refusals)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	if ws.EnvAddons != nil {
		out = append(out, lintAddons(ws.EnvAddons, false)...)
	}
	out.Sort()
	return out, nil
}

// The rule ids of render's refusals (render.RefusalRules).
const (
	ruleRenderManifest    = "render/manifest"
	ruleRenderUnsupported = "render/unsupported"
	// render.ExplainRules
	ruleRenderExpress = "render/ecs-express"
)

// refusalsByEnv returns render's refusals in an environment, computed once
// per environment.
func refusalsByEnv(ws *workspace.Workspace, opts Options) func(env string) diag.List {
	byEnv := map[string]diag.List{}
	return func(env string) diag.List {
		if ds, ok := byEnv[env]; ok {
			return ds
		}
		ds := renderer.Check(ws, env, workspace.Vars{App: ws.App, Lookup: opts.Lookup, Strict: opts.Strict}, opts.AppDomain)
		byEnv[env] = ds
		return ds
	}
}

// workloadEnvs lists the environments a workload is linted for: the ones
// asked for, else every known one; with none known, the base manifest ("").
func workloadEnvs(ws *workspace.Workspace, m *workspace.Manifest, want []string) []string {
	if len(want) > 0 {
		return want
	}
	if envs := ws.EnvNames(); len(envs) > 0 {
		return envs
	}
	return []string{""}
}

// lintManifest checks one manifest for each environment and folds findings
// that hold for every environment into one finding for the manifest.
func lintManifest(ws *workspace.Workspace, m *workspace.Manifest, envs []string, opts Options, refusals func(env string) diag.List) (diag.List, error) {
	if m.Doc == nil {
		return nil, nil // the parse error is already in ws.Diagnostics
	}
	if d, ok := checkKind(m); !ok {
		return diag.List{d}, nil
	}
	var perEnv []diag.List
	for _, env := range envs {
		seen := envValues{}
		doc, ds := m.Resolve(env, workspace.Vars{App: ws.App, Lookup: seen.recording(opts.Lookup), Strict: opts.Strict})
		found, err := validate(string(m.Kind), doc, m.Path, env)
		if err != nil {
			return nil, err
		}
		ds = append(ds, found...)
		ds = append(ds, runRules(&context{ws: ws, m: m, doc: doc, env: env})...)
		if !ds.HasErrors() && env != "" {
			// What render refuses, once the schema and the rules pass. A
			// feature render does not support yet is a valid manifest:
			// lint notes it, render and plan stop on it.
			for _, d := range refusals(env) {
				if d.File == m.Path {
					if d.Rule == ruleRenderUnsupported {
						d.Severity = diag.Notice
					}
					ds = append(ds, d)
				}
			}
		}
		seen.redact(ds)
		for i := range ds {
			ds[i].Env = env
		}
		perEnv = append(perEnv, ds)
	}
	return foldEnvs(perEnv, envs), nil
}

// foldEnvs reports a finding once: without an environment when every
// environment has it, else naming the environments that do.
func foldEnvs(perEnv []diag.List, envs []string) diag.List {
	type key struct {
		line, col       int
		rule, msg, file string
	}
	where := map[key][]string{}
	first := map[key]diag.Diagnostic{}
	var order []key
	for i, ds := range perEnv {
		for _, d := range ds {
			k := key{d.Line, d.Column, d.Rule, d.Message, d.File}
			if _, ok := first[k]; !ok {
				first[k] = d
				order = append(order, k)
			}
			if !slices.Contains(where[k], envs[i]) {
				where[k] = append(where[k], envs[i])
			}
		}
	}
	var out diag.List
	for _, k := range order {
		d := first[k]
		d.Env = ""
		if len(where[k]) < len(envs) {
			d.Env = strings.Join(where[k], ", ")
		}
		out = append(out, d)
	}
	return out
}

// checkKind reports a manifest without a known type.
func checkKind(m *workspace.Manifest) (diag.Diagnostic, bool) {
	typeNode := get(m.Doc, "type")
	var names []string
	for _, k := range manifestKinds {
		if k == m.Kind {
			return diag.Diagnostic{}, true
		}
		names = append(names, string(k))
	}
	d := diag.Diagnostic{File: m.Path, Line: m.Doc.Line, Column: m.Doc.Column, Severity: diag.Error, Rule: "manifest-type"}
	if typeNode == nil {
		d.Message = "manifest has no type"
		d.Fix = "add `type:` with one of: " + strings.Join(names, ", ")
		return d, false
	}
	d.Line, d.Column = typeNode.Line, typeNode.Column
	d.Message = fmt.Sprintf("unknown manifest type %q", typeNode.Value)
	d.Fix = "use one of: " + strings.Join(names, ", ")
	if s := suggest(typeNode.Value, names); s != "" {
		d.Fix = fmt.Sprintf("did you mean %q?", s)
	}
	return d, false
}
