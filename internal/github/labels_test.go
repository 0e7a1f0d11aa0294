package github

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	gh "github.com/google/go-github/v93/github"
)

// TestSyncLabels drives go-github against the fake's label endpoints over
// three plans: destructive, then no changes, then a plain change.
func TestSyncLabels(t *testing.T) {
	ctx := context.Background()
	fake, c := newFakeClient(t)
	fake.AddIssueLabel(testRepo, 7, "needs-review") // a person's label, never touched

	steps := []struct {
		name string
		on   map[Label]bool
		want []string
	}{
		{"destructive plan", map[Label]bool{LabelDestructive: true, LabelNoChanges: false}, []string{"needs-review", "autopilot:destructive"}},
		{"plan with no changes", map[Label]bool{LabelDestructive: false, LabelNoChanges: true}, []string{"needs-review", "autopilot:no-changes"}},
		{"same again", map[Label]bool{LabelDestructive: false, LabelNoChanges: true}, []string{"needs-review", "autopilot:no-changes"}},
		{"plain change", map[Label]bool{LabelDestructive: false, LabelNoChanges: false}, []string{"needs-review"}},
	}
	for _, s := range steps {
		if err := c.SyncLabels(ctx, 7, s.on); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, fake.IssueLabels(testRepo, 7)); diff != "" {
			t.Errorf("%s: labels (-want +got):\n%s", s.name, diff)
		}
	}
	l, ok := fake.RepoLabel(testRepo, "autopilot:destructive")
	if !ok || l.Color != LabelDestructive.Color || l.Description != LabelDestructive.Description {
		t.Errorf("repository label = %+v (found %v), want it created with its colour and description", l, ok)
	}
	// go-github reads the fake's answers as it reads GitHub's.
	got, _, err := c.gh.Issues.AddLabelsToIssue(ctx, c.owner, c.repo, 8, []string{"autopilot:no-changes", "brand-new"})
	if err != nil || len(got) != 2 || got[1].GetName() != "brand-new" || got[1].GetColor() != "ededed" || got[0].GetDescription() != LabelNoChanges.Description {
		t.Errorf("AddLabelsToIssue = %+v, %v", got, err)
	}
	_, err = c.gh.Issues.RemoveLabelForIssue(ctx, c.owner, c.repo, 8, "missing")
	if !isStatus(err, http.StatusNotFound) {
		t.Errorf("removing a label the issue lacks: %v, want 404", err)
	}
	_, _, err = c.gh.Issues.CreateLabel(ctx, c.owner, c.repo, gh.CreateIssueLabelRequest{Name: "Brand-New"})
	if !isStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("creating an existing label (another case): %v, want 422", err)
	}
}

func TestSyncLabelsSaysWhatToGrant(t *testing.T) {
	fake, c := newFakeClient(t)
	fake.FailNext("POST", http.StatusForbidden, "Resource not accessible by integration")
	err := c.SyncLabels(context.Background(), 7, map[Label]bool{LabelDestructive: true})
	if err == nil || !strings.Contains(err.Error(), "pull-requests: write") {
		t.Errorf("a refused label: %v, want the permission to grant", err)
	}
}
