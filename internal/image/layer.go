package image

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// cacheVersion changes whenever the bytes a layer spec turns into change,
// so older cache entries are never reused.
const cacheVersion = "autopilot-layer-v1"

// tarEntry is one entry of a layer, with everything that decides its bytes.
type tarEntry struct {
	name     string // relative to /, clean, no trailing slash
	typ      byte   // tar.TypeReg, TypeDir or TypeSymlink
	mode     int64  // permission and special bits
	uid, gid int
	link     string
	size     int64
	// content identifies a regular file's bytes for the cache key (a
	// sha256, or a source layer's diffID plus path).
	content string
	hash    func() (string, error) // sets content when empty (build-context files)
	open    func() (io.ReadCloser, error)
}

// layerSpec is a layer to make: its entries and the history line.
type layerSpec struct {
	entries   []tarEntry
	createdBy string
	// extraKey is mixed into the cache key for layers whose entries are
	// produced while writing (ADD of an archive).
	extraKey string
	// write, when set, writes the layer instead of entries.
	write func(tw *tar.Writer, epoch time.Time) error
}

// hashContents fills in the content hash of entries that compute theirs,
// before key.
func (s *layerSpec) hashContents() error {
	for i := range s.entries {
		if e := &s.entries[i]; e.content == "" && e.hash != nil {
			h, err := e.hash()
			if err != nil {
				return err
			}
			e.content = h
		}
	}
	return nil
}

func (s *layerSpec) key(epoch time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%s\n", cacheVersion, epoch.Unix(), s.extraKey)
	for _, e := range s.entries {
		fmt.Fprintf(h, "%q %c %o %d %d %q %d %s\n", e.name, e.typ, e.mode, e.uid, e.gid, e.link, e.size, e.content)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sortEntries orders entries by name and drops duplicates, the later one
// winning, so that the tar is the same on every machine.
func sortEntries(entries []tarEntry) []tarEntry {
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	out := entries[:0]
	for i, e := range entries {
		if i+1 < len(entries) && entries[i+1].name == e.name {
			continue
		}
		out = append(out, e)
	}
	return out
}

func writeEntries(tw *tar.Writer, entries []tarEntry, epoch time.Time) error {
	for _, e := range entries {
		hdr := &tar.Header{
			Name:     e.name,
			Typeflag: e.typ,
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.gid,
			Linkname: e.link,
			ModTime:  epoch,
		}
		if e.typ == tar.TypeDir {
			hdr.Name += "/"
		}
		if e.typ == tar.TypeReg {
			hdr.Size = e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write %s: %w", e.name, err)
		}
		if e.typ != tar.TypeReg {
			continue
		}
		rc, err := e.open()
		if err != nil {
			return fmt.Errorf("read %s: %w", e.name, err)
		}
		n, err := copyFile(tw, io.LimitReader(rc, e.size))
		rc.Close()
		if err != nil {
			return fmt.Errorf("copy %s: %w", e.name, err)
		}
		if n != e.size {
			return fmt.Errorf("%s changed size while being read (%d bytes, expected %d); build again", e.name, n, e.size)
		}
	}
	return nil
}

// LayerCache is the folder compressed layers are kept in between builds
// (--cache-dir, which an Actions cache step can persist), shared by the
// builder and the RUN executor: blobs/sha256/<hex>, and records naming which
// blob a key made, in a folder per user ("keys" for COPY and ADD layers,
// "runs" for RUN layers).
type LayerCache struct {
	dir, records string
}

// NewLayerCache opens the cache in dir, with its records in dir/records.
func NewLayerCache(dir, records string) *LayerCache {
	return &LayerCache{dir: dir, records: records}
}

type cacheRecord struct {
	Digest string `json:"digest"`
	DiffID string `json:"diffID"`
	Size   int64  `json:"size"`
}

func (c *LayerCache) recordPath(key string) string {
	return filepath.Join(c.dir, c.records, key+".json")
}

func (c *LayerCache) blobPath(h v1.Hash) string {
	return filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex)
}

// Lookup returns the layer key made, if its blob is still there.
func (c *LayerCache) Lookup(key string, mt types.MediaType) (v1.Layer, bool) {
	b, err := os.ReadFile(c.recordPath(key))
	if err != nil {
		return nil, false
	}
	var r cacheRecord
	if json.Unmarshal(b, &r) != nil {
		return nil, false
	}
	digest, err1 := v1.NewHash(r.Digest)
	diffID, err2 := v1.NewHash(r.DiffID)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	l := &blobLayer{path: c.blobPath(digest), digest: digest, diffID: diffID, size: r.Size, mediaType: mt}
	if st, err := os.Stat(l.path); err != nil || st.Size() != r.Size {
		return nil, false
	}
	// Mark both as used, for PruneCache.
	now := time.Now()
	_ = os.Chtimes(c.recordPath(key), now, now)
	_ = os.Chtimes(l.path, now, now)
	return l, true
}

// Make writes a layer once — write's tar → sha256 (diffID) → gzip → sha256
// (digest) → a file in the cache — and records it under key; pushes and
// outputs then read that file, never compressing again.
func (c *LayerCache) Make(key string, mt types.MediaType, write func(*tar.Writer) error) (v1.Layer, error) {
	blobDir := filepath.Join(c.dir, "blobs", "sha256")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return nil, fmt.Errorf("create layer cache %s: %w", c.dir, err)
	}
	tmp, err := os.CreateTemp(blobDir, ".tmp-layer-*")
	if err != nil {
		return nil, fmt.Errorf("create layer file in %s: %w", c.dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	digestHash := sha256.New()
	counter := &countWriter{}
	// gzip writes a few hundred bytes at a time: buffer them, or writing
	// the file costs more system calls than compressing costs work.
	out := bufio.NewWriterSize(io.MultiWriter(tmp, digestHash, counter), 256<<10)
	gz, err := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	diffHash := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(gz, diffHash))
	err = write(tw)
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err == nil {
		err = out.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	digest := hashOf(digestHash)
	l := &blobLayer{path: c.blobPath(digest), digest: digest, diffID: hashOf(diffHash), size: counter.n, mediaType: mt}
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		return nil, fmt.Errorf("store layer in %s: %w", c.dir, err)
	}
	return l, c.record(key, l)
}

func (c *LayerCache) record(key string, l *blobLayer) error {
	rec, _ := json.Marshal(cacheRecord{Digest: l.digest.String(), DiffID: l.diffID.String(), Size: l.size})
	return writeFileAtomic(c.recordPath(key), rec)
}

// Import copies a layer (from a cache repository) into the cache under
// key, checking its digest, so later builds read it from disk.
func (c *LayerCache) Import(key string, remote v1.Layer, mt types.MediaType) (v1.Layer, error) {
	digest, err := remote.Digest()
	if err != nil {
		return nil, err
	}
	diffID, err := remote.DiffID()
	if err != nil {
		return nil, err
	}
	rc, err := remote.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	blobDir := filepath.Join(c.dir, "blobs", "sha256")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return nil, fmt.Errorf("create layer cache %s: %w", c.dir, err)
	}
	tmp, err := os.CreateTemp(blobDir, ".tmp-pull-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("download cached layer %s: %w", digest, err)
	}
	if got := hashOf(h); got != digest {
		return nil, fmt.Errorf("cached layer %s arrived with digest %s; the cache is corrupt, delete its entry %s", digest, got, key)
	}
	l := &blobLayer{path: c.blobPath(digest), digest: digest, diffID: diffID, size: n, mediaType: mt}
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		return nil, fmt.Errorf("store layer in %s: %w", c.dir, err)
	}
	return l, c.record(key, l)
}

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// blobLayer is a gzip layer stored in a file whose digests are known, so
// nothing is hashed or compressed again when it is pushed or written.
type blobLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
	mediaType      types.MediaType
}

var _ v1.Layer = (*blobLayer)(nil)

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *blobLayer) Size() (int64, error)                { return l.size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("layer %s is gone from the cache folder (was it cleaned during the build?): %w", l.digest, err)
	}
	return f, err
}
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("layer %s: %w", l.digest, err)
	}
	return &readCloser{Reader: gz, close: func() error { gz.Close(); return f.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

// layerMediaType matches the layers to the base manifest's schema.
func layerMediaType(manifest types.MediaType) types.MediaType {
	if manifest == types.OCIManifestSchema1 {
		return types.OCILayer
	}
	return types.DockerLayer
}

// PruneCache removes layers and keys of the cache folder not used for
// longer than unused, so a cache an Actions step persists stays small.
// It returns the bytes freed.
func PruneCache(dir string, unused time.Duration) (int64, error) {
	cutoff := time.Now().Add(-unused)
	var freed int64
	for _, sub := range []string{"keys", "runs", filepath.Join("blobs", "sha256")} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return freed, fmt.Errorf("prune layer cache %s: %w", dir, err)
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || info.IsDir() || !info.ModTime().Before(cutoff) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, sub, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return freed, fmt.Errorf("prune layer cache %s: %w", dir, err)
			}
			freed += info.Size()
		}
	}
	return freed, nil
}
