package lint

import (
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// The Dockerfile and build context image.build names are checked here, so
// lint points at the manifest line instead of build failing later.
func init() {
	register(rule{id: "image-build-path", check: checkImageBuildPaths})
}

func checkImageBuildPaths(c *context) {
	build := c.get("image", "build")
	if build == nil {
		return
	}
	// Paths are relative to the workspace root, as in Copilot; a context
	// alone means its Dockerfile.
	var dockerfile, buildContext *yaml.Node
	switch {
	case isScalar(build):
		dockerfile = build
	case isMap(build):
		dockerfile, buildContext = get(build, "dockerfile"), get(build, "context")
	default:
		return // the schema reports the type
	}
	for _, n := range []*yaml.Node{dockerfile, buildContext} {
		if n != nil && (!isScalar(n) || n.Value == "" || filepath.IsAbs(n.Value)) {
			return // the schema and the image stage report these
		}
	}
	if buildContext != nil {
		if fi, err := os.Stat(filepath.Join(c.ws.Root, buildContext.Value)); err != nil || !fi.IsDir() {
			c.errorf(buildContext, "give the folder relative to the workspace root (the folder holding copilot/)",
				"image.build.context %q is not a folder in the workspace", buildContext.Value)
			return
		}
	}
	at, path := dockerfile, ""
	switch {
	case dockerfile != nil:
		path = dockerfile.Value
	case buildContext != nil:
		at, path = buildContext, filepath.Join(buildContext.Value, "Dockerfile")
	default:
		return
	}
	if fi, err := os.Stat(filepath.Join(c.ws.Root, path)); err != nil || fi.IsDir() {
		c.errorf(at, "give the Dockerfile's path relative to the workspace root (the folder holding copilot/), or add the file",
			"image.build names Dockerfile %q, which is not a file in the workspace", path)
	}
}
