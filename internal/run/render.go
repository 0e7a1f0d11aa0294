package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/lint"
	"github.com/autopilot-dev/autopilot/internal/render"
	"github.com/autopilot-dev/autopilot/internal/report"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// Selection picks what a command works on; empty lists mean everything.
type Selection struct {
	Paths    []string
	App      string // overrides the workspace's application name
	Envs     []string
	Services []string
	// Lookup resolves ${VAR}; nil means the process environment.
	Lookup func(string) (string, bool)
	// AppDomain and CloudFrontPrefixList are inputs render cannot read
	// from the workspace (see render.Options).
	AppDomain, CloudFrontPrefixList string
}

// RenderOptions are the inputs of `autopilot render`.
type RenderOptions struct {
	Selection
	OutDir string
	// Images maps workloads to built image URIs; others get a placeholder.
	Images map[string]string
	// StrictVars makes undefined ${VAR} an error, as deploying commands need.
	StrictVars bool
	// Strict makes unknown keys errors that stop the render.
	Strict bool
	// Diagnostics receives lint findings that stop the render (as text).
	Diagnostics io.Writer
	// AccountID and Region, when known, make values concrete where Copilot
	// writes them concretely.
	AccountID, Region string
	// Artifacts are the application's artifact bucket and key, for the
	// environment manager role and workloads' ArtifactKeyARN.
	Artifacts deploy.Artifacts
	// PinImage names container images by digest (plan and deploy).
	PinImage func(string) (string, error)
	// Lookups finds what Copilot looks up in AWS (plan and deploy).
	Lookups render.Lookups
}

// Render lints the selection and renders its stacks; with OutDir set it
// writes them there. Lint errors stop it with the same findings.
func Render(ctx context.Context, o RenderOptions) ([]render.Stack, *workspace.Workspace, error) {
	ws, err := load(o.Selection)
	if err != nil {
		return nil, ws, err
	}
	return renderWorkspace(ctx, ws, o)
}

// load reads the selected workspace and checks that the application, the
// environments and the services asked for are there.
func load(s Selection) (*workspace.Workspace, error) {
	ws, err := workspace.Load(s.Paths...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCannotRun, err)
	}
	if s.App != "" {
		ws.App = s.App
	}
	if ws.App == "" {
		return ws, fmt.Errorf("%w: no application name: run inside a Copilot workspace (copilot/.workspace) or pass --app", ErrCannotRun)
	}
	return ws, checkSelection(ws, s)
}

// renderWorkspace lints a loaded workspace and renders its stacks; ctx
// stops it between stacks.
func renderWorkspace(ctx context.Context, ws *workspace.Workspace, o RenderOptions) ([]render.Stack, *workspace.Workspace, error) {
	if err := ctx.Err(); err != nil {
		return nil, ws, err
	}
	findings, err := lint.Lint(ws, lint.Options{Envs: o.Envs, Lookup: o.Lookup, Strict: o.StrictVars, AppDomain: o.AppDomain})
	if err != nil {
		return nil, ws, err
	}
	if o.Strict {
		findings = unknownKeysAsErrors(findings)
	}
	if findings.HasErrors() {
		return nil, ws, failWith(o.Diagnostics, "render", findings)
	}
	if len(findings) > 0 && o.Diagnostics != nil {
		// Warnings and notices do not stop a render, but are worth seeing.
		_ = report.Lint(o.Diagnostics, findings, report.FormatText)
	}
	stacks, ds, err := render.Render(ws, o.Envs, o.Services, render.Options{
		App:                  ws.App,
		Images:               o.Images,
		PinImage:             o.PinImage,
		Vars:                 workspace.Vars{App: ws.App, Lookup: o.Lookup, Strict: o.StrictVars},
		AccountID:            o.AccountID,
		Region:               o.Region,
		ArtifactBucketARN:    o.Artifacts.BucketARN,
		ArtifactKeyARN:       o.Artifacts.KeyARN,
		Context:              ctx,
		AppDomain:            o.AppDomain,
		CloudFrontPrefixList: o.CloudFrontPrefixList,
		Lookups:              o.Lookups,
	})
	var failure *diag.Failure
	switch {
	case errors.As(err, &failure):
		return nil, ws, failWith(o.Diagnostics, "render", failure.Diags)
	case err != nil && ctx.Err() != nil:
		return nil, ws, err
	case err != nil:
		return nil, ws, fmt.Errorf("render: %w", err)
	case ds.HasErrors():
		return nil, ws, failWith(o.Diagnostics, "render", ds)
	}
	if err := checkReferences(stacks); err != nil {
		return nil, ws, err
	}
	if o.OutDir != "" {
		if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
			return nil, ws, fmt.Errorf("%w: %v", ErrCannotRun, err)
		}
		if err := render.WriteDir(o.OutDir, stacks); err != nil {
			return nil, ws, fmt.Errorf("write %s: %w", o.OutDir, err)
		}
	}
	return stacks, ws, nil
}

// checkEnvs refuses environment names the workspace lacks.
func checkEnvs(ws *workspace.Workspace, envs []string) error {
	for _, e := range envs {
		if !slices.Contains(ws.EnvNames(), e) {
			return fmt.Errorf("%w: environment %q is not in the workspace (known: %s)", ErrCannotRun, e, strings.Join(ws.EnvNames(), ", "))
		}
	}
	return nil
}

// unknownKeysAsErrors is what strict does to findings: an unknown key,
// which Copilot ignores silently (a misspelled `placment` drops the whole
// VPC placement), fails the run like an error. Other warnings are advice
// that holds for working Copilot workspaces too (a topic published by
// another repository's service, `flow_logs: false`), so they never fail it.
func unknownKeysAsErrors(findings diag.List) diag.List {
	out := slices.Clone(findings)
	for i := range out {
		if out[i].Severity == diag.Warning && out[i].Rule == lint.RuleUnknownKey {
			out[i].Severity = diag.Error
		}
	}
	return out
}

// checkSelection refuses environment and service names the workspace lacks.
func checkSelection(ws *workspace.Workspace, s Selection) error {
	if err := checkEnvs(ws, s.Envs); err != nil {
		return err
	}
	for _, name := range s.Services {
		if ws.Workload(name) == nil {
			return fmt.Errorf("%w: service %q is not in the workspace", ErrCannotRun, name)
		}
	}
	return nil
}

// failWith prints the findings that stopped a command and returns the
// error that carries them.
func failWith(w io.Writer, op string, findings diag.List) error {
	if w != nil {
		_ = report.Lint(w, findings, report.FormatText)
	}
	return &diag.Failure{Op: op, Diags: findings}
}
