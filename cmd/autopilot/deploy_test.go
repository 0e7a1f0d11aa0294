package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	fakests "github.com/autopilot-dev/autopilot/internal/fakes/sts"
)

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// testBinary builds autopilot once per test run, as a release does (the
// version set with -ldflags).
func testBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "autopilot-cli-test")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "autopilot")
		// The release's flags: internal/e2e builds with them too, so both
		// share the compiled packages.
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=v9.8.7", "-o", binaryPath, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			binaryErr = errors.New(string(out))
		}
	})
	if binaryErr != nil {
		t.Fatalf("go build: %v", binaryErr)
	}
	return binaryPath
}

// runBinary runs autopilot with only the given environment.
func runBinary(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(testBinary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// deploy against CloudFormation's wire protocol: --format json is JSON on
// standard output, each stack event is one line on standard error (no log
// lines unless asked for), and new stacks are reported as created.
func TestDeployReportsAndEvents(t *testing.T) {
	cfn := fakecfn.New(fakecfn.WithAccount("123456789012"), fakecfn.WithExecDelay(0))
	sts := fakests.New("123456789012")
	t.Cleanup(func() { cfn.Close(); sts.Close() })
	ws := writeFiles(t, map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/api/manifest.yml":               "name: api\ntype: Backend Service\nimage:\n  location: public.ecr.aws/nginx/nginx@sha256:" + strings.Repeat("e", 64) + "\n  port: 80\n",
	})
	env := []string{"AWS_ACCESS_KEY_ID=AKIAEXAMPLEEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret/example", "AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL_CLOUDFORMATION=" + cfn.URL, "AWS_ENDPOINT_URL_STS=" + sts.URL}

	code, stdout, stderr := runBinary(t, env, "deploy", ws, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var report struct {
		Version  int    `json:"version"`
		Failed   bool   `json:"failed"`
		Headline string `json:"headline"`
		Stacks   []struct {
			Stack, Outcome, Status string
		} `json:"stacks"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("standard output is not JSON: %v\n%s", err, stdout)
	}
	if report.Version != 1 || report.Failed || report.Headline != "Deploy succeeded: 2 stacks created" || len(report.Stacks) != 2 {
		t.Errorf("report = %+v", report)
	}
	for _, s := range report.Stacks {
		if s.Outcome != "created" || s.Status != "CREATE_COMPLETE" {
			t.Errorf("%s: outcome %q status %q, want created", s.Stack, s.Outcome, s.Status)
		}
	}
	if strings.Contains(stderr, "level=") || strings.Contains(stderr, "stack event") {
		t.Errorf("log lines without --verbose:\n%s", stderr)
	}
	seen := map[string]int{}
	for _, line := range strings.Split(stderr, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && strings.HasSuffix(f[3], "_COMPLETE") {
			seen[strings.Join(f[1:4], " ")]++
		}
	}
	if seen["shop-test-api shop-test-api CREATE_COMPLETE"] != 1 || seen["shop-test shop-test CREATE_COMPLETE"] != 1 {
		t.Errorf("want each stack's completion once, got %v:\n%s", seen, stderr)
	}
	for event, n := range seen {
		if n != 1 {
			t.Errorf("event %q printed %d times", event, n)
		}
	}

	// Asked for, the log is there: text with --verbose, JSON with
	// --log-format json (one object per line).
	if code, _, stderr = runBinary(t, env, "deploy", "--verbose", ws); code != exitOK || !strings.Contains(stderr, "level=INFO") {
		t.Errorf("--verbose: exit %d, no log lines:\n%s", code, stderr)
	}
	code, stdout, stderr = runBinary(t, env, "deploy", "--log-format", "json", ws)
	if code != exitOK || !strings.Contains(stdout, "Deploy succeeded: no changes") {
		t.Errorf("--log-format json: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("--log-format json: not a JSON line: %q", line)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

// A network failure is reported as one, not as missing credentials; missing
// credentials still say what to do. Both cannot run: exit 2.
func TestAWSFailuresSayWhatFailed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	creds := []string{"AWS_ACCESS_KEY_ID=AKIAEXAMPLEEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret/example"}
	base := []string{"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=" + closed}
	for _, tc := range []struct {
		name      string
		env       []string
		want, not string
	}{
		{"connection refused", append(creds, base...), "cannot reach AWS", "credentials:"},
		{"no credentials", base, "no usable AWS credentials", "cannot reach"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runBinary(t, tc.env, "plan", "../../examples/apprunner-vpc")
			if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, tc.not) {
				t.Errorf("exit %d, want 2 and %q without %q:\n%s", code, tc.want, tc.not, stderr)
			}
		})
	}
}
