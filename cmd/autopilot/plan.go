package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/github"
	"github.com/autopilot-dev/autopilot/internal/report"
	"github.com/autopilot-dev/autopilot/internal/run"
)

// planFlags binds what plan and deploy share.
type planFlags struct {
	o         run.PlanOptions
	build     run.BuildOptions
	doBuild   bool
	format    string
	output    string
	verbose   bool
	logFormat string
}

func (p *planFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	addSelection(cmd, &p.o.Selection)
	addStrict(fs, &p.o.Strict)
	fs.BoolVar(&p.doBuild, "build", false, "build the images first: deploy pushes them, plan names them by digest and pushes nothing (the image flags below are those of autopilot build)")
	buildFlags(fs, &p.build)
	fs.StringVar(&p.build.Output, "build-output", "", "with --build, write images to `oci:DIR|tar:FILE` instead of pushing (offline plans)")
	fs.StringVar(&p.o.ArtifactsBucket, "artifacts-bucket", os.Getenv("AUTOPILOT_ARTIFACTS_BUCKET"), "S3 `BUCKET` for addon templates, templates over 51,200 bytes, env files and addon artifacts; a new environment's manager role may write to it when neither a deployed environment nor the application's StackSet names Copilot's bucket (default $AUTOPILOT_ARTIFACTS_BUCKET)")
	fs.StringVar(&p.o.ArtifactKeyARN, "artifact-key-arn", os.Getenv("AUTOPILOT_ARTIFACT_KEY_ARN"), "KMS key `ARN` of the application's artifacts, for new stacks when neither a deployed environment nor the application's StackSet names it (existing stacks keep theirs; default $AUTOPILOT_ARTIFACT_KEY_ARN)")
	fs.BoolVar(&p.o.RecreateFailed, "recreate-failed", false, "delete and recreate a stack left in ROLLBACK_COMPLETE by a failed creation")
	fs.BoolVar(&p.o.FailOnDestructive, "fail-on-destructive", false, "fail when a change removes or replaces a stateful resource (databases, buckets, secrets, ...); a deploy refuses those anyway unless allowed")
	fs.StringVar(&p.format, "format", "text", "report `FORMAT`: text, json or markdown")
	fs.StringVar(&p.output, "output", "", "write the report to `FILE` instead of standard output")
	fs.BoolVar(&p.verbose, "verbose", false, "log each step (log/slog text on standard error)")
	fs.StringVar(&p.logFormat, "log-format", "text", "log `FORMAT`: text (only with --verbose) or json (structured log on standard error)")
}

// prepare checks the shared flags and runs the optional build.
func (p *planFlags) prepare(ctx context.Context, args []string) error {
	switch p.format {
	case "text", "json", "markdown":
	default:
		return usageError{fmt.Sprintf("--format %q: want text, json or markdown", p.format)}
	}
	if err := checkImageOutput("build-output", p.build.Output); err != nil {
		return err
	}
	switch {
	case p.logFormat == "json":
		p.o.Log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: p.logLevel()}))
	case p.logFormat != "text":
		return usageError{fmt.Sprintf("--log-format %q: want text or json", p.logFormat)}
	case p.verbose:
		p.o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: p.logLevel()}))
	}
	p.o.Paths = args
	p.o.Diagnostics = os.Stderr
	p.o.Revision = os.Getenv("GITHUB_SHA")
	p.o.RunID = os.Getenv("GITHUB_RUN_ID")
	if !p.doBuild {
		return nil
	}
	p.build.Selection = p.o.Selection
	p.build.Revision = p.o.Revision
	p.build.Progress, p.build.Diagnostics = os.Stderr, os.Stderr
	p.build.Version = version
	p.build.Secret = github.NewCLI(os.Getenv, os.Stderr).Mask
	built, err := run.Build(ctx, p.build)
	if err != nil {
		return err
	}
	p.o.Built = built
	return nil
}

func (p *planFlags) logLevel() slog.Level {
	if p.verbose {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// writeReport writes the report to --output or standard output.
func (p *planFlags) writeReport(write func(io.Writer) error) error {
	if p.output == "" {
		return write(os.Stdout)
	}
	f, err := os.Create(p.output)
	if err != nil {
		return fmt.Errorf("%w: %v", run.ErrCannotRun, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func planCommand() *cobra.Command {
	var p planFlags
	cmd := &cobra.Command{
		Use:   "plan [PATH...]",
		Short: "Preview the change sets: terminal, JSON, job summary and a sticky PR comment",
		Long: `Lint and render the workspace, create a change set per stack and read it back into one preview (the
change sets are deleted afterwards). --offline makes no AWS call: every stack is compared with an
empty account, or with the output of an earlier autopilot render --out DIR (--against DIR).
In GitHub Actions on a pull request, the preview becomes one sticky comment.`,
		Example: `  autopilot plan --offline examples/apprunner-vpc
  autopilot plan --offline examples/apprunner-vpc --build --build-output oci:out/images
  autopilot plan --format json --output plan.json .`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if p.o.Against != "" && !p.o.Offline {
				return usageError{"--against needs --offline"}
			}
			// Naming images in ECR, or a layer cache there, would call AWS.
			if p.o.Offline && p.doBuild && p.build.Output == "" {
				return usageError{"--offline --build needs --build-output oci:DIR (or tar:FILE): naming the images in ECR would call AWS"}
			}
			if p.o.Offline && p.doBuild && strings.Contains(p.build.CacheRepo, ".dkr.ecr.") {
				return usageError{"--offline makes no AWS call, so --cache-repo " + p.build.CacheRepo + " (in ECR) cannot be used; leave it out"}
			}
			// A plan names images by the digest a deploy will push; it
			// pushes nothing itself.
			p.build.NoPush = true
			if err := p.prepare(cmd.Context(), args); err != nil {
				return err
			}
			planned, err := run.Plan(cmd.Context(), p.o)
			if planned == nil {
				return err
			}
			gh := github.NewCLI(os.Getenv, os.Stderr)
			if werr := p.writeReport(func(w io.Writer) error { return writePlan(w, p.format, planned.Plan, gh.RunInfo()) }); werr != nil {
				return werr
			}
			gh.PublishPlan(cmd.Context(), planned.Plan)
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
		},
	}
	p.bind(cmd)
	fs := cmd.Flags()
	fs.BoolVar(&p.o.Offline, "offline", false, "make no AWS call: compare with an empty account, or with --against")
	fs.StringVar(&p.o.Against, "against", "", "with --offline, compare with `DIR`, the output of an earlier autopilot render --out DIR")
	return cmd
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

func deployCommand() *cobra.Command {
	var p planFlags
	cmd := &cobra.Command{
		Use:   "deploy [PATH...]",
		Short: "Plan, then execute the change sets in order and wait",
		Long: `Plan as autopilot plan does, then execute the change sets in dependency order (environment before its
workloads), streaming each stack event once on standard error, and report each stack. With
--fingerprint, only the plan that was reviewed executes. A change that removes or replaces a
stateful resource (database, bucket, file system, log group, ...) executes only with
--allow-destructive or --allow-destroy-type TYPE; otherwise nothing executes.`,
		Example: `  autopilot deploy --build .
  autopilot deploy --build --fingerprint "$REVIEWED_FINGERPRINT" --format json .`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := p.prepare(cmd.Context(), args); err != nil {
				return err
			}
			if p.o.Log == nil {
				// Without a log, the events are the progress people read.
				p.o.Events = printEvent
			}
			deployed, err := run.Deploy(cmd.Context(), p.o)
			if deployed == nil || deployed.Result == nil {
				return err
			}
			d := report.FromResult(deployed.Result, nil)
			gh := github.NewCLI(os.Getenv, os.Stderr)
			if werr := p.writeReport(func(w io.Writer) error { return writeDeploy(w, p.format, d, gh.RunInfo()) }); werr != nil {
				return werr
			}
			gh.PublishDeploy(d)
			if err != nil || d.Failed() {
				if err != nil {
					fmt.Fprintf(os.Stderr, "autopilot deploy: %v\n", err)
				}
				return errFailed
			}
			return nil
		},
	}
	p.bind(cmd)
	fs := cmd.Flags()
	fs.StringVar(&p.o.Fingerprint, "fingerprint", "", "execute only if the new plan's fingerprint equals `SHA256` (the reviewed plan's)")
	fs.BoolVar(&p.o.AllowDestructive, "allow-destructive", false, "execute changes that remove or replace stateful resources (by default such a deploy executes nothing)")
	fs.StringArrayVar(&p.o.AllowDestroyTypes, "allow-destroy-type", nil, "execute removals and replacements of resources of this `TYPE`, e.g. AWS::Logs::LogGroup (repeatable)")
	return cmd
}

// printEvent writes one stack event as one line on standard error.
func printEvent(e deploy.StackEvent) {
	line := fmt.Sprintf("%s  %-28s %-40s %s", e.Time.Format("15:04:05"), e.Stack, e.LogicalID, e.Status)
	if e.Reason != "" {
		line += "  " + e.Reason
	}
	fmt.Fprintln(os.Stderr, strings.TrimSpace(line))
}

func writeDeploy(w io.Writer, format string, d report.Deployment, ri report.RunInfo) error {
	switch format {
	case "json":
		return report.WriteDeployJSON(w, d)
	case "markdown":
		_, err := io.WriteString(w, report.DeployMarkdown(d, ri))
		return err
	}
	return report.DeployText(w, d)
}
