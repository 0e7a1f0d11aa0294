package chroot

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/autopilot-dev/autopilot/internal/image"
)

// busyboxPath is Debian's busybox-static binary (apt-get install -y busybox-static).
const busyboxPath = "/bin/busybox"

// requireRoot skips tests that chroot, mknod or chown.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (chroot, mknod, chown): run the tests as root, as CI and the GitHub Action do")
	}
}

// longTestsVar opts in to the long comparisons (buildah, file by file):
// `go test ./...` skips them so it stays fast, and .ci/run runs them in a
// second step.
const longTestsVar = "AUTOPILOT_LONG_TESTS"

// requireLongTests skips a long comparison unless AUTOPILOT_LONG_TESTS=1.
func requireLongTests(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(longTestsVar) != "1" {
		t.Skipf("%s is a long comparison: run it with %s=1 (.ci/run does)", what, longTestsVar)
	}
}

type fileSpec struct {
	name     string
	mode     int64
	data     []byte
	link     string // symlink target
	hardlink string
	typ      byte // default: inferred
	uid, gid int
}

func tarOf(t testing.TB, files []fileSpec) []byte {
	t.Helper()
	b, err := tarBytes(files)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tarBytes(files []fileSpec) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: time.Unix(0, 0), Typeflag: f.typ}
		switch {
		case f.typ != 0:
		case f.link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, f.link, 0o777
		case f.hardlink != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, f.hardlink
		case strings.HasSuffix(f.name, "/"):
			hdr.Typeflag = tar.TypeDir
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			tw.Write(f.data)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func layerOf(t testing.TB, files []fileSpec) v1.Layer {
	t.Helper()
	l, err := layerFrom(files)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func layerFrom(files []fileSpec) (v1.Layer, error) {
	b, err := tarBytes(files)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, tarball.WithMediaType(types.OCILayer))
}

// fixtureDir holds what tests of this package share (base images); it
// lives as long as the test binary.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "autopilot-chroot-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// baseImage returns "oci:DIR", an OCI layout with a linux/amd64 image made
// from the host's static busybox (every applet linked in /bin), an app user
// and group. Written once per test binary; tests must not change it.
func baseImage(t testing.TB) string {
	t.Helper()
	return baseImageWith(t, nil)
}

// baseImages are the base images written so far, by their extra files.
var baseImages struct {
	sync.Mutex
	byExtra map[string]*baseFixture
}

type baseFixture struct {
	once sync.Once
	ref  string
	err  error
}

// baseImageWith is baseImage with extra files in a second layer; each
// distinct set of extra files is written once.
func baseImageWith(t testing.TB, extra []fileSpec) string {
	t.Helper()
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Skipf("%s is missing (apt-get install -y busybox-static): %v", busyboxPath, err)
	}
	key := fmt.Sprintf("%#v", extra)
	baseImages.Lock()
	if baseImages.byExtra == nil {
		baseImages.byExtra = map[string]*baseFixture{}
	}
	f := baseImages.byExtra[key]
	if f == nil {
		f = &baseFixture{}
		baseImages.byExtra[key] = f
	}
	n := len(baseImages.byExtra)
	baseImages.Unlock()
	f.once.Do(func() {
		f.ref, f.err = writeBaseImage(filepath.Join(fixtureDir, fmt.Sprintf("busybox-%d", n)), bin, extra)
	})
	if f.err != nil {
		t.Fatalf("write the base image: %v", f.err)
	}
	return f.ref
}

func writeBaseImage(dir string, busybox []byte, extra []fileSpec) (string, error) {
	list, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return "", fmt.Errorf("busybox --list: %w", err)
	}
	files := []fileSpec{
		{name: "bin/", mode: 0o755},
		{name: "bin/busybox", mode: 0o755, data: busybox},
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\napp:x:1001:\nstaff:x:50:app\n")},
		{name: "root/", mode: 0o700},
		{name: "home/", mode: 0o755},
		{name: "home/app/", mode: 0o755, uid: 1000, gid: 1001},
		{name: "tmp/", mode: 0o1777},
	}
	applets := strings.Fields(string(list))
	sort.Strings(applets)
	for _, a := range applets {
		if a != "busybox" {
			files = append(files, fileSpec{name: "bin/" + a, link: "busybox"})
		}
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	// The busybox layer is stored uncompressed (as docker save writes
	// layers): every test unpacks and reads it, and under the race detector
	// gunzipping its 2 MB took a third of this package's time. Extra files,
	// and every layer a build writes, are gzip.
	data, err := tarBytes(files)
	if err != nil {
		return "", err
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(data, types.OCIUncompressedLayer),
		History: v1.History{CreatedBy: "busybox-static from the test host"}})
	if err != nil {
		return "", err
	}
	if len(extra) > 0 {
		layer, err := layerFrom(extra)
		if err != nil {
			return "", err
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer}); err != nil {
			return "", err
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer}); err != nil {
			return "", err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Cmd = []string{"/bin/sh"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	if err := p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		return "", err
	}
	return "oci:" + dir, nil
}

// writeContext writes a build context with a Dockerfile and files.
func writeContext(t testing.TB, dockerfile string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildWith builds the context's Dockerfile with the runner, bases from base.
func buildWith(t testing.TB, ctxDir, base, cacheDir string, r *Runner, args map[string]string) (v1.Image, error) {
	t.Helper()
	spec := image.BuildSpec{Workload: "test", Context: ctxDir, Dockerfile: filepath.Join(ctxDir, "Dockerfile"), Args: args}
	return image.Build(context.Background(), spec,
		image.WithBaseImages(map[string]string{"busybox": base}),
		image.WithCacheDir(cacheDir),
		image.WithSourceDateEpoch(time.Unix(1700000000, 0)),
		image.WithRunner(r))
}

func newRunner(t testing.TB, cacheDir string, opts ...Option) *Runner {
	t.Helper()
	r, err := New(append([]Option{WithCacheDir(cacheDir)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close runner: %v", err)
		}
	})
	return r
}

// entry is one path of a flattened image, everything a user can observe.
type entry struct {
	Type     byte
	Mode     int64
	UID, GID int
	Content  string // file content, or link target
}

// flatten returns the image's final filesystem by path.
func flatten(t testing.TB, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
		e := entry{Type: hdr.Typeflag, Mode: hdr.Mode & 0o7777, UID: hdr.Uid, GID: hdr.Gid}
		switch hdr.Typeflag {
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			e.Content = string(b)
		case tar.TypeSymlink, tar.TypeLink:
			e.Content = hdr.Linkname
		}
		out[name] = e
	}
	return out
}

// layerBytes is the uncompressed content of every layer of img.
func layerBytes(t testing.TB, img v1.Image) []byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(&all, rc)
		rc.Close()
	}
	return all.Bytes()
}
