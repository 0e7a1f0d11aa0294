package chroot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/autopilot-dev/autopilot/internal/fakes/registry"
	"github.com/autopilot-dev/autopilot/internal/image"
)

// offlinePip stands in for pip in the test's python base image: this
// machine cannot reach PyPI, so "installing" writes each requirement's
// dist-info folder (and gunicorn's script) the way pip lays them out.
const offlinePip = `#!/bin/sh
set -e
site=/usr/local/lib/python3.12/site-packages
while [ $# -gt 0 ]; do
  case "$1" in -r) shift; req="$1" ;; esac
  shift
done
mkdir -p "$site"
grep -v '^#' "$req" | while IFS='=' read -r pkg _ version; do
  [ -n "$pkg" ] || continue
  mkdir -p "$site/$pkg-$version.dist-info"
  printf 'Name: %s\nVersion: %s\n' "$pkg" "$version" > "$site/$pkg-$version.dist-info/METADATA"
  echo "Collecting $pkg==$version"
done
printf '#!/bin/sh\necho gunicorn\n' > /usr/local/bin/gunicorn
chmod 755 /usr/local/bin/gunicorn
`

// TestSeedDemoServiceBuildsAndPushes builds the seed example's
// demo-service Dockerfile as written, RUN pip install included, against a
// python base whose pip works offline, pushes it to a real registry
// (Debian's docker-registry) and reads it back.
func TestSeedDemoServiceBuildsAndPushes(t *testing.T) {
	requireRoot(t)
	dir, err := filepath.Abs("../../../examples/apprunner-vpc/demo-service")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		t.Skipf("the seed example is not in the tree: %v", err)
	}
	base := baseImageWith(t, []fileSpec{
		{name: "usr/", mode: 0o755},
		{name: "usr/local/", mode: 0o755},
		{name: "usr/local/bin/", mode: 0o755},
		{name: "usr/local/bin/pip", mode: 0o755, data: []byte(offlinePip)},
	})
	reg := registry.StartT(t)
	cache := t.TempDir()
	r := newRunner(t, cache)
	spec := image.BuildSpec{Workload: "demo-service", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	img, err := image.Build(context.Background(), spec,
		image.WithBaseImages(map[string]string{"public.ecr.aws/docker/library/python:3.12-slim": base}),
		image.WithCacheDir(cache), image.WithSourceDateEpoch(time.Unix(1700000000, 0)), image.WithRunner(r))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	auth := &authn.Basic{Username: reg.Username, Password: reg.Password}
	repo := reg.Host + "/demo/demo-service"
	pushed, err := image.Push(context.Background(), img, image.Destination{Repository: repo, Auth: auth}, []string{"test"})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, reg.Log())
	}
	ref, err := name.ParseReference(repo+":test", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	back, err := remote.Image(ref, remote.WithAuth(auth))
	if err != nil {
		t.Fatalf("pull back: %v", err)
	}
	if d, _ := back.Digest(); d.String() != pushed.Digest.String() {
		t.Errorf("pulled %s, pushed %s", d, pushed.Digest)
	}
	fsys := flatten(t, back)
	for _, want := range []string{
		"app/app.py", "app/requirements.txt",
		"usr/local/lib/python3.12/site-packages/Flask-3.0.3.dist-info/METADATA",
		"usr/local/lib/python3.12/site-packages/gunicorn-23.0.0.dist-info/METADATA",
		"usr/local/bin/gunicorn",
	} {
		if _, ok := fsys[want]; !ok {
			t.Errorf("%s missing from the pushed image", want)
		}
	}
	if got := fsys["usr/local/lib/python3.12/site-packages/boto3-1.35.76.dist-info/METADATA"].Content; !strings.Contains(got, "Version: 1.35.76") {
		t.Errorf("boto3 METADATA = %q", got)
	}
}
