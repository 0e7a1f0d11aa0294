package github

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v93/github"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/run"
)

// Inputs are the action's inputs (action.yml), read from INPUT_* variables.
type Inputs struct {
	Command             string // auto, lint, build, plan or deploy
	Path                string // the workspace: repository root, copilot/ folder or manifest
	Environments        []string
	Services            []string
	Region              string
	RoleToAssume        string
	RoleSessionName     string
	GitHubToken         string
	FailOnDestructive   bool
	RequireReviewedPlan bool
	// AllowUnisolatedRun runs a pull request's RUN steps even where they
	// cannot be isolated from autopilot and the runner.
	AllowUnisolatedRun bool
	SARIFFile          string
	// Strict makes lint warnings (unknown keys among them) errors that stop
	// the run before anything is built, planned or deployed.
	Strict bool
	// Repository pushes images to REGISTRY/NAME instead of Amazon ECR.
	Repository string
	// BaseImages replace base images with local ones (REF=oci:DIR or
	// REF=tar:FILE), for runners without access to public registries.
	BaseImages map[string]string
	// ArtifactsBucket receives addon templates and large templates.
	ArtifactsBucket string
	// CacheDir keeps built layers between runs; CacheRepo shares RUN
	// layers between machines (REGISTRY/NAME).
	CacheDir, CacheRepo string
	// Secrets are build secrets, one id=NAME,src=FILE or id=NAME,env=VAR each.
	Secrets []string
	// Tags are extra image tags; Platform is the images' os/arch.
	Tags     []string
	Platform string
	// AddLabels keeps the pull request's autopilot:* labels in step with its plan.
	AddLabels bool
	// AllowStale lets a deploy run a commit that is not the head of the
	// default branch: a deliberate rollback, or a manual run of another
	// branch.
	AllowStale bool
	// AllowDestructive and AllowedDestroyTypes let a deploy execute
	// destructive changes: all, or those to resources of these types.
	AllowDestructive    bool
	AllowedDestroyTypes []string
	// MutableTags lets pushes move tags (and new ECR repositories allow it).
	MutableTags bool
}

// Commands the action runs; auto picks from the event.
var Commands = []string{"auto", "lint", "build", "plan", "deploy"}

// ReadInputs reads and checks the action's inputs.
func ReadInputs(r *Runtime) (Inputs, error) {
	in := Inputs{
		Command:             strings.ToLower(r.Input("command")),
		Path:                r.Input("path"),
		Environments:        splitList(r.Input("environments")),
		Services:            splitList(r.Input("services")),
		Region:              r.Input("aws-region"),
		RoleToAssume:        r.Input("role-to-assume"),
		RoleSessionName:     r.Input("role-session-name"),
		GitHubToken:         r.Input("github-token"),
		SARIFFile:           r.Input("sarif-file"),
		Repository:          r.Input("repository"),
		ArtifactsBucket:     r.Input("artifacts-bucket"),
		CacheDir:            r.Input("cache-dir"),
		CacheRepo:           r.Input("cache-repo"),
		Tags:                splitList(r.Input("tags")),
		Platform:            r.Input("platform"),
		AllowedDestroyTypes: splitList(r.Input("allowed-destroy-types")),
	}
	if in.Command == "" {
		in.Command = "auto"
	}
	if !slices.Contains(Commands, in.Command) {
		return in, fmt.Errorf("input command is %q: use one of %s", in.Command, strings.Join(Commands, ", "))
	}
	if in.Path == "" {
		in.Path = "."
	}
	if in.RoleSessionName == "" {
		in.RoleSessionName = "autopilot"
	}
	var errs []error
	for _, b := range []struct {
		name string
		dst  *bool
		def  bool
	}{
		{"fail-on-destructive", &in.FailOnDestructive, false},
		{"require-reviewed-plan", &in.RequireReviewedPlan, false},
		{"allow-unisolated-run", &in.AllowUnisolatedRun, false},
		// Strict unless the workflow says otherwise: a misspelled key,
		// which Copilot ignores, must not silently change what deploys.
		{"strict", &in.Strict, true},
		{"add-labels", &in.AddLabels, false},
		{"allow-stale", &in.AllowStale, false},
		{"allow-destructive", &in.AllowDestructive, false},
		{"mutable-tags", &in.MutableTags, false},
	} {
		v, err := r.BoolInput(b.name, b.def)
		errs = append(errs, err)
		*b.dst = v
	}
	if err := deploy.CheckResourceTypes(in.AllowedDestroyTypes); err != nil {
		errs = append(errs, fmt.Errorf("input allowed-destroy-types: %w", err))
	}
	for _, kv := range splitList(r.Input("base-images")) {
		ref, src, ok := strings.Cut(kv, "=")
		if !ok || ref == "" || (!strings.HasPrefix(src, "oci:") && !strings.HasPrefix(src, "tar:")) {
			errs = append(errs, fmt.Errorf("input base-images: %q: want REF=oci:DIR or REF=tar:FILE", kv))
			continue
		}
		if in.BaseImages == nil {
			in.BaseImages = map[string]string{}
		}
		in.BaseImages[ref] = src
	}
	// A secret's fields are comma-separated, so secrets are one per line.
	for i, line := range strings.Split(r.Input("secrets"), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if _, err := run.ParseSecret(line); err != nil {
			errs = append(errs, fmt.Errorf("input secrets, line %d: %w", i+1, err))
			continue
		}
		in.Secrets = append(in.Secrets, line)
	}
	return in, errors.Join(errs...)
}

// splitList splits a list input on newlines and commas, as workflows write
// lists either way.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Stage is one step of an action run.
type Stage string

// The stages, in the order they run.
const (
	StageLint    Stage = "lint"
	StageBuild   Stage = "build"
	StagePlan    Stage = "plan"
	StageDeploy  Stage = "deploy"
	StageCleanup Stage = "cleanup" // delete the change sets a closed pull request left
)

// Decision is what an action run does for its event.
type Decision struct {
	Stages []Stage
	// PullRequest is the pull request the run is about (0 for none): it
	// gets the plan comment, or its change sets are cleaned up.
	PullRequest int
	// HeadSHA is the pull request's head commit, which names its change sets.
	HeadSHA string
	// Skipped says what was left out and why, for the job summary; empty
	// when nothing was.
	Skipped string
}

// Has reports whether the decision runs stage s.
func (d Decision) Has(s Stage) bool { return slices.Contains(d.Stages, s) }

// Decide picks the stages for the event, the command input and whether AWS
// credentials are available. A pull request never deploys; a fork pull
// request, or any run without credentials, only lints (and says so).
func Decide(ev *Event, in Inputs, hasAWS bool) (Decision, error) {
	if ev == nil {
		ev = &Event{}
	}
	var d Decision
	pr := ev.PullRequest
	if pr != nil {
		d.PullRequest, d.HeadSHA = pr.Number, pr.HeadSHA
	}
	lintOnly := func(why string) (Decision, error) {
		d.Stages, d.Skipped = []Stage{StageLint}, why
		return d, nil
	}
	noAWS := "No AWS credentials: set `role-to-assume` (with `permissions: id-token: write`) or configure credentials in an earlier step. Build, plan and deploy were skipped; lint ran."
	fork := fmt.Sprintf("Pull request #%d comes from a fork, whose runs get no secrets and a read-only token. Build and plan were skipped; lint ran.", d.PullRequest)

	command := in.Command
	if command == "" {
		command = "auto"
	}
	if command == "auto" {
		switch {
		case pr != nil && pr.Action == "closed":
			if !hasAWS {
				d.Skipped = fmt.Sprintf("Pull request #%d was closed, but without AWS credentials its change sets cannot be cleaned up.", d.PullRequest)
				return d, nil
			}
			d.Stages = []Stage{StageCleanup}
			return d, nil
		case pr != nil && slices.Contains([]string{"opened", "synchronize", "reopened"}, pr.Action):
			command = "plan"
		case pr != nil:
			return lintOnly(fmt.Sprintf("The pull_request %q event needs no plan; lint ran.", pr.Action))
		case ev.Push != nil && ev.Push.ToDefaultBranch():
			if !hasAWS {
				return lintOnly(noAWS)
			}
			command = "deploy"
		case ev.Push != nil:
			where := ev.Push.Branch()
			if where == "" {
				where = ev.Push.Ref
			}
			return lintOnly(fmt.Sprintf("The push to %s is not to the default branch (%s): nothing deploys; lint ran.", where, ev.Push.DefaultBranch))
		case ev.Dispatch != nil:
			// A manual run with no command previews; deploying takes an
			// explicit `command: deploy`.
			command = "plan"
		case ev.Name == "":
			return lintOnly("No GitHub event (GITHUB_EVENT_NAME is unset), so nothing plans or deploys automatically; lint ran. Set `command` to choose.")
		default:
			return lintOnly(fmt.Sprintf("The %q event has no automatic plan or deploy; lint ran. Set `command` to choose.", ev.Name))
		}
	}

	switch command {
	case "lint":
		d.Stages = []Stage{StageLint}
		return d, nil
	case "deploy":
		if pr != nil {
			return d, errors.New("command deploy on a pull request: a pull request never executes a change set; deploy on push to the default branch (or workflow_dispatch)")
		}
		if ev.Dispatch != nil && ev.DefaultBranch != "" && ev.Dispatch.Ref != "refs/heads/"+ev.DefaultBranch && !in.AllowStale {
			return d, fmt.Errorf("command deploy on workflow_dispatch of %s: deploys run only from the default branch (%s), whose commits went through review; run the workflow on %s, or set allow-stale: true to deploy another ref deliberately",
				ev.Dispatch.Ref, ev.DefaultBranch, ev.DefaultBranch)
		}
		if !hasAWS {
			return d, errors.New("command deploy needs AWS credentials: set role-to-assume (with `permissions: id-token: write`) or configure credentials in an earlier step")
		}
		d.Stages = []Stage{StageLint, StageBuild, StageDeploy}
		return d, nil
	case "build", "plan":
		switch {
		case pr != nil && pr.Fork():
			return lintOnly(fork)
		case !hasAWS && (command == "plan" || in.Repository == ""):
			return lintOnly(noAWS)
		}
		d.Stages = []Stage{StageLint, StageBuild}
		if command == "plan" {
			d.Stages = append(d.Stages, StagePlan)
		}
		return d, nil
	}
	return d, fmt.Errorf("input command is %q: use one of %s", command, strings.Join(Commands, ", "))
}

// MergedPull is the merged pull request that brought a commit in.
type MergedPull struct {
	Number   int
	HeadSHA  string    // the last commit reviewed on the pull request
	MergedAt time.Time // when it was merged, which closed it
}

// FindMergedPullRequest is MergedPullRequest with the pull request's head
// commit, which names the images and change sets its runs made.
func (c *Client) FindMergedPullRequest(ctx context.Context, sha string) (MergedPull, bool, error) {
	prs, _, err := c.gh.PullRequests.ListPullRequestsWithCommit(ctx, c.owner, c.repo, sha, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return MergedPull{}, false, c.explain("find the pull request of commit "+sha, err)
	}
	for _, pr := range prs {
		if pr.MergedAt != nil {
			return MergedPull{Number: pr.GetNumber(), HeadSHA: pr.GetHead().GetSHA(), MergedAt: pr.GetMergedAt().Time}, true, nil
		}
	}
	return MergedPull{}, false, nil
}
