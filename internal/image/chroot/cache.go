package chroot

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fileLayer is a gzip layer in a file of the local cache, with its digests
// known, so it is never compressed or hashed again.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
	mediaType      types.MediaType
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("RUN layer %s is gone from the cache folder (cleaned during the build?): %w", l.digest, err)
	}
	return f, nil
}
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("RUN layer %s: %w", l.digest, err)
	}
	return &gzipFile{Reader: gz, gz: gz, f: f}, nil
}

type gzipFile struct {
	io.Reader
	gz *gzip.Reader
	f  io.Closer
}

func (g *gzipFile) Close() error { g.gz.Close(); return g.f.Close() }

// record is a cache entry: keys/<key>.json names the layer blob.
type record struct {
	Digest string `json:"digest"`
	DiffID string `json:"diffID"`
	Size   int64  `json:"size"`
}

// localCache keeps RUN layers in a folder: blobs/sha256/<hex> and
// runs/<key>.json. The blob layout is the image builder's, so both can
// share one --cache-dir.
type localCache struct{ dir string }

func (c *localCache) blobPath(h v1.Hash) string {
	return filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex)
}

func (c *localCache) lookup(key string, mt types.MediaType) (*fileLayer, bool) {
	b, err := os.ReadFile(filepath.Join(c.dir, "runs", key+".json"))
	if err != nil {
		return nil, false
	}
	var r record
	if json.Unmarshal(b, &r) != nil {
		return nil, false
	}
	digest, err1 := v1.NewHash(r.Digest)
	diffID, err2 := v1.NewHash(r.DiffID)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	l := &fileLayer{path: c.blobPath(digest), digest: digest, diffID: diffID, size: r.Size, mediaType: mt}
	if st, err := os.Stat(l.path); err != nil || st.Size() != r.Size {
		return nil, false
	}
	now := time.Now() // marks the entry used, for pruning
	_ = os.Chtimes(filepath.Join(c.dir, "runs", key+".json"), now, now)
	_ = os.Chtimes(l.path, now, now)
	return l, true
}

// write makes a layer once: tar → sha256 (diffID) → gzip → sha256 (digest)
// → a file in the cache, and records it under key.
func (c *localCache) write(key string, mt types.MediaType, fill func(tw *tar.Writer) error) (*fileLayer, error) {
	blobDir := filepath.Join(c.dir, "blobs", "sha256")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return nil, fmt.Errorf("create cache folder %s: %w", c.dir, err)
	}
	tmp, err := os.CreateTemp(blobDir, ".tmp-run-*")
	if err != nil {
		return nil, fmt.Errorf("create layer file in %s: %w", c.dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	digest, size := sha256.New(), &counter{}
	gz, err := gzip.NewWriterLevel(io.MultiWriter(tmp, digest, size), gzip.BestSpeed)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	diffID := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(gz, diffID))
	err = fill(tw)
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	l := &fileLayer{digest: sum(digest), diffID: sum(diffID), size: size.n, mediaType: mt}
	l.path = c.blobPath(l.digest)
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		return nil, fmt.Errorf("store layer in %s: %w", c.dir, err)
	}
	return l, c.remember(key, l)
}

func (c *localCache) remember(key string, l *fileLayer) error {
	rec, _ := json.Marshal(record{Digest: l.digest.String(), DiffID: l.diffID.String(), Size: l.size})
	dir := filepath.Join(c.dir, "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create cache folder %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write cache entry: %w", err)
	}
	_, err = tmp.Write(rec)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, key+".json"))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write cache entry: %w", err)
	}
	return nil
}

// download copies a layer found in the cache repository into the local
// cache, checking its digest, so later steps read it from disk.
func (c *localCache) download(key string, remoteLayer v1.Layer, mt types.MediaType) (*fileLayer, error) {
	digest, err := remoteLayer.Digest()
	if err != nil {
		return nil, err
	}
	diffID, err := remoteLayer.DiffID()
	if err != nil {
		return nil, err
	}
	rc, err := remoteLayer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	blobDir := filepath.Join(c.dir, "blobs", "sha256")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return nil, fmt.Errorf("create cache folder %s: %w", c.dir, err)
	}
	tmp, err := os.CreateTemp(blobDir, ".tmp-pull-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("download cached layer %s: %w", digest, err)
	}
	if got := sum(h); got != digest {
		return nil, fmt.Errorf("cached layer %s arrived with digest %s; the cache repository is corrupt, delete tag %s", digest, got, key)
	}
	l := &fileLayer{path: c.blobPath(digest), digest: digest, diffID: diffID, size: n, mediaType: mt}
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		return nil, err
	}
	return l, c.remember(key, l)
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// remoteCache keeps each RUN layer as a one-layer image tagged with the
// cache key in a repository, as kaniko's --cache-repo does.
type remoteCache struct {
	repo name.Repository
	opts []remote.Option
}

func (c *remoteCache) ref(key string) name.Tag { return c.repo.Tag(key) }

// lookup returns the cached layer, or ok=false when the tag is absent.
func (c *remoteCache) lookup(ctx context.Context, key string) (v1.Layer, bool, error) {
	img, err := remote.Image(c.ref(key), append(c.opts, remote.WithContext(ctx))...)
	if err != nil {
		if isNotFound(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("look up %s: %w", c.ref(key), err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		return nil, false, nil // not one of ours; it is overwritten after the step
	}
	return layers[0], true, nil
}

func (c *remoteCache) store(ctx context.Context, key string, l v1.Layer) error {
	mt, err := l.MediaType()
	if err != nil {
		return err
	}
	base := empty.Image
	if mt == types.OCILayer {
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: l})
	if err != nil {
		return err
	}
	if err := remote.Write(c.ref(key), img, append(c.opts, remote.WithContext(ctx))...); err != nil {
		return fmt.Errorf("store RUN layer in cache repository %s: %w", c.repo, err)
	}
	return nil
}
