package lint

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
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
	run := newWorkloadRun(ws, opts)
	envs := workloadEnvs(ws, opts.Envs)
	for _, m := range ws.Workloads {
		ds, err := lintManifest(ws, m, envs, opts, run)
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
		ds, err := lintManifest(ws, m, []string{m.Name}, opts, run)
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

// workloadRun resolves and decodes each workload once per environment, for
// the schema, the rules and render.Check to read.
type workloadRun struct {
	ws    *workspace.Workspace
	opts  Options
	byEnv map[string]*envRun
}

// envRun is the workloads of one environment.
type envRun struct {
	workloads map[*workspace.Manifest]*resolved
	refusals  diag.List
	checked   bool
}

// resolved is a workload manifest as deployed to one environment.
type resolved struct {
	doc   *yaml.Node
	diags diag.List
	seen  envValues // the values its ${VAR} references took
	model *manifest.Workload
	// whole reports that the model decoded without an error.
	whole bool
}

func newWorkloadRun(ws *workspace.Workspace, opts Options) *workloadRun {
	return &workloadRun{ws: ws, opts: opts, byEnv: map[string]*envRun{}}
}

// env resolves and decodes every workload for env, the first time.
func (r *workloadRun) env(env string) *envRun {
	if e, ok := r.byEnv[env]; ok {
		return e
	}
	e := &envRun{workloads: map[*workspace.Manifest]*resolved{}}
	for _, m := range r.ws.Workloads {
		if m.Doc == nil {
			continue
		}
		w := &resolved{seen: envValues{}}
		w.doc, w.diags = m.Resolve(env, workspace.Vars{App: r.ws.App, Lookup: w.seen.recording(r.opts.Lookup), Strict: r.opts.Strict})
		if w.doc != nil && m.Kind != workspace.Environment && slices.Contains(manifestKinds, m.Kind) {
			var err error
			w.model, err = manifest.DecodeWorkload(m.Kind, w.doc)
			w.whole = err == nil
		}
		e.workloads[m] = w
	}
	r.byEnv[env] = e
	return e
}

// refusals returns render's refusals in env, computed once per environment
// from the models lint decoded.
func (r *workloadRun) refusals(env string) diag.List {
	e := r.env(env)
	if !e.checked {
		vars := workspace.Vars{App: r.ws.App, Lookup: r.opts.Lookup, Strict: r.opts.Strict}
		var decoded map[string]*manifest.Workload
		if r.ws.App != "" { // else render resolves with another application name
			decoded = map[string]*manifest.Workload{}
			for m, w := range e.workloads {
				if w.whole && !w.diags.HasErrors() {
					decoded[m.Name] = w.model
				}
			}
		}
		e.refusals, e.checked = renderer.CheckDecoded(r.ws, env, vars, r.opts.AppDomain, decoded), true
	}
	return e.refusals
}

// workloadEnvs lists the environments workloads are linted for: the ones
// asked for, else every known one; with none known, the base manifest ("").
// Listing them reads every manifest's overrides, so it is done once.
func workloadEnvs(ws *workspace.Workspace, want []string) []string {
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
func lintManifest(ws *workspace.Workspace, m *workspace.Manifest, envs []string, opts Options, run *workloadRun) (diag.List, error) {
	if m.Doc == nil {
		return nil, nil // the parse error is already in ws.Diagnostics
	}
	if d, ok := checkKind(m); !ok {
		return diag.List{d}, nil
	}
	var perEnv []diag.List
	for _, env := range envs {
		c := &context{ws: ws, m: m, env: env}
		var ds diag.List
		seen := envValues{}
		if m.Kind == workspace.Environment {
			c.doc, ds = m.Resolve(env, workspace.Vars{App: ws.App, Lookup: seen.recording(opts.Lookup), Strict: opts.Strict})
		} else {
			w := run.env(env).workloads[m]
			c.doc, c.workload, seen = w.doc, w.model, w.seen
			ds = slices.Clone(w.diags)
		}
		found, err := validate(string(m.Kind), c.doc, m.Path, env)
		if err != nil {
			return nil, err
		}
		ds = append(ds, found...)
		ds = append(ds, runRules(c)...)
		if !ds.HasErrors() && env != "" {
			// What render refuses, once the schema and the rules pass. A
			// feature render does not support yet is a valid manifest:
			// lint notes it, render and plan stop on it.
			for _, d := range run.refusals(env) {
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
