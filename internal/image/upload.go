package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// blobUploader sends the layers Build made (and the config) with two
// requests each: POST to open an upload, then PUT with the whole blob, the
// OCI distribution spec's "POST then PUT" monolithic upload that
// distribution, ECR and GHCR accept. go-containerregistry sends four
// (HEAD, POST, PATCH, PUT), and against a local registry each request
// costs about as much as the bytes of a small layer. The existence HEAD is
// skipped when the repository had no tags as the push began: such a
// repository holds no image whose layers could be reused. Each digest is
// uploaded once per session, however many callers ask.
type blobUploader struct {
	repo     name.Repository
	auth     func() (authn.Authenticator, error)
	rt       http.RoundTripper
	backoff  time.Duration // first wait before a retry; doubled each time
	attempts int
	progress *byteProgress

	initOnce sync.Once
	initErr  error
	client   *http.Client
	fresh    bool

	mu    sync.Mutex
	calls map[v1.Hash]*uploadCall
}

type uploadCall struct {
	done chan struct{}
	err  error
}

// blob is something to upload: a digest, a size and a way to read it.
type blob struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
}

// byteProgress counts the bytes of blobUploader's uploads for the progress lines.
type byteProgress struct {
	total, complete atomic.Int64
}

func newBlobUploader(repo name.Repository, auth func() (authn.Authenticator, error), rt http.RoundTripper, progress *byteProgress) *blobUploader {
	return &blobUploader{repo: repo, auth: auth, rt: rt, backoff: 500 * time.Millisecond, attempts: 5, progress: progress, calls: map[v1.Hash]*uploadCall{}}
}

// init authenticates once for push and learns whether the repository is
// new; a failed check only means existence HEADs are sent.
func (u *blobUploader) init(ctx context.Context) error {
	u.initOnce.Do(func() {
		auth, err := u.auth()
		if err != nil {
			u.initErr = fmt.Errorf("credentials for %s: %w", u.repo.Registry, err)
			return
		}
		rt, err := transport.NewWithContext(ctx, u.repo.Registry, auth, u.rt, []string{u.repo.Scope(transport.PushScope)})
		if err != nil {
			u.initErr = err
			return
		}
		u.client = &http.Client{Transport: rt}
		u.fresh = u.hasNoTags(ctx)
	})
	return u.initErr
}

func (u *blobUploader) hasNoTags(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url("tags/list", url.Values{"n": {"1"}}), nil)
	if err != nil {
		return false
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return true // NAME_UNKNOWN: the repository does not exist yet
	}
	if resp.StatusCode != http.StatusOK {
		return false
	}
	var list struct {
		Tags []string `json:"tags"`
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list) == nil && len(list.Tags) == 0
}

func (u *blobUploader) url(p string, q url.Values) string {
	v := url.URL{Scheme: u.repo.Scheme(), Host: u.repo.RegistryStr(), Path: "/v2/" + u.repo.RepositoryStr() + "/" + p, RawQuery: q.Encode()}
	return v.String()
}

// markPresent records that the repository holds d (a manifest in it lists
// d), so it is neither checked nor sent.
func (u *blobUploader) markPresent(d v1.Hash) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.calls[d]; !ok {
		done := make(chan struct{})
		close(done)
		u.calls[d] = &uploadCall{done: done}
	}
}

// present reports whether d is known to be in the repository.
func (u *blobUploader) present(d v1.Hash) bool {
	u.mu.Lock()
	c := u.calls[d]
	u.mu.Unlock()
	if c == nil {
		return false
	}
	select {
	case <-c.done:
		return c.err == nil
	default:
		return false
	}
}

// upload sends b unless this session already did. A failed upload may be
// tried again by a later call.
func (u *blobUploader) upload(ctx context.Context, b blob) error {
	for {
		u.mu.Lock()
		c := u.calls[b.digest]
		if c == nil {
			c = &uploadCall{done: make(chan struct{})}
			u.calls[b.digest] = c
			u.mu.Unlock()
			c.err = u.send(ctx, b)
			if c.err != nil {
				u.mu.Lock()
				delete(u.calls, b.digest)
				u.mu.Unlock()
			}
			close(c.done)
			return c.err
		}
		u.mu.Unlock()
		select {
		case <-c.done:
			if c.err == nil {
				return nil
			}
			// That attempt failed (perhaps cancelled with an early
			// upload): make our own.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// send uploads b, retrying with backoff on 408, 429, 5xx and broken
// connections.
func (u *blobUploader) send(ctx context.Context, b blob) error {
	if err := u.init(ctx); err != nil {
		return err
	}
	if u.progress != nil {
		u.progress.total.Add(b.size)
	}
	wait := u.backoff
	var err error
	for attempt := 1; ; attempt++ {
		var sent atomic.Int64
		err = u.sendOnce(ctx, b, &sent)
		if err == nil {
			return nil
		}
		u.count(-sent.Load(), &sent)
		if attempt >= u.attempts || !retryable(err) {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait *= 2
	}
	return fmt.Errorf("upload blob %s: %w", b.digest, err)
}

// sendOnce makes one attempt; sent counts the bytes it has reported to
// the progress lines, taken back when the attempt fails.
func (u *blobUploader) sendOnce(ctx context.Context, b blob, sent *atomic.Int64) error {
	if !u.fresh {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.url("blobs/"+b.digest.String(), nil), nil)
		if err != nil {
			return err
		}
		resp, err := u.client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if err := transport.CheckError(resp, http.StatusOK, http.StatusNotFound); err != nil {
			return err
		}
		if resp.StatusCode == http.StatusOK {
			u.count(b.size, sent)
			return nil
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.url("blobs/uploads/", nil), nil)
	if err != nil {
		return err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		return err
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("the registry opened an upload without a Location: %w", err)
	}
	q := loc.Query()
	q.Set("digest", b.digest.String())
	loc.RawQuery = q.Encode()

	body := func() (io.ReadCloser, error) {
		rc, err := b.open()
		if err != nil {
			return nil, err
		}
		u.count(-sent.Load(), sent) // sent again from the start
		return &countingReader{ReadCloser: rc, u: u, sent: sent}, nil
	}
	rc, err := body()
	if err != nil {
		return err
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), rc)
	if err != nil {
		rc.Close()
		return err
	}
	req.ContentLength = b.size
	req.GetBody = body // a 401 with a fresh token sends the body again
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = u.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return transport.CheckError(resp, http.StatusCreated)
}

func (u *blobUploader) count(n int64, sent *atomic.Int64) {
	sent.Add(n)
	if u.progress != nil {
		u.progress.complete.Add(n)
	}
}

type countingReader struct {
	io.ReadCloser
	u    *blobUploader
	sent *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.u.count(int64(n), c.sent)
	return n, err
}

// retryable tells registry hiccups (408, 429, 5xx, a dropped connection)
// from refusals.
func retryable(err error) bool {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var nerr net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, net.ErrClosed) || (errors.As(err, &nerr) && nerr.Timeout())
}
