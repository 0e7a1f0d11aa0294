package schema_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/schema"
)

// ecmaRegexp adapts regexp2's ECMAScript mode to jsonschema's Regexp interface.
type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return err == nil && ok
}

func (r ecmaRegexp) String() string { return r.re.String() }

func ecmaEngine(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecmaRegexp{re}, nil
}

// compileAll adds every embedded file as a resource and compiles each type schema,
// the way the lint engine does. engine nil means jsonschema's default (Go regexp).
func compileAll(engine jsonschema.RegexpEngine) (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if engine != nil {
		c.UseRegexpEngine(engine)
	}
	entries, err := fs.ReadDir(schema.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("list schema files: %w", err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(schema.FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", e.Name(), err)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", e.Name(), err)
		}
		if err := c.AddResource(schema.ID(e.Name()), doc); err != nil {
			return nil, fmt.Errorf("add %s: %w", e.Name(), err)
		}
	}
	out := make(map[string]*jsonschema.Schema)
	for _, kind := range schema.Kinds() {
		file, _ := schema.File(kind)
		sch, err := c.Compile(schema.ID(file))
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", file, err)
		}
		out[kind] = sch
	}
	return out, nil
}

var compiled = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) { return compileAll(nil) })

func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	m, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// decode converts YAML to the values the lint engine passes: yaml.v3 decoded into any.
func decode(t *testing.T, src string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("test manifest is not YAML: %v", err)
	}
	return doc
}

// validate checks a manifest against the schema of kind, or of its own type when kind is empty.
func validate(t *testing.T, kind, src string) error {
	t.Helper()
	doc := decode(t, src)
	if kind == "" {
		kind, _ = doc["type"].(string)
	}
	sch, ok := schemas(t)[kind]
	if !ok {
		t.Fatalf("test manifest has type %q, which has no schema", kind)
	}
	return sch.Validate(doc)
}

type finding struct{ loc, keyword string }

// findings flattens a validation error tree into (JSON pointer, keyword) pairs, outer ones first.
func findings(err *jsonschema.ValidationError) []finding {
	kw := ""
	if path := err.ErrorKind.KeywordPath(); len(path) > 0 {
		kw = path[len(path)-1]
	} else if _, ok := err.ErrorKind.(*kind.Not); ok {
		kw = "not" // the one keyword whose error kind has no keyword path
	}
	loc := ""
	if len(err.InstanceLocation) > 0 {
		loc = "/" + strings.Join(err.InstanceLocation, "/")
	}
	out := []finding{{loc, kw}}
	for _, c := range err.Causes {
		out = append(out, findings(c)...)
	}
	return out
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name   string
		engine jsonschema.RegexpEngine
	}{
		{"go regexp", nil},
		{"ECMAScript regexp2", ecmaEngine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compileAll(tt.engine)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 7 {
				t.Errorf("compiled %d type schemas, want 7", len(got))
			}
		})
	}
}

func TestFile(t *testing.T) {
	tests := []struct {
		kind, want string
		ok         bool
	}{
		{"Request-Driven Web Service", "request-driven-web-service.json", true},
		{"Load Balanced Web Service", "load-balanced-web-service.json", true},
		{"Backend Service", "backend-service.json", true},
		{"Worker Service", "worker-service.json", true},
		{"Scheduled Job", "scheduled-job.json", true},
		{"Static Site", "static-site.json", true},
		{"Environment", "environment.json", true},
		{"Pipeline", "", false},
		{"load balanced web service", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			got, ok := schema.File(tt.kind)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("File(%q) = %q, %v; want %q, %v", tt.kind, got, ok, tt.want, tt.ok)
			}
			if ok {
				if _, err := fs.Stat(schema.FS, got); err != nil {
					t.Errorf("File(%q) names a file FS lacks: %v", tt.kind, err)
				}
			}
		})
	}
}

// TestIDs checks that each file's $id is where File and ID say it is, so references resolve inside FS.
func TestIDs(t *testing.T) {
	files, err := fs.Glob(schema.FS, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		doc := readJSON(t, f)
		if got := doc["$id"]; got != schema.ID(f) {
			t.Errorf("%s: $id = %v, want %s", f, got, schema.ID(f))
		}
	}
}

func readJSON(t *testing.T, file string) map[string]any {
	t.Helper()
	data, err := fs.ReadFile(schema.FS, file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return doc
}

// TestObjectsAreClosed guards what the lint engine relies on: every object schema lists its
// properties and closes itself with additionalProperties, so an unknown key is always reported
// with the known keys at that place; and every property carries a description for editors.
func TestObjectsAreClosed(t *testing.T) {
	files, err := fs.Glob(schema.FS, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		var walk func(ptr string, v any)
		walk = func(ptr string, v any) {
			switch v := v.(type) {
			case map[string]any:
				props, hasProps := v["properties"].(map[string]any)
				// Objects carry "type": "object"; if/then refinements of an object do not.
				if hasProps && v["type"] == "object" {
					if _, ok := v["additionalProperties"]; !ok {
						t.Errorf("%s#%s: object without additionalProperties", f, ptr)
					}
				}
				if hasProps && !strings.HasSuffix(ptr, "/if") {
					for name, p := range props {
						if _, ok := p.(map[string]any)["description"]; !ok {
							t.Errorf("%s#%s/properties/%s: no description", f, ptr, name)
						}
					}
				}
				if defs, ok := v["$defs"].(map[string]any); ok {
					for name, def := range defs {
						if _, ok := def.(map[string]any)["description"]; !ok {
							t.Errorf("%s#%s/$defs/%s: no description", f, ptr, name)
						}
					}
				}
				if _, ok := v["patternProperties"]; ok {
					t.Errorf("%s#%s: patternProperties hides the known keys from suggestions", f, ptr)
				}
				for k, c := range v {
					walk(ptr+"/"+k, c)
				}
			case []any:
				for i, c := range v {
					walk(fmt.Sprintf("%s/%d", ptr, i), c)
				}
			}
		}
		walk("", readJSON(t, f))
	}
}

func TestValidManifests(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	perKind := map[string]int{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			kind, _ := decode(t, string(src))["type"].(string)
			perKind[kind]++
			if err := validate(t, "", string(src)); err != nil {
				t.Errorf("valid manifest rejected:\n%v", err)
			}
		})
	}
	for _, kind := range schema.Kinds() {
		if perKind[kind] < 2 {
			t.Errorf("%s: %d valid manifests in testdata/valid, want at least 2", kind, perKind[kind])
		}
	}
}

// Minimal valid manifests that the invalid cases extend.
const (
	rdws          = "name: web\ntype: Request-Driven Web Service\nimage:\n  build: web/Dockerfile\n  port: 8080\n"
	lbws          = "name: api\ntype: Load Balanced Web Service\nimage:\n  build: api/Dockerfile\n  port: 8080\nhttp:\n  path: /\n"
	lbwsImageLast = "name: api\ntype: Load Balanced Web Service\nhttp:\n  path: /\nimage:\n  build: api/Dockerfile\n  port: 8080\n"
	be            = "name: be\ntype: Backend Service\nimage:\n  build: be/Dockerfile\n"
	ws            = "name: wk\ntype: Worker Service\nimage:\n  build: wk/Dockerfile\n"
	job           = "name: jb\ntype: Scheduled Job\nimage:\n  build: jb/Dockerfile\non:\n  schedule: '@daily'\n"
	site          = "name: st\ntype: Static Site\n"
	env           = "name: test\ntype: Environment\n"
)

func TestMinimalManifestsAreValid(t *testing.T) {
	for _, src := range []string{rdws, lbws, lbwsImageLast, be, ws, job, site, env} {
		if err := validate(t, "", src); err != nil {
			t.Errorf("minimal manifest rejected:\n%s\n%v", src, err)
		}
	}
}

func TestInvalidManifests(t *testing.T) {
	tests := []struct {
		name     string
		kind     string // schema to use when not the manifest's own type
		manifest string
		loc      string // JSON pointer of the failing value
		keyword  string // failing keyword
	}{
		// Request-Driven Web Service
		{"quoted port", "", "name: web\ntype: Request-Driven Web Service\nimage:\n  build: Dockerfile\n  port: \"80\"\n", "/image/port", "type"},
		{"port out of range", "", "name: web\ntype: Request-Driven Web Service\nimage:\n  build: Dockerfile\n  port: 70000\n", "/image/port", "maximum"},
		{"rdws without port", "", "name: web\ntype: Request-Driven Web Service\nimage:\n  build: Dockerfile\n", "/image", "required"},
		{"build and location", "", rdws + "  location: nginx\n", "/image", "oneOf"},
		{"neither build nor location", "", "name: web\ntype: Request-Driven Web Service\nimage:\n  port: 80\n", "/image", "oneOf"},
		{"rdws command list", "", rdws + "command: [python, app.py]\n", "/command", "type"},
		{"rdws public placement", "", rdws + "network:\n  vpc:\n    placement: public\n", "/network/vpc/placement", "enum"},
		{"tracing vendor", "", rdws + "observability:\n  tracing: jaeger\n", "/observability/tracing", "pattern"},
		{"unknown top-level key", "", rdws + "cpuu: 1024\n", "", "additionalProperties"},
		{"missing name", "", "type: Request-Driven Web Service\nimage:\n  build: Dockerfile\n  port: 80\n", "", "required"},
		{"variable list", "", rdws + "variables:\n  A: [1, 2]\n", "/variables/A", "type"},
		{"empty from_cfn", "", rdws + "variables:\n  A:\n    from_cfn: ''\n", "/variables/A/from_cfn", "minLength"},
		{"rdws arm platform", "", rdws + "platform: linux/arm64\n", "/platform", "pattern"},
		{"private not bool", "", rdws + "http:\n  private: sometimes\n", "/http/private", "enum"},
		{"healthcheck interval int", "", rdws + "http:\n  healthcheck:\n    path: /\n    interval: 10\n", "/http/healthcheck/interval", "type"},
		{"healthcheck interval unit", "", rdws + "http:\n  healthcheck:\n    interval: 10 seconds\n", "/http/healthcheck/interval", "pattern"},
		{"secret list", "", rdws + "secrets:\n  TOKEN: [a]\n", "/secrets/TOKEN", "type"},
		{"secret empty map", "", rdws + "secrets:\n  TOKEN: {}\n", "/secrets/TOKEN", "minProperties"},
		{"topic name", "", rdws + "publish:\n  topics:\n    - name: orders.v1\n", "/publish/topics/0/name", "pattern"},
		{"topic without name", "", rdws + "publish:\n  topics:\n    - fifo: true\n", "/publish/topics/0", "required"},
		{"wrong type value", "", "name: web\ntype: Request-Driven Web Service\nimage:\n  build: Dockerfile\n  port: 80\nhttp:\n  alias: [a.example.com]\n", "/http/alias", "type"},

		// Load Balanced Web Service
		{"lbws without http", "", "name: api\ntype: Load Balanced Web Service\nimage:\n  build: Dockerfile\n  port: 80\n", "", "required"},
		{"http false without nlb", "", "name: api\ntype: Load Balanced Web Service\nimage:\n  build: Dockerfile\n  port: 80\nhttp: false\n", "", "required"},
		{"http without path", "", "name: api\ntype: Load Balanced Web Service\nimage:\n  build: Dockerfile\n  port: 80\nhttp:\n  alias: a.example.com\n", "/http", "required"},
		{"http key typo", "", lbws + "  pth: /api\n", "/http", "additionalProperties"},
		{"http version", "", lbws + "  version: HTTP3\n", "/http/version", "pattern"},
		{"source ip not cidr", "", lbws + "  allowed_source_ips: [10.0.0.1]\n", "/http/allowed_source_ips/0", "pattern"},
		{"advanced alias without name", "", lbws + "  alias:\n    - hosted_zone: Z123\n", "/http/alias/0", "required"},
		{"additional rule without path", "", lbws + "  additional_rules:\n    - alias: b.example.com\n", "/http/additional_rules/0", "required"},
		{"nlb protocol", "", lbws + "nlb:\n  port: 443/http\n", "/nlb/port", "pattern"},
		{"nlb without port", "", lbws + "nlb:\n  target_port: 80\n", "/nlb", "required"},
		{"nlb grace period int", "", lbws + "nlb:\n  port: 80\n  healthcheck:\n    grace_period: 60\n", "/nlb/healthcheck/grace_period", "type"},
		{"cpu percentage", "", lbws + "count:\n  range: 1-10\n  cpu_percentage: 120\n", "/count/cpu_percentage", "maximum"},
		{"memory percentage value", "", lbws + "count:\n  range: 1-10\n  memory_percentage:\n    value: -5\n", "/count/memory_percentage/value", "minimum"},
		{"range format", "", lbws + "count:\n  range: 1to10\n  cpu_percentage: 50\n", "/count/range", "pattern"},
		{"range without max", "", lbws + "count:\n  range:\n    min: 1\n  cpu_percentage: 50\n", "/count/range", "required"},
		{"count string", "", lbws + "count: \"2\"\n", "/count", "type"},
		{"rolling strategy", "", lbws + "deployment:\n  rolling: bluegreen\n", "/deployment/rolling", "pattern"},
		{"rollback alarm threshold", "", lbws + "deployment:\n  rollback_alarms:\n    cpu_utilization: high\n", "/deployment/rollback_alarms/cpu_utilization", "type"},
		{"short platform", "", lbws + "platform: windows/arm64\n", "/platform", "pattern"},
		{"windows on arm", "", lbws + "platform:\n  osfamily: windows_server_2019_core\n  architecture: arm64\n", "/platform/architecture", "pattern"},
		{"platform half given", "", lbws + "platform:\n  osfamily: linux\n", "/platform", "required"},
		{"ephemeral too small", "", lbws + "storage:\n  ephemeral: 10\n", "/storage/ephemeral", "minimum"},
		{"ephemeral too large", "", lbws + "storage:\n  ephemeral: 201\n", "/storage/ephemeral", "maximum"},
		{"env file suffix", "", lbws + "env_file: api/vars.txt\n", "/env_file", "pattern"},
		{"volume path characters", "", lbws + "storage:\n  volumes:\n    data:\n      path: /etc/my data\n", "/storage/volumes/data/path", "pattern"},
		{"volume without path", "", lbws + "storage:\n  volumes:\n    data:\n      efs: true\n", "/storage/volumes/data", "required"},
		{"sidecar without image", "", lbws + "sidecars:\n  nginx:\n    port: 80\n", "/sidecars/nginx", "required"},
		{"sidecar protocol", "", lbws + "sidecars:\n  nginx:\n    image: nginx\n    port: 80/sctp\n", "/sidecars/nginx/port", "pattern"},
		{"sidecar mount point", "", lbws + "sidecars:\n  nginx:\n    image: nginx\n    mount_points:\n      - path: /data\n", "/sidecars/nginx/mount_points/0", "required"},
		{"depends_on condition", "", lbwsImageLast + "  depends_on:\n    nginx: ready\n", "/image/depends_on/nginx", "pattern"},
		{"taskdef override of Family", "", lbws + "taskdef_overrides:\n  - path: Family\n    value: x\n", "/taskdef_overrides/0/path", "not"},
		{"exec number", "", lbws + "exec: 1\n", "/exec", "type"},
		{"empty union map", "", lbws + "exec: {}\n", "/exec", "minProperties"},
		{"empty build map", "", "name: web\ntype: Request-Driven Web Service\nimage:\n  build: {}\n  port: 80\n", "/image/build", "minProperties"},
		{"exec map typo", "", lbws + "exec:\n  enabled: true\n", "/exec", "additionalProperties"},
		{"placement word", "", lbws + "network:\n  vpc:\n    placement: isolated\n", "/network/vpc/placement", "enum"},
		{"security group map", "", lbws + "network:\n  vpc:\n    security_groups:\n      deny_default: maybe\n", "/network/vpc/security_groups/deny_default", "enum"},
		{"entrypoint number", "", lbws + "entrypoint: 5\n", "/entrypoint", "type"},
		{"log retention", "", lbws + "logging:\n  retention: 10\n", "/logging/retention", "enum"},
		{"healthcheck command string", "", lbwsImageLast + "  healthcheck:\n    command: curl localhost\n", "/image/healthcheck/command", "type"},

		// Backend Service
		{"backend http bool", "", be + "http: true\n", "/http", "type"},
		{"efs uid zero", "", be + "storage:\n  volumes:\n    data:\n      path: /data\n      efs:\n        uid: 0\n        gid: 0\n", "/storage/volumes/data/efs/uid", "minimum"},
		{"efs id empty from_cfn", "", be + "storage:\n  volumes:\n    data:\n      path: /data\n      efs:\n        id:\n          from_cfn: ''\n", "/storage/volumes/data/efs/id/from_cfn", "minLength"},

		// Worker Service
		{"subscription topic name", "", ws + "subscribe:\n  topics:\n    - name: orders.fifo\n      service: api\n", "/subscribe/topics/0/name", "pattern"},
		{"subscription service name", "", ws + "subscribe:\n  topics:\n    - name: orders\n      service: front--end\n", "/subscribe/topics/0/service", "pattern"},
		{"subscription service trailing hyphen", "", ws + "subscribe:\n  topics:\n    - name: orders\n      service: api-\n", "/subscribe/topics/0/service", "pattern"},
		{"subscription without service", "", ws + "subscribe:\n  topics:\n    - name: orders\n", "/subscribe/topics/0", "required"},
		{"deduplication scope", "", ws + "subscribe:\n  queue:\n    fifo:\n      deduplication_scope: group\n", "/subscribe/queue/fifo/deduplication_scope", "enum"},
		{"throughput limit", "", ws + "subscribe:\n  queue:\n    fifo:\n      throughput_limit: perGroup\n", "/subscribe/queue/fifo/throughput_limit", "enum"},
		{"dead letter tries", "", ws + "subscribe:\n  queue:\n    dead_letter:\n      tries: -1\n", "/subscribe/queue/dead_letter/tries", "minimum"},
		{"worker image port", "", ws + "  port: 80\n", "/image", "additionalProperties"},
		{"worker http", "", ws + "http:\n  path: /\n", "", "additionalProperties"},

		// Scheduled Job
		{"job without on", "", "name: jb\ntype: Scheduled Job\nimage:\n  build: Dockerfile\n", "", "required"},
		{"job without schedule", "", "name: jb\ntype: Scheduled Job\nimage:\n  build: Dockerfile\non:\n  cron: '@daily'\n", "/on", "required"},
		{"job autoscaling", "", job + "count:\n  range: 1-2\n", "/count", "type"},
		{"job timeout int", "", job + "timeout: 90\n", "/timeout", "type"},
		{"job retries negative", "", job + "retries: -1\n", "/retries", "minimum"},

		// Static Site
		{"file without source", "", site + "files:\n  - destination: /\n", "/files/0", "required"},
		{"certificate not arn", "", site + "http:\n  alias: a.example.com\n  certificate: my-cert\n", "/http/certificate", "pattern"},
		{"exclude number", "", site + "files:\n  - source: dist\n    exclude: 5\n", "/files/0/exclude", "type"},

		// Environment
		{"sg ports format", "", env + "network:\n  vpc:\n    security_group:\n      ingress:\n        - ip_protocol: tcp\n          ports: 80:90\n          cidr: 0.0.0.0/0\n", "/network/vpc/security_group/ingress/0/ports", "pattern"},
		{"sg rule without cidr", "", env + "network:\n  vpc:\n    security_group:\n      egress:\n        - ip_protocol: tcp\n          ports: 443\n", "/network/vpc/security_group/egress/0", "required"},
		{"certificate arn", "", env + "http:\n  public:\n    certificates: [cert-123]\n", "/http/public/certificates/0", "pattern"},
		{"source ips", "", env + "http:\n  public:\n    ingress:\n      source_ips: [10.0.0.0/33]\n", "/http/public/ingress/source_ips/0", "pattern"},
		{"static assets incomplete", "", env + "cdn:\n  static_assets:\n    location: b.s3.amazonaws.com\n    alias: example.com\n", "/cdn/static_assets", "required"},
		{"flow logs word", "", env + "network:\n  vpc:\n    flow_logs: maybe\n", "/network/vpc/flow_logs", "enum"},
		{"vpc cidr", "", env + "network:\n  vpc:\n    cidr: 10.0.0.0\n", "/network/vpc/cidr", "pattern"},
		{"environment type spelling", "Environment", "name: test\ntype: environment\n", "/type", "const"},
		{"environments in an environment", "", env + "environments:\n  test: {}\n", "", "additionalProperties"},
		{"container insights string", "", env + "observability:\n  container_insights: enabled\n", "/observability/container_insights", "enum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(t, tt.kind, tt.manifest)
			if err == nil {
				t.Fatalf("manifest accepted, want %s at %q:\n%s", tt.keyword, tt.loc, tt.manifest)
			}
			verr, ok := err.(*jsonschema.ValidationError)
			if !ok {
				t.Fatalf("error is %T, want *jsonschema.ValidationError: %v", err, err)
			}
			got := findings(verr)
			if !slices.Contains(got, finding{tt.loc, tt.keyword}) {
				t.Errorf("want %s at %q; got %v\n%v", tt.keyword, tt.loc, got, err)
			}
		})
	}
}

// TestRegexpsAreECMAScript guards the rule that every pattern means the same in Go's RE2 and ECMAScript.
func TestRegexpsAreECMAScript(t *testing.T) {
	files, err := fs.Glob(schema.FS, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if p, ok := v["pattern"].(string); ok {
					if _, err := regexp.Compile(p); err != nil {
						t.Errorf("%s: pattern %q is not RE2: %v", f, p, err)
					}
					if _, err := regexp2.Compile(p, regexp2.ECMAScript); err != nil {
						t.Errorf("%s: pattern %q is not ECMAScript: %v", f, p, err)
					}
				}
				for _, c := range v {
					walk(c)
				}
			case []any:
				for _, c := range v {
					walk(c)
				}
			}
		}
		walk(readJSON(t, f))
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compileAll(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate measures one validation of a large manifest, the unit of work the linter
// repeats per workload and environment.
func BenchmarkValidate(b *testing.B) {
	m, err := compiled()
	if err != nil {
		b.Fatal(err)
	}
	src, err := os.ReadFile("testdata/valid/load-balanced-web-service-alb.yml")
	if err != nil {
		b.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		b.Fatal(err)
	}
	sch := m["Load Balanced Web Service"]
	b.ReportAllocs()
	for b.Loop() {
		if err := sch.Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUnknownKeySuggestions shows how the engine finds "did you mean" candidates: the schema
// location of an additionalProperties error is the object schema, whose properties list the keys
// allowed at that place.
func TestUnknownKeySuggestions(t *testing.T) {
	tests := []struct {
		name, manifest, loc, want string
	}{
		{"top level", rdws + "cpuu: 1024\n", "", "cpu"},
		{"in a union's map form", lbws + "exec:\n  enabled: true\n", "/exec", "enable"},
		{"in a routing rule", lbws + "  pth: /api\n", "/http", "path"},
		{"in a sidecar", lbws + "sidecars:\n  nginx:\n    image: nginx\n    essental: false\n", "/sidecars/nginx", "essential"},
		{"in a type's own definitions", ws + "subscribe:\n  queue:\n    dead_leter:\n      tries: 3\n", "/subscribe/queue", "dead_letter"},
		{"in an environment", env + "network:\n  vpc:\n    subnet:\n      public: []\n", "/network/vpc", "subnets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(t, "", tt.manifest)
			verr, ok := err.(*jsonschema.ValidationError)
			if !ok {
				t.Fatalf("want a validation error, got %v", err)
			}
			var found bool
			var walk func(e *jsonschema.ValidationError)
			walk = func(e *jsonschema.ValidationError) {
				_, unknown := e.ErrorKind.(*kind.AdditionalProperties)
				if unknown && strings.Join(e.InstanceLocation, "/") == strings.TrimPrefix(tt.loc, "/") {
					props := propertiesAt(t, e.SchemaURL)
					if _, ok := props[tt.want]; ok {
						found = true
					} else {
						t.Errorf("properties at %s lack %q", e.SchemaURL, tt.want)
					}
				}
				for _, c := range e.Causes {
					walk(c)
				}
			}
			walk(verr)
			if !found {
				t.Errorf("no additionalProperties error at %q offering %q:\n%v", tt.loc, tt.want, err)
			}
		})
	}
}

// propertiesAt resolves a schema URL of FS, such as https://autopilot.dev/schema/common.json#/$defs/exec,
// and returns the "properties" of the schema there.
func propertiesAt(t *testing.T, url string) map[string]any {
	t.Helper()
	file, ptr, _ := strings.Cut(strings.TrimPrefix(url, schema.BaseURL), "#")
	var node any = readJSON(t, file)
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		m, ok := node.(map[string]any)
		if !ok {
			t.Fatalf("%s: %q is not an object", url, tok)
		}
		node = m[tok]
	}
	m, _ := node.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	return props
}
