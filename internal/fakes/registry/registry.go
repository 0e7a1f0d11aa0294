package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Binary is the registry server started by Start.
const Binary = "docker-registry"

// Registry is a running docker-registry behind a counting proxy.
type Registry struct {
	// Host is the proxy's host:port on 127.0.0.1; clients talk to it.
	Host string
	// Username and Password are the basic-auth credentials the server accepts.
	Username, Password string

	cmd      *exec.Cmd
	proxy    *http.Server
	uploaded atomic.Int64
	requests atomic.Int64
	blobPuts atomic.Int64
	log      bytes.Buffer
	done     chan struct{}
}

// Options configure Start.
type Options struct {
	// Dir holds the storage, config and htpasswd files; required.
	Dir string
	// NoAuth starts the server without authentication.
	NoAuth bool
}

// Start launches docker-registry with a generated config under opts.Dir and
// waits until it answers. Stop it with Close.
func Start(ctx context.Context, opts Options) (*Registry, error) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		return nil, fmt.Errorf("%s not found (install it with `apt-get install -y docker-registry apache2-utils`): %w", Binary, err)
	}
	if opts.Dir == "" {
		return nil, errors.New("registry: Options.Dir is required")
	}
	r := &Registry{done: make(chan struct{})}
	backendPort, err := freePort()
	if err != nil {
		return nil, err
	}
	auth := ""
	if !opts.NoAuth {
		r.Username = "autopilot"
		r.Password, err = randomSecret()
		if err != nil {
			return nil, err
		}
		htpasswd := filepath.Join(opts.Dir, "htpasswd")
		if err := writeHtpasswd(ctx, htpasswd, r.Username, r.Password); err != nil {
			return nil, err
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: autopilot-test\n    path: %s\n", htpasswd)
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: 127.0.0.1:%d
  secret: %s
%s`, filepath.Join(opts.Dir, "storage"), backendPort, "not-a-real-secret", auth)
	configPath := filepath.Join(opts.Dir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("write registry config: %w", err)
	}
	r.cmd = exec.Command(bin, "serve", configPath)
	r.cmd.Stdout = &r.log
	r.cmd.Stderr = &r.log
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", Binary, err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()

	backend := &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", backendPort)}
	if err := r.waitReady(ctx, backend.String()); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.startProxy(backend); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// StartT starts a registry for a test and stops it when the test ends. It
// skips the test when docker-registry is not installed.
func StartT(t testing.TB, opts ...func(*Options)) *Registry {
	t.Helper()
	if _, err := exec.LookPath(Binary); err != nil {
		t.Skipf("%s is not installed (apt-get install -y docker-registry apache2-utils); skipping the real-registry test", Binary)
	}
	o := Options{Dir: t.TempDir()}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// BytesUploaded is the total request body size of blob uploads (PATCH and
// PUT to /v2/<name>/blobs/uploads/) since the start or the last Reset.
func (r *Registry) BytesUploaded() int64 { return r.uploaded.Load() }

// BlobUploads counts finished blob uploads (PUT …/blobs/uploads/…).
func (r *Registry) BlobUploads() int64 { return r.blobPuts.Load() }

// Requests counts every request the proxy forwarded.
func (r *Registry) Requests() int64 { return r.requests.Load() }

// Reset zeroes the counters.
func (r *Registry) Reset() {
	r.uploaded.Store(0)
	r.requests.Store(0)
	r.blobPuts.Store(0)
}

// Log returns what the server printed, for failure messages.
func (r *Registry) Log() string { return r.log.String() }

// Close stops the proxy and the server.
func (r *Registry) Close() {
	if r.proxy != nil {
		_ = r.proxy.Close()
	}
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

func (r *Registry) waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("%s exited early: %s", Binary, r.log.String())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := http.Get(base + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within 20s: %s", Binary, r.log.String())
}

func (r *Registry) startProxy(backend *url.URL) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for registry proxy: %w", err)
	}
	r.Host = ln.Addr().String()
	rp := httputil.NewSingleHostReverseProxy(backend)
	// The registry builds absolute Location headers from the Host header,
	// so keep the client's host: uploads then come back through the proxy.
	director := rp.Director
	rp.Director = func(req *http.Request) {
		host := req.Host
		director(req)
		req.Host = host
	}
	r.proxy = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if isUpload(req) && req.Body != nil {
			req.Body = &countingBody{ReadCloser: req.Body, n: &r.uploaded}
			if req.Method == http.MethodPut {
				r.blobPuts.Add(1)
			}
		}
		rp.ServeHTTP(w, req)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.proxy.Serve(ln) }()
	return nil
}

func isUpload(req *http.Request) bool {
	if req.Method != http.MethodPatch && req.Method != http.MethodPut && req.Method != http.MethodPost {
		return false
	}
	return bytes.Contains([]byte(req.URL.Path), []byte("/blobs/uploads/"))
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// writeHtpasswd hashes the password with bcrypt through `htpasswd -Bin`,
// which reads the password from stdin so it never appears in argv.
func writeHtpasswd(ctx context.Context, path, user, password string) error {
	bin, err := exec.LookPath("htpasswd")
	if err != nil {
		return fmt.Errorf("htpasswd not found (apt-get install -y apache2-utils): %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "-Bin", user)
	cmd.Stdin = bytes.NewBufferString(password + "\n")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("htpasswd: %w: %s", err, errOut.String())
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write htpasswd file: %w", err)
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomSecret() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
