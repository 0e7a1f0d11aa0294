package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v93/github"

	"github.com/autopilot-dev/autopilot/internal/report"
)

// The reviewed plan is kept in a commit status on the pull request's head
// commit, one per environment: its context names the target, its
// description holds the fingerprint. A status cannot be edited (a new one
// supersedes it) and records who set it; commenting gives no way to set
// one. The sticky comment carries the same fingerprint for people and the
// record it hashes, which is believed only when it hashes to the status.

// CommitStatus is one status of a commit.
type CommitStatus struct {
	Context     string
	State       string // pending, success, failure or error
	Description string
	TargetURL   string
	Creator     string // login of whoever set it
	CreatedAt   time.Time
}

// PlanContext is the status context of a target's reviewed plan.
func PlanContext(t report.Target) string {
	return fmt.Sprintf("autopilot plan: %s/%s (%s %s)", t.App, t.Env, t.Account, t.Region)
}

// DeployContext is the status context of a deploy of an application.
func DeployContext(app, account, region string) string {
	return fmt.Sprintf("autopilot deploy: %s (%s %s)", app, account, region)
}

// SetStatus sets a status on commit sha and returns the login GitHub
// recorded as its creator: the identity this token writes as.
func (c *Client) SetStatus(ctx context.Context, sha string, st CommitStatus) (string, error) {
	in := gh.RepoStatus{State: gh.Ptr(st.State), Context: gh.Ptr(st.Context), Description: gh.Ptr(st.Description)}
	if st.TargetURL != "" {
		in.TargetURL = gh.Ptr(st.TargetURL)
	}
	out, _, err := c.gh.Repositories.CreateStatus(ctx, c.owner, c.repo, sha, in)
	if err != nil {
		return "", c.explainPermission(fmt.Sprintf("set status %q on commit %s", st.Context, shortSHA(sha)), "statuses: write", err)
	}
	c.self = out.GetCreator().GetLogin()
	return c.self, nil
}

// Statuses returns every status of commit sha, newest first.
func (c *Client) Statuses(ctx context.Context, sha string) ([]CommitStatus, error) {
	var out []CommitStatus
	opts := &gh.ListOptions{PerPage: 100}
	for {
		page, resp, err := c.gh.Repositories.ListStatuses(ctx, c.owner, c.repo, sha, opts)
		if err != nil {
			return nil, c.explainPermission("read the statuses of commit "+shortSHA(sha), "statuses: read", err)
		}
		for _, s := range page {
			out = append(out, CommitStatus{Context: s.GetContext(), State: s.GetState(), Description: s.GetDescription(),
				TargetURL: s.GetTargetURL(), Creator: s.GetCreator().GetLogin(), CreatedAt: s.GetCreatedAt().Time})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Identity returns the login this client's token acts as. A user's token
// answers GET /user. An installation token (the workflow's GITHUB_TOKEN, a
// GitHub App's) gets 403 there, so probe makes a write and returns the
// creator GitHub records on it, which is what every write of the token
// carries (github-actions[bot] for GITHUB_TOKEN).
func (c *Client) Identity(ctx context.Context, probe func(context.Context) (string, error)) (string, error) {
	u, _, err := c.gh.Users.Get(ctx, "")
	if err == nil && u.GetLogin() != "" {
		return u.GetLogin(), nil
	}
	var apiErr *gh.ErrorResponse
	if !errors.As(err, &apiErr) || apiErr.Response == nil || apiErr.Response.StatusCode != http.StatusForbidden {
		return "", c.explain("read the token's user", err)
	}
	login, perr := probe(ctx)
	if perr != nil {
		return "", fmt.Errorf("the token is an app's installation token (GET /user: 403), so its identity is read from a status it sets: %w", perr)
	}
	if login == "" {
		return "", errors.New("GitHub returned no creator for the status the token set")
	}
	return login, nil
}

// BranchHead returns the commit branch points at.
func (c *Client) BranchHead(ctx context.Context, branch string) (string, error) {
	b, _, err := c.gh.Repositories.GetBranch(ctx, c.owner, c.repo, branch, 1)
	if err != nil {
		return "", c.explainPermission("read branch "+branch, "contents: read", err)
	}
	return b.GetCommit().GetSHA(), nil
}

// explainPermission is explain with the permission a 403 asks for.
func (c *Client) explainPermission(op, permission string, err error) error {
	var apiErr *gh.ErrorResponse
	if errors.As(err, &apiErr) && apiErr.Response != nil && apiErr.Response.StatusCode == http.StatusForbidden {
		return fmt.Errorf("%s in %s/%s: permission denied (403); give the job `permissions: %s`: %w", op, c.owner, c.repo, permission, err)
	}
	return c.explain(op, err)
}

// plannedEnvs lists the environments of app, in account and region, that
// identity recorded a plan status for.
func plannedEnvs(statuses []CommitStatus, app, account, region, identity string) []string {
	var envs []string
	for _, s := range statuses {
		env, ok := strings.CutPrefix(s.Context, "autopilot plan: "+app+"/")
		env, inTarget := strings.CutSuffix(env, fmt.Sprintf(" (%s %s)", account, region))
		if s.Creator == identity && ok && inTarget && !slices.Contains(envs, env) {
			envs = append(envs, env)
		}
	}
	slices.Sort(envs)
	return envs
}

func orNone(items []string) string {
	if len(items) == 0 {
		return "no environment"
	}
	return strings.Join(items, ", ")
}

// trustedPlan picks, from a commit's statuses (newest first), the reviewed
// plan for context: the newest one set by identity no later than
// closedAt. It names each newer status it passed over, and says why
// nothing can be trusted when nothing can.
func trustedPlan(statuses []CommitStatus, context, identity string, closedAt time.Time, pr int) (_ CommitStatus, ignored []string, why string) {
	for _, s := range statuses {
		if s.Context != context {
			continue
		}
		switch {
		case s.Creator != identity:
			ignored = append(ignored, fmt.Sprintf("one set by %s, not by %s (the identity autopilot writes as)", s.Creator, identity))
		case !closedAt.IsZero() && s.CreatedAt.After(closedAt):
			ignored = append(ignored, fmt.Sprintf("one set at %s, after pull request #%d was merged at %s", s.CreatedAt.Format(time.RFC3339), pr, closedAt.Format(time.RFC3339)))
		case s.State != "success":
			return CommitStatus{}, ignored, fmt.Sprintf("the last plan of pull request #%d for %q did not succeed (%s: %s)", pr, context, s.State, s.Description)
		default:
			return s, ignored, ""
		}
	}
	why = fmt.Sprintf("pull request #%d's head commit has no status %q set by %s while it was open", pr, context, identity)
	if len(ignored) > 0 {
		why += "; ignored: " + strings.Join(ignored, "; ")
	}
	return CommitStatus{}, ignored, why
}
