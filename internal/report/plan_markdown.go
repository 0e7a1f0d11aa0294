package report

import (
	"fmt"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

// foldRows is the most additions a stack shows unfolded.
const foldRows = 10

// maxValue bounds one property value in a diff, so one huge policy document
// cannot crowd every other change out of a comment.
const maxValue = 4000

// PlanComments renders one sticky-comment body per (application,
// environment, account, region) of the plan, in the order environments
// appear in it; opts add the lint findings and what a merge does.
//
// A body that would pass CommentLimit is trimmed: it keeps the headline and
// every destructive row, drops the other rows and the property diffs, and
// says that the full preview is in the job summary.
func PlanComments(p *deploy.Plan, run RunInfo, opts ...CommentOption) []Comment {
	o := &commentOptions{}
	for _, opt := range opts {
		opt(o)
	}
	var out []Comment
	for _, e := range splitByEnv(p) {
		c := Comment{Target: e.Target, Marker: e.Marker()}
		c.Full = renderEnv(p, e, run, full, o)
		header := c.Marker + "\n" + reviewLines(p, e.Env)
		c.Body = header + c.Full
		if len(c.Body) > CommentLimit {
			c.Trimmed = true
			c.Body = header + renderEnv(p, e, run, withoutDiffs, o)
		}
		if len(c.Body) > CommentLimit {
			c.Body = header + renderEnv(p, e, run, destructiveOnly, o)
		}
		// The header comes first, so even this last-resort cut keeps it.
		c.Body = Truncate(c.Body, CommentLimit, trimmedNote(run))
		out = append(out, c)
	}
	return out
}

// PlanSummary renders the full preview of every environment for the job
// summary, trimmed safely to SummaryLimit.
func PlanSummary(p *deploy.Plan, run RunInfo) string {
	var b strings.Builder
	envs := splitByEnv(p)
	if len(envs) == 0 {
		fmt.Fprintf(&b, "### autopilot plan: %s\n\nNo stacks to plan.\n", code(p.App))
	}
	for i, e := range envs {
		if i > 0 {
			b.WriteString("\n---\n\n")
		}
		b.WriteString(renderEnv(p, e, run, full, nil))
	}
	return Truncate(b.String(), SummaryLimit, "> [!NOTE]\n> This preview was cut to fit the 1 MiB job summary; run `autopilot plan` locally for all of it.")
}

func trimmedNote(run RunInfo) string {
	return "> [!NOTE]\n> This comment was cut to fit GitHub's size limit. The full preview is in the " + link("job summary", run.URL) + "."
}

// detail says how much of a plan a preview shows.
type detail int

const (
	full            detail = iota
	withoutDiffs           // every row, no property diffs
	destructiveOnly        // the headline and the destructive rows
)

// renderEnv renders one environment's preview at the given detail; o adds
// a comment's sections (nil for none).
func renderEnv(p *deploy.Plan, e envPlan, run RunInfo, level detail, o *commentOptions) string {
	var b strings.Builder
	c := e.counts()
	title := "### autopilot plan: " + code(p.App)
	if e.Env != "" {
		title += " → " + code(e.Env)
	}
	b.WriteString(title + "\n\n")
	fmt.Fprintf(&b, "**%s**", e.headline())
	if c.Destructive > 0 {
		fmt.Fprintf(&b, " · :warning: **%s**", plural(c.Destructive, "destructive change", "destructive changes"))
	}
	b.WriteString("\n\n")
	b.WriteString(contextLine(p.Account, p.Region, run) + "\n\n")
	if p.Offline {
		b.WriteString("> [!NOTE]\n> Offline plan: every stack is compared with an empty account or an earlier render, not with what is deployed.\n\n")
	}
	if c.Destructive > 0 {
		b.WriteString("> [!CAUTION]\n> This plan removes or replaces stateful resources (rows marked :warning:). Their data is lost unless it is backed up or retained.\n\n")
	}
	b.WriteString(o.sections(e, c))
	switch level {
	case withoutDiffs:
		fmt.Fprintf(&b, "> [!NOTE]\n> Trimmed to fit GitHub's comment limit: the property diffs are left out here. The full preview is in the %s.\n\n",
			link("job summary", run.URL))
	case destructiveOnly:
		total := c.Add + c.Modify + c.Remove
		fmt.Fprintf(&b, "> [!NOTE]\n> Trimmed to fit GitHub's comment limit: %d of %d changes and all property diffs are left out here. The full preview is in the %s.\n\n",
			total-c.Destructive, total, link("job summary", run.URL))
	}
	for _, s := range e.stacks {
		renderStack(&b, s, level)
	}
	return b.String()
}

// contextLine says where the plan applies and where it came from.
func contextLine(account, region string, run RunInfo) string {
	var parts []string
	if account != "" {
		parts = append(parts, "account "+code(account))
	}
	if region != "" {
		parts = append(parts, "region "+code(region))
	}
	if run.SHA != "" {
		parts = append(parts, "commit "+link(code(shortSHA(run.SHA)), run.CommitURL))
	}
	if run.URL != "" {
		parts = append(parts, link("workflow run", run.URL))
	}
	if len(parts) == 0 {
		return "_local run_"
	}
	return strings.Join(parts, " · ")
}

func renderStack(b *strings.Builder, s deploy.StackPlan, level detail) {
	fmt.Fprintf(b, "#### %s", code(s.StackName))
	if label := stackLabel(s); label != "" {
		fmt.Fprintf(b, " · %s", text(label))
	}
	b.WriteString("\n\n")
	switch {
	case s.Error != "":
		fmt.Fprintf(b, "> [!WARNING]\n> Could not plan this stack: %s\n\n", text(s.Error))
		return
	case s.Status == "FAILED" && !s.NoChanges:
		fmt.Fprintf(b, "> [!WARNING]\n> The change set failed: %s\n\n", text(s.StatusReason))
		return
	case s.NoChanges || len(s.Changes) == 0:
		b.WriteString("No changes.\n\n")
		renderImages(b, s.Images)
		renderSiteFiles(b, s.Files)
		return
	}
	sc := s.Count()
	line, plain := headline(sc), headline(sc)
	if s.ChangeSetName != "" {
		line += " · change set " + code(s.ChangeSetName)
		plain += " · change set " + s.ChangeSetName
		if s.ChangeSetType != "" {
			line += " (" + text(s.ChangeSetType) + ")"
			plain += " (" + s.ChangeSetType + ")"
		}
	}
	if s.Preview {
		fmt.Fprintf(b, "> [!NOTE]\n> Preview: %s\n\n", text(s.StatusReason))
	}
	// A long list of additions (a new stack) says little row by row: it
	// folds under its headline, as tfcmt and Atlantis fold long plans.
	fold := level != destructiveOnly && sc.Add == len(s.Changes) && len(s.Changes) > foldRows
	if fold {
		fmt.Fprintf(b, "<details><summary>%s</summary>\n\n", htmlText(plain))
	} else {
		b.WriteString(line + "\n\n")
	}

	rows := orderedChanges(s.Changes)
	if level == destructiveOnly {
		rows = rows[:sc.Destructive] // destructive rows sort first
	}
	if len(rows) > 0 {
		b.WriteString("| | Resource | Type | Action | Replacement |\n|:-:|---|---|---|---|\n")
		for _, rc := range rows {
			flag := text(mark(rc))
			if rc.Destructive {
				flag = ":warning: " + flag
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", flag, code(resourceName(rc)), code(rc.ResourceType), text(string(rc.Action)), text(string(rc.Replacement)))
		}
		b.WriteString("\n")
	}
	switch level {
	case full:
		for _, rc := range rows {
			renderDetails(b, rc)
		}
	case destructiveOnly:
		if left := len(s.Changes) - len(rows); left > 0 {
			fmt.Fprintf(b, "_%s not shown._\n\n", plural(left, "more change", "more changes"))
		}
	}
	if fold {
		b.WriteString("</details>\n\n")
	}
	renderImages(b, s.Images)
	renderSiteFiles(b, s.Files)
}

func renderSiteFiles(b *strings.Builder, f *deploy.FileChanges) {
	if line := siteFilesLine(f); line != "" {
		b.WriteString(line + "\n\n")
	}
}

// renderDetails writes a collapsible diff of one resource's changed properties.
func renderDetails(b *strings.Builder, rc deploy.ResourceChange) {
	if len(rc.Details) == 0 {
		return
	}
	var diff strings.Builder
	for _, d := range rc.Details {
		v := viewProperty(d)
		diff.WriteString("  " + oneLine(v.path))
		var notes []string
		if d.RequiresRecreation != "" && d.RequiresRecreation != "Never" {
			notes = append(notes, "recreation: "+d.RequiresRecreation)
		}
		if d.ChangeSource != "" {
			notes = append(notes, "source: "+d.ChangeSource)
		}
		if len(notes) > 0 {
			diff.WriteString(" (" + oneLine(strings.Join(notes, ", ")) + ")")
		}
		diff.WriteString("\n")
		if v.unknown {
			diff.WriteString("  (changed; CloudFormation returned no values)\n")
		}
		if v.before != "" {
			writeDiffLines(&diff, "- ", clip(v.before, maxValue))
		}
		if v.after != "" {
			writeDiffLines(&diff, "+ ", clip(v.after, maxValue))
		}
	}
	body := diff.String()
	f := fence(body)
	fmt.Fprintf(b, "<details><summary>%s: %s</summary>\n\n%sdiff\n%s%s\n\n</details>\n\n",
		htmlText(resourceName(rc)), plural(len(rc.Details), "changed property", "changed properties"), f, body, f)
}

func writeDiffLines(b *strings.Builder, prefix, value string) {
	for line := range strings.Lines(value) {
		b.WriteString(prefix + strings.TrimRight(line, "\r\n") + "\n")
	}
}

func renderImages(b *strings.Builder, images []deploy.Image) {
	if len(images) == 0 {
		return
	}
	b.WriteString("Images:\n")
	for _, img := range images {
		ref := img.Repository
		if img.Tag != "" {
			ref += ":" + img.Tag
		}
		fmt.Fprintf(b, "- %s: %s", text(img.Workload), code(ref))
		if img.Digest != "" {
			fmt.Fprintf(b, " @ %s", code(img.Digest))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}
