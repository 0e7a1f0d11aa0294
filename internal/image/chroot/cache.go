package chroot

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// remoteCache keeps RUN layers in a registry repository shared between
// machines (--cache-repo): one single-layer image per step, tagged with the
// step's cache key, as kaniko does.
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
