package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// A help flag never runs anything: with credentials loaded and every AWS
// endpoint pointing at a server that counts requests, asking any command for
// help makes no request and writes no file, wherever the flag sits.
func TestHelpRunsNothing(t *testing.T) {
	requests := countingAWS(t)
	t.Setenv("INPUT_COMMAND", "deploy")
	t.Setenv("AUTOPILOT_ARTIFACTS_BUCKET", "")
	example, err := filepath.Abs("../../examples/apprunner-vpc")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("GITHUB_OUTPUT", filepath.Join(dir, "github-output"))
	t.Chdir(dir)
	for _, args := range [][]string{
		{"deploy", "-h", example},
		{"deploy", example, "--build", "--output", "deploy.txt", "--help"},
		{"plan", "-h", "--output", "plan.txt", example},
		{"plan", example, "--offline", "--output", "plan.txt", "-h"},
		{"lint", "-h", "--output", "lint.txt", example},
		{"build", "-h", "--output", "oci:images", example},
		{"render", "--out", "rendered", example, "-h"},
		{"action", "-h"},
		{"help", "deploy"},
		{"help", "action"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out := captureStdout(t, func() {
				if code := runMain(context.Background(), args); code != exitOK {
					t.Errorf("exit %d, want 0", code)
				}
			})
			name := args[0]
			if name == "help" {
				name = args[1]
			}
			if !strings.Contains(out, "Usage:\n  autopilot "+name) {
				t.Errorf("no help on standard output:\n%s", out)
			}
			if n := requests.Load(); n != 0 {
				t.Fatalf("%d requests to AWS", n)
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Fatalf("help wrote %v", files)
			}
		})
	}
}

// captureStdout returns what fn writes to standard output.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b := new(strings.Builder)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		done <- b.String()
	}()
	defer func() { os.Stdout = saved }()
	fn()
	w.Close()
	return <-done
}

// countingAWS loads credentials and points every AWS endpoint (and any
// proxied request) at a server that counts requests and refuses them.
func countingAWS(t *testing.T) *atomic.Int64 {
	t.Helper()
	var requests atomic.Int64
	aws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusForbidden)
	}))
	t.Cleanup(aws.Close)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret/example", "AWS_REGION": "us-east-1",
		"AWS_ENDPOINT_URL": aws.URL, "AWS_EC2_METADATA_DISABLED": "true", "GITHUB_ACTIONS": "",
		"HTTPS_PROXY": aws.URL, "HTTP_PROXY": aws.URL,
	} {
		t.Setenv(k, v)
	}
	return &requests
}
