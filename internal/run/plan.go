package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
	"github.com/autopilot-dev/autopilot/internal/render"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// PlanOptions are the inputs of `autopilot plan` and `autopilot deploy`.
type PlanOptions struct {
	Selection
	// Offline plans without any AWS call, against an empty account or the
	// output of an earlier render (Against).
	Offline bool
	Against string
	// Built are the images a build step produced; workloads with
	// image.build that have none keep a placeholder (plan only).
	Built []Built
	// Revision and RunID name change sets autopilot-<short sha>-<run id>.
	Revision, RunID string
	// ArtifactsBucket receives templates over 51,200 bytes and addon
	// templates (the nested stack's TemplateURL).
	ArtifactsBucket string
	RecreateFailed  bool
	// ArtifactKeyARN is the KMS key of Copilot's application artifacts,
	// for workloads that read encrypted artifacts. Existing stacks keep
	// theirs; a new stack without it gets a key ARN that grants nothing.
	ArtifactKeyARN string
	// FailOnDestructive fails the command when a change removes or
	// replaces a stateful resource; a deploy then executes nothing.
	FailOnDestructive bool
	// Fingerprint, for deploy, must equal the new plan's (the reviewed plan).
	Fingerprint string
	// Events receives stack events while deploy waits.
	Events func(deploy.StackEvent)
	// Log receives progress; nil discards it.
	Log *slog.Logger
	// Diagnostics receives lint findings that stop the run (as text).
	Diagnostics io.Writer
	// AWS adjusts how the AWS configuration loads (credentials from an
	// assumed role, for instance).
	AWS []func(*config.LoadOptions) error
	// CloudFormation and Uploader replace the clients built from the AWS
	// configuration (tests).
	CloudFormation deploy.CloudFormationAPI
	Uploader       deploy.Uploader
	Account        string
	Region         string

	// deployOpts are extra options for deploy (a test seam: faster waits).
	deployOpts []deploy.Option
}

// ErrDestructive fails a plan or deploy that would remove or replace stateful
// resources while FailOnDestructive is set.
var ErrDestructive = errors.New("the plan has destructive changes and --fail-on-destructive is set")

// Planned is a rendered and planned set of stacks.
type Planned struct {
	Stacks []deploy.Stack
	Plan   *deploy.Plan
}

// Plan renders the selection and previews it as change sets (or offline).
func Plan(ctx context.Context, o PlanOptions) (*Planned, error) {
	ws, err := load(o.Selection)
	if err != nil {
		return nil, err
	}
	var opts []deploy.Option
	var api deploy.CloudFormationAPI
	if !o.Offline {
		if opts, api, err = connect(ctx, &o); err != nil {
			return nil, err
		}
	}
	stacks, app, err := prepare(ws, &o)
	if err != nil {
		return nil, err
	}
	var plan *deploy.Plan
	if o.Offline {
		plan, err = deploy.PlanOffline(stacks, o.Against, deploy.WithTarget(app, o.Account, o.Region))
		if err != nil {
			return nil, fmt.Errorf("offline plan: %w", err)
		}
	} else {
		planner, err := deploy.NewPlanner(api, append(opts, deploy.WithTarget(app, o.Account, o.Region), deploy.WithRevision(o.Revision, o.RunID))...)
		if err != nil {
			return nil, err
		}
		if plan, err = planner.Plan(ctx, stacks); err != nil {
			return &Planned{Stacks: stacks, Plan: plan}, err
		}
	}
	res := &Planned{Stacks: stacks, Plan: plan}
	if o.FailOnDestructive && len(plan.Destructive()) > 0 {
		return res, ErrDestructive
	}
	return res, nil
}

// Deployed is the outcome of a deploy.
type Deployed struct {
	Stacks []deploy.Stack
	Result *deploy.Result
}

// Deploy renders the selection, plans it and executes the change sets in
// dependency order, waiting for each. Images must be built first: a
// workload with image.build and no built image is refused.
func Deploy(ctx context.Context, o PlanOptions) (*Deployed, error) {
	ws, err := load(o.Selection)
	if err != nil {
		return nil, err
	}
	opts, api, err := connect(ctx, &o)
	if err != nil {
		return nil, err
	}
	stacks, app, err := prepare(ws, &o)
	if err != nil {
		return nil, err
	}
	opts = append(opts, deploy.WithTarget(app, o.Account, o.Region), deploy.WithRevision(o.Revision, o.RunID))
	for _, s := range stacks {
		if v, ok := s.Parameters["ContainerImage"]; ok && v == render.ImagePlaceholder(s.Workload) {
			return nil, fmt.Errorf("%w: %s has no built image: run `autopilot build` (or deploy with --build) first", ErrCannotRun, s.Workload)
		}
	}
	if o.Fingerprint != "" {
		opts = append(opts, deploy.RequireFingerprint(o.Fingerprint))
	}
	if o.Events != nil {
		opts = append(opts, deploy.WithEvents(o.Events))
	}
	d, err := deploy.NewDeployer(api, opts...)
	if err != nil {
		return nil, err
	}
	if o.FailOnDestructive {
		d = d.WithGate(func(p *deploy.Plan) error {
			if len(p.Destructive()) > 0 {
				return ErrDestructive
			}
			return nil
		})
	}
	res, err := d.Deploy(ctx, stacks)
	return &Deployed{Stacks: stacks, Result: res}, err
}

// prepare renders the selection into deploy's stacks.
func prepare(ws *workspace.Workspace, o *PlanOptions) ([]deploy.Stack, string, error) {
	images := map[string]string{}
	byWorkload := map[string]deploy.Image{}
	for _, b := range o.Built {
		images[b.Workload] = b.URI
		byWorkload[b.Workload] = b.Image
	}
	rendered, _, err := renderWorkspace(ws, RenderOptions{Selection: o.Selection, Images: images, Strict: true, Diagnostics: o.Diagnostics,
		AccountID: o.Account, Region: o.Region})
	if err != nil {
		return nil, "", err
	}
	if o.Revision == "" {
		o.Revision = cmp.Or(gitRevision(ws.Root), "local")
	}
	if o.RunID == "" {
		o.RunID = strconv.FormatInt(time.Now().Unix(), 10)
	}
	stacks := make([]deploy.Stack, 0, len(rendered))
	for _, r := range rendered {
		s := deploy.Stack{
			Name: r.Name, Template: r.Template, Parameters: r.Parameters, Tags: r.Tags,
			DependsOn: r.DependsOn, KeepPrevious: r.KeepPrevious, Unrendered: r.Unrendered,
			MergeLists: r.MergeLists, CarryLive: r.CarryLive,
			Kind: r.Kind, Env: r.Env, Workload: r.Workload,
		}
		if r.AddonsTemplate != nil {
			s.Assets = map[string][]byte{"AddonsTemplateURL": r.AddonsTemplate}
		}
		if !o.Offline {
			fillAppParameters(&s, o)
		}
		if img, ok := byWorkload[r.Workload]; ok && r.Workload != "" {
			s.Images = []deploy.Image{img}
		}
		stacks = append(stacks, s)
	}
	return stacks, ws.App, nil
}

// connect builds the AWS clients (unless given), learns the account and
// region, and returns deploy's options for them.
func connect(ctx context.Context, o *PlanOptions) ([]deploy.Option, deploy.CloudFormationAPI, error) {
	api, uploader := o.CloudFormation, o.Uploader
	if api == nil {
		clients, err := deploy.NewClients(ctx, o.AWS...)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrCannotRun, err)
		}
		api, o.Region = clients.CloudFormation, clients.Region
		if o.Account, err = clients.Account(ctx); err != nil {
			return nil, nil, fmt.Errorf("%w: no usable AWS credentials: configure them (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or role-to-assume in the Action), or plan with --offline: %v", ErrCannotRun, err)
		}
		if uploader == nil && o.ArtifactsBucket != "" {
			if uploader, err = deploy.NewS3Uploader(clients.S3, o.ArtifactsBucket); err != nil {
				return nil, nil, err
			}
		}
	}
	opts := append([]deploy.Option{deploy.WithRecreateFailed(o.RecreateFailed)}, o.deployOpts...)
	if uploader != nil {
		opts = append(opts, deploy.WithUploader(uploader))
	}
	if o.Log != nil {
		opts = append(opts, deploy.WithLogger(o.Log))
	}
	return opts, api, nil
}

// fillAppParameters gives values to the parameters Copilot takes from its
// application stack, which an application deployed only by autopilot does
// not have. An existing stack keeps its deployed value; a new one gets the
// account's root as the tools principal (as Copilot sets it) and the given
// artifact key, or a key ARN that matches no key and so grants nothing.
func fillAppParameters(s *deploy.Stack, o *PlanOptions) {
	tmpl, err := cfn.Parse(s.Template)
	if err != nil {
		return // deploy reports the broken template
	}
	defaults := map[string]string{
		"ArtifactKeyARN": cmp.Or(o.ArtifactKeyARN, "arn:aws:kms:"+cmp.Or(o.Region, "*")+":"+cmp.Or(o.Account, "*")+":key/autopilot-no-artifact-key"),
	}
	if o.Account != "" {
		defaults["ToolsAccountPrincipalARN"] = "arn:aws:iam::" + o.Account + ":root"
	}
	for name, value := range defaults {
		if _, given := s.Parameters[name]; given {
			continue
		}
		if _, declared := tmpl.Parameters[name]; !declared {
			continue
		}
		if s.Parameters == nil {
			s.Parameters = map[string]string{}
		}
		s.Parameters[name] = value
		s.KeepPrevious = append(s.KeepPrevious, name)
	}
}
