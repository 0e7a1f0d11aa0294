package lint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// A rule checks what JSON Schema cannot say: a cross-field constraint from
// Copilot's validate.go / validate_env.go, or a limit AWS enforces at deploy
// time that Copilot never checked. Each has a stable id for ignore lists.
type rule struct {
	id    string
	kinds []workspace.Kind // nil: every kind
	check func(c *context)
}

// context is what a rule sees: one resolved manifest for one environment,
// as a node and, when it decodes, as the typed model render reads too.
type context struct {
	ws  *workspace.Workspace
	m   *workspace.Manifest
	doc *yaml.Node
	// workload is the decoded workload (Lint decodes it once per
	// environment, for the rules and render.Check).
	workload *manifest.Workload
	// The model of the manifest: one of ecs, rdws, static and envm is set,
	// by kind; none when it does not decode at all (the schema says why).
	ecs    *manifest.ECSWorkload
	rdws   *manifest.RequestDrivenWebService
	static *manifest.StaticSite
	envm   *manifest.Environment
	env    string
	rule   string
	out    diag.List
}

// decode fills the typed model of the context's manifest. A workload whose
// values did not all fit keeps the rest of its model (the schema reports
// those values).
func (c *context) decode() {
	if c.m.Kind == workspace.Environment {
		c.envm, _ = manifest.DecodeEnvironment(c.doc)
		return
	}
	if w := c.workload; w != nil {
		c.ecs, c.rdws, c.static = w.ECS, w.RDWS, w.Static
	}
}

// top is the Section of the whole workload manifest; ok is false when it
// did not decode.
func (c *context) top() (s manifest.Section, ok bool) {
	switch {
	case c.ecs != nil:
		return c.ecs.Section, true
	case c.rdws != nil:
		return c.rdws.Section, true
	case c.static != nil:
		return c.static.Section, true
	}
	return s, false
}

// at is the position of the value under key in s, or of the manifest when
// the key is absent or null.
func (c *context) at(s manifest.Section, key string) manifest.Pos {
	if s.Present(key) {
		return s.At(key)
	}
	top, _ := c.top()
	return top.Pos
}

// reportAt reports a finding at a position of the model.
func (c *context) reportAt(at manifest.Pos, sev diag.Severity, msg, fix string) {
	c.out = append(c.out, diag.Diagnostic{File: c.m.Path, Line: at.Line, Column: at.Column, Severity: sev, Rule: c.rule, Message: msg, Fix: fix})
}

func (c *context) report(n *yaml.Node, sev diag.Severity, msg, fix string) {
	d := diag.Diagnostic{File: c.m.Path, Severity: sev, Rule: c.rule, Message: msg, Fix: fix}
	if n == nil {
		n = c.doc
	}
	d.Line, d.Column = n.Line, n.Column
	c.out = append(c.out, d)
}

// errorAt reports an error at a position of the model.
func (c *context) errorAt(at manifest.Pos, fix, format string, args ...any) {
	c.reportAt(at, diag.Error, fmt.Sprintf(format, args...), fix)
}

// get walks a path of mapping keys; absent and null values are nil.
var get = workspace.Lookup

// stackName is what Copilot names a workload's stack.
func (c *context) stackName() string {
	return c.ws.App + "-" + c.env + "-" + c.m.Name
}

var rules []rule

func register(r rule) { rules = append(rules, r) }

func runRules(c *context) diag.List {
	if c.doc == nil {
		return nil
	}
	c.decode()
	for _, r := range rules {
		if r.kinds != nil && !slices.Contains(r.kinds, c.m.Kind) {
			continue
		}
		c.rule = r.id
		r.check(c)
	}
	return c.out
}

var (
	rdws     = []workspace.Kind{workspace.RequestDrivenWebService}
	ecsKinds = []workspace.Kind{workspace.LoadBalancedWebService, workspace.BackendService, workspace.WorkerService, workspace.ScheduledJob}
	envKind  = []workspace.Kind{workspace.Environment}
)

// App Runner's valid instance sizes (CPU units -> memory MiB).
var appRunnerSizes = map[int][]int{
	256:  {512, 1024},
	512:  {1024},
	1024: {2048, 3072, 4096},
	2048: {4096, 6144},
	4096: {8192, 10240, 12288},
}

// Fargate's valid task sizes (CPU units -> memory MiB).
var fargateSizes = func() map[int][]int {
	span := func(from, to, step int) []int {
		var s []int
		for m := from; m <= to; m += step {
			s = append(s, m)
		}
		return s
	}
	return map[int][]int{
		256:   {512, 1024, 2048},
		512:   span(1024, 4096, 1024),
		1024:  span(2048, 8192, 1024),
		2048:  span(4096, 16384, 1024),
		4096:  span(8192, 30720, 1024),
		8192:  span(16384, 61440, 4096),
		16384: span(32768, 122880, 8192),
	}
}()

func init() {
	register(rule{id: "apprunner-instance-size", kinds: rdws, check: func(c *context) {
		checkSize(c, 1024, 2048, appRunnerSizes, "App Runner")
	}})
	register(rule{id: "fargate-task-size", kinds: ecsKinds, check: func(c *context) {
		checkSize(c, 256, 512, fargateSizes, "Fargate")
	}})
	register(rule{id: "apprunner-healthcheck-range", kinds: rdws, check: checkAppRunnerHealthCheck})
	register(rule{id: "name-length", kinds: nil, check: checkNameLength})
	register(rule{id: "apprunner-availability", kinds: rdws, check: func(c *context) {
		if c.rdws != nil && c.rdws.Autopilot.Express() && c.rdws.Autopilot.RemoveAppRunner() {
			return // no App Runner service left to create
		}
		c.report(get(c.doc, "type"), diag.Notice, "AWS App Runner is closed to new customers since 2026-04-30: accounts that never used it cannot create this service",
			"deploy to an account that already runs App Runner, or move the service to Amazon ECS Express Mode with x-autopilot.runtime: ecs-express (see the README)")
	}})
	// A Scheduled Job's count must be a number; the schema says so.
	register(rule{id: "autoscaling", kinds: []workspace.Kind{workspace.LoadBalancedWebService, workspace.BackendService, workspace.WorkerService}, check: checkAutoscaling})
	register(rule{id: "env-vpc", kinds: envKind, check: checkEnvVPC})
}

func checkSize(c *context, defCPU, defMem int, sizes map[int][]int, platform string) {
	var top manifest.Section
	var cpuSet, memSet *int
	switch {
	case c.ecs != nil:
		top, cpuSet, memSet = c.ecs.Section, c.ecs.CPU, c.ecs.Memory
	case c.rdws != nil:
		top, cpuSet, memSet = c.rdws.Section, c.rdws.CPU, c.rdws.Memory
	default:
		return
	}
	if cpuSet == nil && memSet == nil || cpuSet == nil && top.Present("cpu") || memSet == nil && top.Present("memory") {
		return // nothing set, or a value that did not decode (the schema reports it)
	}
	cpu, mem := defCPU, defMem
	if cpuSet != nil {
		cpu = *cpuSet
	}
	if memSet != nil {
		mem = *memSet
	}
	var cpus []int
	for k := range sizes {
		cpus = append(cpus, k)
	}
	slices.Sort(cpus)
	mems, known := sizes[cpu]
	if !known {
		c.errorAt(top.At("cpu"), fmt.Sprintf("use one of %s CPU units", joinInts(cpus)), "%s does not offer cpu %d", platform, cpu)
		return
	}
	if !slices.Contains(mems, mem) {
		at := top.At("memory")
		if memSet == nil {
			at = top.At("cpu")
		}
		c.errorAt(at, fmt.Sprintf("with cpu %d use memory %s", cpu, joinInts(mems)), "%s does not offer cpu %d with memory %d", platform, cpu, mem)
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// checkAppRunnerHealthCheck enforces App Runner's limits, which Copilot
// leaves to a failed deployment: thresholds 1-20, interval 1-20 s, timeout 1-20 s.
func checkAppRunnerHealthCheck(c *context) {
	if c.rdws == nil || !c.rdws.HTTP.HealthCheck.IsMapping() {
		return
	}
	hc := c.rdws.HTTP.HealthCheck.TargetHealthCheck
	for key, v := range map[string]*int64{"healthy_threshold": hc.HealthyThreshold, "unhealthy_threshold": hc.UnhealthyThreshold} {
		if v != nil && (*v < 1 || *v > 20) {
			c.errorAt(hc.At(key), "use a value from 1 to 20", "http.healthcheck.%s is %d; App Runner allows 1 to 20", key, *v)
		}
	}
	for key, d := range map[string]*time.Duration{"interval": hc.Interval, "timeout": hc.Timeout} {
		if d != nil && hc.IsText(key) && (*d < time.Second || *d > 20*time.Second || *d%time.Second != 0) {
			c.errorAt(hc.At(key), "use whole seconds from 1s to 20s", "http.healthcheck.%s is %s; App Runner allows 1 to 20 whole seconds", key, hc.Text(key))
		}
	}
}

// checkNameLength keeps names within what the stack and resource names
// built from them allow: CloudFormation stack names (128) and the App
// Runner service name `<app>-<env>-<svc>` (40).
func checkNameLength(c *context) {
	top, ok := c.top()
	if c.ws.App == "" || !ok {
		return
	}
	at := c.at(top, "name")
	if len(c.stackName()) > 128 {
		c.errorAt(at, "shorten the service, environment or application name", "stack name %q is %d characters; CloudFormation allows 128", c.stackName(), len(c.stackName()))
	}
	if c.m.Kind == workspace.RequestDrivenWebService && c.env != "" && len(c.stackName()) > 40 {
		c.errorAt(at, "shorten the service, environment or application name",
			"App Runner service name %q is %d characters; App Runner allows 40", c.stackName(), len(c.stackName()))
	}
}

// checkAutoscaling ports Copilot's AdvancedCount rules.
func checkAutoscaling(c *context) {
	if c.ecs == nil || !c.ecs.Count.Set || c.ecs.Count.Value != nil {
		return
	}
	count := c.ecs.Count
	metrics := map[workspace.Kind][]string{
		workspace.LoadBalancedWebService: {"cpu_percentage", "memory_percentage", "requests", "response_time"},
		workspace.BackendService:         {"cpu_percentage", "memory_percentage", "requests", "response_time"},
		workspace.WorkerService:          {"cpu_percentage", "memory_percentage", "queue_delay"},
	}[c.m.Kind]
	all := []string{"cpu_percentage", "memory_percentage", "requests", "response_time", "queue_delay"}
	var set []manifest.Pos
	unsupported := false
	for _, k := range all {
		if !count.Present(k) {
			continue
		}
		if !slices.Contains(metrics, k) {
			fix := "remove it"
			if len(metrics) > 0 {
				fix = "use one of: " + strings.Join(metrics, ", ")
			}
			c.errorAt(count.KeyAt(k), fix, "count.%s is not supported for %s", k, c.m.Kind)
			unsupported = true
			continue
		}
		set = append(set, count.KeyAt(k))
	}
	rng, spot := count.Present("range"), count.Present("spot")
	switch {
	case spot && (rng || len(set) > 0):
		c.errorAt(count.At("spot"), "use either count.spot alone, or count.range with metrics", "count.spot cannot be combined with count.range or autoscaling metrics")
	case rng && len(set) == 0 && !unsupported:
		c.errorAt(count.KeyAt("range"), "add a metric such as cpu_percentage", "count.range needs at least one autoscaling metric")
	case !rng && len(set) > 0:
		c.errorAt(set[0], "add count.range, e.g. `range: 1-10`", "autoscaling metrics need count.range")
	}
	if count.Min == nil || *count.Min <= *count.Max {
		return
	}
	if count.RangeText != "" {
		c.errorAt(count.At("range"), "write the smaller number first", "count.range %q: min is greater than max", count.RangeText)
	} else {
		c.errorAt(count.At("range"), "make min at most max", "count.range: min %d is greater than max %d", *count.Min, *count.Max)
	}
}

// checkEnvVPC ports validate_env.go's VPC rules.
func checkEnvVPC(c *context) {
	if c.envm == nil || !c.envm.Network.VPC.Set {
		return
	}
	vpc := c.envm.Network.VPC
	imported := vpc.Present("id")
	if imported && vpc.Present("cidr") {
		c.errorAt(vpc.At("cidr"), "remove cidr to import the VPC, or id to let Copilot create it",
			"cannot import a VPC (network.vpc.id) and customise its CIDR (network.vpc.cidr) at the same time")
	}
	subnets := vpc.Subnets
	for _, group := range []struct {
		name string
		list []manifest.Subnet
	}{{"public", subnets.Public}, {"private", subnets.Private}} {
		if !subnets.Present(group.name) {
			continue
		}
		for i, s := range group.list {
			sid, scidr, saz := s.Present("id"), s.Present("cidr"), s.Present("az")
			switch {
			case sid && (scidr || saz):
				c.errorAt(s.Pos, "keep id for an imported subnet, or cidr and az for a new one", "subnets.%s[%d]: specify either id or cidr/az, not both", group.name, i)
			case imported && !sid:
				c.errorAt(s.Pos, "give the subnet's id", "subnets.%s[%d]: an imported VPC needs subnet ids", group.name, i)
			case !imported && sid:
				c.errorAt(s.At("id"), "set network.vpc.id to import the VPC, or give cidr and az", "subnets.%s[%d]: subnet ids need an imported VPC (network.vpc.id)", group.name, i)
			}
		}
		if imported && len(group.list) == 1 {
			c.errorAt(subnets.At(group.name), "import at least two subnets, or none", "at least two %s subnets must be imported", group.name)
		}
	}
	public, private := subnets.Present("public"), subnets.Present("private")
	if imported && !public && !private {
		c.errorAt(vpc.At("id"), "list the subnets to use under network.vpc.subnets", "an imported VPC needs at least one subnet")
	}
	if !imported && public && private {
		pubAZ, privAZ := azs(subnets.Public), azs(subnets.Private)
		if len(pubAZ)+len(privAZ) > 0 && !slices.Equal(pubAZ, privAZ) {
			c.errorAt(vpc.At("subnets"), "use the same availability zones for public and private subnets",
				"public subnets are in %s but private subnets in %s", strings.Join(pubAZ, ", "), strings.Join(privAZ, ", "))
		}
		if n := len(pubAZ); n == 1 {
			c.errorAt(vpc.At("subnets"), "spread the subnets over at least two availability zones", "subnets must span at least two availability zones")
		}
	}
}

// azs are the distinct availability zones of subnets, sorted.
func azs(list []manifest.Subnet) []string {
	var out []string
	for _, s := range list {
		if s.AZ != "" && !slices.Contains(out, s.AZ) {
			out = append(out, s.AZ)
		}
	}
	slices.Sort(out)
	return out
}
