package image

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSeedExampleDemoService builds the seed example's demo-service: the
// Dockerfile as written fails on its RUN line until RUN lands; the same
// Dockerfile without RUN builds from the real context.
func TestSeedExampleDemoService(t *testing.T) {
	dir, err := filepath.Abs("../../examples/apprunner-vpc/demo-service")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := filepath.Join(dir, "Dockerfile")
	src, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Skipf("the seed example is not in the tree yet: %v", err)
	}
	base := baseImage(t)
	opts := []Option{WithBaseImages(map[string]string{"public.ecr.aws/docker/library/python:3.12-slim": base}), WithCacheDir(t.TempDir())}

	runLine := 0
	lines := strings.Split(string(src), "\n")
	var kept []string
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "RUN ") {
			if runLine == 0 {
				runLine = i + 1
			}
			continue
		}
		kept = append(kept, l)
	}
	if runLine > 0 {
		_, err := Build(context.Background(), BuildSpec{Context: dir, Dockerfile: dockerfile}, opts...)
		want := regexp.MustCompile(`demo-service/Dockerfile:` + strconv.Itoa(runLine) + `: RUN needs the chroot executor`)
		if err == nil || !want.MatchString(err.Error()) {
			t.Errorf("build as written: %v, want %s", err, want)
		}
	}

	variant := filepath.Join(t.TempDir(), "Dockerfile.norun")
	if err := os.WriteFile(variant, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := Build(context.Background(), BuildSpec{Workload: "demo-service", Context: dir, Dockerfile: variant}, opts...)
	if err != nil {
		t.Fatalf("build without RUN: %v", err)
	}
	files := filesOf(t, img)
	for _, rel := range []string{"app.py", "requirements.txt", "templates/index.html"} {
		want, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if got := files["app/"+rel]; got.Content != string(want) {
			t.Errorf("/app/%s = %q, want the example's file", rel, got.Content)
		}
	}
	cf, _ := img.ConfigFile()
	if cf.Config.WorkingDir != "/app" || cf.Config.User != "1000" {
		t.Errorf("workdir %q user %q", cf.Config.WorkingDir, cf.Config.User)
	}
	if diff := cmp.Diff(map[string]struct{}{"5000/tcp": {}}, cf.Config.ExposedPorts); diff != "" {
		t.Errorf("exposed ports (-want +got):\n%s", diff)
	}
}
