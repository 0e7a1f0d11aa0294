package main

import (
	"context"
	"fmt"
	"os"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/github"
	"github.com/autopilot-dev/autopilot/internal/report"
)

// ghContext is what the CLI does for GitHub Actions when it runs in one:
// the job summary, the sticky pull-request comment and log masking. Outside
// Actions every method does nothing.
type ghContext struct {
	env github.Env
	rt  *github.Runtime
}

func githubFromEnv() *ghContext {
	env := github.ReadEnv(os.Getenv)
	g := &ghContext{env: env}
	if env.Actions {
		g.rt, _ = github.NewRuntime()
	}
	return g
}

// maskSecret registers a credential fetched at run time with the runner's
// log masking.
func maskSecret(secret string) {
	if g := githubFromEnv(); g.rt != nil {
		_ = g.rt.AddMask(secret)
	}
}

func (g *ghContext) runInfo() report.RunInfo {
	if !g.env.Actions {
		return report.RunInfo{}
	}
	return report.RunInfo{URL: g.env.RunURL(), SHA: g.env.SHA, CommitURL: g.env.CommitURL(g.env.SHA)}
}

func (g *ghContext) notice(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "::notice::%s\n", report.EscapeData(fmt.Sprintf(format, args...)))
}

// publishPlan writes the full preview to the job summary and upserts one
// sticky comment per target on the pull request. Missing permissions or a
// fork never fail the run: the preview is in the summary either way.
func (g *ghContext) publishPlan(ctx context.Context, plan *deploy.Plan) {
	if g.rt == nil {
		return
	}
	ri := g.runInfo()
	if err := g.rt.AppendSummary(report.PlanSummary(plan, ri)); err != nil {
		g.notice("could not write the job summary: %v", err)
	}
	event, err := github.LoadEvent(g.env)
	if err != nil || event.PullRequest == nil {
		return
	}
	pr := event.PullRequest
	token := os.Getenv("GITHUB_TOKEN")
	switch {
	case pr.Fork():
		g.notice("pull request from a fork: the plan is in the job summary; no comment is posted")
		return
	case token == "":
		g.notice("no GITHUB_TOKEN: the plan is in the job summary; no comment is posted")
		return
	}
	client, err := github.NewClient(token, g.env.Repository, github.WithAPIURL(g.env.APIURL))
	if err != nil {
		g.notice("no comment posted: %v", err)
		return
	}
	for _, c := range report.PlanComments(plan, ri) {
		url, err := client.UpsertComment(ctx, pr.Number, c.Marker, c.Body)
		if err != nil {
			g.notice("no comment posted: %v", err)
			continue
		}
		fmt.Fprintf(os.Stderr, "plan comment: %s\n", url)
	}
}

// publishDeploy writes the deploy's result to the job summary.
func (g *ghContext) publishDeploy(d report.Deployment) {
	if g.rt == nil {
		return
	}
	if err := g.rt.AppendSummary(report.DeployMarkdown(d, g.runInfo())); err != nil {
		g.notice("could not write the job summary: %v", err)
	}
}
