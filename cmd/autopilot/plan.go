package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/github"
	"github.com/autopilot-dev/autopilot/internal/report"
	"github.com/autopilot-dev/autopilot/internal/run"
)

// planFlags binds what plan and deploy share.
type planFlags struct {
	o      run.PlanOptions
	build  run.BuildOptions
	doBuld bool
	format string
	output string
}

func (p *planFlags) bind(fs *flag.FlagSet) {
	p.build.BaseImages = keyValues{}
	addSelection(fs, &p.o.Selection)
	fs.BoolVar(&p.doBuld, "build", false, "build the images first: deploy pushes them, plan names them by digest and pushes nothing (see `autopilot build` for the image flags)")
	buildFlags(fs, &p.build)
	fs.StringVar(&p.build.Output, "build-output", "", "with --build, write images to oci:DIR or tar:FILE instead of pushing (offline plans)")
	fs.StringVar(&p.o.ArtifactsBucket, "artifacts-bucket", os.Getenv("AUTOPILOT_ARTIFACTS_BUCKET"), "S3 bucket for addon templates and templates over 51,200 bytes (default $AUTOPILOT_ARTIFACTS_BUCKET)")
	fs.StringVar(&p.o.ArtifactKeyARN, "artifact-key-arn", os.Getenv("AUTOPILOT_ARTIFACT_KEY_ARN"), "KMS key of the application's artifacts, for new stacks that read encrypted artifacts (existing stacks keep theirs; default $AUTOPILOT_ARTIFACT_KEY_ARN)")
	fs.BoolVar(&p.o.RecreateFailed, "recreate-failed", false, "delete and recreate a stack left in ROLLBACK_COMPLETE by a failed creation")
	fs.BoolVar(&p.o.FailOnDestructive, "fail-on-destructive", false, "fail when a change removes or replaces a stateful resource (databases, buckets, secrets, ...)")
	fs.StringVar(&p.format, "format", "text", "report format: text, json or markdown")
	fs.StringVar(&p.output, "output", "", "write the report to this file instead of standard output")
}

// prepare parses the shared flags and runs the optional build.
func (p *planFlags) prepare(ctx context.Context, fs *flag.FlagSet) error {
	switch p.format {
	case "text", "json", "markdown":
	default:
		return usageError{fmt.Sprintf("--format %q: want text, json or markdown", p.format)}
	}
	p.o.Paths = fs.Args()
	p.o.Diagnostics = os.Stderr
	p.o.Revision = os.Getenv("GITHUB_SHA")
	p.o.RunID = os.Getenv("GITHUB_RUN_ID")
	p.o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if !p.doBuld {
		return nil
	}
	p.build.Selection = p.o.Selection
	p.build.Revision = p.o.Revision
	p.build.Progress = os.Stderr
	p.build.Version = version
	p.build.Secret = github.NewCLI(os.Getenv, os.Stderr).Mask
	built, err := run.Build(ctx, p.build)
	if err != nil {
		return err
	}
	p.o.Built = built
	return nil
}

func (p *planFlags) writer() (io.Writer, func(), error) {
	if p.output == "" {
		return os.Stdout, func() {}, nil
	}
	f, err := os.Create(p.output)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", run.ErrCannotRun, err)
	}
	return f, func() { f.Close() }, nil
}

func writePlan(w io.Writer, format string, plan *deploy.Plan, ri report.RunInfo) error {
	switch format {
	case "json":
		return report.WritePlanJSON(w, plan)
	case "markdown":
		_, err := io.WriteString(w, report.PlanSummary(plan, ri))
		return err
	}
	return report.PlanText(w, plan)
}

func runPlan(ctx context.Context, args []string) error {
	fs := newFlagSet("plan", "[--env NAME]... [--service NAME]... [--offline [--against DIR]] [--build] [--fail-on-destructive] [--format text|json|markdown] [PATH]")
	var p planFlags
	p.bind(fs)
	fs.BoolVar(&p.o.Offline, "offline", false, "make no AWS call: compare with an empty account, or with --against")
	fs.StringVar(&p.o.Against, "against", "", "with --offline, compare with the output of an earlier `autopilot render --out DIR`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if p.o.Against != "" && !p.o.Offline {
		return usageError{"--against needs --offline"}
	}
	// A plan names images by the digest a deploy will push; it pushes
	// nothing itself.
	p.build.NoPush = true
	if err := p.prepare(ctx, fs); err != nil {
		return err
	}
	planned, err := run.Plan(ctx, p.o)
	if planned == nil {
		return err
	}
	w, done, werr := p.writer()
	if werr != nil {
		return werr
	}
	defer done()
	gh := github.NewCLI(os.Getenv, os.Stderr)
	if werr := writePlan(w, p.format, planned.Plan, gh.RunInfo()); werr != nil {
		return werr
	}
	gh.PublishPlan(ctx, planned.Plan)
	if errors.Is(err, run.ErrDestructive) {
		fmt.Fprintf(os.Stderr, "autopilot plan: %v\n", err)
		return errFailed
	}
	if err != nil {
		return err
	}
	for _, s := range planned.Plan.Stacks {
		if s.Error != "" {
			return errFailed
		}
	}
	return nil
}

func runDeploy(ctx context.Context, args []string) error {
	fs := newFlagSet("deploy", "[--env NAME]... [--service NAME]... [--build] [--fingerprint SHA256] [--allow-destructive | --allow-destroy-type TYPE...] [PATH]")
	var p planFlags
	p.bind(fs)
	fs.StringVar(&p.o.Fingerprint, "fingerprint", "", "execute only if the new plan's fingerprint equals this one (the reviewed plan's)")
	fs.BoolVar(&p.o.AllowDestructive, "allow-destructive", false, "execute changes that remove or replace stateful resources (by default such a deploy executes nothing)")
	fs.Var((*stringList)(&p.o.AllowDestroyTypes), "allow-destroy-type", "execute removals and replacements of this resource type, e.g. AWS::Logs::LogGroup (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := p.prepare(ctx, fs); err != nil {
		return err
	}
	p.o.Events = func(e deploy.StackEvent) {
		line := fmt.Sprintf("%s  %-28s %-40s %s", e.Time.Format("15:04:05"), e.Stack, e.LogicalID, e.Status)
		if e.Reason != "" {
			line += "  " + e.Reason
		}
		fmt.Fprintln(os.Stderr, strings.TrimSpace(line))
	}
	deployed, err := run.Deploy(ctx, p.o)
	if deployed == nil || deployed.Result == nil {
		return err
	}
	w, done, werr := p.writer()
	if werr != nil {
		return werr
	}
	defer done()
	d := report.FromResult(deployed.Result, nil)
	if werr := report.DeployText(w, d); werr != nil {
		return werr
	}
	github.NewCLI(os.Getenv, os.Stderr).PublishDeploy(d)
	if err != nil || d.Failed() {
		if err != nil {
			fmt.Fprintf(os.Stderr, "autopilot deploy: %v\n", err)
		}
		return errFailed
	}
	return nil
}
