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

// copilotCustomResources are the Lambda-backed custom resources (and their
// functions and roles) Copilot adds to workload stacks and autopilot's
// templates leave out: the env controller, which registers the workload
// with its environment (NATWorkloads, ALBWorkloads), the rule-priority
// function, which numbered the listener rules of a load-balanced service
// (HTTP, HTTPS and HTTP-with-domain listeners), and the certificate of an
// NLB's TLS listeners (autopilot renders a native NLBCertificate).
var copilotCustomResources = []string{"EnvControllerAction", "EnvControllerFunction", "EnvControllerRole",
	"HTTPRulePriorityAction", "HTTPSRulePriorityAction", "HTTPRuleWithDomainPriorityAction", "RulePriorityFunction", "RulePriorityFunctionRole",
	"NLBCertValidatorAction", "NLBCertValidatorFunction", "NLBCertValidatorRole"}

// adopt returns the template to submit for an UPDATE of s. Removing the env
// controller from a Copilot-made stack would run the custom resource's
// delete handler, which takes the workload out of the environment's
// NATWorkloads; so the first autopilot deploy carries those resources over
// unchanged but with DeletionPolicy Retain (a policy-only change sends the
// handler nothing), and a later deploy lets them drop, retained. The
// rule-priority resources go the same way, so the first change set over a
// Copilot service removes nothing. The extra parameters they need keep
// their deployed values.
func (r *run) adopt(ctx context.Context, s Stack) ([]byte, []string, error) {
	deployed, err := r.deployedTemplate(ctx, s.Name)
	if err != nil {
		return nil, nil, err
	}
	body, extra, err := carryCustomResources(deployed, s.Template, s.Live)
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: keep Copilot's custom resources: %w", s.Name, err)
	}
	if len(extra) > 0 || !bytes.Equal(body, s.Template) {
		r.o.log.Info("keeping Copilot's custom resources, retained", "stack", s.Name)
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

// carryCustomResources copies the Copilot custom resources of the live
// template that next lacks into next, with DeletionPolicy Retain, and the
// resources keep names unchanged, along with the parameters and conditions
// they refer to that next lacks. It returns next unchanged when there is
// nothing to carry, and an error when a resource of keep is missing or
// holds other values.
func carryCustomResources(live, next []byte, keep []LiveResource) ([]byte, []string, error) {
	if len(bytes.TrimSpace(live)) == 0 {
		if len(keep) > 0 {
			return nil, nil, fmt.Errorf("%s needs Copilot's resource %s in the deployed stack, which has no template", keep[0].For, keep[0].ID)
		}
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
	for _, k := range keep {
		res, props := lookup(liveRes, k.ID), liveTmpl.Resources[k.ID].Properties
		if res == nil {
			return nil, nil, fmt.Errorf("%s needs Copilot's resource %s, which the deployed stack does not have and autopilot cannot create (its Lambda code is Copilot's): "+
				"add the setting with Copilot first, or remove it", k.For, k.ID)
		}
		for _, name := range sortedKeys(k.Properties) {
			if got, _ := props[name].(string); got != k.Properties[name] {
				return nil, nil, fmt.Errorf("%s: the deployed %s has %s %q, the manifest %q; autopilot keeps Copilot's resource as it is and cannot change it: "+
					"change it with Copilot, or set it back to %q", k.For, k.ID, name, got, k.Properties[name], got)
			}
		}
		if lookup(nextRes, k.ID) == nil {
			nextRes.Content = append(nextRes.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k.ID}, res)
			carried = append(carried, k.ID)
		}
	}
	for _, id := range copilotCustomResources {
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
