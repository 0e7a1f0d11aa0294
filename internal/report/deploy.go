package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

// Outcome is what a deploy did to one stack.
type Outcome string

// The outcomes a stack can have.
const (
	Created   Outcome = "created" // a new stack
	Updated   Outcome = "updated"
	NoChanges Outcome = "no changes"
	Failed    Outcome = "failed"
	Skipped   Outcome = "skipped"  // not started because a stack it depends on failed
	Canceled  Outcome = "canceled" // the run was cancelled while it was in progress
)

// Deployment is the result of a deploy, stack by stack in the order they ran.
type Deployment struct {
	App     string        `json:"application"`
	Account string        `json:"account,omitempty"`
	Region  string        `json:"region,omitempty"`
	Stacks  []StackResult `json:"stacks"`
}

// StackResult is what happened to one stack.
type StackResult struct {
	StackName string  `json:"stack"`
	Env       string  `json:"environment,omitempty"`
	Workload  string  `json:"workload,omitempty"`
	Outcome   Outcome `json:"outcome"`
	// Status is the stack's CloudFormation status at the end, e.g.
	// UPDATE_ROLLBACK_COMPLETE.
	Status string `json:"status,omitempty"`
	// FailedResource, FailedType and Reason describe the first resource
	// that failed: the root cause, not the cascade of cancellations after it.
	FailedResource string `json:"failedResource,omitempty"`
	FailedType     string `json:"failedType,omitempty"`
	Reason         string `json:"reason,omitempty"`
	// ServiceURL is the workload's URL after a successful deploy.
	ServiceURL string        `json:"serviceURL,omitempty"`
	Duration   time.Duration `json:"-"`
	// Files, for a Static Site, are what was put in and deleted from its
	// bucket.
	Files *deploy.FileChanges `json:"files,omitempty"`
}

// Failed reports whether any stack failed.
func (d Deployment) Failed() bool {
	for _, s := range d.Stacks {
		if s.Outcome == Failed {
			return true
		}
	}
	return false
}

// Headline is one line saying how the deploy went: on failure, the first
// failing resource and its reason.
func (d Deployment) Headline() string {
	for _, s := range d.Stacks {
		if s.Outcome != Failed {
			continue
		}
		h := "Deploy failed in stack " + s.StackName
		if s.FailedResource != "" {
			h += ": " + s.FailedResource
			if s.FailedType != "" {
				h += " (" + s.FailedType + ")"
			}
		}
		if s.Reason != "" {
			h += ": " + s.Reason
		}
		return h
	}
	for _, s := range d.Stacks {
		if s.Outcome == Canceled {
			return "Deploy canceled while stack " + s.StackName + " was in progress"
		}
	}
	counts := map[Outcome]int{}
	for _, s := range d.Stacks {
		counts[s.Outcome]++
	}
	var done []string
	if n := counts[Created]; n > 0 {
		done = append(done, plural(n, "stack", "stacks")+" created")
	}
	if n := counts[Updated]; n > 0 {
		done = append(done, plural(n, "stack", "stacks")+" updated")
	}
	files := 0
	for _, s := range d.Stacks {
		if s.Files.Changed() {
			files++
		}
	}
	if files > 0 {
		done = append(done, plural(files, "site", "sites")+" synced")
	}
	if len(done) == 0 {
		return "Deploy succeeded: no changes"
	}
	return "Deploy succeeded: " + strings.Join(done, ", ")
}

// succeeded reports whether the stack was created or updated.
func (s StackResult) succeeded() bool { return s.Outcome == Created || s.Outcome == Updated }

// DeployJSONVersion is the version of the JSON deploy format.
const DeployJSONVersion = 1

// WriteDeployJSON writes `autopilot deploy --format json`:
//
//	{"version": 1, "failed": false, "headline": "Deploy succeeded: 1 stack created",
//	 "application": "shop", "account": "…", "region": "…",
//	 "stacks": [{"stack": "shop-test", "environment": "test", "outcome": "created", "status": "CREATE_COMPLETE", …}]}
func WriteDeployJSON(w io.Writer, d Deployment) error {
	out := struct {
		Version  int    `json:"version"`
		Failed   bool   `json:"failed"`
		Headline string `json:"headline"`
		Deployment
	}{DeployJSONVersion, d.Failed(), d.Headline(), d}
	if out.Stacks == nil {
		out.Stacks = []StackResult{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write deploy JSON: %w", err)
	}
	return nil
}

// ServiceURLs maps each workload to its URL, for the service-urls output.
func (d Deployment) ServiceURLs() map[string]string {
	urls := map[string]string{}
	for _, s := range d.Stacks {
		if s.ServiceURL != "" && s.Workload != "" {
			urls[s.Workload] = s.ServiceURL
		}
	}
	return urls
}

// DeployText writes the result for a terminal: the headline, then a line per stack.
func DeployText(w io.Writer, d Deployment) error {
	var b strings.Builder
	b.WriteString(termText(d.Headline()) + "\n")
	for _, s := range d.Stacks {
		fmt.Fprintf(&b, "  %-40s %-10s %s", termText(s.StackName), s.Outcome, termText(s.Status))
		if s.Duration > 0 {
			fmt.Fprintf(&b, " in %s", s.Duration.Round(time.Second))
		}
		b.WriteString("\n")
		if s.Outcome == Failed && s.Reason != "" {
			fmt.Fprintf(&b, "    %s: %s\n", termText(s.FailedResource), termText(s.Reason))
		}
		if s.ServiceURL != "" {
			fmt.Fprintf(&b, "    %s\n", termText(s.ServiceURL))
		}
		if f := s.Files; f != nil {
			fmt.Fprintf(&b, "    site files: %d put (%s), %d deleted, %d unchanged\n", f.Put, byteSize(f.PutBytes), f.Delete, f.Unchanged)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write deploy result: %w", err)
	}
	return nil
}

// DeployMarkdown renders the result for the job summary or a comment.
func DeployMarkdown(d Deployment, run RunInfo) string {
	var b strings.Builder
	icon := ":white_check_mark:"
	if d.Failed() {
		icon = ":x:"
	} else if d.canceled() {
		icon = ":stop_sign:"
	}
	fmt.Fprintf(&b, "### %s autopilot deploy: %s\n\n", icon, code(d.App))
	fmt.Fprintf(&b, "**%s**\n\n", text(d.Headline()))
	b.WriteString(contextLine(d.Account, d.Region, run) + "\n\n")
	if len(d.Stacks) > 0 {
		b.WriteString("| Stack | Environment | Result | Status | URL |\n|---|---|---|---|---|\n")
		for _, s := range d.Stacks {
			url := ""
			if s.ServiceURL != "" {
				url = link(text(s.ServiceURL), s.ServiceURL)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", code(s.StackName), text(s.Env), text(string(s.Outcome)), code(s.Status), url)
		}
		b.WriteString("\n")
	}
	for _, s := range d.Stacks {
		if s.Outcome == Failed && s.Reason != "" {
			fmt.Fprintf(&b, "> [!CAUTION]\n> %s in %s: %s\n\n", code(s.FailedResource), code(s.StackName), text(s.Reason))
		}
	}
	return Truncate(b.String(), CommentLimit, "> [!NOTE]\n> Cut to fit GitHub's size limit; the full result is in the job log.")
}

func (d Deployment) canceled() bool {
	for _, s := range d.Stacks {
		if s.Outcome == Canceled {
			return true
		}
	}
	return false
}

// FromResult turns deploy's result into a Deployment. A stack's URL comes
// from its ServiceURL output when it has one; urls (workload → URL, may be
// nil) fills in the rest, for services whose URL is read elsewhere (App
// Runner templates declare no outputs).
func FromResult(r *deploy.Result, urls map[string]string) Deployment {
	var d Deployment
	byName := map[string]deploy.StackPlan{}
	if r.Plan != nil {
		d.App, d.Account, d.Region = r.Plan.App, r.Plan.Account, r.Plan.Region
		for _, sp := range r.Plan.Stacks {
			byName[sp.StackName] = sp
		}
	}
	for _, s := range r.Stacks {
		sp := byName[s.StackName]
		sr := StackResult{StackName: s.StackName, Env: sp.Env, Workload: sp.Workload, Status: s.Status, Reason: s.Error}
		switch {
		case s.Error == "cancelled":
			sr.Outcome = Canceled
		case strings.HasPrefix(s.Error, "skipped"):
			sr.Outcome = Skipped
		case s.Error != "":
			sr.Outcome = Failed
		case s.NoChanges || !s.Executed:
			sr.Outcome = NoChanges
		case sp.ChangeSetType == "CREATE":
			sr.Outcome = Created
		default:
			sr.Outcome = Updated
		}
		if rc := s.RootCause; rc != nil {
			sr.FailedResource, sr.FailedType = rc.LogicalID, rc.ResourceType
			if rc.Reason != "" {
				sr.Reason = rc.Reason
			}
		}
		if sr.succeeded() || sr.Outcome == NoChanges {
			sr.ServiceURL = s.Outputs["ServiceURL"]
			// A Static Site is served at its alias, or its distribution's name.
			for _, o := range []string{"CloudFrontDistributionAlternativeDomainName", "CloudFrontDistributionDomainName"} {
				if sr.ServiceURL == "" && s.Outputs[o] != "" {
					sr.ServiceURL = "https://" + s.Outputs[o]
				}
			}
			if sr.ServiceURL == "" && sp.Workload != "" {
				sr.ServiceURL = urls[sp.Workload]
			}
		}
		sr.Files = s.Files
		d.Stacks = append(d.Stacks, sr)
	}
	return d
}
