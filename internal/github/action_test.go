package github

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sethvargo/go-githubactions"
	"gopkg.in/yaml.v3"
)

// loadReference reads one of the recorded webhook payloads.
func loadReference(t *testing.T, name, file string) *Event {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "github-events", file))
	if err != nil {
		t.Skipf("reference payloads not available: %v", err)
	}
	ev, err := ParseEvent(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestDecide(t *testing.T) {
	opened := loadReference(t, "pull_request", "pull_request-opened.payload.json")
	synced := loadReference(t, "pull_request", "pull_request-synchronize.payload.json")
	closed := loadReference(t, "pull_request", "pull_request-closed.payload.json")
	toDefault := loadReference(t, "push", "push-with-new-branch.payload.json") // refs/heads/master, the default branch
	tag := loadReference(t, "push", "push-payload.json")                       // refs/tags/simple-tag
	dispatch := loadReference(t, "workflow_dispatch", "workflow_dispatch-payload.json")
	fork := &Event{Name: "pull_request", PullRequest: &PullRequestEvent{Action: "opened", Number: 9, HeadSHA: "abc", HeadRepo: "mallory/shop", BaseRepo: "acme/shop"}}
	edited := &Event{Name: "pull_request", PullRequest: &PullRequestEvent{Action: "labeled", Number: 3, HeadRepo: "acme/shop", BaseRepo: "acme/shop"}}
	schedule := &Event{Name: "schedule"}
	otherBranch := &Event{Name: "workflow_dispatch", DefaultBranch: "master", Dispatch: &DispatchEvent{Ref: "refs/heads/feature"}}

	lint, build, plan, deploy, cleanup := StageLint, StageBuild, StagePlan, StageDeploy, StageCleanup
	cases := []struct {
		name        string
		ev          *Event
		command     string
		repository  string
		aws         bool
		want        []Stage
		wantSkipped string // a phrase the skip reason holds; "" for none
		wantErr     string
	}{
		{"pull request opened plans", opened, "auto", "", true, []Stage{lint, build, plan}, "", ""},
		{"pull request pushed to plans again", synced, "", "", true, []Stage{lint, build, plan}, "", ""},
		{"pull request without credentials lints", opened, "auto", "", false, []Stage{lint}, "No AWS credentials", ""},
		{"fork pull request lints", fork, "auto", "", true, []Stage{lint}, "from a fork", ""},
		{"fork pull request with command plan lints", fork, "plan", "", true, []Stage{lint}, "from a fork", ""},
		{"other pull request actions lint", edited, "auto", "", true, []Stage{lint}, `"labeled"`, ""},
		{"closed pull request cleans up", closed, "auto", "", true, []Stage{cleanup}, "", ""},
		{"closed pull request without credentials does nothing", closed, "auto", "", false, nil, "cannot be cleaned up", ""},
		{"push to the default branch deploys", toDefault, "auto", "", true, []Stage{lint, build, deploy}, "", ""},
		{"push to the default branch without credentials lints", toDefault, "auto", "", false, []Stage{lint}, "No AWS credentials", ""},
		{"tag push lints", tag, "auto", "", true, []Stage{lint}, "not to the default branch", ""},
		{"dispatch without a command plans", dispatch, "auto", "", true, []Stage{lint, build, plan}, "", ""},
		{"dispatch deploy", dispatch, "deploy", "", true, []Stage{lint, build, deploy}, "", ""},
		{"dispatch deploy of another branch is refused", otherBranch, "deploy", "", true, nil, "", "deploys run only from the default branch (master)"},
		{"dispatch plan of another branch", otherBranch, "plan", "", true, []Stage{lint, build, plan}, "", ""},
		{"dispatch lint", dispatch, "lint", "", false, []Stage{lint}, "", ""},
		{"build to a registry needs no AWS", dispatch, "build", "registry.example.com/shop", false, []Stage{lint, build}, "", ""},
		{"build to ECR needs AWS", dispatch, "build", "", false, []Stage{lint}, "No AWS credentials", ""},
		{"other events lint", schedule, "auto", "", true, []Stage{lint}, `"schedule"`, ""},
		{"no event and command plan", nil, "plan", "", true, []Stage{lint, build, plan}, "", ""},
		{"deploy on a pull request is refused", opened, "deploy", "", true, nil, "", "never executes a change set"},
		{"deploy without credentials is refused", dispatch, "deploy", "", false, nil, "", "needs AWS credentials"},
		{"unknown command", dispatch, "destroy", "", true, nil, "", `"destroy"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Decide(tc.ev, Inputs{Command: tc.command, Repository: tc.repository}, tc.aws)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, d.Stages); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
			if tc.wantSkipped == "" && d.Skipped != "" {
				t.Errorf("skipped = %q, want nothing skipped", d.Skipped)
			}
			if !strings.Contains(d.Skipped, tc.wantSkipped) {
				t.Errorf("skipped = %q, want it to say %q", d.Skipped, tc.wantSkipped)
			}
			if d.Has(StageDeploy) && tc.ev != nil && tc.ev.PullRequest != nil {
				t.Error("a pull request deploys")
			}
		})
	}
	d, _ := Decide(synced, Inputs{}, true)
	if d.PullRequest != 2 || d.HeadSHA != "ec26c3e57ca3a959ca5aad62de7213c562f8c821" {
		t.Errorf("pull request %d at %q, want #2 at its head", d.PullRequest, d.HeadSHA)
	}
}

func TestReadInputs(t *testing.T) {
	cases := []struct {
		name    string
		vars    map[string]string
		want    Inputs
		wantErr string
	}{
		{"defaults", map[string]string{}, Inputs{Command: "auto", Path: ".", RoleSessionName: "autopilot", Strict: true}, ""},
		{"everything", map[string]string{
			"INPUT_COMMAND": "Deploy", "INPUT_PATH": "infra", "INPUT_ENVIRONMENTS": "test, prod",
			"INPUT_SERVICES": "api\nweb\n", "INPUT_AWS-REGION": "eu-west-1", "INPUT_ROLE-TO-ASSUME": testRole,
			"INPUT_ROLE-SESSION-NAME": "gh-42", "INPUT_GITHUB-TOKEN": "ghs_x", "INPUT_FAIL-ON-DESTRUCTIVE": "true",
			"INPUT_REQUIRE-REVIEWED-PLAN": "True", "INPUT_SARIF-FILE": "lint.sarif", "INPUT_STRICT": "FALSE",
			"INPUT_REPOSITORY": "localhost:5000/shop", "INPUT_BASE-IMAGES": "busybox=oci:/images/busybox\nalpine:3=tar:/images/alpine.tar",
			"INPUT_ARTIFACTS-BUCKET": "shop-artifacts", "INPUT_CACHE-DIR": "/cache", "INPUT_CACHE-REPO": "localhost:5000/cache",
			"INPUT_SECRETS": "id=npm,env=NPM_TOKEN\n\n  id=pip,src=/run/pip.conf\n", "INPUT_TAGS": "v1.2.3, stable",
			"INPUT_PLATFORM": "linux/arm64", "INPUT_ADD-LABELS": "true", "INPUT_ALLOW-STALE": "true",
			"INPUT_ALLOW-DESTRUCTIVE": "true", "INPUT_ALLOWED-DESTROY-TYPES": "AWS::Logs::LogGroup,\nAWS::SQS::Queue", "INPUT_MUTABLE-TAGS": "true",
		}, Inputs{
			Command: "deploy", Path: "infra", Environments: []string{"test", "prod"}, Services: []string{"api", "web"},
			Region: "eu-west-1", RoleToAssume: testRole, RoleSessionName: "gh-42", GitHubToken: "ghs_x",
			FailOnDestructive: true, RequireReviewedPlan: true, SARIFFile: "lint.sarif", Repository: "localhost:5000/shop",
			BaseImages:      map[string]string{"busybox": "oci:/images/busybox", "alpine:3": "tar:/images/alpine.tar"},
			ArtifactsBucket: "shop-artifacts", CacheDir: "/cache", CacheRepo: "localhost:5000/cache",
			Secrets: []string{"id=npm,env=NPM_TOKEN", "id=pip,src=/run/pip.conf"}, Tags: []string{"v1.2.3", "stable"},
			Platform: "linux/arm64", AddLabels: true, AllowStale: true,
			AllowDestructive: true, AllowedDestroyTypes: []string{"AWS::Logs::LogGroup", "AWS::SQS::Queue"}, MutableTags: true,
		}, ""},
		{"destroy type that is no CloudFormation type", map[string]string{"INPUT_ALLOWED-DESTROY-TYPES": "LogGroup"}, Inputs{}, "input allowed-destroy-types"},
		{"bad secret", map[string]string{"INPUT_SECRETS": "id=npm,env=NPM_TOKEN\nnpm=secret-value"}, Inputs{}, "input secrets, line 2"},
		{"unknown command", map[string]string{"INPUT_COMMAND": "destroy"}, Inputs{}, "use one of auto, lint"},
		{"bad boolean", map[string]string{"INPUT_STRICT": "yes"}, Inputs{}, "input strict"},
		{"bad base image", map[string]string{"INPUT_BASE-IMAGES": "busybox=/images"}, Inputs{}, "REF=oci:DIR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRuntime(t, tc.vars)
			got, err := ReadInputs(r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret-value") {
					t.Errorf("the error repeats a mistaken secret's value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestActionYAMLDeclaresEveryInput keeps action.yml and ReadInputs in step:
// every input read is declared, with a description, and every declared one
// is read.
func TestActionYAMLDeclaresEveryInput(t *testing.T) {
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Description string  `yaml:"description"`
			Default     *string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Using string `yaml:"using"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if action.Runs.Using != "docker" {
		t.Errorf("runs.using = %q, want docker", action.Runs.Using)
	}
	read := map[string]bool{}
	r, _ := newTestRuntime(t, nil)
	r.getenv = func(k string) string {
		if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
			read[name] = true
		}
		return ""
	}
	r.action = githubactions.New(githubactions.WithGetenv(r.getenv))
	if _, err := ReadInputs(r); err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for name, in := range action.Inputs {
		declared[strings.ToUpper(name)] = true
		if strings.TrimSpace(in.Description) == "" || in.Default == nil {
			t.Errorf("input %s has no description or no default", name)
		}
	}
	if diff := cmp.Diff(declared, read); diff != "" {
		t.Errorf("inputs declared in action.yml (-) and read by ReadInputs (+):\n%s", diff)
	}

	// The defaults agree: ReadInputs given action.yml's defaults reads what
	// it reads with none (a CLI run of `autopilot action`), strict included.
	defaults := map[string]string{}
	for name, in := range action.Inputs {
		if !strings.HasPrefix(*in.Default, "${{") {
			defaults["INPUT_"+strings.ToUpper(name)] = *in.Default
		}
	}
	withDefaults, _ := newTestRuntime(t, defaults)
	fromYAML, err := ReadInputs(withDefaults)
	if err != nil {
		t.Fatal(err)
	}
	none, _ := newTestRuntime(t, nil)
	fromCode, _ := ReadInputs(none)
	if diff := cmp.Diff(fromCode, fromYAML); diff != "" || !fromYAML.Strict {
		t.Errorf("defaults of ReadInputs (-) and action.yml (+) differ, or strict is off by default:\n%s", diff)
	}
}

// TestDecideAllowStale: allow-stale is the explicit opt-in that lets a
// manual run deploy a branch other than the default one.
func TestDecideAllowStale(t *testing.T) {
	ev := &Event{Name: "workflow_dispatch", DefaultBranch: "main", Dispatch: &DispatchEvent{Ref: "refs/tags/v1.2.0"}}
	if _, err := Decide(ev, Inputs{Command: "deploy"}, true); err == nil {
		t.Fatal("a dispatch of a tag deployed without allow-stale")
	}
	d, err := Decide(ev, Inputs{Command: "deploy", AllowStale: true}, true)
	if err != nil || !d.Has(StageDeploy) {
		t.Errorf("with allow-stale: %v, %v", d.Stages, err)
	}
}
