package render

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// Listener rule priorities. Copilot's RulePriorityFunction Lambda gives a
// new rule the next free priority on the listener: counting up from 1 for
// paths, down from 50000 for "/". autopilot has no such Lambda; it derives
// a priority from the app, environment, service and path, in ranges that
// keep root rules last and stay clear of the ones Copilot hands out first
// (1, 2, 3… and 50000, 49999…), so a service adopted from Copilot never
// collides with a neighbour Copilot numbered. The number depends on
// nothing else in the workspace, so adding a service never renumbers
// another one.
const (
	rulePriorityMin     = 1000
	rulePriorityMax     = 47999
	rootRulePriorityMin = 48000
	rootRulePriorityMax = 49899
)

// rulePriority is the deterministic priority of a listener rule.
func rulePriority(app, env, svc, path string) int {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s/%s/%s", app, env, svc, path)
	lo, hi := rulePriorityMin, rulePriorityMax
	if path == "/" {
		lo, hi = rootRulePriorityMin, rootRulePriorityMax
	}
	return lo + int(h.Sum32()%uint32(hi-lo+1))
}

// assignRulePriorities gives every load-balanced workload of one listener
// its rule priority; a collision moves the later name (in sort order) to the
// next free number, so the result stays deterministic.
func assignRulePriorities(app, env string, paths map[string]string) map[string]int {
	taken := map[int]bool{}
	out := map[string]int{}
	for _, name := range sortedKeys(paths) {
		p := rulePriority(app, env, name, paths[name])
		lo, hi := rulePriorityMin, rulePriorityMax
		if paths[name] == "/" {
			lo, hi = rootRulePriorityMin, rootRulePriorityMax
		}
		for taken[p] {
			p++
			if p > hi {
				p = lo
			}
		}
		taken[p] = true
		out[name] = p
	}
	return out
}

// inRuleOrder lists the priorities of one service's rules (keys, in
// manifest order), its path rules' numbers sorted so that they are
// evaluated in the order the manifest lists them, as Copilot's Lambda
// numbers them: a main rule for /admin stays ahead of an additional rule
// for /admin/api, as under Copilot. Root rules keep their own numbers.
func inRuleOrder(keys []string, paths map[string]string, byKey map[string]int) []int {
	var sorted []int
	for _, k := range keys {
		if paths[k] != "/" {
			sorted = append(sorted, byKey[k])
		}
	}
	slices.Sort(sorted)
	out := make([]int, 0, len(keys))
	for _, k := range keys {
		if paths[k] == "/" {
			out = append(out, byKey[k])
			continue
		}
		out, sorted = append(out, sorted[0]), sorted[1:]
	}
	return out
}

// normalizePath gives a rule path its leading slash, as Copilot does.
func normalizePath(p string) string {
	if p == "" || strings.HasPrefix(p, "/") {
		return p
	}
	return "/" + p
}

// renderECSService renders a Load Balanced Web Service, or a Backend
// Service (whose optional http rule sits on the internal load balancer).
func renderECSService(in ecsInput) (*Stack, diag.List) {
	backend := in.kind == workspace.BackendService
	m, platform, diags := ecsCommon(in)
	if diags.HasErrors() {
		return nil, diags
	}
	fail := failer(&diags, in.file, in.env)
	httpAt := m.HTTP.Pos
	if m.Image.Port == nil && !backend {
		fail(m.Image.Pos, ruleManifest, `"image.port" must be specified`, "set image.port to the port your container listens on")
	}
	if backend && m.HTTP.Enabled && m.Image.Port == nil {
		fail(httpAt, ruleManifest, `"http" needs "image.port": the load balancer forwards to it`, "set image.port")
	}
	h := m.HTTP
	switch {
	case backend:
		if h.Enabled && (h.Path == nil || *h.Path == "") {
			fail(httpAt, ruleManifest, `"path" must be specified in "http"`, `set http.path, e.g. "/"`)
		}
	case !h.Set && !m.NLB.Set:
		fail(noPos, ruleManifest, `"http" must be specified`, "add http.path")
	case h.Set && !h.Enabled && !m.NLB.Set:
		fail(httpAt, ruleManifest, `must specify at least one of "http" or "nlb"`, "enable http")
	case h.Enabled && (h.Path == nil || *h.Path == ""):
		fail(httpAt, ruleManifest, `"path" must be specified in "http"`, `set http.path, e.g. "/"`)
	}
	if h.Has("alb") {
		fail(h.At("alb"), ruleUnsupported, "rendering http.alb is not supported yet: Copilot reads the imported load balancer's listeners, DNS name, hosted zone and security groups from Elastic Load Balancing at deploy time, which render does not call",
			"remove http.alb to use the environment's load balancer, or deploy this service with your current tooling")
	}
	checkAliases(h, string(in.kind), backend, in.tls, in.env, fail)
	if h.Enabled && in.tls.delegated && !backend {
		diags = append(diags, aliasRecordNotices(h, in)...)
	}
	for i, r := range h.AdditionalRules {
		name := fmt.Sprintf("http.additional_rules[%d]", i)
		if r.Path == nil || *r.Path == "" {
			fail(r.Pos, ruleManifest, fmt.Sprintf(`"path" must be specified in "%s"`, name), `set its path, e.g. "/admin"`)
		}
		checkRuleAliases(r, name, string(in.kind), backend, in.tls, in.env, fail)
	}
	if h.Enabled {
		for i, r := range append([]manifest.RoutingRule{h.RoutingRule}, h.AdditionalRules...) {
			if v := r.Version; v != nil {
				switch strings.ToUpper(*v) {
				case "GRPC", "HTTP1", "HTTP2":
				default:
					fail(r.At("version"), ruleManifest, fmt.Sprintf(`%s.version %q must be one of gRPC, HTTP1, HTTP2`, ruleName(i), *v), "")
				}
			}
		}
	}
	sgs, err := ecsSecurityGroups(m.Network.VPC.SecurityGroups, nil)
	if err != nil {
		fail(m.Network.VPC.SecurityGroups.Pos, ruleManifest, err.Error(), "")
	}
	tp := exposedPorts(in, m, h.Enabled)
	for i, t := range append([]ruleTarget{tp.ruleTarget}, tp.additional...) {
		at, name := httpAt, ruleName(i)
		if i > 0 {
			at = h.AdditionalRules[i-1].Pos
		}
		switch {
		case t.targetContainerIsUnknown:
			fail(at, ruleManifest, fmt.Sprintf("%s.target_container %q is neither the main container nor a sidecar", name, t.targetContainer), "name the main container or a sidecar")
		case t.targetContainerHasNoPort:
			fail(at, ruleManifest, fmt.Sprintf("%s.target_container %q exposes no port", name, t.targetContainer), "set sidecars."+t.targetContainer+".port, or "+name+".target_port")
		}
	}
	if n := m.task.nlb; n != nil {
		for _, l := range n.listeners {
			if l.targetContainerIsUnknown {
				fail(m.NLB.Pos, ruleManifest, fmt.Sprintf("nlb target_container %q is neither the main container nor a sidecar", l.targetContainer), "name the main container or a sidecar")
			}
		}
	}
	image, idiags := ecsImage(in, m)
	diags = append(diags, idiags...)
	addons, adiags := workloadAddons(in.addons, in.env, in.name, in.opts)
	diags = append(diags, adiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	if in.opts.checkDone(m.task.overrides) {
		return nil, diags
	}

	addonSecrets, addonVars, addonPolicies, addonSGs := addonOutputsByUse(addons)
	sgs, _ = ecsSecurityGroups(m.Network.VPC.SecurityGroups, addonSGs)
	// A backend without a port is not registered in service discovery:
	// Copilot passes TargetPort -1, which turns ExposePort off.
	targetPort := tp.targetPort
	params, pdiags := ecsParams(in, m, image, 256, 512, addons)
	diags = append(diags, pdiags...)
	params["TargetPort"] = strconv.Itoa(targetPort)
	params["DNSDelegated"] = strconv.FormatBool(in.tls.delegated)

	topics := make([]topicSpec, 0, len(m.Publish.Topics))
	for _, t := range m.Publish.Topics {
		topics = append(topics, newTopic(t))
	}
	manifestText, err := in.opts.encode(in.m.Doc)
	if err != nil {
		fail(noPos, ruleManifest, fmt.Sprintf("encode manifest for Metadata: %v", err), "")
		return nil, diags
	}

	paramDecl := ecsParamsDecl(!backend)
	set(paramDecl, "TargetPort", kv("Type", "Number"))
	conditions := ecsConditions(!backend)
	if backend {
		delete(params, "DNSDelegated")
		set(conditions, "ExposePort", not(equals(ref("TargetPort"), -1)))
	}
	taskParams(m.task, paramDecl, conditions, params)
	lb := publicLB
	if backend {
		lb = internalLB
	}
	res := kv()
	add := func(id string, r *yaml.Node) { res.Content = append(res.Content, str(id), r) }
	var lbDNS *yaml.Node
	if h.Enabled {
		lbDNS = lb.export("DNS")
	}
	add("LogGroup", ecsLogGroup())
	taskDef, err := ecsTaskDefinition(m, platform, ecsContainers(in, m, addonSecrets, addonVars, topics, lbDNS, tp))
	if err != nil {
		fail(m.At("taskdef_overrides"), ruleManifest, err.Error(), "check the path against the rendered template (autopilot render)")
		return nil, diags
	}
	add("TaskDefinition", taskDef)
	addAccessPoint(add, m.task.storage)
	add("ExecutionRole", ecsExecutionRole(m.task))
	add("TaskRole", ecsTaskRole(m, topics, addonPolicies))
	add("DiscoveryService", ecsDiscoveryService())
	var lbFullName *yaml.Node
	if h.Enabled {
		lbFullName = lb.export("FullName")
	}
	addAutoscaling(add, m.Count, lbFullName)
	addRollbackAlarms(add, m.task.rollback)

	svcProps := ecsServiceProps(m, platform, sgs, serviceConnectConfig(in, m.task.connect, tp))
	svc := kv(
		"Metadata", kv("aws:copilot:description", "An ECS service to run and maintain your tasks in the environment cluster"),
		"Type", "AWS::ECS::Service",
	)
	nlb := m.task.nlb
	dependsOn, targets := seq(), seq()
	rules := albRules(h, tp, in.priorities)
	for _, r := range rules {
		if in.tls.https {
			dependsOn.Content = append(dependsOn.Content, str("HTTPListenerRuleWithDomain"+r.suffix), str("HTTPSListenerRule"+r.suffix))
		} else {
			dependsOn.Content = append(dependsOn.Content, str("HTTPListenerRule"+r.suffix))
		}
		targets.Content = append(targets.Content, kv("ContainerName", r.targetContainer, "ContainerPort", r.targetPort, "TargetGroupArn", ref("TargetGroup"+r.suffix)))
	}
	if nlb != nil {
		for i := range nlb.listeners {
			dependsOn.Content = append(dependsOn.Content, str("NLBListener"+nlbSuffix(i)))
		}
		targets.Content = append(targets.Content, nlbServiceTargets(nlb)...)
	}
	if len(dependsOn.Content) > 0 {
		set(svc, "DependsOn", dependsOn)
		// Copilot's grace period: the http health check's, else the NLB's, else 60s.
		grace := 60
		switch {
		case h.HealthCheck.GracePeriod != nil:
			grace = int(h.HealthCheck.GracePeriod.Seconds())
		case nlb != nil && nlb.listeners[0].grace != nil:
			grace = *nlb.listeners[0].grace
		}
		set(svcProps, "HealthCheckGracePeriodSeconds", grace)
		set(svcProps, "LoadBalancers", targets)
	}
	registries := seq(kv("RegistryArn", getAtt("DiscoveryService.Arn"), "Port", ref("TargetPort")))
	if backend {
		set(svcProps, "ServiceRegistries", ifFn("ExposePort", registries, noValue()))
	} else {
		set(svcProps, "ServiceRegistries", registries)
	}
	set(svc, "Properties", svcProps)
	add("Service", svc)
	for _, r := range rules {
		add("TargetGroup"+r.suffix, targetGroup(r.RoutingRule, r.targetPort))
	}
	switch {
	case h.Enabled && in.tls.https:
		if len(h.Alias.Names) == 0 && !backend {
			add("LoadBalancerDNSAlias", defaultAliasRecord(lb))
		}
		aliasRecordSets(h.RoutingRule, lb, add)
		for _, r := range rules {
			httpsRules(r, backend, lb, add)
		}
	case h.Enabled:
		var hosts *yaml.Node
		if backend {
			add("LoadBalancerInternalDNSAlias", internalDNSAlias(in))
			hosts = seq(lb.export("DNS"), join(".", seq(ref("WorkloadName"), importValue(sub("${AppName}-${EnvName}-InternalWorkloadsHostedZoneName")))))
		}
		for _, r := range rules {
			add("HTTPListenerRule"+r.suffix, listenerRule(r, lb.export("HTTPListenerArn"), deepCopy(hosts)))
		}
	}
	if nlb != nil {
		addNLB(add, nlb)
	}
	addAddonsStack(add, addons)
	addTopics(add, topics)

	description := "CloudFormation template that represents a load balanced web service on Amazon ECS."
	if backend {
		description = "CloudFormation template that represents a backend service on Amazon ECS."
	}
	outputs := kv("DiscoveryServiceARN", discoveryOutput())
	if nlb != nil {
		set(outputs, "PublicNetworkLoadBalancerDNSName", nlbOutput())
	}
	tpl := workloadTemplate(description, string(manifestText),
		"Parameters", paramDecl,
		"Conditions", conditions,
		"Resources", res,
		"Outputs", outputs,
	)
	st, err := workloadStack(in.app, in.env, in.name, in.kind, in.opts, tpl, params, addons)
	if err != nil {
		fail(noPos, ruleManifest, err.Error(), "")
		return nil, diags
	}
	addObjects(st, envFileObjects(m.task))
	return st, append(diags, sizeCheck(st, in.file)...)
}

// targetGroup is the service's target group with its health check.
func targetGroup(h manifest.RoutingRule, port int) *yaml.Node {
	hc := h.HealthCheck
	path := "/"
	if hc.Path != nil {
		path = normalizePath(*hc.Path)
	}
	props := kv("HealthCheckPath", path)
	if hc.Port != nil {
		set(props, "HealthCheckPort", *hc.Port)
	}
	if hc.SuccessCodes != nil {
		set(props, "Matcher", kv("HttpCode", *hc.SuccessCodes))
	}
	if hc.HealthyThreshold != nil {
		set(props, "HealthyThresholdCount", int(*hc.HealthyThreshold))
	}
	if hc.UnhealthyThreshold != nil {
		set(props, "UnhealthyThresholdCount", int(*hc.UnhealthyThreshold))
	}
	if hc.Interval != nil {
		set(props, "HealthCheckIntervalSeconds", int(hc.Interval.Seconds()))
	}
	if hc.Timeout != nil {
		set(props, "HealthCheckTimeoutSeconds", int(hc.Timeout.Seconds()))
	}
	set(props, "Port", port)
	protocol := "HTTP"
	if port == 443 {
		protocol = "HTTPS"
	}
	set(props, "Protocol", protocol)
	if h.Version != nil {
		set(props, "ProtocolVersion", strings.ToUpper(*h.Version))
	}
	delay := 60
	if h.DeregistrationDelay != nil {
		delay = int(h.DeregistrationDelay.Seconds())
	}
	sticky := h.Stickiness != nil && *h.Stickiness
	set(props, "TargetGroupAttributes", seq(
		kv("Key", "deregistration_delay.timeout_seconds", "Value", delay),
		kv("Key", "stickiness.enabled", "Value", sticky),
	))
	set(props, "TargetType", "ip")
	set(props, "VpcId", importValue(sub("${AppName}-${EnvName}-VpcId")))
	return kv(
		"Metadata", kv("aws:copilot:description", fmt.Sprintf("A target group to connect the load balancer to your service on port %d", port)),
		"Type", "AWS::ElasticLoadBalancingV2::TargetGroup",
		"Properties", props,
	)
}

// listenerRule forwards a rule's path (and source IPs, and host headers)
// to its target group, at a fixed priority (see rulePriority).
func listenerRule(r albRule, listener *yaml.Node, hostHeaders *yaml.Node) *yaml.Node {
	path := normalizePath(*r.Path)
	return ruleResource(fmt.Sprintf("An HTTP listener rule for path `%s` that forwards HTTP traffic to your tasks", path),
		r.forward(), ruleConditions(path, r.AllowedSourceIPs, hostHeaders), listener, r.priority)
}

// albRule is one listener rule of a service: the main rule (suffix "") or
// http.additional_rules[N-1] (suffix "N"), with its target and priority.
type albRule struct {
	manifest.RoutingRule
	ruleTarget
	suffix   string
	priority int
}

// albRules are the service's listener rules in Copilot's order, none
// without http.
func albRules(h manifest.HTTP, tp taskPorts, priorities []int) []albRule {
	if !h.Enabled {
		return nil
	}
	rules := []albRule{{RoutingRule: h.RoutingRule, ruleTarget: tp.ruleTarget}}
	for i, r := range h.AdditionalRules {
		rules = append(rules, albRule{RoutingRule: r, ruleTarget: tp.additional[i], suffix: strconv.Itoa(i + 1)})
	}
	for i := range rules {
		if i < len(priorities) {
			rules[i].priority = priorities[i]
		}
	}
	return rules
}

// forward is the rule's action: forward to its target group.
func (r albRule) forward() *yaml.Node {
	return kv("TargetGroupArn", ref("TargetGroup"+r.suffix), "Type", "forward")
}

// ruleName names the main rule (0) or an additional rule in messages.
func ruleName(i int) string {
	if i == 0 {
		return "http"
	}
	return fmt.Sprintf("http.additional_rules[%d]", i-1)
}

// ruleConditions are a listener rule's conditions in Copilot's order:
// source IPs, host headers, path.
func ruleConditions(path string, sourceIPs []string, hostHeaders *yaml.Node) *yaml.Node {
	conds := seq()
	if len(sourceIPs) > 0 {
		conds.Content = append(conds.Content, kv("Field", "source-ip", "SourceIpConfig", kv("Values", sourceIPs)))
	}
	if hostHeaders != nil {
		conds.Content = append(conds.Content, kv("Field", "host-header", "HostHeaderConfig", kv("Values", hostHeaders)))
	}
	values := []string{"/*"}
	if path != "/" {
		values = []string{path, path + "/*"}
	}
	conds.Content = append(conds.Content, kv("Field", "path-pattern", "PathPatternConfig", kv("Values", values)))
	return conds
}

// ruleResource is a listener rule with one action.
func ruleResource(description string, action, conditions, listener *yaml.Node, priority int) *yaml.Node {
	return kv(
		"Metadata", kv("aws:copilot:description", description),
		"Type", "AWS::ElasticLoadBalancingV2::ListenerRule",
		"Properties", kv(
			"Actions", seq(action),
			"Conditions", conditions,
			"ListenerArn", listener,
			"Priority", priority,
		),
	)
}
