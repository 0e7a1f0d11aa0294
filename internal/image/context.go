package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ctxEntry is one file, folder or symlink of the build context that
// .dockerignore keeps.
type ctxEntry struct {
	rel  string // slash-separated, relative to the context root
	abs  string
	mode fs.FileMode
	size int64
	link string // symlink target
	stat statKey

	hashOnce sync.Once
	hash     string // sha256 of a regular file's content, set by hashOf
	hashErr  error
}

// buildContext is the set of files COPY and ADD may read. Nothing outside
// root is ever opened.
type buildContext struct {
	root    string
	entries map[string]*ctxEntry // by rel; "." is the root
	sorted  []string
	stats   *statCache
}

func loadContext(root, dockerfile string, stats *statCache) (*buildContext, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", root, err)
	}
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w (does the folder exist?)", root, err)
	}
	patterns, err := readIgnore(abs, dockerfile)
	if err != nil {
		return nil, err
	}
	var pm *patternmatcher.PatternMatcher
	if len(patterns) > 0 {
		if pm, err = patternmatcher.New(patterns); err != nil {
			return nil, fmt.Errorf("parse .dockerignore in %s: %w", abs, err)
		}
	}
	c := &buildContext{root: abs, entries: map[string]*ctxEntry{}, stats: stats}
	parentInfo := map[string]patternmatcher.MatchInfo{}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, werr error) error {
		if werr != nil {
			return fmt.Errorf("read build context: %w", werr)
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && pm != nil {
			excluded, info, err := pm.MatchesUsingParentResults(rel, parentInfo[path.Dir(rel)])
			if err != nil {
				return fmt.Errorf(".dockerignore: %w", err)
			}
			if d.IsDir() {
				parentInfo[rel] = info
			}
			if excluded {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("read build context: %w", err)
		}
		e := &ctxEntry{rel: rel, abs: p, mode: info.Mode(), size: info.Size(), stat: statKeyOf(info)}
		if info.Mode()&fs.ModeSymlink != 0 {
			if e.link, err = os.Readlink(p); err != nil {
				return fmt.Errorf("read build context: %w", err)
			}
			e.size = 0
		} else if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // sockets, devices and pipes are not copied, as in Docker
		}
		c.entries[rel] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	for rel := range c.entries {
		c.sorted = append(c.sorted, rel)
	}
	sort.Strings(c.sorted)
	return c, nil
}

// readIgnore reads <Dockerfile>.dockerignore next to the Dockerfile if it
// exists (BuildKit's rule), else .dockerignore at the context root.
func readIgnore(root, dockerfile string) ([]string, error) {
	candidates := []string{filepath.Join(root, ".dockerignore")}
	if dockerfile != "" {
		candidates = append([]string{dockerfile + ".dockerignore"}, candidates...)
	}
	for _, f := range candidates {
		b, err := os.Open(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		defer b.Close()
		patterns, err := ignorefile.ReadAll(b)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		return patterns, nil
	}
	return nil, nil
}

// errOutside is returned for any source that would read outside the context.
var errOutside = errors.New("outside the build context")

// cleanSource turns a COPY/ADD source into a context-relative path. Absolute
// paths and paths climbing above the context are refused.
func cleanSource(src string) (string, error) {
	if path.IsAbs(src) || filepath.IsAbs(src) {
		return "", fmt.Errorf("source %q is an absolute path: %w; name it relative to the context folder", src, errOutside)
	}
	p := path.Clean(src)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("source %q is %w; move the file into the context or widen image.build.context", src, errOutside)
	}
	return p, nil
}

// resolve follows symlinks in rel, scoped to the context root as BuildKit
// does: an absolute target is read relative to the root, and a relative one
// that climbs above the root is refused.
func (c *buildContext) resolve(rel string) (*ctxEntry, error) {
	parts := strings.Split(rel, "/")
	cur := "."
	for hops := 0; len(parts) > 0; {
		part := parts[0]
		parts = parts[1:]
		if part == "." || part == "" {
			continue
		}
		next := path.Join(cur, part)
		e, ok := c.entries[next]
		if !ok {
			return nil, fs.ErrNotExist
		}
		if e.link != "" {
			hops++
			if hops > 40 {
				return nil, fmt.Errorf("%s: too many levels of symbolic links", rel)
			}
			target := e.link
			var joined string
			if path.IsAbs(target) {
				joined = path.Clean(strings.TrimPrefix(target, "/"))
			} else {
				joined = path.Join(cur, target)
			}
			if joined == ".." || strings.HasPrefix(joined, "../") {
				return nil, fmt.Errorf("symlink %s points to %s, %w; copy the file itself into the context", next, e.link, errOutside)
			}
			parts = append(strings.Split(joined, "/"), parts...)
			cur = "."
			continue
		}
		cur = next
	}
	e, ok := c.entries[cur]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return e, nil
}

// below lists the entries under dir (excluded), in path order.
func (c *buildContext) below(dir string) []*ctxEntry {
	prefix := dir + "/"
	if dir == "." {
		prefix = ""
	}
	i := sort.SearchStrings(c.sorted, prefix)
	var out []*ctxEntry
	for ; i < len(c.sorted); i++ {
		rel := c.sorted[i]
		if rel == "." {
			continue
		}
		if !strings.HasPrefix(rel, prefix) {
			break
		}
		out = append(out, c.entries[rel])
	}
	return out
}

// checkLink refuses a symlink that would point above the context root when
// copied; absolute targets point into the image and are kept.
func checkLink(e *ctxEntry) error {
	if e.link == "" || path.IsAbs(e.link) {
		return nil
	}
	joined := path.Join(path.Dir(e.rel), e.link)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return fmt.Errorf("symlink %s points to %s, %w; replace it with the file it points to", e.rel, e.link, errOutside)
	}
	return nil
}

// hashOf returns the content hash of a regular file, read only if its
// size, mtime, inode or mode changed since the stat cache saw it. It is
// called while the layers are made, each layer hashing its own files, so
// the first layers are compressed (and uploaded) before the last files
// are read. Safe for concurrent use; a file is hashed once per build.
func (c *buildContext) hashOf(e *ctxEntry) (string, error) {
	e.hashOnce.Do(func() {
		if h, ok := c.stats.get(e.abs, e.stat); ok {
			e.hash = h
			return
		}
		f, err := os.Open(e.abs)
		if err != nil {
			e.hashErr = fmt.Errorf("read %s from the build context: %w", e.rel, err)
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := copyFile(h, f); err != nil {
			e.hashErr = fmt.Errorf("read %s from the build context: %w", e.rel, err)
			return
		}
		e.hash = hex.EncodeToString(h.Sum(nil))
		c.stats.put(e.abs, e.stat, e.hash)
	})
	return e.hash, e.hashErr
}

// statKey is what must not change for a cached content hash to be trusted.
type statKey struct {
	Size  int64  `json:"s"`
	MTime int64  `json:"m"`
	CTime int64  `json:"c"`
	Ino   uint64 `json:"i"`
	Mode  uint32 `json:"o"`
}

func statKeyOf(info fs.FileInfo) statKey {
	k := statKey{Size: info.Size(), MTime: info.ModTime().UnixNano(), Mode: uint32(info.Mode())}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		k.Ino = st.Ino
		k.CTime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return k
}

// statCache maps a file path and its stat data to its content hash, kept in
// the layer cache folder between builds.
type statCache struct {
	mu      sync.Mutex
	file    string
	entries map[string]statRecord
	dirty   bool
}

type statRecord struct {
	Key  statKey `json:"k"`
	Hash string  `json:"h"`
}

func openStatCache(file string) *statCache {
	s := &statCache{file: file, entries: map[string]statRecord{}}
	if b, err := os.ReadFile(file); err == nil {
		// A damaged cache is only a slower build: start empty.
		_ = json.Unmarshal(b, &s.entries)
	}
	return s
}

func (s *statCache) get(p string, k statKey) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.entries[p]
	if !ok || r.Key != k {
		return "", false
	}
	return r.Hash, true
}

func (s *statCache) put(p string, k statKey, h string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[p] = statRecord{Key: k, Hash: h}
	s.dirty = true
}

func (s *statCache) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty || s.file == "" {
		return nil
	}
	b, err := json.Marshal(s.entries)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.file, b)
}

func writeFileAtomic(file string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("create cache folder: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", file, err)
	}
	return os.Rename(tmp.Name(), file)
}
