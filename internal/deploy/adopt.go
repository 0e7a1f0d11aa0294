package deploy

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
)

// envControllerIDs are the resources Copilot adds to workload stacks to
// register the workload with its environment (NATWorkloads). autopilot's
// templates leave them out.
var envControllerIDs = []string{"EnvControllerAction", "EnvControllerFunction", "EnvControllerRole"}

// adopt returns the template to submit for an UPDATE of s. Removing the env
// controller from a Copilot-made stack would run the custom resource's
// delete handler, which takes the workload out of the environment's
// NATWorkloads; so the first autopilot deploy carries those resources over
// unchanged but with DeletionPolicy Retain (a policy-only change sends the
// handler nothing), and a later deploy lets them drop, retained. The extra
// parameters they need keep their deployed values.
func (r *run) adopt(ctx context.Context, s Stack) ([]byte, []string, error) {
	deployed, err := r.deployedTemplate(ctx, s.Name)
	if err != nil {
		return nil, nil, err
	}
	body, extra, err := carryEnvController(deployed, s.Template)
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: keep Copilot's env controller: %w", s.Name, err)
	}
	if len(extra) > 0 || !bytes.Equal(body, s.Template) {
		r.o.log.Info("keeping Copilot's env controller resources, retained", "stack", s.Name)
	}
	return body, extra, nil
}

// deployedTemplate reads the template a stack was deployed with.
func (r *run) deployedTemplate(ctx context.Context, stack string) ([]byte, error) {
	out, err := r.api.GetTemplate(ctx, &cloudformation.GetTemplateInput{
		StackName: aws.String(stack), TemplateStage: types.TemplateStageOriginal,
	})
	if err != nil {
		return nil, fmt.Errorf("read deployed template of %s: %w", stack, err)
	}
	return []byte(aws.ToString(out.TemplateBody)), nil
}

// carryEnvController copies the env controller resources of the live
// template that next lacks into next, with DeletionPolicy Retain, along
// with the parameters and conditions they refer to that next lacks. It
// returns next unchanged when there is nothing to carry.
func carryEnvController(live, next []byte) ([]byte, []string, error) {
	if len(bytes.TrimSpace(live)) == 0 {
		return next, nil, nil
	}
	var liveDoc, nextDoc yaml.Node
	if err := yaml.Unmarshal(live, &liveDoc); err != nil {
		return nil, nil, fmt.Errorf("parse deployed template: %w", err)
	}
	if err := yaml.Unmarshal(next, &nextDoc); err != nil {
		return nil, nil, fmt.Errorf("parse new template: %w", err)
	}
	liveRoot, nextRoot := docRoot(&liveDoc), docRoot(&nextDoc)
	if liveRoot == nil || nextRoot == nil {
		return next, nil, nil
	}
	liveRes, nextRes := lookup(liveRoot, "Resources"), lookup(nextRoot, "Resources")
	if liveRes == nil || nextRes == nil {
		return next, nil, nil
	}
	liveTmpl, err := cfn.Parse(live)
	if err != nil {
		return nil, nil, fmt.Errorf("parse deployed template: %w", err)
	}
	var carried []string
	for _, id := range envControllerIDs {
		res := lookup(liveRes, id)
		if res == nil || lookup(nextRes, id) != nil {
			continue
		}
		if p := lookup(res, "DeletionPolicy"); p != nil && p.Value == "Retain" {
			continue // retained already: let it drop
		}
		setKey(res, "DeletionPolicy", &yaml.Node{Kind: yaml.ScalarNode, Value: "Retain"})
		nextRes.Content = append(nextRes.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: id}, res)
		carried = append(carried, id)
	}
	if len(carried) == 0 {
		return next, nil, nil
	}

	// Bring along what the carried resources refer to.
	var extraParams []string
	seenParam := map[string]bool{}
	var needParam func(v any)
	needParam = func(v any) {
		for _, name := range cfn.ReferencedParams(v) {
			if _, declared := liveTmpl.Parameters[name]; !declared || seenParam[name] {
				continue
			}
			seenParam[name] = true
			if lookup(lookup(nextRoot, "Parameters"), name) != nil {
				continue
			}
			params := ensureMap(nextRoot, "Parameters")
			params.Content = append(params.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, lookup(lookup(liveRoot, "Parameters"), name))
			extraParams = append(extraParams, name)
		}
	}
	for _, id := range carried {
		r := liveTmpl.Resources[id]
		needParam(r.Properties)
		if r.Condition != "" && lookup(lookup(nextRoot, "Conditions"), r.Condition) == nil {
			cond := lookup(lookup(liveRoot, "Conditions"), r.Condition)
			if cond != nil {
				conds := ensureMap(nextRoot, "Conditions")
				conds.Content = append(conds.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: r.Condition}, cond)
				needParam(liveTmpl.Other["Conditions"].(map[string]any)[r.Condition])
			}
		}
	}
	out, err := yaml.Marshal(&nextDoc)
	if err != nil {
		return nil, nil, fmt.Errorf("write new template: %w", err)
	}
	return out, extraParams, nil
}

func docRoot(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		return doc.Content[0]
	}
	return nil
}

// lookup returns the value of key in a mapping node, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

func ensureMap(m *yaml.Node, key string) *yaml.Node {
	if v := lookup(m, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode}
	setKey(m, key, v)
	return v
}
