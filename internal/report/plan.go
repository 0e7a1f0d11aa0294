package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

// RunInfo says where a plan or deploy ran, for the links in its report.
type RunInfo struct {
	URL       string // the workflow run, whose page holds the job summary
	SHA       string // the commit planned or deployed
	CommitURL string // a link to that commit; optional
}

// Comment is one plan preview: the body of the sticky pull-request comment
// for one target, and the full preview for the job summary.
type Comment struct {
	Target
	// Marker is the hidden first line of Body that finds the comment again.
	Marker string
	// Body fits CommentLimit.
	Body string
	// Trimmed reports that Body leaves out changes Full shows.
	Trimmed bool
	// Full is the untrimmed preview, without the marker.
	Full string
}

// envPlan is the part of a plan for one environment.
type envPlan struct {
	Target
	stacks []deploy.StackPlan
}

// splitByEnv groups a plan's stacks by environment, keeping the plan's
// (dependency) order of stacks and the order environments first appear in.
func splitByEnv(p *deploy.Plan) []envPlan {
	var out []envPlan
	index := map[string]int{}
	for _, s := range p.Stacks {
		i, ok := index[s.Env]
		if !ok {
			i = len(out)
			index[s.Env] = i
			out = append(out, envPlan{Target: Target{App: p.App, Env: s.Env, Account: p.Account, Region: p.Region}})
		}
		out[i].stacks = append(out[i].stacks, s)
	}
	return out
}

func (e envPlan) counts() deploy.Counts {
	var c deploy.Counts
	for _, s := range e.stacks {
		sc := s.Count()
		c.Add += sc.Add
		c.Modify += sc.Modify
		c.Remove += sc.Remove
		c.Replace += sc.Replace
		c.Destructive += sc.Destructive
	}
	return c
}

// headline is the environment's: its resource counts, or, when only a
// Static Site's files change, that they do.
func (e envPlan) headline() string {
	h := headline(e.counts())
	for _, s := range e.stacks {
		if h == "no changes" && s.Files.Changed() {
			return "site files to sync"
		}
	}
	return h
}

// headline reads "2 to add, 1 to change, 1 to remove, 1 replacement".
func headline(c deploy.Counts) string {
	if c.Add+c.Modify+c.Remove == 0 {
		return "no changes"
	}
	parts := []string{
		fmt.Sprintf("%d to add", c.Add),
		fmt.Sprintf("%d to change", c.Modify),
		fmt.Sprintf("%d to remove", c.Remove),
		plural(c.Replace, "replacement", "replacements"),
	}
	return strings.Join(parts, ", ")
}

// orderedChanges puts destructive rows first, then removals, replacements,
// other modifications and additions; the plan's order holds within each.
func orderedChanges(changes []deploy.ResourceChange) []deploy.ResourceChange {
	out := slices.Clone(changes)
	rank := func(rc deploy.ResourceChange) int {
		switch {
		case rc.Destructive:
			return 0
		case rc.Action == deploy.ActionRemove:
			return 1
		case replaces(rc):
			return 2
		case rc.Action == deploy.ActionModify || rc.Action == deploy.ActionDynamic:
			return 3
		default:
			return 4
		}
	}
	slices.SortStableFunc(out, func(a, b deploy.ResourceChange) int { return cmp.Compare(rank(a), rank(b)) })
	return out
}

func replaces(rc deploy.ResourceChange) bool {
	return rc.Replacement == deploy.ReplacementTrue || rc.Replacement == deploy.ReplacementConditional
}

// mark is rain's one-character summary of a change.
func mark(rc deploy.ResourceChange) string {
	switch {
	case rc.Action == deploy.ActionAdd:
		return "+"
	case rc.Action == deploy.ActionImport:
		return "→"
	case rc.Action == deploy.ActionRemove:
		return "-"
	case replaces(rc):
		return "±"
	default:
		return "~"
	}
}

// resourceName shows where a change is, nested stacks included.
func resourceName(rc deploy.ResourceChange) string {
	if rc.NestedStack != "" {
		return rc.NestedStack + "/" + rc.LogicalID
	}
	return rc.LogicalID
}

// stackLabel says what a stack is: "environment" or the workload and its type.
func stackLabel(s deploy.StackPlan) string {
	switch {
	case s.Workload != "" && s.Kind != "":
		return s.Workload + " (" + s.Kind + ")"
	case s.Workload != "":
		return s.Workload
	default:
		return s.Kind
	}
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// siteFilesLine says what a deploy does to a Static Site's bucket, or ""
// for a stack that is not one.
func siteFilesLine(f *deploy.FileChanges) string {
	if f == nil {
		return ""
	}
	if !f.Changed() {
		return fmt.Sprintf("Site files: no changes (%s).", plural(f.Unchanged, "file", "files"))
	}
	s := fmt.Sprintf("Site files: %s to put (%s)", plural(f.Put, "file", "files"), byteSize(f.PutBytes))
	if f.NewBucket {
		return s + ", into a new bucket."
	}
	return s + fmt.Sprintf(", %d to delete, %d unchanged.", f.Delete, f.Unchanged)
}

// byteSize writes n in B, KiB, MiB or GiB with one decimal.
func byteSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
