package image

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestReproducible builds the same sources in two folders, with different
// file times and separate caches, and expects the same digest.
func TestReproducible(t *testing.T) {
	base := baseImage(t)
	files := map[string]string{"app.py": "print(1)", "lib/a.py": "a", "lib/b.py": "b", "static/x.css": "body{}"}
	dockerfile := "FROM busybox AS build\nCOPY lib /lib/\nFROM busybox\nWORKDIR /app\nCOPY --from=build /lib ./lib\nCOPY . .\nCMD [\"python\", \"app.py\"]\n"
	digests := map[string]v1.Hash{}
	for i, when := range []time.Time{time.Unix(1e9, 0), time.Unix(1.5e9, 0)} {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("checkout-%d", i))
		writeTree(t, dir, files)
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644)
		filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, when, when) })
		img, err := Build(context.Background(), BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")},
			WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(t.TempDir()), WithSourceDateEpoch(time.Unix(1700000000, 0)))
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests[dir] = d
	}
	var first v1.Hash
	for dir, d := range digests {
		if first.Hex == "" {
			first = d
			continue
		}
		if d != first {
			t.Errorf("%s built %s, the other checkout %s", dir, d, first)
		}
	}
}

// randomTree writes n files of size bytes of random (incompressible) data.
func randomTree(t testing.TB, dir string, n, size int) {
	t.Helper()
	buf := make([]byte, size)
	for i := 0; i < n; i++ {
		rand.Read(buf)
		p := filepath.Join(dir, fmt.Sprintf("src/pkg%02d/file%04d.bin", i%20, i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func layerDigests(t testing.TB, img v1.Image) map[v1.Hash]int64 {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[v1.Hash]int64{}
	for _, l := range layers {
		d, _ := l.Digest()
		s, _ := l.Size()
		out[d] = s
	}
	return out
}

// TestSplitLayersKeepDigests edits one file of a large COPY and checks
// that only a small layer changes, with and without splitting.
func TestSplitLayersKeepDigests(t *testing.T) {
	base := baseImage(t)
	cases := []struct {
		name        string
		split       bool
		maxNewBytes int64
	}{
		{name: "split", split: true, maxNewBytes: 1 << 20},
		{name: "one layer", split: false, maxNewBytes: 1 << 30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			randomTree(t, dir, 240, 20<<10) // 4.8 MB: over the 4 MiB at which a copy is split
			os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nCOPY . /app/\n"), 0o644)
			spec := BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
			opts := []Option{WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(t.TempDir()), WithSplitLayers(tc.split, 0)}
			before, err := Build(context.Background(), spec, opts...)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "src/pkg03/file0003.bin"), []byte("edited"), 0o644)
			after, err := Build(context.Background(), spec, opts...)
			if err != nil {
				t.Fatal(err)
			}
			old := layerDigests(t, before)
			var changed, newBytes int64
			for d, size := range layerDigests(t, after) {
				if _, ok := old[d]; !ok {
					changed++
					newBytes += size
				}
			}
			if changed != 1 {
				t.Errorf("%d layers changed, want 1", changed)
			}
			if newBytes > tc.maxNewBytes {
				t.Errorf("changed layers hold %d bytes, want at most %d", newBytes, tc.maxNewBytes)
			}
			if tc.split && len(old) < 8 {
				t.Errorf("split build has %d layers, want the 4.8 MB copy cut into several", len(old))
			}
			if got := filesOf(t, after)["app/src/pkg03/file0003.bin"].Content; got != "edited" {
				t.Errorf("edited file holds %q", got)
			}
		})
	}
}
