package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// writeTree creates files (path -> content) under a temp dir and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// toValue converts a node to plain Go values for comparison.
func toValue(t *testing.T, n *yaml.Node) any {
	t.Helper()
	var v any
	if err := n.Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

func noLookup(string) (string, bool) { return "", false }

func TestLoadDiscoversWorkspace(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"copilot/.workspace":                       "application: shop\n",
		"copilot/api/manifest.yml":                 "name: api\ntype: Load Balanced Web Service\n",
		"copilot/api/addons/db.yml":                "Parameters:\n  App: {Type: String}\n",
		"copilot/api/addons/addons.parameters.yml": "Parameters:\n  Extra: value\n",
		"copilot/api/addons/README.md":             "not a template",
		"copilot/worker/manifest.yml":              "name: worker\ntype: Worker Service\nenvironments:\n  staging: {}\n",
		"copilot/environments/test/manifest.yml":   "name: test\ntype: Environment\n",
		"copilot/environments/prod/manifest.yml":   "name: prod\ntype: Environment\n",
		"copilot/environments/addons/bucket.yml":   "Resources: {}\n",
		"copilot/pipelines/release/manifest.yml":   "name: release\nversion: 1\nsource: {provider: GitHub}\nstages: []\n",
		"copilot/notes/readme.txt":                 "no manifest here",
	})
	for _, path := range []string{dir, filepath.Join(dir, "copilot")} {
		ws, err := Load(path)
		if err != nil {
			t.Fatalf("Load(%s): %v", path, err)
		}
		if ws.App != "shop" {
			t.Errorf("App = %q, want shop", ws.App)
		}
		var names []string
		for _, m := range ws.Workloads {
			names = append(names, m.Name+"="+string(m.Kind))
		}
		if diff := cmp.Diff([]string{"api=Load Balanced Web Service", "worker=Worker Service"}, names); diff != "" {
			t.Errorf("workloads (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"prod", "staging", "test"}, ws.EnvNames()); diff != "" {
			t.Errorf("EnvNames (-want +got):\n%s", diff)
		}
		api := ws.Workload("api")
		if api.Addons == nil || len(api.Addons.Templates) != 1 || api.Addons.Parameters == nil {
			t.Fatalf("api addons = %+v, want one template and parameters", api.Addons)
		}
		if ws.EnvAddons == nil || len(ws.EnvAddons.Templates) != 1 {
			t.Errorf("environment addons not found")
		}
		if len(ws.Pipelines) != 1 || ws.Pipelines[0].Kind != Pipeline {
			t.Errorf("pipelines = %v, want the release pipeline", ws.Pipelines)
		}
		if len(ws.Diagnostics) != 0 {
			t.Errorf("unexpected diagnostics: %v", ws.Diagnostics)
		}
	}
}

func TestLoadSingleManifestFindsItsWorkspace(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"copilot/.workspace":       "application: shop\n",
		"copilot/api/manifest.yml": "name: api\ntype: Backend Service\n",
		"elsewhere/manifest.yml":   "name: loose\ntype: Backend Service\n",
	})
	ws, err := Load(filepath.Join(dir, "copilot/api/manifest.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if ws.App != "shop" || len(ws.Workloads) != 1 || ws.Workloads[0].Name != "api" {
		t.Errorf("got app %q workloads %d, want shop with api only", ws.App, len(ws.Workloads))
	}
	loose, err := Load(filepath.Join(dir, "elsewhere/manifest.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if loose.App != "" || loose.Workloads[0].Name != "loose" {
		t.Errorf("loose manifest: app %q name %q", loose.App, loose.Workloads[0].Name)
	}
}

func TestLoadRejectsPathsWithoutWorkspace(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no copilot/ folder") {
		t.Errorf("err = %v, want a message naming the missing copilot/ folder", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing path must fail")
	}
}

func TestInterpolation(t *testing.T) {
	env := map[string]string{"IMG": "repo/app:1", "SUBNETS": `["subnet-a","subnet-b"]`, "PORT": "80", "COUNTS": `["1","2"]`}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := []struct {
		name, yaml string
		want       any
	}{
		{"string scalar", "v: ${IMG}", map[string]any{"v": "repo/app:1"}},
		{"inside text", "v: img-${IMG}-x", map[string]any{"v": "img-repo/app:1-x"}},
		{"escaped stays literal", `v: \${IMG}`, map[string]any{"v": "${IMG}"}},
		{"unbraced form is not a reference", "v: $IMG", map[string]any{"v": "$IMG"}},
		{"keys are not touched", "${IMG}: x", map[string]any{"${IMG}": "x"}},
		{"reserved names", "a: ${COPILOT_APPLICATION_NAME}\ne: ${COPILOT_ENVIRONMENT_NAME}", map[string]any{"a": "shop", "e": "test"}},
		{"JSON array becomes a list", "subnets: ${SUBNETS}", map[string]any{"subnets": []any{"subnet-a", "subnet-b"}}},
		{"list items take their plain tags", "v: ${COUNTS}", map[string]any{"v": []any{1, 2}}},
		{"literal block keeps the text", "v: |\n  ${SUBNETS}\n", map[string]any{"v": `["subnet-a","subnet-b"]` + "\n"}},
		{"a number stays a string", "port: ${PORT}", map[string]any{"port": "80"}},
		{"non-string scalars are skipped", "n: 5\nb: true", map[string]any{"n": 5, "b": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := manifestFrom(t, tc.yaml)
			got, ds := m.Resolve("test", Vars{App: "shop", Lookup: lookup})
			if len(ds) != 0 {
				t.Fatalf("diagnostics: %v", ds)
			}
			if diff := cmp.Diff(tc.want, toValue(t, got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func manifestFrom(t *testing.T, src string) *Manifest {
	t.Helper()
	doc, ds := parseYAML("manifest.yml", []byte(src))
	if doc == nil || ds.HasErrors() {
		t.Fatalf("parse: %v", ds)
	}
	return &Manifest{Path: "manifest.yml", Doc: doc, Kind: BackendService}
}

func TestInterpolationUndefinedVariable(t *testing.T) {
	m := manifestFrom(t, "name: api\nimage:\n  location: ${MISSING}\n")
	for _, strict := range []bool{false, true} {
		got, ds := m.Resolve("", Vars{App: "shop", Lookup: noLookup, Strict: strict})
		want := diag.Warning
		if strict {
			want = diag.Error
		}
		if len(ds) != 1 || ds[0].Severity != want || ds[0].Rule != "undefined-variable" || ds[0].Line != 3 || ds[0].Column != 13 {
			t.Fatalf("strict=%v: diagnostics %v, want one %s at 3:13", strict, ds, want)
		}
		if loc := mapGet(mapGet(got, "image"), "location").Value; loc != "${MISSING}" {
			t.Errorf("unresolved reference rewritten to %q", loc)
		}
	}
}

func TestInterpolationReservedOverridden(t *testing.T) {
	m := manifestFrom(t, "v: ${COPILOT_ENVIRONMENT_NAME}\n")
	lookup := func(k string) (string, bool) { return "prod", k == VarEnvName }
	_, ds := m.Resolve("test", Vars{App: "shop", Lookup: lookup})
	if len(ds) != 1 || ds[0].Rule != "reserved-variable" || ds[0].Severity != diag.Error {
		t.Fatalf("diagnostics %v, want a reserved-variable error", ds)
	}
}

func TestOverrides(t *testing.T) {
	cases := []struct {
		name, yaml, env string
		want            any
	}{
		{"no override for env", "cpu: 256\nenvironments:\n  prod:\n    cpu: 512", "test",
			map[string]any{"cpu": 256}},
		{"scalar replaces", "cpu: 256\nenvironments:\n  prod:\n    cpu: 512", "prod",
			map[string]any{"cpu": 512}},
		{"false replaces true", "exec: true\nenvironments:\n  prod:\n    exec: false", "prod",
			map[string]any{"exec": false}},
		{"maps merge key by key", "variables: {A: 1, B: 2}\nenvironments:\n  prod:\n    variables: {B: 3, C: 4}", "prod",
			map[string]any{"variables": map[string]any{"A": 1, "B": 3, "C": 4}}},
		{"lists replace", "publish:\n  topics: [{name: a}, {name: b}]\nenvironments:\n  prod:\n    publish:\n      topics: [{name: c}]", "prod",
			map[string]any{"publish": map[string]any{"topics": []any{map[string]any{"name": "c"}}}}},
		{"empty list replaces", "command: [a, b]\nenvironments:\n  prod:\n    command: []", "prod",
			map[string]any{"command": []any{}}},
		{"null leaves the base", "cpu: 256\nenvironments:\n  prod:\n    cpu: null", "prod",
			map[string]any{"cpu": 256}},
		{"null override", "cpu: 256\nenvironments:\n  prod:", "prod",
			map[string]any{"cpu": 256}},
		{"location clears build", "image:\n  build: Dockerfile\n  port: 80\nenvironments:\n  prod:\n    image:\n      location: repo/app:1", "prod",
			map[string]any{"image": map[string]any{"port": 80, "location": "repo/app:1"}}},
		{"build clears location", "image:\n  location: repo/app:1\nenvironments:\n  prod:\n    image:\n      build: {context: .}", "prod",
			map[string]any{"image": map[string]any{"build": map[string]any{"context": "."}}}},
		{"union switches form", "http:\n  healthcheck: {path: /a, interval: 5s}\nenvironments:\n  prod:\n    http:\n      healthcheck: /b", "prod",
			map[string]any{"http": map[string]any{"healthcheck": "/b"}}},
		{"secret switches form", "secrets:\n  DB: {secretsmanager: db}\nenvironments:\n  prod:\n    secrets:\n      DB: {from_cfn: export}", "prod",
			map[string]any{"secrets": map[string]any{"DB": map[string]any{"from_cfn": "export"}}}},
		{"interpolated override", "variables: {E: base}\nenvironments:\n  prod:\n    variables: {E: '${COPILOT_ENVIRONMENT_NAME}'}", "prod",
			map[string]any{"variables": map[string]any{"E": "prod"}}},
		{"name and type are not overridden", "name: api\nenvironments:\n  prod:\n    name: other", "prod",
			map[string]any{"name": "api"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := manifestFrom(t, tc.yaml)
			got, ds := m.Resolve(tc.env, Vars{App: "shop", Lookup: noLookup})
			if len(ds) != 0 {
				t.Fatalf("diagnostics: %v", ds)
			}
			if diff := cmp.Diff(tc.want, toValue(t, got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if again, _ := m.Resolve(tc.env, Vars{App: "shop", Lookup: noLookup}); cmp.Diff(toValue(t, got), toValue(t, again)) != "" {
				t.Error("Resolve changed the manifest it was given")
			}
		})
	}
}

func TestOverrideKeepsPositions(t *testing.T) {
	m := manifestFrom(t, "cpu: 256\nvariables:\n  A: 1\nenvironments:\n  prod:\n    cpu: 512\n    variables:\n      B: 2\n")
	got, _ := m.Resolve("prod", Vars{Lookup: noLookup})
	if cpu := mapGet(got, "cpu"); cpu.Line != 6 || cpu.Column != 10 {
		t.Errorf("overridden cpu at %d:%d, want 6:10 (the override's line)", cpu.Line, cpu.Column)
	}
	vars := mapGet(got, "variables")
	if a, b := mapGet(vars, "A"), mapGet(vars, "B"); a.Line != 3 || b.Line != 8 {
		t.Errorf("variables at lines %d and %d, want 3 and 8", a.Line, b.Line)
	}
}

func TestOverrideBuildAndLocationTogether(t *testing.T) {
	// Copilot refuses an override that sets both; the merged manifest keeps
	// both so the schema reports it at the override's lines.
	m := manifestFrom(t, "image:\n  build: Dockerfile\nenvironments:\n  prod:\n    image:\n      build: x\n      location: y\n")
	got, _ := m.Resolve("prod", Vars{Lookup: noLookup})
	img := mapGet(got, "image")
	if b, l := mapGet(img, "build"), mapGet(img, "location"); b == nil || l == nil || b.Line != 6 || l.Line != 7 {
		t.Fatalf("merged image = %v, want the override's build and location", toValue(t, img))
	}
}

func TestOverrideCountForms(t *testing.T) {
	m := manifestFrom(t, "count:\n  range: 1-10\n  cooldown: {in: 30s}\n  cpu_percentage: 70\nenvironments:\n  staging:\n    count:\n      spot: 5\n")
	got, _ := m.Resolve("staging", Vars{Lookup: noLookup})
	if diff := cmp.Diff(map[string]any{"spot": 5}, toValue(t, mapGet(got, "count"))); diff != "" {
		t.Errorf("spot override must clear range and metrics (-want +got):\n%s", diff)
	}
}

func TestBadInput(t *testing.T) {
	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 0, "a"; i < 8; i++ {
		name := string(rune('b' + i))
		bomb += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	cases := []struct {
		name string
		raw  []byte
		rule string
		line int
	}{
		{"malformed", []byte("name: api\ntype: [unclosed\nport: 1\n"), "yaml-syntax", 2},
		{"bad indentation", []byte("name: api\n  type: x\n"), "yaml-syntax", 2},
		{"duplicate key", []byte("name: a\ntype: Backend Service\nname: b\n"), "duplicate-key", 3},
		{"alias bomb", []byte(bomb), "yaml-limits", 0},
		{"deep nesting", []byte("v: " + deep), "yaml-limits", 0},
		{"binary", []byte("name: \x00\x01\x02"), "not-text", 0},
		{"too large", []byte("a: " + strings.Repeat("x", maxFileBytes)), "file-too-large", 0},
		{"empty", []byte(""), "empty-file", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := parseYAML("m.yml", tc.raw)
			if len(ds) == 0 || ds[len(ds)-1].Rule != tc.rule || ds[len(ds)-1].Severity != diag.Error {
				t.Fatalf("diagnostics %v, want a %s error", ds, tc.rule)
			}
			if tc.line != 0 && ds[len(ds)-1].Line != tc.line {
				t.Errorf("line %d, want %d", ds[len(ds)-1].Line, tc.line)
			}
		})
	}
}

func TestNonMappingManifest(t *testing.T) {
	dir := writeTree(t, map[string]string{"copilot/api/manifest.yml": "- just\n- a list\n"})
	ws, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.Diagnostics) != 1 || ws.Diagnostics[0].Rule != "not-a-mapping" {
		t.Fatalf("diagnostics %v, want not-a-mapping", ws.Diagnostics)
	}
	if got, _ := ws.Workloads[0].Resolve("", Vars{}); got != nil {
		t.Error("Resolve of an unparsed manifest must return nil")
	}
}

func TestExampleWorkspace(t *testing.T) {
	ws, err := Load("../../examples/apprunner-vpc")
	if err != nil {
		t.Fatal(err)
	}
	if ws.App != "apprunner-vpc" || len(ws.Workloads) != 1 || len(ws.Environments) != 2 {
		t.Fatalf("app %q, %d workloads, %d environments", ws.App, len(ws.Workloads), len(ws.Environments))
	}
	svc := ws.Workload("demo-service")
	if svc.Kind != RequestDrivenWebService {
		t.Fatalf("kind %q", svc.Kind)
	}
	got, ds := svc.Resolve("test", Vars{App: ws.App, Lookup: noLookup, Strict: true})
	if len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	vars := toValue(t, mapGet(got, "variables"))
	if diff := cmp.Diff(map[string]any{"LOG_LEVEL": "debug", "APP_ENV": "test"}, vars); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
}
