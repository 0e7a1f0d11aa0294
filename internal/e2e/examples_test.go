package e2e

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/report"
)

// workflow is the part of a shipped example workflow a run depends on.
type workflow struct {
	file        string
	permissions map[string]string
	with        map[string]string // the autopilot step's inputs, unevaluated
}

// readWorkflow parses an example workflow and finds its autopilot step.
func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	var doc struct {
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]struct {
			Permissions map[string]string `yaml:"permissions"`
			Steps       []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	file := "../../examples/workflows/" + name
	if err := yaml.Unmarshal([]byte(readFile(t, file)), &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	wf := workflow{file: file, permissions: doc.Permissions}
	for _, job := range doc.Jobs {
		for _, s := range job.Steps {
			if strings.HasPrefix(s.Uses, "autopilot-dev/autopilot@") {
				if wf.with != nil {
					t.Fatalf("%s: more than one autopilot step", file)
				}
				wf.with = s.With
				if job.Permissions != nil {
					wf.permissions = job.Permissions
				}
			}
		}
	}
	if wf.with == nil {
		t.Fatalf("%s: no autopilot-dev/autopilot step", file)
	}
	return wf
}

// inputs are the INPUT_* values the runner gives the step for an event:
// action.yml's defaults, then the step's `with:`, expressions evaluated.
func (wf workflow) inputs(t *testing.T, ctx map[string]string) map[string]string {
	t.Helper()
	var action struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "../../action.yml")), &action); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, in := range action.Inputs {
		out[name] = in.Default
	}
	maps.Copy(out, wf.with)
	for k, v := range out {
		got, err := evalWorkflowValue(v, ctx)
		if err != nil {
			t.Fatalf("%s: input %s: %v", wf.file, k, err)
		}
		out[k] = got
	}
	return out
}

var exprRE = regexp.MustCompile(`\$\{\{(.*?)\}\}`)

// evalWorkflowValue evaluates the ${{ }} expressions of a workflow value,
// the subset the examples use: context lookups, 'strings', ==, && and ||
// with the runner's truthiness. Anything else fails the test, so an
// example cannot drift out of what this test drives.
func evalWorkflowValue(v string, ctx map[string]string) (string, error) {
	var err error
	out := exprRE.ReplaceAllStringFunc(v, func(m string) string {
		expr := strings.TrimSpace(exprRE.FindStringSubmatch(m)[1])
		val, e := evalOr(expr, ctx)
		if e != nil {
			err = e
		}
		return val
	})
	return out, err
}

func evalOr(expr string, ctx map[string]string) (string, error) {
	var last string
	for _, part := range strings.Split(expr, "||") {
		v, err := evalAnd(strings.TrimSpace(part), ctx)
		if err != nil {
			return "", err
		}
		if truthy(v) {
			return v, nil
		}
		last = v
	}
	return last, nil
}

func evalAnd(expr string, ctx map[string]string) (string, error) {
	var v string
	for _, part := range strings.Split(expr, "&&") {
		var err error
		if v, err = evalCompare(strings.TrimSpace(part), ctx); err != nil || !truthy(v) {
			return v, err
		}
	}
	return v, nil
}

func evalCompare(expr string, ctx map[string]string) (string, error) {
	a, b, eq := strings.Cut(expr, "==")
	left, err := evalAtom(strings.TrimSpace(a), ctx)
	if err != nil || !eq {
		return left, err
	}
	right, err := evalAtom(strings.TrimSpace(b), ctx)
	return fmt.Sprint(strings.EqualFold(left, right)), err
}

func evalAtom(expr string, ctx map[string]string) (string, error) {
	if s, ok := strings.CutPrefix(expr, "'"); ok && strings.HasSuffix(s, "'") {
		return strings.TrimSuffix(s, "'"), nil
	}
	v, ok := ctx[expr]
	if !ok {
		return "", fmt.Errorf("expression %q: this test does not know it; teach evalWorkflowValue", expr)
	}
	return v, nil
}

func truthy(v string) bool { return v != "" && v != "false" && v != "0" }

// TestExampleWorkflows copies the shipped example workflows into a
// repository with two environments: the pull request plans both, the merge
// deploys production, with require-reviewed-plan on as the example sets it.
// The runs get exactly the inputs and token permissions the files declare.
func TestExampleWorkflows(t *testing.T) {
	w := newWorld(t)
	w.addEnv(t, "production")
	plan, deploy := readWorkflow(t, "pr-preview.yml"), readWorkflow(t, "deploy.yml")
	exact := func(s step, wf workflow, event string, extra map[string]string) step {
		ctx := map[string]string{"github.event_name": event, "github.token": w.gh.Token()}
		maps.Copy(ctx, extra)
		s.inputs = wf.inputs(t, ctx)
		// The runner has no network: base images come from a local layout.
		s.inputs["base-images"] = w.base
		s.exact = true
		w.gh.SetPermissions(wf.permissions)
		return s
	}
	t.Cleanup(func() { w.gh.SetPermissions(nil) })

	t.Run("pull request: both environments planned", func(t *testing.T) {
		r := w.run(t, exact(prStep(7, headA, "501", nil), plan, "pull_request", nil))
		mustExit(t, r, 0)
		for _, env := range []string{"test", "production"} {
			target := report.Target{App: "shop", Env: env, Account: account, Region: "us-east-1"}
			found := false
			for _, c := range w.gh.Comments(repo, 7) {
				found = found || strings.Contains(c.Body, target.Marker())
			}
			if !found {
				t.Errorf("no plan comment for %s", env)
			}
		}
		if n := w.cfn.Count("ExecuteChangeSet"); n != 0 {
			t.Errorf("the pull request executed %d change sets", n)
		}
		contexts := map[string]bool{}
		for _, st := range w.gh.Statuses(repo, headA) {
			if st.State == "success" && st.Creator.Login == "github-actions[bot]" && fingerprintRE.MatchString(st.Description) {
				contexts[st.Context] = true
			}
		}
		if len(contexts) != 2 {
			t.Errorf("plan statuses on the head commit: %v, want one per environment", contexts)
		}
	})
	t.Run("merge: production deployed, test untouched", func(t *testing.T) {
		w.merge(7, headA, mergeSHA)
		r := w.run(t, exact(pushStep(mergeSHA, "502", nil), deploy, "push", nil))
		mustExit(t, r, 0)
		for _, stack := range []string{prodStack, prodSvcStack} {
			if got := w.cfn.StackStatus(stack); got != "CREATE_COMPLETE" {
				t.Errorf("%s is %q, want CREATE_COMPLETE", stack, got)
			}
		}
		for _, stack := range []string{envStack, svcStack} {
			if n := w.cfn.Executions(stack); n != 0 {
				t.Errorf("%s executed %d times; the deploy workflow deploys production only", stack, n)
			}
		}
		if !strings.Contains(r.stderr, "reviewed plan of production on pull request #7") {
			t.Error("the log does not show the reviewed-plan check")
		}
		sts := w.gh.Statuses(repo, mergeSHA)
		if len(sts) == 0 || sts[len(sts)-1].State != "success" || !strings.HasPrefix(sts[len(sts)-1].Context, "autopilot deploy: shop") {
			t.Errorf("the deploy's own status on the merge commit: %+v, want it completed as success", sts)
		}
	})
	t.Run("pull request closed: cleanup", func(t *testing.T) {
		s := exact(prStep(7, headA, "503", nil), plan, "pull_request", nil)
		s.payload = "pull_request-closed.payload.json"
		mustExit(t, w.run(t, s), 0)
	})
}
