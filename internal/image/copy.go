package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

type copyArgs struct {
	sources  []string
	contents []instructions.SourceContent
	dest     string
	from     string
	chown    string
	chmod    string
	add      bool
	unpack   bool
}

// owner is a --chown result.
type owner struct {
	set      bool
	uid, gid int
}

// copySpecs turns one COPY or ADD into the layers it adds: one layer, or a
// few content-stable ones when the copy is large (see splitEntries).
func (b *builder) copySpecs(st *stage, cmd instructions.Command, a copyArgs) ([]*layerSpec, error) {
	var src source = contextSource{b.ctx}
	if a.from != "" {
		s, err := b.sourceFor(st, a.from)
		if err != nil {
			return nil, b.lineErr(cmd, "--from=%s: %v", a.from, err)
		}
		src = s
	}
	own, err := b.parseChown(st, a.chown)
	if err != nil {
		return nil, b.lineErr(cmd, "--chown=%s: %v", a.chown, err)
	}
	var chmod int64 = -1
	if a.chmod != "" {
		m, err := strconv.ParseInt(a.chmod, 8, 32)
		if err != nil || m < 0 || m > 0o7777 {
			return nil, b.lineErr(cmd, "--chmod=%s: must be an octal mode such as 0755", a.chmod)
		}
		chmod = m
	}
	dest := b.absPath(st, a.dest)
	destIsDir := strings.HasSuffix(a.dest, "/") || a.dest == "." || len(a.sources)+len(a.contents) > 1

	var matches []*srcNode
	for _, s := range a.sources {
		rel := s
		if src.external() {
			rel = cleanLayerPath(s)
		} else if rel, err = cleanSource(s); err != nil {
			return nil, b.lineErr(cmd, "%v", err)
		}
		if hasMeta(rel) {
			n := 0
			for _, name := range src.names() {
				if ok, _ := path.Match(rel, name); ok {
					node, err := src.resolve(name)
					if err != nil {
						return nil, b.lineErr(cmd, "%s: %v", name, err)
					}
					matches = append(matches, node)
					n++
				}
			}
			if n == 0 {
				return nil, b.lineErr(cmd, "no file in the build context matches %q (is it excluded by .dockerignore?)", s)
			}
			if n > 1 {
				destIsDir = true
			}
			continue
		}
		node, err := src.resolve(rel)
		if errors.Is(err, fs.ErrNotExist) {
			if a.from != "" {
				return nil, b.lineErr(cmd, "%s: not found in --from=%s", s, a.from)
			}
			return nil, b.lineErr(cmd, "%s: not found in the build context (is it excluded by .dockerignore?)", s)
		}
		if err != nil {
			return nil, b.lineErr(cmd, "%v", err)
		}
		matches = append(matches, node)
	}
	if len(a.sources)+len(a.contents) > 1 && !strings.HasSuffix(a.dest, "/") {
		return nil, b.lineErr(cmd, "with more than one source the destination must be a folder ending in /, e.g. %s/", a.dest)
	}

	// Gather every node first so content is hashed once, in parallel.
	type item struct {
		node   *srcNode
		target string // absolute path in the image
	}
	var items []item
	var archives []item
	for _, n := range matches {
		if n.typ == tar.TypeDir {
			// Only the contents are copied; dest itself is created 0755
			// (owned per --chown) by withParents, as BuildKit does.
			for _, child := range src.below(n.rel) {
				rel := strings.TrimPrefix(child.rel, n.rel+"/")
				if n.rel == "" || n.rel == "." {
					rel = child.rel
				}
				items = append(items, item{child, path.Join(dest, rel)})
			}
			continue
		}
		target := dest
		if destIsDir {
			target = path.Join(dest, path.Base(n.rel))
		}
		if a.add && a.unpack && a.from == "" && n.typ == tar.TypeReg {
			archives = append(archives, item{n, dest})
			continue
		}
		items = append(items, item{n, target})
	}
	var nodes []*srcNode
	for _, it := range items {
		nodes = append(nodes, it.node)
	}
	for _, it := range archives {
		nodes = append(nodes, it.node)
	}
	if err := src.prepare(nodes, b.o.jobs); err != nil {
		return nil, b.lineErr(cmd, "%v", err)
	}

	var entries []tarEntry
	for _, it := range items {
		entries = append(entries, b.entryFor(it.node, it.target, src.external(), own, chmod))
	}
	for _, c := range a.contents {
		target := path.Join(dest, c.Path)
		if !destIsDir && len(a.sources)+len(a.contents) == 1 {
			target = dest
		}
		data := []byte(c.Data)
		sum := sha256.Sum256(data)
		mode := int64(0o644)
		if chmod >= 0 {
			mode = chmod
		}
		entries = append(entries, tarEntry{name: cleanLayerPath(target), typ: tar.TypeReg, mode: mode, uid: own.uid, gid: own.gid,
			size: int64(len(data)), content: hex.EncodeToString(sum[:]), open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
	}

	var specs []*layerSpec
	// An archive that ADD unpacks is its own layer, keyed by its bytes.
	var plainArchives []tarEntry
	for _, it := range archives {
		kind, err := archiveKind(it.node)
		if err != nil {
			return nil, b.lineErr(cmd, "%v", err)
		}
		if kind == "" {
			target := dest
			if destIsDir {
				target = path.Join(dest, path.Base(it.node.rel))
			}
			plainArchives = append(plainArchives, b.entryFor(it.node, target, false, own, chmod))
			continue
		}
		spec, err := b.unpackSpec(it.node, kind, dest, own, chmod)
		if err != nil {
			return nil, b.lineErr(cmd, "%v", err)
		}
		specs = append(specs, spec)
	}
	entries = append(entries, plainArchives...)
	if len(entries) == 0 {
		return specs, nil
	}
	entries = withParents(sortEntries(entries), dest, own)
	if b.o.split {
		for _, part := range splitEntries(entries, dest, b.o.splitThreshold) {
			specs = append(specs, &layerSpec{entries: part})
		}
	} else {
		specs = append(specs, &layerSpec{entries: entries})
	}
	return specs, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

func (b *builder) entryFor(n *srcNode, target string, external bool, own owner, chmod int64) tarEntry {
	e := tarEntry{name: cleanLayerPath(target), typ: n.typ, mode: n.mode, link: n.link, size: n.size, content: n.content, hash: n.hash, open: n.open}
	if external {
		e.uid, e.gid = n.uid, n.gid
	}
	if own.set {
		e.uid, e.gid = own.uid, own.gid
	}
	if chmod >= 0 && n.typ != tar.TypeSymlink {
		e.mode = chmod
	}
	if n.typ == tar.TypeSymlink {
		e.mode = 0o777
	}
	return e
}

// withParents adds the folders leading to each entry: those at or below
// dest belong to the copy (--chown applies), those above are root's 0755.
func withParents(entries []tarEntry, dest string, own owner) []tarEntry {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.name] = true
	}
	destName := cleanLayerPath(dest)
	var extra []tarEntry
	for _, e := range entries {
		for dir := path.Dir(e.name); dir != "." && dir != "/" && dir != ""; dir = path.Dir(dir) {
			if have[dir] {
				continue
			}
			have[dir] = true
			d := tarEntry{name: dir, typ: tar.TypeDir, mode: 0o755}
			if own.set && (dir == destName || strings.HasPrefix(dir, destName+"/")) {
				d.uid, d.gid = own.uid, own.gid
			}
			extra = append(extra, d)
		}
	}
	return sortEntries(append(entries, extra...))
}

// dependencyDirs are folders that change rarely and apart from the sources
// around them, so they get layers of their own when a copy is split.
var dependencyDirs = map[string]bool{"node_modules": true, "vendor": true, ".venv": true, "venv": true,
	"site-packages": true, "__pypackages__": true, "bower_components": true, "third_party": true}

// Every layer costs the registry a few requests and some work of its own
// (about as much as 2 MB of data against a local registry), so buckets are
// sized by how often their files change: sources in small buckets, so an
// edit re-sends little, dependency folders and large files in big ones.
const (
	splitBucketBytes = 256 << 10 // sources: aim for about this much per layer
	splitBulkBytes   = 8 << 20   // dependency folders and large files
	splitLargeFile   = 1 << 20   // files at least this big are grouped apart
	splitMaxLayers   = 32
)

// splitEntries cuts a large copy into layers whose content is stable: a
// file always lands in the same layer (a bucket of its dependency folder,
// of the large files, or of the sources, chosen by a hash of its path), so
// editing one file changes one layer and the others keep their digests.
// Bucket counts are powers of two, so when a group grows each bucket splits
// in two rather than reshuffling. Each layer carries the folders leading to
// its files.
func splitEntries(entries []tarEntry, dest string, threshold int64) [][]tarEntry {
	var total int64
	files := 0
	for _, e := range entries {
		total += e.size
		if e.typ == tar.TypeReg {
			files++
		}
	}
	if total < threshold || files < 2 {
		return [][]tarEntry{entries}
	}
	destName := cleanLayerPath(dest)
	dirs := map[string]tarEntry{}
	for _, e := range entries {
		if e.typ == tar.TypeDir {
			dirs[e.name] = e
		}
	}
	// groupOf names a file's group; the prefix orders the layers: sources,
	// then dependency folders, then large files.
	groupOf := func(e tarEntry) string {
		if e.typ == tar.TypeReg && e.size >= splitLargeFile {
			return "2:large"
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(e.name, destName), "/")
		parts := strings.Split(rel, "/")
		for i := 0; i < len(parts)-1; i++ {
			if dependencyDirs[parts[i]] {
				return "1:" + strings.Join(parts[:i+1], "/")
			}
		}
		return "0:"
	}
	groupBytes := map[string]int64{}
	for _, e := range entries {
		if e.typ != tar.TypeDir {
			groupBytes[groupOf(e)] += e.size
		}
	}
	buckets := map[string]int{}
	sum := 0
	for g, n := range groupBytes {
		per := int64(splitBulkBytes)
		if strings.HasPrefix(g, "0:") {
			per = splitBucketBytes
		}
		k := 1
		for int64(k)*per < n {
			k *= 2
		}
		buckets[g] = k
		sum += k
	}
	// Over the limit, halve the group with the most buckets (the first by
	// name on a tie, so every machine cuts the same way).
	for sum > splitMaxLayers {
		top := ""
		for g, k := range buckets {
			if k > buckets[top] || (k == buckets[top] && k > 1 && g < top) {
				top = g
			}
		}
		if buckets[top] <= 1 {
			break // more groups than the limit: one layer each
		}
		buckets[top] /= 2
		sum -= buckets[top]
	}
	parts := map[string][]tarEntry{}
	for _, e := range entries {
		if e.typ == tar.TypeDir {
			continue // added below as parents of what each part holds
		}
		g := groupOf(e)
		h := fnv.New32a()
		h.Write([]byte(e.name))
		key := fmt.Sprintf("%s:%04d", g, h.Sum32()%uint32(buckets[g]))
		parts[key] = append(parts[key], e)
	}
	// Empty folders ride with the first part.
	var firstKey string
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return [][]tarEntry{entries}
	}
	firstKey = keys[0]
	used := map[string]bool{}
	for _, k := range keys {
		for _, e := range parts[k] {
			for d := path.Dir(e.name); d != "." && d != ""; d = path.Dir(d) {
				used[d] = true
			}
		}
	}
	for name, d := range dirs {
		if !used[name] {
			parts[firstKey] = append(parts[firstKey], d)
		}
	}
	out := make([][]tarEntry, 0, len(keys))
	for _, k := range keys {
		part := parts[k]
		seen := map[string]bool{}
		for _, e := range part {
			seen[e.name] = true
		}
		var parents []tarEntry
		for _, e := range part {
			for d := path.Dir(e.name); d != "." && d != ""; d = path.Dir(d) {
				if seen[d] {
					continue
				}
				seen[d] = true
				if de, ok := dirs[d]; ok {
					parents = append(parents, de)
				}
			}
		}
		out = append(out, sortEntries(append(part, parents...)))
	}
	return out
}

// archiveKind tells whether ADD should unpack a file: "tar", "gzip" or
// "bzip2"; "" means copy it as it is.
func archiveKind(n *srcNode) (string, error) {
	rc, err := n.open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	head := make([]byte, 512)
	k, _ := io.ReadFull(rc, head)
	head = head[:k]
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gzip", nil
	case bytes.HasPrefix(head, []byte("BZh")):
		return "bzip2", nil
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}), bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "", fmt.Errorf("ADD %s: xz and zstd archives are not unpacked yet; use a .tar, .tar.gz or .tar.bz2", n.rel)
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return "tar", nil
	}
	return "", nil
}

// unpackSpec is the layer of an archive ADD unpacks into dest. The cache
// key is the archive's content, so it is only read when the layer is made.
func (b *builder) unpackSpec(n *srcNode, kind, dest string, own owner, chmod int64) (*layerSpec, error) {
	content, err := n.identity()
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("unpack %s %s %v %d %d %d", content, dest, own.set, own.uid, own.gid, chmod)
	return &layerSpec{extraKey: key, write: func(tw *tar.Writer, epoch time.Time) error {
		rc, err := n.open()
		if err != nil {
			return err
		}
		defer rc.Close()
		var r io.Reader = bufio.NewReader(rc)
		switch kind {
		case "gzip":
			gz, err := gzip.NewReader(r)
			if err != nil {
				return fmt.Errorf("ADD %s: %w", n.rel, err)
			}
			defer gz.Close()
			r = gz
		case "bzip2":
			r = bzip2.NewReader(r)
		}
		return unpackInto(tw, tar.NewReader(r), n.rel, dest, own, chmod, epoch)
	}}, nil
}

// unpackInto copies an archive's entries under dest, in the archive's order
// (sorted input gives sorted output), refusing entries that climb out.
func unpackInto(tw *tar.Writer, tr *tar.Reader, archive, dest string, own owner, chmod int64, epoch time.Time) error {
	var written []string
	destName := cleanLayerPath(dest)
	for d := destName; d != "." && d != ""; d = path.Dir(d) {
		written = append(written, d)
	}
	for i := len(written) - 1; i >= 0; i-- {
		if err := tw.WriteHeader(&tar.Header{Name: written[i] + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ADD %s: %w", archive, err)
		}
		clean := path.Clean("/" + hdr.Name)
		if strings.Contains(hdr.Name, "..") && clean != path.Clean("/"+strings.TrimPrefix(hdr.Name, "/")) {
			return fmt.Errorf("ADD %s: entry %q climbs out of the destination", archive, hdr.Name)
		}
		name := cleanLayerPath(path.Join(destName, clean))
		if name == "" || name == destName {
			continue
		}
		out := &tar.Header{Name: name, Typeflag: hdr.Typeflag, Mode: hdr.Mode & 0o7777, Uid: hdr.Uid, Gid: hdr.Gid,
			Linkname: hdr.Linkname, Size: hdr.Size, ModTime: epoch}
		switch hdr.Typeflag {
		case tar.TypeDir:
			out.Name += "/"
		case tar.TypeReg, tar.TypeRegA:
			out.Typeflag = tar.TypeReg
		case tar.TypeLink:
			out.Linkname = cleanLayerPath(path.Join(destName, path.Clean("/"+hdr.Linkname)))
		case tar.TypeSymlink:
		default:
			continue
		}
		if own.set {
			out.Uid, out.Gid = own.uid, own.gid
		}
		if chmod >= 0 && out.Typeflag != tar.TypeSymlink {
			out.Mode = chmod
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if out.Typeflag == tar.TypeReg {
			if _, err := copyFile(tw, tr); err != nil {
				return fmt.Errorf("ADD %s: %w", archive, err)
			}
		}
	}
}

// parseChown reads user[:group], numeric or looked up in the stage's
// /etc/passwd and /etc/group.
func (b *builder) parseChown(st *stage, spec string) (owner, error) {
	if spec == "" {
		return owner{}, nil
	}
	user, group, hasGroup := strings.Cut(spec, ":")
	uid, err := b.lookupID(st, "etc/passwd", user)
	if err != nil {
		return owner{}, err
	}
	gid := uid
	if hasGroup {
		if gid, err = b.lookupID(st, "etc/group", group); err != nil {
			return owner{}, err
		}
	} else if n, err := strconv.Atoi(user); err != nil || n < 0 {
		// A user name without a group takes the user's primary group.
		if gid, err = b.primaryGroup(st, user); err != nil {
			return owner{}, err
		}
	}
	return owner{set: true, uid: uid, gid: gid}, nil
}

func (b *builder) lookupID(st *stage, file, nameOrID string) (int, error) {
	if n, err := strconv.Atoi(nameOrID); err == nil && n >= 0 {
		return n, nil
	}
	fields, err := b.readDB(st, file, nameOrID)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(fields[2])
}

func (b *builder) primaryGroup(st *stage, user string) (int, error) {
	fields, err := b.readDB(st, "etc/passwd", user)
	if err != nil {
		return 0, err
	}
	if len(fields) < 4 {
		return 0, fmt.Errorf("malformed /etc/passwd line for %s", user)
	}
	return strconv.Atoi(fields[3])
}

// readDB finds name's line in /etc/passwd or /etc/group of the stage's base.
func (b *builder) readDB(st *stage, file, name string) ([]string, error) {
	src, err := b.viewOf(st.base, fmt.Sprintf("stage-base-%d", st.index))
	if err != nil {
		return nil, err
	}
	node, err := src.resolve(file)
	if err != nil {
		return nil, fmt.Errorf("%s is not a number and the base image has no /%s to look it up; use numeric ids", name, file)
	}
	if err := src.prepare([]*srcNode{node}, 1); err != nil {
		return nil, err
	}
	rc, err := node.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 3 && fields[0] == name {
			return fields, nil
		}
	}
	return nil, fmt.Errorf("no %q in the base image's /%s; use numeric ids or create it in the base", name, file)
}
