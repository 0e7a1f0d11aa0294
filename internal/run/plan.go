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
	"github.com/autopilot-dev/autopilot/internal/render"
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
	stacks, app, err := prepare(ctx, &o)
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
		opts, api, err := deployOptions(ctx, o, app)
		if err != nil {
			return nil, err
		}
		planner, err := deploy.NewPlanner(api, opts...)
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
	stacks, app, err := prepare(ctx, &o)
	if err != nil {
		return nil, err
	}
	for _, s := range stacks {
		if v, ok := s.Parameters["ContainerImage"]; ok && v == render.ImagePlaceholder(s.Workload) {
			return nil, fmt.Errorf("%w: %s has no built image: run `autopilot build` (or deploy with --build) first", ErrCannotRun, s.Workload)
		}
	}
	opts, api, err := deployOptions(ctx, o, app)
	if err != nil {
		return nil, err
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
func prepare(ctx context.Context, o *PlanOptions) ([]deploy.Stack, string, error) {
	images := map[string]string{}
	byWorkload := map[string]deploy.Image{}
	for _, b := range o.Built {
		images[b.Workload] = b.URI
		byWorkload[b.Workload] = b.Image
	}
	rendered, ws, err := Render(ctx, RenderOptions{Selection: o.Selection, Images: images, Strict: true, Diagnostics: o.Diagnostics})
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
			DependsOn: r.DependsOn, KeepPrevious: r.KeepPrevious,
			Kind: r.Kind, Env: r.Env, Workload: r.Workload,
		}
		if r.AddonsTemplate != nil {
			s.Assets = map[string][]byte{"AddonsTemplateURL": r.AddonsTemplate}
		}
		if img, ok := byWorkload[r.Workload]; ok && r.Workload != "" {
			s.Images = []deploy.Image{img}
		}
		stacks = append(stacks, s)
	}
	return stacks, ws.App, nil
}

// deployOptions builds the AWS clients (unless given) and deploy's options.
func deployOptions(ctx context.Context, o PlanOptions, app string) ([]deploy.Option, deploy.CloudFormationAPI, error) {
	api, uploader, account, region := o.CloudFormation, o.Uploader, o.Account, o.Region
	if api == nil {
		clients, err := deploy.NewClients(ctx, o.AWS...)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrCannotRun, err)
		}
		api, region = clients.CloudFormation, clients.Region
		if account, err = clients.Account(ctx); err != nil {
			return nil, nil, err
		}
		if uploader == nil && o.ArtifactsBucket != "" {
			if uploader, err = deploy.NewS3Uploader(clients.S3, o.ArtifactsBucket); err != nil {
				return nil, nil, err
			}
		}
	}
	opts := []deploy.Option{
		deploy.WithTarget(app, account, region),
		deploy.WithRevision(o.Revision, o.RunID),
		deploy.WithRecreateFailed(o.RecreateFailed),
	}
	if uploader != nil {
		opts = append(opts, deploy.WithUploader(uploader))
	}
	if o.Log != nil {
		opts = append(opts, deploy.WithLogger(o.Log))
	}
	return opts, api, nil
}
