package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// --offline makes no AWS call, with --build too: the images are written
// to --build-output, and a layer cache in ECR is refused rather than read
// or pushed.
func TestOfflinePlanCallsNoAWS(t *testing.T) {
	requests := countingAWS(t)
	ws := t.TempDir()
	for p, body := range map[string]string{
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/api/manifest.yml":               "name: api\ntype: Backend Service\nimage:\n  build: api/Dockerfile\n  port: 8080\n",
		"api/Dockerfile":                         "FROM scratch\nCOPY hello.txt /hello.txt\n",
		"api/hello.txt":                          "hello\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(ws, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ws, "copilot/.workspace"), []byte("application: shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "plan.txt")
	images := "oci:" + filepath.Join(t.TempDir(), "images")
	ecrCache := "123456789012.dkr.ecr.us-east-1.amazonaws.com/cache"
	for _, tc := range []struct {
		args []string
		want int
	}{
		// Naming the images in ECR asks ECR for its registry.
		{[]string{"plan", "--offline", "--build", "--output", out, ws}, exitUsage},
		{[]string{"plan", "--offline", "--build", "--build-output", images, "--cache-repo", ecrCache, "--output", out, ws}, exitUsage},
		{[]string{"plan", "--offline", "--build", "--build-output", images, "--output", out, ws}, exitOK},
	} {
		os.Remove(out)
		code := runMain(context.Background(), tc.args)
		if n := requests.Load(); n != 0 {
			t.Fatalf("%v: %d requests to AWS (exit %d)", tc.args, n, code)
		}
		if code != tc.want {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.want)
		}
		if b, _ := os.ReadFile(out); tc.want == exitOK && len(b) == 0 {
			t.Errorf("%v: no plan written", tc.args)
		}
	}
}
