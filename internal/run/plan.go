package run

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
	"github.com/autopilot-dev/autopilot/internal/image"
	"github.com/autopilot-dev/autopilot/internal/render"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// PlanOptions are the inputs of `autopilot plan` and `autopilot deploy`.
type PlanOptions struct {
	Selection
	// Strict makes lint warnings (unknown keys among them) errors: nothing
	// is planned or deployed.
	Strict bool
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
	// AllowDestructive and AllowDestroyTypes let a deploy execute
	// destructive changes: all of them, or those to resources of these
	// types. Without either, a deploy with destructive changes executes
	// nothing.
	AllowDestructive  bool
	AllowDestroyTypes []string
	// Fingerprint, for deploy, must equal the new plan's (the reviewed plan).
	Fingerprint string
	// Reviewed, for deploy, are the reviewed plans by environment: each
	// environment deployed must match its own.
	Reviewed map[string]deploy.Reviewed
	// Gate, for deploy, is asked just before anything executes
	// (deploy.Deployer.WithGate); an error executes nothing.
	Gate func(*deploy.Plan) error
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
	SiteBucket     deploy.SiteBucketAPI
	SiteCDN        deploy.SiteCDNAPI
	// EC2 answers the look-ups Copilot makes while deploying (subnets by
	// tags, CloudFront's prefix list); connect sets it. Without it a
	// from_tags placement is refused.
	EC2     deploy.EC2API
	Account string
	Region  string

	// deployOpts are extra options for deploy (a test seam: faster waits).
	deployOpts []deploy.Option
	// s3 is the S3 client connect built, for an uploader to the artifacts
	// bucket found after rendering; objectBucket is that bucket, when
	// env files or addon artifacts go to it.
	s3           *s3.Client
	objectBucket string
}

// ErrDestructive fails a plan that would remove or replace stateful
// resources while FailOnDestructive is set. (A deploy refuses those unless
// allowed, with deploy.ErrDestructive.)
var ErrDestructive = errors.New("the plan has destructive changes and fail-on-destructive is set")

// Planned is a rendered and planned set of stacks.
type Planned struct {
	Stacks []deploy.Stack
	Plan   *deploy.Plan
}

// Plan renders the selection and previews it as change sets (or offline).
func Plan(ctx context.Context, o PlanOptions) (*Planned, error) {
	if o.Against != "" {
		// A missing folder would silently plan against an empty account.
		if fi, err := os.Stat(o.Against); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%w: --against %s: not a folder written by `autopilot render --out`", ErrCannotRun, o.Against)
		}
	}
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
	stacks, app, err := prepare(ctx, ws, api, &o, false)
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
	if o.FailOnDestructive && (o.AllowDestructive || len(o.AllowDestroyTypes) > 0) {
		return nil, fmt.Errorf("%w: fail-on-destructive refuses the destructive changes that allow-destructive or allowed destroy types allow: set one or the other", ErrCannotRun)
	}
	ws, err := load(o.Selection)
	if err != nil {
		return nil, err
	}
	opts, api, err := connect(ctx, &o)
	if err != nil {
		return nil, err
	}
	stacks, app, err := prepare(ctx, ws, api, &o, true)
	if err != nil {
		return nil, err
	}
	opts = append(opts, deploy.WithTarget(app, o.Account, o.Region), deploy.WithRevision(o.Revision, o.RunID),
		deploy.AllowDestructive(o.AllowDestructive, o.AllowDestroyTypes...))
	if o.Fingerprint != "" {
		opts = append(opts, deploy.RequireFingerprint(o.Fingerprint))
	}
	if o.Reviewed != nil {
		opts = append(opts, deploy.RequireReviewed(o.Reviewed))
	}
	if o.Events != nil {
		opts = append(opts, deploy.WithEvents(o.Events))
	}
	if o.objectBucket != "" && o.Uploader == nil && o.ArtifactsBucket == "" && o.s3 != nil {
		// The bucket was found (environment role, application StackSet),
		// not given: objects go where the templates name them.
		u, err := deploy.NewS3Uploader(o.s3, o.objectBucket)
		if err != nil {
			return nil, err
		}
		opts = append(opts, deploy.WithUploader(u))
	}
	d, err := deploy.NewDeployer(api, opts...)
	if err != nil {
		return nil, err
	}
	if o.Gate != nil {
		d = d.WithGate(o.Gate)
	}
	res, err := d.Deploy(ctx, stacks)
	if errors.Is(err, deploy.ErrDestructive) {
		how := "check them in the plan, then allow them: allow-destructive: true or allowed-destroy-types in the Action, --allow-destructive or --allow-destroy-type TYPE on the command line"
		if o.FailOnDestructive {
			how = "fail-on-destructive is set"
		}
		err = fmt.Errorf("%w (%s)", err, how)
	}
	return &Deployed{Stacks: stacks, Result: res}, err
}

// prepare renders the selection into deploy's stacks; api is nil offline.
// With requireImages a workload without its built image is refused before
// any AWS call.
func prepare(ctx context.Context, ws *workspace.Workspace, api deploy.CloudFormationAPI, o *PlanOptions, requireImages bool) ([]deploy.Stack, string, error) {
	images := map[string]string{}
	byWorkload := map[string][]deploy.Image{}
	for _, b := range o.Built {
		key := b.Workload
		if b.Sidecar != "" {
			key = render.SidecarImageKey(b.Workload, b.Sidecar)
		}
		images[key] = b.URI
		byWorkload[b.Workload] = append(byWorkload[b.Workload], b.Image)
	}
	given := deploy.Artifacts{KeyARN: o.ArtifactKeyARN}
	if o.ArtifactsBucket != "" {
		given.BucketARN = deploy.BucketARN(o.Region, o.ArtifactsBucket)
	}
	ro := RenderOptions{Selection: o.Selection, Images: images, StrictVars: true, Strict: o.Strict, Diagnostics: o.Diagnostics,
		AccountID: o.Account, Region: o.Region, Artifacts: given}
	if !o.Offline {
		ro.PinImage = imagePinner(ctx, o)
		if o.EC2 != nil {
			ro.Lookups = deploy.NewLookups(api, o.EC2)
		}
	}
	rendered, _, err := renderWorkspace(ctx, ws, ro)
	if err != nil {
		return nil, "", err
	}
	for _, r := range rendered {
		if v, ok := r.Parameters["ContainerImage"]; ok && requireImages && v == render.ImagePlaceholder(r.Workload) {
			return nil, "", fmt.Errorf("%w: %s has no built image: run `autopilot build` (or deploy with --build) first", ErrCannotRun, r.Workload)
		}
		if !o.Offline && bytes.Contains(r.Template, []byte(render.SubnetsPlaceholder)) {
			return nil, "", fmt.Errorf("%w: %s: placement.subnets.from_tags was not looked up in AWS", ErrCannotRun, r.Name)
		}
		if requireImages && bytes.Contains(r.Template, []byte(render.SidecarPlaceholderPrefix(r.Workload))) {
			return nil, "", fmt.Errorf("%w: a sidecar of %s has no built image: run `autopilot build` (or deploy with --build) first", ErrCannotRun, r.Workload)
		}
	}
	if api != nil {
		found, err := findArtifacts(ctx, ws.App, api, rendered, given, o)
		if err != nil {
			return nil, "", err
		}
		if found, err = objectBucket(rendered, found, o); err != nil {
			return nil, "", err
		}
		if found != given {
			// Lint's findings were shown by the first render.
			ro.Artifacts, ro.Diagnostics = found, nil
			if rendered, _, err = renderWorkspace(ctx, ws, ro); err != nil {
				return nil, "", err
			}
		}
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
			MergeLists: r.MergeLists, CarryLive: r.CarryLive, Fixed: r.Fixed,
			Kind: r.Kind, Env: r.Env, Workload: r.Workload,
		}
		for _, l := range r.Live {
			s.Live = append(s.Live, deploy.LiveResource{ID: l.ID, Properties: l.Properties, For: l.For})
		}
		if r.AddonsTemplate != nil {
			s.Assets = map[string][]byte{"AddonsTemplateURL": r.AddonsTemplate}
		}
		if r.Kind == string(workspace.StaticSite) {
			s.Site = &deploy.Site{}
			for _, f := range r.SiteFiles {
				s.Site.Files = append(s.Site.Files, deploy.SiteFile{Key: f.Key, ContentType: f.ContentType, SHA256: f.SHA256, MD5: f.MD5, Body: f.Body})
			}
		}
		s.Objects = r.Objects
		if !o.Offline {
			fillAppParameters(&s, o)
		}
		if imgs, ok := byWorkload[r.Workload]; ok && r.Workload != "" {
			s.Images = imgs
		}
		stacks = append(stacks, s)
	}
	return stacks, ws.App, nil
}

// imagePinner names image references by digest, asking each registry
// once; ECR registries are read with an ecr:GetAuthorizationToken token,
// others with the standard keychain.
func imagePinner(ctx context.Context, o *PlanOptions) func(string) (string, error) {
	var keychain authn.Keychain = authn.DefaultKeychain
	if api, err := newECR(ctx, o.AWS); err == nil {
		keychain = authn.NewMultiKeychain(image.ECRKeychain(api), authn.DefaultKeychain)
	}
	pinned := map[string]string{}
	return func(ref string) (string, error) {
		if p, ok := pinned[ref]; ok {
			return p, nil
		}
		p, err := image.Pin(ctx, ref, image.WithKeychain(keychain))
		if err == nil {
			pinned[ref] = p
		}
		return p, err
	}
}

// findArtifacts finds the application's artifact bucket and key, which
// the environment manager role names as Copilot renders it: first from the
// deployed environment stacks (so a Copilot-made role keeps its
// statements), then the flags (given), then the outputs of Copilot's
// application StackSet in this account and region.
func findArtifacts(ctx context.Context, app string, api deploy.CloudFormationAPI, rendered []render.Stack, given deploy.Artifacts, o *PlanOptions) (deploy.Artifacts, error) {
	var envStacks []string
	for _, r := range rendered {
		if r.Kind == string(workspace.Environment) {
			envStacks = append(envStacks, r.Name)
		}
	}
	if len(envStacks) == 0 && hasObjects(rendered) {
		// Env files need the bucket even when no environment is selected:
		// read it from the environments the workloads deploy to.
		for _, r := range rendered {
			envStacks = append(envStacks, r.DependsOn...)
		}
		envStacks = slices.Compact(slices.Sorted(slices.Values(envStacks)))
	}
	if len(envStacks) == 0 {
		return given, nil // only environments name the bucket
	}
	found, err := deploy.DeployedArtifacts(ctx, api, envStacks)
	if err != nil {
		return found, err
	}
	if found = found.Or(given); found.Complete() {
		return found, nil
	}
	fromApp, err := deploy.AppStackSetArtifacts(ctx, api, app, o.Account, o.Region)
	if err != nil {
		// Without them a new environment's role lacks two statements
		// (render says so); that is no reason to stop the plan.
		if o.Log != nil {
			o.Log.Warn("the application's artifact bucket and key are unknown", "error", err)
		}
		return found, nil
	}
	return found.Or(fromApp), nil
}

// connect builds the AWS clients (unless given), learns the account and
// region, and returns deploy's options for them.
func connect(ctx context.Context, o *PlanOptions) ([]deploy.Option, deploy.CloudFormationAPI, error) {
	api, uploader, site, cdn := o.CloudFormation, o.Uploader, o.SiteBucket, o.SiteCDN
	if api == nil {
		awsOpts := o.AWS
		if o.Log != nil {
			// The SDK's own warnings join the log, so a JSON log stays JSON.
			awsOpts = append(slices.Clip(awsOpts), config.WithLogger(sdkLogger{o.Log}))
		}
		clients, err := deploy.NewClients(ctx, awsOpts...)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrCannotRun, err)
		}
		api, o.Region, o.s3 = clients.CloudFormation, clients.Region, clients.S3
		if o.EC2 == nil {
			o.EC2 = clients.EC2
		}
		if site == nil {
			site = clients.S3
		}
		if cdn == nil {
			cdn = cloudfront.NewFromConfig(clients.Config)
		}
		if o.Account, err = account(ctx, clients); err != nil {
			return nil, nil, err
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
	if site != nil {
		opts = append(opts, deploy.WithSiteBucketAPI(site))
	}
	if cdn != nil {
		opts = append(opts, deploy.WithSiteCDNAPI(cdn))
	}
	if o.Log != nil {
		opts = append(opts, deploy.WithLogger(o.Log))
	}
	return opts, api, nil
}

// sdkLogger passes the AWS SDK's messages to a slog.Logger.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, v...), "source", "aws-sdk")
}

// account identifies the AWS account, saying what failed: finding
// credentials, reaching AWS, or AWS accepting the credentials.
func account(ctx context.Context, clients *deploy.Clients) (string, error) {
	if clients.Config.Credentials != nil {
		if _, err := clients.Config.Credentials.Retrieve(ctx); err != nil {
			return "", fmt.Errorf("%w: no usable AWS credentials: configure them (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or role-to-assume in the Action), or plan with --offline: %v", ErrCannotRun, err)
		}
	}
	// A few attempts only: an unreachable endpoint should fail in seconds,
	// not after the minutes of backoff a long deploy's calls get.
	out, err := clients.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) { o.RetryMaxAttempts = 3 })
	var send *smithyhttp.RequestSendError
	var dns *net.DNSError
	switch {
	case err == nil:
		return aws.ToString(out.Account), nil
	case errors.As(err, &send) || errors.As(err, &dns):
		return "", fmt.Errorf("%w: cannot reach AWS (sts:GetCallerIdentity failed on the network; the credentials were not checked): check the network connection, any proxy (HTTPS_PROXY) and AWS_ENDPOINT_URL: %v", ErrCannotRun, err)
	}
	return "", fmt.Errorf("%w: AWS did not accept the credentials (sts:GetCallerIdentity): check that they are current and for the intended account: %v", ErrCannotRun, err)
}

// fillAppParameters gives values to the parameters Copilot takes from its
// application stack, which an application deployed only by autopilot does
// not have. An existing stack keeps its deployed value; a new one gets the
// account's root as the tools principal (as Copilot sets it) and the
// application's artifact key (the one rendered, or the flag's), or a key
// ARN that matches no key and so grants nothing.
func fillAppParameters(s *deploy.Stack, o *PlanOptions) {
	tmpl, err := cfn.Parse(s.Template)
	if err != nil {
		return // deploy reports the broken template
	}
	// The artifact key of a workload is kept even when render names one.
	defaults := map[string]string{
		"ArtifactKeyARN": cmp.Or(s.Parameters["ArtifactKeyARN"], o.ArtifactKeyARN, "arn:aws:kms:"+cmp.Or(o.Region, "*")+":"+cmp.Or(o.Account, "*")+":key/autopilot-no-artifact-key"),
	}
	if _, rendered := s.Parameters["ToolsAccountPrincipalARN"]; !rendered && o.Account != "" {
		defaults["ToolsAccountPrincipalARN"] = "arn:aws:iam::" + o.Account + ":root"
	}
	for name, value := range defaults {
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

func hasObjects(rendered []render.Stack) bool {
	return slices.ContainsFunc(rendered, func(r render.Stack) bool { return len(r.Objects) > 0 })
}

// objectBucket checks that stacks with objects to upload (env files, addon
// artifacts) can name and reach their bucket: it must be known, and a given
// --artifacts-bucket must be the one the application uses (the templates
// name objects there).
func objectBucket(rendered []render.Stack, found deploy.Artifacts, o *PlanOptions) (deploy.Artifacts, error) {
	if !hasObjects(rendered) {
		return found, nil
	}
	_, bucket, ok := strings.Cut(found.BucketARN, ":::")
	switch {
	case !ok || bucket == "":
		return found, fmt.Errorf("%w: env_file and addons' local artifacts need the application's artifacts bucket, which neither the deployed environment nor the application StackSet names: pass --artifacts-bucket", ErrCannotRun)
	case o.ArtifactsBucket != "" && o.ArtifactsBucket != bucket:
		return found, fmt.Errorf("%w: --artifacts-bucket %s is not the application's artifacts bucket %s (named by the deployed environment), where env files and addon artifacts must go: drop the flag or correct it", ErrCannotRun, o.ArtifactsBucket, bucket)
	}
	o.objectBucket = bucket
	return found, nil
}
