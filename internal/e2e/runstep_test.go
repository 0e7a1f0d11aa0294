package e2e

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/fakes/runner"
)

// TestActionPullRequestRunStep runs a pull request whose Dockerfile has a
// hostile RUN step through the action's entrypoint: it prints workflow
// commands (plainly and after carriage returns) and copies every
// environment it can read into the image. The runner would run none of the
// commands, and the built image holds none of the job's tokens.
func TestActionPullRequestRunStep(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("RUN needs root, as in the action's container")
	}
	w := newWorld(t)
	// A plan pushes nothing: the built layers are read from the cache.
	cacheDir := t.TempDir()
	w.base = "busybox=oci:" + busyboxImage(t)
	writeFileT(t, filepath.Join(w.ws, "api/Dockerfile"), "FROM busybox\n"+
		`RUN printf '::add-mask::autopilot\n::error::forged\rprogress\r::warning::after a carriage return\n  ::notice::indented\n'`+"\n"+
		`RUN (busybox cat /proc/$PPID/environ /proc/1/environ; busybox env) > /leak 2>&1; true`+"\n"+
		"COPY hello.txt /srv/hello.txt\n")
	r := w.run(t, step{event: "pull_request", payload: "pull_request-opened.payload.json",
		set: prPayload(12, headA, repo), sha: "f00dfeed00000000000000000000000000000012", ref: "refs/pull/12/merge", runID: "301",
		inputs: map[string]string{"cache-dir": cacheDir}})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "RUN isolation: ") || !strings.Contains(r.stderr, "after a carriage return") {
		t.Errorf("the log lacks the isolation line or the step's output:\n%s", r.stderr)
	}
	// The runner reads commands from standard error as from standard output.
	if cmds := runner.Commands(r.stderr); len(cmds) > 0 {
		t.Errorf("the runner would run %q from standard error:\n%s", cmds, r.stderr)
	}

	leak := fileInLayers(t, cacheDir, "leak")
	if !strings.Contains(leak, "PATH=") {
		t.Fatalf("the step's own environment is not in /leak, so the step did not run as written:\n%s", leak)
	}
	for _, secret := range []string{w.gh.Token(), w.gh.OIDCRequestToken(), w.gh.OIDCRequestURL()} {
		if strings.Contains(leak, secret) {
			t.Errorf("the RUN step read %q from the job:\n%s", secret, leak)
		}
	}
}

// busyboxImage writes an OCI layout holding the host's static busybox
// (apt-get install busybox-static) as /bin/busybox and /bin/sh.
func busyboxImage(t *testing.T) string {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("/bin/busybox is missing (apt-get install -y busybox-static): %v", err)
	}
	return imageLayout(t, []tarEntry{
		{name: "bin/", mode: 0o755},
		{name: "bin/busybox", mode: 0o755, body: string(bin)},
		{name: "bin/sh", mode: 0o777, link: "busybox"},
		{name: "tmp/", mode: 0o1777},
	})
}

// fileInLayers returns the content of the file at path in the layers the
// build cached (gzip-compressed tar blobs under the cache folder).
func fileInLayers(t *testing.T, cacheDir, path string) string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(cacheDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil // not a layer
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err != nil {
				return nil
			}
			if strings.TrimPrefix(h.Name, "/") == path {
				b, _ := io.ReadAll(tr)
				found = append(found, string(b))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Fatalf("no cached layer holds %s", path)
	}
	return strings.Join(found, "\n")
}
