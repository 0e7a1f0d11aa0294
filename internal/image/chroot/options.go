package chroot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Option configures New.
type Option func(*options) error

type options struct {
	cacheDir   string
	scratchDir string
	log        io.Writer
	cacheRepo  *remoteCache
	// cacheReadOnly: cacheRepo is only read.
	cacheReadOnly bool
	secrets       map[string]secretSource
	keepRoots     int
	// allowUnisolated runs steps even where they cannot be isolated.
	allowUnisolated bool
	outputGuard     func() (start, stop string, err error)
}

// secretSource is where a build secret's value comes from; the value
// itself is read only while its RUN step runs.
type secretSource struct {
	file, env string
}

// WithCacheDir sets the folder of cached RUN layers and of the persistent
// --mount=type=cache folders (default: <user cache dir>/autopilot/build,
// the image builder's default, so one Actions cache step keeps both).
func WithCacheDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return errors.New("cache dir must not be empty")
		}
		o.cacheDir = dir
		return nil
	}
}

// WithScratchDir sets the folder in which stage filesystems are unpacked
// (default: a fresh folder inside the cache dir, removed by Close). It must
// be on the cache dir's filesystem so cache mounts can be moved, not copied.
func WithScratchDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return errors.New("scratch dir must not be empty")
		}
		o.scratchDir = dir
		return nil
	}
}

// WithLog streams each step's stdout and stderr, prefixed with its
// Dockerfile line, and one line per cached step (default: discarded).
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			w = io.Discard
		}
		o.log = w
		return nil
	}
}

// WithCacheRepo looks RUN layers up in, and stores them to, repo (for
// instance an ECR repository "<account>.dkr.ecr.<region>.amazonaws.com/app/cache"),
// one image per step tagged with its cache key (default: local cache only).
// opts carry the credentials and transport.
func WithCacheRepo(repo string, opts ...remote.Option) Option {
	return func(o *options) error {
		r, err := name.NewRepository(repo)
		if err != nil {
			return fmt.Errorf("cache repository %q: %w", repo, err)
		}
		o.cacheRepo = &remoteCache{repo: r, opts: opts}
		return nil
	}
}

// WithCacheRepoReadOnly makes WithCacheRepo's repository read-only: layers
// are looked up there, never stored. A build of untrusted Dockerfiles (a
// pull request's) uses it, as the cache key leaves out what a cache mount
// holds: a step the same as a trusted build's can make a different layer.
func WithCacheRepoReadOnly() Option {
	return func(o *options) error {
		o.cacheReadOnly = true
		return nil
	}
}

// WithSecretFile makes the file's content available to
// RUN --mount=type=secret,id=<id> (default: no secrets).
func WithSecretFile(id, file string) Option {
	return func(o *options) error {
		if id == "" || file == "" {
			return errors.New("secret needs an id and a file")
		}
		o.secrets[id] = secretSource{file: file}
		return nil
	}
}

// WithSecretEnv makes the environment variable's value available to
// RUN --mount=type=secret,id=<id> (default: no secrets).
func WithSecretEnv(id, envVar string) Option {
	return func(o *options) error {
		if id == "" || envVar == "" {
			return errors.New("secret needs an id and an environment variable")
		}
		o.secrets[id] = secretSource{env: envVar}
		return nil
	}
}

// WithKeepRoots sets how many unpacked stage filesystems are kept between
// steps so that a following RUN only applies the new layers (default 2).
func WithKeepRoots(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("keep roots must not be negative, got %d", n)
		}
		o.keepRoots = n
		return nil
	}
}

// WithUnisolatedRun runs RUN steps even where they cannot be fully isolated
// from autopilot and the host (Isolation.Restricted is false), with the
// restrictions that could be applied; without it they fail with
// ErrNotIsolated. Use it only for Dockerfiles as trusted as the workflow.
func WithUnisolatedRun() Option {
	return func(o *options) error {
		o.allowUnisolated = true
		return nil
	}
}

// WithOutputGuard writes start before each step's output and stop after it
// (default: nothing). In GitHub Actions these are ::stop-commands::<token>
// and ::<token>:: with a fresh random token, which the step cannot know,
// so nothing it prints is read as a workflow command.
func WithOutputGuard(guard func() (start, stop string, err error)) Option {
	return func(o *options) error {
		o.outputGuard = guard
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{log: io.Discard, secrets: map[string]secretSource{}, keepRoots: 2}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("find a cache folder (set one with chroot.WithCacheDir): %w", err)
		}
		o.cacheDir = filepath.Join(dir, "autopilot", "build")
	}
	return o, nil
}
