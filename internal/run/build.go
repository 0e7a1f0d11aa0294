package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/image"
	"github.com/autopilot-dev/autopilot/internal/image/chroot"
	"github.com/autopilot-dev/autopilot/internal/lint"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// BuildOptions are the inputs of `autopilot build`.
type BuildOptions struct {
	Selection
	// Output writes images instead of pushing: "oci:DIR" or "tar:FILE".
	Output string
	// Repository pushes to REGISTRY/NAME instead of ECR; when several
	// workloads are built, each goes to REGISTRY/NAME/<workload>.
	Repository string
	Tags       []string // extra tags; the git short SHA is always one
	Latest     bool     // also tag latest
	Revision   string   // commit SHA; default: git rev-parse HEAD
	Source     string   // repository URL for the OCI source annotation
	Platform   string
	BaseImages map[string]string // ref -> oci:DIR or tar:FILE
	CacheDir   string
	// MutableTags and ScanOnPush configure ECR repositories autopilot
	// creates; by default their tags are immutable, and autopilot never
	// moves a tag of a --repository either.
	MutableTags, ScanOnPush bool
	// NoPush builds each image and names the reference it will have in its
	// repository (by digest), pushing nothing and creating no repository:
	// a plan's build, whose role cannot write to production repositories.
	// The deploy that executes the plan pushes the same image.
	NoPush bool
	// ECR is the ECR client; nil loads the AWS configuration (adjusted by
	// AWS) when pushing to ECR is needed.
	ECR image.ECRAPI
	AWS []func(*config.LoadOptions) error
	// Runner executes RUN instructions; nil uses the chroot executor when
	// running as root (as in an Actions container) and refuses RUN otherwise.
	Runner image.Runner
	// CacheRepo is a registry repository for RUN layer caches, shared
	// between machines (REGISTRY/NAME).
	CacheRepo string
	// CacheRepoReadOnly only reads CacheRepo (chroot.WithCacheRepoReadOnly):
	// for untrusted Dockerfiles, whose layers trusted builds must not reuse.
	CacheRepoReadOnly bool
	// Secrets are build secrets for RUN --mount=type=secret:
	// "id=NAME,src=FILE" or "id=NAME,env=VAR".
	Secrets []string
	// AllowUnisolatedRun runs RUN steps even where they cannot be isolated
	// from this process and the host (chroot.WithUnisolatedRun); without it
	// such a step fails with ErrNotIsolated.
	AllowUnisolatedRun bool
	// GuardRunOutput gives the lines written around each RUN step's output
	// (chroot.WithOutputGuard).
	GuardRunOutput func() (start, stop string, err error)
	// Secret is called with every credential fetched at run time, so the
	// caller can mask it.
	Secret   func(string)
	Progress io.Writer
	// Diagnostics receives lint findings that stop the build (as text).
	Diagnostics io.Writer
	Version     string // autopilot's version, for Copilot's image labels
}

// ErrNotIsolated is a RUN step refused because it could not be isolated
// here and AllowUnisolatedRun was not set.
var ErrNotIsolated = chroot.ErrNotIsolated

// Built is one built image: where it went and the URI stacks should use.
type Built struct {
	Workload string
	// Sidecar names the sidecar this image is for (sidecars.<name>.image.build);
	// empty for the main container.
	Sidecar string
	Image   deploy.Image
	URI     string // repository@digest, what render puts in the stack
}

// Build builds every selected workload that has image.build and pushes it
// (or writes it to Output). Workloads with image.location are skipped:
// their image is used as written.
func Build(ctx context.Context, o BuildOptions) ([]Built, error) {
	imgs, err := BuildImages(ctx, o)
	if err != nil {
		return nil, err
	}
	return imgs.Deliver(ctx, o)
}

// Images are built images not yet pushed or written.
type Images struct {
	ws     *workspace.Workspace
	tags   []string
	opts   []image.Option
	images []workloadImage
	// single: one workload is built (its sidecars aside), so it goes to
	// --repository itself.
	single bool
}

type workloadImage struct {
	workload, sidecar string
	img               v1.Image
}

// BuildImages builds every selected workload that has image.build, running
// its RUN steps, and keeps the images (their layers are in the cache
// folder) for Deliver. It needs no AWS credentials unless o.CacheRepo is in
// ECR, so a caller can build a pull request's Dockerfiles before it obtains
// any.
func BuildImages(ctx context.Context, o BuildOptions) (*Images, error) {
	if o.Latest && !o.MutableTags && o.Output == "" && !o.NoPush {
		return nil, fmt.Errorf("%w: --latest moves the latest tag on every build, and autopilot moves no tag unless --mutable-tags is set", ErrCannotRun)
	}
	ws, err := workspace.Load(o.Paths...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCannotRun, err)
	}
	if o.App != "" {
		ws.App = o.App
	}
	if err := checkSelection(ws, o.Selection); err != nil {
		return nil, err
	}
	// Lint first, so a mistake in a manifest (a Dockerfile path among them)
	// is reported at its line rather than by the build.
	findings, err := lint.Lint(ws, lint.Options{Envs: o.Envs, Lookup: o.Lookup, AppDomain: o.AppDomain})
	if err != nil {
		return nil, err
	}
	if findings.HasErrors() {
		return nil, failWith(o.Diagnostics, "build", findings)
	}
	revision := o.Revision
	if revision == "" {
		revision = gitRevision(ws.Root)
	}
	tags := append([]string{}, o.Tags...)
	if short := shortSHA(revision); short != "" {
		tags = append([]string{short}, tags...)
	}
	if o.Latest {
		tags = append(tags, "latest")
	}
	var opts []image.Option
	if len(o.BaseImages) > 0 {
		opts = append(opts, image.WithBaseImages(o.BaseImages))
	}
	if o.CacheDir != "" {
		opts = append(opts, image.WithCacheDir(o.CacheDir))
	}
	if o.Secret != nil {
		opts = append(opts, image.WithSecretHook(o.Secret))
	}
	if o.Progress != nil {
		opts = append(opts, image.WithProgress(o.Progress, 5*time.Second))
	}

	var jobs []buildJob
	workloads := map[string]bool{}
	for _, m := range ws.Workloads {
		if len(o.Services) > 0 && !slices.Contains(o.Services, m.Name) {
			continue
		}
		spec, ok, err := buildSpec(ws, m, "", o)
		if err != nil {
			return nil, err
		}
		if ok {
			jobs = append(jobs, buildJob{workload: m.Name, spec: spec})
			workloads[m.Name] = true
		}
		sidecars, err := sidecarJobs(ws, m, o)
		if err != nil {
			return nil, err
		}
		for _, j := range sidecars {
			jobs = append(jobs, j)
			workloads[m.Name] = true
		}
	}
	buildOpts := opts
	runner := o.Runner
	if runner == nil && os.Geteuid() == 0 {
		r, err := newRunner(ctx, o)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		runner = r
	}
	if runner != nil {
		buildOpts = append(opts[:len(opts):len(opts)], image.WithRunner(runner))
	}
	imgs := &Images{ws: ws, tags: tags, opts: opts, single: len(workloads) == 1}
	for _, j := range jobs {
		j.spec.Platform = o.Platform
		j.spec.Labels = image.CopilotLabels(o.Version, cmp.Or(j.sidecar, j.workload))
		j.spec.Annotations = image.SourceAnnotations(o.Source, revision)
		img, err := image.Build(ctx, j.spec, buildOpts...)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", j.name(), err)
		}
		imgs.images = append(imgs.images, workloadImage{j.workload, j.sidecar, img})
	}
	return imgs, nil
}

// Deliver pushes the images (or writes them to o.Output) as o says; o.AWS
// may carry credentials obtained only after the build.
func (imgs *Images) Deliver(ctx context.Context, o BuildOptions) ([]Built, error) {
	var out []Built
	for _, w := range imgs.images {
		b, err := deliver(ctx, imgs.ws, w.workload, w.img, sidecarTags(w.sidecar, imgs.tags), o, imgs.single, imgs.opts)
		if err != nil {
			verb := "push"
			if o.Output != "" {
				verb = "write"
			}
			return out, fmt.Errorf("%s %s: %w", verb, buildJob{workload: w.workload, sidecar: w.sidecar}.name(), err)
		}
		b.Sidecar, b.Image.Sidecar = w.sidecar, w.sidecar
		out = append(out, b)
	}
	return out, nil
}

// buildSpec resolves image.build (of the sidecar, when named) for the
// selected environments; a build that differs between environments must be
// built one environment at a time.
func buildSpec(ws *workspace.Workspace, m *workspace.Manifest, sidecar string, o BuildOptions) (image.BuildSpec, bool, error) {
	envs := o.Envs
	if len(envs) == 0 {
		envs = ws.EnvNames()
	}
	if len(envs) == 0 {
		envs = []string{""}
	}
	var first *image.BuildSpec
	for _, env := range envs {
		doc, ds := m.Resolve(env, workspace.Vars{App: ws.App, Lookup: o.Lookup, Strict: true})
		if ds.HasErrors() {
			return image.BuildSpec{}, false, failWith(nil, "build "+m.Name, ds)
		}
		if sidecar != "" {
			doc = workspace.Lookup(doc, "sidecars", sidecar)
		}
		spec, ok, err := image.SpecFromManifest(ws.Root, cmp.Or(sidecar, m.Name), doc)
		if err != nil {
			return image.BuildSpec{}, false, fmt.Errorf("%s: %w", m.Path, err)
		}
		if !ok {
			continue
		}
		if first == nil {
			first = &spec
			continue
		}
		if fmt.Sprint(*first) != fmt.Sprint(spec) {
			return image.BuildSpec{}, false, fmt.Errorf("%w: %s: image.build differs between environments; build with --env for one environment at a time", ErrCannotRun, m.Path)
		}
	}
	if first == nil {
		return image.BuildSpec{}, false, nil
	}
	return *first, true, nil
}

// deliver writes or pushes one built image. The only image of a build goes
// to o.Repository itself; one of several to o.Repository/<workload>.
func deliver(ctx context.Context, ws *workspace.Workspace, workload string, img v1.Image, tags []string, o BuildOptions, only bool, opts []image.Option) (Built, error) {
	digest, err := img.Digest()
	if err != nil {
		return Built{}, err
	}
	repoName := image.RepositoryName(ws.App, workload)
	if o.Output != "" {
		ref := repoName
		if len(tags) > 0 {
			ref += ":" + tags[0]
		}
		if err := image.Write(ctx, img, o.Output, ref); err != nil {
			return Built{}, err
		}
		return Built{Workload: workload, URI: repoName + "@" + digest.String(),
			Image: deploy.Image{Workload: workload, Repository: repoName, Tag: first(tags), Digest: digest.String()}}, nil
	}
	var dst image.Destination
	if o.Repository != "" {
		dst = image.Destination{Repository: o.Repository}
		if !only {
			dst.Repository = strings.TrimSuffix(o.Repository, "/") + "/" + workload
		}
		dst.ImmutableTags = !o.MutableTags
	} else {
		api := o.ECR
		if api == nil {
			if api, err = newECR(ctx, o.AWS); err != nil {
				return Built{}, err
			}
		}
		if o.NoPush {
			host, err := image.ECRRegistry(ctx, api, opts...)
			if err != nil {
				return Built{}, err
			}
			dst.Repository = host + "/" + repoName
		} else if dst, err = image.ECRDestination(ctx, api, image.ECRRepository{Name: repoName, MutableTags: o.MutableTags, ScanOnPush: o.ScanOnPush,
			Tags: map[string]string{"copilot-application": ws.App, "copilot-service": workload}}, opts...); err != nil {
			return Built{}, err
		}
		// An existing repository may allow moving tags; autopilot still
		// moves none unless told to.
		dst.ImmutableTags = dst.ImmutableTags || !o.MutableTags
	}
	if o.NoPush {
		repo, err := name.NewRepository(dst.Repository)
		if err != nil {
			return Built{}, fmt.Errorf("repository %q: %w", dst.Repository, err)
		}
		// Named as Push names it, so the plan and the deploy agree.
		return Built{Workload: workload, URI: repo.String() + "@" + digest.String(),
			Image: deploy.Image{Workload: workload, Repository: repo.String(), Tag: first(slices.Sorted(slices.Values(tags))), Digest: digest.String()}}, nil
	}
	pushed, err := image.Push(ctx, img, dst, tags, opts...)
	if err != nil {
		return Built{}, err
	}
	// Stacks name the image by digest: a tag can move (or be pushed again
	// by anyone who can push), a digest always names the image reviewed.
	uri := pushed.Repository + "@" + pushed.Digest.String()
	return Built{Workload: workload, URI: uri,
		Image: deploy.Image{Workload: workload, Repository: pushed.Repository, Tag: first(pushed.Tags), Digest: pushed.Digest.String()}}, nil
}

// newRunner makes the chroot executor for RUN, sharing the layer cache
// folder with the builder.
func newRunner(ctx context.Context, o BuildOptions) (*chroot.Runner, error) {
	var opts []chroot.Option
	if o.CacheDir != "" {
		opts = append(opts, chroot.WithCacheDir(o.CacheDir))
	}
	if o.Progress != nil {
		opts = append(opts, chroot.WithLog(o.Progress))
	}
	if o.CacheRepo != "" {
		// A cache repository in ECR authenticates like a push to ECR;
		// any other registry uses the standard keychain.
		var keychain authn.Keychain = authn.DefaultKeychain
		if strings.Contains(o.CacheRepo, ".dkr.ecr.") {
			api := o.ECR
			if api == nil {
				var err error
				if api, err = newECR(ctx, o.AWS); err != nil {
					return nil, err
				}
			}
			var ecrOpts []image.Option
			if o.Secret != nil {
				ecrOpts = append(ecrOpts, image.WithSecretHook(o.Secret))
			}
			keychain = authn.NewMultiKeychain(image.ECRKeychain(api, ecrOpts...), authn.DefaultKeychain)
		}
		opts = append(opts, chroot.WithCacheRepo(o.CacheRepo, remote.WithAuthFromKeychain(keychain)))
		if o.CacheRepoReadOnly {
			opts = append(opts, chroot.WithCacheRepoReadOnly())
		}
	}
	if o.AllowUnisolatedRun {
		opts = append(opts, chroot.WithUnisolatedRun())
	}
	if o.GuardRunOutput != nil {
		opts = append(opts, chroot.WithOutputGuard(o.GuardRunOutput))
	}
	for _, spec := range o.Secrets {
		opt, err := secretOption(spec)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCannotRun, err)
		}
		opts = append(opts, opt)
	}
	r, err := chroot.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("RUN executor: %w", err)
	}
	return r, nil
}

// BuildSecret is a build secret for RUN --mount=type=secret, read from a
// file or an environment variable.
type BuildSecret struct {
	ID, File, Env string
}

// ParseSecret parses "id=NAME,src=FILE" or "id=NAME,env=VAR", the form
// `docker build --secret` takes. Its errors never repeat the spec: a
// mistaken one may hold the secret's value itself.
func ParseSecret(spec string) (BuildSecret, error) {
	var s BuildSecret
	for i, part := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "id":
			s.ID = v
		case "src", "source":
			s.File = v
		case "env":
			s.Env = v
		default:
			return s, fmt.Errorf("field %d is not id=, src= or env=; write id=NAME,src=FILE or id=NAME,env=VAR", i+1)
		}
	}
	if s.ID == "" || (s.File == "") == (s.Env == "") {
		return s, errors.New("write id=NAME,src=FILE or id=NAME,env=VAR")
	}
	return s, nil
}

func secretOption(spec string) (chroot.Option, error) {
	s, err := ParseSecret(spec)
	if err != nil {
		return nil, fmt.Errorf("--secret: %w", err)
	}
	if s.File != "" {
		return chroot.WithSecretFile(s.ID, s.File), nil
	}
	return chroot.WithSecretEnv(s.ID, s.Env), nil
}

func newECR(ctx context.Context, aws []func(*config.LoadOptions) error) (image.ECRAPI, error) {
	clients, err := deploy.NewClients(ctx, aws...)
	if err != nil {
		return nil, fmt.Errorf("AWS credentials for ECR: %w", err)
	}
	return ecr.NewFromConfig(clients.Config), nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// gitRevision returns the commit the workspace is at, or "" outside git.
func gitRevision(dir string) string {
	out, err := exec.Command("git", "-C", filepath.Clean(dir), "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
