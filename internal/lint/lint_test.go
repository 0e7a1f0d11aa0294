package lint

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// vars is the only environment the tests' manifests see, so the machine's
// variables never leak into results.
var vars = map[string]string{
	"TAG":     "v1.2.3",
	"SUBNETS": `["subnet-0aaa1111", "subnet-0bbb2222"]`,
	"CPU":     "512",
}

func lookup(name string) (string, bool) {
	v, ok := vars[name]
	return v, ok
}

// Two environments, so a finding that holds for only one of them names it.
const (
	envTest = "name: test\ntype: Environment\n"
	envProd = "name: prod\ntype: Environment\nobservability:\n  container_insights: true\n"
)

// lintWorkspace writes files (path -> content, relative to the repository
// root) into a fresh workspace with the application `demo` and the
// environments test and prod, then loads and lints it.
func lintWorkspace(t testing.TB, files map[string]string, envs ...string) diag.List {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{
		"copilot/.workspace":                     "application: demo\n",
		"copilot/environments/test/manifest.yml": envTest,
		"copilot/environments/prod/manifest.yml": envProd,
	}
	for p, s := range files {
		all[p] = s
	}
	for p, s := range all {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.Load(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	out, err := Lint(ws, Options{Envs: envs, Lookup: lookup})
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for i := range out {
		if rel, err := filepath.Rel(dir, out[i].File); err == nil {
			out[i].File = filepath.ToSlash(rel)
		}
	}
	return out
}

// svc is a workspace with the manifest copilot/svc/manifest.yml and the
// (empty) files named.
func svc(manifest string, files ...string) map[string]string {
	m := map[string]string{"copilot/svc/manifest.yml": manifest}
	for _, f := range files {
		m[f] = ""
	}
	return m
}

func env(manifest string) map[string]string {
	return map[string]string{"copilot/environments/test/manifest.yml": manifest}
}

// blocking returns the findings that fail a run: errors and warnings.
func blocking(l diag.List) diag.List {
	var out diag.List
	for _, d := range l {
		if d.Severity >= diag.Warning {
			out = append(out, d)
		}
	}
	return out
}

func TestLintValidManifests(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
	}{
		{"request-driven web service with overrides and interpolation", svc(`name: svc
type: Request-Driven Web Service
image:
  location: 123456789012.dkr.ecr.us-east-1.amazonaws.com/svc:${TAG}
  port: 8080
cpu: 1024
memory: 2048
http:
  healthcheck:
    path: /health
    healthy_threshold: 3
    interval: 10s
    timeout: 5s
  private:
    endpoint: vpce-0123456789abcdef0
network:
  vpc:
    placement: private
observability:
  tracing: awsxray
variables:
  ENV: ${COPILOT_ENVIRONMENT_NAME}
  APP: ${COPILOT_APPLICATION_NAME}
  LITERAL: \${NOT_A_VAR}
environments:
  prod:
    cpu: 2048
    memory: 4096
    http:
      private: true
`)},
		{"load balanced web service with sidecar, nlb, autoscaling and storage", svc(`name: svc
type: Load Balanced Web Service
image:
  build:
    context: .
    dockerfile: svc/Dockerfile
  port: 8080
  depends_on:
    envoy: start
http:
  path: /
  alias: [api.example.com, www.example.com]
  hosted_zone: Z0123456789
  allowed_source_ips: [10.0.0.0/8]
  healthcheck:
    path: /health
    grace_period: 60s
  target_container: svc
  additional_rules:
    - path: admin
      alias: admin.example.com
      target_container: envoy
nlb:
  port: 443/tls
  target_port: 9000
  target_container: envoy
sidecars:
  envoy:
    image: public.ecr.aws/envoy:v1
    port: 9000
    mount_points:
      - source_volume: data
        path: /data
cpu: 1024
memory: 2048
platform: linux/arm64
count:
  range: 1-10
  cpu_percentage: 70
  requests: 1000
storage:
  volumes:
    data:
      path: /data
      efs: true
    shared:
      path: /shared
      efs:
        id: fs-12345678
        auth:
          iam: true
          access_point_id: fsap-1234
exec: true
network:
  connect: true
taskdef_overrides:
  - path: ContainerDefinitions[0].Ulimits[-]
    value: {Name: nofile, SoftLimit: 1024, HardLimit: 2048}
environments:
  test:
    count: 1
    image:
      location: nginx:${TAG}
`, "svc/Dockerfile")},
		{"backend service with service connect and internal http", svc(`name: svc
type: Backend Service
image:
  location: 123456789012.dkr.ecr.us-east-1.amazonaws.com/svc:latest
  port: 8080
  healthcheck:
    command: ["CMD-SHELL", "curl -f http://localhost:8080/ || exit 1"]
    interval: 10s
http:
  path: /
count:
  range: {min: 1, max: 4}
  response_time: 2s
network:
  connect:
    alias: api
  vpc:
    placement:
      subnets: ${SUBNETS}
`)},
		{"windows backend service", svc(`name: svc
type: Backend Service
image:
  location: mcr.microsoft.com/windows/servercore/iis:latest
  port: 80
platform:
  osfamily: windows_server_2019_core
  architecture: x86_64
cpu: 1024
memory: 2048
`)},
		{"worker service subscribing to a topic published in the workspace", map[string]string{
			"svc/Dockerfile": "",
			// queue_delay scaling reads Container Insights' task count.
			"copilot/environments/test/manifest.yml": envProd[:len("name: ")] + "test" + envProd[len("name: prod"):],
			"copilot/pub/manifest.yml": `name: pub
type: Backend Service
image:
  location: public.ecr.aws/pub:1
publish:
  topics:
    - name: orders
      fifo: true
`,
			"copilot/svc/manifest.yml": `name: svc
type: Worker Service
image:
  build: svc/Dockerfile
subscribe:
  topics:
    - name: orders
      service: pub
      queue:
        fifo:
          high_throughput: true
  queue:
    fifo:
      deduplication_scope: queue
      throughput_limit: perQueue
count:
  range: 1-5
  queue_delay:
    acceptable_latency: 1m
    msg_processing_time: 250ms
`,
		}},
		{"scheduled job with each schedule form per environment", svc(`name: svc
type: Scheduled Job
image:
  build: job/Dockerfile
on:
  schedule: "0 9 * * MON-FRI"
timeout: 1h30m
retries: 3
environments:
  test:
    on:
      schedule: "@every 30m"
  prod:
    on:
      schedule: rate(5 minutes)
`, "job/Dockerfile")},
		{"static site with a us-east-1 certificate", svc(`name: svc
type: Static Site
http:
  alias: www.example.com
  certificate: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
files:
  - source: dist
    destination: /
    recursive: true
    exclude: "*.map"
`, "dist/index.html")},
		{"environment with imported VPC, CDN and internal ALB subnets", env(`name: test
type: Environment
network:
  vpc:
    id: vpc-0123456789abcdef0
    subnets:
      public:
        - id: subnet-0aaa1111
        - id: subnet-0bbb2222
      private:
        - id: subnet-0ccc3333
        - id: subnet-0ddd4444
    security_group:
      ingress:
        - ip_protocol: tcp
          ports: 80-443
          cidr: 10.0.0.0/16
      egress:
        - ip_protocol: tcp
          ports: 5432
          cidr: 10.0.0.0/16
http:
  public:
    certificates:
      - arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
    ingress:
      cdn: true
  private:
    subnets: [subnet-0ccc3333, subnet-0ddd4444]
cdn:
  certificate: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
observability:
  container_insights: true
`)},
		{"environment with a customised VPC", env(`name: test
type: Environment
network:
  vpc:
    cidr: 10.1.0.0/16
    subnets:
      public:
        - cidr: 10.1.0.0/24
          az: us-east-1a
        - cidr: 10.1.1.0/24
          az: us-east-1b
      private:
        - cidr: 10.1.2.0/24
          az: us-east-1a
        - cidr: 10.1.3.0/24
          az: us-east-1b
cdn:
  certificate: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
  terminate_tls: true
`)},
		{"addons with parameters and references", map[string]string{
			"copilot/svc/manifest.yml": "name: svc\ntype: Backend Service\nimage:\n  location: public.ecr.aws/svc:1\n",
			"copilot/svc/addons/db.yml": `Parameters:
  App: {Type: String}
  Env: {Type: String}
  Name: {Type: String}
  Size: {Type: Number}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub ${App}-${Env}-${Name}
      BillingMode: PAY_PER_REQUEST
Outputs:
  TableName:
    Value: !Ref Table
  TableArn:
    Value: !GetAtt Table.Arn
`,
			"copilot/svc/addons/addons.parameters.yml": "Parameters:\n  Size: 10\n",
		}},
		{"worker whose image comes only from the environment overrides", svc(`name: svc
type: Worker Service
environments:
  test:
    image:
      location: public.ecr.aws/w:test
  prod:
    image:
      location: public.ecr.aws/w:prod
`)},
		{"manifest files given with CRLF line endings", svc("name: svc\r\ntype: Backend Service\r\nimage:\r\n  location: public.ecr.aws/svc:1\r\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := lintWorkspace(t, tc.files)
			if b := blocking(got); len(b) > 0 {
				t.Errorf("want no errors or warnings, got:\n%s", render(b))
			}
		})
	}
}

// TestLintExample keeps the README's quick start honest.
func TestLintExample(t *testing.T) {
	ws, err := workspace.Load("../../examples/apprunner-vpc")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	got, err := Lint(ws, Options{Lookup: lookup})
	if err != nil {
		t.Fatal(err)
	}
	// Beyond the App Runner availability notice, only the staging
	// environment's move to ECS Express Mode is explained, with positions.
	var other, express diag.List
	for _, d := range got {
		switch {
		case d.Rule == ruleRenderExpress && d.Env == "staging" && d.Line > 0:
			express = append(express, d)
		case d.Rule != "apprunner-availability" || d.Severity != diag.Notice:
			other = append(other, d)
		}
	}
	if len(other) > 0 || got.Count(diag.Notice) < 2 {
		t.Errorf("want the App Runner availability notice and the Express mapping, got:\n%s", render(got))
	}
	for _, want := range []string{"beside the App Runner service", "internal load balancer"} {
		if !slices.ContainsFunc(express, func(d diag.Diagnostic) bool { return strings.Contains(d.Message, want) }) {
			t.Errorf("lint does not explain %q:\n%s", want, render(express))
		}
	}
}

func render(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		fmt.Fprintf(&b, "  %s:%d:%d %s [%s] env=%q: %s (fix: %s)\n", d.File, d.Line, d.Column, d.Severity, d.Rule, d.Env, d.Message, d.Fix)
	}
	return b.String()
}

// want is one expected finding. Column 0 means "any column"; File "" means
// the workload manifest copilot/svc/manifest.yml (or, for cases built with
// env(), the test environment's manifest).
type want struct {
	rule string
	sev  diag.Severity
	line int
	col  int
	env  string
	file string
	// text, when set, must appear in the message or the fix.
	text string
}

func (w want) matches(d diag.Diagnostic) bool {
	return d.Rule == w.rule && d.Severity == w.sev && d.Line == w.line && (w.col == 0 || d.Column == w.col) &&
		d.Env == w.env && d.File == w.file &&
		(w.text == "" || strings.Contains(d.Message, w.text) || strings.Contains(d.Fix, w.text))
}

const (
	svcFile  = "copilot/svc/manifest.yml"
	testFile = "copilot/environments/test/manifest.yml"
)

func TestLintInvalid(t *testing.T) {
	E, W, N := diag.Error, diag.Warning, diag.Notice
	cases := []struct {
		name  string
		files map[string]string
		want  []want
		// others allows further errors and warnings besides want.
		others bool
	}{
		// --- JSON Schema findings ---
		{name: "quoted port is a string", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n  port: \"80\"\n"),
			want: []want{{rule: "schema/type", sev: E, line: 5, col: 9, text: "remove the quotes"}}},
		{name: "unknown top-level key suggests the right one", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ncpuu: 256\n"),
			want: []want{{rule: "unknown-key", sev: W, line: 5, col: 1, text: `did you mean "cpu"?`}}},
		{name: "unknown nested key", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n  prot: 80\n"),
			want: []want{{rule: "unknown-key", sev: W, line: 5, col: 3, text: `"port"`}}},
		{name: "request-driven service without a port", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  build: Dockerfile\n", "Dockerfile"),
			want: []want{{rule: "schema/required", sev: E, line: 4, col: 3, text: "port"}}},
		{name: "image with both build and location", files: svc("name: svc\ntype: Backend Service\nimage:\n  build: Dockerfile\n  location: nginx\n", "Dockerfile"),
			want: []want{{rule: "exclusive-fields", sev: E, line: 5, col: 13, text: `"build" and "location"`}}},
		{name: "missing Dockerfile is found at image.build", files: svc("name: svc\ntype: Backend Service\nimage:\n  build: svc/Dockerfile\n  port: 80\n", "svc/app.py"),
			want: []want{{rule: "image-build-path", sev: E, line: 4, col: 10, text: `"svc/Dockerfile"`}}},
		{name: "missing build context", files: svc("name: svc\ntype: Backend Service\nimage:\n  build:\n    context: web\n  port: 80\n"),
			want: []want{{rule: "image-build-path", sev: E, line: 5, col: 14, text: `"web" is not a folder`}}},
		{name: "missing sidecar Dockerfile is found at its image.build", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n  port: 80\nsidecars:\n  proxy:\n    image:\n      build: proxy/Dockerfile\n"),
			want: []want{{rule: "image-build-path", sev: E, line: 9, col: 14, text: `sidecars.proxy.image.build names Dockerfile "proxy/Dockerfile"`}}},
		{name: "context without its Dockerfile", files: svc("name: svc\ntype: Backend Service\nimage:\n  build:\n    context: svc\n  port: 80\n", "svc/app.py"),
			want: []want{{rule: "image-build-path", sev: E, line: 5, col: 14, text: `"svc/Dockerfile"`}}},
		{name: "load balanced service without http", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\n"),
			want: []want{{rule: "schema/required", sev: E, line: 1, col: 1, text: "http"}}},
		{name: "http disabled without nlb", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp: false\n"),
			want: []want{{rule: "schema/required", sev: E, line: 1, col: 1, text: "nlb"}}},
		{name: "http map without path", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  healthcheck: /health\n"),
			want: []want{{rule: "schema/required", sev: E, line: 7, col: 3, text: "path"}}},
		{name: "http version out of enum", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  version: HTTP3\n"),
			want: []want{{rule: "schema/pattern", sev: E, line: 8, col: 12}}},
		{name: "ephemeral storage below 20 GiB", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nstorage:\n  ephemeral: 10\n"),
			want: []want{{rule: "schema/range", sev: E, line: 6, col: 14}}},
		{name: "taskdef override of the family", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ntaskdef_overrides:\n  - path: Family\n    value: x\n"),
			want: []want{{rule: "schema/not-allowed", sev: E, line: 6, col: 11, text: "taskdef_overrides[0].path"}}},
		{name: "scheduled job without a schedule", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non: {}\n"),
			want: []want{{rule: "schema/required", sev: E, line: 5, col: 5, text: "schedule"}}},
		{name: "count as a quoted number", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ncount: \"3\"\n"),
			want: []want{{rule: "schema/type", sev: E, line: 5, col: 8}}},
		{name: "static site file without source", files: svc("name: svc\ntype: Static Site\nfiles:\n  - destination: /\n"),
			want: []want{{rule: "schema/required", sev: E, line: 4, col: 5, text: "source"}}},
		{name: "worker fifo deduplication scope enum", files: svc("name: svc\ntype: Worker Service\nimage:\n  location: nginx\nsubscribe:\n  queue:\n    fifo:\n      deduplication_scope: group\n"),
			want: []want{{rule: "schema/enum", sev: E, line: 8, col: 28, text: "messageGroup"}}},
		{name: "environment port range format", files: env("name: test\ntype: Environment\nnetwork:\n  vpc:\n    security_group:\n      ingress:\n        - ip_protocol: tcp\n          ports: 80:90\n          cidr: 0.0.0.0/0\n"),
			want: []want{{rule: "schema/pattern", sev: E, line: 8, col: 18, file: testFile, env: ""}}},
		{name: "environment certificate is not an ARN", files: env("name: test\ntype: Environment\nhttp:\n  public:\n    certificates: [not-an-arn]\n"),
			want: []want{{rule: "schema/pattern", sev: E, line: 5, col: 20, file: testFile}}},
		{name: "source ip is not a CIDR", files: env("name: test\ntype: Environment\nhttp:\n  public:\n    ingress:\n      source_ips: [1.2.3.4]\n"),
			want: []want{{rule: "schema/pattern", sev: E, line: 6, col: 20, file: testFile}}},

		// --- x-autopilot (ECS Express Mode) ---
		{name: "x-autopilot runtime value", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\nx-autopilot:\n  runtime: fargate\n"),
			want: []want{{rule: "schema/enum", sev: E, line: 7, col: 12, text: "ecs-express"}, {rule: "apprunner-availability", sev: N, line: 2, col: 7}}},
		{name: "x-autopilot is a Request-Driven Web Service's", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nx-autopilot:\n  runtime: ecs-express\n"),
			want: []want{{rule: "unknown-key", sev: W, line: 5, col: 1}}},
		{name: "removing App Runner needs the Express runtime", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\nhttp:\n  healthcheck: /health\nenvironments:\n  prod:\n    x-autopilot:\n      app-runner: remove\n"),
			want: []want{{rule: "render/manifest", sev: E, line: 11, col: 19, env: "prod", text: "needs runtime: ecs-express"}, {rule: "apprunner-availability", sev: N, line: 2, col: 7}}},
		{name: "the Express mapping per environment", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\ncount: high-availability/3\nenvironments:\n  prod:\n    x-autopilot:\n      runtime: ecs-express\n"),
			want: []want{
				{rule: "render/ecs-express", sev: N, line: 10, col: 16, env: "prod", text: "beside the App Runner service"},
				{rule: "render/ecs-express", sev: N, line: 10, col: 7, env: "prod", text: "auto scaling"},
				{rule: "render/ecs-express", sev: W, line: 10, col: 7, env: "prod", text: "over TCP"},
				{rule: "render/ecs-express", sev: W, line: 6, col: 8, env: "prod", text: "high-availability/3"},
				{rule: "apprunner-availability", sev: N, line: 2, col: 7},
			}},

		{name: "step 2 leaves no App Runner service to warn about", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\nhttp:\n  healthcheck: /health\nx-autopilot:\n  runtime: ecs-express\n  app-runner: remove\n"),
			want: []want{
				{rule: "render/ecs-express", sev: N, line: 10, col: 15, text: "deletes the App Runner service"},
				{rule: "render/ecs-express", sev: N, line: 9, col: 3, text: "auto scaling"},
			}},

		// --- the lead's rules ---
		{name: "App Runner size pair", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\ncpu: 1024\nmemory: 512\n"),
			want: []want{{rule: "apprunner-instance-size", sev: E, line: 7, col: 9}, {rule: "apprunner-availability", sev: N, line: 2, col: 7}}},
		{name: "Fargate size pair", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ncpu: 256\nmemory: 4096\n"),
			want: []want{{rule: "fargate-task-size", sev: E, line: 6, col: 9, text: "512, 1024, 2048"}}},
		{name: "App Runner health check threshold", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\nhttp:\n  healthcheck:\n    path: /\n    healthy_threshold: 25\n"),
			want: []want{{rule: "apprunner-healthcheck-range", sev: E, line: 9, col: 24}}},
		{name: "App Runner service name too long", files: svc("name: a-request-driven-service-with-a-long-name\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\n"),
			want: []want{{rule: "name-length", sev: E, line: 1, col: 7, env: "test", text: `"demo-test-a-request-driven-service-with-a-long-name" is 51`},
				{rule: "name-length", sev: E, line: 1, col: 7, env: "prod", text: `"demo-prod-a-request-driven-service-with-a-long-name" is 51`}}},
		{name: "App Runner public placement", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\nnetwork:\n  vpc:\n    placement: public\n"),
			want: []want{{rule: "schema/enum", sev: E, line: 8, col: 16}}},
		{name: "range without metric", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ncount:\n  range: 1-10\n"),
			want: []want{{rule: "autoscaling", sev: E, line: 6, col: 3}}},
		{name: "range with min above max", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ncount:\n  range: 10-1\n  cpu_percentage: 50\n"),
			want: []want{{rule: "autoscaling", sev: E, line: 6, col: 10, text: "min is greater than max"}}},
		{name: "worker scaling on requests", files: svc("name: svc\ntype: Worker Service\nimage:\n  location: nginx\ncount:\n  range: 1-10\n  requests: 100\n"),
			want: []want{{rule: "autoscaling", sev: E, line: 7, col: 3, text: "not supported for Worker Service"}}},
		{name: "scheduled job autoscaling", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non:\n  schedule: \"@daily\"\ncount:\n  spot: 2\n"),
			want: []want{{rule: "schema/type", sev: E, line: 8, col: 3}}},
		{name: "spot with range", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ncount:\n  spot: 2\n  range: 1-4\n  cpu_percentage: 50\n"),
			want: []want{{rule: "autoscaling", sev: E, line: 6, col: 9}}},
		{name: "imported VPC with a CIDR", files: env("name: test\ntype: Environment\nnetwork:\n  vpc:\n    id: vpc-1\n    cidr: 10.0.0.0/16\n    subnets:\n      public: [{id: a}, {id: b}]\n"),
			want: []want{{rule: "env-vpc", sev: E, line: 6, col: 11, file: testFile}}},
		{name: "imported VPC with one public subnet", files: env("name: test\ntype: Environment\nnetwork:\n  vpc:\n    id: vpc-1\n    subnets:\n      public:\n        - id: subnet-a\n"),
			want: []want{{rule: "env-vpc", sev: E, line: 8, col: 9, file: testFile, text: "at least two"}}},
		{name: "unknown manifest type suggests the right one", files: svc("name: svc\ntype: Load Balanced Service\n"),
			want: []want{{rule: "manifest-type", sev: E, line: 2, col: 7, text: `"Load Balanced Web Service"`}}},

		// --- load balancer rules ---
		{name: "hosted zone without alias", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  hosted_zone: Z123\n"),
			want: []want{{rule: "http-hosted-zone", sev: E, line: 8, col: 3}}},
		{name: "target_container and targetContainer", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  target_container: svc\n  targetContainer: svc\n"),
			want: []want{{rule: "http-target-container-conflict", sev: E, line: 9, col: 3}}},
		{name: "five aliases and source ips in one rule", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  alias: [a.example.com, b.example.com, c.example.com]\n  allowed_source_ips: [10.0.0.0/8, 192.168.0.0/16]\n"),
			want: []want{{rule: "http-rule-conditions", sev: E, line: 7, col: 3, text: "5 aliases"}}},
		{name: "grace period in an additional rule", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  additional_rules:\n    - path: admin\n      healthcheck:\n        path: /\n        grace_period: 30s\n"),
			want: []want{{rule: "grace-period", sev: E, line: 12, col: 23}}},
		{name: "grace period on both load balancers", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  healthcheck:\n    path: /\n    grace_period: 30s\nnlb:\n  port: 443/tls\n  healthcheck:\n    grace_period: 30s\n"),
			want: []want{{rule: "grace-period", sev: E, line: 14, col: 19}}},
		{name: "nlb port out of range", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp: false\nnlb:\n  port: 70000/tcp\n"),
			want: []want{{rule: "nlb-port", sev: E, line: 8, col: 9}}},
		{name: "nlb alias with hosted zone", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp: false\nnlb:\n  port: 80\n  alias:\n    - name: a.example.com\n      hosted_zone: Z1\n"),
			want: []want{{rule: "nlb-hosted-zone", sev: E, line: 11, col: 7}}},
		{name: "target container that does not exist", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  target_container: proxy\n"),
			want: []want{{rule: "target-container", sev: E, line: 8, col: 21, text: `"proxy" does not exist`}}},
		{name: "target sidecar without a port", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  target_container: proxy\nsidecars:\n  proxy:\n    image: nginx\n"),
			want: []want{{rule: "target-container", sev: E, line: 8, col: 21, text: "does not expose a port"}}},
		{name: "two containers on one port", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 8080\nhttp:\n  path: /\nsidecars:\n  proxy:\n    image: nginx\n    port: 8080\n"),
			want: []want{{rule: "exposed-ports", sev: E, line: 5, col: 9, text: "port 8080"}}},
		{name: "health check on a UDP port", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp: false\nnlb:\n  port: 53/udp\n"),
			want: []want{{rule: "healthcheck-port", sev: E, line: 8, col: 9, text: "UDP"}}},
		{name: "one container exposing a port as TCP and UDP", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp: false\nnlb:\n  port: 80/udp\n  target_port: 8053\n  healthcheck:\n    port: 80\n  additional_listeners:\n    - port: 8053/tcp\n"),
			want: []want{{rule: "exposed-ports", sev: E, line: 13, col: 13, text: "both UDP and TCP"}, {rule: "healthcheck-port", sev: E, line: 13, col: 13, text: "port 8053"}}},
		{name: "load balanced service scaling on requests with http disabled", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp: false\nnlb:\n  port: 80\ncount:\n  range: 1-4\n  response_time: 2s\n"),
			want: []want{{rule: "autoscaling-needs-http", sev: E, line: 11, col: 3}}},
		{name: "backend scaling on requests without http", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n  port: 80\ncount:\n  range: 1-4\n  requests: 100\n"),
			want: []want{{rule: "autoscaling-needs-http", sev: E, line: 8, col: 3}}},

		// --- containers, storage and platforms ---
		{name: "service connect alias on a worker", files: svc("name: svc\ntype: Worker Service\nimage:\n  location: nginx\nnetwork:\n  connect:\n    alias: w\n"),
			want: []want{{rule: "connect-alias", sev: E, line: 7, col: 12}}},
		{name: "service connect alias without a port", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nnetwork:\n  connect:\n    alias: api\n"),
			want: []want{{rule: "connect-alias", sev: E, line: 7, col: 12}}},
		{name: "sidecar port out of range", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nsidecars:\n  proxy:\n    image: nginx\n    port: \"99999/tcp\"\n"),
			want: []want{{rule: "sidecar-port", sev: E, line: 8, col: 11}}},
		{name: "depends on an unknown container", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n  depends_on:\n    db: start\n"),
			want: []want{{rule: "container-dependencies", sev: E, line: 6, col: 5, text: `"db"`}}},
		{name: "waiting for an essential sidecar to complete", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n  depends_on:\n    init: complete\nsidecars:\n  init:\n    image: busybox\n"),
			want: []want{{rule: "container-dependencies", sev: E, line: 6, col: 11, text: "START or HEALTHY"}}},
		{name: "non-essential sidecar may complete", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n  depends_on:\n    init: success\nsidecars:\n  init:\n    image: busybox\n    essential: false\n    depends_on:\n      init: start\n"),
			want: []want{{rule: "container-dependencies", sev: E, line: 12, col: 7, text: "itself"}}},
		{name: "container dependency loop", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n  depends_on:\n    a: start\nsidecars:\n  a:\n    image: busybox\n    depends_on:\n      b: start\n  b:\n    image: busybox\n    depends_on:\n      svc: start\n"),
			want: []want{{rule: "container-dependencies", sev: E, line: 8, col: 3, text: "svc -> a -> b -> svc"}}},
		{name: "two managed EFS volumes", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nstorage:\n  volumes:\n    a:\n      path: /a\n      efs: true\n    b:\n      path: /b\n      efs:\n        uid: 1000\n        gid: 1000\n"),
			want: []want{{rule: "storage-efs", sev: E, line: 13, col: 9, text: "only one volume"}}},
		{name: "EFS id with uid", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nstorage:\n  volumes:\n    a:\n      path: /a\n      efs:\n        id: fs-1\n        uid: 1000\n        gid: 1000\n"),
			want: []want{{rule: "storage-efs", sev: E, line: 11, col: 14}}},
		{name: "EFS uid without gid", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nstorage:\n  volumes:\n    a:\n      path: /a\n      efs:\n        uid: 1000\n"),
			want: []want{{rule: "storage-efs", sev: E, line: 10, col: 14, text: "add gid"}}},
		{name: "EFS access point with a root dir", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nstorage:\n  volumes:\n    a:\n      path: /a\n      efs:\n        id: fs-1\n        root_dir: /data\n        auth:\n          access_point_id: fsap-1\n"),
			want: []want{{rule: "storage-efs", sev: E, line: 13, col: 28}}},
		{name: "sidecar mounts an undeclared volume", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nsidecars:\n  log:\n    image: busybox\n    mount_points:\n      - source_volume: logs\n        path: /logs\n"),
			want: []want{{rule: "mount-point-volume", sev: E, line: 9, col: 24}}},
		{name: "Windows with EFS and a read-only root", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: mcr.microsoft.com/windows/servercore\nplatform: windows/x86_64\ncpu: 1024\nmemory: 2048\nstorage:\n  readonly_fs: true\n  volumes:\n    a:\n      path: /a\n      efs: true\n"),
			want: []want{{rule: "windows", sev: E, line: 9, col: 16}, {rule: "windows", sev: E, line: 13, col: 12, text: "EFS"}}},
		{name: "Windows with the default task size", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: mcr.microsoft.com/windows/servercore\nplatform: windows/x86_64\n"),
			want: []want{{rule: "windows", sev: E, line: 5, col: 11, text: "1024"}}},
		{name: "Windows with exec", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: mcr.microsoft.com/windows/servercore\nplatform: {osfamily: windows_server_2022_core, architecture: x86_64}\ncpu: 1024\nmemory: 2048\nexec: true\n"),
			want: []want{{rule: "windows", sev: W, line: 8, col: 7}}},
		{name: "Windows with FireLens", files: svc("name: svc\ntype: Worker Service\nimage:\n  location: mcr.microsoft.com/windows/servercore\nplatform: windows/amd64\ncpu: 1024\nmemory: 2048\nlogging:\n  destination:\n    Name: cloudwatch\n"),
			want: []want{{rule: "windows", sev: E, line: 8, col: 1, text: "FireLens"}}},
		{name: "ARM with Fargate Spot", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nplatform: linux/arm64\ncount:\n  range:\n    min: 1\n    max: 10\n    spot_from: 2\n  cpu_percentage: 50\n"),
			want: []want{{rule: "arm-spot", sev: E, line: 10, col: 16}}},

		// --- Worker Service, Scheduled Job, Static Site, App Runner ---
		{name: "high throughput FIFO with a deduplication scope", files: svc("name: svc\ntype: Worker Service\nimage:\n  location: nginx\nsubscribe:\n  queue:\n    fifo:\n      high_throughput: true\n      deduplication_scope: messageGroup\n"),
			want: []want{{rule: "fifo-queue", sev: E, line: 9, col: 7}}},
		{name: "queue deduplication with per-group throughput", files: svc("name: svc\ntype: Worker Service\nimage:\n  location: nginx\nsubscribe:\n  topics:\n    - name: t\n      service: api\n      queue:\n        fifo:\n          deduplication_scope: queue\n          throughput_limit: perMessageGroupId\n"),
			want: []want{{rule: "fifo-queue", sev: E, line: 12, col: 29}, {rule: "subscribe-topic", sev: W, line: 8, col: 16}}},
		{name: "subscribed topic not published", files: map[string]string{
			"copilot/api/manifest.yml": "name: api\ntype: Backend Service\nimage:\n  location: nginx\npublish:\n  topics:\n    - name: orders\n",
			"copilot/svc/manifest.yml": "name: svc\ntype: Worker Service\nimage:\n  location: nginx\nsubscribe:\n  topics:\n    - name: order\n      service: api\n",
		}, want: []want{{rule: "subscribe-topic", sev: E, line: 7, col: 13, text: `"order"`}}},
		{name: "cron with six fields", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non:\n  schedule: \"0 0 9 * * 1\"\n"),
			want: []want{{rule: "schedule", sev: E, line: 6, col: 13, text: "5 fields"}}},
		{name: "cron hour out of range", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non:\n  schedule: \"0 25 * * *\"\n"),
			want: []want{{rule: "schedule", sev: E, line: 6, col: 13, text: "hour"}}},
		{name: "cron with both day fields", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non:\n  schedule: \"0 9 1 * MON\"\n"),
			want: []want{{rule: "schedule", sev: E, line: 6, col: 13, text: "both"}}},
		{name: "every with seconds", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non:\n  schedule: \"@every 30s\"\n"),
			want: []want{{rule: "schedule", sev: E, line: 6, col: 13, text: "at least 1 minute"}}},
		{name: "unknown preset", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non:\n  schedule: \"@dayly\"\n"),
			want: []want{{rule: "schedule", sev: E, line: 6, col: 13, text: `"@daily"`}}},
		{name: "rate with a plural for one", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non:\n  schedule: rate(1 minutes)\n"),
			want: []want{{rule: "schedule", sev: E, line: 6, col: 13, text: "rate(1 minute)"}}},
		{name: "EventBridge cron with five fields", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non:\n  schedule: cron(0 9 * * ?)\n"),
			want: []want{{rule: "schedule", sev: E, line: 6, col: 13, text: "6 fields"}}},
		{name: "a value of the wrong type does not hide a cross-field error", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\ncpu: [256]\non:\n  schedule: \"0 25 * * *\"\n"),
			want: []want{{rule: "schema/type", sev: E, line: 5, col: 6}, {rule: "schedule", sev: E, line: 7, col: 13, text: "hour"}}},
		{name: "job timeout below a second", files: svc("name: svc\ntype: Scheduled Job\nimage:\n  location: nginx\non:\n  schedule: none\ntimeout: 500ms\n"),
			want: []want{{rule: "job-timeout", sev: E, line: 7, col: 10}}},
		{name: "static site certificate outside us-east-1 without alias", files: svc("name: svc\ntype: Static Site\nhttp:\n  certificate: arn:aws:acm:eu-west-1:123456789012:certificate/abc\nfiles:\n  - source: dist\n"),
			want: []want{{rule: "static-site-certificate", sev: E, line: 4, col: 16, text: "http.alias"}, {rule: "static-site-certificate", sev: E, line: 4, col: 16, text: "eu-west-1"}}},
		{name: "App Runner endpoint that is not a VPC endpoint", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\nhttp:\n  private:\n    endpoint: my-endpoint\n"),
			want: []want{{rule: "apprunner-private-endpoint", sev: E, line: 8, col: 15}, {rule: "apprunner-availability", sev: N, line: 2, col: 7}}},
		{name: "App Runner image from Docker Hub", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: nginx:latest\n  port: 80\n"),
			want: []want{{rule: "apprunner-image", sev: E, line: 4, col: 13}}},
		{name: "App Runner on arm64", files: svc("name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/x/y\n  port: 80\nplatform: linux/arm64\n"),
			want: []want{{rule: "schema/pattern", sev: E, line: 6, col: 11}}, others: true},

		{name: "container health check retries above ECS's limit", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n  healthcheck:\n    command: [CMD-SHELL, exit 0]\n    retries: 20\nsidecars:\n  proxy:\n    image: nginx\n    healthcheck:\n      command: [CMD-SHELL, exit 0]\n      interval: 2s\n"),
			want: []want{{rule: "container-healthcheck-range", sev: E, line: 7, col: 14, text: "1 to 10"}, {rule: "container-healthcheck-range", sev: E, line: 13, col: 17, text: "5s to 5m"}}},
		{name: "load balancer health check out of range", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\n  healthcheck:\n    path: /\n    healthy_threshold: 1\n    interval: 10s\n    timeout: 10s\n"),
			want: []want{{rule: "lb-healthcheck-range", sev: E, line: 10, col: 24, text: "2 to 10"}, {rule: "lb-healthcheck-range", sev: E, line: 12, col: 14, text: "shorter than its interval"}}},
		{name: "deregistration delay above an hour", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp: false\nnlb:\n  port: 80\n  deregistration_delay: 2h\n"),
			want: []want{{rule: "deregistration-delay", sev: E, line: 9, col: 25, text: "0s to 1h"}}},
		{name: "queue retention beyond 14 days", files: svc("name: svc\ntype: Worker Service\nimage:\n  location: nginx\nsubscribe:\n  queue:\n    retention: 400h\n    dead_letter:\n      tries: 0\n"),
			want: []want{{rule: "queue-range", sev: E, line: 7, col: 16, text: "336h"}, {rule: "queue-range", sev: E, line: 9, col: 14, text: "1 to 1000"}}},
		{name: "queue delay scaling without Container Insights", files: svc("name: svc\ntype: Worker Service\nimage:\n  location: nginx\ncount:\n  range: 1-5\n  queue_delay: {acceptable_latency: 1m, msg_processing_time: 1s}\n"),
			want: []want{{rule: "queue-delay-insights", sev: W, line: 7, col: 16, env: "test", text: "environment test does not turn on"}}},

		{name: "command with an unclosed quote", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ncommand: python -c \"print(1)\nsidecars:\n  proxy:\n    image: envoy\n    entrypoint: 'sh -c \"run'\n"),
			want: []want{{rule: "command-words", sev: E, line: 5, col: 10, text: "closing quote"}, {rule: "command-words", sev: E, line: 9, col: 17, text: "sidecars.proxy.entrypoint"}}},
		// --- environment rules ---
		{name: "flow_logs false still creates flow logs", files: env("name: test\ntype: Environment\nnetwork:\n  vpc:\n    flow_logs: false\n"),
			want: []want{{rule: "env-flow-logs-false", sev: W, line: 5, col: 16, file: testFile, text: "remove the key"}}},
		{name: "deprecated and new ingress together", files: env("name: test\ntype: Environment\nhttp:\n  public:\n    security_groups:\n      ingress:\n        restrict_to:\n          cdn: true\n    ingress:\n      cdn: true\ncdn: true\n"),
			want: []want{{rule: "env-ingress-conflict", sev: E, line: 5, col: 5, file: testFile}}},
		{name: "public load balancer with from_vpc", files: env("name: test\ntype: Environment\nhttp:\n  public:\n    security_groups:\n      ingress:\n        from_vpc: true\n"),
			want: []want{{rule: "env-deprecated-ingress", sev: E, line: 7, col: 19, file: testFile}}},
		{name: "ingress limited to a CDN that is off", files: env("name: test\ntype: Environment\nhttp:\n  public:\n    ingress:\n      cdn: true\n"),
			want: []want{{rule: "env-cdn-ingress", sev: E, line: 6, col: 12, file: testFile}}},
		{name: "deprecated ingress limited to a CDN that is off", files: env("name: test\ntype: Environment\nhttp:\n  public:\n    security_groups:\n      ingress:\n        restrict_to:\n          cdn: true\n"),
			want: []want{{rule: "env-cdn-ingress", sev: E, line: 8, col: 16, file: testFile}}},
		{name: "internal load balancer restricted to source IPs", files: env("name: test\ntype: Environment\nhttp:\n  private:\n    security_groups:\n      ingress:\n        restrict_to:\n          source_ips: [10.0.0.0/8]\n"),
			want: []want{{rule: "env-deprecated-ingress", sev: E, line: 8, col: 11, file: testFile}}},
		{name: "CDN certificate outside us-east-1", files: env("name: test\ntype: Environment\ncdn:\n  certificate: arn:aws:acm:eu-west-1:123456789012:certificate/abc\n  terminate_tls: true\n"),
			want: []want{{rule: "env-cdn-certificate", sev: E, line: 4, col: 16, file: testFile, text: "eu-west-1"}}},
		{name: "CDN certificate without terminate_tls", files: env("name: test\ntype: Environment\ncdn:\n  certificate: arn:aws:acm:us-east-1:123456789012:certificate/abc\n"),
			want: []want{{rule: "env-cdn-certificate", sev: E, line: 4, col: 16, file: testFile, text: "terminate_tls"}}},
		{name: "public certificates with a CDN but no CDN certificate", files: env("name: test\ntype: Environment\nhttp:\n  public:\n    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/abc]\ncdn: true\n"),
			want: []want{{rule: "env-cdn-certificate", sev: E, line: 6, col: 6, file: testFile}}},
		{name: "internal ALB subnets without an imported VPC", files: env("name: test\ntype: Environment\nhttp:\n  private:\n    subnets: [subnet-1, subnet-2]\n"),
			want: []want{{rule: "env-private-subnets", sev: E, line: 5, col: 14, file: testFile}}},
		{name: "internal ALB subnet not imported", files: env("name: test\ntype: Environment\nnetwork:\n  vpc:\n    id: vpc-1\n    subnets:\n      private: [{id: subnet-1}, {id: subnet-2}]\nhttp:\n  private:\n    subnets: [subnet-1, subnet-9]\n"),
			want: []want{{rule: "env-private-subnets", sev: E, line: 10, col: 25, file: testFile, text: "subnet-9"}}},
		{name: "security group port range backwards", files: env("name: test\ntype: Environment\nnetwork:\n  vpc:\n    security_group:\n      egress:\n        - ip_protocol: tcp\n          ports: 443-80\n          cidr: 0.0.0.0/0\n"),
			want: []want{{rule: "env-sg-ports", sev: E, line: 8, col: 18, file: testFile}}},
		{name: "subnet outside the VPC and overlapping", files: env("name: test\ntype: Environment\nnetwork:\n  vpc:\n    cidr: 10.0.0.0/16\n    subnets:\n      public:\n        - cidr: 10.0.0.0/24\n          az: a\n        - cidr: 10.0.0.128/25\n          az: b\n      private:\n        - cidr: 10.9.0.0/24\n          az: a\n        - cidr: 10.0.2.0/24\n          az: b\n"),
			want: []want{{rule: "env-subnet-cidr", sev: E, line: 10, col: 17, file: testFile, text: "overlaps"}, {rule: "env-subnet-cidr", sev: E, line: 13, col: 17, file: testFile, text: "outside"}}},
		{name: "more subnets than availability zones", files: env("name: test\ntype: Environment\nnetwork:\n  vpc:\n    subnets:\n      public:\n        - {cidr: 10.0.0.0/24, az: a}\n        - {cidr: 10.0.1.0/24, az: b}\n        - {cidr: 10.0.4.0/24, az: b}\n      private:\n        - {cidr: 10.0.2.0/24, az: a}\n        - {cidr: 10.0.3.0/24, az: b}\n"),
			want: []want{{rule: "env-subnet-cidr", sev: E, line: 7, col: 9, file: testFile, text: "3 CIDRs for 2"}}},
		{name: "managed subnet without a cidr", files: env("name: test\ntype: Environment\nnetwork:\n  vpc:\n    subnets:\n      public:\n        - az: us-east-1a\n"),
			want: []want{{rule: "env-subnet-cidr", sev: E, line: 7, col: 11, file: testFile}}, others: true},

		// --- addons ---
		{name: "addon missing the Name parameter", files: map[string]string{
			"copilot/svc/manifest.yml":  "name: svc\ntype: Backend Service\nimage:\n  location: nginx\n",
			"copilot/svc/addons/db.yml": "Parameters:\n  App: {Type: String}\n  Env: {Type: String}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n",
		}, want: []want{{rule: "addon-parameters", sev: E, line: 2, col: 3, file: "copilot/svc/addons/db.yml", text: "Name"}}},
		{name: "addon parameter value for an undeclared parameter", files: map[string]string{
			"copilot/svc/manifest.yml":                 "name: svc\ntype: Backend Service\nimage:\n  location: nginx\n",
			"copilot/svc/addons/db.yml":                "Parameters:\n  App: {Type: String}\n  Env: {Type: String}\n  Name: {Type: String}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n",
			"copilot/svc/addons/addons.parameters.yml": "Parameters:\n  Size: 10\n",
		}, want: []want{{rule: "addon-parameters", sev: E, line: 2, col: 3, file: "copilot/svc/addons/addons.parameters.yml", text: "Size"}}},
		{name: "addon Ref to nothing", files: map[string]string{
			"copilot/svc/manifest.yml":  "name: svc\ntype: Backend Service\nimage:\n  location: nginx\n",
			"copilot/svc/addons/db.yml": "Parameters:\n  App: {Type: String}\n  Env: {Type: String}\n  Name: {Type: String}\nResources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  Arn:\n    Value: !Ref Topic\n",
		}, want: []want{{rule: "addon-reference", sev: E, line: 10, col: 12, file: "copilot/svc/addons/db.yml", text: `"Topic"`}}},
		{name: "addon with Aurora Serverless v1", files: map[string]string{
			"copilot/environments/addons/db.yml": "Parameters:\n  App: {Type: String}\n  Env: {Type: String}\nResources:\n  Cluster:\n    Type: AWS::RDS::DBCluster\n    Properties:\n      Engine: aurora-postgresql\n      EngineMode: serverless\n",
		}, want: []want{{rule: "aurora-serverless-v1", sev: E, line: 9, col: 19, file: "copilot/environments/addons/db.yml"}}},
		{name: "addon that is not YAML", files: map[string]string{
			"copilot/svc/manifest.yml":  "name: svc\ntype: Backend Service\nimage:\n  location: nginx\n",
			"copilot/svc/addons/db.yml": "Resources:\n  T: [\n",
		}, want: []want{{rule: "yaml-syntax", sev: E, line: 3, file: "copilot/svc/addons/db.yml"}}},

		// --- bad input ---
		{name: "malformed YAML", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\n   port: 80\n"),
			want: []want{{rule: "yaml-syntax", sev: E, line: 5}}},
		{name: "duplicate keys", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ncpu: 256\ncpu: 512\n"),
			want: []want{{rule: "duplicate-key", sev: E, line: 6, col: 1}}, others: true},
		{name: "alias bomb", files: svc("name: svc\ntype: Backend Service\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"),
			want: []want{{rule: "yaml-limits", sev: E, line: 3, text: "alias expansion"}}},
		{name: "deep nesting", files: svc("name: svc\ntype: Backend Service\nx: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n"),
			want: []want{{rule: "yaml-limits", sev: E, line: 3}}},
		{name: "binary file", files: svc("name: svc\x00\x01\x02\xff\xfe"),
			want: []want{{rule: "not-text", sev: E, line: 0}}},
		{name: "manifest with no type", files: svc("name: svc\nimage:\n  location: nginx\n"),
			want: []want{{rule: "manifest-type", sev: E, line: 1, col: 1, text: "no type"}}},
		{name: "manifest that is a list", files: svc("- name: svc\n- type: Backend Service\n"),
			want: []want{{rule: "not-a-mapping", sev: E, line: 1, col: 1}}},
		{name: "empty manifest", files: svc(""),
			want: []want{{rule: "empty-file", sev: E, line: 1}}},

		// --- variables, pipelines, environments ---
		{name: "undefined variable is a warning at lint", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx:${UNSET_VAR}\n"),
			want: []want{{rule: "undefined-variable", sev: W, line: 4, col: 13, text: "UNSET_VAR"}}},
		{name: "pipeline manifest is skipped with a notice", files: map[string]string{
			"copilot/pipelines/main/manifest.yml": "name: main\nversion: 1\nsource:\n  provider: GitHub\n",
		}, want: []want{{rule: "pipeline-skipped", sev: N, line: 1, col: 1, file: "copilot/pipelines/main/manifest.yml"}}},
		{name: "override invalid for one environment names it", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\ncpu: 256\nmemory: 512\nenvironments:\n  prod:\n    memory: 4096\n"),
			want: []want{{rule: "fargate-task-size", sev: E, line: 9, col: 13, env: "prod"}}},
		{name: "override with a wrong type for one environment", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nenvironments:\n  test:\n    image:\n      port: \"80\"\n"),
			want: []want{{rule: "schema/type", sev: E, line: 8, col: 13, env: "test"}}},
		{name: "override that breaks a cross-field rule in one environment", files: svc("name: svc\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n  port: 80\nhttp:\n  path: /\nenvironments:\n  test:\n    http:\n      hosted_zone: Z1\n"),
			want: []want{{rule: "http-hosted-zone", sev: E, line: 11, col: 7, env: "test"}}},
		{name: "override setting both build and location", files: svc("name: svc\ntype: Backend Service\nimage:\n  build: Dockerfile\nenvironments:\n  prod:\n    image:\n      build: Dockerfile.prod\n      location: nginx\n"),
			want: []want{{rule: "exclusive-fields", sev: E, line: 9, col: 17, env: "prod"}}, others: true},
		{name: "override that is not a mapping", files: svc("name: svc\ntype: Backend Service\nimage:\n  build: Dockerfile\nenvironments:\n  test: true\n", "Dockerfile"),
			want: []want{{rule: "override-type", sev: E, line: 6, col: 9, env: "test"}}},
		{name: "interpolated scalar where a list belongs", files: svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nnetwork:\n  vpc:\n    placement:\n      subnets: ${CPU}\n"),
			want: []want{{rule: "schema/type", sev: E, line: 8, col: 16}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := lintWorkspace(t, tc.files)
			matched := make([]bool, len(got))
			for _, w := range tc.want {
				if w.file == "" {
					w.file = svcFile
				}
				found := false
				for i, d := range got {
					if w.matches(d) {
						found, matched[i] = true, true
					}
				}
				if !found {
					t.Errorf("missing %s %s at line %d col %d env %q in %s (text %q); got:\n%s", w.sev, w.rule, w.line, w.col, w.env, w.file, w.text, render(got))
				}
			}
			if tc.others {
				return
			}
			for i, d := range got {
				if !matched[i] && d.Severity >= diag.Warning {
					t.Errorf("unexpected finding:\n%s", render(diag.List{d}))
				}
			}
		})
	}
}

// TestLintLargeFile: an 8 MB manifest (twice the limit) gets one finding,
// quickly, without the linter building a tree of it.
func TestLintLargeFile(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("name: svc\ntype: Backend Service\nvariables:\n")
	for i := 0; b.Len() < 8<<20; i++ {
		fmt.Fprintf(&b, "  VAR_%08d: %s\n", i, strings.Repeat("x", 100))
	}
	start := time.Now()
	got := lintWorkspace(t, svc(b.String()))
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("linting an 8 MB file took %s", elapsed)
	}
	var found int
	for _, d := range got {
		if d.File == svcFile {
			found++
			if d.Rule != "file-too-large" || d.Severity != diag.Error {
				t.Errorf("want one file-too-large error, got:\n%s", render(got))
			}
		}
	}
	if found != 1 {
		t.Errorf("want exactly one finding for the file, got:\n%s", render(got))
	}
}

// TestLintEnvFilter: --env limits the run to one environment and says so.
func TestLintEnvFilter(t *testing.T) {
	files := svc("name: svc\ntype: Backend Service\nimage:\n  location: nginx\nenvironments:\n  prod:\n    cpu: 300\n")
	if got := blocking(lintWorkspace(t, files, "test")); len(got) != 0 {
		t.Errorf("test environment: want no findings, got:\n%s", render(got))
	}
	got := blocking(lintWorkspace(t, files, "prod"))
	if len(got) != 1 || got[0].Rule != "fargate-task-size" || got[0].Line != 7 {
		t.Errorf("prod environment: want fargate-task-size at line 7, got:\n%s", render(got))
	}
}

// TestLintOddShapes replaces every value of a few rich manifests, one at a
// time, with a value of each other shape (string, number, list, mapping,
// null): whatever a user writes where, the rules never panic and every
// finding keeps a position inside the file.
func TestLintOddShapes(t *testing.T) {
	manifests := []string{validLBWS, validEnv, validWorker}
	replacements := []string{`"x"`, "99999", "-1", "[a, 1]", "{a: 1}", "null", "true"}
	for _, src := range manifests {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		var values []*yaml.Node
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			for i, c := range n.Content {
				if n.Kind != yaml.MappingNode || i%2 == 1 {
					values = append(values, c)
				}
				walk(c)
			}
		}
		walk(&doc)
		lines := strings.Count(src, "\n") + 1
		for _, v := range values {
			saved := *v
			for _, r := range replacements {
				var repl yaml.Node
				if err := yaml.Unmarshal([]byte(r), &repl); err != nil {
					t.Fatal(err)
				}
				*v = *repl.Content[0]
				out, err := yaml.Marshal(&doc)
				if err != nil {
					t.Fatal(err)
				}
				path := "copilot/svc/manifest.yml"
				if strings.Contains(src, "type: Environment") {
					path = "copilot/environments/test/manifest.yml"
				}
				ws := &workspace.Workspace{App: "demo"}
				ws.Add("copilot/environments/prod/manifest.yml", []byte(envProd))
				ws.Add(path, out)
				found, err := Lint(ws, Options{Lookup: lookup})
				if err != nil {
					t.Fatalf("lint: %v", err)
				}
				for _, d := range found {
					if d.Rule == "" || d.Message == "" || d.Line < 0 || d.Line > lines+20 {
						t.Errorf("malformed finding %+v for manifest:\n%s", d, out)
					}
				}
			}
			*v = saved
		}
	}
}

// Manifests for TestLintOddShapes that set every field the rules read;
// some combinations are deliberately invalid.
const (
	validLBWS = `name: svc
type: Load Balanced Web Service
image:
  build: {context: ., dockerfile: Dockerfile}
  port: 8080
  depends_on: {proxy: start}
http:
  path: /
  alias: [{name: a.example.com, hosted_zone: Z1}]
  allowed_source_ips: [10.0.0.0/8]
  healthcheck: {path: /health, port: 8080, grace_period: 30s}
  target_container: svc
  target_port: 8080
  additional_rules:
    - {path: admin, target_container: proxy, healthcheck: /}
nlb:
  port: 443/tls
  target_port: 9000
  target_container: proxy
  healthcheck: {port: 9000}
  alias: [b.example.com]
  additional_listeners: [{port: 53/udp, target_port: 53, healthcheck: {port: 9000}}]
sidecars:
  proxy:
    image: {location: nginx}
    port: 9000
    essential: true
    depends_on: {svc: start}
    mount_points: [{source_volume: data, path: /data}]
  dns:
    image: busybox
    port: 53/udp
    essential: false
count:
  range: {min: 1, max: 4, spot_from: 2}
  cpu_percentage: {value: 70, cooldown: {in: 30s}}
  requests: 100
platform: {osfamily: linux, architecture: x86_64}
storage:
  readonly_fs: false
  volumes:
    data:
      path: /data
      efs: {uid: 1000, gid: 1000}
    other:
      path: /other
      efs: {id: fs-1, root_dir: /, auth: {iam: true, access_point_id: fsap-1}}
network:
  connect: {alias: svc}
logging: {destination: {Name: cloudwatch}}
exec: {enable: true}
`
	validWorker = `name: svc
type: Worker Service
image: {build: Dockerfile}
platform: windows/x86_64
cpu: 1024
memory: 2048
subscribe:
  topics:
    - name: orders
      service: api
      queue: {fifo: {high_throughput: true}}
  queue:
    fifo: {deduplication_scope: queue, throughput_limit: perQueue}
count:
  range: 1-4
  queue_delay: {acceptable_latency: 1m, msg_processing_time: 1s}
`
	validEnv = `name: test
type: Environment
network:
  vpc:
    cidr: 10.0.0.0/16
    subnets:
      public: [{cidr: 10.0.0.0/24, az: a}, {cidr: 10.0.1.0/24, az: b}]
      private: [{cidr: 10.0.2.0/24, az: a}, {cidr: 10.0.3.0/24, az: b}]
    security_group:
      ingress: [{ip_protocol: tcp, ports: 80-443, cidr: 0.0.0.0/0}]
http:
  public:
    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/x]
    ingress: {cdn: true, source_ips: [10.0.0.0/8]}
    security_groups: {ingress: {restrict_to: {cdn: true}}}
  private:
    subnets: [subnet-1]
    security_groups: {ingress: {from_vpc: true}}
cdn: {certificate: arn:aws:acm:us-east-1:123456789012:certificate/x, terminate_tls: true}
`
)
