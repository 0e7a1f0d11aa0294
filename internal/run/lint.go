package run

import (
	"context"
	"fmt"
	"io"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/lint"
	"github.com/autopilot-dev/autopilot/internal/report"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// LintOptions are the inputs of `autopilot lint`.
type LintOptions struct {
	Paths   []string
	Envs    []string
	Strict  bool          // unknown keys are errors
	Format  report.Format // text, json, github, sarif
	Out     io.Writer     // where the report goes
	Lookup  func(string) (string, bool)
	Version string // autopilot's version, named in JSON and SARIF reports
	// AppDomain is the application's domain (see render.Options).
	AppDomain string
}

// LintResult says what lint found.
type LintResult struct {
	Workspace *workspace.Workspace
	Findings  diag.List
}

// Failed reports whether the findings fail the run: any error (unknown
// keys are errors under strict).
func (r *LintResult) Failed() bool {
	return r.Findings.HasErrors()
}

// Lint loads the workspace and lints it, writing the report in the chosen
// format. The error is for a run that could not happen (unreadable path,
// a broken embedded schema); findings are in the result.
func Lint(ctx context.Context, o LintOptions) (*LintResult, error) {
	ws, err := workspace.Load(o.Paths...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCannotRun, err)
	}
	if err := checkEnvs(ws, o.Envs); err != nil {
		return nil, err
	}
	findings, err := lint.Lint(ws, lint.Options{Envs: o.Envs, Lookup: o.Lookup, AppDomain: o.AppDomain})
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	if o.Strict {
		findings = unknownKeysAsErrors(findings)
	}
	if err := report.Lint(o.Out, findings, o.Format, report.WithVersion(o.Version), report.WithRuleHelp(lint.RuleHelp())); err != nil {
		return nil, fmt.Errorf("write lint report: %w", err)
	}
	return &LintResult{Workspace: ws, Findings: findings}, nil
}
