package image

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// openNoFollow opens a context file without following a symlink swapped in
// after the context was listed.
func openNoFollow(p string) (io.ReadCloser, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}

// gitCommitTime is the committer time of HEAD in dir's repository.
func gitCommitTime(dir string) (time.Time, bool) {
	git, err := exec.LookPath("git")
	if err != nil {
		return time.Time{}, false
	}
	out, err := exec.Command(git, "-C", dir, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// normalizeRef spells an image reference the same way however it was
// written ("python" and "index.docker.io/library/python:latest" match).
func normalizeRef(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	return r.Name(), nil
}

// copyBuffers are reused by copyFile: a fresh 32 KiB buffer for each of
// thousands of files costs more in garbage collection than the copy.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyFile copies src to dst through a pooled buffer. src is wrapped so
// that *os.File's WriteTo, which allocates a buffer of its own, is not used.
func copyFile(dst io.Writer, src io.Reader) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(dst, struct{ io.Reader }{src}, *buf)
}
