package image

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Option configures Build, Push and Write.
type Option func(*options) error

type options struct {
	baseImages     map[string]string
	keychain       authn.Keychain
	epoch          *time.Time
	cacheDir       string
	progress       io.Writer
	progressEvery  time.Duration
	jobs           int
	secretHook     func(string)
	split          bool
	splitThreshold int64
	transport      http.RoundTripper
	runner         Runner
	// layerReady, when set, gets each layer of the final image that was
	// just made (not found in the cache), while the build goes on;
	// layerMissed is told when such a layer starts to be made.
	layerReady  func(v1.Layer)
	layerMissed func()
}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		keychain:       authn.DefaultKeychain,
		progressEvery:  5 * time.Second,
		jobs:           4,
		split:          true,
		splitThreshold: 4 << 20,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("find a layer cache folder (set one with image.WithCacheDir): %w", err)
		}
		o.cacheDir = filepath.Join(dir, "autopilot", "build")
	}
	if o.transport == nil {
		o.transport = sharedTransport
	}
	return o, nil
}

// sharedTransport is one HTTP transport for every registry call, so
// connections are reused across layers, tags and images.
var sharedTransport http.RoundTripper = &loopbackOnlyHTTP{next: remote.DefaultTransport}

// loopbackOnlyHTTP refuses plain HTTP to anything but localhost and
// 127.0.0.1/::1; go-containerregistry would otherwise also use HTTP for
// private (RFC 1918) addresses.
type loopbackOnlyHTTP struct{ next http.RoundTripper }

func (l *loopbackOnlyHTTP) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !isLoopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("refusing plain HTTP to registry %s: only localhost and 127.0.0.1 may be reached without TLS", req.URL.Host)
	}
	return l.next.RoundTrip(req)
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// WithBaseImages substitutes base images: each key is an image reference as
// written in FROM or COPY --from (e.g. "python:3.12-slim"), each value
// "oci:DIR" (an OCI image layout) or "tar:FILE" (a `docker save` tarball).
// Substituted images are never pulled. Default: none, every base is pulled.
func WithBaseImages(m map[string]string) Option {
	return func(o *options) error {
		o.baseImages = map[string]string{}
		for ref, src := range m {
			if !strings.HasPrefix(src, "oci:") && !strings.HasPrefix(src, "tar:") {
				return fmt.Errorf("base image %s: source %q must start with oci: or tar:", ref, src)
			}
			key, err := normalizeRef(ref)
			if err != nil {
				return fmt.Errorf("base image %s: %w", ref, err)
			}
			o.baseImages[key] = src
		}
		return nil
	}
}

// WithKeychain sets the credentials for pulling bases and pushing to
// registries other than ECR (default authn.DefaultKeychain: Docker config,
// credential helpers, anonymous).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return errors.New("keychain must not be nil")
		}
		o.keychain = k
		return nil
	}
}

// WithSourceDateEpoch sets the timestamp of every file, history entry and
// the image's creation time. Default: $SOURCE_DATE_EPOCH, else the time of
// the context's last git commit, else the Unix epoch.
func WithSourceDateEpoch(t time.Time) Option {
	return func(o *options) error {
		t = t.UTC().Truncate(time.Second)
		o.epoch = &t
		return nil
	}
}

// WithCacheDir sets the layer cache folder, which an Actions cache step can
// persist (default: <user cache dir>/autopilot/build).
func WithCacheDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return errors.New("cache dir must not be empty")
		}
		o.cacheDir = dir
		return nil
	}
}

// WithProgress writes a line about each push every interval (default: no
// progress). An interval ≤ 0 keeps the default of 5s.
func WithProgress(w io.Writer, interval time.Duration) Option {
	return func(o *options) error {
		o.progress = w
		if interval > 0 {
			o.progressEvery = interval
		}
		return nil
	}
}

// WithJobs bounds parallel layer compression and uploads (default 4).
func WithJobs(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("jobs must be positive, got %d", n)
		}
		o.jobs = n
		return nil
	}
}

// WithSecretHook registers every credential fetched at run time (an ECR
// token's password) with the caller's log masking, before it is used.
func WithSecretHook(hook func(string)) Option {
	return func(o *options) error {
		o.secretHook = hook
		return nil
	}
}

// WithSplitLayers controls splitting a large COPY/ADD into content-stable
// layers, so that changing one file re-sends about that file (default on,
// for copies of at least 4 MiB). threshold ≤ 0 keeps the default.
func WithSplitLayers(enabled bool, threshold int64) Option {
	return func(o *options) error {
		o.split = enabled
		if threshold > 0 {
			o.splitThreshold = threshold
		}
		return nil
	}
}

// WithTransport sets the HTTP transport for registries (default: one shared
// transport that refuses plain HTTP except to loopback addresses).
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error {
		if t == nil {
			return errors.New("transport must not be nil")
		}
		o.transport = t
		return nil
	}
}

// WithRunner sets the executor for RUN instructions. Without one, a
// Dockerfile with RUN fails with a message naming its line.
func WithRunner(r Runner) Option {
	return func(o *options) error {
		o.runner = r
		return nil
	}
}

// withLayerReady calls missed when a layer of the final image is not in the
// cache and starts to be made, and hands it to ready once made, so
// BuildAndPush can log in and upload while the build goes on. Neither may
// block.
func withLayerReady(missed func(), ready func(v1.Layer)) Option {
	return func(o *options) error {
		o.layerMissed, o.layerReady = missed, ready
		return nil
	}
}

// epochFrom resolves the default SOURCE_DATE_EPOCH.
func (o *options) epochFor(contextDir string) (time.Time, error) {
	if o.epoch != nil {
		return *o.epoch, nil
	}
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds: %w", v, err)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if t, ok := gitCommitTime(contextDir); ok {
		return t, nil
	}
	return time.Unix(0, 0).UTC(), nil
}
