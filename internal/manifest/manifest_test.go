package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func ecs(t *testing.T, src string) *ECSWorkload {
	t.Helper()
	w, err := DecodeWorkload(workspace.LoadBalancedWebService, parse(t, src))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return w.ECS
}

// Every mapping keeps where it and each of its keys' values are, through
// maps and lists of sections, so findings name the line of any field.
func TestSectionsKeepPositions(t *testing.T) {
	m := ecs(t, `image:
  location: nginx
deployment:
  rolling: recreate
sidecars:
  nginx:
    image: nginx
    depends_on: {app: start}
storage:
  volumes:
    data:
      path: /data
      efs: {uid: 1, gid: 2}
subscribe:
  topics:
    - name: a
      service: b
`)
	for _, c := range []struct {
		what      string
		got, want Pos
	}{
		{"image", m.Image.Pos, Pos{2, 3}},
		{"image.location", m.Image.At("location"), Pos{2, 13}},
		{"deployment.rolling", m.Deployment.At("rolling"), Pos{4, 12}},
		{"sidecars.nginx", m.Sidecars["nginx"].Pos, Pos{7, 5}},
		{"sidecars.nginx.depends_on", m.Sidecars["nginx"].At("depends_on"), Pos{8, 17}},
		{"storage.volumes.data", m.Storage.Volumes["data"].Pos, Pos{12, 7}},
		{"storage.volumes.data.efs", m.Storage.Volumes["data"].EFS.Pos, Pos{13, 12}},
		{"subscribe.topics[0]", m.Subscribe.Topics[0].Pos, Pos{16, 7}},
		{"absent", m.Logging.Pos, Pos{}},
	} {
		if c.got != c.want {
			t.Errorf("%s at %v, want %v", c.what, c.got, c.want)
		}
	}
	if m.Logging.Set || !m.Storage.Set {
		t.Errorf("Set: logging %v (absent), storage %v (present)", m.Logging.Set, m.Storage.Set)
	}
}

func TestCountForms(t *testing.T) {
	for _, c := range []struct {
		src     string
		desired int
		scales  bool
		wantErr bool
	}{
		{"count: 3", 3, false, false},
		{"count: {spot: 2}", 2, false, false},
		{"count: {range: 1-10, cpu_percentage: 70}", 1, true, false},
		{"count: {range: {min: 2, max: 4, spot_from: 3}, requests: {value: 10, cooldown: {in: 30s}}}", 2, true, false},
		{"image: {}", 1, false, false},
		{"count: {range: 10}", 0, false, true},
		{"count: [1]", 0, false, true},
		{"count: {range: 1-2, response_time: fast}", 0, false, true},
	} {
		w, err := DecodeWorkload(workspace.BackendService, parse(t, c.src))
		if c.wantErr {
			if err == nil {
				t.Errorf("%s: want an error", c.src)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if got := w.ECS.Count.Desired(); got != c.desired {
			t.Errorf("%s: desired %d, want %d", c.src, got, c.desired)
		}
		if got := w.ECS.Count.Autoscaling(); got != c.scales {
			t.Errorf("%s: autoscaling %v, want %v", c.src, got, c.scales)
		}
	}
	m := ecs(t, "count:\n  range: 1-2\n  queue_delay: {acceptable_latency: 1m, msg_processing_time: 250ms}\n")
	if m.Count.QueueDelay == nil || m.Count.QueueDelay.Pos != (Pos{3, 16}) || m.Count.Pos != (Pos{2, 3}) {
		t.Errorf("count at %v, queue_delay at %v", m.Count.Pos, m.Count.QueueDelay)
	}
	// Copilot's AcceptableBacklogPerTask: ceil(latency / processing time).
	if got := m.Count.QueueDelay.BacklogPerTask(); got != 240 {
		t.Errorf("backlog per task %d, want 240", got)
	}
	for _, bad := range []string{"queue_delay: 5", "queue_delay: {acceptable_latency: 1m}", "queue_delay: {acceptable_latency: soon, msg_processing_time: 1s}"} {
		if _, err := DecodeWorkload(workspace.WorkerService, parse(t, "count:\n  range: 1-2\n  "+bad+"\n")); err == nil || !strings.Contains(err.Error(), "queue_delay") {
			t.Errorf("%s: error %v, want one naming queue_delay", bad, err)
		}
	}
}

func TestBoolOrMapAndListOrMap(t *testing.T) {
	m := ecs(t, "network:\n  connect: true\n")
	if c := m.Network.Connect; !c.IsBool || !c.Bool || c.IsMap || c.Bad {
		t.Errorf("connect: true = %+v", c)
	}
	m = ecs(t, "network:\n  connect: {alias: api}\n")
	if c := m.Network.Connect; !c.IsMap || c.Map.Alias == nil || *c.Map.Alias != "api" {
		t.Errorf("connect map = %+v", c)
	}
	m = ecs(t, "network:\n  connect: [x]\n")
	if c := m.Network.Connect; !c.Bad || !c.Written() {
		t.Errorf("connect list = %+v, want Bad", c)
	}
	if ecs(t, "image: {}").Network.Connect.Written() {
		t.Error("absent connect is Present")
	}
	m = ecs(t, "deployment:\n  rollback_alarms: [a, b]\n")
	if r := m.Deployment.RollbackAlarms; !r.IsList || !cmp.Equal(r.List, []string{"a", "b"}) {
		t.Errorf("rollback_alarms list = %+v", r)
	}
	m = ecs(t, "deployment:\n  rollback_alarms: {cpu_utilization: 70}\n")
	if r := m.Deployment.RollbackAlarms; !r.IsMap || r.Map.CPU == nil || *r.Map.CPU != 70 {
		t.Errorf("rollback_alarms map = %+v", r)
	}
	m = ecs(t, "network:\n  vpc:\n    security_groups: {groups: [sg-1, {from_cfn: exp}], deny_default: true}\n")
	sg := m.Network.VPC.SecurityGroups
	if !sg.IsMap || len(sg.Map.Groups) != 2 || sg.Map.Groups[0].Value != "sg-1" || *sg.Map.Groups[1].FromCFN != "exp" || !*sg.Map.DenyDefault {
		t.Errorf("security_groups = %+v", sg)
	}
	m = ecs(t, "network:\n  vpc:\n    security_groups: {deny_default: maybe}\n")
	if !m.Network.VPC.SecurityGroups.Bad {
		t.Error("deny_default: maybe is not Bad")
	}
}

func TestScalarUnions(t *testing.T) {
	m := ecs(t, "command: echo 'hello  world'\nentrypoint: [\"/bin/sh\", \"-c\"]\nplatform: {osfamily: linux, architecture: arm64}\nnetwork:\n  vpc:\n    placement: {subnets: [s-1]}\n")
	if !cmp.Equal([]string(m.Command), []string{"echo", "hello  world"}) || !cmp.Equal([]string(m.EntryPoint), []string{"/bin/sh", "-c"}) {
		t.Errorf("command %q, entrypoint %q", m.Command, m.EntryPoint)
	}
	if m.Platform.Value != "linux/arm64" {
		t.Errorf("platform %q", m.Platform.Value)
	}
	if p := m.Network.VPC.Placement; p.Kind != "" || !cmp.Equal(p.SubnetIDs, []string{"s-1"}) || p.Pos != (Pos{6, 16}) {
		t.Errorf("placement %+v", p)
	}
	w, err := DecodeWorkload(workspace.RequestDrivenWebService, parse(t, "http:\n  private: {endpoint: vpce-1}\n  healthcheck: /ok\nvariables:\n  A: {from_cfn: x}\nsecrets:\n  B: {secretsmanager: s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := w.RDWS
	if !r.HTTP.Private.Enabled || *r.HTTP.Private.Endpoint != "vpce-1" || !r.HTTP.HealthCheck.Set || *r.HTTP.HealthCheck.Path != "/ok" {
		t.Errorf("http %+v", r.HTTP)
	}
	if *r.Variables["A"].FromCFN != "x" || *r.Secrets["B"].SecretsManager != "s" {
		t.Errorf("variables %+v secrets %+v", r.Variables, r.Secrets)
	}
	if _, err := DecodeWorkload(workspace.RequestDrivenWebService, parse(t, "secrets:\n  B: {secretsmanager: s, from_cfn: x}\n")); err == nil {
		t.Error("a secret with two sources decodes")
	}
	e, err := DecodeEnvironment(parse(t, "network:\n  vpc:\n    flow_logs: {retention: 14}\n    security_group:\n      ingress: [{ip_protocol: tcp, ports: 80-90, cidr: 0.0.0.0/0}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := e.Network.VPC; !v.FlowLogs.Set || *v.FlowLogs.Retention != 14 {
		t.Errorf("flow_logs %+v", v.FlowLogs)
	}
	if from, to, err := e.Network.VPC.SecurityGroup.Ingress[0].Ports.Bounds(); from != 80 || to != 90 || err != nil {
		t.Errorf("ports = %d-%d, %v", from, to, err)
	}
}

// exec is a bool or {enable: bool}; Copilot turns exec on for true, and
// for the map whenever enable is set.
func TestExecForms(t *testing.T) {
	for src, want := range map[string]bool{
		"image: {}":             false,
		"exec: false":           false,
		"exec: true":            true,
		"exec: {enable: true}":  true,
		"exec: {enable: false}": true,
	} {
		w, err := DecodeWorkload(workspace.BackendService, parse(t, src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if got := w.ECS.Exec.Enabled(); got != want {
			t.Errorf("%q: Enabled() = %v, want %v", src, got, want)
		}
	}
}

// An alias is a name, a list of names, or a list of {name, hosted_zone}.
func TestAliasForms(t *testing.T) {
	for src, want := range map[string][]string{
		"http: {path: /, alias: example.com}":                                             {"example.com"},
		"http: {path: /, alias: [a.example.com, b.example.com]}":                          {"a.example.com", "b.example.com"},
		"http: {path: /, alias: [{name: a.example.com, hosted_zone: Z1}, b.example.com]}": {"a.example.com", "b.example.com"},
	} {
		h := ecs(t, src).HTTP
		var got []string
		for _, a := range h.Alias.Names {
			got = append(got, a.Name)
		}
		if !cmp.Equal(got, want) {
			t.Errorf("%s: names %q, want %q", src, got, want)
		}
	}
	h := ecs(t, "http:\n  path: /\n  alias:\n    - name: a.example.com\n      hosted_zone: Z1\n").HTTP
	if a := h.Alias.Names[0]; *a.HostedZone != "Z1" || a.KeyAt("hosted_zone") != (Pos{5, 7}) {
		t.Errorf("hosted_zone %v at %v", a.HostedZone, a.KeyAt("hosted_zone"))
	}
	if _, err := DecodeWorkload(workspace.LoadBalancedWebService, parse(t, "http: {path: /, alias: {name: x}}")); err == nil {
		t.Error("an alias map (not in a list) decodes")
	}
}

// A map of the model keeps its file order and its values' text through
// Sub: lint reports sidecars in the order Copilot checks them, and quotes
// a duration as the user wrote it.
func TestSectionKeepsOrderAndText(t *testing.T) {
	m := ecs(t, `sidecars:
  zeta: {image: a, port: 1}
  alpha: {image: b}
  mid:
image:
  location: nginx
  healthcheck: {interval: 1m, retries: 3, timeout: null}
`)
	if got, want := m.Sub("sidecars").Keys(), []string{"zeta", "alpha", "mid"}; !cmp.Equal(got, want) {
		t.Errorf("sidecar order: got %v, want %v", got, want)
	}
	if got := m.Sub("sidecars").Sub("zeta").At("port"); got != (Pos{2, 26}) {
		t.Errorf("sidecars.zeta.port at %v, want 2:26", got)
	}
	hc := m.Image.HealthCheck
	for _, c := range []struct {
		key, text string
		isText    bool
	}{{"interval", "1m", true}, {"retries", "3", false}, {"timeout", "", false}, {"start_period", "", false}} {
		if got := hc.Text(c.key); got != c.text {
			t.Errorf("Text(%s) = %q, want %q", c.key, got, c.text)
		}
		if got := hc.IsText(c.key); got != c.isText {
			t.Errorf("IsText(%s) = %v, want %v", c.key, got, c.isText)
		}
	}
}

// A value that does not fit the model leaves its field unset, not zero,
// and the rest decoded with positions; the error is the first such value,
// as when decoding stopped there, so render reports it unchanged.
func TestDecodeGoesPastValuesThatDoNotFit(t *testing.T) {
	doc := parse(t, `cpu: [1]
memory: 2048
command: python -c "x
http:
  path: /
  healthy: 1
  additional_rules:
    - not-a-rule
    - {path: admin, target_port: 9000}
sidecars:
  proxy: {image: envoy, entrypoint: 'sh -c "y'}
`)
	w, err := DecodeWorkload(workspace.LoadBalancedWebService, doc)
	if err == nil || err.Error() != `line 3: split "python -c \"x" into words with shell quoting rules: EOF found when expecting closing quote; close the quote, or write the words as a list` {
		t.Fatalf("error: got %v, want the first command's", err)
	}
	if w == nil {
		t.Fatal("no model: lint's rules would read nothing")
	}
	m := w.ECS
	if m.CPU != nil || m.Memory == nil || *m.Memory != 2048 {
		t.Errorf("cpu %v (want unset), memory %v (want 2048)", m.CPU, m.Memory)
	}
	// A rule that does not fit keeps its place: lint names rules by index.
	rules := m.HTTP.AdditionalRules
	if len(rules) != 2 || rules[1].TargetPort == nil || *rules[1].TargetPort != 9000 || rules[1].Pos != (Pos{9, 7}) {
		t.Errorf("additional_rules: got %+v, want the admin rule second, at 9:7", rules)
	}
	if got := m.Sub("sidecars").Sub("proxy").At("entrypoint"); got != (Pos{11, 37}) {
		t.Errorf("sidecars.proxy.entrypoint at %v, want 11:37", got)
	}

	// Without a command that does not split, the error is yaml.v3's list
	// of values of the wrong type.
	_, err = DecodeWorkload(workspace.BackendService, parse(t, "cpu: [1]\n"))
	if _, ok := err.(*yaml.TypeError); !ok {
		t.Errorf("error: got %T %v, want a *yaml.TypeError", err, err)
	}
}

// image.build is a Dockerfile's path or {context, dockerfile}.
func TestBuild(t *testing.T) {
	for _, c := range []struct {
		src                 string
		dockerfile, context string
		bad                 bool
	}{
		{"image: {build: svc/Dockerfile}", "svc/Dockerfile", "", false},
		{"image: {build: {context: web, dockerfile: web/Dockerfile.prod}}", "web/Dockerfile.prod", "web", false},
		{"image: {build: {context: web}}", "", "web", false},
		{"image: {build: {dockerfile: [a]}}", "", "", true},
		{"image: {build: [a]}", "", "", true},
	} {
		b := ecs(t, c.src).Image.Build
		if got := deref(b.Dockerfile); got != c.dockerfile && !c.bad {
			t.Errorf("%s: dockerfile %q, want %q", c.src, got, c.dockerfile)
		}
		if got := deref(b.Context); got != c.context {
			t.Errorf("%s: context %q, want %q", c.src, got, c.context)
		}
		if b.Bad != c.bad {
			t.Errorf("%s: bad %v, want %v", c.src, b.Bad, c.bad)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// A Static Site's exclude and reinclude take one pattern or a list, a
// string taken whole (a pattern may hold spaces), and each files entry
// keeps its position.
func TestStaticSiteFiles(t *testing.T) {
	w, err := DecodeWorkload(workspace.StaticSite, parse(t, "files:\n  - source: web\n    recursive: true\n    exclude: '* draft.md'\n    reinclude: [a.md, b.md]\n  - source: index.html\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := w.Static.Files
	if len(f) != 2 || !f[0].Recursive || f[1].Recursive || f[1].Source != "index.html" {
		t.Fatalf("files %+v", f)
	}
	if !cmp.Equal([]string(f[0].Exclude), []string{"* draft.md"}) || !cmp.Equal([]string(f[0].Reinclude), []string{"a.md", "b.md"}) {
		t.Errorf("exclude %q, reinclude %q", f[0].Exclude, f[0].Reinclude)
	}
	if f[1].Pos != (Pos{6, 5}) || f[0].At("exclude") != (Pos{4, 14}) {
		t.Errorf("positions: entry %v, exclude %v", f[1].Pos, f[0].At("exclude"))
	}
}

// Names keep their positions and repeat only once in Strings; the rule
// fields render reads decode on the main rule and on additional rules.
func TestAliasPositionsAndRuleFields(t *testing.T) {
	h := ecs(t, "http:\n  alias: [a.example.com, b.example.com, a.example.com]\n").HTTP
	if got := h.Alias.Names[2].Pos; got != (Pos{2, 41}) {
		t.Errorf("third name at %v, want 2:41", got)
	}
	if got := h.Alias.Strings(); !cmp.Equal(got, []string{"a.example.com", "b.example.com"}) {
		t.Errorf("Strings() = %q, want each name once", got)
	}
	h = ecs(t, "http:\n  path: /\n  hosted_zone: Z9\n  redirect_to_https: false\n  alb: my-alb\n  additional_rules:\n    - path: /admin\n      alias: admin.example.com\n").HTTP
	if *h.HostedZone != "Z9" || *h.RedirectToHTTPS || *h.ALB != "my-alb" || len(h.AdditionalRules) != 1 || h.AdditionalRules[0].Alias.Names[0].Name != "admin.example.com" ||
		h.AdditionalRules[0].Pos != (Pos{7, 7}) || h.At("alb") != (Pos{5, 8}) {
		t.Errorf("http = %+v", h)
	}
	if ecs(t, "http:\n  alias: null\n").HTTP.Alias.Names != nil {
		t.Error("alias: null has names")
	}
}
