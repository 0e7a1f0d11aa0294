package chroot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/image"
)

func TestLookupUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\nbroken:x:zz:1::/:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\napp:x:1001:\nstaff:x:50:app,other\nwheel:x:10:app\n"), 0o644)
	tests := []struct {
		user    string
		want    credential
		wantErr bool
	}{
		{"", credential{uid: 0, gid: 0, home: "/root"}, false},
		{"root", credential{uid: 0, gid: 0, home: "/root"}, false},
		{"app", credential{uid: 1000, gid: 1001, groups: []uint32{50, 10}, home: "/home/app"}, false},
		{"1000", credential{uid: 1000, gid: 1001, groups: []uint32{50, 10}, home: "/home/app"}, false},
		{"app:staff", credential{uid: 1000, gid: 50, home: "/home/app"}, false},
		{"1000:77", credential{uid: 1000, gid: 77, home: "/home/app"}, false},
		{"4242", credential{uid: 4242, gid: 0, home: "/"}, false},
		{"4242:4243", credential{uid: 4242, gid: 4243, home: "/"}, false},
		{"nobody", credential{}, true},
		{"app:nogroup", credential{}, true},
		{"broken", credential{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			got, err := lookupUser(root, tc.user)
			if (err != nil) != tc.wantErr {
				t.Fatalf("lookupUser(%q) error = %v, want error %v", tc.user, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(credential{})); diff != "" {
				t.Errorf("lookupUser(%q) (-want +got):\n%s", tc.user, diff)
			}
		})
	}
}

func TestResolveInStaysInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755)
	os.Symlink("/usr/bin", filepath.Join(root, "bin"))
	os.Symlink("../../../../../../etc", filepath.Join(root, "up"))
	os.Symlink("/", filepath.Join(root, "usr/self"))
	tests := []struct{ in, want string }{
		{"/bin/sh", "usr/bin/sh"},
		{"/up/passwd", "etc/passwd"},
		{"/../../etc/passwd", "etc/passwd"},
		{"/usr/self/usr/self/bin", "usr/bin"},
	}
	for _, tc := range tests {
		got, err := resolveIn(root, tc.in, true)
		if err != nil {
			t.Fatalf("resolveIn(%q): %v", tc.in, err)
		}
		if want := filepath.Join(root, tc.want); got != want {
			t.Errorf("resolveIn(%q) = %s, want %s", tc.in, got, want)
		}
	}
}

func TestStepEnv(t *testing.T) {
	tests := []struct {
		name  string
		stage image.StageState
		extra []string
		want  []string
	}{
		{"defaults", image.StageState{}, nil, []string{"PATH=" + defaultPath, "HOME=/home/app"}},
		{"ENV wins over ARG", image.StageState{Args: map[string]string{"B": "arg", "A": "arg"}, Env: []string{"A=env", "PATH=/bin", "HOME=/h"}},
			nil, []string{"A=env", "B=arg", "PATH=/bin", "HOME=/h"}},
		{"secret env last", image.StageState{Env: []string{"TOKEN=x"}}, []string{"TOKEN=secret"},
			[]string{"TOKEN=secret", "PATH=" + defaultPath, "HOME=/home/app"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := stepEnv(&tc.stage, credential{home: "/home/app"}, tc.extra)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
