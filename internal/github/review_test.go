package github

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	fakegithub "github.com/autopilot-dev/autopilot/internal/fakes/github"
	"github.com/autopilot-dev/autopilot/internal/report"
)

// TestCleanupNeverDeletesARunningDeploysChangeSets: with a fast-forward
// merge the deploy runs for the pull request's own head commit, at the
// moment its close starts the cleanup. The cleanup runs between the
// deploy's planning and its execution; the deploy must still execute.
func TestCleanupNeverDeletesARunningDeploysChangeSets(t *testing.T) {
	const head = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	srv := fakecfn.New()
	t.Cleanup(srv.Close)
	api := cloudformation.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
	})}, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	stack := deploy.Stack{Name: "shop-test", Env: "test", Template: []byte("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")}

	d, err := deploy.NewDeployer(api, deploy.WithRevision(head, "108"), deploy.WithWaitDelays(10*time.Millisecond, 20*time.Millisecond),
		deploy.WithPollInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	d = d.WithGate(func(*deploy.Plan) error {
		// The closed pull request's cleanup, for the same head commit.
		deleted, err = deleteChangeSets(context.Background(), api, []string{stack.Name}, "autopilot-plan-"+shortSHA(head)+"-")
		return err
	})
	res, err := d.Deploy(context.Background(), []deploy.Stack{stack})
	if err != nil {
		t.Fatalf("the deploy failed after the cleanup ran: %v", err)
	}
	if len(deleted) != 0 {
		t.Errorf("the cleanup deleted the running deploy's change sets %v", deleted)
	}
	if res.Stacks[0].Status != "CREATE_COMPLETE" {
		t.Errorf("stack is %s, want CREATE_COMPLETE", res.Stacks[0].Status)
	}
}

func TestTrustedPlan(t *testing.T) {
	merged := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const ctxName, bot = "autopilot plan: shop/prod (1 us-east-1)", "github-actions[bot]"
	st := func(creator, state, fp string, at time.Time) CommitStatus {
		return CommitStatus{Context: ctxName, Creator: creator, State: state, Description: fp, CreatedAt: at}
	}
	before, after := merged.Add(-time.Hour), merged.Add(time.Minute)
	tests := []struct {
		name     string
		statuses []CommitStatus // newest first
		want     string
		why      string
	}{
		{"the bot's plan", []CommitStatus{st(bot, "success", "sha256:a", before)}, "sha256:a", ""},
		{"the newest of the bot's plans", []CommitStatus{st(bot, "success", "sha256:b", before.Add(time.Minute)), st(bot, "success", "sha256:a", before)}, "sha256:b", ""},
		{"a plan set in the second of the merge", []CommitStatus{st(bot, "success", "sha256:a", merged)}, "sha256:a", ""},
		{"a collaborator's status is passed over", []CommitStatus{st("mallory", "success", "sha256:x", before.Add(time.Minute)), st(bot, "success", "sha256:a", before)}, "sha256:a", ""},
		{"a plan after the merge is passed over", []CommitStatus{st(bot, "success", "sha256:x", after), st(bot, "success", "sha256:a", before)}, "sha256:a", ""},
		{"only a collaborator's", []CommitStatus{st("mallory", "success", "sha256:x", before)}, "", "set by mallory, not by github-actions[bot]"},
		{"only after the merge", []CommitStatus{st(bot, "success", "sha256:x", after)}, "", "after pull request #7 was merged"},
		{"the last plan failed", []CommitStatus{st(bot, "failure", "sha256:b", before), st(bot, "success", "sha256:a", before.Add(-time.Hour))}, "", "did not succeed"},
		{"another environment's", []CommitStatus{{Context: "autopilot plan: shop/test (1 us-east-1)", Creator: bot, State: "success", Description: "sha256:t"}}, "", "has no status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, why := trustedPlan(tt.statuses, ctxName, bot, merged, 7)
			if got.Description != tt.want || !strings.Contains(why, tt.why) || (tt.why == "") != (why == "") {
				t.Errorf("trustedPlan = %q, %q; want %q, %q", got.Description, why, tt.want, tt.why)
			}
		})
	}
}

// TestIdentity: a user's token is its user; GITHUB_TOKEN, an installation
// token, is what its own writes carry.
func TestIdentity(t *testing.T) {
	srv := fakegithub.New(fakegithub.WithUser("pat", "release-bot-user"))
	t.Cleanup(srv.Close)
	const sha = "4444444ddddddddddddddddddddddddddddddddd"
	ctx := context.Background()
	client := func(token string) *Client {
		c, err := NewClient(token, "acme/shop", WithAPIURL(srv.URL()))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	probe := func(c *Client) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			return c.SetStatus(ctx, sha, CommitStatus{Context: "autopilot deploy: shop", State: "pending", Description: "deploying"})
		}
	}
	pat := client("pat")
	if got, err := pat.Identity(ctx, func(context.Context) (string, error) { t.Error("probed a user's token"); return "", nil }); err != nil || got != "release-bot-user" {
		t.Errorf("personal token: %q, %v", got, err)
	}
	bot := client(srv.Token())
	if got, err := bot.Identity(ctx, probe(bot)); err != nil || got != "github-actions[bot]" {
		t.Errorf("installation token: %q, %v", got, err)
	}
	if sts := srv.Statuses("acme/shop", sha); len(sts) != 1 || sts[0].Creator.Login != "github-actions[bot]" || sts[0].State != "pending" {
		t.Errorf("statuses after the probe: %+v", sts)
	}
	srv.SetPermissions(map[string]string{"contents": "read"})
	if _, err := bot.Identity(ctx, probe(bot)); err == nil || !strings.Contains(err.Error(), "statuses: write") {
		t.Errorf("installation token without statuses: write: %v, want it to name the permission", err)
	}
}

func TestBranchHeadAndStatuses(t *testing.T) {
	srv := fakegithub.New()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c, err := NewClient(srv.Token(), "acme/shop", WithAPIURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	const sha = "4444444ddddddddddddddddddddddddddddddddd"
	srv.SetBranch("acme/shop", "main", sha)
	if head, err := c.BranchHead(ctx, "main"); err != nil || head != sha {
		t.Errorf("BranchHead = %q, %v", head, err)
	}
	if _, err := c.BranchHead(ctx, "gone"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("BranchHead of a missing branch: %v", err)
	}
	for i := range 130 { // more than one page
		if _, err := c.SetStatus(ctx, sha, CommitStatus{Context: "c", State: "success", Description: fmt.Sprint("n", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SetStatus(ctx, sha, CommitStatus{Context: "c", State: "success", Description: strings.Repeat("x", 141)}); err == nil {
		t.Error("a description over 140 characters was accepted")
	}
	got, err := c.Statuses(ctx, sha)
	if err != nil || len(got) != 130 {
		t.Fatalf("Statuses: %d, %v; want 130", len(got), err)
	}
	if got[0].Description != "n129" || got[129].Description != "n0" || got[0].Creator != "github-actions[bot]" {
		t.Errorf("statuses not newest first, or without their creator: first %+v, last %+v", got[0], got[129])
	}
}

// TestUpsertUpdatesOnlyItsOwnComment: a commenter posts the marker first,
// hoping the bot edits their comment, which they could then change under
// the reviewers' eyes. Once a write has shown the client who it is, it
// leaves that comment alone and writes its own.
func TestUpsertUpdatesOnlyItsOwnComment(t *testing.T) {
	srv := fakegithub.New()
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.Token(), "acme/shop", WithAPIURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- autopilot:plan app=shop env=prod account=1 region=us-east-1 -->"
	planted := srv.AddComment("acme/shop", 7, "mallory", marker+"\nnothing to see")
	if _, err := c.SetStatus(context.Background(), "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", CommitStatus{Context: "x", State: "success"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpsertComment(context.Background(), 7, marker, "the plan"); err != nil {
		t.Fatal(err)
	}
	comments := srv.Comments("acme/shop", 7)
	if len(comments) != 2 || comments[0].Body != planted.Body || comments[1].User.Login != "github-actions[bot]" {
		t.Errorf("comments = %+v; want the planted one untouched and the bot's own", comments)
	}
}

func TestPlannedEnvs(t *testing.T) {
	bot := "github-actions[bot]"
	plan := func(creator, app, env, account string) CommitStatus {
		return CommitStatus{Creator: creator, Context: PlanContext(report.Target{App: app, Env: env, Account: account, Region: "us-east-1"})}
	}
	statuses := []CommitStatus{plan(bot, "shop", "test", "1"), plan(bot, "shop", "prod", "1"), plan(bot, "shop", "test", "1"),
		plan("mallory", "shop", "staging", "1"), plan(bot, "other", "dev", "1"), plan(bot, "shop", "qa", "2"),
		{Creator: bot, Context: "ci/build"}}
	if got := plannedEnvs(statuses, "shop", "1", "us-east-1", bot); strings.Join(got, ",") != "prod,test" {
		t.Errorf("plannedEnvs = %v, want prod, test", got)
	}
}
