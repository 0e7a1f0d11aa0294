package image

import (
	"archive/tar"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// tree makes the entries of a copy to /app: files by path and size, and
// the folders above them.
func tree(files map[string]int64) []tarEntry {
	var entries []tarEntry
	dirs := map[string]bool{"app": true}
	for name, size := range files {
		entries = append(entries, tarEntry{name: "app/" + name, typ: tar.TypeReg, mode: 0o644, size: size})
		for d := "app/" + name; strings.Contains(d, "/"); {
			d = d[:strings.LastIndex(d, "/")]
			dirs[d] = true
		}
	}
	for d := range dirs {
		entries = append(entries, tarEntry{name: d, typ: tar.TypeDir, mode: 0o755})
	}
	return sortEntries(entries)
}

// kindOf is what splitEntries must keep apart.
func kindOf(name string, size int64) string {
	switch {
	case size >= splitLargeFile:
		return "large"
	case strings.Contains(name, "/vendor/") || strings.Contains(name, "/node_modules/"):
		return "dependency"
	}
	return "source"
}

func TestSplitEntries(t *testing.T) {
	benchLike := map[string]int64{} // the bench/build context
	for i := 0; i < 1500; i++ {
		benchLike[fmt.Sprintf("src/mod%02d/file%04d.py", i%30, i)] = 16 << 10
	}
	for i := 0; i < 490; i++ {
		benchLike[fmt.Sprintf("vendor/lib%02d/f%04d.py", i%10, i)] = 24 << 10
	}
	for i := 0; i < 10; i++ {
		benchLike[fmt.Sprintf("static/asset%02d.bin", i)] = 1400 << 10
	}
	small := map[string]int64{"a.py": 100, "b.py": 200}
	cases := []struct {
		name              string
		files             map[string]int64
		wantLayers        int
		maxSourceLayerMiB float64
	}{
		{name: "below the threshold: one layer", files: small, wantLayers: 1},
		{name: "sources, dependencies and assets", files: benchLike, wantLayers: 20, maxSourceLayerMiB: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parts := splitEntries(tree(tc.files), "/app", 4<<20)
			if len(parts) != tc.wantLayers {
				t.Errorf("%d layers, want %d", len(parts), tc.wantLayers)
			}
			seen := map[string]int{}
			for i, part := range parts {
				kinds := map[string]bool{}
				var bytes int64
				for _, e := range part {
					if e.typ != tar.TypeReg {
						continue
					}
					seen[e.name]++
					kinds[kindOf(e.name, e.size)] = true
					bytes += e.size
				}
				if len(kinds) > 1 && len(parts) > 1 {
					t.Errorf("layer %d mixes %v", i, kinds)
				}
				if kinds["source"] && tc.maxSourceLayerMiB > 0 && float64(bytes) > tc.maxSourceLayerMiB*(1<<20) {
					t.Errorf("source layer %d holds %.1f MiB, want at most %.1f so an edit re-sends little", i, float64(bytes)/(1<<20), tc.maxSourceLayerMiB)
				}
				for _, e := range part { // every file's folders come with it
					for d := e.name; strings.Contains(d, "/"); {
						d = d[:strings.LastIndex(d, "/")]
						if !slices.ContainsFunc(part, func(p tarEntry) bool { return p.name == d && p.typ == tar.TypeDir }) {
							t.Errorf("layer %d holds %s without its folder %s", i, e.name, d)
						}
					}
				}
			}
			for name := range tc.files {
				if n := seen["app/"+name]; n != 1 {
					t.Errorf("%s is in %d layers, want 1", name, n)
				}
			}
		})
	}
}

// TestSplitEntriesStable adds a source file and expects every layer but
// the one it lands in to keep exactly its files.
func TestSplitEntriesStable(t *testing.T) {
	files := map[string]int64{}
	for i := 0; i < 300; i++ {
		files[fmt.Sprintf("src/f%03d.go", i)] = 20 << 10
	}
	files["node_modules/x/big.js"] = 2 << 20
	before := splitEntries(tree(files), "/app", 1<<20)
	files["src/new.go"] = 100
	after := splitEntries(tree(files), "/app", 1<<20)
	if len(before) != len(after) {
		t.Fatalf("%d layers became %d", len(before), len(after))
	}
	names := func(part []tarEntry) string {
		var n []string
		for _, e := range part {
			n = append(n, e.name)
		}
		return strings.Join(n, ",")
	}
	changed := 0
	for i := range before {
		if names(before[i]) != names(after[i]) {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d layers changed, want 1", changed)
	}
}
