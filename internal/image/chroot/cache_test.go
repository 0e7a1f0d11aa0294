package chroot

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const twoRuns = `FROM busybox
ARG VERSION=1
RUN echo "installing $VERSION" > /installed
COPY app.txt /app/app.txt
RUN cat /app/app.txt > /app/seen
`

func TestSecondBuildExecutesNothing(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	cache := t.TempDir()
	ctx := writeContext(t, twoRuns, map[string]string{"app.txt": "v1"})
	tests := []struct {
		name      string
		edit      string            // new app.txt, "" for none
		args      map[string]string // build args
		wantExecs int               // RUN steps executed by this build
	}{
		{"cold", "", nil, 2},
		{"no change", "", nil, 0},
		{"source change after the first RUN", "v2", nil, 1},
		{"no change again", "", nil, 0},
		{"build arg change", "", map[string]string{"VERSION": "2"}, 2},
	}
	var lastDigest string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.edit != "" {
				if err := os.WriteFile(filepath.Join(ctx, "app.txt"), []byte(tc.edit), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := newRunner(t, cache) // a new process each time: only the cache folder persists
			img, err := buildWith(t, ctx, base, cache, r, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Executions(); got != tc.wantExecs {
				t.Errorf("executed %d RUN steps, want %d", got, tc.wantExecs)
			}
			digest, _ := img.Digest()
			if tc.wantExecs == 0 && digest.String() != lastDigest {
				t.Errorf("digest %s differs from the previous build's %s although nothing changed", digest, lastDigest)
			}
			lastDigest = digest.String()
		})
	}
}

func TestBuildsAreReproducibleAcrossCacheDirs(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	var digests []string
	for range 2 {
		cache := t.TempDir()
		ctx := writeContext(t, twoRuns+"RUN mkdir -p /var/lib/x && ln -s ../../../installed /var/lib/x/link && touch -d 2001-01-01 /var/lib/x/old\n", map[string]string{"app.txt": "v1"})
		img, err := buildWith(t, ctx, base, cache, newRunner(t, cache), nil)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests = append(digests, d.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds in different folders gave %s and %s", digests[0], digests[1])
	}
}

func TestCacheMountPersistsAndStaysOutOfTheImage(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	cache := t.TempDir()
	df := `FROM busybox
ARG N
RUN --mount=type=cache,target=/root/.cache/pkgs echo "$N" >> /root/.cache/pkgs/log && wc -l < /root/.cache/pkgs/log > /count
`
	for i, want := range []string{"1\n", "2\n", "3\n"} {
		r := newRunner(t, cache)
		img, err := buildWith(t, writeContext(t, df, nil), base, cache, r, map[string]string{"N": strings.Repeat("x", i+1)})
		if err != nil {
			t.Fatal(err)
		}
		fsys := flatten(t, img)
		if got := fsys["count"].Content; got != want {
			t.Errorf("build %d: the cache held %q lines, want %q", i+1, got, want)
		}
		if _, ok := fsys["root/.cache/pkgs/log"]; ok {
			t.Errorf("build %d: the cache folder's content is in the image", i+1)
		}
		if _, ok := fsys["root/.cache"]; ok {
			t.Errorf("build %d: the cache mount point was left in the image", i+1)
		}
	}
}

func TestCacheRepository(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/app/cache"
	ctx := writeContext(t, twoRuns, map[string]string{"app.txt": "v1"})

	// The first machine executes the steps and fills the cache repository.
	cacheA := t.TempDir()
	a := newRunner(t, cacheA, WithCacheRepo(repo, remote.WithTransport(srv.Client().Transport)))
	imgA, err := buildWith(t, ctx, base, cacheA, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second machine with an empty cache folder takes both from there.
	cacheB := t.TempDir()
	var out bytes.Buffer
	b := newRunner(t, cacheB, WithLog(&out), WithCacheRepo(repo, remote.WithTransport(srv.Client().Transport)))
	imgB, err := buildWith(t, ctx, base, cacheB, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Executions() != 2 || b.Executions() != 0 {
		t.Errorf("executions: first machine %d (want 2), second %d (want 0)", a.Executions(), b.Executions())
	}
	da, _ := imgA.Digest()
	db, _ := imgB.Digest()
	if da != db {
		t.Errorf("digests differ: %s vs %s", da, db)
	}
	if !strings.Contains(out.String(), "CACHED") || !strings.Contains(out.String(), "/app/cache") {
		t.Errorf("log does not say where the layers came from:\n%s", out.String())
	}
}

func TestUnreachableCacheRepositoryOnlyWarns(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	repo := strings.TrimPrefix(srv.URL, "http://") + "/app/cache"
	srv.Close() // nothing listens there any more
	cache := t.TempDir()
	var out bytes.Buffer
	r := newRunner(t, cache, WithLog(&out), WithCacheRepo(repo))
	img, err := buildWith(t, writeContext(t, "FROM busybox\nRUN echo built > /f\n", nil), base, cache, r, nil)
	if err != nil {
		t.Fatalf("build failed because the cache repository is down: %v", err)
	}
	if got := flatten(t, img)["f"].Content; got != "built\n" {
		t.Errorf("/f = %q", got)
	}
	if !strings.Contains(out.String(), "warning: cache repository unavailable") {
		t.Errorf("no warning in the log:\n%s", out.String())
	}
}

func TestReadOnlyCacheRepositoryIsOnlyRead(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/app/cache"
	transport := remote.WithTransport(srv.Client().Transport)
	tags := func() int {
		r, _ := name.NewRepository(repo)
		list, _ := remote.List(r, transport)
		return len(list)
	}
	// An untrusted build executes its steps and stores nothing.
	cache := t.TempDir()
	ro := newRunner(t, cache, WithCacheRepo(repo, transport), WithCacheRepoReadOnly())
	if _, err := buildWith(t, writeContext(t, twoRuns, map[string]string{"app.txt": "v1"}), base, cache, ro, nil); err != nil {
		t.Fatal(err)
	}
	if n := tags(); ro.Executions() != 2 || n != 0 {
		t.Fatalf("read-only build: %d executions (want 2), %d layers stored (want none)", ro.Executions(), n)
	}
	// A trusted build fills the cache; the next untrusted one reads it.
	trusted := t.TempDir()
	if _, err := buildWith(t, writeContext(t, twoRuns, map[string]string{"app.txt": "v1"}), base, trusted, newRunner(t, trusted, WithCacheRepo(repo, transport)), nil); err != nil {
		t.Fatal(err)
	}
	cache = t.TempDir()
	ro = newRunner(t, cache, WithCacheRepo(repo, transport), WithCacheRepoReadOnly())
	if _, err := buildWith(t, writeContext(t, twoRuns, map[string]string{"app.txt": "v1"}), base, cache, ro, nil); err != nil {
		t.Fatal(err)
	}
	if ro.Executions() != 0 {
		t.Errorf("read-only build executed %d steps the cache repository held", ro.Executions())
	}
}
