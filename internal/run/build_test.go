package run

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	fakeecr "github.com/autopilot-dev/autopilot/internal/fakes/ecr"
	"github.com/autopilot-dev/autopilot/internal/fakes/registry"
	"github.com/autopilot-dev/autopilot/internal/image"
)

// buildWorkspace writes a one-service workspace whose Dockerfile builds on
// a base image given as a local OCI layout, and returns its root and the
// base-image substitution.
func buildWorkspace(t *testing.T) (string, map[string]string) {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"copilot/.workspace":       "application: shop\n",
		"copilot/web/manifest.yml": "name: web\ntype: Backend Service\nimage:\n  build: web/Dockerfile\n  port: 8080\n",
		"web/Dockerfile":           "FROM example.com/base:1\nCOPY site/ /srv/site/\nENV PORT=8080\nCMD [\"/srv/site\"]\n",
		"web/site/index.html":      "<h1>hello</h1>\n",
		"web/.dockerignore":        "*.tmp\n",
		"web/site/scratch.tmp":     "must not be in the image",
	}
	writeFiles(t, root, files)
	base, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte("not a real tar, never unpacked"), types.DockerLayer))
	if err != nil {
		t.Fatal(err)
	}
	base, err = mutate.ConfigFile(base, &v1.ConfigFile{Architecture: "amd64", OS: "linux", RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "base")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(base); err != nil {
		t.Fatal(err)
	}
	return root, map[string]string{"example.com/base:1": "oci:" + dir}
}

func TestBuildToOCILayoutAndRegistry(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	root, bases := buildWorkspace(t)
	out := filepath.Join(t.TempDir(), "images")
	built, err := Build(context.Background(), BuildOptions{
		Selection: Selection{Paths: []string{root}}, Output: "oci:" + out, BaseImages: bases, Revision: "0123456789abcdef",
		CacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if len(built) != 1 || built[0].Workload != "web" || !strings.Contains(built[0].URI, "@sha256:") || built[0].Image.Tag != "0123456" {
		t.Fatalf("built = %+v, want web by digest, tagged with the short SHA", built)
	}
	idx, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := idx.IndexManifest()
	if len(manifest.Manifests) != 1 || manifest.Manifests[0].Digest.String() != built[0].Image.Digest {
		t.Errorf("OCI layout holds %+v, want the built image %s", manifest.Manifests, built[0].Image.Digest)
	}

	// The same build pushed to a real registry: the digest read back is
	// the one built, so the same inputs give the same image anywhere.
	reg := registry.StartT(t, func(o *registry.Options) { o.NoAuth = true })
	again, _ := buildWorkspace(t) // a second checkout in another folder
	pushed, err := Build(context.Background(), BuildOptions{
		Selection: Selection{Paths: []string{again}, Services: []string{"web"}}, Repository: reg.Host + "/shop/web",
		BaseImages: bases, Revision: "0123456789abcdef", CacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	ref, err := name.ParseReference(reg.Host+"/shop/web:0123456", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if desc.Digest.String() != pushed[0].Image.Digest || pushed[0].Image.Digest != built[0].Image.Digest {
		t.Errorf("registry has %s, push reported %s, OCI build %s: want one digest", desc.Digest, pushed[0].Image.Digest, built[0].Image.Digest)
	}
	if pushed[0].URI != reg.Host+"/shop/web@"+built[0].Image.Digest {
		t.Errorf("stack image URI %q, want the repository by digest", pushed[0].URI)
	}
}

// busyboxBase writes an OCI layout holding a base image with Debian's
// static busybox as /bin/sh, so RUN steps have a shell; nothing is pulled.
func busyboxBase(t *testing.T) string {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("busybox-static is not installed (apt-get install busybox-static)")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))},
		{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Name == "bin/busybox" {
			tw.Write(bin)
		}
	}
	tw.Close()
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{Architecture: "amd64", OS: "linux", RootFS: v1.RootFS{Type: "layers"},
		Config: v1.Config{Env: []string{"PATH=/bin"}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "busybox")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}

// As root (as in an Actions container) build runs RUN steps itself.
func TestBuildRunsRUNSteps(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("RUN steps run in a chroot, which needs root")
	}
	base := busyboxBase(t)
	root, _ := buildWorkspace(t)
	if err := os.WriteFile(filepath.Join(root, "web/Dockerfile"), []byte("FROM busybox\nARG GREETING=hello\nRUN echo \"$GREETING from RUN\" > /greeting && rm -rf /tmp/*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "images")
	built, err := Build(context.Background(), BuildOptions{
		Selection: Selection{Paths: []string{root}}, Output: "oci:" + out, BaseImages: map[string]string{"busybox": "oci:" + base},
		Revision: "0123456789abcdef", CacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	idx, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(built[0].Image.Digest)
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(h)
	if err != nil {
		t.Fatal(err)
	}
	fs := mutate.Extract(img)
	defer fs.Close()
	tr := tar.NewReader(fs)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no /greeting in the image: %v", err)
		}
		if strings.TrimPrefix(hdr.Name, "/") == "greeting" {
			b, _ := io.ReadAll(tr)
			if string(b) != "hello from RUN\n" {
				t.Errorf("/greeting = %q", b)
			}
			return
		}
	}
}

// A pull request plans with the image's digest but pushes nothing: its
// role cannot write to the production repository, and the reference it
// plans with is the one the merge deploy pushes and deploys.
func TestPlanBuildPushesNothingAndDeploysByDigest(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	reg := registry.StartT(t)
	api := fakeecr.New("http://"+reg.Host, reg.Username, reg.Password)
	t.Cleanup(api.Close)
	client := ecr.New(ecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(api.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", "")})
	root, bases := buildWorkspace(t)
	o := BuildOptions{Selection: Selection{Paths: []string{root}}, BaseImages: bases, Revision: "0123456789abcdef",
		CacheDir: t.TempDir(), ECR: client}

	plan := o
	plan.NoPush = true
	planned, err := Build(context.Background(), plan)
	if err != nil {
		t.Fatalf("build for a plan: %v", err)
	}
	if n := reg.Requests(); n != 0 {
		t.Errorf("the plan's build sent %d requests to the registry, want none", n)
	}
	if _, ok := api.Repository("shop/web"); ok || slices.Contains(api.Calls(), "CreateRepository") {
		t.Errorf("the plan's build created the repository (calls %v)", api.Calls())
	}

	deployed, err := Build(context.Background(), o)
	if err != nil {
		t.Fatalf("build for a deploy: %v", err)
	}
	img := deployed[0].Image
	if want := img.Repository + "@" + img.Digest; deployed[0].URI != want || !strings.HasPrefix(img.Digest, "sha256:") {
		t.Errorf("stack image %q, want the repository by digest %q, never a tag", deployed[0].URI, want)
	}
	if planned[0].URI != deployed[0].URI || planned[0].Image != img {
		t.Errorf("plan used %+v, deploy %+v: want the same image", planned[0], deployed[0])
	}
	repo, ok := api.Repository("shop/web")
	if !ok || repo.Mutability != "IMMUTABLE" {
		t.Errorf("repository %+v, want it created with immutable tags", repo)
	}

	// The opt-out, for repositories that must move a tag such as latest.
	mutable := o
	mutable.MutableTags, mutable.Services = true, []string{"web"}
	api2 := fakeecr.New("http://"+reg.Host, reg.Username, reg.Password)
	t.Cleanup(api2.Close)
	mutable.ECR = ecr.New(ecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(api2.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", "")})
	if _, err := Build(context.Background(), mutable); err != nil {
		t.Fatal(err)
	}
	if repo, _ := api2.Repository("shop/web"); repo.Mutability != "MUTABLE" {
		t.Errorf("with MutableTags the repository is %s", repo.Mutability)
	}
}

// A build never moves a tag production may run, not even in an existing
// repository whose tags ECR lets move, unless the build says so.
func TestBuildMovesNoTagUnlessMutableTags(t *testing.T) {
	reg := registry.StartT(t)
	api := fakeecr.New("http://"+reg.Host, reg.Username, reg.Password)
	t.Cleanup(api.Close)
	api.AddRepository(fakeecr.Repository{Name: "shop/web", Mutability: "MUTABLE"})
	root, bases := buildWorkspace(t)
	o := BuildOptions{Selection: Selection{Paths: []string{root}}, BaseImages: bases, Revision: "0123456789abcdef", CacheDir: t.TempDir(),
		ECR: ecr.New(ecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(api.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", "")})}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if _, err := Build(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	// Other code under the same commit tag.
	t.Setenv("SOURCE_DATE_EPOCH", "1700000001")
	if _, err := Build(context.Background(), o); !errors.Is(err, image.ErrTagExists) {
		t.Fatalf("second build of another image under tag 0123456: %v, want the tag kept", err)
	}
	o.MutableTags = true
	if _, err := Build(context.Background(), o); err != nil {
		t.Fatalf("with MutableTags: %v", err)
	}

	o.MutableTags, o.Latest = false, true
	if _, err := Build(context.Background(), o); !errors.Is(err, ErrCannotRun) || !strings.Contains(err.Error(), "--mutable-tags") {
		t.Errorf("--latest without --mutable-tags: %v, want a refusal saying what to set", err)
	}
}

// --repository REGISTRY/NAME is the repository when one workload is built
// (others may use image.location); several each get REGISTRY/NAME/<workload>.
func TestRepositoryNamesOneOrSeveralWorkloads(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	reg := registry.StartT(t, func(o *registry.Options) { o.NoAuth = true })
	root, bases := buildWorkspace(t)
	write := func(p, c string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(root, "copilot/cdn"), 0o755)
	write("copilot/cdn/manifest.yml", "name: cdn\ntype: Backend Service\nimage:\n  location: nginx\n")
	push := func() []string {
		t.Helper()
		built, err := Build(context.Background(), BuildOptions{Selection: Selection{Paths: []string{root}},
			Repository: reg.Host + "/team/app", BaseImages: bases, Revision: "0123456789abcdef", CacheDir: t.TempDir()})
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		var repos []string
		for _, b := range built {
			repos = append(repos, b.Image.Repository)
		}
		return repos
	}
	if got := push(); len(got) != 1 || got[0] != reg.Host+"/team/app" {
		t.Errorf("one workload built went to %v, want exactly %s/team/app", got, reg.Host)
	}
	os.MkdirAll(filepath.Join(root, "copilot/api"), 0o755)
	write("copilot/api/manifest.yml", "name: api\ntype: Backend Service\nimage:\n  build: web/Dockerfile\n")
	got := push()
	want := []string{reg.Host + "/team/app/api", reg.Host + "/team/app/web"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("two workloads went to %v, want %v", got, want)
	}
	for _, repo := range append(want, reg.Host+"/team/app") {
		ref, _ := name.ParseReference(repo+":0123456", name.Insecure)
		if _, err := remote.Head(ref); err != nil {
			t.Errorf("%s is not in the registry: %v", repo, err)
		}
	}
}

// A Dockerfile that is not there is a lint finding at the manifest's
// image.build line, before anything is built.
func TestBuildReportsAMissingDockerfileAtTheManifestLine(t *testing.T) {
	root, bases := buildWorkspace(t)
	if err := os.Remove(filepath.Join(root, "web/Dockerfile")); err != nil {
		t.Fatal(err)
	}
	var diags bytes.Buffer
	_, err := Build(context.Background(), BuildOptions{Selection: Selection{Paths: []string{root}}, Output: "oci:" + t.TempDir(),
		BaseImages: bases, Diagnostics: &diags})
	if err == nil {
		t.Fatal("build succeeded without a Dockerfile")
	}
	if want := "copilot/web/manifest.yml:4:10: error: image.build names Dockerfile \"web/Dockerfile\""; !strings.Contains(diags.String(), want) {
		t.Errorf("findings lack %q:\n%s", want, diags.String())
	}
}

// A failed build names the workload once.
func TestBuildErrorNamesTheWorkloadOnce(t *testing.T) {
	root, _ := buildWorkspace(t)
	_, err := Build(context.Background(), BuildOptions{Selection: Selection{Paths: []string{root}}, Output: "oci:" + t.TempDir(), Platform: "plan9/mips/x/y"})
	if err == nil {
		t.Fatal("build succeeded on a bad platform")
	}
	if n := strings.Count(err.Error(), "build web"); n != 1 {
		t.Errorf("%q names the workload %d times", err, n)
	}
}
