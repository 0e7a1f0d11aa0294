package chroot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/sys/unix"
)

// hostsFile is the /etc/hosts a step sees, as BuildKit writes it.
const hostsFile = "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n"

// device is a node the sandbox makes in /dev with mknod.
type device struct {
	name         string
	major, minor uint32
}

var devices = []device{{"null", 1, 3}, {"zero", 1, 5}, {"random", 1, 8}, {"urandom", 1, 9}}

// sandbox is what a step adds to the scratch root for its run and takes
// away afterwards: devices, /etc/resolv.conf and /etc/hosts, secrets, cache
// folders and the /proc mount point. Every path is resolved through an
// os.Root and every move uses directory descriptors, so a step that
// replaces a folder with a symlink cannot make the teardown touch anything
// outside the root.
type sandbox struct {
	root     *os.Root
	host     string   // the root's host path
	stash    *os.File // where originals wait, outside the root
	placed   []string // files put in place, removed in teardown
	stashed  []stashed
	created  []string // folders made for mount points, removed when still empty
	caches   []cacheMount
	excluded []string // paths whose changes never reach the layer
	secrets  []string // secret values, masked in the log
	// dirty is set when the root could not be put back exactly as it was,
	// so it must not be reused for a later step.
	dirty bool
}

type stashed struct{ rel, name string }

type cacheMount struct {
	rel, hostDir string
}

func (s *sandbox) openDir(rel string) (*os.File, error) {
	if rel == "" || rel == "/" {
		rel = "."
	}
	f, err := s.root.Open(rel)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is not a folder in the image", rel)
	}
	return f, nil
}

// mkdirAll makes rel's missing folders and remembers them for teardown.
func (s *sandbox) mkdirAll(rel string) error {
	var missing []string
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if _, err := s.root.Lstat(p); err == nil {
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := s.root.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		s.created = append(s.created, missing[i])
	}
	return nil
}

// stashAway moves what the image has at rel aside, if anything.
func (s *sandbox) stashAway(rel string) error {
	dir, err := s.openDir(path.Dir(rel))
	if err != nil {
		return err
	}
	defer dir.Close()
	name := fmt.Sprintf("%d", len(s.stashed))
	err = unix.Renameat(int(dir.Fd()), path.Base(rel), int(s.stash.Fd()), name)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("move %s aside: %w", rel, err)
	}
	s.stashed = append(s.stashed, stashed{rel: rel, name: name})
	return nil
}

// place puts a file of the sandbox at rel in place of the image's own.
func (s *sandbox) place(rel string, content []byte, mode os.FileMode, uid, gid int) error {
	if err := s.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	if err := s.stashAway(rel); err != nil {
		return err
	}
	f, err := s.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	s.placed = append(s.placed, rel)
	s.excluded = append(s.excluded, rel)
	_, err = f.Write(content)
	if err == nil {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *sandbox) makeDevices() error {
	if err := s.mkdirAll("dev"); err != nil {
		return err
	}
	dir, err := s.openDir("dev")
	if err != nil {
		return err
	}
	defer dir.Close()
	for _, d := range devices {
		rel := "dev/" + d.name
		if err := s.stashAway(rel); err != nil {
			return err
		}
		if err := unix.Mknodat(int(dir.Fd()), d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("mknod /dev/%s (needs CAP_MKNOD): %w", d.name, err)
		}
		s.placed = append(s.placed, rel)
		s.excluded = append(s.excluded, rel)
		if err := unix.Fchmodat(int(dir.Fd()), d.name, 0o666, 0); err != nil {
			return err
		}
	}
	return nil
}

// prepareProc makes /proc a real folder for the step's own /proc, which
// the step helper mounts in the step's mount namespace (so it goes away
// with the step). It returns false when the image's /proc is not a folder.
func (s *sandbox) prepareProc() bool {
	if err := s.mkdirAll("proc"); err != nil {
		return false
	}
	if fi, err := s.root.Lstat("proc"); err != nil || !fi.IsDir() {
		return false
	}
	s.excluded = append(s.excluded, "proc")
	return true
}

// mountCache moves the persistent folder of a cache mount to its target.
func (s *sandbox) mountCache(cacheRoot string, m *instructions.Mount) error {
	rel := strings.TrimPrefix(path.Clean("/"+m.Target), "/")
	if rel == "" {
		return errors.New("--mount=type=cache needs a target other than /")
	}
	id := m.CacheID
	if id == "" {
		id = "/" + rel
	}
	sum := sha256.Sum256([]byte(id))
	hostDir := filepath.Join(cacheRoot, hex.EncodeToString(sum[:12]))
	if fi, err := os.Lstat(hostDir); err == nil && !fi.IsDir() {
		if err := os.Remove(hostDir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		return fmt.Errorf("create cache folder for %s: %w", id, err)
	}
	if m.UID != nil || m.GID != nil {
		uid, gid := 0, 0
		if m.UID != nil {
			uid = int(*m.UID)
		}
		if m.GID != nil {
			gid = int(*m.GID)
		}
		if err := os.Lchown(hostDir, uid, gid); err != nil {
			return err
		}
	}
	if m.Mode != nil {
		if err := os.Chmod(hostDir, os.FileMode(*m.Mode&0o7777)); err != nil {
			return err
		}
	}
	if err := s.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	if err := s.stashAway(rel); err != nil {
		return err
	}
	dir, err := s.openDir(path.Dir(rel))
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := unix.Renameat(unix.AT_FDCWD, hostDir, int(dir.Fd()), path.Base(rel)); err != nil {
		return fmt.Errorf("move cache folder %s to %s (the scratch and cache folders must be on one filesystem): %w", id, m.Target, err)
	}
	s.caches = append(s.caches, cacheMount{rel: rel, hostDir: hostDir})
	s.excluded = append(s.excluded, rel)
	return nil
}

// teardown undoes the setup in reverse; it keeps going after an error so
// that as much as possible is restored, and reports the first.
func (s *sandbox) teardown() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for i := len(s.caches) - 1; i >= 0; i-- {
		c := s.caches[i]
		dir, err := s.openDir(path.Dir(c.rel))
		if err == nil {
			err = unix.Renameat(int(dir.Fd()), path.Base(c.rel), unix.AT_FDCWD, c.hostDir)
			dir.Close()
		}
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, fs.ErrNotExist) {
			keep(fmt.Errorf("move cache folder back from %s: %w", c.rel, err))
		}
		// A step that deleted or replaced its cache folder leaves an empty one.
		if fi, err := os.Lstat(c.hostDir); err != nil || !fi.IsDir() {
			os.RemoveAll(c.hostDir)
			keep(os.MkdirAll(c.hostDir, 0o755))
		}
	}
	// A step may have deleted the files it was given, or replaced their
	// folders, even with symlinks that point out of the root; the os.Root
	// refuses to follow those, and such a file is then simply not removed
	// (it is excluded from the layer either way).
	for i := len(s.placed) - 1; i >= 0; i-- {
		if err := s.root.Remove(s.placed[i]); err != nil {
			s.dirty = true
		}
	}
	for i := len(s.stashed) - 1; i >= 0; i-- {
		st := s.stashed[i]
		dir, err := s.openDir(path.Dir(st.rel))
		if err != nil {
			s.dirty = true
			continue // the step removed or replaced the folder: the original stays gone
		}
		if fi, err := s.root.Lstat(st.rel); err == nil && !fi.IsDir() {
			_ = s.root.Remove(st.rel)
		}
		err = unix.Renameat(int(s.stash.Fd()), st.name, int(dir.Fd()), path.Base(st.rel))
		dir.Close()
		if err != nil {
			s.dirty = true
		}
	}
	for i := len(s.created) - 1; i >= 0; i-- {
		_ = s.root.Remove(s.created[i]) // only if still empty
	}
	return first
}
