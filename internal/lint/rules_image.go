package lint

import (
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// The Dockerfile and build context image.build (the main container's and
// each sidecar's) names are checked here, so
// lint points at the manifest line instead of build failing later.
func init() {
	register(rule{id: "image-build-path", check: checkImageBuildPaths})
}

func checkImageBuildPaths(c *context) {
	checkBuildPaths(c, c.get("image", "build"), "image.build")
	if sidecars := c.get("sidecars"); isMap(sidecars) {
		for i := 0; i+1 < len(sidecars.Content); i += 2 {
			name := sidecars.Content[i].Value
			checkBuildPaths(c, get(get(sidecars.Content[i+1], "image"), "build"), "sidecars."+name+".image.build")
		}
	}
}

// checkBuildPaths checks one image.build (where names it in messages).
func checkBuildPaths(c *context, build *yaml.Node, where string) {
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
				"%s.context %q is not a folder in the workspace", where, buildContext.Value)
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
			"%s names Dockerfile %q, which is not a file in the workspace", where, path)
	}
}
