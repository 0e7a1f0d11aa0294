package lint

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// The workload rules below port the cross-field checks of Copilot's
// internal/pkg/manifest/validate.go that JSON Schema cannot express, plus a
// few limits AWS enforces when the stack deploys (App Runner registries,
// Fargate on Windows, unknown task definition volumes).

var (
	lbwsKind     = []workspace.Kind{workspace.LoadBalancedWebService}
	albKinds     = []workspace.Kind{workspace.LoadBalancedWebService, workspace.BackendService}
	connectKinds = []workspace.Kind{workspace.BackendService, workspace.WorkerService}
	workerKind   = []workspace.Kind{workspace.WorkerService}
	jobKind      = []workspace.Kind{workspace.ScheduledJob}
	staticKind   = []workspace.Kind{workspace.StaticSite}
)

func init() {
	register(rule{id: "http-hosted-zone", kinds: albKinds, check: checkHostedZone})
	register(rule{id: "http-target-container-conflict", kinds: albKinds, check: checkTargetContainerSpelling})
	register(rule{id: "http-rule-conditions", kinds: albKinds, check: checkRuleConditions})
	register(rule{id: "grace-period", kinds: lbwsKind, check: checkGracePeriod})
	register(rule{id: "nlb-port", kinds: lbwsKind, check: checkNLBPorts})
	register(rule{id: "nlb-hosted-zone", kinds: lbwsKind, check: checkNLBHostedZone})
	register(rule{id: "target-container", kinds: albKinds, check: checkTargetContainers})
	register(rule{id: "exposed-ports", kinds: ecsKinds, check: checkExposedPorts})
	register(rule{id: "healthcheck-port", kinds: albKinds, check: checkHealthCheckPorts})
	register(rule{id: "autoscaling-needs-http", kinds: albKinds, check: checkRequestScalingNeedsHTTP})
	register(rule{id: "connect-alias", kinds: connectKinds, check: checkConnectAlias})
	register(rule{id: "sidecar-port", kinds: ecsKinds, check: checkSidecarPorts})
	register(rule{id: "command-words", kinds: ecsKinds, check: checkCommandWords})
	register(rule{id: "container-dependencies", kinds: ecsKinds, check: checkContainerDependencies})
	register(rule{id: "storage-efs", kinds: ecsKinds, check: checkEFS})
	register(rule{id: "mount-point-volume", kinds: ecsKinds, check: checkMountPointVolumes})
	register(rule{id: "windows", kinds: ecsKinds, check: checkWindows})
	register(rule{id: "arm-spot", kinds: ecsKinds, check: checkARMSpot})
	register(rule{id: "fifo-queue", kinds: workerKind, check: checkFIFOQueues})
	register(rule{id: "subscribe-topic", kinds: workerKind, check: checkSubscribedTopics})
	register(rule{id: "schedule", kinds: jobKind, check: checkSchedule})
	register(rule{id: "job-timeout", kinds: jobKind, check: checkJobTimeout})
	register(rule{id: "static-site-certificate", kinds: staticKind, check: checkStaticSiteCertificate})
	register(rule{id: "apprunner-private-endpoint", kinds: rdws, check: checkAppRunnerEndpoint})
	register(rule{id: "apprunner-image", kinds: rdws, check: checkAppRunnerImage})
	register(rule{id: "container-healthcheck-range", kinds: ecsKinds, check: checkContainerHealthChecks})
	register(rule{id: "lb-healthcheck-range", kinds: albKinds, check: checkLBHealthChecks})
	register(rule{id: "deregistration-delay", kinds: albKinds, check: checkDeregistrationDelay})
	register(rule{id: "queue-range", kinds: workerKind, check: checkQueueRanges})
	register(rule{id: "queue-delay-insights", kinds: workerKind, check: checkQueueDelayInsights})
}

// checkQueueDelayInsights warns when count.queue_delay scales a worker in an
// environment without Container Insights: autopilot's scaling policy
// divides the queue's backlog by Container Insights' RunningTaskCount, so
// without it the service never scales (Copilot's Lambda counted tasks
// itself).
func checkQueueDelayInsights(c *context) {
	if c.ecs == nil || c.ecs.Count.QueueDelay == nil || c.env == "" {
		return
	}
	for _, e := range c.ws.Environments {
		if e.Name != c.env {
			continue
		}
		doc, _ := e.Resolve(c.env, workspace.Vars{App: c.ws.App, Env: c.env, Lookup: func(string) (string, bool) { return "", false }})
		if doc == nil {
			return
		}
		if env, err := manifest.DecodeEnvironment(doc); err == nil && !deref(env.Observability.ContainerInsights) {
			c.reportAt(c.ecs.Count.QueueDelay.Pos, diag.Warning,
				fmt.Sprintf("count.queue_delay scales on Container Insights' running task count, which environment %s does not turn on: the service would not scale", c.env),
				"set observability.container_insights: true in copilot/environments/"+c.env+"/manifest.yml")
		}
	}
}

// --- small node helpers -------------------------------------------------

func deref[T any](p *T) T {
	var zero T
	if p != nil {
		return *p
	}
	return zero
}

// portSpec parses "8080", 8080, "8080/tcp"; ok is false when the value has
// another shape (the schema reports it).
func portSpec(p *string) (port int, proto string, ok bool) {
	if p == nil {
		return 0, "", false
	}
	num, proto, hasProto := strings.Cut(*p, "/")
	port, err := strconv.Atoi(num)
	if err != nil {
		return 0, "", false
	}
	if !hasProto {
		proto = "tcp"
	}
	return port, strings.ToUpper(proto), true
}

// mainContainer is the name Copilot gives the main container: the
// workload's name.
func (c *context) mainContainer() string {
	if n := c.ecs.Text("name"); n != "" {
		return n
	}
	return c.m.Name
}

// httpRules returns the routing rules of `http` (the main rule and
// additional_rules), or nil when http is absent or disabled. The main
// rule's TargetContainer is target_container as written (without the
// fallback to targetContainer, which lint checks on its own).
func (c *context) httpRules() []manifest.RoutingRule {
	if c.ecs == nil || !c.ecs.HTTP.IsMapping() {
		return nil
	}
	h := c.ecs.HTTP
	main := h.RoutingRule
	if !h.Present("target_container") {
		main.TargetContainer = nil
	}
	return append([]manifest.RoutingRule{main}, h.AdditionalRules...)
}

// port is a target port of the model as an int.
func port(p *uint16) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}

// nlbListeners returns nlb and its additional_listeners.
func (c *context) nlbListeners() []manifest.NLBListener {
	if c.ecs == nil || !c.ecs.NLB.IsMapping() {
		return nil
	}
	return append([]manifest.NLBListener{c.ecs.NLB.NLBListener}, c.ecs.NLB.AdditionalListeners...)
}

// sidecars are the sidecars' names in file order, as Copilot checks them.
func (c *context) sidecars() []string { return c.ecs.Sub("sidecars").Keys() }

func ruleName(i int, base string, list string) string {
	if i == 0 {
		return base
	}
	return fmt.Sprintf("%s.%s[%d]", base, list, i-1)
}

// --- load balancer rules --------------------------------------------------

func checkHostedZone(c *context) {
	for i, r := range c.httpRules() {
		if r.Present("hosted_zone") && !r.Present("alias") {
			c.errorAt(r.KeyAt("hosted_zone"), "add `alias:` with the domain names to create records for, or remove hosted_zone",
				"%s.hosted_zone needs %s.alias: the hosted zone only receives records for aliases", ruleName(i, "http", "additional_rules"), ruleName(i, "http", "additional_rules"))
		}
	}
}

func checkTargetContainerSpelling(c *context) {
	if c.ecs == nil {
		return
	}
	if h := c.ecs.HTTP; h.IsMap && h.Present("target_container") && h.Present("targetContainer") {
		c.errorAt(h.KeyAt("targetContainer"), "keep target_container and remove the deprecated targetContainer",
			"http.target_container and http.targetContainer are the same setting; set only one")
	}
}

// checkRuleConditions: an ALB listener rule holds at most five condition
// values, and Copilot spends them on aliases and source IPs.
func checkRuleConditions(c *context) {
	for i, r := range c.httpRules() {
		if n := len(r.Alias.Names) + len(r.AllowedSourceIPs); n >= 5 {
			name := ruleName(i, "http", "additional_rules")
			c.errorAt(r.Pos, "split the aliases and source IPs into additional_rules with the same path, at most 4 values each",
				"%s has %d aliases and allowed_source_ips; a load balancer listener rule allows at most 4 together", name, n)
		}
	}
}

func checkGracePeriod(c *context) {
	var albSet, nlbSet bool
	var nlbAt manifest.Pos
	for i, r := range c.httpRules() {
		if !r.HealthCheck.Present("grace_period") {
			continue
		}
		if i > 0 {
			c.errorAt(r.HealthCheck.At("grace_period"), "set grace_period once, under http.healthcheck", "grace_period is not supported in http.additional_rules[%d]: the service has a single grace period", i-1)
			continue
		}
		albSet = true
	}
	for i, l := range c.nlbListeners() {
		if !l.HealthCheck.Present("grace_period") {
			continue
		}
		if i > 0 {
			c.errorAt(l.HealthCheck.At("grace_period"), "set grace_period once, under nlb.healthcheck", "grace_period is not supported in nlb.additional_listeners[%d]: the service has a single grace period", i-1)
			continue
		}
		nlbSet, nlbAt = true, l.HealthCheck.At("grace_period")
	}
	if albSet && nlbSet {
		c.errorAt(nlbAt, "keep one of http.healthcheck.grace_period and nlb.healthcheck.grace_period",
			"http.healthcheck.grace_period and nlb.healthcheck.grace_period cannot both be set: the service has a single grace period")
	}
}

func checkNLBPorts(c *context) {
	for i, l := range c.nlbListeners() {
		if l.Port == nil {
			continue
		}
		num, _, _ := strings.Cut(*l.Port, "/")
		if port, err := strconv.Atoi(num); err == nil && (port < 1 || port > 65535) {
			c.errorAt(l.At("port"), "use a port from 1 to 65535", "%s.port %d is out of range", ruleName(i, "nlb", "additional_listeners"), port)
		}
	}
}

func checkNLBHostedZone(c *context) {
	if c.ecs == nil {
		return
	}
	for _, a := range c.ecs.NLB.Alias.Names {
		if a.Present("hosted_zone") {
			c.errorAt(a.KeyAt("hosted_zone"), "remove hosted_zone; records for NLB aliases go into the application's hosted zone",
				"hosted_zone is not supported for Network Load Balancer aliases")
		}
	}
}

// checkTargetContainers: a load balancer target must be a container of the
// task that exposes a port.
func checkTargetContainers(c *context) {
	if c.ecs == nil {
		return
	}
	check := func(name *string, at manifest.Pos, where string) {
		if name == nil {
			return
		}
		if *name == c.mainContainer() {
			if !c.ecs.Image.Present("port") {
				c.errorAt(at, "set image.port", "%s: target container %q does not expose a port", where, *name)
			}
			return
		}
		// A sidecar of the wrong shape still exists (the schema reports it).
		sidecars := c.ecs.Sub("sidecars")
		if !sidecars.Present(*name) {
			c.errorAt(at, fmt.Sprintf("use %q or one of the sidecars", c.mainContainer()), "%s: target container %q does not exist", where, *name)
			return
		}
		if !sidecars.Sub(*name).Present("port") {
			c.errorAt(at, fmt.Sprintf("set sidecars.%s.port", *name), "%s: target container %q does not expose a port", where, *name)
		}
	}
	for i, r := range c.httpRules() {
		check(r.TargetContainer, r.At("target_container"), ruleName(i, "http", "additional_rules"))
		check(r.DeprecatedTargetContainer, r.At("targetContainer"), ruleName(i, "http", "additional_rules"))
	}
	for i, l := range c.nlbListeners() {
		check(l.TargetContainer, l.At("target_container"), ruleName(i, "nlb", "additional_listeners"))
	}
}

type exposure struct {
	container, proto string
}

// exposedPorts follows Copilot's validateExposedPorts: sidecars first, then
// ALB and NLB targets, then the main container; it reports a port claimed
// by two containers or with two protocols.
func (c *context) exposedPorts(report bool) map[int]exposure {
	ports := map[int]exposure{}
	add := func(at manifest.Pos, port int, proto, container string) {
		proto = strings.ToUpper(proto)
		prev, seen := ports[port]
		if !seen {
			ports[port] = exposure{container, proto}
			return
		}
		if !report {
			return
		}
		switch {
		case prev.container != container:
			c.errorAt(at, "give each container its own port", "port %d is exposed by both container %q and container %q", port, prev.container, container)
		case prev.proto != proto:
			c.errorAt(at, "expose the port with one protocol", "container %q exposes port %d as both %s and %s", container, port, prev.proto, proto)
		}
	}
	// target picks the container a listener sends to: the one already on
	// the port, unless the listener names one.
	target := func(port int, named *string) string {
		container := c.mainContainer()
		if prev, seen := ports[port]; seen {
			container = prev.container
		}
		if named != nil && *named != "" {
			container = *named
		}
		return container
	}
	for _, name := range c.sidecars() {
		sc := c.ecs.Sidecars[name]
		if port, proto, ok := portSpec(sc.Port); ok {
			add(sc.At("port"), port, proto, name)
		}
	}
	if c.m.Kind == workspace.LoadBalancedWebService || c.m.Kind == workspace.BackendService {
		for _, r := range c.httpRules() {
			if p := port(r.TargetPort); p != nil {
				add(r.At("target_port"), *p, "TCP", target(*p, r.TargetContainer))
			}
		}
		for _, l := range c.nlbListeners() {
			port, proto, ok := portSpec(l.Port)
			if !ok {
				continue
			}
			at := l.At("port")
			if l.TargetPort != nil {
				port, at = *l.TargetPort, l.At("target_port")
			}
			if proto == "TLS" {
				proto = "TCP" // the NLB terminates TLS; the container speaks TCP
			}
			add(at, port, proto, target(port, l.TargetContainer))
		}
	}
	if p := c.ecs.Image.Port; p != nil {
		proto := "TCP"
		if prev, seen := ports[int(*p)]; seen {
			proto = prev.proto
		}
		add(c.ecs.Image.At("port"), int(*p), proto, c.mainContainer())
	}
	return ports
}

func checkExposedPorts(c *context) {
	if c.ecs != nil {
		c.exposedPorts(true)
	}
}

// checkHealthCheckPorts: load balancer health checks run over TCP, so the
// port they probe cannot be one exposed only as UDP.
func checkHealthCheckPorts(c *context) {
	if c.ecs == nil {
		return
	}
	ports := c.exposedPorts(false)
	probe := func(at manifest.Pos, port int, where string) {
		if e, ok := ports[port]; ok && e.proto != "TCP" {
			c.errorAt(at, "set healthcheck.port to a port the container exposes over TCP",
				"%s: the health check probes port %d, which container %q exposes over %s; load balancer health checks need TCP", where, port, e.container, e.proto)
		}
	}
	for i, r := range c.httpRules() {
		where := ruleName(i, "http", "additional_rules")
		switch hc := r.HealthCheck; {
		case hc.Present("port"):
			if hc.Port != nil {
				probe(hc.At("port"), *hc.Port, where)
			}
		case r.Present("target_port"):
			if p := port(r.TargetPort); p != nil {
				probe(r.At("target_port"), *p, where)
			}
		case c.ecs.Image.Port != nil:
			probe(r.Pos, int(*c.ecs.Image.Port), where)
		}
	}
	for i, l := range c.nlbListeners() {
		where := ruleName(i, "nlb", "additional_listeners")
		switch hc := l.HealthCheck; {
		case hc.Present("port"):
			if hc.Port != nil {
				probe(hc.At("port"), *hc.Port, where)
			}
		case l.Present("target_port"):
			if l.TargetPort != nil {
				probe(l.At("target_port"), *l.TargetPort, where)
			}
		case l.Present("port"):
			if port, _, ok := portSpec(l.Port); ok {
				probe(l.At("port"), port, where)
			}
		}
	}
}

// checkRequestScalingNeedsHTTP: request count and response time come from
// the Application Load Balancer.
func checkRequestScalingNeedsHTTP(c *context) {
	if c.ecs == nil || !c.ecs.Count.IsMapping() || c.ecs.HTTP.IsMapping() {
		return
	}
	if c.m.Kind == workspace.LoadBalancedWebService && !c.ecs.Present("http") {
		return // the schema reports the missing http
	}
	for _, k := range []string{"requests", "response_time"} {
		if c.ecs.Count.Present(k) {
			c.errorAt(c.ecs.Count.KeyAt(k), "configure `http` for the service, or scale on cpu_percentage or memory_percentage",
				"count.%s scales on Application Load Balancer metrics, but the service has no http load balancer", k)
		}
	}
}

func checkConnectAlias(c *context) {
	if c.ecs == nil {
		return
	}
	connect := c.ecs.Network.Connect
	if !connect.IsMap || !connect.Present("alias") {
		return
	}
	alias := connect.At("alias")
	if c.m.Kind == workspace.WorkerService {
		c.errorAt(alias, "remove network.connect.alias: a Worker Service receives work from its queue, not over Service Connect",
			"network.connect.alias cannot be set for a Worker Service: it exposes no port")
		return
	}
	if !c.ecs.Image.Present("port") && !c.ecs.HTTP.Present("target_container") {
		c.errorAt(alias, "set image.port so other services can reach this one", "network.connect.alias needs an exposed port, but image.port is not set")
	}
}

func checkSidecarPorts(c *context) {
	if c.ecs == nil {
		return
	}
	for name, sc := range c.ecs.Sidecars {
		if sc.Port == nil {
			continue
		}
		num, _, _ := strings.Cut(*sc.Port, "/")
		if port, err := strconv.Atoi(num); err == nil && (port < 1 || port > 65535) {
			c.errorAt(sc.At("port"), "use a port from 1 to 65535", "sidecars.%s.port %d is out of range", name, port)
		}
	}
}

// checkCommandWords: Copilot splits a string command or entrypoint into
// words with shell quoting rules and fails the deploy when it cannot (an
// unclosed quote, a trailing backslash).
func checkCommandWords(c *context) {
	if c.ecs == nil {
		return
	}
	check := func(where string, container manifest.Section) {
		for _, key := range []string{"command", "entrypoint"} {
			if !container.Present(key) {
				continue
			}
			text := container.Text(key)
			if _, err := manifest.SplitWords(text); err != nil {
				c.errorAt(container.At(key), "close the quote (or escape it with a backslash), or write the words as a list",
					"%s%s %q cannot be split into words with shell quoting rules: %v", where, key, text, err)
			}
		}
	}
	check("", c.ecs.Section)
	sidecars := c.ecs.Sub("sidecars")
	for _, name := range sidecars.Keys() {
		check("sidecars."+name+".", sidecars.Sub(name))
	}
}

// firelensContainer is the name Copilot gives the log router sidecar.
const firelensContainer = "firelens_log_router"

// checkContainerDependencies ports validateContainerDeps: every depends_on
// names a container of the task, essential containers can only be waited
// for to START or be HEALTHY, and there is no cycle.
func checkContainerDependencies(c *context) {
	if c.ecs == nil {
		return
	}
	type container struct {
		essential bool
		deps      map[string]string
		at        manifest.Section // depends_on
	}
	main := c.mainContainer()
	all := map[string]container{main: {essential: true, deps: c.ecs.Image.DependsOn, at: c.ecs.Image.Sub("depends_on")}}
	names := []string{main}
	if c.ecs.Present("logging") {
		all[firelensContainer] = container{}
		names = append(names, firelensContainer)
	}
	sidecars := c.ecs.Sub("sidecars")
	for _, name := range sidecars.Keys() {
		sc := c.ecs.Sidecars[name]
		all[name] = container{essential: sc.Essential == nil || *sc.Essential, deps: sc.DependsOn, at: sidecars.Sub(name).Sub("depends_on")}
		names = append(names, name)
	}
	graph := map[string][]string{}
	for _, name := range names {
		deps := all[name]
		for _, dep := range deps.at.Keys() {
			target, ok := all[dep]
			condition, typed := deps.deps[dep]
			switch {
			case !ok:
				c.errorAt(deps.at.KeyAt(dep), "depend on the main container or a sidecar of this manifest", "container %q depends on %q, which is not a container of this task", name, dep)
				continue
			case dep == name:
				c.errorAt(deps.at.KeyAt(dep), "remove the dependency", "container %q cannot depend on itself", name)
				continue
			case target.essential && typed:
				if s := strings.ToUpper(condition); s != "START" && s != "HEALTHY" {
					c.errorAt(deps.at.At(dep), "wait for START or HEALTHY, or mark the sidecar `essential: false`",
						"container %q waits for essential container %q to %s; an essential container never completes, so only START or HEALTHY apply", name, dep, s)
				}
			}
			graph[name] = append(graph[name], dep)
		}
	}
	if cycle := findCycle(names, graph); cycle != nil {
		c.errorAt(c.at(c.ecs.Section, "sidecars"), "remove one of the depends_on entries in the loop",
			"container dependencies form a loop: %s", strings.Join(cycle, " -> "))
	}
}

// findCycle returns one dependency loop, in a stable order, or nil.
func findCycle(names []string, graph map[string][]string) []string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var found []string
	var visit func(n string) bool
	visit = func(n string) bool {
		state[n] = active
		stack = append(stack, n)
		for _, d := range graph[n] {
			switch state[d] {
			case active:
				i := slices.Index(stack, d)
				found = append(slices.Clone(stack[i:]), d)
				return true
			case unseen:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return false
	}
	for _, n := range names {
		if state[n] == unseen && visit(n) {
			return found
		}
	}
	return nil
}

// checkEFS ports Storage.validate and EFSVolumeConfiguration.validate.
func checkEFS(c *context) {
	if c.ecs == nil {
		return
	}
	managed := false
	for _, name := range c.ecs.Storage.Sub("volumes").Keys() {
		efs := c.ecs.Storage.Volumes[name].EFS
		where := "storage.volumes." + name + ".efs"
		if efs.IsMap {
			byo := efs.Present("id") || efs.Present("root_dir") || efs.Present("auth")
			uid, gid := efs.Present("uid"), efs.Present("gid")
			if byo && (uid || gid) {
				at := efs.At("uid")
				if !uid {
					at = efs.At("gid")
				}
				c.errorAt(at, "use id/root_dir/auth for an existing file system, or uid/gid for one Copilot manages",
					"%s: uid/gid cannot be combined with id, root_dir or auth", where)
				continue
			}
			if uid != gid {
				missing, have := "gid", efs.At("uid")
				if !uid {
					missing, have = "uid", efs.At("gid")
				}
				c.errorAt(have, fmt.Sprintf("add %s", missing), "%s: uid and gid must be set together", where)
			}
			if auth := efs.Sub("auth"); auth.Present("access_point_id") {
				root, iam := deref(efs.Map.RootDir), efs.Map.Auth.IAM
				if (root != "" && root != "/") || (iam != nil && !*iam) {
					c.errorAt(auth.At("access_point_id"), "remove root_dir (the access point sets it) and keep auth.iam true",
						"%s: with an access point, root_dir must be empty or / and auth.iam must be true", where)
				}
			}
			if !uid && !gid {
				continue // an existing file system, or an empty map: nothing managed
			}
		} else if !efs.IsBool || efs.Bad || !efs.Bool {
			continue
		}
		if managed {
			c.errorAt(efs.Pos, "share one managed volume, or import other file systems by id",
				"%s: only one volume per service can use a Copilot-managed EFS file system", where)
			continue
		}
		managed = true
	}
}

// checkMountPointVolumes: ECS rejects a task definition whose mount point
// names a volume it does not declare.
func checkMountPointVolumes(c *context) {
	if c.ecs == nil {
		return
	}
	for name, sc := range c.ecs.Sidecars {
		for i, mp := range sc.MountPoints {
			if src := mp.SourceVolume; src != nil && !c.ecs.Storage.Declares(*src) {
				c.errorAt(mp.At("source_volume"), "declare the volume under storage.volumes, or fix the name",
					"sidecars.%s.mount_points[%d]: volume %q is not declared under storage.volumes", name, i, *src)
			}
		}
	}
}

// checkWindows: what Fargate (and Copilot) do not offer Windows tasks.
func checkWindows(c *context) {
	m := c.ecs
	if m == nil || !strings.HasPrefix(osFamily(m.Platform), "windows") {
		return
	}
	if ro := m.Storage.ReadonlyFS; ro != nil && *ro {
		c.errorAt(m.Storage.At("readonly_fs"), "remove storage.readonly_fs", "storage.readonly_fs cannot be true for a Windows container")
	}
	for name, v := range m.Storage.Volumes {
		if efs := v.EFS; efs.IsMap || efs.IsBool && !efs.Bad && efs.Bool {
			c.errorAt(efs.Pos, "remove the EFS volume, or run the service on Linux", "storage.volumes.%s: EFS is not supported for Windows containers", name)
		}
	}
	if conn := m.Network.Connect; (conn.IsMap || conn.IsBool && !conn.Bad && conn.Bool) && c.m.Kind != workspace.WorkerService {
		c.errorAt(conn.Pos, "remove network.connect", "Service Connect (network.connect) is not supported for Windows containers")
	}
	// Every container of a task runs the task's OS, and the sidecars
	// Copilot adds for these are Linux images.
	if m.Present("logging") {
		c.errorAt(m.KeyAt("logging"), "remove logging; Windows tasks send logs to CloudWatch with awslogs",
			"FireLens (logging) is not supported for Windows tasks: its log router image runs on Linux only")
	}
	if m.Observability.Present("tracing") {
		c.errorAt(m.Observability.At("tracing"), "remove observability.tracing", "X-Ray tracing is not supported for Windows tasks: the X-Ray daemon sidecar runs on Linux only")
	}
	if count := m.Count; count.Present("spot") {
		c.errorAt(count.At("spot"), "remove count.spot", "Fargate Spot is not available for Windows containers")
	} else if count.Range.Present("spot_from") {
		c.errorAt(count.Range.At("spot_from"), "remove count.range.spot_from", "Fargate Spot is not available for Windows containers")
	}
	cpu, mem := deref(m.CPU), deref(m.Memory)
	if !m.Present("cpu") || !m.Present("memory") {
		c.errorAt(m.Platform.Pos, "set `cpu: 1024` and `memory: 2048` (or more)",
			"a Windows task needs at least 1024 CPU units and 2048 MiB; the defaults (256 and 512) are too small")
	} else if (m.CPU != nil && cpu < 1024) || (m.Memory != nil && mem < 2048) {
		c.errorAt(m.At("cpu"), "use cpu 1024 or more and memory 2048 or more", "a Windows task needs at least 1024 CPU units and 2048 MiB, not %d and %d", cpu, mem)
	}
	if m.Exec.Enabled() {
		c.reportAt(m.Exec.Pos, diag.Warning, "exec is not supported for Windows containers by Copilot's `svc exec`", "remove exec, or connect with `aws ecs execute-command` directly")
	}
}

// osFamily and arch are the lower-case parts of the task's platform, ""
// when unset.
func osFamily(p manifest.Platform) string {
	os, _, _ := strings.Cut(strings.ToLower(p.Value), "/")
	return os
}

func arch(p manifest.Platform) string {
	_, a, _ := strings.Cut(strings.ToLower(p.Value), "/")
	return a
}

func checkARMSpot(c *context) {
	if c.ecs == nil {
		return
	}
	if a := arch(c.ecs.Platform); a != "arm" && a != "arm64" {
		return
	}
	if count := c.ecs.Count; count.Present("spot") {
		c.errorAt(count.At("spot"), "remove count.spot, or run on x86_64", "Fargate Spot is not available on ARM")
	} else if count.Range.Present("spot_from") {
		c.errorAt(count.Range.At("spot_from"), "remove count.range.spot_from, or run on x86_64", "Fargate Spot is not available on ARM")
	}
}

// checkFIFOQueues ports FIFOAdvanceConfig.validate for the worker's queue
// and each topic's own queue.
func checkFIFOQueues(c *context) {
	if c.ecs == nil {
		return
	}
	check := func(q manifest.Queue, where string) {
		fifo := q.FIFO
		if !fifo.IsMap {
			return
		}
		if fifo.Present("high_throughput") {
			for _, other := range []string{"deduplication_scope", "throughput_limit"} {
				if fifo.Present(other) {
					c.errorAt(fifo.KeyAt(other), "keep high_throughput, or set deduplication_scope and throughput_limit yourself",
						"%s.fifo: high_throughput cannot be combined with %s (it sets both)", where, other)
				}
			}
			return
		}
		if deref(fifo.Map.DedupScope) == "queue" && deref(fifo.Map.Throughput) == "perMessageGroupId" {
			c.errorAt(fifo.At("throughput_limit"), "set throughput_limit to perQueue", "%s.fifo: throughput_limit must be perQueue when deduplication_scope is queue", where)
		}
	}
	check(c.ecs.Subscribe.Queue, "subscribe.queue")
	for i, t := range c.ecs.Subscribe.Topics {
		if t.Queue.IsMap {
			check(t.Queue.Map, fmt.Sprintf("subscribe.topics[%d].queue", i))
		}
	}
}

// checkSubscribedTopics: Copilot's deploy fails when a subscribed topic does
// not exist. When the publishing service is in this workspace, check it
// publishes the topic.
func checkSubscribedTopics(c *context) {
	if c.ecs == nil {
		return
	}
	for i, t := range c.ecs.Subscribe.Topics {
		if t.Name == "" || t.Service == "" {
			continue
		}
		pub := c.ws.Workload(t.Service)
		if pub == nil {
			if c.ws.App != "" {
				c.reportAt(t.At("service"), diag.Warning, fmt.Sprintf("subscribe.topics[%d]: service %q is not in this workspace; the deploy fails unless it publishes topic %q", i, t.Service, t.Name),
					"check the service name")
			}
			continue
		}
		doc, _ := pub.Resolve(c.env, workspace.Vars{App: c.ws.App, Env: c.env, Lookup: func(string) (string, bool) { return "", false }})
		if doc == nil {
			continue // the publisher's own parse error is reported
		}
		w, err := manifest.DecodeWorkload(pub.Kind, doc)
		if err != nil {
			continue // and so is a publisher that does not decode
		}
		if !slices.ContainsFunc(w.Topics(), func(p manifest.Topic) bool { return p.Name == t.Name }) {
			c.errorAt(t.At("name"), fmt.Sprintf("add `- name: %s` under publish.topics in %s, or fix the topic name", t.Name, pub.Path),
				"subscribe.topics[%d]: service %q does not publish a topic named %q", i, t.Service, t.Name)
		}
	}
}

// --- Scheduled Job -------------------------------------------------------

var (
	awsSchedule = regexp.MustCompile(`((?:rate|cron)\(.*\)|none)`)
	rateExpr    = regexp.MustCompile(`^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$`)
	presets     = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
	months      = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	weekdays    = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

// checkSchedule catches the schedules Copilot rejects when it converts
// on.schedule to an EventBridge expression, and malformed rate()/cron()
// expressions EventBridge rejects at deploy time.
func checkSchedule(c *context) {
	if c.ecs == nil || !c.ecs.On.IsText("schedule") {
		return
	}
	at := c.ecs.On.At("schedule")
	s := strings.TrimSpace(c.ecs.On.Schedule)
	fix := "use a cron expression such as `0 9 * * 1-5`, a preset (@daily, @hourly, ...), `@every 30m`, rate(5 minutes), cron(0 9 ? * MON-FRI *) or none"
	if awsSchedule.MatchString(s) {
		if msg := checkAWSSchedule(s); msg != "" {
			c.errorAt(at, fix, "on.schedule %q: %s", s, msg)
		}
		return
	}
	var msg string
	switch {
	case strings.HasPrefix(s, "@every "):
		d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(s, "@every ")))
		switch {
		case err != nil:
			msg = "the interval is not a duration such as 30m or 1h30m"
		case d < time.Minute:
			msg = "the interval must be at least 1 minute"
		case d%time.Minute != 0:
			msg = "the interval must be a whole number of minutes"
		}
	case strings.HasPrefix(s, "@"):
		if !slices.Contains(presets, s) {
			msg = "unknown preset"
			if sug := suggest(s, presets); sug != "" {
				fix = fmt.Sprintf("did you mean %q?", sug)
			}
		}
	default:
		msg = checkCron(s)
	}
	if msg != "" {
		c.errorAt(at, fix, "on.schedule %q is not a valid schedule: %s", s, msg)
	}
}

func checkAWSSchedule(s string) string {
	switch {
	case s == "none":
		return ""
	case strings.HasPrefix(s, "rate("):
		m := rateExpr.FindStringSubmatch(s)
		if m == nil {
			return "a rate is written rate(<number> <minute(s)|hour(s)|day(s)>)"
		}
		v, _ := strconv.Atoi(m[1])
		switch {
		case v < 1:
			return "the rate must be at least 1"
		case v == 1 && strings.HasSuffix(m[2], "s"):
			return fmt.Sprintf("EventBridge wants the singular unit for 1: rate(1 %s)", strings.TrimSuffix(m[2], "s"))
		case v > 1 && !strings.HasSuffix(m[2], "s"):
			return fmt.Sprintf("EventBridge wants the plural unit for %d: rate(%d %ss)", v, v, m[2])
		}
	case strings.HasPrefix(s, "cron(") && strings.HasSuffix(s, ")"):
		fields := strings.Fields(s[len("cron(") : len(s)-1])
		if len(fields) != 6 {
			return fmt.Sprintf("an EventBridge cron has 6 fields (minutes hours day-of-month month day-of-week year), not %d", len(fields))
		}
		if fields[2] != "?" && fields[4] != "?" {
			return "EventBridge needs ? in day-of-month or day-of-week"
		}
	default:
		return "write rate(...) or cron(...) on its own"
	}
	return ""
}

// checkCron validates a standard five-field cron expression the way
// Copilot does before converting it: each field in range, and not both
// day-of-month and day-of-week restricted.
func checkCron(s string) string {
	fields := strings.Fields(s)
	if len(fields) > 0 && (strings.HasPrefix(fields[0], "CRON_TZ=") || strings.HasPrefix(fields[0], "TZ=")) {
		fields = fields[1:]
	}
	if len(fields) != 5 {
		return fmt.Sprintf("a cron expression has 5 fields (minute hour day-of-month month day-of-week), not %d", len(fields))
	}
	specs := []struct {
		name    string
		lo, hi  int
		names   []string
		nameLow int
	}{
		{"minute", 0, 59, nil, 0}, {"hour", 0, 23, nil, 0}, {"day-of-month", 1, 31, nil, 0},
		{"month", 1, 12, months, 1}, {"day-of-week", 0, 6, weekdays, 0},
	}
	for i, f := range fields {
		sp := specs[i]
		if msg := cronField(f, sp.lo, sp.hi, sp.names, sp.nameLow); msg != "" {
			return fmt.Sprintf("%s field %q: %s", sp.name, f, msg)
		}
	}
	restricted := func(f string) bool { return !strings.ContainsAny(f, "*?") }
	if restricted(fields[2]) && restricted(fields[4]) {
		return "day-of-month and day-of-week cannot both be set; EventBridge allows only one"
	}
	return ""
}

func cronField(f string, lo, hi int, names []string, nameLow int) string {
	value := func(s string) (int, bool) {
		if i := slices.Index(names, strings.ToUpper(s)); i >= 0 {
			return i + nameLow, true
		}
		v, err := strconv.Atoi(s)
		return v, err == nil
	}
	for _, part := range strings.Split(f, ",") {
		rng, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			if v, err := strconv.Atoi(step); err != nil || v < 1 {
				return "the step after / must be a positive number"
			}
		}
		if rng == "*" || rng == "?" {
			continue
		}
		a, b, isRange := strings.Cut(rng, "-")
		from, ok := value(a)
		if !ok {
			return fmt.Sprintf("%q is not a number", a)
		}
		to := from
		if isRange {
			if to, ok = value(b); !ok {
				return fmt.Sprintf("%q is not a number", b)
			}
		}
		if from < lo || to > hi || from > to {
			return fmt.Sprintf("values must be from %d to %d", lo, hi)
		}
	}
	return ""
}

// checkJobTimeout mirrors Copilot's conversion of `timeout` to seconds.
func checkJobTimeout(c *context) {
	if c.ecs == nil || c.ecs.Timeout == nil {
		return
	}
	timeout := *c.ecs.Timeout
	d, err := time.ParseDuration(timeout)
	if err != nil {
		return // the schema reports the format
	}
	switch at := c.ecs.At("timeout"); {
	case d < time.Second:
		c.errorAt(at, "use at least 1s", "timeout %s is shorter than 1 second", timeout)
	case d%time.Second != 0:
		c.errorAt(at, "round the timeout to whole seconds", "timeout %s must be a whole number of seconds", timeout)
	}
}

// --- Static Site, App Runner -----------------------------------------------

// certRegion returns the region field of an ARN, and whether it parsed.
func certRegion(s string) (string, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", false
	}
	return parts[3], true
}

func checkStaticSiteCertificate(c *context) {
	if c.static == nil || c.static.HTTP.Certificate == nil {
		return
	}
	h := c.static.HTTP
	cert := *h.Certificate
	if !h.Present("alias") {
		c.errorAt(h.At("certificate"), "add http.alias with the domain the certificate covers", "http.certificate needs http.alias")
	}
	if region, ok := certRegion(cert); ok && region != "us-east-1" {
		c.errorAt(h.At("certificate"), "request or import the certificate in us-east-1", "CloudFront only uses certificates from us-east-1, but this one is in %s", region)
	}
}

var vpcEndpointID = regexp.MustCompile(`^vpce-[0-9a-f]{8,17}$`)

func checkAppRunnerEndpoint(c *context) {
	if c.rdws == nil {
		return
	}
	private := c.rdws.HTTP.Private
	if ep := private.Endpoint; ep != nil && !vpcEndpointID.MatchString(*ep) {
		c.errorAt(private.At("endpoint"), "use the ID of an App Runner interface VPC endpoint, like vpce-0123456789abcdef0",
			"http.private.endpoint %q is not a VPC endpoint ID", *ep)
	}
}

var appRunnerRegistry = regexp.MustCompile(`^(\d{12}\.dkr\.ecr\.[^./]+\.amazonaws\.com(\.cn)?/|public\.ecr\.aws/)`)

// checkAppRunnerImage: App Runner pulls only from ECR and ECR Public.
func checkAppRunnerImage(c *context) {
	if c.rdws == nil || !c.rdws.Image.Present("location") {
		return
	}
	loc := c.rdws.Image.Location
	if strings.Contains(loc, "${") {
		return
	}
	if !appRunnerRegistry.MatchString(loc) {
		c.errorAt(c.rdws.Image.At("location"), "push the image to Amazon ECR (or use public.ecr.aws), or use image.build",
			"App Runner only pulls images from Amazon ECR or ECR Public, not %q", loc)
	}
}

// --- limits AWS enforces on health checks and queues ----------------------

// The limits AWS enforces are checked on the typed values; a duration
// counts only when written as a string (the schema reports other shapes),
// and messages quote it as written.

// duration parses a duration string of the model, nil when it does not
// parse (the schema reports it).
func duration(s *string) *time.Duration {
	if s == nil {
		return nil
	}
	d, err := time.ParseDuration(*s)
	if err != nil {
		return nil
	}
	return &d
}

// durationIn reports s's duration under key outside lo to hi. where names
// s for the message, service the AWS service that enforces the limit.
func (c *context) durationIn(s manifest.Section, key string, d *time.Duration, where, service string, lo, hi time.Duration) {
	if d == nil || !s.IsText(key) || *d >= lo && *d <= hi {
		return
	}
	c.errorAt(s.At(key), fmt.Sprintf("use a value from %s to %s", shortDuration(lo), shortDuration(hi)),
		"%s.%s is %s; %s allows %s to %s", where, key, s.Text(key), service, shortDuration(lo), shortDuration(hi))
}

// intIn reports s's integer under key outside lo to hi.
func intIn[T int | int64](c *context, s manifest.Section, key string, v *T, where, service string, lo, hi T) {
	if v == nil || *v >= lo && *v <= hi {
		return
	}
	c.errorAt(s.At(key), fmt.Sprintf("use a value from %d to %d", lo, hi),
		"%s.%s is %d; %s allows %d to %d", where, key, *v, service, lo, hi)
}

// shortDuration prints 5m0s as 5m and 0s as 0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// checkContainerHealthChecks: ECS container health check limits
// (HealthCheck in RegisterTaskDefinition).
func checkContainerHealthChecks(c *context) {
	if c.ecs == nil {
		return
	}
	check := func(hc manifest.ContainerHealthCheck, where string) {
		if !hc.IsMapping() {
			return
		}
		c.durationIn(hc.Section, "interval", duration(hc.Interval), where, "ECS", 5*time.Second, 300*time.Second)
		c.durationIn(hc.Section, "timeout", duration(hc.Timeout), where, "ECS", 2*time.Second, 60*time.Second)
		c.durationIn(hc.Section, "start_period", duration(hc.StartPeriod), where, "ECS", 0, 300*time.Second)
		intIn(c, hc.Section, "retries", hc.Retries, where, "ECS", 1, 10)
	}
	check(c.ecs.Image.HealthCheck, "image.healthcheck")
	for _, name := range c.sidecars() {
		check(c.ecs.Sidecars[name].HealthCheck, "sidecars."+name+".healthcheck")
	}
}

// Elastic Load Balancing target group health check limits.
const elb = "Elastic Load Balancing"

func (c *context) lbHealthCheck(s manifest.Section, healthy, unhealthy *int64, interval, timeout *time.Duration, where string) {
	if !s.IsMapping() {
		return
	}
	intIn(c, s, "healthy_threshold", healthy, where, elb, 2, 10)
	intIn(c, s, "unhealthy_threshold", unhealthy, where, elb, 2, 10)
	c.durationIn(s, "interval", interval, where, elb, 5*time.Second, 300*time.Second)
	c.durationIn(s, "timeout", timeout, where, elb, 2*time.Second, 120*time.Second)
}

func checkLBHealthChecks(c *context) {
	for i, r := range c.httpRules() {
		hc := r.HealthCheck
		where := ruleName(i, "http", "additional_rules") + ".healthcheck"
		c.lbHealthCheck(hc.Section, hc.HealthyThreshold, hc.UnhealthyThreshold, hc.Interval, hc.Timeout, where)
		if hc.Interval != nil && hc.Timeout != nil && hc.IsText("interval") && hc.IsText("timeout") && *hc.Timeout >= *hc.Interval {
			c.errorAt(hc.At("timeout"), "make the timeout shorter than the interval",
				"%s.timeout (%s) must be shorter than its interval (%s) for an Application Load Balancer", where, hc.Text("timeout"), hc.Text("interval"))
		}
	}
	for i, l := range c.nlbListeners() {
		hc := l.HealthCheck
		c.lbHealthCheck(hc.Section, hc.HealthyThreshold, hc.UnhealthyThreshold, duration(hc.Interval), duration(hc.Timeout),
			ruleName(i, "nlb", "additional_listeners")+".healthcheck")
	}
}

func checkDeregistrationDelay(c *context) {
	for i, r := range c.httpRules() {
		c.durationIn(r.Section, "deregistration_delay", r.DeregistrationDelay, ruleName(i, "http", "additional_rules"), elb, 0, time.Hour)
	}
	for i, l := range c.nlbListeners() {
		c.durationIn(l.Section, "deregistration_delay", duration(l.DeregistrationDelay), ruleName(i, "nlb", "additional_listeners"), elb, 0, time.Hour)
	}
}

// checkQueueRanges: SQS queue attribute limits.
func checkQueueRanges(c *context) {
	if c.ecs == nil {
		return
	}
	check := func(q manifest.Queue, where string) {
		if !q.IsMapping() {
			return
		}
		c.durationIn(q.Section, "retention", duration(q.Retention), where, "SQS", time.Minute, 14*24*time.Hour)
		c.durationIn(q.Section, "delay", duration(q.Delay), where, "SQS", 0, 15*time.Minute)
		c.durationIn(q.Section, "timeout", duration(q.Timeout), where, "SQS", 0, 12*time.Hour)
		if dl := q.Sub("dead_letter"); dl.IsMapping() {
			intIn(c, dl, "tries", q.DeadLetter.Tries, where+".dead_letter", "SQS", 1, 1000)
		}
	}
	check(c.ecs.Subscribe.Queue, "subscribe.queue")
	for i, t := range c.ecs.Subscribe.Topics {
		if t.Queue.IsMap {
			check(t.Queue.Map, fmt.Sprintf("subscribe.topics[%d].queue", i))
		}
	}
}
