package render

import (
	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// RefusalRules are the rule ids of what render refuses in a manifest: a
// value it cannot turn into a template (render/manifest) and a feature it
// does not render yet (render/unsupported).
var RefusalRules = []string{ruleManifest, ruleUnsupported}

// ExplainRules are the rule ids of render's findings that explain a mapping
// to a user (render/ecs-express: how a Request-Driven Web Service moves to
// ECS Express Mode), at every severity.
var ExplainRules = []string{ruleExpress}

// Check reports what Render refuses in the stacks of environment env: the
// findings of RefusalRules it would stop with, same rule ids and positions,
// and the findings of ExplainRules. Lint reports them too, so a workspace
// that lints clean renders. The decisions stay in one place: the renderers
// that make them. appDomain is the application's domain (Options.AppDomain).
func Check(ws *workspace.Workspace, env string, vars workspace.Vars, appDomain string) diag.List {
	return CheckDecoded(ws, env, vars, appDomain, nil)
}

// CheckDecoded is Check reading the models of the workloads in decoded
// (by name) instead of resolving and decoding their manifests again: lint
// has them, resolved for env with vars and decoded without an error.
func CheckDecoded(ws *workspace.Workspace, env string, vars workspace.Vars, appDomain string, decoded map[string]*manifest.Workload) diag.List {
	opts := Options{App: ws.App, Vars: vars, AppDomain: appDomain, checkOnly: true, decoded: decoded}
	if opts.App == "" {
		// Manifests given without their workspace: the name only shapes
		// stack names, never what is refused.
		opts.App = "app"
	}
	_, diags, _ := Render(ws, []string{env}, nil, opts)
	var out diag.List
	for _, d := range diags {
		if d.Severity == diag.Error && (d.Rule == ruleManifest || d.Rule == ruleUnsupported) || d.Rule == ruleExpress {
			out = append(out, d)
		}
	}
	return out
}
