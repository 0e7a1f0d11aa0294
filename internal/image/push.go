package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Destination is where Push sends an image.
type Destination struct {
	// Repository is REGISTRY/NAME, e.g.
	// 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/api or ghcr.io/org/api.
	Repository string
	// Auth is used when set (ECR tokens); otherwise the keychain.
	Auth authn.Authenticator
	// ImmutableTags makes Push refuse to move an existing tag.
	ImmutableTags bool
}

// Pushed describes an image in a registry.
type Pushed struct {
	Repository string
	Tags       []string
	Digest     v1.Hash
	// Skipped is true when every tag already named this digest, so only
	// manifest checks went out.
	Skipped bool
}

// URI is the image reference with digest that render/plan take.
func (p *Pushed) URI() string { return p.Repository + "@" + p.Digest.String() }

// ErrTagExists is returned when a tag of an immutable repository already
// names another image (ECR's ImageTagAlreadyExistsException).
var ErrTagExists = errors.New("tag already exists in an immutable repository")

// Push uploads img under each tag: blobs the registry has are skipped
// after a HEAD (not sent to a repository without tags, which has none to
// reuse), the others are uploaded in parallel, each in one PUT, with
// retries on 408, 429 and 5xx. When every tag already names the image, only
// the manifest checks go out. The pushed digest is read back and compared.
// Without tags the image is pushed by digest.
func Push(ctx context.Context, img v1.Image, dst Destination, tags []string, opts ...Option) (*Pushed, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	s, err := newPushSession(ctx, dst, o)
	if err != nil {
		return nil, err
	}
	defer s.close()
	return s.finish(img, tags)
}

// BuildAndPush builds spec and pushes the image to dst under tags, as Build
// then Push would, but uploads each layer as soon as it is compressed while
// the others are still being made: a cold build and push then takes about
// as long as the slower of the two instead of their sum. Layers found in
// the layer cache are left to the final push, so with nothing changed only
// manifest checks go out.
func BuildAndPush(ctx context.Context, spec BuildSpec, dst Destination, tags []string, opts ...Option) (v1.Image, *Pushed, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, nil, err
	}
	s, err := newPushSession(ctx, dst, o)
	if err != nil {
		return nil, nil, err
	}
	uploadCtx, cancel := context.WithCancel(ctx)
	early := s.uploadEarly(uploadCtx)
	defer func() {
		// Uploads report progress: all must end before the session closes.
		cancel()
		early.wait()
		s.close()
	}()
	img, err := Build(ctx, spec, append(opts, withLayerReady(early.start, early.add))...)
	if err != nil {
		return nil, nil, err
	}
	// An early upload that failed is retried by the final push, which
	// reports the error; one still running is waited for there, as
	// uploads are shared by digest.
	pushed, err := s.finish(img, tags)
	if err != nil {
		return nil, nil, err
	}
	return img, pushed, nil
}

// pushSession is one push to one repository. Its blobUploader remembers
// what it sent, so a layer uploaded early is not checked or uploaded again
// by the final push.
type pushSession struct {
	ctx     context.Context
	o       *options
	dst     Destination
	repo    name.Repository
	ropts   []remote.Option // for HEADs
	pusher  *remote.Pusher
	blobs   *blobUploader  // the layers Build made, and the config
	updates chan v1.Update // go-containerregistry's uploads; nil without progress
	bytes   byteProgress   // blobs' uploads
	layers  atomic.Int64   // of the image, for progress lines
	stop    func()         // stops the progress lines
}

func newPushSession(ctx context.Context, dst Destination, o *options) (*pushSession, error) {
	repo, err := name.NewRepository(dst.Repository)
	if err != nil {
		return nil, fmt.Errorf("push: repository %q: %w (expected REGISTRY/NAME)", dst.Repository, err)
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(o.transport), remote.WithJobs(o.jobs),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
		remote.WithRetryBackoff(remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 5})}
	if dst.Auth != nil {
		ropts = append(ropts, remote.WithAuth(dst.Auth))
	} else {
		ropts = append(ropts, remote.WithAuthFromKeychain(o.keychain))
	}
	// One puller for the tag checks and read-backs: one login between them.
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, fmt.Errorf("push to %s: %w", repo, err)
	}
	ropts = append(ropts, remote.Reuse(puller))
	s := &pushSession{ctx: ctx, o: o, dst: dst, repo: repo, ropts: ropts}
	auth := func() (authn.Authenticator, error) {
		if dst.Auth != nil {
			return dst.Auth, nil
		}
		return o.keychain.Resolve(repo)
	}
	var counter *byteProgress
	if o.progress != nil {
		counter = &s.bytes
	}
	s.blobs = newBlobUploader(repo, auth, o.transport, counter)
	popts := ropts
	if o.progress != nil {
		s.updates = make(chan v1.Update, 16)
		popts = append(append([]remote.Option(nil), ropts...), remote.WithProgress(s.updates))
		// Started now: early uploads report while the build goes on.
		s.stop = reportProgress(o.progress, o.progressEvery, repo.String(), &s.layers, &s.bytes, s.updates)
	}
	if s.pusher, err = remote.NewPusher(popts...); err != nil {
		s.close()
		return nil, fmt.Errorf("push to %s: %w", repo, err)
	}
	return s, nil
}

// close ends the progress lines; nothing may upload after it.
func (s *pushSession) close() {
	if s.stop != nil {
		close(s.updates)
		s.stop()
		s.stop = nil
	}
}

// finish pushes img under tags once it is built.
func (s *pushSession) finish(img v1.Image, tags []string) (*Pushed, error) {
	if layers, err := img.Layers(); err == nil {
		s.layers.Store(int64(len(layers)))
	}
	return s.push(img, tags)
}

func (s *pushSession) push(img v1.Image, tags []string) (*Pushed, error) {
	repo, ropts := s.repo, s.ropts
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("push to %s: compute digest: %w", repo, err)
	}
	tags = uniqueSorted(tags)
	refs := make([]name.Reference, 0, len(tags)+1)
	for _, t := range tags {
		r, err := name.NewTag(repo.String()+":"+t, name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("push to %s: tag %q: %w", repo, t, err)
		}
		refs = append(refs, r)
	}
	if len(refs) == 0 {
		refs = append(refs, repo.Digest(digest.String()))
	}
	out := &Pushed{Repository: repo.String(), Tags: tags, Digest: digest}

	// Where each tag points now: the no-change case ends here.
	var todo []name.Reference
	for _, r := range refs {
		desc, err := remote.Head(r, ropts...)
		var terr *transport.Error
		switch {
		case err == nil && desc.Digest == digest:
			continue
		case err == nil && s.dst.ImmutableTags:
			return nil, fmt.Errorf("push %s: %w: %s names %s; push under a new tag (such as the commit's short SHA) or make the repository's tags mutable", r, ErrTagExists, r, desc.Digest)
		case err == nil:
			// The tag names the previous build: the blobs its manifest
			// lists are in the repository, so they need no HEAD.
			s.learnBlobs(r)
		case errors.As(err, &terr) && (terr.StatusCode == http.StatusNotFound || terr.StatusCode == http.StatusForbidden):
		default:
			return nil, fmt.Errorf("push to %s: check %s: %w", repo, r, explain(err))
		}
		todo = append(todo, r)
	}
	if len(todo) == 0 {
		out.Skipped = true
		return out, nil
	}
	err = s.uploadBlobs(img)
	for _, r := range todo {
		if err != nil {
			break
		}
		err = s.pusher.Put(s.ctx, r, img)
	}
	if err != nil {
		if isTagInvalid(err) {
			return nil, fmt.Errorf("push to %s: %w (ImageTagAlreadyExistsException): push under a new tag or make the repository's tags mutable: %v", repo, ErrTagExists, err)
		}
		return nil, fmt.Errorf("push to %s: %w", repo, explain(err))
	}
	// Read back what the registry serves and check it is what was built.
	for _, r := range todo {
		desc, err := remote.Head(r, ropts...)
		if err != nil {
			return nil, fmt.Errorf("push to %s: read back %s: %w", repo, r, explain(err))
		}
		if desc.Digest != digest {
			return nil, fmt.Errorf("push to %s: the registry serves %s for %s but %s was pushed; another push may have raced this one, push again", repo, desc.Digest, r, digest)
		}
	}
	return out, nil
}

// learnBlobs reads the image manifest r names and marks its blobs as
// present. One GET replaces a HEAD per unchanged layer; an index or any
// error only means the HEADs are sent.
func (s *pushSession) learnBlobs(r name.Reference) {
	desc, err := remote.Get(r, s.ropts...)
	if err != nil || !desc.MediaType.IsImage() {
		return
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return
	}
	s.blobs.markPresent(m.Config.Digest)
	for _, l := range m.Layers {
		s.blobs.markPresent(l.Digest)
	}
}

// uploadBlobs uploads the image's layers and config, at most jobs at a
// time; those uploaded early are not sent again.
func (s *pushSession) uploadBlobs(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(s.ctx)
	g.SetLimit(s.o.jobs)
	for _, l := range layers {
		g.Go(func() error { return s.uploadLayer(gctx, l) })
	}
	g.Go(func() error {
		digest, err := img.ConfigName()
		if err != nil {
			return err
		}
		raw, err := img.RawConfigFile()
		if err != nil {
			return err
		}
		return s.blobs.upload(gctx, blob{digest: digest, size: int64(len(raw)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(raw)), nil
		}})
	})
	return g.Wait()
}

// uploadLayer sends a layer Build made with two requests; any other (a
// base image's, which the registry may mount from its repository, or a
// RUN layer) goes through go-containerregistry.
func (s *pushSession) uploadLayer(ctx context.Context, l v1.Layer) error {
	if bl, ok := l.(*blobLayer); ok {
		return s.blobs.upload(ctx, blob{digest: bl.digest, size: bl.size, open: bl.Compressed})
	}
	if d, err := l.Digest(); err == nil && s.blobs.present(d) {
		return nil
	}
	return s.pusher.Upload(ctx, s.repo, l)
}

// earlyUploads uploads layers while the build goes on, at most jobs at a
// time, without blocking the builder.
type earlyUploads struct {
	ctx       context.Context
	s         *pushSession
	sem       chan struct{}
	wg        sync.WaitGroup
	startOnce sync.Once
}

// start logs in and looks at the repository as soon as the first layer is
// known to need making, so that layer is sent the moment it is ready; with
// nothing to make (no change) it never runs. An error here is met again,
// and reported, by the uploads.
func (e *earlyUploads) start() {
	e.startOnce.Do(func() {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			_ = e.s.blobs.init(e.ctx)
		}()
	})
}

func (s *pushSession) uploadEarly(ctx context.Context) *earlyUploads {
	return &earlyUploads{ctx: ctx, s: s, sem: make(chan struct{}, s.o.jobs)}
}

func (e *earlyUploads) add(l v1.Layer) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case e.sem <- struct{}{}:
		case <-e.ctx.Done():
			return
		}
		defer func() { <-e.sem }()
		// The error is not lost: the final push uploads this layer again
		// and reports what goes wrong then.
		_ = e.s.uploadLayer(e.ctx, l)
	}()
}

func (e *earlyUploads) wait() { e.wg.Wait() }

func uniqueSorted(tags []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

func isTagInvalid(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		if d.Code == transport.TagInvalidErrorCode && strings.Contains(strings.ToLower(d.Message), "already exists") {
			return true
		}
	}
	return false
}

// explain adds what to do to common registry refusals.
func explain(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%w (the registry refused the credentials: log in, or check the role can push)", err)
		case http.StatusForbidden:
			return fmt.Errorf("%w (access denied: check the repository policy and the role's ecr:* permissions)", err)
		}
	}
	return err
}

// reportProgress prints one line every interval while an upload runs, and
// a last one when it ends. The returned func waits for it to finish.
func reportProgress(w io.Writer, every time.Duration, repo string, layers *atomic.Int64, own *byteProgress, updates <-chan v1.Update) func() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		var last v1.Update // go-containerregistry's uploads, cumulative
		printed := false
		print := func() bool {
			complete, total := last.Complete+own.complete.Load(), last.Total+own.total.Load()
			if total == 0 {
				return false
			}
			fmt.Fprintf(w, "push %s: %s of %s uploaded (%d layers)\n", repo, humanBytes(complete), humanBytes(total), layers.Load())
			return true
		}
		for {
			select {
			case u, ok := <-updates:
				if !ok {
					if printed || last.Total+own.total.Load() > 0 {
						print()
					}
					return
				}
				if u.Error == nil {
					last = u
				}
			case <-tick.C:
				if print() {
					printed = true
				}
			}
		}
	}()
	return wg.Wait
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
