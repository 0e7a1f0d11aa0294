package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

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

// Push uploads img under each tag with one MultiWrite: blobs the registry
// has are skipped after a HEAD, the others are uploaded in parallel with
// retries on 429 and 5xx. When every tag already names the image, only the
// manifest checks go out. The pushed digest is read back and compared.
// Without tags the image is pushed by digest.
func Push(ctx context.Context, img v1.Image, dst Destination, tags []string, opts ...Option) (*Pushed, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	repo, err := name.NewRepository(dst.Repository)
	if err != nil {
		return nil, fmt.Errorf("push: repository %q: %w (expected REGISTRY/NAME)", dst.Repository, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("push to %s: compute digest: %w", repo, err)
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
	todo := map[name.Reference]remote.Taggable{}
	for _, r := range refs {
		desc, err := remote.Head(r, ropts...)
		var terr *transport.Error
		switch {
		case err == nil && desc.Digest == digest:
			continue
		case err == nil && dst.ImmutableTags:
			return nil, fmt.Errorf("push %s: %w: %s names %s; push under a new tag (such as the commit's short SHA) or make the repository's tags mutable", r, ErrTagExists, r, desc.Digest)
		case err == nil, errors.As(err, &terr) && (terr.StatusCode == http.StatusNotFound || terr.StatusCode == http.StatusForbidden):
		default:
			return nil, fmt.Errorf("push to %s: check %s: %w", repo, r, explain(err))
		}
		todo[r] = img
	}
	if len(todo) == 0 {
		out.Skipped = true
		return out, nil
	}
	if o.progress != nil {
		updates := make(chan v1.Update, 16)
		ropts = append(ropts, remote.WithProgress(updates))
		layers, _ := img.Layers()
		done := reportProgress(o.progress, o.progressEvery, repo.String(), len(layers), updates)
		defer done()
	}
	if err := remote.MultiWrite(todo, ropts...); err != nil {
		if isTagInvalid(err) {
			return nil, fmt.Errorf("push to %s: %w (ImageTagAlreadyExistsException): push under a new tag or make the repository's tags mutable: %v", repo, ErrTagExists, err)
		}
		return nil, fmt.Errorf("push to %s: %w", repo, explain(err))
	}
	// Read back what the registry serves and check it is what was built.
	for r := range todo {
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
func reportProgress(w io.Writer, every time.Duration, repo string, layers int, updates <-chan v1.Update) func() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		var last v1.Update
		printed := false
		print := func() {
			fmt.Fprintf(w, "push %s: %s of %s uploaded (%d layers)\n", repo, humanBytes(last.Complete), humanBytes(last.Total), layers)
			printed = true
		}
		for {
			select {
			case u, ok := <-updates:
				if !ok {
					if printed || last.Total > 0 {
						print()
					}
					return
				}
				if u.Error == nil {
					last = u
				}
			case <-tick.C:
				if last.Total > 0 {
					print()
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
