package lint

import (
	"os"
	"path/filepath"

	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// The Dockerfile and build context image.build names are checked here, so
// lint points at the manifest line instead of build failing later.
func init() {
	register(rule{id: "image-build-path", check: checkImageBuildPaths})
}

func checkImageBuildPaths(c *context) {
	var image manifest.Image
	switch {
	case c.ecs != nil:
		image = c.ecs.Image
	case c.rdws != nil:
		image = c.rdws.Image
	}
	build := image.Build
	if !image.Present("build") || build.Bad {
		return // the schema reports the type
	}
	// Paths are relative to the workspace root, as in Copilot; a context
	// alone means its Dockerfile.
	dockerfileAt, contextAt := build.Pos, build.At("context")
	if build.IsMapping() {
		dockerfileAt = build.At("dockerfile")
	}
	for _, p := range []*string{build.Dockerfile, build.Context} {
		if p != nil && (*p == "" || filepath.IsAbs(*p)) {
			return // the schema and the image stage report these
		}
	}
	if build.Context != nil {
		if fi, err := os.Stat(filepath.Join(c.ws.Root, *build.Context)); err != nil || !fi.IsDir() {
			c.errorAt(contextAt, "give the folder relative to the workspace root (the folder holding copilot/)",
				"image.build.context %q is not a folder in the workspace", *build.Context)
			return
		}
	}
	at, path := dockerfileAt, ""
	switch {
	case build.Dockerfile != nil:
		path = *build.Dockerfile
	case build.Context != nil:
		at, path = contextAt, filepath.Join(*build.Context, "Dockerfile")
	default:
		return
	}
	if fi, err := os.Stat(filepath.Join(c.ws.Root, path)); err != nil || fi.IsDir() {
		c.errorAt(at, "give the Dockerfile's path relative to the workspace root (the folder holding copilot/), or add the file",
			"image.build names Dockerfile %q, which is not a file in the workspace", path)
	}
}
