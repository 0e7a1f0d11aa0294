package e2e

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestReleaseImageRecipe builds the action image the way the release
// workflow does — a stripped static binary, then Dockerfile.release with
// autopilot's own builder — with a stand-in for the distroless base, and
// checks what the runner relies on: the entrypoint, root, no WORKDIR, and
// the size.
func TestReleaseImageRecipe(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "autopilot")
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		// TestMain built it with the release flags.
		if err := os.Link(binary, bin); err != nil {
			t.Fatal(err)
		}
	} else {
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "../../cmd/autopilot")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	dockerfile, err := os.ReadFile("../../Dockerfile.release")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"Dockerfile.release":          string(dockerfile),
		"copilot/.workspace":          "application: autopilot\n",
		"copilot/action/manifest.yml": "name: action\ntype: Backend Service\nimage:\n  build:\n    dockerfile: Dockerfile.release\n    context: .\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "image")
	cmd := exec.Command(binary, "build", "--service", "action", "--output", "oci:"+out,
		"--base-image", "gcr.io/distroless/static-debian12:latest=oci:"+baseImage(t), dir)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("autopilot build: %v\n%s", err, b)
	}

	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("layout holds %v: %v", m, err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/usr/local/bin/autopilot", "action"}; !slices.Equal(cf.Config.Entrypoint, want) {
		t.Errorf("entrypoint %q, want %q", cf.Config.Entrypoint, want)
	}
	if cf.Config.User != "" && cf.Config.User != "root" && cf.Config.User != "0" {
		t.Errorf("user %q, want root", cf.Config.User)
	}
	if cf.Config.WorkingDir != "" {
		t.Errorf("WORKDIR %q, want none so the runner's --workdir applies", cf.Config.WorkingDir)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var size, compressed int64
	found := false
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		compressed += n
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			size += h.Size
			if h.Name == "usr/local/bin/autopilot" && h.FileInfo().Mode()&0o111 != 0 {
				found = true
			}
		}
		rc.Close()
	}
	if !found {
		t.Error("the image has no executable /usr/local/bin/autopilot")
	}
	const limit = 25 << 20
	if size > limit {
		t.Errorf("the image holds %d bytes of files, over 25 MiB", size)
	}
	t.Logf("action image: %.1f MiB of files, %.1f MiB compressed (without the real base, about 2 MiB)", float64(size)/(1<<20), float64(compressed)/(1<<20))
}
