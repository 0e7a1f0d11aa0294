package chroot

import (
	"archive/tar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// buildah runs Debian's buildah with its own storage (vfs) under dir.
type buildah struct {
	t   testing.TB
	dir string
}

func newBuildah(t testing.TB, base string) *buildah {
	t.Helper()
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Skip("buildah is not installed (apt-get install -y buildah); skipping the comparison with buildah")
	}
	// buildah names a pulled layout after its path, which must be lower case.
	dir, err := os.MkdirTemp("", "autopilot-buildah-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b := &buildah{t: t, dir: dir}
	if out, err := b.run("info"); err != nil {
		t.Skipf("buildah cannot run in this sandbox, skipping the comparison: %v\n%s", err, out)
	}
	if out, err := exec.Command("cp", "-r", strings.TrimPrefix(base, "oci:"), filepath.Join(dir, "base")).CombinedOutput(); err != nil {
		t.Fatalf("copy base image: %v\n%s", err, out)
	}
	if out, err := b.run("pull", "--quiet", "oci:"+filepath.Join(dir, "base")); err != nil {
		t.Fatalf("buildah pull: %v\n%s", err, out)
	}
	id, err := b.run("images", "-q")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := b.run("tag", strings.Fields(id)[0], "busybox"); err != nil {
		t.Fatalf("buildah tag: %v\n%s", err, out)
	}
	return b
}

func (b *buildah) args(args ...string) []string {
	return append([]string{"--root", filepath.Join(b.dir, "root"), "--runroot", filepath.Join(b.dir, "run"), "--storage-driver", "vfs"}, args...)
}

func (b *buildah) run(args ...string) (string, error) {
	out, err := exec.Command("buildah", b.args(args...)...).CombinedOutput()
	return string(out), err
}

// build runs `buildah bud --isolation chroot` and returns the image's filesystem.
func (b *buildah) build(ctxDir string, extra ...string) map[string]entry {
	b.t.Helper()
	args := append([]string{"bud", "--pull=never", "--isolation", "chroot", "--layers", "-t", "out"}, extra...)
	if out, err := b.run(append(args, ctxDir)...); err != nil {
		b.t.Fatalf("buildah bud: %v\n%s", err, out)
	}
	dst := filepath.Join(b.dir, "out")
	os.RemoveAll(dst)
	if out, err := b.run("push", "--quiet", "out", "oci:"+dst+":latest"); err != nil {
		b.t.Fatalf("buildah push: %v\n%s", err, out)
	}
	p, err := layout.FromPath(dst)
	if err != nil {
		b.t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		b.t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		b.t.Fatal(err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		b.t.Fatal(err)
	}
	return flatten(b.t, img)
}

// comparable turns hard links into what they point at, since which name of
// an inode comes first differs between tools.
func comparable(fsys map[string]entry) map[string]entry {
	out := map[string]entry{}
	for name, e := range fsys {
		if e.Type == tar.TypeLink {
			target := fsys[strings.TrimPrefix(e.Content, "/")]
			target.Type = tar.TypeReg
			e = target
		}
		if e.Type == tar.TypeRegA { //nolint:staticcheck // old tar writers
			e.Type = tar.TypeReg
		}
		out[name] = e
	}
	return out
}

// buildahStubs are the empty mount points buildah 1.28 leaves in an image
// after RUN (BuildKit and autopilot remove the ones they create).
var buildahStubs = []string{"dev", "proc", "sys", "run", "run/secrets", "etc/hostname", "etc/hosts", "etc/resolv.conf"}

// withoutStubs drops buildah's empty mount points that ours lacks.
func withoutStubs(theirs, ours map[string]entry, extra []string) map[string]entry {
	out := map[string]entry{}
	for name, e := range theirs {
		_, inOurs := ours[name]
		empty := e.Type == tar.TypeDir || (e.Type == tar.TypeReg && e.Content == "")
		if !inOurs && empty && (slices.Contains(buildahStubs, name) || slices.Contains(extra, name)) {
			continue
		}
		out[name] = e
	}
	return out
}

func TestSameFilesystemAsBuildah(t *testing.T) {
	requireLongTests(t, "building each Dockerfile with buildah too")
	requireRoot(t)
	base := baseImage(t)
	bh := newBuildah(t, base)
	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte("s3cr3t-value"), 0o600)
	tests := []struct {
		name, dockerfile string
		files            map[string]string
		stubs            []string // parents buildah creates for mount targets
	}{
		{"create, change and delete", `FROM busybox
RUN mkdir -p /data/sub && echo hello > /data/a && echo one > /data/gone && echo extra >> /etc/passwd && touch /data/sub/x
RUN rm -r /data/gone /data/sub /etc/group && chmod 600 /data/a && ln -s a /data/link && ln /data/a /data/hard
`, nil, nil},
		{"ownership and modes", `FROM busybox
RUN touch /owned && chown 1000:1001 /owned && chmod 4755 /owned && mkdir -p /shared/deep && chown -R app:staff /shared && chmod 1777 /shared && chmod 2750 /shared/deep
`, nil, nil},
		{"user, workdir, args", `FROM busybox
ARG GREETING=hi
ENV TARGET=world
USER app
WORKDIR /home/app
RUN echo "$GREETING $TARGET $(id -u) $HOME" > out && mkdir made
`, nil, nil},
		{"replace a folder by a file and a file by a folder", `FROM busybox
RUN mkdir /x && touch /x/inner /y
RUN rm -r /x /y && echo file > /x && mkdir /y && touch /y/z
`, nil, nil},
		{"multi-stage with COPY --from a RUN stage", `FROM busybox AS builder
RUN mkdir /out && echo built > /out/artifact && ln -s artifact /out/link
FROM busybox
COPY app.txt /app/
COPY --from=builder /out/ /app/built/
RUN cat /app/built/artifact /app/app.txt > /app/both && rm /app/app.txt
`, map[string]string{"app.txt": "source\n"}, nil},
		{"cache and secret mounts", `FROM busybox
RUN --mount=type=cache,target=/var/cache/pkgs echo x > /var/cache/pkgs/f && cp /var/cache/pkgs/f /copied
RUN --mount=type=secret,id=token test -s /run/secrets/token && echo ok > /checked
`, nil, []string{"var", "var/cache"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctxDir := writeContext(t, tc.dockerfile, tc.files)
			cache := t.TempDir()
			img, err := buildWith(t, ctxDir, base, cache, newRunner(t, cache, WithSecretFile("token", secret)), nil)
			if err != nil {
				t.Fatal(err)
			}
			ours := comparable(flatten(t, img))
			theirs := withoutStubs(comparable(bh.build(ctxDir, "--secret", "id=token,src="+secret)), ours, tc.stubs)
			if diff := cmp.Diff(theirs, ours); diff != "" {
				t.Errorf("filesystem differs from buildah's (-buildah +autopilot):\n%s", diff)
			}
		})
	}
}
