package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/diag"
)

// CommentOption adds to the plan comments what a reviewer needs beside the
// plan: the lint findings and what a merge does.
type CommentOption func(*commentOptions)

type commentOptions struct {
	lint    *diag.List
	root    options // relPath for lint findings
	onMerge *OnMerge
}

// maxCommentFindings bounds the findings a comment lists; the job summary
// has all of them.
const maxCommentFindings = 10

// WithFindings shows lint's findings in each comment: the counts, and the
// errors and warnings that hold for the comment's environment, one line
// each. Paths are made relative to root when it is set.
func WithFindings(findings diag.List, root string) CommentOption {
	return func(o *commentOptions) {
		o.lint = &findings
		if root != "" {
			_ = WithRoot(root)(&o.root) // an unusable root leaves paths as they are
		}
	}
}

// OnMerge is what merging the pull request does, as far as this step's
// inputs tell (the usual workflow runs the same step on the pull request
// and on the push to Branch).
type OnMerge struct {
	Branch string // the pull request's base branch
	// Envs are the environments the deploy covers; empty means every
	// environment of the workspace.
	Envs []string
	// RefuseDestructive: a destructive change stops the deploy before
	// anything executes.
	RefuseDestructive bool
	// RequireReviewed: only the plan this comment fingerprints executes.
	RequireReviewed bool
}

// WithOnMerge says in each comment what a merge deploys.
func WithOnMerge(m OnMerge) CommentOption {
	return func(o *commentOptions) { o.onMerge = &m }
}

// sections renders the parts of one environment's comment that are not
// the plan: what a merge does, then the lint findings.
func (o *commentOptions) sections(e envPlan, c deploy.Counts) string {
	if o == nil {
		return ""
	}
	var b strings.Builder
	if m := o.onMerge; m != nil {
		b.WriteString(m.render(e.Env, c))
	}
	if o.lint != nil {
		b.WriteString(o.lintSection(e.Env))
	}
	return b.String()
}

func (m *OnMerge) render(env string, c deploy.Counts) string {
	into := "the default branch"
	if m.Branch != "" {
		into = code(m.Branch)
	}
	if len(m.Envs) > 0 && !slices.Contains(m.Envs, env) {
		return fmt.Sprintf("**On merge** into %s: %s is not deployed (this step's inputs deploy %s); this plan is a preview.\n\n", into, code(env), codeList(m.Envs))
	}
	deploys := "every environment of the workspace"
	if len(m.Envs) > 0 {
		deploys = codeList(m.Envs)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**On merge** into %s: with this step's inputs, autopilot deploys %s.", into, deploys)
	switch {
	case c.Destructive > 0 && m.RefuseDestructive:
		fmt.Fprintf(&b, " :no_entry: The %s here will be refused: nothing in %s executes until the workflow allows them.",
			plural(c.Destructive, "destructive change", "destructive changes"), code(env))
	case c.Destructive > 0:
		fmt.Fprintf(&b, " :warning: The %s here will execute: this step does not refuse destructive changes.",
			plural(c.Destructive, "destructive change", "destructive changes"))
	}
	if m.RequireReviewed {
		b.WriteString(" Only this reviewed plan executes: if the plan differs at merge time, nothing does.")
	}
	b.WriteString("\n\n")
	return b.String()
}

// lintSection lists the errors and warnings for env, briefly.
func (o *commentOptions) lintSection(env string) string {
	var l diag.List
	for _, d := range *o.lint {
		if d.Env == "" || slices.Contains(strings.Split(d.Env, ", "), env) {
			d.File = o.root.relPath(d.File)
			l = append(l, d)
		}
	}
	if len(l) == 0 {
		return "**Lint:** no findings.\n\n"
	}
	l.Sort()
	var b strings.Builder
	fmt.Fprintf(&b, "**Lint:** %s\n\n", countLine(l))
	shown := 0
	for _, d := range l {
		if d.Severity == diag.Notice {
			continue
		}
		if shown == maxCommentFindings {
			fmt.Fprintf(&b, "- … and %s in the job summary\n", plural(l.Count(diag.Error)+l.Count(diag.Warning)-shown, "more", "more"))
			break
		}
		icon := ":warning:"
		if d.Severity == diag.Error {
			icon = ":x:"
		}
		fmt.Fprintf(&b, "- %s %s %s (%s)\n", icon, code(position(d.File, d.Line, d.Column)), text(d.Message), code(d.Rule))
		shown++
	}
	if shown > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

func codeList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = code(n)
	}
	return strings.Join(out, ", ")
}
