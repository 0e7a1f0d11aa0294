package image

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// loadImage returns a base image: a substitute from WithBaseImages, or the
// image pulled (lazily, layer by layer) with the keychain.
func loadImage(ctx context.Context, o *options, ref string, platform v1.Platform) (v1.Image, error) {
	key, err := normalizeRef(ref)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	if sub, ok := o.baseImages[key]; ok {
		return loadLocal(sub, platform)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(o.keychain),
		remote.WithPlatform(platform), remote.WithTransport(o.transport))
	if err != nil {
		return nil, fmt.Errorf("pull %s for %s: %w (to build offline, substitute it with WithBaseImages / --base-image %s=oci:DIR)", ref, platform.String(), err, ref)
	}
	return img, nil
}

// loadLocal reads "oci:DIR" (the image for platform in an OCI layout) or
// "tar:FILE" (a docker save tarball).
func loadLocal(src string, platform v1.Platform) (v1.Image, error) {
	switch {
	case strings.HasPrefix(src, "tar:"):
		img, err := tarball.ImageFromPath(strings.TrimPrefix(src, "tar:"), nil)
		if err != nil {
			return nil, fmt.Errorf("read base image %s: %w", src, err)
		}
		return img, nil
	case strings.HasPrefix(src, "oci:"):
		idx, err := layout.ImageIndexFromPath(strings.TrimPrefix(src, "oci:"))
		if err != nil {
			return nil, fmt.Errorf("read base image %s: %w", src, err)
		}
		img, err := pickImage(idx, platform)
		if err != nil {
			return nil, fmt.Errorf("read base image %s: %w", src, err)
		}
		return img, nil
	}
	return nil, fmt.Errorf("base image source %q must start with oci: or tar:", src)
}

// pickImage finds the image for platform in an index (searching nested
// indexes); an index holding a single image without a platform gives it.
func pickImage(idx v1.ImageIndex, platform v1.Platform) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var lone []v1.Descriptor
	for _, d := range m.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if img, err := pickImage(child, platform); err == nil {
				return img, nil
			}
		case d.MediaType.IsImage():
			if d.Platform != nil && d.Platform.Satisfies(platform) {
				return idx.Image(d.Digest)
			}
			if d.Platform == nil {
				lone = append(lone, d)
			}
		}
	}
	if len(lone) == 1 {
		return idx.Image(lone[0].Digest)
	}
	return nil, fmt.Errorf("no image for %s in the layout", platform.String())
}

// sourceFor is the filesystem COPY --from reads: an earlier stage, or an image.
func (b *builder) sourceFor(st *stage, from string) (*imageSource, error) {
	if j, ok := b.stageIndex(from, st.index); ok {
		img, built := b.built[j]
		if !built {
			return nil, fmt.Errorf("stage %s was not built", from)
		}
		return b.viewOf(img, fmt.Sprintf("stage-%d", j))
	}
	img, err := loadImage(b.context, b.o, from, b.platform)
	if err != nil {
		return nil, err
	}
	return b.viewOf(img, "image-"+from)
}

// viewOf indexes an image's filesystem once per build.
func (b *builder) viewOf(img v1.Image, key string) (*imageSource, error) {
	if s, ok := b.views[key]; ok {
		return s, nil
	}
	v, err := newFSView(img)
	if err != nil {
		return nil, err
	}
	s := &imageSource{v: v}
	b.views[key] = s
	return s, nil
}

// Pin returns ref naming the digest its registry serves now
// (repository@sha256:…, the repository as written), so a stack keeps
// running that image wherever the tag moves later. A reference that names
// a digest already is returned as it is.
func Pin(ctx context.Context, ref string, opts ...Option) (string, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return "", err
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	tag, ok := r.(name.Tag)
	if !ok {
		return ref, nil
	}
	desc, err := remote.Head(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(o.keychain), remote.WithTransport(o.transport))
	if err != nil {
		return "", fmt.Errorf("read the digest of %s: %w", ref, explain(err))
	}
	return strings.TrimSuffix(ref, ":"+tag.TagStr()) + "@" + desc.Digest.String(), nil
}
