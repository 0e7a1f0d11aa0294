package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

// PlanText writes the plan for a terminal, rain-style: one line per resource
// marked + (add), ~ (modify), ± (replace), - (remove), → (import), with the
// changed properties below it. Values are quoted, so a control character in
// a template cannot drive the terminal.
func PlanText(w io.Writer, p *deploy.Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan for %s", strconv.Quote(p.App))
	var where []string
	if p.Account != "" {
		where = append(where, "account "+p.Account)
	}
	if p.Region != "" {
		where = append(where, "region "+p.Region)
	}
	if p.Offline {
		where = append(where, "offline")
	}
	if len(where) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(where, ", "))
	}
	b.WriteString("\n")
	for _, e := range splitByEnv(p) {
		c := e.counts()
		name := e.Env
		if name == "" {
			name = "(application)"
		}
		fmt.Fprintf(&b, "\nEnvironment %s: %s", termText(name), e.headline())
		if c.Destructive > 0 {
			fmt.Fprintf(&b, ", %s", plural(c.Destructive, "DESTRUCTIVE change", "DESTRUCTIVE changes"))
		}
		b.WriteString("\n")
		for _, s := range e.stacks {
			writeStackText(&b, s)
		}
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

func writeStackText(b *strings.Builder, s deploy.StackPlan) {
	fmt.Fprintf(b, "  %s", termText(s.StackName))
	if label := stackLabel(s); label != "" {
		fmt.Fprintf(b, " [%s]", termText(label))
	}
	switch {
	case s.Error != "":
		fmt.Fprintf(b, ": could not plan: %s\n", termText(s.Error))
		return
	case s.Status == "FAILED" && !s.NoChanges:
		fmt.Fprintf(b, ": change set failed: %s\n", termText(s.StatusReason))
		return
	case s.NoChanges || len(s.Changes) == 0:
		b.WriteString(": no changes\n")
		if line := siteFilesLine(s.Files); line != "" {
			b.WriteString("    " + line + "\n")
		}
		return
	}
	fmt.Fprintf(b, ": %s", headline(s.Count()))
	if s.ChangeSetName != "" {
		fmt.Fprintf(b, " (change set %s", termText(s.ChangeSetName))
		if s.ChangeSetType != "" {
			fmt.Fprintf(b, ", %s", termText(s.ChangeSetType))
		}
		b.WriteString(")")
	}
	b.WriteString("\n")
	if s.Preview {
		fmt.Fprintf(b, "    preview: %s\n", termText(s.StatusReason))
	}
	width := 0
	for _, rc := range s.Changes {
		width = max(width, len(termText(resourceName(rc))))
	}
	for _, rc := range orderedChanges(s.Changes) {
		fmt.Fprintf(b, "    %s %-*s  %s", mark(rc), width, termText(resourceName(rc)), termText(rc.ResourceType))
		if replaces(rc) {
			fmt.Fprintf(b, "  replacement: %s", termText(string(rc.Replacement)))
		}
		if rc.Destructive {
			b.WriteString("  DESTRUCTIVE")
		}
		b.WriteString("\n")
		for _, d := range rc.Details {
			b.WriteString("        " + viewProperty(d).text() + "\n")
		}
	}
	for _, img := range s.Images {
		fmt.Fprintf(b, "    image %s: %s:%s", termText(img.Workload), termText(img.Repository), termText(img.Tag))
		if img.Digest != "" {
			fmt.Fprintf(b, "@%s", termText(img.Digest))
		}
		b.WriteString("\n")
	}
	if line := siteFilesLine(s.Files); line != "" {
		b.WriteString("    " + line + "\n")
	}
}

// termText keeps untrusted text on one line and free of control
// characters (escape sequences), quoting it only when it holds any.
func termText(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// PlanJSONVersion is the version of the JSON plan format.
const PlanJSONVersion = 1

// PlanJSON is `autopilot plan --format json`:
//
//	{
//	  "version": 1,
//	  "hasChanges": true,
//	  "destructiveChanges": 1,
//	  "environments": [{"environment": "test", "add": 2, "change": 1, "remove": 1, "replace": 1, "destructive": 1}],
//	  "plan": { ...deploy.Plan: application, account, region, offline, fingerprint, stacks[] }
//	}
type PlanJSON struct {
	Version            int          `json:"version"`
	HasChanges         bool         `json:"hasChanges"`
	DestructiveChanges int          `json:"destructiveChanges"`
	Environments       []EnvCounts  `json:"environments"`
	Plan               *deploy.Plan `json:"plan"`
}

// EnvCounts is one environment's headline.
type EnvCounts struct {
	Env         string `json:"environment"`
	Add         int    `json:"add"`
	Change      int    `json:"change"`
	Remove      int    `json:"remove"`
	Replace     int    `json:"replace"`
	Destructive int    `json:"destructive"`
}

// WritePlanJSON writes the plan as PlanJSON.
func WritePlanJSON(w io.Writer, p *deploy.Plan) error {
	out := PlanJSON{
		Version:            PlanJSONVersion,
		HasChanges:         p.HasChanges(),
		DestructiveChanges: len(p.Destructive()),
		Environments:       []EnvCounts{},
		Plan:               p,
	}
	for _, e := range splitByEnv(p) {
		c := e.counts()
		out.Environments = append(out.Environments, EnvCounts{Env: e.Env, Add: c.Add, Change: c.Modify, Remove: c.Remove, Replace: c.Replace, Destructive: c.Destructive})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write plan JSON: %w", err)
	}
	return nil
}
