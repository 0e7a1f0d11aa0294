package render

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// ImportedALB is a load balancer a Load Balanced Web Service imports
// (http.alb), as Elastic Load Balancing describes it: Copilot reads the
// same at deploy time and writes the values into the template.
type ImportedALB struct {
	ARN, Name, DNSName, HostedZoneID string
	SecurityGroups                   []string
	Listeners                        []ALBListener
}

// ALBListener is one listener of an imported load balancer.
type ALBListener struct {
	ARN      string
	Port     int
	Protocol string
}

// importedTargetGroup is the logical ID of the target group of a rule on
// an imported load balancer (Copilot's).
const importedTargetGroup = "TargetGroupForImportedALB"

// listener is the ARN of the first listener of protocol, or "".
func (a *ImportedALB) listener(protocol string) string {
	for _, l := range a.Listeners {
		if l.Protocol == protocol {
			return l.ARN
		}
	}
	return ""
}

// fullName is the load balancer's CloudWatch dimension, app/<name>/<id>:
// the ARN after "loadbalancer/".
func (a *ImportedALB) fullName() string {
	if _, after, ok := strings.Cut(a.ARN, ":loadbalancer/"); ok {
		return after
	}
	return a.Name
}

// ruleIDs are the listener rules of rule suffix, which the service waits for.
func (a *ImportedALB) ruleIDs(suffix string) []*yaml.Node {
	switch {
	case a.listener("HTTPS") != "" && a.listener("HTTP") != "":
		return []*yaml.Node{str("HTTPSListenerRuleForImportedALB" + suffix), str("HTTPListenerRedirectRuleForImportedALB" + suffix)}
	case a.listener("HTTPS") != "":
		return []*yaml.Node{str("HTTPSListenerRuleForImportedALB" + suffix)}
	}
	return []*yaml.Node{str("HTTPListenerRuleForImportedALB" + suffix)}
}

// importedALB is the description of the service's http.alb, nil without
// one. Offline there is none: render says it needs Elastic Load Balancing
// (rule render/parameter, an input, which lint does not report), while
// Check goes on validating the manifest.
func importedALB(in ecsInput, h manifest.HTTP, fail failFunc) *ImportedALB {
	if !h.Has("alb") {
		return nil
	}
	at := h.At("alb")
	if in.kind == workspace.BackendService {
		fail(at, ruleManifest, "http.alb is for Load Balanced Web Services: a Backend Service is served by the environment's internal load balancer (Copilot ignores the key there)", "remove http.alb")
		return nil
	}
	name := deref(h.ALB)
	if name == "" {
		fail(at, ruleManifest, "http.alb must name a load balancer: its name or ARN", "set http.alb, or remove it to use the environment's load balancer")
		return nil
	}
	alb, ok := in.opts.ImportedALBs[name]
	switch {
	case !ok && in.opts.checkOnly:
		return nil
	case !ok:
		fail(at, ruleParameter, fmt.Sprintf("http.alb %q: its listeners, DNS name, hosted zone and security groups come from Elastic Load Balancing (as Copilot reads them at deploy time), which an offline render does not call", name),
			"run autopilot plan or deploy with AWS credentials (they describe the load balancer), or remove http.alb")
		return nil
	}
	// Copilot's deploy-time checks of the load balancer.
	n := len(alb.Listeners)
	switch {
	case n == 0 || n > 2:
		fail(at, ruleParameter, fmt.Sprintf("imported load balancer %s has %d listeners; Copilot imports one with one or two (HTTP and HTTPS)", alb.ARN, n), "use a load balancer with an HTTP listener, an HTTPS listener, or both")
		return nil
	case n == 2 && (alb.listener("HTTP") == "" || alb.listener("HTTPS") == ""):
		fail(at, ruleParameter, fmt.Sprintf("imported load balancer %s has two listeners that are not one HTTP and one HTTPS", alb.ARN), "keep one HTTP and one HTTPS listener on it")
		return nil
	case alb.listener("HTTP") == "" && alb.listener("HTTPS") == "":
		fail(at, ruleParameter, fmt.Sprintf("imported load balancer %s has no HTTP or HTTPS listener", alb.ARN), "import an application load balancer")
		return nil
	}
	return &alb
}

// addImportedALBRules adds, as Copilot v1.33 does for an imported load
// balancer: the alias records of the main rule (when aliases have hosted
// zones) pointing at it; for each rule a forward rule on its HTTPS
// listener and a redirect to HTTPS on its HTTP listener, or without HTTPS
// a forward rule on the HTTP listener; and one ingress into the
// environment security group from each of its security groups.
func addImportedALBRules(add func(string, *yaml.Node), alb *ImportedALB, h manifest.HTTP, rules []albRule) {
	aliasRecordSets(h.RoutingRule, str(alb.HostedZoneID), str(alb.DNSName), add)
	https, http := alb.listener("HTTPS"), alb.listener("HTTP")
	for _, r := range rules {
		path := normalizePath(*r.Path)
		var hosts *yaml.Node
		if len(r.Alias.Names) > 0 {
			hosts = val(r.Alias.Strings())
		}
		conds := ruleConditions(path, r.AllowedSourceIPs, hosts)
		if https == "" {
			add("HTTPListenerRuleForImportedALB"+r.suffix, ruleResource(fmt.Sprintf("An HTTP listener rule for path `%s` that forwards HTTP traffic to your tasks", path),
				r.forward(), conds, str(http), r.priority))
			continue
		}
		add("HTTPSListenerRuleForImportedALB"+r.suffix, ruleResource(fmt.Sprintf("An HTTPS listener rule for path `%s` that forwards HTTPS traffic to your tasks", path),
			r.forward(), conds, str(https), r.priority))
		if http != "" {
			add("HTTPListenerRedirectRuleForImportedALB"+r.suffix, ruleResource("An HTTP listener rule that redirects HTTP to HTTPS",
				redirectToHTTPS(), deepCopy(conds), str(http), r.priority))
		}
	}
	for i, sg := range alb.SecurityGroups {
		add("EnvironmentSecurityGroupIngressFromImportedALB"+nlbSuffix(i), kv(
			"Type", "AWS::EC2::SecurityGroupIngress",
			"Properties", kv(
				"GroupId", importValue(sub("${AppName}-${EnvName}-EnvironmentSecurityGroup")),
				"Description", "Ingress from the imported ALB",
				"SourceSecurityGroupId", sg,
				"IpProtocol", -1,
			),
		))
	}
}

// ImportedALBNames lists the load balancers the workspace's Load Balanced
// Web Services import (http.alb) in envs (all when empty), sorted, each
// once: plan and deploy describe them before rendering. Manifests that do
// not resolve are skipped; the render reports them.
func ImportedALBNames(ws *workspace.Workspace, envs []string, vars workspace.Vars) []string {
	if len(envs) == 0 {
		for _, e := range ws.Environments {
			envs = append(envs, e.Name)
		}
		envs = append(envs, ws.EnvNames()...)
	}
	var names []string
	for _, env := range envs {
		v := vars
		v.Env = env
		for _, w := range ws.Workloads {
			if w.Kind != workspace.LoadBalancedWebService {
				continue
			}
			doc, _ := w.Resolve(env, v)
			if doc == nil {
				continue
			}
			if m, err := manifest.DecodeWorkload(w.Kind, doc); err == nil && m.ECS != nil && m.ECS.HTTP.ALB != nil && *m.ECS.HTTP.ALB != "" {
				names = append(names, *m.ECS.HTTP.ALB)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
