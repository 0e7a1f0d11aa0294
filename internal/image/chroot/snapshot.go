package chroot

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// fileState is what decides whether a path changed during a RUN step. The
// ctime moves on every write, chmod, chown, link and rename and cannot be
// set back by the command, so "touch -d" or a same-size rewrite is seen.
type fileState struct {
	mode         os.FileMode
	uid, gid     uint32
	size         int64
	ino          uint64
	ctime, mtime syscall.Timespec
	link         string
}

// snapshot is the state of every path under a root, by slash path relative to it.
type snapshot map[string]fileState

func takeSnapshot(root string) (snapshot, error) {
	snap := snapshot{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel := filepath.ToSlash(p[len(root)+1:])
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		s := fileState{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, size: st.Size, ino: st.Ino, ctime: st.Ctim, mtime: st.Mtim}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if s.link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		snap[rel] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan the scratch root: %w", err)
	}
	return snap, nil
}

// change is one entry of a RUN layer.
type change struct {
	name    string
	deleted bool
	state   fileState
}

// diffSnapshots lists what RUN added, changed or deleted, sorted by name.
// A deleted folder is one whiteout; its contents are not listed.
func diffSnapshots(before, after snapshot, excluded func(string) bool) []change {
	var out []change
	for name, s := range after {
		if excluded(name) {
			continue
		}
		if old, ok := before[name]; ok && same(old, s) {
			continue
		}
		out = append(out, change{name: name, state: s})
	}
	for name := range before {
		if _, ok := after[name]; ok || excluded(name) {
			continue
		}
		if parentGone(name, before, after) {
			continue // covered by the whiteout or the replacement of a parent
		}
		out = append(out, change{name: name, deleted: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// writeChanges writes the changes as a layer tar: deterministic order,
// every timestamp set to epoch, hard links to the first name of an inode.
func writeChanges(tw *tar.Writer, root *os.Root, changes []change, epoch time.Time) error {
	firstName := map[uint64]string{}
	for _, c := range changes {
		if c.deleted {
			dir, base := path.Split(c.name)
			if err := tw.WriteHeader(&tar.Header{Name: dir + whiteoutPrefix + base, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return err
			}
			continue
		}
		s := c.state
		hdr := &tar.Header{Name: c.name, Mode: tarMode(s.mode), Uid: int(s.uid), Gid: int(s.gid), ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case s.mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, c.name+"/"
		case s.mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, s.link
		case s.mode.IsRegular():
			if first, ok := firstName[s.ino]; ok {
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
				break
			}
			firstName[s.ino] = c.name
			hdr.Typeflag, hdr.Size = tar.TypeReg, s.size
		default:
			// Sockets, pipes and devices a step leaves behind are runtime
			// state, which Docker does not keep either.
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write %s: %w", c.name, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		f, err := root.Open(c.name)
		if err != nil {
			return fmt.Errorf("read %s: %w", c.name, err)
		}
		n, err := io.Copy(tw, io.LimitReader(f, s.size))
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", c.name, err)
		}
		if n != s.size {
			return fmt.Errorf("%s changed size after the RUN step ended (a background process still writing?)", c.name)
		}
	}
	return nil
}

func tarMode(m os.FileMode) int64 {
	mode := int64(m.Perm())
	if m&os.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// underAny reports whether name is one of prefixes or below one.
func underAny(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if name == p || strings.HasPrefix(name, p+"/") {
			return true
		}
	}
	return false
}

// same reports whether a path is unchanged. A folder counts as changed
// only when its own mode or owner changed: entries added or removed inside
// it are in the layer themselves, and the sandbox's own files would
// otherwise put /etc and /dev into every layer.
func same(a, b fileState) bool {
	if a.mode.IsDir() && b.mode.IsDir() {
		return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid
	}
	return a == b
}

// parentGone reports whether a folder above name was deleted or replaced
// by something that is not a folder, whose own entry then covers name.
func parentGone(name string, before, after snapshot) bool {
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		s, ok := after[p]
		if !ok || !s.mode.IsDir() {
			return true
		}
	}
	return false
}
