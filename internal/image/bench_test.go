package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkBuild times building a 16 MB / 800-file COPY . /app: cold (empty
// layer cache), warm (nothing changed) and after one file changed.
func BenchmarkBuild(b *testing.B) {
	base := baseImage(b)
	dir := b.TempDir()
	randomTree(b, dir, 800, 20<<10)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nWORKDIR /app\nCOPY . .\n"), 0o644)
	spec := BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	opts := func(cache string) []Option {
		return []Option{WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(cache), WithSourceDateEpoch(time.Unix(0, 0))}
	}
	build := func(b *testing.B, cache string) {
		img, err := Build(context.Background(), spec, opts(cache)...)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := img.Digest(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(800 * 20 << 10)
		for b.Loop() {
			build(b, b.TempDir())
		}
	})
	b.Run("no-change", func(b *testing.B) {
		cache := b.TempDir()
		build(b, cache)
		b.ReportAllocs()
		for b.Loop() {
			build(b, cache)
		}
	})
	b.Run("one-file", func(b *testing.B) {
		cache := b.TempDir()
		build(b, cache)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			os.WriteFile(filepath.Join(dir, "src/pkg01/file0001.bin"), []byte(time.Now().String()+string(rune(n))), 0o644)
			build(b, cache)
		}
	})
}
