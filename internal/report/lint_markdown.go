package report

import (
	"fmt"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// LintMarkdown renders findings for a job summary or a comment: the counts,
// then a table sorted like the other formats, cut safely to limit bytes
// (CommentLimit or SummaryLimit).
func LintMarkdown(findings diag.List, limit int, opts ...Option) (string, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return "", fmt.Errorf("lint report: %w", err)
	}
	l := make(diag.List, len(findings))
	for i, d := range findings {
		d.File = o.relPath(d.File)
		l[i] = d
	}
	l.Sort()
	var b strings.Builder
	icon := ":white_check_mark:"
	switch {
	case l.HasErrors():
		icon = ":x:"
	case l.Count(diag.Warning) > 0:
		icon = ":warning:"
	}
	fmt.Fprintf(&b, "### %s autopilot lint\n\n**%s**\n\n", icon, countLine(l))
	if len(l) > 0 {
		b.WriteString("| Severity | Location | Rule | Message | Fix |\n|---|---|---|---|---|\n")
		for _, d := range l {
			msg := text(d.Message)
			if d.Env != "" {
				msg += " (environment " + code(d.Env) + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", d.Severity, code(position(d.File, d.Line, d.Column)), code(d.Rule), msg, text(d.Fix))
		}
	}
	return Truncate(b.String(), limit, "> [!NOTE]\n> More findings than fit here; run `autopilot lint` for all of them."), nil
}
