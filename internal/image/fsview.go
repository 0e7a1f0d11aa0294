package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// srcNode is a file, folder or symlink a COPY/ADD can read, from the build
// context or from another stage or image.
type srcNode struct {
	rel      string // slash path relative to the source root
	typ      byte
	mode     int64
	uid, gid int
	link     string
	size     int64
	content  string                 // identity of a regular file's bytes, or:
	hash     func() (string, error) // computes it, for build-context files
	open     func() (io.ReadCloser, error)
	ctx      *ctxEntry // set for build-context files
}

// source is where COPY/ADD reads from.
type source interface {
	// resolve follows symlinks scoped to the source root.
	resolve(rel string) (*srcNode, error)
	// below lists what lies under a folder, in path order.
	below(rel string) []*srcNode
	// names lists every path, in order, for glob matching.
	names() []string
	// prepare makes the content of the given nodes readable and their
	// identity known (content, or hash to compute it when needed).
	prepare(nodes []*srcNode, jobs int) error
	// external reports whether source paths are inside an image (absolute
	// paths allowed) rather than the build context.
	external() bool
}

// contextSource adapts the build context.
type contextSource struct{ c *buildContext }

func nodeFromCtx(e *ctxEntry) *srcNode {
	n := &srcNode{rel: e.rel, mode: int64(e.mode.Perm()), ctx: e}
	if e.mode&fs.ModeSetuid != 0 {
		n.mode |= 0o4000
	}
	if e.mode&fs.ModeSetgid != 0 {
		n.mode |= 0o2000
	}
	if e.mode&fs.ModeSticky != 0 {
		n.mode |= 0o1000
	}
	switch {
	case e.link != "":
		n.typ, n.link = tar.TypeSymlink, e.link
	case e.mode.IsDir():
		n.typ = tar.TypeDir
	default:
		n.typ, n.size = tar.TypeReg, e.size
		abs := e.abs
		n.open = func() (io.ReadCloser, error) { return openNoFollow(abs) }
	}
	return n
}

func (s contextSource) resolve(rel string) (*srcNode, error) {
	e, err := s.c.resolve(rel)
	if err != nil {
		return nil, err
	}
	return nodeFromCtx(e), nil
}

func (s contextSource) below(rel string) []*srcNode {
	var out []*srcNode
	for _, e := range s.c.below(rel) {
		out = append(out, nodeFromCtx(e))
	}
	return out
}

func (s contextSource) names() []string { return s.c.sorted }
func (s contextSource) external() bool  { return false }

// prepare checks symlinks; content hashes are left to each layer as it is
// made (srcNode.hash).
func (s contextSource) prepare(nodes []*srcNode, _ int) error {
	for _, n := range nodes {
		if n.ctx == nil {
			continue
		}
		if err := checkLink(n.ctx); err != nil {
			return err
		}
		if n.typ == tar.TypeReg {
			e := n.ctx
			n.hash = func() (string, error) { return s.c.hashOf(e) }
		}
	}
	return nil
}

// identity returns what identifies a regular file's bytes, hashing a
// build-context file if needed.
func (n *srcNode) identity() (string, error) {
	if n.content == "" && n.hash != nil {
		return n.hash()
	}
	return n.content, nil
}

// fsView is the merged filesystem of an image's layers, whiteouts applied.
type fsView struct {
	layers []v1.Layer
	diffs  []string
	nodes  map[string]*fsNode
	sorted []string
}

type fsNode struct {
	hdr    tar.Header
	layer  int
	target string // where the bytes are: the entry itself, or a hard link's target
}

func newFSView(img v1.Image) (*fsView, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	v := &fsView{layers: layers, nodes: map[string]*fsNode{}}
	for i, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		v.diffs = append(v.diffs, d.String())
		if err := v.apply(i, l); err != nil {
			return nil, fmt.Errorf("read layer %s: %w", d, err)
		}
	}
	for name := range v.nodes {
		v.sorted = append(v.sorted, name)
	}
	sort.Strings(v.sorted)
	return v, nil
}

func cleanLayerPath(name string) string {
	p := path.Clean("/" + name)
	return strings.TrimPrefix(p, "/")
}

func (v *fsView) removeTree(dir string, keepDir bool) {
	for name := range v.nodes {
		if strings.HasPrefix(name, dir+"/") || (!keepDir && name == dir) || dir == "" {
			delete(v.nodes, name)
		}
	}
}

func (v *fsView) apply(i int, l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := cleanLayerPath(hdr.Name)
		dir, base := path.Split(name)
		dir = strings.TrimSuffix(dir, "/")
		if base == ".wh..wh..opq" {
			v.removeTree(dir, true)
			continue
		}
		if strings.HasPrefix(base, ".wh.") {
			v.removeTree(path.Join(dir, strings.TrimPrefix(base, ".wh.")), false)
			continue
		}
		if name == "" {
			continue
		}
		n := &fsNode{hdr: *hdr, layer: i, target: name}
		n.hdr.Name = name
		if hdr.Typeflag == tar.TypeLink {
			t, ok := v.nodes[cleanLayerPath(hdr.Linkname)]
			if !ok {
				continue // a hard link to nothing: skip, as the runtime would fail on it
			}
			n.hdr = t.hdr
			n.hdr.Name = name
			n.layer, n.target = t.layer, t.target
		}
		if n.hdr.Typeflag == tar.TypeRegA {
			n.hdr.Typeflag = tar.TypeReg
		}
		if old, ok := v.nodes[name]; ok && old.hdr.Typeflag == tar.TypeDir && n.hdr.Typeflag != tar.TypeDir {
			v.removeTree(name, false)
		}
		v.nodes[name] = n
	}
}

// imageSource reads from a stage or image through its fsView.
type imageSource struct {
	v       *fsView
	content map[string][]byte // filled by prepare
}

func (s *imageSource) node(name string) *srcNode {
	n := s.v.nodes[name]
	h := n.hdr
	sn := &srcNode{rel: name, mode: h.Mode & 0o7777, uid: h.Uid, gid: h.Gid, link: h.Linkname}
	switch h.Typeflag {
	case tar.TypeDir:
		sn.typ = tar.TypeDir
	case tar.TypeSymlink:
		sn.typ = tar.TypeSymlink
	case tar.TypeReg:
		sn.typ, sn.size = tar.TypeReg, h.Size
		sn.content = s.v.diffs[n.layer] + ":" + n.target
		key := n.target + "\x00" + fmt.Sprint(n.layer)
		sn.open = func() (io.ReadCloser, error) {
			b, ok := s.content[key]
			if !ok {
				return nil, fmt.Errorf("%s was not loaded", name)
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		}
	default:
		return nil // devices and fifos are not copied
	}
	return sn
}

func (s *imageSource) resolve(rel string) (*srcNode, error) {
	rel = cleanLayerPath(rel)
	cur := ""
	parts := strings.Split(rel, "/")
	for hops := 0; len(parts) > 0; {
		part := parts[0]
		parts = parts[1:]
		if part == "" || part == "." {
			continue
		}
		next := path.Join(cur, part)
		n, ok := s.v.nodes[next]
		if !ok {
			return nil, fs.ErrNotExist
		}
		if n.hdr.Typeflag == tar.TypeSymlink {
			if hops++; hops > 40 {
				return nil, fmt.Errorf("%s: too many levels of symbolic links", rel)
			}
			t := n.hdr.Linkname
			if !path.IsAbs(t) {
				t = path.Join("/", cur, t)
			}
			parts = append(strings.Split(cleanLayerPath(t), "/"), parts...)
			cur = ""
			continue
		}
		cur = next
	}
	if cur == "" {
		return &srcNode{rel: "", typ: tar.TypeDir, mode: 0o755}, nil
	}
	if _, ok := s.v.nodes[cur]; !ok {
		return nil, fs.ErrNotExist
	}
	n := s.node(cur)
	if n == nil {
		return nil, fs.ErrNotExist
	}
	return n, nil
}

func (s *imageSource) below(rel string) []*srcNode {
	prefix := rel + "/"
	if rel == "" || rel == "." {
		prefix = ""
	}
	var out []*srcNode
	for i := sort.SearchStrings(s.v.sorted, prefix); i < len(s.v.sorted); i++ {
		name := s.v.sorted[i]
		if !strings.HasPrefix(name, prefix) {
			break
		}
		if _, ok := s.v.nodes[name]; !ok {
			continue
		}
		if n := s.node(name); n != nil {
			out = append(out, n)
		}
	}
	return out
}

func (s *imageSource) names() []string { return s.v.sorted }
func (s *imageSource) external() bool  { return true }

// prepare reads the wanted files' bytes, one pass over each layer involved.
func (s *imageSource) prepare(nodes []*srcNode, _ int) error {
	if s.content == nil {
		s.content = map[string][]byte{}
	}
	want := map[int]map[string]bool{}
	for _, sn := range nodes {
		if sn.typ != tar.TypeReg {
			continue
		}
		n := s.v.nodes[sn.rel]
		if _, ok := s.content[n.target+"\x00"+fmt.Sprint(n.layer)]; ok {
			continue
		}
		if want[n.layer] == nil {
			want[n.layer] = map[string]bool{}
		}
		want[n.layer][n.target] = true
	}
	for i, names := range want {
		if err := s.load(i, names); err != nil {
			return fmt.Errorf("read layer %s: %w", s.v.diffs[i], err)
		}
	}
	return nil
}

func (s *imageSource) load(i int, names map[string]bool) error {
	rc, err := s.v.layers[i].Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := cleanLayerPath(hdr.Name)
		if !names[name] {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		s.content[name+"\x00"+fmt.Sprint(i)] = b
	}
}
