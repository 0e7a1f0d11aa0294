package lint

import (
	"os"
	"path/filepath"

	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// The Dockerfile and build context image.build (the main container's and
// each sidecar's) names are checked here, so
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
	if image.Present("build") {
		checkBuildPaths(c, image.Build, "image.build")
	}
	if c.ecs == nil {
		return
	}
	for _, name := range c.sidecars() {
		if img := c.ecs.Sidecars[name].Image; img.Build {
			checkBuildPaths(c, img.BuildPaths, "sidecars."+name+".image.build")
		}
	}
}

// checkBuildPaths checks one image.build (where names it in messages).
func checkBuildPaths(c *context, build manifest.Build, where string) {
	if build.Bad {
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
				"%s.context %q is not a folder in the workspace", where, *build.Context)
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
			"%s names Dockerfile %q, which is not a file in the workspace", where, path)
	}
}
