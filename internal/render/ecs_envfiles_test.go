package render

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

const envFileManifest = `name: api
type: Backend Service
image:
  location: public.ecr.aws/nginx/nginx:latest
  port: 80
env_file: config/api.env
logging:
  destination:
    Name: cloudwatch
  env_file: config/router.env
sidecars:
  nginx:
    image: public.ecr.aws/nginx/nginx:latest
    env_file: ./config/api.env
`

// copilotEnvFileARN restates Copilot's artifactpath.EnvFiles and the ARN
// its deployer passes (v1.33): arn:<partition>:s3:::<bucket>/manual/
// env-files/<path as written, cleaned>/<hex sha256 of the content>.env.
func copilotEnvFileARN(bucketARN, file, content string) string {
	sum := sha256.Sum256([]byte(content))
	return bucketARN + "/manual/env-files/" + file + "/" + hex.EncodeToString(sum[:]) + ".env"
}

func TestEnvFilesRenderAsCopilotUploadsThem(t *testing.T) {
	const apiEnv, routerEnv = "DB_PASSWORD=hunter2\n", "FLB_LOG_LEVEL=debug\n"
	st, root := renderOneWith(t, "my-app", "api", envFileManifest, map[string]string{
		"config/api.env": apiEnv, "config/router.env": routerEnv})
	bucket := seedOptions.ArtifactBucketARN
	want := map[string]string{
		"EnvFileARN":         copilotEnvFileARN(bucket, "config/api.env", apiEnv),
		"EnvFileARNFornginx": copilotEnvFileARN(bucket, "config/api.env", apiEnv),
		"LoggingEnvFileARN":  copilotEnvFileARN(bucket, "config/router.env", routerEnv),
	}
	for p, v := range want {
		if got := st.Parameters[p]; got != v {
			t.Errorf("%s = %q, want %q", p, got, v)
		}
	}
	// The two containers sharing a file share its object: one upload.
	wantObjects := map[string][]byte{
		strings.TrimPrefix(want["EnvFileARN"], bucket+"/"):        []byte(apiEnv),
		strings.TrimPrefix(want["LoggingEnvFileARN"], bucket+"/"): []byte(routerEnv),
	}
	if diff := cmp.Diff(wantObjects, st.Objects); diff != "" {
		t.Errorf("objects to upload (-want +got):\n%s", diff)
	}
	// Copilot's execution role reads each file (GetObject on the object,
	// GetBucketLocation on its bucket) under the HasEnvFile conditions.
	checkFacts(t, root, map[string]string{
		"Resources.ExecutionRole.Properties.Policies.1": `!If [HasEnvFile, {PolicyName: !Join ["", [!Ref AppName, '-', !Ref EnvName, '-', !Ref WorkloadName, GetEnvFilePolicy]], ` +
			`PolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ['s3:GetObject'], Resource: [!Ref EnvFileARN]}, ` +
			`{Effect: Allow, Action: ['s3:GetBucketLocation'], Resource: [!Join ["", ['arn:', !Ref 'AWS::Partition', ':s3:::', !Select [0, !Split [/, !Select [5, !Split [':', !Ref EnvFileARN]]]]]]]}]}}, !Ref 'AWS::NoValue']`,
	})
	for _, c := range []string{"main", "nginx", firelensContainer} {
		if got := flowString(t, nodeAt(containerNamed(root, c), "EnvironmentFiles")); !strings.Contains(got, "{Type: s3, Value: !Ref ") {
			t.Errorf("%s EnvironmentFiles = %s", c, got)
		}
	}
}

// renderOneWith is renderOne with extra workspace files.
func renderOneWith(t *testing.T, app, name, manifest string, files map[string]string) (Stack, *yaml.Node) {
	t.Helper()
	all := map[string]string{
		"copilot/" + name + "/manifest.yml":      manifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	}
	for k, v := range files {
		all[k] = v
	}
	ws := loadWorkspace(t, app, all)
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	for _, st := range stacks {
		if st.Workload == name {
			validateTemplate(t, st.Name, st.Template)
			return st, parseTemplate(t, st.Template)
		}
	}
	t.Fatalf("no stack for %s", name)
	return Stack{}, nil
}

func TestEnvFileWithoutBucketHoldsAPlaceholder(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/api/manifest.yml":               envFileManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"config/api.env":                         "A=1\n", "config/router.env": "B=2\n",
	})
	opts := seedOptions
	opts.ArtifactBucketARN = ""
	stacks, _, err := Render(ws, nil, []string{"api"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stacks {
		if st.Workload == "api" && !strings.HasPrefix(st.Parameters["EnvFileARN"], "arn:aws:s3:::"+envFileBucketPlaceholder+"/manual/env-files/config/api.env/") {
			t.Errorf("EnvFileARN = %q", st.Parameters["EnvFileARN"])
		}
	}
}

// A manifest must not carry a file of the runner (its credentials) to S3,
// nor the SHA-256 of one into a plan: env_file is read inside the
// workspace only, symlinks included, and no error quotes a file.
func TestEnvFileOutsideTheWorkspaceIsRefused(t *testing.T) {
	const secret = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI"
	for _, tc := range []struct{ name, envFile, want string }{
		// The workspace is the test's second temporary folder, the
		// runner's file sits in its first.
		{"dot-dot", "../001/credentials.env", "not readable inside the workspace"},
		{"symlink", "link.env", "not readable inside the workspace"},
		{"missing", "nope.env", "no such file in the workspace"},
		{"extension", "config.txt", "the .env extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outside := filepath.Join(t.TempDir(), "credentials.env")
			if err := os.WriteFile(outside, []byte(secret), 0o600); err != nil {
				t.Fatal(err)
			}
			files := map[string]string{
				"copilot/api/manifest.yml":               strings.Replace(envFileManifest, "env_file: config/api.env", "env_file: "+tc.envFile, 1),
				"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
				"config/api.env":                         "A=1\n", "config/router.env": "B=2\n", "config.txt": "A=1\n",
			}
			ws := loadWorkspace(t, "my-app", files)
			if _, err := os.Stat(filepath.Join(ws.Root, tc.envFile)); tc.name == "dot-dot" && err != nil {
				t.Fatalf("the attack's file is not where the manifest points: %v", err)
			}
			if err := os.Symlink(outside, filepath.Join(ws.Root, "link.env")); err != nil {
				t.Fatal(err)
			}
			_, diags, _ := Render(ws, nil, []string{"api"}, seedOptions)
			var found bool
			for _, d := range diags {
				if strings.Contains(d.Message, secret) || strings.Contains(d.Fix, secret) {
					t.Fatalf("a finding quotes the file: %v", d)
				}
				if d.Rule == ruleManifest && d.Line == 6 && strings.Contains(d.Message, tc.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no finding at line 6 saying %q: %v", tc.want, diags)
			}
		})
	}
}
