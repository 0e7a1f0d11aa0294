package chroot

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/image"
)

func TestRunBuildsFilesystem(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	tests := []struct {
		name       string
		dockerfile string
		args       map[string]string
		opts       []Option
		want       map[string]entry // paths that must be exactly so
		absent     []string         // paths that must not be in the image
	}{
		{
			name: "create, change and delete files",
			dockerfile: `FROM busybox
RUN mkdir -p /data && echo hello > /data/a && echo one > /data/gone && echo extra >> /etc/passwd
RUN rm /data/gone /etc/group && chmod 600 /data/a && ln -s a /data/link && ln /data/a /data/hard
`,
			want: map[string]entry{
				"data/a":    {Type: tar.TypeReg, Mode: 0o600, Content: "hello\n"},
				"data/link": {Type: tar.TypeSymlink, Mode: 0o777, Content: "a"},
				"data/hard": {Type: tar.TypeLink, Mode: 0o600, Content: "data/a"},
				"etc/passwd": {Type: tar.TypeReg, Mode: 0o644,
					Content: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nextra\n"},
			},
			absent: []string{"data/gone", "etc/group", "dev/null", "etc/hosts", "etc/resolv.conf", "proc"},
		},
		{
			name: "a same-size rewrite with its old mtime put back is still seen",
			dockerfile: `FROM busybox
RUN echo aaaa > /f && touch -d 2000-01-01 /f
RUN echo bbbb > /f && touch -d 2000-01-01 /f
`,
			want: map[string]entry{"f": {Type: tar.TypeReg, Mode: 0o644, Content: "bbbb\n"}},
		},
		{
			name: "ownership and special bits",
			dockerfile: `FROM busybox
RUN touch /owned && chown 1000:1001 /owned && chmod 4755 /owned && mkdir /shared && chown app:staff /shared && chmod 1777 /shared
`,
			want: map[string]entry{
				"owned":  {Type: tar.TypeReg, Mode: 0o4755, UID: 1000, GID: 1001},
				"shared": {Type: tar.TypeDir, Mode: 0o1777, UID: 1000, GID: 50},
			},
		},
		{
			name: "user, workdir, env and args",
			dockerfile: `FROM busybox
ARG GREETING=hi
ENV TARGET=world
USER app
WORKDIR /home/app/w
RUN echo "$GREETING $TARGET $(id -u):$(id -g) $(id -G) $HOME $(pwd)" > out
`,
			args: map[string]string{"GREETING": "hello"},
			want: map[string]entry{
				"home/app/w/out": {Type: tar.TypeReg, Mode: 0o644, UID: 1000, GID: 1001, Content: "hello world 1000:1001 1001 50 /home/app /home/app/w\n"},
			},
		},
		{
			name: "exec form and SHELL",
			dockerfile: `FROM busybox
RUN ["touch", "/exec-form"]
SHELL ["/bin/sh", "-ec"]
RUN echo "$0" > /shell
`,
			want: map[string]entry{
				"exec-form": {Type: tar.TypeReg, Mode: 0o644},
				"shell":     {Type: tar.TypeReg, Mode: 0o644, Content: "/bin/sh\n"},
			},
		},
		{
			name: "devices, hosts and proc exist only while the step runs",
			dockerfile: `FROM busybox
RUN test -c /dev/null && head -c 5 /dev/zero | wc -c > /zeros && head -c 8 /dev/urandom | wc -c > /random && grep -c localhost /etc/hosts > /hosts && (test -e /proc/self/status && echo yes || echo no) > /proc-seen
`,
			want: map[string]entry{
				"zeros":  {Type: tar.TypeReg, Mode: 0o644, Content: "5\n"},
				"random": {Type: tar.TypeReg, Mode: 0o644, Content: "8\n"},
				"hosts":  {Type: tar.TypeReg, Mode: 0o644, Content: "2\n"},
			},
			absent: []string{"dev", "proc", "etc/hosts", "etc/resolv.conf"},
		},
		{
			name: "multi-stage COPY --from a RUN-built stage",
			dockerfile: `FROM busybox AS builder
RUN mkdir /out && echo built > /out/artifact
FROM busybox
COPY --from=builder /out/artifact /app/artifact
RUN cat /app/artifact > /app/copy
`,
			want: map[string]entry{
				"app/artifact": {Type: tar.TypeReg, Mode: 0o644, Content: "built\n"},
				"app/copy":     {Type: tar.TypeReg, Mode: 0o644, Content: "built\n"},
			},
		},
		{
			name: "secret from a file is readable but never kept",
			dockerfile: `FROM busybox
RUN --mount=type=secret,id=token test "$(cat /run/secrets/token)" = s3cr3t-value && echo ok > /checked && cat /run/secrets/token
`,
			want:   map[string]entry{"checked": {Type: tar.TypeReg, Mode: 0o644, Content: "ok\n"}},
			absent: []string{"run/secrets/token", "run/secrets", "run"},
		},
		{
			name: "secret as an environment variable",
			dockerfile: `FROM busybox
RUN --mount=type=secret,id=token,env=TOKEN test "$TOKEN" = s3cr3t-value && echo ok > /checked
`,
			want:   map[string]entry{"checked": {Type: tar.TypeReg, Mode: 0o644, Content: "ok\n"}},
			absent: []string{"run"},
		},
	}
	secretFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secretFile, []byte("s3cr3t-value"), 0o600)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			var log bytes.Buffer
			r := newRunner(t, cache, WithLog(&log), WithSecretFile("token", secretFile))
			img, err := buildWith(t, writeContext(t, tc.dockerfile, nil), base, cache, r, tc.args)
			if err != nil {
				t.Fatalf("build: %v\nlog:\n%s", err, log.String())
			}
			fsys := flatten(t, img)
			for path, want := range tc.want {
				got, ok := fsys[path]
				if !ok {
					t.Errorf("%s missing from the image", path)
					continue
				}
				if want.Type != tar.TypeReg || want.Content != "" || got.Type != tar.TypeReg {
					// Content checked unless the case only cares about metadata.
				} else {
					got.Content = ""
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
			}
			for _, path := range tc.absent {
				if _, ok := fsys[path]; ok {
					t.Errorf("%s is in the image, want it absent", path)
				}
			}
			if strings.Contains(log.String(), "s3cr3t") || bytes.Contains(layerBytes(t, img), []byte("s3cr3t")) {
				t.Errorf("the secret's value reached the log or a layer; log:\n%s", log.String())
			}
		})
	}
}

func TestRunFailureNamesLineAndExitCode(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	tests := []struct {
		name, dockerfile string
		want             []string
	}{
		{"exit code", "FROM busybox\nRUN echo first\nRUN echo about to fail >&2; exit 3\n", []string{"Dockerfile:3", "exit code 3", "about to fail"}},
		{"missing command", "FROM busybox\nRUN [\"no-such-tool\"]\n", []string{"Dockerfile:2", `"no-such-tool" not found in the image's PATH`}},
		{"unknown user", "FROM busybox\nUSER nobody\nRUN true\n", []string{"Dockerfile:3", `no user "nobody"`}},
		{"bind mount", "FROM busybox\nRUN --mount=type=bind,target=/x true\n", []string{"Dockerfile:2", "type=bind is not supported"}},
		{"required secret", "FROM busybox\nRUN --mount=type=secret,id=nope,required=true true\n", []string{"Dockerfile:2", `secret "nope" is required`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			r := newRunner(t, cache)
			_, err := buildWith(t, writeContext(t, tc.dockerfile, nil), base, cache, r, nil)
			if err == nil {
				t.Fatal("build succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRunLogsOutputWithLine(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	cache := t.TempDir()
	var log bytes.Buffer
	r := newRunner(t, cache, WithLog(&log))
	if _, err := buildWith(t, writeContext(t, "FROM busybox\n\nRUN echo to-stdout; echo to-stderr >&2\n", nil), base, cache, r, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#3 to-stdout\n", "#3 to-stderr\n"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

// hasCapSysAdmin reports whether this process may mount and make
// namespaces (true here and in CI; false under Docker's default profile).
func hasCapSysAdmin(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			var caps uint64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%x", &caps); err == nil {
				return caps&(1<<21) != 0
			}
		}
	}
	return false
}

func TestRunProcAndNetworkNone(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	admin := hasCapSysAdmin(t)
	tests := []struct {
		name, run, want string
	}{
		{"/proc where mounting is allowed", "RUN (test -e /proc/self/status && echo mounted || echo absent) > /out", map[bool]string{true: "mounted\n", false: "absent\n"}[admin]},
		{"--network=none leaves only loopback", "RUN --network=none (grep -c : /proc/net/dev || echo 0) > /out; cat /etc/resolv.conf >> /out", map[bool]string{true: "1\n", false: "0\n"}[admin]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			img, err := buildWith(t, writeContext(t, "FROM busybox\n"+tc.run+"\n", nil), base, cache, newRunner(t, cache), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := flatten(t, img)["out"].Content; got != tc.want {
				t.Errorf("/out = %q, want %q (CAP_SYS_ADMIN: %v)", got, tc.want, admin)
			}
		})
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	cache := t.TempDir()
	r := newRunner(t, cache)
	ctxDir := writeContext(t, "FROM busybox\nRUN sleep 30 & sleep 30\n", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := image.Build(ctx, image.BuildSpec{Context: ctxDir, Dockerfile: filepath.Join(ctxDir, "Dockerfile")},
		image.WithBaseImages(map[string]string{"busybox": base}), image.WithCacheDir(cache), image.WithRunner(r))
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("error = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the build took %s after cancellation", d)
	}
}
