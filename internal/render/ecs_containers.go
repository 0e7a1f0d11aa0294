package render

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// The containers of an ECS task besides the main one, and the main
// container's optional settings, as Copilot's workload-container, sidecars
// and logconfig partials write them: the container health check, sidecars,
// the FireLens log router, labels, container dependencies and registry
// credentials.

// firelensContainer is the name Copilot gives the FireLens log router.
const firelensContainer = "firelens_log_router"

// defaultFluentBitImage is the log router's image when logging.image is unset.
const defaultFluentBitImage = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"

// ecsTask is the parsed, validated part of an ECS manifest that shapes the
// task definition beyond the main container's basics.
type ecsTask struct {
	health      *yaml.Node // main container HealthCheck, or nil
	credentials string     // main container's registry credentials secret
	labels      map[string]string
	dependsOn   map[string]string // container -> upper-case condition
	sidecars    []sidecarSpec     // sorted by name
	logging     *manifest.Logging // nil without a log router
	retention   int               // LogRetention
	storage     storageSpec
	overrides   []overrideRule
	rollback    *rollbackAlarms
	tracing     bool   // the X-Ray collector sidecar
	collector   string // its image
	connect     *serviceConnect
	nlb         *nlbSpec
	envFiles    []envFileRef
}

// SidecarImageKey is the key of Options.Images for a sidecar built from a
// Dockerfile ("/" cannot be in a workload name).
func SidecarImageKey(workload, sidecar string) string { return workload + "/" + sidecar }

// SidecarPlaceholderPrefix starts the placeholder image of every unbuilt
// sidecar of a workload, so a deploy can refuse a template holding one.
func SidecarPlaceholderPrefix(workload string) string {
	return "autopilot-placeholder/" + SidecarImageKey(workload, "")
}

// sidecarImage is the built image of a sidecar with image.build, or a
// placeholder before a build (plan refuses to deploy one).
func sidecarImage(in ecsInput, sidecar string) string {
	key := SidecarImageKey(in.name, sidecar)
	if uri := in.opts.Images[key]; uri != "" {
		return uri
	}
	return ImagePlaceholder(key)
}

// healthCheckNode decodes a container health check and fills Copilot's
// defaults (CMD-SHELL curl of localhost, 10s, 2 retries, 5s, 0s); nil when
// the manifest sets none.
func healthCheckNode(hc manifest.ContainerHealthCheck, where string) (*yaml.Node, error) {
	line := hc.Pos.Line
	if hc.Command == nil && hc.Interval == nil && hc.Retries == nil && hc.Timeout == nil && hc.StartPeriod == nil {
		return nil, nil
	}
	command := hc.Command
	if command == nil {
		command = []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}
	}
	seconds := func(s *string, key string, def, lo, hi int) (int, error) {
		if s == nil {
			return def, nil
		}
		d, err := time.ParseDuration(*s)
		if err != nil {
			return 0, fmt.Errorf("line %d: %s.%s %q is not a duration such as 10s", line, where, key, *s)
		}
		v := int(d.Seconds())
		if v < lo || v > hi {
			return 0, fmt.Errorf("line %d: %s.%s %s must be between %ds and %ds (ECS's limits)", line, where, key, *s, lo, hi)
		}
		return v, nil
	}
	interval, err := seconds(hc.Interval, "interval", 10, 5, 300)
	if err != nil {
		return nil, err
	}
	timeout, err := seconds(hc.Timeout, "timeout", 5, 2, 60)
	if err != nil {
		return nil, err
	}
	start, err := seconds(hc.StartPeriod, "start_period", 0, 0, 300)
	if err != nil {
		return nil, err
	}
	retries := 2
	if hc.Retries != nil {
		retries = *hc.Retries
		if retries < 1 || retries > 10 {
			return nil, fmt.Errorf("line %d: %s.retries %d must be between 1 and 10 (ECS's limits)", line, where, retries)
		}
	}
	cmd := fn("")
	for _, c := range command {
		cmd.Content = append(cmd.Content, str(c))
	}
	return kv("Command", cmd, "Interval", interval, "Retries", retries, "StartPeriod", start, "Timeout", timeout), nil
}

// sidecarSpec is one entry of `sidecars` and what render derives from it.
type sidecarSpec struct {
	manifest.Sidecar
	name, image    string
	port           int // 0 without a port
	protocol       string
	health         *yaml.Node
	upperDependsOn map[string]string
}

// parsePort reads a sidecar port: "8080" or "8080/tcp" (or udp).
func parsePort(s string) (int, string, error) {
	p, proto, hasProto := strings.Cut(s, "/")
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, "", fmt.Errorf("port %q must be a number from 1 to 65535, optionally followed by /tcp or /udp", s)
	}
	proto = strings.ToLower(proto)
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return 0, "", fmt.Errorf("port %q: protocol must be tcp or udp", s)
	}
	return int(n), proto, nil
}

var dependsOnConditions = []string{"start", "complete", "success", "healthy"}

// parseTask decodes and validates the container-level settings of an ECS
// manifest. fail reports a finding at a node (nil for the manifest).
func parseTask(in ecsInput, m *ecsManifest, fail failFunc) {
	t := &m.task
	t.retention = ecsLogRetention
	t.labels = m.Image.Labels
	hc, err := healthCheckNode(m.Image.HealthCheck, "image.healthcheck")
	if err != nil {
		fail(m.Image.HealthCheck.Pos, ruleManifest, err.Error(), "")
	}
	t.health = hc
	if m.Image.Credentials != nil {
		if *m.Image.Credentials == "" {
			fail(m.Image.At("credentials"), ruleManifest, "image.credentials must be the ARN of a Secrets Manager secret", "")
		}
		t.credentials = *m.Image.Credentials
	}

	// Plan and deploy name every container image by digest.
	pin := func(at manifest.Pos, what, ref string) string {
		p, err := pinned(in.opts, ref)
		if err != nil {
			fail(at, ruleImage, fmt.Sprintf("%s %q: %v", what, ref, err), pinFix)
			return ref
		}
		return p
	}
	if l := m.Logging; l.Set {
		if l.Retention != nil {
			t.retention = *l.Retention
		}
		if l.Router() {
			image, at, what := defaultFluentBitImage, l.Pos, "the log router image"
			if l.Image != nil {
				image, at, what = *l.Image, l.At("image"), "logging.image"
			}
			image = pin(at, what, image)
			l.Image = &image
			t.logging = &l
		}
	}

	names := map[string]bool{in.name: true}
	if t.logging != nil {
		names[firelensContainer] = true
	}
	for _, name := range sortedKeys(m.Sidecars) {
		s := sidecarSpec{Sidecar: m.Sidecars[name], name: name}
		at := s.Pos
		switch {
		case name == in.name || name == firelensContainer:
			fail(at, ruleManifest, fmt.Sprintf("sidecar name %q is taken by the main container or the log router", name), "rename the sidecar")
			continue
		}
		switch {
		case s.Image.Location != "":
			s.image = pin(s.At("image"), "sidecar "+name+" image", s.Image.Location)
		case s.Image.Build:
			// Built images are named by digest already; a placeholder is
			// refused by deploy.
			s.image = sidecarImage(in, name)
		default:
			fail(at, ruleManifest, fmt.Sprintf("sidecar %q needs an image", name), "set sidecars."+name+".image (a URI, location or build)")
		}
		if s.Port != nil {
			p, proto, err := parsePort(*s.Port)
			if err != nil {
				fail(at, ruleManifest, fmt.Sprintf("sidecar %q: %v", name, err), "")
			}
			s.port, s.protocol = p, proto
		}
		if s.health, err = healthCheckNode(s.HealthCheck, "sidecars."+name+".healthcheck"); err != nil {
			fail(at, ruleManifest, err.Error(), "")
		}
		names[name] = true
		t.sidecars = append(t.sidecars, s)
	}
	readEnvFiles(in, m, fail)

	// Container dependencies: each names a container of the task with one
	// of ECS's conditions; "healthy" needs a health check on that container.
	healthy := map[string]bool{in.name: t.health != nil}
	essential := map[string]bool{in.name: true, firelensContainer: true}
	for _, s := range t.sidecars {
		healthy[s.name] = s.health != nil
		essential[s.name] = s.Essential == nil || *s.Essential
	}
	checkDeps := func(owner string, deps map[string]string, at manifest.Pos) map[string]string {
		if len(deps) == 0 {
			return nil
		}
		out := map[string]string{}
		for _, dep := range sortedKeys(deps) {
			cond := strings.ToLower(deps[dep])
			switch {
			case !names[dep]:
				fail(at, ruleManifest, fmt.Sprintf("%s depends on container %q, which is not in the task", owner, dep), "name the main container, a sidecar or "+firelensContainer)
			case dep == owner:
				fail(at, ruleManifest, fmt.Sprintf("%s cannot depend on itself", owner), "")
			case !slices.Contains(dependsOnConditions, cond):
				fail(at, ruleManifest, fmt.Sprintf("%s depends on %s with %q, which is not one of %s", owner, dep, deps[dep], strings.Join(dependsOnConditions, ", ")), "")
			case cond == "healthy" && !healthy[dep]:
				fail(at, ruleManifest, fmt.Sprintf("%s waits for %s to be healthy, but %s has no healthcheck", owner, dep, dep), "add a healthcheck to "+dep+", or depend on start")
			case (cond == "complete" || cond == "success") && essential[dep]:
				fail(at, ruleManifest, fmt.Sprintf("%s waits for %s to %s, but %s is essential: its exit stops the task", owner, dep, cond, dep), "set essential: false on "+dep+", or depend on start")
			default:
				out[dep] = strings.ToUpper(cond)
			}
		}
		return out
	}
	t.dependsOn = checkDeps(in.name, m.Image.DependsOn, m.Image.At("depends_on"))
	for i := range t.sidecars {
		s := &t.sidecars[i]
		s.upperDependsOn = checkDeps(s.name, s.DependsOn, s.At("depends_on"))
	}

	if cycle := dependencyCycle(in.name, t); cycle != "" {
		fail(m.At("sidecars"), ruleManifest, "container dependencies form a cycle: "+cycle, "remove one of the depends_on entries")
	}

	parseStorage(in, m, fail)
	t.overrides = parseOverrides(m.TaskdefOverrides, fail)
	t.rollback = parseRollbackAlarms(in, m.Deployment.RollbackAlarms, fail)
	t.tracing = parseTracing(in, m.Observability, fail)
	if t.tracing {
		t.collector = pin(m.Observability.Pos, "the X-Ray collector image", otelCollectorImage)
	}
	t.connect = parseConnect(in, m.Network.Connect, fail)
	t.nlb = parseNLB(in, m.NLB, fail)
	for _, s := range t.sidecars {
		for _, mp := range s.MountPoints {
			at := s.At("mount_points")
			switch {
			case mp.SourceVolume == nil || mp.Path == nil:
				fail(at, ruleManifest, fmt.Sprintf("sidecar %q: every mount point needs source_volume and path", s.name), "")
			case !t.storage.hasVolume(*mp.SourceVolume):
				fail(at, ruleManifest, fmt.Sprintf("sidecar %q mounts volume %q, which storage.volumes does not define", s.name, *mp.SourceVolume), "add it under storage.volumes")
			}
		}
	}
}

// dependencyCycle returns the first cycle of the task's container
// dependencies ("a -> b -> a"), or "": ECS rejects a task definition with one.
func dependencyCycle(main string, t *ecsTask) string {
	deps := map[string]map[string]string{main: t.dependsOn}
	for _, s := range t.sidecars {
		deps[s.name] = s.upperDependsOn
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(string) string
	visit = func(c string) string {
		switch state[c] {
		case visiting:
			i := slices.Index(path, c)
			return strings.Join(append(slices.Clone(path[i:]), c), " -> ")
		case done:
			return ""
		}
		state[c] = visiting
		path = append(path, c)
		for _, d := range sortedKeys(deps[c]) {
			if cyc := visit(d); cyc != "" {
				return cyc
			}
		}
		path = path[:len(path)-1]
		state[c] = done
		return ""
	}
	for _, c := range sortedKeys(deps) {
		if cyc := visit(c); cyc != "" {
			return cyc
		}
	}
	return ""
}

// exposedPort is a port a container of the task exposes.
type exposedPort struct {
	container, protocol string
}

// containerPort is one port mapping of a container.
type containerPort struct {
	port     int
	protocol string
}

// taskPorts are the ports each container exposes, and the container and
// port the load balancer's main rule (and Service Connect) targets.
type taskPorts struct {
	byContainer map[string][]containerPort
	ruleTarget
	// additional are the targets of http.additional_rules, in order.
	additional []ruleTarget
}

// ruleTarget is the container and port one listener rule sends traffic to.
type ruleTarget struct {
	targetContainer string
	targetPort      int // -1 when the main container has no port
	// targetContainerHasNoPort: the rule's target_container names a sidecar
	// without a port and no target_port says where to send traffic.
	targetContainerHasNoPort bool
	// targetContainerIsUnknown: the rule's target_container is not in the task.
	targetContainerIsUnknown bool
}

// exposedPorts follows Copilot's ExposedPorts and RoutingRule.Target:
// sidecar ports, then each rule's target_port (for target_container, or the
// main container), then image.port; a rule targets target_container's
// own port when only the container is given, and the container exposing
// target_port when only the port is.
func exposedPorts(in ecsInput, m ecsManifest, httpEnabled bool) taskPorts {
	exposed := map[int]exposedPort{}
	definedBy := map[string]int{}
	known := map[string]bool{in.name: true}
	for _, s := range m.task.sidecars {
		known[s.name] = true
		if s.port == 0 {
			continue
		}
		exposed[s.port] = exposedPort{s.name, s.protocol}
		definedBy[s.name] = s.port
	}
	var rules []manifest.RoutingRule
	if httpEnabled {
		rules = append([]manifest.RoutingRule{m.HTTP.RoutingRule}, m.HTTP.AdditionalRules...)
	}
	for _, r := range rules {
		if r.TargetPort == nil {
			continue
		}
		if _, ok := exposed[int(*r.TargetPort)]; !ok {
			exposed[int(*r.TargetPort)] = exposedPort{cmp.Or(deref(r.TargetContainer), in.name), "tcp"}
		}
	}
	exposeNLBPorts(in, m.task.nlb, exposed)
	mainPort := -1
	if m.Image.Port != nil {
		mainPort = int(*m.Image.Port)
		if _, ok := exposed[mainPort]; !ok {
			exposed[mainPort] = exposedPort{in.name, "tcp"}
		}
		definedBy[in.name] = mainPort
	}
	nlbTargets(in, m.task.nlb, exposed, definedBy, known)
	tp := taskPorts{byContainer: map[string][]containerPort{}, ruleTarget: ruleTarget{targetContainer: in.name, targetPort: mainPort}}
	ports := make([]int, 0, len(exposed))
	for p := range exposed {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	for _, p := range ports {
		e := exposed[p]
		tp.byContainer[e.container] = append(tp.byContainer[e.container], containerPort{p, e.protocol})
	}
	target := func(r manifest.RoutingRule) ruleTarget {
		t := ruleTarget{targetContainer: in.name, targetPort: mainPort}
		switch {
		case r.TargetContainer == nil && r.TargetPort == nil:
		case r.TargetPort == nil:
			if *r.TargetContainer != in.name {
				t.targetContainer = *r.TargetContainer
				t.targetContainerIsUnknown = !known[*r.TargetContainer]
				p, ok := definedBy[*r.TargetContainer]
				t.targetContainerHasNoPort = !ok
				t.targetPort = p
			}
		case r.TargetContainer == nil:
			t.targetPort = int(*r.TargetPort)
			if e, ok := exposed[t.targetPort]; ok {
				t.targetContainer = e.container
			}
		default:
			t.targetContainer, t.targetPort = *r.TargetContainer, int(*r.TargetPort)
			t.targetContainerIsUnknown = !known[*r.TargetContainer]
		}
		return t
	}
	for i, r := range rules {
		if i == 0 {
			tp.ruleTarget = target(r)
			continue
		}
		tp.additional = append(tp.additional, target(r))
	}
	return tp
}

// portMappings is a container's PortMappings; the port Service Connect
// would serve is named "target", as Copilot names it.
func portMappings(tp taskPorts, container string, withTargetName bool) *yaml.Node {
	ports := tp.byContainer[container]
	if len(ports) == 0 {
		return nil
	}
	list := seq()
	for _, p := range ports {
		pm := kv("ContainerPort", p.port, "Protocol", p.protocol)
		if withTargetName && container == tp.targetContainer && p.port == tp.targetPort && p.protocol == "tcp" {
			set(pm, "Name", "target")
		}
		list.Content = append(list.Content, pm)
	}
	return list
}

// ecsVariables is an Environment list of the manifest's variables, sorted.
func ecsVariables(vars map[string]manifest.Variable) []*yaml.Node {
	var out []*yaml.Node
	for _, name := range sortedKeys(vars) {
		v := vars[name]
		if v.FromCFN != nil {
			out = append(out, kv("Name", name, "Value", importValue(str(*v.FromCFN))))
			continue
		}
		out = append(out, kv("Name", name, "Value", v.Value))
	}
	return out
}

func awslogsConfig() *yaml.Node {
	return kv("LogDriver", "awslogs", "Options", kv(
		"awslogs-region", ref("AWS::Region"), "awslogs-group", ref("LogGroup"), "awslogs-stream-prefix", "copilot"))
}

// mainLogConfiguration is awslogs, or awsfirelens to the log router.
func mainLogConfiguration(l *manifest.Logging) *yaml.Node {
	if l == nil {
		return awslogsConfig()
	}
	c := kv("LogDriver", "awsfirelens")
	if len(l.Destination) > 0 {
		opts := kv()
		for _, k := range sortedKeys(l.Destination) {
			set(opts, k, l.Destination[k])
		}
		set(c, "Options", opts)
	}
	if s := ecsSecrets(l.SecretOptions, nil); s != nil {
		set(c, "SecretOptions", s)
	}
	return c
}

// mainContainerExtras adds the main container's optional settings in
// Copilot's order, after its log configuration and command.
func mainContainerExtras(c *yaml.Node, t ecsTask) {
	if mps := mountPoints(t.storage); mps != nil {
		set(c, "MountPoints", mps)
	}
	if len(t.labels) > 0 {
		set(c, "DockerLabels", stringMap(t.labels))
	}
	if d := containerDependsOn(t.dependsOn); d != nil {
		set(c, "DependsOn", d)
	}
}

// mainContainerTail adds what Copilot writes after the port mappings.
func mainContainerTail(c *yaml.Node, t ecsTask) {
	if t.health != nil {
		set(c, "HealthCheck", deepCopy(t.health))
	}
	if t.storage.ReadonlyFS != nil {
		set(c, "ReadonlyRootFilesystem", *t.storage.ReadonlyFS)
	}
	if t.credentials != "" {
		set(c, "RepositoryCredentials", kv("CredentialsParameter", t.credentials))
	}
}

func stringMap(m map[string]string) *yaml.Node {
	out := kv()
	for _, k := range sortedKeys(m) {
		set(out, k, m[k])
	}
	return out
}

func containerDependsOn(deps map[string]string) *yaml.Node {
	if len(deps) == 0 {
		return nil
	}
	list := seq()
	for _, name := range sortedKeys(deps) {
		list.Content = append(list.Content, kv("Condition", deps[name], "ContainerName", name))
	}
	return list
}

// sidecarContainers are the log router, then the sidecars by name.
// common is the environment every container shares (Copilot's
// envvars-common); each container gets a copy.
func sidecarContainers(t ecsTask, tp taskPorts, common []*yaml.Node, serviceConnectNames bool) []*yaml.Node {
	env := func(extra []*yaml.Node) *yaml.Node {
		list := seq()
		for _, n := range common {
			list.Content = append(list.Content, deepCopy(n))
		}
		list.Content = append(list.Content, extra...)
		return list
	}
	envFile := func(cond, param string) *yaml.Node {
		return seq(ifFn(cond, kv("Type", "s3", "Value", ref(param)), noValue()))
	}
	var out []*yaml.Node
	if l := t.logging; l != nil {
		c := kv("Name", firelensContainer, "Image", *l.Image,
			"Environment", env(ecsVariables(l.Variables)),
			"EnvironmentFiles", envFile("HasLoggingEnvFile", "LoggingEnvFileARN"))
		if s := ecsSecrets(l.Secrets, nil); s != nil {
			set(c, "Secrets", s)
		}
		// ECS reads FireLens options as strings; Copilot writes the flag
		// bare, which CloudFormation turns into the same string.
		metadata := "true"
		if l.EnableMetadata != nil {
			metadata = strconv.FormatBool(*l.EnableMetadata)
		}
		opts := kv("enable-ecs-log-metadata", metadata)
		if l.ConfigFile != nil {
			set(opts, "config-file-type", "file")
			set(opts, "config-file-value", *l.ConfigFile)
		}
		set(c, "FirelensConfiguration", kv("Type", "fluentbit", "Options", opts))
		set(c, "LogConfiguration", awslogsConfig())
		out = append(out, c)
	}
	if t.tracing {
		out = append(out, xrayCollector(t.collector))
	}
	for _, s := range t.sidecars {
		c := kv("Name", s.name, "Image", s.image)
		if s.Essential != nil {
			set(c, "Essential", *s.Essential)
		}
		if len(s.EntryPoint) > 0 {
			set(c, "EntryPoint", val([]string(s.EntryPoint)))
		}
		if len(s.Command) > 0 {
			set(c, "Command", val([]string(s.Command)))
		}
		if pm := portMappings(tp, s.name, serviceConnectNames); pm != nil {
			set(c, "PortMappings", pm)
		}
		if s.health != nil {
			set(c, "HealthCheck", deepCopy(s.health))
		}
		vars := ecsVariables(s.Variables)
		if mp := sidecarMountPointsEnv(s.MountPoints); mp != nil {
			vars = append(vars, mp)
		}
		set(c, "Environment", env(vars))
		set(c, "EnvironmentFiles", envFile("HasEnvFileFor"+logicalIDSafe(s.name), "EnvFileARNFor"+logicalIDSafe(s.name)))
		if sec := ecsSecrets(s.Secrets, nil); sec != nil {
			set(c, "Secrets", sec)
		}
		set(c, "LogConfiguration", awslogsConfig())
		if len(s.Labels) > 0 {
			set(c, "DockerLabels", stringMap(s.Labels))
		}
		if d := containerDependsOn(s.upperDependsOn); d != nil {
			set(c, "DependsOn", d)
		}
		if s.CredsParam != nil {
			set(c, "RepositoryCredentials", kv("CredentialsParameter", *s.CredsParam))
		}
		if len(s.MountPoints) > 0 {
			mps := seq()
			for _, mp := range s.MountPoints {
				mps.Content = append(mps.Content, kv("SourceVolume", *mp.SourceVolume, "ReadOnly", mp.ReadOnly == nil || *mp.ReadOnly, "ContainerPath", *mp.Path))
			}
			set(c, "MountPoints", mps)
		}
		out = append(out, c)
	}
	return out
}

// taskParams declares the env-file parameters and conditions of the log
// router and the sidecars, and sets their values: "" (env files are not
// uploaded by autopilot yet).
func taskParams(t ecsTask, decl, conditions *yaml.Node, values map[string]string) {
	add := func(param, cond, what string) {
		set(decl, param, kv("Type", "String", "Description", "URL of the environment file for the "+what+".", "Default", ""))
		if conditions != nil {
			set(conditions, cond, not(equals(ref(param), "")))
		}
		values[param] = ""
	}
	if t.logging != nil {
		add("LoggingEnvFileARN", "HasLoggingEnvFile", "logging sidecar")
	}
	for _, s := range t.sidecars {
		id := logicalIDSafe(s.name)
		add("EnvFileARNFor"+id, "HasEnvFileFor"+id, s.name+" sidecar")
	}
	values["LogRetention"] = strconv.Itoa(t.retention)
	envFileParams(t, values)
}

// envFilePolicy is the execution role's conditional permission to read one
// container's env file.
func envFilePolicy(cond, param, suffix string) *yaml.Node {
	bucket := join("", seq("arn:", ref("AWS::Partition"), ":s3:::",
		fn("!Select", 0, fn("!Split", "/", fn("!Select", 5, fn("!Split", ":", ref(param)))))))
	return ifFn(cond,
		kv("PolicyName", join("", fn("", ref("AppName"), "-", ref("EnvName"), "-", ref("WorkloadName"), suffix)),
			"PolicyDocument", policyDoc(
				kv("Effect", "Allow", "Action", seq("s3:GetObject"), "Resource", seq(ref(param))),
				kv("Effect", "Allow", "Action", seq("s3:GetBucketLocation"), "Resource", seq(bucket)),
			)),
		noValue())
}

// hasRouterOrSidecars is true when the task has more than the main container.
func (t ecsTask) hasRouterOrSidecars() bool { return t.logging != nil || len(t.sidecars) > 0 }

// servesTarget says whether a workload type names its Service Connect
// port "target" (services with a port; not workers or jobs).
func servesTarget(k workspace.Kind) bool {
	return k == workspace.LoadBalancedWebService || k == workspace.BackendService
}
