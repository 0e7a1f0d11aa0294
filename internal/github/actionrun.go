package github

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/report"
	"github.com/autopilot-dev/autopilot/internal/run"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// RunAction is `autopilot action`, the GitHub Action's entrypoint: it reads
// the INPUT_* variables (through getenv) and the event, runs the stages the
// event calls for and writes the outputs. A run.ErrFailed error means the
// run completed and found problems (reported already); run.ErrCannotRun,
// that it could not start.
func RunAction(ctx context.Context, getenv func(string) string, version string) error {
	a, err := newActionRun(getenv)
	if err != nil {
		return err
	}
	a.version = version
	defer a.flush()
	return a.run(ctx)
}

// actionRun is one run of `autopilot action`: the GitHub Action's
// entrypoint. It reads the inputs and the event, decides the stages
// (Decide) and runs them through the same internal/run functions the
// other commands call.
type actionRun struct {
	env    Env
	getenv func(string) string
	rt     *Runtime
	in     Inputs
	ev     *Event
	masker Masker
	log    io.Writer // human progress: standard error, masked
	aws    []func(*config.LoadOptions) error

	version string // autopilot's, for reports and the log

	outputs   map[string]string
	buildOpts run.BuildOptions
	images    *run.Images // built, not yet pushed
	built     []run.Built
	// findings are lint's, masked, for the plan comment.
	findings diag.List
	// merged is the pull request a push to the default branch came from,
	// when it could be found.
	merged *MergedPull
	gh     *Client // see client()
	// deployStatus is the pending status a deploy set on its commit to
	// learn its identity; it is completed when the deploy ends.
	deployStatus *CommitStatus
}

func newActionRun(getenv func(string) string) (*actionRun, error) {
	a := &actionRun{
		env:    ReadEnv(getenv),
		getenv: getenv,
		outputs: map[string]string{
			"has-changes": "false", "destructive-changes": "false", "service-urls": "{}",
			"images": "[]", "change-sets": "[]", "fingerprint": "",
			"stack-outputs": "{}", "aws-account-id": "",
		},
	}
	mw := a.masker.Writer(os.Stderr)
	a.log = mw
	rt, err := NewRuntime(WithGetenv(getenv))
	if err != nil {
		return nil, err
	}
	a.rt = rt
	if a.in, err = ReadInputs(rt); err != nil {
		return nil, fmt.Errorf("%w: %s", run.ErrCannotRun, err.Error())
	}
	// Credentials handed to the step are masked before anything is printed.
	for _, s := range []string{a.in.GitHubToken, getenv("GITHUB_TOKEN"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"), getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")} {
		a.secret(s)
	}
	a.maskBuildSecrets()
	return a, nil
}

// maskBuildSecrets masks the values of the build secrets: a workflow may
// pass them from a plain variable or a file the runner does not mask.
func (a *actionRun) maskBuildSecrets() {
	for _, spec := range a.in.Secrets {
		s, err := run.ParseSecret(spec)
		switch {
		case err != nil:
		case s.Env != "":
			a.secret(a.getenv(s.Env))
		case s.File != "":
			if b, err := os.ReadFile(s.File); err == nil {
				a.secret(strings.TrimRight(string(b), "\r\n"))
			}
		}
	}
}

// secret masks a credential in the runner's log and in everything autopilot
// writes itself (comments, summary, outputs).
func (a *actionRun) secret(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	a.masker.Add(s)
	_ = a.rt.AddMask(s)
}

func (a *actionRun) logf(format string, args ...any) {
	fmt.Fprintf(a.log, format+"\n", args...)
}

// notice prints a notice annotation; the message is escaped, so it cannot
// carry another workflow command.
func (a *actionRun) notice(msg string) {
	fmt.Fprintf(os.Stdout, "::notice title=autopilot::%s\n", report.EscapeData(a.masker.Mask(msg)))
}

func (a *actionRun) summary(md string) {
	if a.env.SummaryPath == "" {
		return
	}
	if err := a.rt.AppendSummary(a.masker.Mask(md)); err != nil {
		a.logf("could not write the job summary: %v", err)
	}
}

// untrusted prints text the runner must not read commands from.
func (a *actionRun) untrusted(text string) {
	if err := a.rt.Untrusted(a.masker.Mask(text)); err != nil {
		a.logf("%v", err)
	}
}

// flush writes the outputs: to GITHUB_OUTPUT in Actions, else as JSON on
// standard output (machine output for other CI).
func (a *actionRun) flush() {
	for k, v := range a.outputs {
		a.outputs[k] = a.masker.Mask(v)
	}
	if a.env.OutputPath == "" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(a.outputs)
	} else if err := a.rt.SetOutputs(a.outputs); err != nil {
		a.logf("could not write the step outputs: %v", err)
	}
	if c, ok := a.log.(io.Closer); ok {
		_ = c.Close()
	}
}

func (a *actionRun) stage(name string, fn func() error) error {
	_ = a.rt.Group(name)
	err := fn()
	_ = a.rt.EndGroup()
	if err == nil || errors.Is(err, run.ErrFailed) {
		return err
	}
	// Say what stopped the run in the log and the summary; findings that
	// stopped it were printed already.
	msg := a.masker.Mask(err.Error())
	a.logf("%s: %s", name, msg)
	a.summary(fmt.Sprintf("### autopilot: %s failed\n\n%s", name, fence(msg)))
	if errors.Is(err, run.ErrCannotRun) {
		return fmt.Errorf("%w: %s: see the log above", run.ErrCannotRun, name)
	}
	return run.ErrFailed
}

func (a *actionRun) run(ctx context.Context) error {
	ev, err := a.event()
	if err != nil {
		return err
	}
	a.ev = ev
	// On a pull request the build runs the pull request's Dockerfiles (RUN
	// steps), so AWS credentials are obtained only after it: the stages are
	// decided as if credentials were there, images are built locally, then
	// credentials obtained, then images pushed. Other events obtain them
	// first, so a run without any stops before building.
	credentialsLater := ev.PullRequest != nil && a.in.Command != "lint"
	hasAWS := credentialsLater
	if a.in.Command != "lint" && !credentialsLater {
		if err := a.stage("AWS credentials", func() error {
			var err error
			hasAWS, err = a.credentials(ctx)
			return err
		}); err != nil {
			// stage has logged why and put it in the summary.
			return fmt.Errorf("%w: no AWS credentials: see the log above", run.ErrCannotRun)
		}
	}
	d, err := Decide(ev, a.in, hasAWS)
	if err != nil {
		a.summary("### autopilot\n\n" + fence(err.Error()))
		return fmt.Errorf("%w: %s", run.ErrCannotRun, err.Error())
	}
	if d.Skipped != "" {
		a.skipped(d.Skipped)
	}
	a.logf("autopilot %s: event %s, stages %v", a.version, cmp.Or(ev.Name, "none"), d.Stages)
	if d.Has(StageDeploy) {
		// Before anything is built: a stale commit deploys nothing.
		if err := a.stage("check the commit is current", func() error { return a.checkCurrent(ctx) }); err != nil {
			return err
		}
	}
	asked := !credentialsLater
	for _, s := range d.Stages {
		var err error
		switch s {
		case StageLint:
			err = a.stage("lint", func() error { return a.lint(ctx) })
		case StageBuild:
			err = a.stage("build images", func() error { return a.build(ctx, d) })
		}
		if err != nil {
			return err
		}
		if s == StageLint {
			continue
		}
		if !asked {
			asked = true
			if ok, err := a.obtainCredentials(ctx, s); !ok {
				return err
			}
		}
		switch s {
		case StageBuild:
			title := "push images"
			if a.buildOpts.NoPush {
				title = "name images"
			}
			err = a.stage(title, func() error { return a.push(ctx) })
		case StagePlan:
			err = a.stage("plan", func() error { return a.plan(ctx, d) })
		case StageDeploy:
			err = a.stage("deploy", func() error { return a.deploy(ctx) })
		case StageCleanup:
			err = a.stage("clean up change sets", func() error { return a.cleanup(ctx, d) })
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// obtainCredentials obtains a pull request's AWS credentials before stage
// s, the first that needs them. Without any, the run goes on only if s
// runs without them too (a push to another registry); otherwise it stops,
// successfully, saying what was skipped.
func (a *actionRun) obtainCredentials(ctx context.Context, s Stage) (bool, error) {
	hasAWS := false
	if err := a.stage("AWS credentials", func() error {
		var err error
		hasAWS, err = a.credentials(ctx)
		return err
	}); err != nil {
		// stage has logged why and put it in the summary.
		return false, fmt.Errorf("%w: no AWS credentials: see the log above", run.ErrCannotRun)
	}
	if hasAWS {
		return true, nil
	}
	d, err := Decide(a.ev, a.in, false)
	if err != nil {
		a.summary("### autopilot\n\n" + fence(err.Error()))
		return false, fmt.Errorf("%w: %s", run.ErrCannotRun, err.Error())
	}
	if d.Has(s) {
		return true, nil
	}
	if d.Skipped != "" {
		a.skipped(d.Skipped)
	}
	return false, nil
}

func (a *actionRun) skipped(why string) {
	a.notice(why)
	a.summary("### autopilot: what ran\n\n> [!NOTE]\n> " + why + "\n")
}

// event loads the event; outside Actions (no GITHUB_EVENT_NAME) there is
// none and the command input decides alone.
func (a *actionRun) event() (*Event, error) {
	if a.env.EventName == "" {
		return &Event{}, nil
	}
	ev, err := LoadEvent(a.env)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", run.ErrCannotRun, err)
	}
	return ev, nil
}

// credentials assumes role-to-assume, or looks for the standard chain. A
// fork pull request has neither secrets nor an OIDC token, so it is not
// asked for any.
func (a *actionRun) credentials(ctx context.Context) (bool, error) {
	if pr := a.ev.PullRequest; pr != nil && pr.Fork() {
		a.logf("pull request from a fork: no AWS credentials are used")
		return false, nil
	}
	if a.in.RoleToAssume != "" {
		if a.ev.PullRequest != nil && a.getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" {
			// Pull requests GitHub gives no OIDC token (Dependabot's, for
			// one) lint only, as forks do; elsewhere a missing token is a
			// mistake to report.
			a.logf("role-to-assume is set but this pull request run has no OIDC token (no `id-token: write`, or a Dependabot run)")
			return false, nil
		}
		opts, err := AssumeRole(ctx, a.rt, Role{
			ARN: a.in.RoleToAssume, SessionName: a.in.RoleSessionName, Region: a.in.Region,
			Mask: a.secret, Env: a.env, Getenv: a.getenv,
		})
		if err != nil {
			return false, err
		}
		a.aws = opts
		a.logf("assumed %s", a.in.RoleToAssume)
		a.identify(ctx)
		return true, nil
	}
	opts, ok, err := StandardCredentials(ctx, a.in.Region, a.secret)
	if err != nil {
		return false, err
	}
	a.aws = opts
	if ok {
		a.logf("using AWS credentials from the environment")
		a.identify(ctx)
	} else {
		a.logf("no AWS credentials found")
	}
	return ok, nil
}

// identify sets the aws-account-id output. The plan and deploy stages ask
// the account again and fail there if they must; a build does not need it.
func (a *actionRun) identify(ctx context.Context) {
	clients, err := deploy.NewClients(ctx, a.aws...)
	if err == nil {
		a.outputs["aws-account-id"], err = clients.Account(ctx)
	}
	if err != nil {
		a.logf("could not identify the AWS account: %v", err)
	}
}

func (a *actionRun) selection() run.Selection {
	return run.Selection{Paths: []string{a.in.Path}, Envs: a.in.Environments, Services: a.in.Services,
		AppDomain: a.getenv("AUTOPILOT_APP_DOMAIN"), CloudFrontPrefixList: a.getenv("AUTOPILOT_CLOUDFRONT_PREFIX_LIST")}
}

func (a *actionRun) lint(ctx context.Context) error {
	res, err := run.Lint(ctx, run.LintOptions{
		Paths: []string{a.in.Path}, Envs: a.in.Environments, Strict: a.in.Strict,
		Format: report.FormatText, Out: io.Discard, Version: a.version,
	})
	if err != nil {
		return err
	}
	// Annotations and SARIF name files relative to the repository root,
	// which is where GitHub attaches them.
	opts := []report.Option{report.WithVersion(a.version)}
	if root := a.getenv("GITHUB_WORKSPACE"); root != "" {
		opts = append(opts, report.WithRoot(root))
	}
	// Findings may quote what a secret became; the reports escape what
	// they print, so the data is masked before any of them sees it.
	findings := masked(&a.masker, res.Findings)
	a.findings = findings
	if err := report.Lint(os.Stdout, findings, report.FormatGitHub, opts...); err != nil {
		return fmt.Errorf("write lint annotations: %w", err)
	}
	if a.in.SARIFFile != "" {
		if err := writeSARIF(a.in.SARIFFile, findings, opts); err != nil {
			return err
		}
		a.logf("SARIF written to %s", a.in.SARIFFile)
	}
	if md, err := report.LintMarkdown(findings, report.SummaryLimit/4, opts...); err == nil {
		a.summary(md)
	}
	if res.Failed() {
		a.logf("lint found problems: nothing else runs until they are fixed")
		return run.ErrFailed
	}
	return nil
}

func writeSARIF(path string, findings diag.List, opts []report.Option) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%w: sarif-file: %v", run.ErrCannotRun, err)
	}
	werr := report.Lint(f, findings, report.FormatSARIF, opts...)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("write SARIF to %s: %w", path, err)
	}
	return nil
}

// revision is the commit images are tagged with and change sets named
// after: the pull request's head on a pull request (the commit a reviewer
// saw), else GITHUB_SHA.
func (a *actionRun) revision(d Decision) string {
	return cmp.Or(d.HeadSHA, a.env.SHA)
}

// buildRevision names and annotates images. A merge push builds for the
// merged pull request's head commit, as that pull request's runs did, so an
// unchanged tree gives the same images and the reviewed plan's fingerprint.
func (a *actionRun) buildRevision(ctx context.Context, d Decision) string {
	if d.Has(StageDeploy) {
		if pr, _ := a.mergedPullRequest(ctx); pr != nil && pr.HeadSHA != "" {
			a.logf("commit %s came from pull request #%d; images are named after its head %s", shortSHA(a.env.SHA), pr.Number, shortSHA(pr.HeadSHA))
			return pr.HeadSHA
		}
	}
	return a.revision(d)
}

// mergedPullRequest looks up (once) the merged pull request GITHUB_SHA
// came from; nil when there is none.
func (a *actionRun) mergedPullRequest(ctx context.Context) (*MergedPull, error) {
	if a.merged != nil {
		return a.merged, nil
	}
	client, err := a.client()
	if err != nil {
		return nil, err
	}
	pr, ok, err := client.FindMergedPullRequest(ctx, a.env.SHA)
	if err != nil || !ok {
		return nil, err
	}
	a.merged = &pr
	return a.merged, nil
}

// build builds the images locally, running their RUN steps (on a pull
// request before any AWS credentials are obtained); push delivers them.
func (a *actionRun) build(ctx context.Context, d Decision) error {
	// Image timestamps are fixed unless the workflow sets them, so the same
	// sources give the same digests on the pull request and after the
	// merge (the action image has no git to read a commit time from).
	if os.Getenv("SOURCE_DATE_EPOCH") == "" {
		os.Setenv("SOURCE_DATE_EPOCH", "0")
	}
	// A pull request's RUN steps are its author's code: they run only
	// isolated from this process unless the workflow opts out.
	onPullRequest := a.ev.PullRequest != nil
	a.buildOpts = run.BuildOptions{
		Selection:  a.selection(),
		Repository: a.in.Repository,
		// A plan pushes nothing: it names each image by the digest the
		// deploy that executes it will push, so the plan role needs no
		// write access to the repositories production pulls from.
		NoPush:             d.Has(StagePlan),
		BaseImages:         a.in.BaseImages,
		CacheDir:           a.in.CacheDir,
		CacheRepo:          a.in.CacheRepo,
		CacheRepoReadOnly:  onPullRequest, // a pull request's RUN layers never reach main's builds
		Secrets:            a.in.Secrets,
		Tags:               a.in.Tags,
		MutableTags:        a.in.MutableTags,
		Platform:           a.in.Platform,
		Revision:           a.buildRevision(ctx, d),
		Source:             sourceURL(a.env),
		AWS:                a.aws,
		Secret:             a.secret,
		Progress:           a.log,
		Version:            a.version,
		AllowUnisolatedRun: !onPullRequest || a.in.AllowUnisolatedRun,
	}
	if onPullRequest && strings.Contains(a.in.CacheRepo, ".dkr.ecr.") {
		// Reaching it would need the AWS credentials the build runs without.
		a.logf("cache-repo %s is not used on pull requests: their RUN steps run before AWS credentials are obtained", a.in.CacheRepo)
		a.buildOpts.CacheRepo = ""
	}
	if mw, ok := a.log.(*MaskWriter); ok && a.env.Actions {
		a.buildOpts.GuardRunOutput = func() (start, stop string, err error) {
			start, stop, err = a.rt.StopCommands()
			mw.Guard(start, stop)
			return start, stop, err
		}
	}
	imgs, err := run.BuildImages(ctx, a.buildOpts)
	if errors.Is(err, run.ErrNotIsolated) {
		return fmt.Errorf("%w: %v\nOn pull requests autopilot runs a Dockerfile's RUN steps only where it can keep them from the job's credentials. If every Dockerfile a pull request can change is trusted, set `allow-unisolated-run: true`", run.ErrCannotRun, err)
	}
	a.images = imgs
	return err
}

func (a *actionRun) push(ctx context.Context) error {
	o := a.buildOpts
	o.AWS = a.aws
	built, err := a.images.Deliver(ctx, o)
	if err != nil {
		return err
	}
	a.built = built
	images := make([]deploy.Image, 0, len(built))
	note := ""
	if o.NoPush {
		note = " (not pushed: the deploy that executes the plan pushes it)"
	}
	for _, b := range built {
		a.logf("built %s: %s%s", b.Workload, b.URI, note)
		images = append(images, b.Image)
	}
	a.outputs["images"] = a.json(images)
	return nil
}

func sourceURL(env Env) string {
	if env.Repository == "" {
		return ""
	}
	return env.ServerURL + "/" + env.Repository
}

func (a *actionRun) planOptions(d Decision) run.PlanOptions {
	return run.PlanOptions{
		Selection:         a.selection(),
		Strict:            a.in.Strict,
		Built:             a.built,
		Revision:          a.revision(d),
		RunID:             a.env.RunID,
		ArtifactsBucket:   cmp.Or(a.in.ArtifactsBucket, a.getenv("AUTOPILOT_ARTIFACTS_BUCKET")),
		ArtifactKeyARN:    a.getenv("AUTOPILOT_ARTIFACT_KEY_ARN"),
		FailOnDestructive: a.in.FailOnDestructive,
		AWS:               a.aws,
		Log:               slog.New(slog.NewTextHandler(a.log, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Diagnostics:       a.log,
	}
}

// runInfo links reports to the run and to the commit: on a pull request its
// head, the commit reviewers see (GITHUB_SHA is GitHub's test merge).
func (a *actionRun) runInfo(sha string) report.RunInfo {
	return report.RunInfo{URL: a.env.RunURL(), SHA: sha, CommitURL: a.env.CommitURL(sha)}
}

// planOutputs sets the outputs a plan determines.
func (a *actionRun) planOutputs(p *deploy.Plan) {
	if p == nil {
		return
	}
	a.outputs["has-changes"] = fmt.Sprint(p.HasChanges())
	a.outputs["destructive-changes"] = fmt.Sprint(len(p.Destructive()) > 0)
	a.outputs["fingerprint"] = p.Fingerprint
	type changeSet struct {
		Stack  string `json:"stack"`
		Name   string `json:"name,omitempty"`
		ID     string `json:"id,omitempty"`
		Type   string `json:"type,omitempty"`
		Status string `json:"status,omitempty"`
		// NoChanges: the change set came out empty and was deleted.
		NoChanges bool   `json:"noChanges"`
		Error     string `json:"error,omitempty"`
	}
	sets := make([]changeSet, 0, len(p.Stacks))
	for _, s := range p.Stacks {
		sets = append(sets, changeSet{Stack: s.StackName, Name: s.ChangeSetName, ID: s.ChangeSetID,
			Type: s.ChangeSetType, Status: s.Status, NoChanges: s.NoChanges, Error: s.Error})
	}
	a.outputs["change-sets"] = a.json(sets)
}

func (a *actionRun) plan(ctx context.Context, d Decision) error {
	planned, err := run.Plan(ctx, a.planOptions(d))
	if planned == nil || planned.Plan == nil {
		return err
	}
	plan := masked(&a.masker, planned.Plan)
	a.planOutputs(plan)
	var text strings.Builder
	_ = report.PlanText(&text, plan)
	a.untrusted(text.String())
	ri := a.runInfo(a.revision(d))
	a.summary(report.PlanSummary(plan, ri))
	if d.PullRequest > 0 {
		// The statuses first: their creator tells the client which
		// comments are its own.
		a.recordReview(ctx, d.HeadSHA, planned.Plan)
		a.comment(ctx, d.PullRequest, plan, ri)
		if a.in.AddLabels {
			a.label(ctx, d.PullRequest, plan)
		}
	}
	if errors.Is(err, run.ErrDestructive) {
		a.logf("the plan has destructive changes and fail-on-destructive is set")
		return run.ErrFailed
	}
	if err != nil {
		return err
	}
	for _, s := range planned.Plan.Stacks {
		if s.Error != "" {
			return run.ErrFailed
		}
	}
	return nil
}

// comment upserts one sticky comment per target. A missing token or
// permission never fails the run: the preview is in the summary.
func (a *actionRun) comment(ctx context.Context, pr int, plan *deploy.Plan, ri report.RunInfo) {
	client, err := a.client()
	if err != nil {
		a.notice("No plan comment was posted (" + err.Error() + "); the plan is in the job summary.")
		return
	}
	postPlanComments(ctx, client, pr, plan, ri, a.masker.Mask,
		func(url string) { a.logf("plan comment: %s", url) },
		func(err error) { a.notice("No plan comment was posted: " + err.Error()) },
		report.WithFindings(a.findings, a.getenv("GITHUB_WORKSPACE")), report.WithOnMerge(a.onMerge()))
}

// onMerge says what the deploy of a merge does, read from this run's
// inputs: the usual workflow runs the same step on the pull request and on
// the push.
func (a *actionRun) onMerge() report.OnMerge {
	m := report.OnMerge{Envs: a.in.Environments, RefuseDestructive: a.in.FailOnDestructive, RequireReviewed: a.in.RequireReviewedPlan}
	if pr := a.ev.PullRequest; pr != nil {
		m.Branch = pr.BaseRef
	}
	return m
}

// label keeps the autopilot:* labels in step with the plan; a refusal
// never fails the run.
func (a *actionRun) label(ctx context.Context, pr int, plan *deploy.Plan) {
	planned := true
	for _, s := range plan.Stacks {
		planned = planned && s.Error == ""
	}
	client, err := a.client()
	if err == nil {
		err = client.SyncLabels(ctx, pr, map[Label]bool{
			LabelDestructive: len(plan.Destructive()) > 0,
			LabelNoChanges:   planned && !plan.HasChanges(),
		})
	}
	if err != nil {
		a.notice("The pull request's labels were not updated: " + err.Error())
	}
}

// client returns the run's one GitHub client, which keeps what its writes
// taught it (whose comments are its own).
func (a *actionRun) client() (*Client, error) {
	if a.gh != nil {
		return a.gh, nil
	}
	token := cmp.Or(a.in.GitHubToken, a.getenv("GITHUB_TOKEN"))
	if token == "" {
		return nil, errors.New("no github-token")
	}
	c, err := NewClient(token, a.env.Repository, WithAPIURL(a.env.APIURL))
	a.gh = c
	return c, err
}

func (a *actionRun) deploy(ctx context.Context) (err error) {
	o := a.planOptions(Decision{})
	o.AllowDestructive, o.AllowDestroyTypes = a.in.AllowDestructive, a.in.AllowedDestroyTypes
	// The commit was the branch's head before the build; a merge since
	// (a workflow without the concurrency group) makes it stale, and its
	// deploy would overwrite the newer one's.
	o.Gate = func(*deploy.Plan) error { return a.stillHead(ctx) }
	if a.in.RequireReviewedPlan {
		reviewed, why := a.reviewedPlans(ctx)
		if a.deployStatus != nil {
			defer func() { a.finishDeployStatus(ctx, err) }()
		}
		if reviewed == nil {
			return a.refuse("require-reviewed-plan is set and " + why)
		}
		for _, env := range slices.Sorted(maps.Keys(reviewed)) {
			a.logf("reviewed plan of %s on %s: %s", env, reviewed[env].Where, reviewed[env].Fingerprint)
		}
		o.Reviewed = reviewed
	}
	// Stack events reach the log through the deploy logger, one quoted
	// key=value line each, so CloudFormation's text cannot start a
	// workflow command.
	deployed, err := run.Deploy(ctx, o)
	if errors.Is(err, deploy.ErrFingerprintMismatch) {
		if deployed != nil && deployed.Result != nil {
			a.planOutputs(masked(&a.masker, deployed.Result.Plan))
		}
		return a.refuse("the plan differs from the one reviewed on the pull request.\n\n" + fence(err.Error()))
	}
	if deployed == nil || deployed.Result == nil {
		return err
	}
	result := masked(&a.masker, deployed.Result)
	a.planOutputs(result.Plan)
	d := report.FromResult(result, nil)
	a.outputs["service-urls"] = a.json(d.ServiceURLs())
	a.outputs["stack-outputs"] = a.json(stackOutputs(result))
	var text strings.Builder
	_ = report.DeployText(&text, d)
	a.untrusted(text.String())
	a.summary(report.DeployMarkdown(d, a.runInfo(a.env.SHA)))
	if errors.Is(err, deploy.ErrDestructive) {
		a.summary("> [!CAUTION]\n> Nothing was deployed: the plan removes or replaces resources that hold data, and the workflow does not allow it.\n\n" + fence(err.Error()))
	}
	if err != nil || d.Failed() {
		if err != nil {
			a.logf("deploy: %v", err)
		}
		return run.ErrFailed
	}
	return nil
}

// stackOutputs maps each stack that has outputs to them, as a workflow
// reads them: fromJSON(steps.<id>.outputs.stack-outputs)[stack][key].
func stackOutputs(r *deploy.Result) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, s := range r.Stacks {
		if len(s.Outputs) > 0 {
			out[s.StackName] = s.Outputs
		}
	}
	return out
}

// refuse reports a deploy that executed nothing, and why.
func (a *actionRun) refuse(why string) error {
	msg := "Nothing was deployed: " + why
	a.logf("%s", msg)
	a.summary("### autopilot deploy refused\n\n> [!CAUTION]\n> " + strings.ReplaceAll(strings.TrimSpace(msg), "\n", "\n> ") + "\n")
	return run.ErrFailed
}

// checkCurrent refuses a deploy of a commit that is not the head of the
// default branch (one API call): re-running an older merge's deploy would
// roll production back to it. allow-stale lets a deliberate rollback run.
func (a *actionRun) checkCurrent(ctx context.Context) error {
	sha := shortSHA(a.env.SHA)
	if a.in.AllowStale {
		a.logf("allow-stale is set: commit %s deploys whether or not it is the head of the default branch", sha)
		return nil
	}
	branch := a.ev.DefaultBranch
	if branch == "" || a.env.SHA == "" {
		return a.refuse("the event names no default branch or commit, so autopilot cannot check that the commit is the default branch's head. Deploy on a push or workflow_dispatch, or set `allow-stale: true`.")
	}
	client, err := a.client()
	if err != nil {
		return a.refuse(fmt.Sprintf("autopilot cannot check that commit %s is the head of %s: %v. Give the step github-token (`permissions: contents: read`), or set `allow-stale: true`.", sha, branch, err))
	}
	head, err := client.BranchHead(ctx, branch)
	if err != nil {
		return a.refuse(fmt.Sprintf("autopilot cannot check that commit %s is the head of %s: %v", sha, branch, err))
	}
	if head != a.env.SHA {
		return a.refuse(fmt.Sprintf("commit %s is no longer the head of %s (%s is). Deploying it would roll back what came after it: "+
			"re-runs of older deploys are refused. Deploy the newest commit, or set `allow-stale: true` for a deliberate rollback.", sha, branch, shortSHA(head)))
	}
	a.logf("commit %s is the head of %s", sha, branch)
	return nil
}

// stillHead is checkCurrent again, just before executing.
func (a *actionRun) stillHead(ctx context.Context) error {
	if a.in.AllowStale {
		return nil
	}
	client, err := a.client()
	if err != nil {
		return err
	}
	head, err := client.BranchHead(ctx, a.ev.DefaultBranch)
	if err != nil {
		return err
	}
	if head != a.env.SHA {
		return fmt.Errorf("%s moved to %s while this deploy of %s ran: a newer commit deploys instead (give deploy jobs one concurrency group per environment, cancel-in-progress: false)",
			a.ev.DefaultBranch, shortSHA(head), shortSHA(a.env.SHA))
	}
	return nil
}

// recordReview sets, on the pull request's head commit, one status per
// environment holding the fingerprint of its plan: what a deploy with
// require-reviewed-plan trusts. A comment cannot set one.
func (a *actionRun) recordReview(ctx context.Context, head string, plan *deploy.Plan) {
	client, err := a.client()
	if err != nil || head == "" {
		return // the comment step has said why
	}
	failed := map[string]bool{}
	for _, s := range plan.Stacks {
		if s.Error != "" {
			failed[s.Env] = true
		}
	}
	for _, rec := range plan.Records {
		t := report.Target{App: plan.App, Env: rec.Env, Account: plan.Account, Region: plan.Region}
		state := "success"
		if failed[rec.Env] {
			state = "failure"
		}
		if _, err := client.SetStatus(ctx, head, CommitStatus{Context: PlanContext(t), State: state,
			Description: rec.Fingerprint(), TargetURL: a.env.RunURL()}); err != nil {
			a.notice("The reviewed plan was not recorded, so a deploy with require-reviewed-plan will refuse it: " + err.Error())
			return
		}
	}
}

// reviewedPlans finds the plans reviewed on the pull request that brought
// GITHUB_SHA in, one per environment to deploy: the fingerprint in the
// newest plan status on its final head commit that autopilot's own
// identity set while it was open, and the record in its comment when that
// hashes to it. It returns nil and the reason when there is none to trust.
func (a *actionRun) reviewedPlans(ctx context.Context) (map[string]deploy.Reviewed, string) {
	client, err := a.client()
	if err != nil {
		return nil, "the merged pull request cannot be read: " + err.Error()
	}
	merged, err := a.mergedPullRequest(ctx)
	if err != nil {
		return nil, "the merged pull request cannot be found: " + err.Error()
	}
	if merged == nil {
		return nil, fmt.Sprintf("commit %s did not come from a merged pull request, so no plan was reviewed", a.env.SHA)
	}
	pr := merged.Number
	ws, err := workspace.Load(a.in.Path)
	if err != nil {
		return nil, "the workspace cannot be read: " + err.Error()
	}
	clients, err := deploy.NewClients(ctx, a.aws...)
	if err != nil {
		return nil, err.Error()
	}
	account, err := clients.Account(ctx)
	if err != nil {
		return nil, err.Error()
	}
	identity, err := client.Identity(ctx, func(ctx context.Context) (string, error) {
		st := CommitStatus{Context: DeployContext(ws.App, account, clients.Region), State: "pending",
			Description: "deploying", TargetURL: a.env.RunURL()}
		login, err := client.SetStatus(ctx, a.env.SHA, st)
		if err == nil {
			a.deployStatus = &st
		}
		return login, err
	})
	if err != nil {
		return nil, "the identity autopilot writes as cannot be learnt: " + err.Error()
	}
	a.logf("trusting plans written by %s, autopilot's identity", identity)
	statuses, err := client.Statuses(ctx, merged.HeadSHA)
	if err != nil {
		return nil, fmt.Sprintf("the plan statuses of pull request #%d cannot be read: %v", pr, err)
	}
	envs := a.in.Environments
	if len(envs) == 0 {
		envs = ws.EnvNames()
	}
	where := fmt.Sprintf("pull request #%d (commit %s)", pr, shortSHA(merged.HeadSHA))
	reviewed := map[string]deploy.Reviewed{}
	for _, env := range envs {
		t := report.Target{App: ws.App, Env: env, Account: account, Region: clients.Region}
		st, ignored, why := trustedPlan(statuses, PlanContext(t), identity, merged.MergedAt, pr)
		for _, s := range ignored {
			a.logf("environment %s: ignored a plan status: %s", env, s)
		}
		if why != "" {
			why = fmt.Sprintf("environment %s has no reviewed plan to trust: %s", env, why)
			if planned := plannedEnvs(statuses, ws.App, account, clients.Region, identity); !slices.Contains(planned, env) {
				why += fmt.Sprintf(". The selection differs: the pull request planned %s, this deploy selects %s; plan %s on the pull request too (its `environments` input), or deploy only what was planned",
					orNone(planned), strings.Join(envs, ", "), env)
			}
			return nil, why
		}
		rv := deploy.Reviewed{Fingerprint: st.Description, Where: where}
		if body, ok, err := client.FindCommentBy(ctx, pr, t.Marker(), identity); err == nil && ok {
			if rec, ok := report.ParseRecord(body); ok && rec.Fingerprint() == st.Description {
				rv.Record = &rec
			}
		}
		reviewed[env] = rv
	}
	return reviewed, ""
}

// finishDeployStatus completes the status whose creator told autopilot its
// identity, so no commit is left pending.
func (a *actionRun) finishDeployStatus(ctx context.Context, err error) {
	client, cerr := a.client()
	if cerr != nil {
		return
	}
	st := *a.deployStatus
	st.State, st.Description = "success", "deployed"
	if err != nil {
		st.State, st.Description = "failure", "nothing or not everything was deployed: see the run"
	}
	if _, err := client.SetStatus(context.WithoutCancel(ctx), a.env.SHA, st); err != nil {
		a.logf("could not complete the deploy status: %v", err)
	}
}

// changeSetAPI is what the cleanup of a closed pull request calls.
type changeSetAPI interface {
	ListChangeSets(context.Context, *cloudformation.ListChangeSetsInput, ...func(*cloudformation.Options)) (*cloudformation.ListChangeSetsOutput, error)
	DeleteChangeSet(context.Context, *cloudformation.DeleteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error)
}

// cleanup deletes the change sets the pull request's runs left behind (a
// run that was cancelled before it deleted them): those named
// autopilot-plan-<short head sha>-*, on the workspace's stacks. Executed
// and executing ones are left alone, and a deploy's are never touched
// (they are named autopilot-deploy-…, even for the same commit).
func (a *actionRun) cleanup(ctx context.Context, d Decision) error {
	if d.HeadSHA == "" {
		a.logf("the closed pull request names no head commit: nothing to clean up")
		return nil
	}
	stacks, _, err := run.Render(ctx, run.RenderOptions{Selection: a.selection(), Diagnostics: a.log})
	if err != nil {
		a.notice("Change sets of the closed pull request were not cleaned up: the workspace does not render (" + err.Error() + ").")
		return nil
	}
	clients, err := deploy.NewClients(ctx, a.aws...)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(stacks))
	for _, s := range stacks {
		names = append(names, s.Name)
	}
	deleted, err := deleteChangeSets(ctx, clients.CloudFormation, names, "autopilot-plan-"+shortSHA(d.HeadSHA)+"-")
	for _, n := range deleted {
		a.logf("deleted change set %s", n)
	}
	a.summary(fmt.Sprintf("### autopilot: pull request #%d closed\n\nDeleted %d change set(s) its runs left behind.\n", d.PullRequest, len(deleted)))
	return err
}

func deleteChangeSets(ctx context.Context, api changeSetAPI, stacks []string, prefix string) ([]string, error) {
	var deleted []string
	for _, stack := range stacks {
		in := &cloudformation.ListChangeSetsInput{StackName: aws.String(stack)}
		for {
			out, err := api.ListChangeSets(ctx, in)
			if err != nil {
				if strings.Contains(err.Error(), "does not exist") {
					break // never deployed: nothing was left on it
				}
				return deleted, fmt.Errorf("list change sets of %s: %w", stack, err)
			}
			for _, cs := range out.Summaries {
				name := aws.ToString(cs.ChangeSetName)
				if !strings.HasPrefix(name, prefix) {
					continue
				}
				switch cs.ExecutionStatus {
				case cfntypes.ExecutionStatusExecuteInProgress, cfntypes.ExecutionStatusExecuteComplete:
					continue
				}
				if _, err := api.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: cs.ChangeSetId, StackName: aws.String(stack)}); err != nil {
					return deleted, fmt.Errorf("delete change set %s of %s: %w", name, stack, err)
				}
				deleted = append(deleted, stack+"/"+name)
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	return deleted, nil
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// json encodes an output value, masked before encoding: JSON escapes
// characters a secret may hold.
func (a *actionRun) json(v any) string {
	b, err := json.Marshal(masked(&a.masker, v))
	if err != nil {
		return "null"
	}
	return string(b)
}

// fence puts text in a code block a backtick run inside cannot close.
func fence(s string) string {
	f := "```"
	for strings.Contains(s, f) {
		f += "`"
	}
	return f + "\n" + s + "\n" + f + "\n"
}
