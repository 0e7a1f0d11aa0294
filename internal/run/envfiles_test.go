package run

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/render"
)

const envFileSecret = "DB_PASSWORD=correct-horse-battery-staple\n"

// pinnedNginx is named by digest, so plan has no registry to ask (the log
// router uses it too, for the same reason).
var pinnedNginx = "public.ecr.aws/nginx/nginx@sha256:" + strings.Repeat("a", 64)

// envFileWorkspace is a workspace whose Backend Service reads api.env in
// its main container and its sidecar, and router.env in the log router.
func envFileWorkspace(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/api/manifest.yml": `name: api
type: Backend Service
image:
  location: ` + pinnedNginx + `
  port: 80
env_file: api.env
logging:
  image: ` + pinnedNginx + `
  destination: {Name: cloudwatch}
  env_file: router.env
sidecars:
  proxy:
    image: ` + pinnedNginx + `
    env_file: api.env
`,
		"api.env":    envFileSecret,
		"router.env": "LEVEL=debug\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// Plan names the env files by their content-addressed keys without
// uploading anything (a pull request's plan writes nothing to the bucket);
// deploy uploads each file once, before executing, into the bucket the
// task definition names; a second deploy uploads nothing; an edit uploads
// the new content only. No log line holds a file's content.
func TestEnvFilesUploadOnDeployOnly(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	root := envFileWorkspace(t)
	var log bytes.Buffer
	opts := func() PlanOptions {
		o := f.options()
		o.Paths = []string{root}
		o.ArtifactsBucket = "artifacts"
		o.Log = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		return o
	}
	apiKey := render.EnvFileKey("api.env", []byte(envFileSecret))
	routerKey := render.EnvFileKey("router.env", []byte("LEVEL=debug\n"))

	planned, err := Plan(ctx, opts())
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if n := f.s3.Puts(); n != 0 {
		t.Fatalf("plan put %d objects; it must upload nothing", n)
	}
	for _, s := range planned.Stacks {
		if s.Workload != "api" {
			continue
		}
		if got, want := s.Parameters["EnvFileARN"], "arn:aws:s3:::artifacts/"+apiKey; got != want {
			t.Errorf("EnvFileARN = %q, want %q", got, want)
		}
		if got := s.Parameters["EnvFileARNForproxy"]; got != s.Parameters["EnvFileARN"] {
			t.Errorf("the sidecar's EnvFileARNForproxy = %q, want the main container's object", got)
		}
	}

	if _, err := Deploy(ctx, opts()); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	for key, want := range map[string]string{apiKey: envFileSecret, routerKey: "LEVEL=debug\n"} {
		if got, ok := f.s3.Object("artifacts", key); !ok || string(got) != want {
			t.Errorf("s3://artifacts/%s = %q (stored %v), want the file", key, got, ok)
		}
	}
	if n := f.s3.Puts(); n != 2 {
		t.Errorf("deploy put %d objects, want 2 (api.env once for two containers, router.env)", n)
	}

	if _, err := Deploy(ctx, opts()); err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	// Every deploy puts its objects, stored or not: another writer of the
	// bucket may have put other bytes at a key (see
	// TestAddonArtifactsUploadOnDeployOnly).
	if n := f.s3.Puts(); n != 4 {
		t.Errorf("an unchanged deploy put %d objects in all, want 4 (its own 2 again)", n)
	}

	edited := "LEVEL=info\n"
	if err := os.WriteFile(filepath.Join(root, "router.env"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Deploy(ctx, opts()); err != nil {
		t.Fatalf("deploy after an edit: %v", err)
	}
	if got, ok := f.s3.Object("artifacts", render.EnvFileKey("router.env", []byte(edited))); !ok || string(got) != edited {
		t.Errorf("the edited file is not uploaded under its new key")
	}
	if n := f.s3.Puts(); n != 6 {
		t.Errorf("%d puts after the edit, want 6", n)
	}
	if strings.Contains(log.String(), "correct-horse") {
		t.Errorf("the log holds an env file's content:\n%s", log.String())
	}
	if !strings.Contains(log.String(), apiKey) {
		t.Errorf("the log does not name the uploaded key:\n%s", log.String())
	}
}

// Without a known artifacts bucket (a new application, no flag) plan and
// deploy refuse rather than name a bucket that does not exist.
func TestEnvFilesNeedTheApplicationsBucket(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	o := f.options()
	o.Paths = []string{envFileWorkspace(t)}
	_, err := Plan(ctx, o)
	if !errors.Is(err, ErrCannotRun) || !strings.Contains(err.Error(), "--artifacts-bucket") {
		t.Fatalf("plan without a bucket: %v, want a refusal naming --artifacts-bucket", err)
	}
	if f.cfn.Count("CreateChangeSet") != 0 {
		t.Errorf("a change set was created")
	}
}

// A worker scaling on queue_delay plans and deploys with Copilot's policy
// names and the metric-math backlog, and no Lambda.
func TestQueueDelayWorkerDeploys(t *testing.T) {
	f := newFakeAWS(t)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\nobservability:\n  container_insights: true\n",
		"copilot/jobs/manifest.yml": "name: jobs\ntype: Worker Service\nimage:\n  location: " + pinnedNginx + "\n" +
			"count:\n  range: 1-5\n  queue_delay: {acceptable_latency: 30s, msg_processing_time: 2s}\n",
	})
	o := f.options()
	o.Paths = []string{root}
	if _, err := Deploy(context.Background(), o); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	tmpl := f.cfn.StackTemplate("shop-test-jobs")
	for _, want := range []string{"AutoScalingPolicyEventsQueue:", "Expression: visible / tasks", "TargetValue: 15", "MetricName: ApproximateNumberOfMessagesVisible"} {
		if !strings.Contains(tmpl, want) {
			t.Errorf("deployed template lacks %q", want)
		}
	}
	if strings.Contains(tmpl, "AWS::Lambda::Function") {
		t.Errorf("a Lambda was deployed")
	}
}

// An addon's local Lambda code is packaged as Copilot packages it: plan
// names the object and uploads nothing; deploy uploads the zip before the
// change sets execute, and the nested addons stack names it.
func TestAddonArtifactsUploadOnDeployOnly(t *testing.T) {
	f := newFakeAWS(t)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/api/manifest.yml":               "name: api\ntype: Backend Service\nimage:\n  location: " + pinnedNginx + "\n",
		"copilot/api/addons/fn.yml": `Parameters:
  App: {Type: String}
  Env: {Type: String}
  Name: {Type: String}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Handler: index.handler
      Runtime: nodejs18.x
      Role: arn:aws:iam::123456789012:role/fn
      Code: lambdas/fn
`,
		"lambdas/fn/index.js": "exports.handler = async () => 'hi';\n",
	})
	o := f.options()
	o.Paths = []string{root}
	o.ArtifactsBucket = "artifacts"
	planned, err := Plan(context.Background(), o)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	var key string
	for _, s := range planned.Stacks {
		for k := range s.Objects {
			key = k
		}
	}
	if !strings.HasPrefix(key, "manual/addons/api/assets/") {
		t.Fatalf("no packaged artifact planned: %q", key)
	}
	if _, ok := f.s3.Object("artifacts", key); ok {
		t.Fatalf("plan uploaded the artifact")
	}
	if _, err := Deploy(context.Background(), o); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	zip, ok := f.s3.Object("artifacts", key)
	if !ok || !bytes.HasPrefix(zip, []byte("PK")) {
		t.Fatalf("s3://artifacts/%s is not the uploaded zip", key)
	}

	// The attack: whoever else can write the bucket (the plan role a pull
	// request's workflow assumes) stores other code at that key. The
	// reviewed template names the key, so the fingerprint still matches;
	// the next deploy must put its own bytes there again.
	if _, err := f.up.Upload(context.Background(), key, []byte("PK\x03\x04 someone else's code")); err != nil {
		t.Fatal(err)
	}
	if _, err := Deploy(context.Background(), o); err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	if body, _ := f.s3.Object("artifacts", key); !bytes.Equal(body, zip) {
		t.Errorf("s3://artifacts/%s holds %q after the deploy, not the reviewed artifact", key, body)
	}
}
