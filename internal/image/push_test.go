package image

import (
	"bytes"
	"context"
	base64pkg "encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	fakeecr "github.com/autopilot-dev/autopilot/internal/fakes/ecr"
	"github.com/autopilot-dev/autopilot/internal/fakes/registry"
)

// ecrClient is the real SDK client pointed at the fake ECR API.
func ecrClient(url string) *ecr.Client {
	return ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", ""),
	})
}

func buildDemo(t *testing.T, base string, cache string) v1.Image {
	t.Helper()
	dir, _ := filepath.Abs("testdata/demo-service")
	img, err := Build(context.Background(), BuildSpec{Workload: "demo-service", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
		Labels: CopilotLabels("v1.2.3", "demo-service"), Annotations: SourceAnnotations("https://github.com/o/r", "abc1234")},
		WithBaseImages(map[string]string{"python:3.12-slim": base}), WithCacheDir(cache), WithSourceDateEpoch(time.Unix(1700000000, 0)))
	if err != nil {
		t.Fatalf("build demo-service: %v", err)
	}
	return img
}

// TestPushECR builds the demo service, pushes it through the fake ECR API
// to a real registry, pulls it back and compares the files.
func TestPushECR(t *testing.T) {
	reg := registry.StartT(t)
	base := baseImage(t)
	api := fakeecr.New("http://"+reg.Host, reg.Username, reg.Password)
	defer api.Close()

	var secrets []string
	var mu sync.Mutex
	hook := func(s string) { mu.Lock(); secrets = append(secrets, s); mu.Unlock() }
	var progress bytes.Buffer
	img := buildDemo(t, base, t.TempDir())

	ctx := context.Background()
	repo := ECRRepository{Name: RepositoryName("demo", "demo-service"), ScanOnPush: true, Tags: map[string]string{"copilot-application": "demo"}}
	dst, err := ECRDestination(ctx, ecrClient(api.URL), repo, WithSecretHook(hook))
	if err != nil {
		t.Fatalf("ECRDestination: %v", err)
	}
	if created, ok := api.Repository("demo/demo-service"); !ok || !created.ScanOnPush || created.Mutability != "IMMUTABLE" {
		t.Errorf("repository = %+v, want it created with scan on push and immutable tags (the default)", created)
	}
	if len(secrets) != 1 || secrets[0] != reg.Password {
		t.Errorf("secret hook got %d values, want the registry password once", len(secrets))
	}
	pushed, err := Push(ctx, img, dst, []string{"abc1234", "latest"}, WithProgress(&progress, 10*time.Millisecond))
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	want, _ := img.Digest()
	if pushed.Digest != want || pushed.Skipped {
		t.Errorf("pushed = %+v, want digest %s, not skipped", pushed, want)
	}
	if !strings.Contains(progress.String(), "uploaded") {
		t.Errorf("no progress line was written: %q", progress.String())
	}
	if strings.Contains(progress.String(), reg.Password) {
		t.Error("the registry password appears in the progress output")
	}

	// Pull back by digest and by tag and compare the files.
	auth := remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password})
	for _, ref := range []string{pushed.URI(), reg.Host + "/demo/demo-service:abc1234"} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		pulled, err := remote.Image(r, auth)
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if d, _ := pulled.Digest(); d != want {
			t.Errorf("%s has digest %s, want %s", ref, d, want)
		}
		files := filesOf(t, pulled)
		appPy, _ := os.ReadFile("testdata/demo-service/app.py")
		if got := files["app/app.py"]; got.Content != string(appPy) || got.UID != 1000 || got.GID != 1001 {
			t.Errorf("app/app.py = %+v, want the source file owned by app:app", got)
		}
		if _, ok := files["app/Dockerfile"]; ok {
			t.Error("app/Dockerfile was copied although .dockerignore excludes it")
		}
		cf, _ := pulled.ConfigFile()
		if cf.Config.Labels["com.aws.copilot.image.container.name"] != "demo-service" || cf.Config.Labels["org.opencontainers.image.revision"] != "abc1234" {
			t.Errorf("labels = %v", cf.Config.Labels)
		}
		m, _ := pulled.Manifest()
		if m.Annotations["org.opencontainers.image.source"] != "https://github.com/o/r" {
			t.Errorf("manifest annotations = %v", m.Annotations)
		}
	}

	// The same image again: only manifest checks go out.
	reg.Reset()
	again, err := Push(ctx, img, dst, []string{"abc1234", "latest"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Skipped || reg.BytesUploaded() != 0 || reg.Requests() > 4 {
		t.Errorf("second push: skipped=%v, %d bytes uploaded, %d requests; want only manifest checks", again.Skipped, reg.BytesUploaded(), reg.Requests())
	}
	calls := strings.Join(api.Calls(), ",")
	if calls != "DescribeRepositories,CreateRepository,GetAuthorizationToken" {
		t.Errorf("ECR calls = %s", calls)
	}
}

func TestPushImmutableTag(t *testing.T) {
	reg := registry.StartT(t)
	base := baseImage(t)
	api := fakeecr.New("http://"+reg.Host, reg.Username, reg.Password)
	defer api.Close()
	api.AddRepository(fakeecr.Repository{Name: "demo/api", Mutability: "IMMUTABLE"})
	ctx := context.Background()
	dst, err := ECRDestination(ctx, ecrClient(api.URL), ECRRepository{Name: "demo/api"})
	if err != nil {
		t.Fatal(err)
	}
	if !dst.ImmutableTags {
		t.Fatal("destination does not know the repository's tags are immutable")
	}
	first := buildDemo(t, base, t.TempDir())
	if _, err := Push(ctx, first, dst, []string{"v1"}); err != nil {
		t.Fatal(err)
	}
	// Pushing the same image under the same tag is fine.
	if _, err := Push(ctx, first, dst, []string{"v1"}); err != nil {
		t.Errorf("re-push of the same image: %v", err)
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM busybox\nCOPY Dockerfile /other\n"})
	second, err := Build(ctx, BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}, WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Push(ctx, second, dst, []string{"v1"})
	if !errors.Is(err, ErrTagExists) || !strings.Contains(err.Error(), "push under a new tag") {
		t.Errorf("error = %v, want ErrTagExists saying what to do", err)
	}
}

func TestPushRegistryWithKeychainAndSkopeo(t *testing.T) {
	reg := registry.StartT(t)
	base := baseImage(t)
	img := buildDemo(t, base, t.TempDir())
	ctx := context.Background()
	keychain := staticKeychain{host: reg.Host, auth: &authn.Basic{Username: reg.Username, Password: reg.Password}}
	pushed, err := Push(ctx, img, Destination{Repository: reg.Host + "/team/demo"}, nil, WithKeychain(keychain))
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if len(pushed.Tags) != 0 {
		t.Errorf("tags = %v, want a push by digest", pushed.Tags)
	}
	if _, err := Push(ctx, img, Destination{Repository: reg.Host + "/team/demo"}, []string{"x"}); err == nil || !strings.Contains(err.Error(), "refused the credentials") {
		t.Errorf("push without credentials: %v, want a message about credentials", err)
	}

	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed (apt-get install -y skopeo); skipping the skopeo check")
	}
	// The password goes through an auth file, never argv.
	authFile := filepath.Join(t.TempDir(), "auth.json")
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{reg.Host: map[string]string{"auth": b64(reg.Username + ":" + reg.Password)}}})
	os.WriteFile(authFile, cfg, 0o600)
	out, err := exec.Command(skopeo, "inspect", "--no-tags", "--tls-verify=false", "--authfile", authFile, "docker://"+pushed.URI()).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	var info struct {
		Digest       string
		Architecture string
		Os           string
		Labels       map[string]string
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("skopeo output: %v\n%s", err, out)
	}
	if info.Digest != pushed.Digest.String() || info.Architecture != "amd64" || info.Os != "linux" || info.Labels["com.aws.copilot.image.builder"] != "autopilot" {
		t.Errorf("skopeo sees %+v", info)
	}
}

type staticKeychain struct {
	host string
	auth authn.Authenticator
}

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

func b64(s string) string {
	return base64Std.EncodeToString([]byte(s))
}

var base64Std = base64pkg.StdEncoding
