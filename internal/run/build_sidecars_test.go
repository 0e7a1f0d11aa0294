package run

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/autopilot-dev/autopilot/internal/fakes/registry"
)

// A sidecar with image.build is built and pushed like the main image: to
// the workload's repository, tagged "<sidecar>-<tag>" as Copilot tags it,
// and its container definition names what was pushed; deploy refuses a
// sidecar that was not built.
func TestSidecarImagesAreBuiltPushedAndDeployed(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	root, bases := buildWorkspace(t)
	writeFiles(t, root, map[string]string{
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/web/manifest.yml": "name: web\ntype: Backend Service\nimage:\n  build: web/Dockerfile\n  port: 8080\n" +
			"sidecars:\n  proxy:\n    port: 9090\n    image:\n      build:\n        dockerfile: proxy/Dockerfile\n        context: proxy\n",
		"proxy/Dockerfile": "FROM example.com/base:1\nCOPY proxy.conf /etc/proxy.conf\n",
		"proxy/proxy.conf": "listen 9090\n",
	})
	reg := registry.StartT(t, func(o *registry.Options) { o.NoAuth = true })
	built, err := Build(context.Background(), BuildOptions{Selection: Selection{Paths: []string{root}},
		Repository: reg.Host + "/shop/web", BaseImages: bases, Revision: "0123456789abcdef", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if len(built) != 2 || built[0].Sidecar != "" || built[1].Sidecar != "proxy" {
		t.Fatalf("built %+v, want web then its proxy sidecar", built)
	}
	proxy := built[1]
	if proxy.Image.Repository != reg.Host+"/shop/web" || proxy.Image.Tag != "proxy-0123456" || proxy.Image.Digest == built[0].Image.Digest {
		t.Errorf("sidecar image %+v, want its own image in the workload's repository tagged proxy-0123456", proxy.Image)
	}
	ref, _ := name.ParseReference(reg.Host+"/shop/web:proxy-0123456", name.Insecure)
	if desc, err := remote.Head(ref); err != nil || desc.Digest.String() != proxy.Image.Digest {
		t.Errorf("registry has %v (%v), want the sidecar's %s", desc, err, proxy.Image.Digest)
	}

	f := newFakeAWS(t)
	o := f.options()
	o.Paths = []string{root}
	o.Built = built[:1]
	if _, err := Deploy(context.Background(), o); !errors.Is(err, ErrCannotRun) || !strings.Contains(err.Error(), "sidecar of web has no built image") {
		t.Fatalf("deploy without the sidecar's image: %v, want a refusal", err)
	}
	o.Built = built
	deployed, err := Deploy(context.Background(), o)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	tmpl := f.cfn.StackTemplate("shop-test-web")
	if !strings.Contains(tmpl, "Image: "+proxy.URI) {
		t.Errorf("the deployed task definition does not run %s:\n%s", proxy.URI, tmpl)
	}
	for _, s := range deployed.Stacks {
		if s.Workload == "web" && len(s.Images) != 2 {
			t.Errorf("stack images %+v, want the main and the sidecar image", s.Images)
		}
	}
}
