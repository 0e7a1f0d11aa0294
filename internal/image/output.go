package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Write stores img instead of pushing it: "oci:DIR" adds it to an OCI image
// layout (created if missing) annotated with ref; "tar:FILE" writes a
// tarball `docker load` accepts, tagged ref.
func Write(ctx context.Context, img v1.Image, output, ref string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	kind, target, ok := strings.Cut(output, ":")
	if !ok || target == "" {
		return fmt.Errorf("output %q: expected oci:DIR or tar:FILE", output)
	}
	switch kind {
	case "oci":
		p, err := layout.FromPath(target)
		if err != nil {
			if p, err = layout.Write(target, empty.Index); err != nil {
				return fmt.Errorf("create OCI layout %s: %w", target, err)
			}
		}
		var opts []layout.Option
		if ref != "" {
			opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}))
		}
		if err := p.AppendImage(img, opts...); err != nil {
			return fmt.Errorf("write OCI layout %s: %w", target, err)
		}
		return nil
	case "tar":
		if ref == "" {
			ref = "autopilot/image:latest"
		}
		tag, err := name.NewTag(ref)
		if err != nil {
			return fmt.Errorf("output %s: tag %q: %w", output, ref, err)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("output %s: %w", output, err)
		}
		if err := tarball.WriteToFile(target, tag, img); err != nil {
			return fmt.Errorf("write tarball %s: %w", target, err)
		}
		return nil
	}
	return fmt.Errorf("output %q: expected oci:DIR or tar:FILE", output)
}
