package image

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/autopilot-dev/autopilot/internal/fakes/registry"
)

// TestBuildAndPush pushes a large split COPY to a real registry while it is
// being built, then again after editing one file and with nothing changed,
// and checks each time what the registry received.
func TestBuildAndPush(t *testing.T) {
	reg := registry.StartT(t)
	base := baseImage(t)
	dir := t.TempDir()
	randomTree(t, dir, 240, 20<<10) // 4.8 MB: over the 4 MiB at which a copy is split
	writeTree(t, dir, map[string]string{"tools/gen.txt": "only in the builder stage", "Dockerfile": "FROM busybox AS tools\nCOPY tools /tools/\n" +
		"FROM busybox\nWORKDIR /app\nCOPY --from=tools /tools/gen.txt ./gen.txt\nCOPY src ./src\nCMD [\"python\", \"app.py\"]\n"})
	spec := BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	auth := &authn.Basic{Username: reg.Username, Password: reg.Password}
	dst := Destination{Repository: reg.Host + "/team/api", Auth: auth}
	var progress bytes.Buffer
	opts := []Option{WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(t.TempDir()), WithSourceDateEpoch(time.Unix(1700000000, 0)),
		WithProgress(&progress, time.Millisecond)}
	ctx := context.Background()
	// The same builds through Build, with a cache of their own.
	separateCache := t.TempDir()

	steps := []struct {
		name        string
		edit        func()
		wantSkipped bool
		maxBytes    int64 // uploaded, counted at the registry
		maxRequests int64 // 0: not checked
	}{
		{name: "cold", edit: func() {}, maxBytes: 6 << 20}, // the 4.8 MB copy and the base, each once
		{name: "one file changed", edit: func() {
			os.WriteFile(filepath.Join(dir, "src/pkg03/file0003.bin"), []byte("edited"), 0o644)
		}, maxBytes: 1 << 20, maxRequests: 20}, // no HEAD for the ~30 layers the tag's manifest lists
		{name: "no change", edit: func() {}, wantSkipped: true, maxBytes: 0},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.edit()
			reg.Reset()
			img, pushed, err := BuildAndPush(ctx, spec, dst, []string{"latest"}, opts...)
			if err != nil {
				t.Fatalf("BuildAndPush: %v", err)
			}
			sent := reg.BytesUploaded()
			if pushed.Skipped != step.wantSkipped || sent > step.maxBytes {
				t.Errorf("skipped=%v with %d bytes uploaded; want skipped=%v and at most %d bytes", pushed.Skipped, sent, step.wantSkipped, step.maxBytes)
			}
			t.Logf("%d requests, %d bytes", reg.Requests(), sent)
			if step.maxRequests > 0 && reg.Requests() > step.maxRequests {
				t.Errorf("%d requests, want at most %d", reg.Requests(), step.maxRequests)
			}
			if step.wantSkipped && reg.Requests() > 4 {
				t.Errorf("%d requests with nothing changed, want only manifest checks", reg.Requests())
			}
			// The same build through Build, with a cache of its own, gives
			// the same digest.
			separate, err := Build(ctx, spec, append(opts, WithCacheDir(separateCache))...)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := separate.Digest()
			if pushed.Digest != want {
				t.Errorf("BuildAndPush pushed %s, Build made %s", pushed.Digest, want)
			}
			if d, _ := img.Digest(); d != want {
				t.Errorf("BuildAndPush returned an image with digest %s, want %s", d, want)
			}
			ref, err := name.ParseReference(pushed.URI())
			if err != nil {
				t.Fatal(err)
			}
			pulled, err := remote.Image(ref, remote.WithAuth(auth))
			if err != nil {
				t.Fatalf("pull %s: %v", ref, err)
			}
			if d, _ := pulled.Digest(); d != want {
				t.Fatalf("the registry holds %s, want %s", d, want)
			}
			if step.name != "cold" {
				return // same digest as the build: same content, checked file by file once
			}
			got, wantFiles := filesOf(t, pulled), filesOf(t, separate)
			if len(got) != len(wantFiles) {
				t.Errorf("pulled image has %d files, the build %d", len(got), len(wantFiles))
			}
			for p, f := range wantFiles {
				if got[p].Content != f.Content {
					t.Errorf("pulled %s differs from the build", p)
				}
			}
		})
	}
	// The builder stage's layer is not part of the image, so it was never uploaded.
	tools, err := Build(ctx, BuildSpec{Context: dir, Dockerfile: spec.Dockerfile, Target: "tools"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := tools.Layers()
	toolsLayer, _ := layers[len(layers)-1].Digest()
	req, _ := http.NewRequest(http.MethodHead, "http://"+reg.Host+"/v2/team/api/blobs/"+toolsLayer.String(), nil)
	req.SetBasicAuth(reg.Username, reg.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of the builder stage's layer %s: %s, want 404 (never uploaded)", toolsLayer, resp.Status)
	}
	if !strings.Contains(progress.String(), "uploaded") || strings.Contains(progress.String(), reg.Password) {
		t.Errorf("progress = %q, want upload lines without the password", progress.String())
	}
}

// TestBuildAndPushFailures checks that a build error stops the push and a
// registry refusal is reported, with nothing left running.
func TestBuildAndPushFailures(t *testing.T) {
	reg := registry.StartT(t)
	base := baseImage(t)
	cases := []struct {
		name       string
		dockerfile string
		auth       authn.Authenticator
		wantErr    string
	}{
		{name: "build error", dockerfile: "FROM busybox\nCOPY missing /x\n", auth: &authn.Basic{Username: reg.Username, Password: reg.Password}, wantErr: "missing"},
		{name: "wrong password", dockerfile: "FROM busybox\nCOPY a.txt /a.txt\n", auth: &authn.Basic{Username: reg.Username, Password: "wrong"}, wantErr: "refused the credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"a.txt": "a", "Dockerfile": tc.dockerfile})
			var progress bytes.Buffer
			_, _, err := BuildAndPush(context.Background(), BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")},
				Destination{Repository: reg.Host + "/team/fail", Auth: tc.auth}, []string{"latest"},
				WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(t.TempDir()), WithProgress(&progress, time.Millisecond))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}
