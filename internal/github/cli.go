package github

import (
	"context"
	"fmt"
	"io"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/report"
)

// CLI is what the plain commands (plan, deploy, build) do for GitHub
// Actions when they run in one: the job summary, the sticky pull-request
// comment and log masking. Outside Actions every method does nothing.
type CLI struct {
	env    Env
	getenv func(string) string
	rt     *Runtime
	log    io.Writer
}

// NewCLI reads the Actions environment through getenv; log receives
// notices (standard error).
func NewCLI(getenv func(string) string, log io.Writer) *CLI {
	c := &CLI{env: ReadEnv(getenv), getenv: getenv, log: log}
	if c.env.Actions {
		c.rt, _ = NewRuntime(WithGetenv(getenv))
	}
	return c
}

// Mask registers a credential fetched at run time with the runner's log
// masking.
func (c *CLI) Mask(secret string) {
	if c.rt != nil {
		_ = c.rt.AddMask(secret)
	}
}

// RunInfo says where this run is, for the links in reports.
func (c *CLI) RunInfo() report.RunInfo {
	if !c.env.Actions {
		return report.RunInfo{}
	}
	return report.RunInfo{URL: c.env.RunURL(), SHA: c.env.SHA, CommitURL: c.env.CommitURL(c.env.SHA)}
}

func (c *CLI) notice(format string, args ...any) {
	fmt.Fprintf(c.log, "::notice::%s\n", report.EscapeData(fmt.Sprintf(format, args...)))
}

// PublishPlan writes the full preview to the job summary and upserts one
// sticky comment per target on the pull request. Missing permissions or a
// fork never fail the run: the preview is in the summary either way.
func (c *CLI) PublishPlan(ctx context.Context, plan *deploy.Plan) {
	if c.rt == nil {
		return
	}
	ri := c.RunInfo()
	if err := c.rt.AppendSummary(report.PlanSummary(plan, ri)); err != nil {
		c.notice("could not write the job summary: %v", err)
	}
	event, err := LoadEvent(c.env)
	if err != nil || event.PullRequest == nil {
		return
	}
	pr := event.PullRequest
	token := c.getenv("GITHUB_TOKEN")
	switch {
	case pr.Fork():
		c.notice("pull request from a fork: the plan is in the job summary; no comment is posted")
		return
	case token == "":
		c.notice("no GITHUB_TOKEN: the plan is in the job summary; no comment is posted")
		return
	}
	client, err := NewClient(token, c.env.Repository, WithAPIURL(c.env.APIURL))
	if err != nil {
		c.notice("no comment posted: %v", err)
		return
	}
	postPlanComments(ctx, client, pr.Number, plan, ri, func(s string) string { return s },
		func(url string) { fmt.Fprintf(c.log, "plan comment: %s\n", url) },
		func(err error) { c.notice("no comment posted: %v", err) })
}

// PublishDeploy writes a deploy's result to the job summary.
func (c *CLI) PublishDeploy(d report.Deployment) {
	if c.rt == nil {
		return
	}
	if err := c.rt.AppendSummary(report.DeployMarkdown(d, c.RunInfo())); err != nil {
		c.notice("could not write the job summary: %v", err)
	}
}

// postPlanComments upserts the plan's sticky comments (one per target),
// masking each body, and reports each comment's URL or failure.
func postPlanComments(ctx context.Context, client *Client, pr int, plan *deploy.Plan, ri report.RunInfo,
	mask func(string) string, posted func(url string), failed func(error), opts ...report.CommentOption) {
	for _, c := range report.PlanComments(plan, ri, opts...) {
		url, err := client.UpsertComment(ctx, pr, c.Marker, mask(c.Body))
		if err != nil {
			failed(err)
			continue
		}
		posted(url)
	}
}
