package image

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/autopilot-dev/autopilot/internal/fakes/registry"
)

// recordingProxy stands in front of the registry, counts requests by
// method and answers the first failPuts blob PUTs with failStatus.
type recordingProxy struct {
	mu         sync.Mutex
	methods    map[string]int
	failPuts   int
	failStatus int
}

func (p *recordingProxy) count(m string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.methods[m]
}

func startRecordingProxy(t *testing.T, registryHost string) (*recordingProxy, string) {
	t.Helper()
	p := &recordingProxy{methods: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: registryHost})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		isBlob := strings.Contains(r.URL.Path, "/blobs/")
		if isBlob {
			p.methods[r.Method]++
		}
		fail := isBlob && r.Method == http.MethodPut && p.failPuts > 0
		if fail {
			p.failPuts--
		}
		p.mu.Unlock()
		if fail {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(p.failStatus)
			io.WriteString(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected by the test"}]}`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return p, strings.TrimPrefix(srv.URL, "http://")
}

// TestBlobUploads checks the requests each layer costs and how failures
// are handled, against a real registry.
func TestBlobUploads(t *testing.T) {
	reg := registry.StartT(t)
	base := baseImage(t)
	dir := t.TempDir()
	randomTree(t, dir, 40, 20<<10) // 800 KB: a few source buckets
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM busybox\nCOPY . /app/\n"})
	img, err := Build(context.Background(), BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")},
		WithBaseImages(map[string]string{"busybox": base}), WithCacheDir(t.TempDir()), WithSplitLayers(true, 1))
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	if len(layers) < 3 {
		t.Fatalf("the image has %d layers, want the copy split into several", len(layers))
	}
	// The base layer comes from an OCI layout and goes through
	// go-containerregistry (HEAD, POST, PATCH, PUT); the copy's layers and
	// the config go through blobUploader.
	blobs := len(layers) + 1
	auth := &authn.Basic{Username: reg.Username, Password: reg.Password}

	cases := []struct {
		name       string
		repo       string
		prepushed  bool // the image is already in repo under another tag
		failPuts   int
		failStatus int
		wantErr    string
		// blob requests by method; -1: not checked
		wantPosts, wantHeads, wantPatches int
	}{
		{name: "new repository: POST and PUT, no HEAD", repo: "fresh", wantPosts: blobs, wantHeads: 1, wantPatches: 1},
		{name: "repository holding the layers: HEAD only", repo: "known", prepushed: true, wantPosts: 0, wantHeads: blobs, wantPatches: 0},
		{name: "503s are retried", repo: "flaky", failPuts: 2, failStatus: http.StatusServiceUnavailable, wantPosts: -1, wantHeads: -1, wantPatches: -1},
		{name: "403 is not retried", repo: "denied", failPuts: 100, failStatus: http.StatusForbidden, wantErr: "access denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			proxy, host := startRecordingProxy(t, reg.Host)
			dst := Destination{Repository: host + "/team/" + tc.repo, Auth: auth}
			if tc.prepushed {
				if _, err := Push(context.Background(), img, dst, []string{"first"}); err != nil {
					t.Fatal(err)
				}
				proxy.mu.Lock()
				proxy.methods = map[string]int{}
				proxy.mu.Unlock()
			}
			proxy.mu.Lock()
			proxy.failPuts, proxy.failStatus = tc.failPuts, tc.failStatus
			proxy.mu.Unlock()
			pushed, err := Push(context.Background(), img, dst, []string{"latest"})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), reg.Password) {
					t.Fatalf("error = %v, want one saying %q, without the password", err, tc.wantErr)
				}
				if n := proxy.count(http.MethodPut); n > blobs {
					t.Errorf("%d blob PUTs after a 403, want no retries", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			want, _ := img.Digest()
			if pushed.Digest != want {
				t.Errorf("pushed %s, want %s", pushed.Digest, want)
			}
			for method, want := range map[string]int{http.MethodPost: tc.wantPosts, http.MethodHead: tc.wantHeads, http.MethodPatch: tc.wantPatches} {
				if got := proxy.count(method); want >= 0 && got != want {
					t.Errorf("%d blob %s requests, want %d", got, method, want)
				}
			}
			if tc.failPuts > 0 && proxy.count(http.MethodPut) < blobs+tc.failPuts {
				t.Errorf("%d blob PUTs, want the %d failed ones sent again", proxy.count(http.MethodPut), tc.failPuts)
			}
			// Every blob is there: the image pulls back whole.
			if got := filesOf(t, pulledFrom(t, pushed.URI(), auth)); len(got) != len(filesOf(t, img)) {
				t.Errorf("pulled %d files, want %d", len(got), len(filesOf(t, img)))
			}
		})
	}
}

func pulledFrom(t *testing.T, ref string, auth authn.Authenticator) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithAuth(auth))
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return img
}
