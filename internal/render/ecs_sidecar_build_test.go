package render

import (
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

const sidecarBuildManifest = `name: web
type: Backend Service
image:
  location: nginx
  port: 80
sidecars:
  proxy:
    image:
      build:
        dockerfile: proxy/Dockerfile
        context: proxy
    port: 9090
`

// A sidecar built from a Dockerfile runs the image the build step pushed
// (Options.Images under SidecarImageKey), written into its container
// definition as Copilot writes a built sidecar's image; before a build it
// holds a placeholder, with a notice at the sidecar.
func TestSidecarBuiltFromADockerfile(t *testing.T) {
	const built = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app/web@sha256:" + "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/web/manifest.yml":               sidecarBuildManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	opts := seedOptions
	opts.Images = map[string]string{SidecarImageKey("web", "proxy"): built}
	stacks, diags, err := Render(ws, nil, []string{"web"}, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	st := stacks[len(stacks)-1]
	validateTemplate(t, st.Name, st.Template)
	root := parseTemplate(t, st.Template)
	if got := flowString(t, nodeAt(containerNamed(root, "proxy"), "Image")); got != built {
		t.Errorf("proxy Image = %s, want the built %s", got, built)
	}

	stacks, diags, err = Render(ws, nil, []string{"web"}, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	root = parseTemplate(t, stacks[len(stacks)-1].Template)
	if got := flowString(t, nodeAt(containerNamed(root, "proxy"), "Image")); got != ImagePlaceholder("web/proxy") {
		t.Errorf("unbuilt proxy Image = %s, want the placeholder", got)
	}
	var noticed bool
	for _, d := range diags {
		noticed = noticed || d.Severity == diag.Notice && d.Rule == ruleImage && d.Line == 8 && strings.Contains(d.Message, "sidecar proxy is not built yet")
	}
	if !noticed {
		t.Errorf("no notice at the sidecar: %v", diags)
	}
}
