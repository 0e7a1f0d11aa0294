package chroot

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// UnsafeEntryError reports a layer entry refused because it would write
// outside the scratch root or create a device.
type UnsafeEntryError struct {
	Layer  int
	Name   string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("layer %d entry %q refused: %s", e.Layer, e.Name, e.Reason)
}

// unpackLayers applies layers, in order, to the directory root. All writes go
// through an os.Root, so no entry, symlink or hard link can reach outside it.
func unpackLayers(root string, layers []v1.Layer, from int) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("open scratch root: %w", err)
	}
	defer r.Close()
	for i := from; i < len(layers); i++ {
		rc, err := layers[i].Uncompressed()
		if err != nil {
			return fmt.Errorf("read layer %d: %w", i, err)
		}
		err = unpackTar(r, i, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// cleanEntryName returns a tar entry's name relative to the root, or an
// error when it is absolute or climbs out with "..".
func cleanEntryName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", errors.New("absolute path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errors.New(`path contains ".."`)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

func unpackTar(r *os.Root, layer int, rd io.Reader) error {
	tr := tar.NewReader(rd)
	written := map[string]bool{} // paths this layer wrote, which its opaque markers keep
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read layer %d: %w", layer, err)
		}
		name, err := cleanEntryName(hdr.Name)
		if err != nil {
			return &UnsafeEntryError{Layer: layer, Name: hdr.Name, Reason: err.Error()}
		}
		if name == "" {
			continue
		}
		dir, base := path.Split(name)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			dir = "."
		}
		if base == opaqueMarker {
			if err := clearDir(r, dir, written); err != nil {
				return &UnsafeEntryError{Layer: layer, Name: hdr.Name, Reason: err.Error()}
			}
			continue
		}
		if strings.HasPrefix(base, whiteoutPrefix) {
			target := path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))
			if err := r.RemoveAll(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return &UnsafeEntryError{Layer: layer, Name: hdr.Name, Reason: err.Error()}
			}
			continue
		}
		if err := writeEntry(r, tr, hdr, name, dir); err != nil {
			var unsafe *UnsafeEntryError
			if errors.As(err, &unsafe) {
				unsafe.Layer = layer
				return unsafe
			}
			return fmt.Errorf("layer %d: %s: %w", layer, name, err)
		}
		written[name] = true
	}
}

// clearDir applies an opaque whiteout: everything in dir from lower layers goes.
func clearDir(r *os.Root, dir string, written map[string]bool) error {
	f, err := r.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		p := path.Join(dir, n)
		if written[p] {
			continue
		}
		if err := r.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

func writeEntry(r *os.Root, tr *tar.Reader, hdr *tar.Header, name, dir string) error {
	unsafe := func(reason string) error { return &UnsafeEntryError{Name: hdr.Name, Reason: reason} }
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		return unsafe("device nodes from image layers are not created; the RUN sandbox provides /dev/null, /dev/zero, /dev/random and /dev/urandom")
	case tar.TypeFifo:
		return unsafe("named pipes in image layers are not supported")
	case tar.TypeXGlobalHeader, tar.TypeXHeader:
		return nil
	}
	if dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return unsafe(fmt.Sprintf("parent folder: %v", err))
		}
	}
	existing, err := r.Lstat(name)
	if err == nil && !(existing.IsDir() && hdr.Typeflag == tar.TypeDir) {
		if err := r.RemoveAll(name); err != nil {
			return err
		}
	}
	mode := fileMode(hdr.Mode)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if existing == nil || !existing.IsDir() {
			if err := r.Mkdir(name, 0o700); err != nil {
				return unsafe(err.Error())
			}
		}
		if err := r.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
		return r.Chmod(name, mode)
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old layers still use TypeRegA
		f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return unsafe(err.Error())
		}
		_, err = io.Copy(f, tr)
		if err == nil {
			err = f.Chown(hdr.Uid, hdr.Gid)
		}
		if err == nil {
			err = f.Chmod(mode) // after chown, which clears setuid bits
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case tar.TypeSymlink:
		// The target is stored as written; it is only ever followed inside
		// the chroot or through an os.Root, which refuses to leave the root.
		if err := r.Symlink(hdr.Linkname, name); err != nil {
			return unsafe(err.Error())
		}
		return r.Lchown(name, hdr.Uid, hdr.Gid)
	case tar.TypeLink:
		target, err := cleanEntryName(hdr.Linkname)
		if err != nil || target == "" {
			return unsafe("hard link target " + hdr.Linkname + " is outside the image")
		}
		if err := r.Link(target, name); err != nil {
			return unsafe(fmt.Sprintf("hard link to %s: %v", hdr.Linkname, err))
		}
		return nil
	default:
		return unsafe(fmt.Sprintf("unsupported tar entry type %q", hdr.Typeflag))
	}
}

// fileMode converts tar permission bits, including setuid, setgid and sticky.
func fileMode(m int64) os.FileMode {
	mode := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}
