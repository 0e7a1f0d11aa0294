package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCacheReuseAndPrune checks that a rebuild takes layers from the cache
// (a damaged blob is rebuilt, not trusted) and that PruneCache removes only
// what was not used recently.
func TestCacheReuseAndPrune(t *testing.T) {
	base := baseImage(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a.txt": "a", "Dockerfile": "FROM busybox\nCOPY a.txt /a.txt\n"})
	cache := t.TempDir()
	spec := BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	opts := []Option{WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(cache)}
	first, err := Build(context.Background(), spec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(cache, "blobs", "sha256", "*"))
	if len(blobs) != 1 {
		t.Fatalf("cache holds %d blobs, want the one COPY layer", len(blobs))
	}
	// A truncated blob is not reused.
	if err := os.Truncate(blobs[0], 3); err != nil {
		t.Fatal(err)
	}
	second, err := Build(context.Background(), spec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := first.Digest()
	d2, _ := second.Digest()
	if d1 != d2 {
		t.Errorf("rebuild after cache damage gave %s, want %s", d2, d1)
	}
	if files := filesOf(t, second); files["a.txt"].Content != "a" {
		t.Errorf("a.txt = %q after the cache was damaged", files["a.txt"].Content)
	}

	cases := []struct {
		name      string
		unused    time.Duration
		wantBlobs int
		wantFreed bool
	}{
		{name: "recently used layers stay", unused: time.Hour, wantBlobs: 1},
		{name: "old layers go", unused: -time.Second, wantBlobs: 0, wantFreed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			freed, err := PruneCache(cache, tc.unused)
			if err != nil {
				t.Fatal(err)
			}
			left, _ := filepath.Glob(filepath.Join(cache, "blobs", "sha256", "*"))
			if len(left) != tc.wantBlobs || (freed > 0) != tc.wantFreed {
				t.Errorf("%d blobs left, %d bytes freed", len(left), freed)
			}
		})
	}
}
