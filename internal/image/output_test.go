package image

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestWrite(t *testing.T) {
	base := baseImage(t)
	img := buildDemo(t, base, t.TempDir())
	want, _ := img.Digest()
	dir := t.TempDir()
	cases := []struct {
		name, output string
		read         func(t *testing.T, target string) string // returns the digest found
		err          string
	}{
		{name: "OCI layout", output: "oci:" + filepath.Join(dir, "layout"), read: func(t *testing.T, target string) string {
			p, err := layout.FromPath(target)
			if err != nil {
				t.Fatal(err)
			}
			idx, _ := p.ImageIndex()
			m, _ := idx.IndexManifest()
			if len(m.Manifests) != 1 || m.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "demo:abc" {
				t.Errorf("index = %+v", m.Manifests)
			}
			return m.Manifests[0].Digest.String()
		}},
		{name: "docker load tarball", output: "tar:" + filepath.Join(dir, "out", "demo.tar"), read: func(t *testing.T, target string) string {
			tag, _ := name.NewTag("demo:abc")
			got, err := tarball.ImageFromPath(target, &tag)
			if err != nil {
				t.Fatal(err)
			}
			if files := filesOf(t, got); files["app/app.py"].Content == "" {
				t.Error("app/app.py is missing from the tarball")
			}
			// docker save keeps the config and layers, not the manifest.
			gotCfg, _ := got.ConfigName()
			wantCfg, _ := img.ConfigName()
			if gotCfg != wantCfg {
				t.Errorf("config = %s, want %s", gotCfg, wantCfg)
			}
			return want.String()
		}},
		{name: "unknown kind", output: "zip:x", err: "expected oci:DIR or tar:FILE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(context.Background(), img, tc.output, "demo:abc")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, target, _ := strings.Cut(tc.output, ":")
			if got := tc.read(t, target); got != want.String() {
				t.Errorf("digest = %s, want %s", got, want)
			}
		})
	}
}
