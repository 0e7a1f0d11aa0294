package run

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/autopilot-dev/autopilot/internal/image"
	"github.com/autopilot-dev/autopilot/internal/image/chroot"
)

// dockerfile has two RUN steps (a "dependency install" writing ~2.4 MB in
// 300 files, then an archive of it) and a COPY of the sources after them,
// the layout where a source change must reuse both RUN layers.
const dockerfile = `FROM busybox
RUN mkdir -p /opt/deps && i=0; while [ $i -lt 300 ]; do head -c 8192 /dev/urandom > /opt/deps/mod$i.py; i=$((i+1)); done
RUN cd /opt && tar czf deps.tgz deps && rm -rf deps/mod1*
COPY src/ /app/
`

// BenchmarkRun times three scenarios for each tool: cold (empty caches),
// warm (one source file changed after the RUN steps) and nochange.
// bench/run/run.sh prints the ratios.
func BenchmarkRun(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (chroot, mknod, chown)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		b.Skip("needs /bin/busybox (apt-get install -y busybox-static)")
	}
	base := baseImage(b)
	ctxDir := b.TempDir()
	os.MkdirAll(filepath.Join(ctxDir, "src"), 0o755)
	os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644)
	for i := range 50 {
		os.WriteFile(filepath.Join(ctxDir, "src", fmt.Sprintf("f%02d.py", i)), bytes.Repeat([]byte("x = 1\n"), 500), 0o644)
	}
	edits := 0
	edit := func() {
		edits++
		os.WriteFile(filepath.Join(ctxDir, "src", "f07.py"), []byte(fmt.Sprintf("print(%d)\n", edits)), 0o644)
	}

	tools := []struct {
		name  string
		setup func(b *testing.B) func() // returns one build
	}{
		{"autopilot", func(b *testing.B) func() {
			cache := b.TempDir()
			r, err := chroot.New(chroot.WithCacheDir(cache))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { r.Close() })
			spec := image.BuildSpec{Workload: "bench", Context: ctxDir, Dockerfile: filepath.Join(ctxDir, "Dockerfile")}
			opts := []image.Option{image.WithBaseImages(map[string]string{"busybox": base}), image.WithCacheDir(cache),
				image.WithSourceDateEpoch(time.Unix(1700000000, 0)), image.WithRunner(r)}
			return func() {
				if _, err := image.Build(context.Background(), spec, opts...); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"buildah", func(b *testing.B) func() {
			if _, err := exec.LookPath("buildah"); err != nil {
				b.Skip("buildah is not installed (apt-get install -y buildah)")
			}
			root, err := os.MkdirTemp("", "bench-buildah-")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { os.RemoveAll(root) })
			bh := func(args ...string) {
				args = append([]string{"--root", root + "/root", "--runroot", root + "/run", "--storage-driver", "vfs"}, args...)
				if out, err := exec.Command("buildah", args...).CombinedOutput(); err != nil {
					b.Fatalf("buildah %v: %v\n%s", args, err, out)
				}
			}
			// buildah names a pulled layout after its (lower-case) path.
			if out, err := exec.Command("cp", "-r", base[len("oci:"):], root+"/busybox").CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			bh("pull", "--quiet", "oci:"+root+"/busybox")
			bh("tag", "localhost"+root+"/busybox", "busybox")
			return func() {
				bh("bud", "--pull=never", "--layers", "--isolation", "chroot", "-t", "bench", ctxDir)
			}
		}},
	}
	for _, tool := range tools {
		b.Run(tool.name+"/cold", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				build := tool.setup(b)
				b.StartTimer()
				build()
			}
		})
		b.Run(tool.name+"/warm", func(b *testing.B) {
			build := tool.setup(b)
			build()
			for b.Loop() {
				b.StopTimer()
				edit()
				b.StartTimer()
				build()
			}
		})
		b.Run(tool.name+"/nochange", func(b *testing.B) {
			build := tool.setup(b)
			build()
			for b.Loop() {
				build()
			}
		})
	}
}

// baseImage writes an OCI layout with the host's static busybox and every
// applet linked, and returns "oci:DIR".
func baseImage(b *testing.B) string {
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		b.Fatal(err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))})
	tw.Write(bin)
	for _, a := range bytes.Fields(list) {
		if string(a) != "busybox" {
			tw.WriteHeader(&tar.Header{Name: "bin/" + string(a), Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
		}
	}
	tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777})
	tw.Close()
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		b.Fatal(err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.Append(img, mutate.Addendum{Layer: layer}); err != nil {
		b.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		b.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "bench-base-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		b.Fatal(err)
	}
	return "oci:" + dir
}
