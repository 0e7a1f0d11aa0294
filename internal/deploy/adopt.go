package deploy

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

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
// (HTTP, HTTPS and HTTP-with-domain listeners), the certificate of an
// NLB's TLS listeners (autopilot renders a native NLBCertificate), and a
// Static Site's file copy (a custom resource starting a state machine that
// copies from the artifacts bucket; deploy syncs the files itself).
var copilotCustomResources = []string{"EnvControllerAction", "EnvControllerFunction", "EnvControllerRole",
	"HTTPRulePriorityAction", "HTTPSRulePriorityAction", "HTTPRuleWithDomainPriorityAction", "RulePriorityFunction", "RulePriorityFunctionRole",
	"NLBCertValidatorAction", "NLBCertValidatorFunction", "NLBCertValidatorRole",
	"TriggerStateMachineAction", "TriggerStateMachineFunction", "TriggerStateMachineFunctionRole", "CopyAssetsStateMachine", "CopyAssetsStateMachineRole"}

// adopt returns the template to submit for an UPDATE of s. Removing the env
// controller from a Copilot-made stack would run the custom resource's
// delete handler, which takes the workload out of the environment's
// NATWorkloads (a Static Site's copy trigger would run Copilot's Lambda
// too); so the first autopilot deploy carries those resources over
// unchanged but with DeletionPolicy Retain (a policy-only change sends the
// handler nothing), and a later deploy lets them drop, retained. The
// rule-priority resources go the same way, so the first change set over a
// Copilot service removes nothing. The extra parameters they need keep
// their deployed values. Resources of s.Live must be deployed, with the
// values wanted; they are kept as deployed (CarryLive).
func (r *run) adopt(ctx context.Context, s Stack, live *types.Stack) ([]byte, []string, error) {
	deployed, err := r.deployedTemplate(ctx, s.Name)
	if err != nil {
		return nil, nil, err
	}
	if err := requireLive(deployed, s.Live); err != nil {
		return nil, nil, fmt.Errorf("stack %s: %w", s.Name, err)
	}
	body, extra, err := carryCustomResources(deployed, s.Template)
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: keep Copilot's custom resources: %w", s.Name, err)
	}
	if len(extra) > 0 || !bytes.Equal(body, s.Template) {
		r.o.log.Info("keeping Copilot's custom resources, retained", "stack", s.Name)
	}
	liveParams := map[string]string{}
	for _, p := range live.Parameters {
		liveParams[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	ids := slices.Clone(s.CarryLive)
	for _, l := range s.Live {
		ids = append(ids, l.ID)
	}
	body, kept, keptParams, err := carryLive(deployed, liveParams, body, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: keep Copilot's custom resources: %w", s.Name, err)
	}
	if len(kept) > 0 {
		r.o.log.Info("keeping Copilot's custom resources as deployed", "stack", s.Name, "resources", strings.Join(kept, ","))
	}
	for _, p := range keptParams {
		if !slices.Contains(extra, p) {
			extra = append(extra, p)
		}
	}
	return body, extra, nil
}

// valueProviders are the custom resources of Copilot's environment whose
// values CloudFront takes and autopilot cannot compute as well: the aliases
// of every service on the environment, other workspaces' included
// (UniqueAliasesAction), and the environment's certificate copied to
// us-east-1 (CertificateReplicator). When carried, the distribution keeps
// taking its aliases and certificate from them.
var valueProviders = []string{"UniqueAliasesAction", "CertificateReplicator"}

// carryLive copies into next each resource of ids that the deployed
// template has and creates under the deployed parameters, unless next
// declares it with the same type (then the rendered one is an update of
// it). A carried resource that refers to a resource next lacks (the
// feature it served is gone) is left out, and so are those that refer to
// it. It returns the new template, the carried IDs and the parameters
// they brought along, which keep their deployed values.
func carryLive(live []byte, liveParams map[string]string, next []byte, ids []string) ([]byte, []string, []string, error) {
	if len(ids) == 0 || len(bytes.TrimSpace(live)) == 0 {
		return next, nil, nil, nil
	}
	liveTmpl, err := cfn.Parse(live)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parse deployed template: %w", err)
	}
	nextTmpl, err := cfn.Parse(next)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parse new template: %w", err)
	}
	active := liveTmpl.Active(liveParams)
	carry := map[string]bool{}
	for _, id := range ids {
		lr, ok := active[id]
		if !ok {
			continue
		}
		if nr, ok := nextTmpl.Resources[id]; ok && nr.Type == lr.Type {
			continue
		}
		carry[id] = true
	}
	// Drop, until none changes, a carried resource that needs a resource
	// neither carried nor in next.
	for changed := true; changed; {
		changed = false
		for id := range carry {
			for _, dep := range resourceRefs(liveTmpl.Resources[id]) {
				_, inLive := liveTmpl.Resources[dep]
				_, inNext := nextTmpl.Resources[dep]
				if inLive && !inNext && !carry[dep] {
					delete(carry, id)
					changed = true
					break
				}
			}
		}
	}
	if len(carry) == 0 {
		return next, nil, nil, nil
	}
	var liveDoc, nextDoc yaml.Node
	if err := yaml.Unmarshal(live, &liveDoc); err != nil {
		return nil, nil, nil, fmt.Errorf("parse deployed template: %w", err)
	}
	if err := yaml.Unmarshal(next, &nextDoc); err != nil {
		return nil, nil, nil, fmt.Errorf("parse new template: %w", err)
	}
	liveRoot, nextRoot := docRoot(&liveDoc), docRoot(&nextDoc)
	if liveRoot == nil || nextRoot == nil {
		return next, nil, nil, nil
	}
	liveRes, nextRes := lookup(liveRoot, "Resources"), lookup(nextRoot, "Resources")
	kept := slices.Sorted(maps.Keys(carry))
	for _, id := range kept {
		setKey(nextRes, id, lookup(liveRes, id))
	}
	// A rendered resource whose deployed twin takes a value from a carried
	// value provider keeps that value.
	providers := map[string]bool{}
	for _, id := range valueProviders {
		providers[id] = carry[id]
	}
	for i := 0; i+1 < len(nextRes.Content); i += 2 {
		id := nextRes.Content[i].Value
		if lr, ok := liveTmpl.Resources[id]; carry[id] || !ok || lr.Type != nextTmpl.Resources[id].Type {
			continue
		}
		keepCarriedRefs(lookup(lookup(liveRes, id), "Properties"), lookup(nextRes.Content[i+1], "Properties"), providers)
	}
	params := bringAlong(liveRoot, nextRoot, liveTmpl, kept)
	out, err := yaml.Marshal(&nextDoc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("write new template: %w", err)
	}
	return out, kept, params, nil
}

// keepCarriedRefs copies into next each value of live (a mapping, walked
// through nested mappings) that is an intrinsic function referring to a
// carried resource.
func keepCarriedRefs(live, next *yaml.Node, carried map[string]bool) {
	if live == nil || next == nil || live.Kind != yaml.MappingNode || next.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(live.Content); i += 2 {
		key, v := live.Content[i].Value, live.Content[i+1]
		if isIntrinsic(v) && refersTo(v, carried) {
			setKey(next, key, v)
			continue
		}
		keepCarriedRefs(v, lookup(next, key), carried)
	}
}

// isIntrinsic reports a function call in short (!Ref) or long
// ({"Ref": ...}) form.
func isIntrinsic(n *yaml.Node) bool {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return true
	}
	return n.Kind == yaml.MappingNode && len(n.Content) == 2 &&
		(n.Content[0].Value == "Ref" || strings.HasPrefix(n.Content[0].Value, "Fn::"))
}

// refersTo reports that n refers to one of names through Ref or GetAtt.
func refersTo(n *yaml.Node, names map[string]bool) bool {
	target := func(s string) bool {
		name, _, _ := strings.Cut(s, ".")
		return names[name]
	}
	switch {
	case n.Tag == "!Ref" || n.Tag == "!GetAtt":
		if n.Kind == yaml.ScalarNode && target(n.Value) {
			return true
		}
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && (n.Content[0].Value == "Ref" || n.Content[0].Value == "Fn::GetAtt"):
		v := n.Content[1]
		if v.Kind == yaml.ScalarNode && target(v.Value) || v.Kind == yaml.SequenceNode && len(v.Content) > 0 && names[v.Content[0].Value] {
			return true
		}
	}
	if n.Tag == "!GetAtt" && n.Kind == yaml.SequenceNode && len(n.Content) > 0 && names[n.Content[0].Value] {
		return true
	}
	for _, c := range n.Content {
		if refersTo(c, names) {
			return true
		}
	}
	return false
}

// resourceRefs are the names a resource refers to: Ref, Fn::GetAtt,
// Fn::Sub variables and DependsOn (parameters included).
func resourceRefs(r cfn.Resource) []string {
	var out []string
	for _, name := range cfn.ReferencedParams(r.Properties) {
		name, _, _ = strings.Cut(name, ".")
		out = append(out, name)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			switch att := x["Fn::GetAtt"].(type) {
			case []any:
				if len(att) > 0 {
					if s, ok := att[0].(string); ok {
						out = append(out, s)
					}
				}
			case string:
				name, _, _ := strings.Cut(att, ".")
				out = append(out, name)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(r.Properties)
	switch d := r.DependsOn.(type) {
	case string:
		out = append(out, d)
	case []any:
		for _, e := range d {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
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

// requireLive checks that the deployed template has each resource of
// keep, with the top-level property values wanted.
func requireLive(live []byte, keep []LiveResource) error {
	if len(keep) == 0 {
		return nil
	}
	tmpl, err := cfn.Parse(live)
	if err != nil {
		return fmt.Errorf("parse deployed template: %w", err)
	}
	for _, k := range keep {
		res, ok := tmpl.Resources[k.ID]
		if !ok {
			return fmt.Errorf("%s needs Copilot's resource %s, which the deployed stack does not have and autopilot cannot create (its Lambda code is Copilot's): "+
				"add the setting with Copilot first, or remove it", k.For, k.ID)
		}
		for _, name := range sortedKeys(k.Properties) {
			if got, _ := res.Properties[name].(string); got != k.Properties[name] {
				return fmt.Errorf("%s: the deployed %s has %s %q, the manifest %q; autopilot keeps Copilot's resource as it is and cannot change it: "+
					"change it with Copilot, or set it back to %q", k.For, k.ID, name, got, k.Properties[name], got)
			}
		}
	}
	return nil
}

// carryCustomResources copies the Copilot custom resources of the live
// template that next lacks into next, with DeletionPolicy Retain, along
// with the parameters and conditions they refer to that next lacks. It
// returns next unchanged when there is nothing to carry.
func carryCustomResources(live, next []byte) ([]byte, []string, error) {
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

	extraParams := bringAlong(liveRoot, nextRoot, liveTmpl, carried)
	out, err := yaml.Marshal(&nextDoc)
	if err != nil {
		return nil, nil, fmt.Errorf("write new template: %w", err)
	}
	return out, extraParams, nil
}

// bringAlong adds to next the parameters and conditions of the live
// template that the carried resources refer to and next lacks; it
// returns the parameters added, which keep their deployed values.
func bringAlong(liveRoot, nextRoot *yaml.Node, liveTmpl *cfn.Template, carried []string) []string {
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
	return extraParams
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
