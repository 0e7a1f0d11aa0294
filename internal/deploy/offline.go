package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
)

// PlanOffline previews stacks without any AWS call. With against empty,
// every stack is compared with an empty account (everything is added);
// otherwise with the output of an earlier `render --out DIR`: for stack S,
// DIR/S.template.yml and DIR/S.params.json ({"Parameters":{...},"Tags":{...}}),
// and for the nested stack a resource L of S creates from an asset,
// DIR/S.L.template.yml. A stack missing from DIR is new. Replacement comes
// from a table of create-only properties, Conditional for types it lacks.
func PlanOffline(stacks []Stack, against string, opts ...Option) (*Plan, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	sorted, _, err := order(stacks)
	if err != nil {
		return nil, err
	}
	plan := &Plan{App: o.app, Account: o.account, Region: o.region, Offline: true}
	for _, s := range sorted {
		sp := StackPlan{StackName: s.Name, Kind: s.Kind, Env: s.Env, Workload: s.Workload, Images: s.Images, ChangeSetType: "CREATE"}
		var old *cfn.Template
		var oldParams map[string]string
		if against != "" {
			old, oldParams, err = readRendered(against, s.Name)
			if err != nil {
				return nil, err
			}
		}
		if old != nil {
			sp.ChangeSetType = "UPDATE"
		}
		changes, err := offlineChanges(s, old, oldParams, newMasker(s))
		if err != nil {
			sp.Error = err.Error()
		}
		nested, err := offlineNested(s, func(id string, params map[string]string) (*cfn.Template, map[string]string, error) {
			if against == "" {
				return nil, nil, nil
			}
			b, err := os.ReadFile(filepath.Join(against, nestedTemplateFile(s.Name, id)))
			if err != nil {
				return nil, nil, nil // new
			}
			old, err := cfn.Parse(b)
			if err != nil {
				return nil, nil, fmt.Errorf("parse earlier nested template %s of %s: %w", id, s.Name, err)
			}
			return old, params, nil // parameters of nested stacks are not rendered separately
		})
		if err != nil && sp.Error == "" {
			sp.Error = err.Error()
		}
		sp.Changes = append(changes, nested...)
		if msg := replacedInOneStep(sp.Changes); msg != "" && sp.Error == "" {
			sp.Error = msg
		}
		sp.NoChanges = sp.Error == "" && old != nil && len(sp.Changes) == 0
		if s.Site != nil && old == nil {
			// Offline, only a new site's bucket is known: empty.
			sp.Files = newBucketSync(s.Site)
		}
		plan.Stacks = append(plan.Stacks, sp)
	}
	seal(plan, sorted, nil)
	return plan, nil
}

// readRendered reads a stack's earlier render output; nil when absent.
func readRendered(dir, stack string) (*cfn.Template, map[string]string, error) {
	body, err := os.ReadFile(filepath.Join(dir, stack+".template.yml"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read earlier render of %s: %w", stack, err)
	}
	t, err := cfn.Parse(body)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, stack+".template.yml"), err)
	}
	params := map[string]string{}
	raw, err := os.ReadFile(filepath.Join(dir, stack+".params.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, nil, fmt.Errorf("read earlier parameters of %s: %w", stack, err)
	default:
		var file struct {
			Parameters map[string]string `json:"Parameters"`
			Tags       map[string]string `json:"Tags"`
		}
		if err := json.Unmarshal(raw, &file); err != nil {
			return nil, nil, fmt.Errorf("parse %s: want {\"Parameters\":{...},\"Tags\":{...}}: %w", filepath.Join(dir, stack+".params.json"), err)
		}
		if file.Parameters != nil {
			params = file.Parameters
		}
	}
	return t, params, nil
}

func offlineChanges(s Stack, old *cfn.Template, oldParams map[string]string, mask *masker) ([]ResourceChange, error) {
	next, err := cfn.Parse(s.Template)
	if err != nil {
		return nil, fmt.Errorf("parse template of %s: %w", s.Name, err)
	}
	return convertDiff(cfn.Diff(old, oldParams, next, s.Parameters), "", mask), nil
}

// offlineNested diffs the nested stacks whose template is one of the
// stack's assets with what previous returns for each: its template and
// parameters before, nil for a new nested stack. params are the nested
// stack's new parameters.
func offlineNested(s Stack, previous func(id string, params map[string]string) (*cfn.Template, map[string]string, error)) ([]ResourceChange, error) {
	if len(s.Assets) == 0 {
		return nil, nil
	}
	root, err := cfn.Parse(s.Template)
	if err != nil {
		return nil, nil // reported for the root already
	}
	vals := root.Effective(s.Parameters)
	var out []ResourceChange
	for _, id := range sortedKeys(root.Resources) {
		r := root.Resources[id]
		ref, _ := r.Properties["TemplateURL"].(map[string]any)
		param, _ := ref["Ref"].(string)
		body, ok := s.Assets[param]
		if r.Type != "AWS::CloudFormation::Stack" || !ok {
			continue
		}
		next, err := cfn.Parse(body)
		if err != nil {
			return nil, fmt.Errorf("parse nested template %s of %s: %w", id, s.Name, err)
		}
		params := map[string]string{}
		if m, ok := r.Properties["Parameters"].(map[string]any); ok {
			for k, v := range m {
				params[k] = cfn.Display(cfn.Resolve(v, vals, nil))
			}
		}
		old, oldParams, err := previous(id, params)
		if err != nil {
			return nil, err
		}
		nestedStack := Stack{Name: s.Name + "/" + id, Template: body, Parameters: params}
		out = append(out, convertDiff(cfn.Diff(old, oldParams, next, params), id, newMasker(nestedStack))...)
	}
	return out, nil
}

func convertDiff(changes []cfn.Change, nested string, mask *masker) []ResourceChange {
	out := make([]ResourceChange, 0, len(changes))
	for _, c := range changes {
		rc := ResourceChange{
			Action:       Action(c.Action),
			LogicalID:    c.LogicalID,
			ResourceType: c.ResourceType,
			NestedStack:  nested,
		}
		if c.Action == "Modify" {
			rc.Replacement = Replacement(c.Replacement)
		}
		for _, d := range c.Details {
			rc.Details = append(rc.Details, PropertyChange{
				Path:               strings.ReplaceAll(strings.Trim(d.Path, "/"), "/", "."),
				Before:             mask.text(d.Before),
				After:              mask.text(d.After),
				RequiresRecreation: d.RequiresRecreation,
				ChangeSource:       d.ChangeSource,
			})
		}
		rc.Destructive = isDestructive(rc, c.PolicyAction == "Retain")
		out = append(out, rc)
	}
	return out
}

// nestedTemplateFile is where `autopilot render --out` writes a nested
// stack's template: the addons stack as Copilot names it, others by logical ID.
func nestedTemplateFile(stack, logicalID string) string {
	if logicalID == "AddonsStack" {
		return stack + ".addons.template.yml"
	}
	return stack + "." + logicalID + ".template.yml"
}
