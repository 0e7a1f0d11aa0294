package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fixtureDir holds what tests of this package share (the base image); it
// lives as long as the test binary.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "autopilot-image-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedBase is the base image, written once for every test.
var sharedBase struct {
	once sync.Once
	ref  string
	err  error
}

// baseImage returns "oci:DIR", an OCI layout holding a linux/amd64 image
// laid out like busybox (bin/busybox, bin/sh, an app user, a python link).
// Nothing in this package runs the base image's programs, so its busybox
// is a few bytes: the RUN tests in ./chroot use the real one. Written once
// per test binary; tests must not change it.
func baseImage(t testing.TB) string {
	t.Helper()
	sharedBase.once.Do(func() { sharedBase.ref, sharedBase.err = writeBaseImage(filepath.Join(fixtureDir, "busybox")) })
	if sharedBase.err != nil {
		t.Fatalf("write the base image: %v", sharedBase.err)
	}
	return sharedBase.ref
}

func writeBaseImage(dir string) (string, error) {
	files := []fileSpec{
		{name: "bin/", mode: 0o755},
		{name: "bin/busybox", mode: 0o755, data: []byte("#!/bin/sh\necho stand-in for busybox\n")},
		{name: "bin/sh", link: "busybox"},
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\napp:x:1001:\n")},
		{name: "usr/", mode: 0o755},
		{name: "usr/bin/", mode: 0o755},
		{name: "usr/bin/python", link: "/bin/busybox"},
	}
	data, err := tarBytes(files)
	if err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return "", err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "busybox stand-in"}})
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
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

type fileSpec struct {
	name string
	mode int64
	data []byte
	link string
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
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: time.Unix(0, 0)}
		switch {
		case f.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.link, 0o777
		case f.name[len(f.name)-1] == '/':
			h.Typeflag = tar.TypeDir
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeTree creates files under dir; a name ending in "/" is a folder, a
// value starting with "->" a symlink.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if name[len(name)-1] == '/' {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if len(content) > 2 && content[:2] == "->" {
			if err := os.Symlink(content[2:], p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// imageFile is one path of an image's merged filesystem.
type imageFile struct {
	Type     byte
	Mode     int64
	UID, GID int
	Link     string
	Content  string
}

// filesOf reads the merged filesystem of img.
func filesOf(t testing.TB, img v1.Image) map[string]imageFile {
	t.Helper()
	v, err := newFSView(img)
	if err != nil {
		t.Fatal(err)
	}
	src := &imageSource{v: v}
	var nodes []*srcNode
	for _, name := range v.sorted {
		if n := src.node(name); n != nil {
			nodes = append(nodes, n)
		}
	}
	if err := src.prepare(nodes, 1); err != nil {
		t.Fatal(err)
	}
	out := map[string]imageFile{}
	for _, n := range nodes {
		f := imageFile{Type: n.typ, Mode: n.mode, UID: n.uid, GID: n.gid, Link: n.link}
		if n.typ == tar.TypeReg {
			rc, err := n.open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			f.Content = string(b)
		}
		out[n.rel] = f
	}
	return out
}
