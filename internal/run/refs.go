package run

import (
	"fmt"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
	"github.com/autopilot-dev/autopilot/internal/render"
)

// checkReferences refuses rendered templates with a reference that does
// not resolve (Ref, Fn::GetAtt, Fn::Sub, DependsOn, conditions): planning
// one would fail in CloudFormation, or worse, after a half-applied change.
func checkReferences(stacks []render.Stack) error {
	var problems []string
	for _, s := range stacks {
		for _, tmpl := range []struct {
			what string
			body []byte
		}{{"stack " + s.Name, s.Template}, {"stack " + s.Name + " (addons)", s.AddonsTemplate}} {
			if tmpl.body == nil {
				continue
			}
			t, err := cfn.Parse(tmpl.body)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", tmpl.what, err))
				continue
			}
			for _, d := range t.DanglingReferences() {
				problems = append(problems, tmpl.what+": "+d.String())
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("rendered templates refer to names they do not define, so nothing was planned or deployed:\n  %s",
		strings.Join(problems, "\n  "))
}
