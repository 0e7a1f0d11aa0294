package chroot

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRunStepCannotMakeTeardownEscape replaces the folders the sandbox puts
// files into (/etc, /dev, /run/secrets, a cache target) with symlinks that
// point out of the root, and checks that the host folder they name is
// untouched after the step's teardown.
func TestRunStepCannotMakeTeardownEscape(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	outside := t.TempDir()
	for _, name := range []string{"hosts", "resolv.conf", "null", "token", "victim"} {
		os.WriteFile(filepath.Join(outside, name), []byte("host file "+name), 0o644)
	}
	before := treeOf(t, outside)
	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte("value"), 0o600)
	tests := []struct {
		name, run string
		want      map[string]entry
	}{
		{"absolute symlink over /etc", "rm -rf /etc && ln -s " + outside + " /etc",
			map[string]entry{"etc": {Type: tar.TypeSymlink, Mode: 0o777, Content: outside}}},
		// (go-containerregistry's flattening drops climbing links, so only the host side is checked.)
		{"climbing symlink over /etc", "rm -rf /etc && ln -s ../../../../../../../../.." + outside + " /etc", nil},
		{"symlink over /dev", "rm -rf /dev && ln -s " + outside + " /dev", nil},
		{"symlink over the secrets folder", "--mount=type=secret,id=token rm -rf /run/secrets && ln -s " + outside + " /run/secrets", nil},
		{"symlink over a cache target", "--mount=type=cache,target=/cache rm -rf /cache && ln -s " + outside + " /cache", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			r := newRunner(t, cache, WithSecretFile("token", secret))
			img, err := buildWith(t, writeContext(t, "FROM busybox\nRUN "+tc.run+"\nRUN echo next > /next\n", nil), base, cache, r, nil)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			if diff := cmp.Diff(before, treeOf(t, outside)); diff != "" {
				t.Errorf("the host folder changed (-before +after):\n%s", diff)
			}
			fsys := flatten(t, img)
			for path, want := range tc.want {
				if diff := cmp.Diff(want, fsys[path]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
			}
			if fsys["next"].Content != "next\n" {
				t.Errorf("the step after the escape attempt did not run in a clean root")
			}
		})
	}
}
