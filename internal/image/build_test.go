package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

type buildCase struct {
	name       string
	dockerfile string
	files      map[string]string
	args       map[string]string
	target     string
	// want maps image paths to what they must hold; a nil entry means the
	// path must be absent.
	want   map[string]*imageFile
	config func(t *testing.T, c v1.Config)
}

func reg(content string, mode int64, uid, gid int) *imageFile {
	return &imageFile{Type: tar.TypeReg, Mode: mode, UID: uid, GID: gid, Content: content}
}

func TestBuild(t *testing.T) {
	base := baseImage(t)
	cases := []buildCase{{
		name: "copy a folder's contents with dockerignore",
		dockerfile: `FROM busybox
WORKDIR /app
COPY . .
`,
		files: map[string]string{"app.py": "print(1)", "lib/util.py": "x = 1", ".git/HEAD": "ref", "secret.env": "K=V",
			"node_modules/keep/index.js": "ok", ".dockerignore": ".git\n*.env\n", "Dockerfile": ""},
		want: map[string]*imageFile{
			"app/app.py":                     reg("print(1)", 0o644, 0, 0),
			"app/lib/util.py":                reg("x = 1", 0o644, 0, 0),
			"app/node_modules/keep/index.js": reg("ok", 0o644, 0, 0),
			"app/.git/HEAD":                  nil,
			"app/secret.env":                 nil,
			"app":                            {Type: tar.TypeDir, Mode: 0o755},
			"bin/busybox":                    {Type: tar.TypeReg, Mode: 0o755, Content: "*"},
		},
		config: func(t *testing.T, c v1.Config) {
			if c.WorkingDir != "/app" {
				t.Errorf("WorkingDir = %q, want /app", c.WorkingDir)
			}
		},
	}, {
		name: "dockerignore exclusion re-includes a file",
		dockerfile: `FROM busybox
COPY . /srv/
`,
		files: map[string]string{"docs/a.md": "a", "docs/keep.md": "k", ".dockerignore": "docs\n!docs/keep.md\n", "Dockerfile": ""},
		want:  map[string]*imageFile{"srv/docs/a.md": nil, "srv/docs/keep.md": reg("k", 0o644, 0, 0)},
	}, {
		name: "chown by name, chmod, file to file and glob",
		dockerfile: `FROM busybox
COPY --chown=app --chmod=0750 run.sh /usr/local/bin/run
COPY *.txt /data/
`,
		files: map[string]string{"run.sh": "#!/bin/sh", "a.txt": "A", "b.txt": "B", "c.md": "C", "Dockerfile": ""},
		want: map[string]*imageFile{
			"usr/local/bin/run": reg("#!/bin/sh", 0o750, 1000, 1001),
			"data/a.txt":        reg("A", 0o644, 0, 0),
			"data/b.txt":        reg("B", 0o644, 0, 0),
			"data/c.md":         nil,
		},
	}, {
		name: "multi-stage copy from a named stage, ARG before FROM and build args",
		dockerfile: `ARG BASE=busybox
FROM ${BASE} AS builder
ARG VERSION=dev
COPY src/ /out/$VERSION/
FROM scratch
COPY --from=builder /out /release
COPY --from=builder /bin/busybox /bin/busybox
ENTRYPOINT ["/bin/busybox"]
`,
		files: map[string]string{"src/main.txt": "main", "Dockerfile": ""},
		args:  map[string]string{"VERSION": "1.2"},
		want: map[string]*imageFile{
			"release/1.2/main.txt": reg("main", 0o644, 0, 0),
			"bin/busybox":          {Type: tar.TypeReg, Mode: 0o755, Content: "*"},
			"etc/passwd":           nil,
		},
		config: func(t *testing.T, c v1.Config) {
			if diff := cmp.Diff([]string{"/bin/busybox"}, c.Entrypoint); diff != "" {
				t.Errorf("Entrypoint (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "target stage and metadata instructions",
		dockerfile: `FROM busybox AS base
ENV A=1 B=two
LABEL team=payments
USER 1000:1000
EXPOSE 8080 9090/udp
VOLUME /data
STOPSIGNAL SIGTERM
SHELL ["/bin/sh", "-ec"]
HEALTHCHECK --interval=10s --retries=2 CMD wget -q localhost:8080
CMD echo $A
FROM base AS unused
COPY missing-file /x
`,
		files:  map[string]string{"Dockerfile": ""},
		target: "base",
		config: func(t *testing.T, c v1.Config) {
			want := v1.Config{
				Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin", "A=1", "B=two"},
				Labels:       map[string]string{"team": "payments"},
				User:         "1000:1000",
				ExposedPorts: map[string]struct{}{"8080/tcp": {}, "9090/udp": {}},
				Volumes:      map[string]struct{}{"/data": {}},
				StopSignal:   "SIGTERM",
				Shell:        []string{"/bin/sh", "-ec"},
				Healthcheck:  &v1.HealthConfig{Test: []string{"CMD-SHELL", "wget -q localhost:8080"}, Interval: 10 * time.Second, Retries: 2},
				Cmd:          []string{"/bin/sh", "-ec", "echo $A"},
			}
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "ADD unpacks a local tar.gz and copies other files",
		dockerfile: `FROM busybox
ADD site.tar.gz /var/www/
ADD notes.txt /var/notes.txt
`,
		files: map[string]string{"site.tar.gz": string(tgz(t, []fileSpec{{name: "index.html", mode: 0o644, data: []byte("<h1>hi</h1>")}})), "notes.txt": "n", "Dockerfile": ""},
		want: map[string]*imageFile{
			"var/www/index.html":  reg("<h1>hi</h1>", 0o644, 0, 0),
			"var/notes.txt":       reg("n", 0o644, 0, 0),
			"var/www/site.tar.gz": nil,
		},
	}, {
		name: "COPY --from an image, following its symlink",
		dockerfile: `FROM scratch
COPY --from=busybox /bin/sh /bin/sh-copy
`,
		files: map[string]string{"Dockerfile": ""},
		want: map[string]*imageFile{
			"bin/sh-copy": {Type: tar.TypeReg, Mode: 0o755, Content: "*"},
			"bin/busybox": nil,
		},
	}, {
		name: "COPY heredoc, ENTRYPOINT resets the base CMD, ARG without value is unset",
		dockerfile: `FROM busybox
ARG UNSET
COPY <<EOF /etc/motd
hello
EOF
ENTRYPOINT ["/bin/busybox", "httpd", "-f"]
`,
		files: map[string]string{"Dockerfile": ""},
		want:  map[string]*imageFile{"etc/motd": reg("hello\n", 0o644, 0, 0)},
		config: func(t *testing.T, c v1.Config) {
			if c.Cmd != nil {
				t.Errorf("Cmd = %q, want it reset by ENTRYPOINT", c.Cmd)
			}
		},
	}, {
		name: "symlinks inside the context are kept as links",
		dockerfile: `FROM busybox
COPY . /app/
`,
		files: map[string]string{"real.txt": "r", "link.txt": "->real.txt", "abs": "->/etc/passwd", "Dockerfile": ""},
		want: map[string]*imageFile{
			"app/link.txt": {Type: tar.TypeSymlink, Mode: 0o777, Link: "real.txt"},
			"app/abs":      {Type: tar.TypeSymlink, Mode: 0o777, Link: "/etc/passwd"},
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			df := filepath.Join(dir, "Dockerfile")
			if err := os.WriteFile(df, []byte(tc.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			img, err := Build(context.Background(), BuildSpec{Context: dir, Dockerfile: df, Args: tc.args, Target: tc.target},
				WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(t.TempDir()), WithSourceDateEpoch(time.Unix(1700000000, 0)))
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got := filesOf(t, img)
			for p, want := range tc.want {
				g, ok := got[p]
				if want == nil {
					if ok {
						t.Errorf("%s is in the image, want it absent", p)
					}
					continue
				}
				if !ok {
					t.Errorf("%s is missing from the image", p)
					continue
				}
				if want.Content == "*" {
					want.Content = g.Content
				}
				if diff := cmp.Diff(*want, g); diff != "" {
					t.Errorf("%s (-want +got):\n%s", p, diff)
				}
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.OS != "linux" || cf.Architecture != "amd64" {
				t.Errorf("platform = %s/%s, want linux/amd64", cf.OS, cf.Architecture)
			}
			if !cf.Created.Time.Equal(time.Unix(1700000000, 0)) {
				t.Errorf("created = %v, want SOURCE_DATE_EPOCH", cf.Created.Time)
			}
			if tc.config != nil {
				tc.config(t, cf.Config)
			}
		})
	}
}

func tgz(t testing.TB, files []fileSpec) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write(tarOf(t, files))
	gz.Close()
	return buf.Bytes()
}

func TestBuildRefuses(t *testing.T) {
	base := baseImage(t)
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"secret": "s"})
	cases := []struct {
		name, dockerfile string
		files            map[string]string
		want             string
		outside          bool
	}{
		{name: "RUN names its line", dockerfile: "FROM busybox\nCOPY a /a\nRUN echo hi\n", files: map[string]string{"a": "a"},
			want: "Dockerfile:3: RUN needs the chroot executor"},
		{name: "ONBUILD", dockerfile: "FROM busybox\nONBUILD COPY . /\n", want: "Dockerfile:2: ONBUILD is not supported"},
		{name: "ADD from a URL", dockerfile: "FROM busybox\nADD https://example.com/x.tgz /x\n", want: "Dockerfile:2: ADD https://example.com/x.tgz: remote URLs"},
		{name: "COPY from the parent folder", dockerfile: "FROM busybox\nCOPY ../secret /s\n", want: "Dockerfile:2: source \"../secret\" is outside the build context", outside: true},
		{name: "COPY of an absolute path", dockerfile: "FROM busybox\nCOPY /etc/passwd /p\n", want: "is an absolute path: outside the build context"},
		{name: "symlink that escapes, copied in a folder", dockerfile: "FROM busybox\nCOPY . /app\n", files: map[string]string{"leak": "->../../secret"},
			want: "symlink leak points to ../../secret, outside the build context"},
		{name: "symlink that escapes, named as the source", dockerfile: "FROM busybox\nCOPY leak /app/leak\n", files: map[string]string{"leak": "->../secret"},
			want: "symlink leak points to ../secret, outside the build context"},
		{name: "missing source", dockerfile: "FROM busybox\nCOPY nope /x\n", want: "Dockerfile:2: nope: not found in the build context"},
		{name: "ignored source", dockerfile: "FROM busybox\nCOPY hidden.env /x\n", files: map[string]string{"hidden.env": "x", ".dockerignore": "*.env"},
			want: "hidden.env: not found in the build context (is it excluded by .dockerignore?)"},
		{name: "unknown target", dockerfile: "FROM busybox AS a\n", want: "target stage \"nope\" not found (stages: a)"},
		{name: "chown user unknown", dockerfile: "FROM busybox\nCOPY a /a\nCOPY --chown=bob a /b\n", files: map[string]string{"a": "a"},
			want: "Dockerfile:3: --chown=bob: no \"bob\" in the base image's /etc/passwd"},
		{name: "several sources need a folder", dockerfile: "FROM busybox\nCOPY a b /dest\n", files: map[string]string{"a": "a", "b": "b"},
			want: "destination must be a folder ending in /"},
		{name: "platform missing from the base layout", dockerfile: "FROM --platform=linux/arm64 busybox\n", want: "Dockerfile:1: FROM busybox: read base image oci:"},
		{name: "no FROM", dockerfile: "# nothing\n", want: "file with no instructions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := filepath.Join(root, "a", "ctx")
			if tc.outside {
				dir = filepath.Join(outside, "ctx")
			}
			writeTree(t, dir, tc.files)
			if tc.files == nil {
				os.MkdirAll(dir, 0o755)
			}
			df := filepath.Join(dir, "Dockerfile")
			os.WriteFile(df, []byte(tc.dockerfile), 0o644)
			spec := BuildSpec{Context: dir, Dockerfile: df}
			if strings.Contains(tc.name, "unknown target") {
				spec.Target = "nope"
			}
			_, err := Build(context.Background(), spec, WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(t.TempDir()))
			if err == nil {
				t.Fatalf("Build succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(tc.name, "outside") && !errors.Is(err, errOutside) {
				t.Errorf("error does not wrap errOutside: %v", err)
			}
		})
	}
}
