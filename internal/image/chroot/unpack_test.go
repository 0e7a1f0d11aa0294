package chroot

import (
	"archive/tar"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// treeOf lists a folder's paths with their mode and content, to prove a
// folder was not touched.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			v += " " + string(b)
		}
		out[p] = v
		return nil
	})
	return out
}

func TestUnpackRefusesEscapes(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name   string
		layers [][]fileSpec
	}{
		{"dot-dot in name", [][]fileSpec{{{name: "../outside/evil", data: []byte("x"), mode: 0o644}}}},
		{"dot-dot deep in name", [][]fileSpec{{{name: "a/../../outside/evil", data: []byte("x"), mode: 0o644}}}},
		{"absolute name", [][]fileSpec{{{name: "/outside/evil", data: []byte("x"), mode: 0o644}}}},
		{"write through an absolute symlink", [][]fileSpec{
			{{name: "link", link: "OUTSIDE"}},
			{{name: "link/evil", data: []byte("x"), mode: 0o644}},
		}},
		{"write through a relative symlink that climbs out", [][]fileSpec{
			{{name: "link", link: "../outside"}, {name: "link/evil", data: []byte("x"), mode: 0o644}},
		}},
		{"symlink chain that climbs out", [][]fileSpec{
			{{name: "a/", mode: 0o755}, {name: "a/up", link: ".."}, {name: "b", link: "a/up/a/up/outside"}, {name: "b/evil", data: []byte("x"), mode: 0o644}},
		}},
		{"hard link to a file outside", [][]fileSpec{{{name: "h", hardlink: "../outside/victim"}}}},
		{"hard link through an escaping symlink", [][]fileSpec{
			{{name: "link", link: "../outside"}, {name: "h", hardlink: "link/victim"}},
		}},
		{"whiteout through an escaping symlink", [][]fileSpec{
			{{name: "link", link: "../outside"}},
			{{name: "link/.wh.victim", data: nil, mode: 0o644}},
		}},
		{"opaque whiteout through an escaping symlink", [][]fileSpec{
			{{name: "link", link: "OUTSIDE"}},
			{{name: "link/.wh..wh..opq", mode: 0o644}},
		}},
		{"directory through an escaping symlink", [][]fileSpec{
			{{name: "link", link: "../outside"}, {name: "link/newdir/", mode: 0o755}},
		}},
		{"symlink replaced then written through", [][]fileSpec{
			{{name: "etc/", mode: 0o755}},
			{{name: "etc", link: "../outside"}, {name: "etc/passwd", data: []byte("x"), mode: 0o644}},
		}},
		{"character device", [][]fileSpec{{{name: "dev/", mode: 0o755}, {name: "dev/mem", typ: tar.TypeChar, mode: 0o666}}}},
		{"block device", [][]fileSpec{{{name: "sda", typ: tar.TypeBlock, mode: 0o666}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			outside := filepath.Join(dir, "outside")
			os.Mkdir(root, 0o755)
			os.Mkdir(outside, 0o755)
			os.WriteFile(filepath.Join(outside, "victim"), []byte("keep me"), 0o644)
			before := treeOf(t, outside)
			var layers []v1.Layer
			for _, files := range tc.layers {
				for i := range files {
					if files[i].link == "OUTSIDE" {
						files[i].link = outside
					}
				}
				layers = append(layers, layerOf(t, files))
			}
			err := unpackLayers(root, layers, 0)
			var unsafe *UnsafeEntryError
			if !errors.As(err, &unsafe) {
				t.Fatalf("unpack error = %v, want an UnsafeEntryError", err)
			}
			if diff := cmp.Diff(before, treeOf(t, outside)); diff != "" {
				t.Errorf("the folder outside the root changed (-before +after):\n%s", diff)
			}
			if _, err := os.Lstat(filepath.Join(dir, "evil")); err == nil {
				t.Errorf("a file was written next to the root")
			}
		})
	}
}

func TestUnpackAppliesLayers(t *testing.T) {
	requireRoot(t)
	layers := []v1.Layer{
		layerOf(t, []fileSpec{
			{name: "etc/", mode: 0o755},
			{name: "etc/keep", data: []byte("keep"), mode: 0o644},
			{name: "etc/gone", data: []byte("gone"), mode: 0o644},
			{name: "opaque/", mode: 0o755},
			{name: "opaque/old", data: []byte("old"), mode: 0o644},
			{name: "bin/", mode: 0o755},
			{name: "bin/tool", data: []byte("tool"), mode: 0o4755, uid: 0},
			{name: "bin/alias", hardlink: "bin/tool"},
			{name: "lib", link: "usr/lib"},
			{name: "usr/lib/", mode: 0o755},
			{name: "home/app/", mode: 0o750, uid: 1000, gid: 1001},
		}),
		layerOf(t, []fileSpec{
			{name: "etc/.wh.gone", mode: 0o644},
			{name: "opaque/new", data: []byte("new"), mode: 0o600},
			{name: "opaque/.wh..wh..opq", mode: 0o644},
			{name: "lib/libx.so", data: []byte("lib"), mode: 0o644}, // through an in-root relative symlink
			{name: "etc/keep", data: []byte("changed"), mode: 0o640, uid: 1000, gid: 1001},
		}),
	}
	root := t.TempDir()
	if err := unpackLayers(root, layers, 0); err != nil {
		t.Fatal(err)
	}
	type file struct {
		Mode     os.FileMode
		UID, GID uint32
		Content  string
	}
	got := map[string]file{}
	snap, err := takeSnapshot(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range snap {
		f := file{Mode: s.mode, UID: s.uid, GID: s.gid}
		if s.mode.IsRegular() {
			b, _ := os.ReadFile(filepath.Join(root, name))
			f.Content = string(b)
		} else if s.link != "" {
			f.Content = s.link
		}
		got[name] = f
	}
	want := map[string]file{
		"etc":             {Mode: fs.ModeDir | 0o755},
		"etc/keep":        {Mode: 0o640, UID: 1000, GID: 1001, Content: "changed"},
		"opaque":          {Mode: fs.ModeDir | 0o755},
		"opaque/new":      {Mode: 0o600, Content: "new"},
		"bin":             {Mode: fs.ModeDir | 0o755},
		"bin/tool":        {Mode: os.ModeSetuid | 0o755, Content: "tool"},
		"bin/alias":       {Mode: os.ModeSetuid | 0o755, Content: "tool"},
		"lib":             {Mode: fs.ModeSymlink | 0o777, Content: "usr/lib"},
		"usr":             {Mode: fs.ModeDir | 0o755},
		"usr/lib":         {Mode: fs.ModeDir | 0o755},
		"usr/lib/libx.so": {Mode: 0o644, Content: "lib"},
		"home":            {Mode: fs.ModeDir | 0o755},
		"home/app":        {Mode: fs.ModeDir | 0o750, UID: 1000, GID: 1001},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unpacked tree (-want +got):\n%s", diff)
	}
	if snap["bin/tool"].ino != snap["bin/alias"].ino {
		t.Error("bin/alias is not a hard link of bin/tool")
	}
}
