package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v93/github"
)

// Label is a pull-request label autopilot keeps in step with the plan.
type Label struct {
	Name, Color, Description string
}

// The labels the add-labels input keeps on a pull request.
var (
	LabelDestructive = Label{Name: "autopilot:destructive", Color: "d73a4a", Description: "The autopilot plan removes or replaces a stateful resource"}
	LabelNoChanges   = Label{Name: "autopilot:no-changes", Color: "c5def5", Description: "The autopilot plan changes nothing"}
)

// SyncLabels puts each label whose value is true on the pull request and
// takes off each one whose value is false; other labels are left alone. A
// label the repository lacks is created first, with its colour and
// description.
func (c *Client) SyncLabels(ctx context.Context, pr int, labels map[Label]bool) error {
	present := map[string]bool{}
	opts := &gh.ListOptions{PerPage: 100}
	for {
		page, resp, err := c.gh.Issues.ListLabelsByIssue(ctx, c.owner, c.repo, pr, opts)
		if err != nil {
			return c.explain(fmt.Sprintf("list the labels of pull request #%d", pr), err)
		}
		for _, l := range page {
			present[strings.ToLower(l.GetName())] = true
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	var errs []error
	for l, on := range labels {
		switch has := present[strings.ToLower(l.Name)]; {
		case on && !has:
			errs = append(errs, c.addLabel(ctx, pr, l))
		case !on && has:
			_, err := c.gh.Issues.RemoveLabelForIssue(ctx, c.owner, c.repo, pr, l.Name)
			if err != nil && !isStatus(err, http.StatusNotFound) { // already gone
				errs = append(errs, c.explain(fmt.Sprintf("remove label %s from pull request #%d", l.Name, pr), err))
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Client) addLabel(ctx context.Context, pr int, l Label) error {
	if _, _, err := c.gh.Issues.GetLabel(ctx, c.owner, c.repo, l.Name); isStatus(err, http.StatusNotFound) {
		_, _, err := c.gh.Issues.CreateLabel(ctx, c.owner, c.repo, gh.CreateIssueLabelRequest{Name: l.Name, Color: &l.Color, Description: &l.Description})
		if err != nil && !isStatus(err, http.StatusUnprocessableEntity) { // another run created it meanwhile
			return c.explain("create label "+l.Name, err)
		}
	}
	if _, _, err := c.gh.Issues.AddLabelsToIssue(ctx, c.owner, c.repo, pr, []string{l.Name}); err != nil {
		return c.explain(fmt.Sprintf("label pull request #%d %s", pr, l.Name), err)
	}
	return nil
}

func isStatus(err error, status int) bool {
	var apiErr *gh.ErrorResponse
	return errors.As(err, &apiErr) && apiErr.Response != nil && apiErr.Response.StatusCode == status
}
