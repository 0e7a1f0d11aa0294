package image

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func TestSpecFromManifest(t *testing.T) {
	cases := []struct {
		name, manifest string
		want           BuildSpec
		ok             bool
		err            string
	}{
		{name: "string form: context is the Dockerfile's folder", manifest: "image:\n  build: api/Dockerfile\n",
			want: BuildSpec{Workload: "api", Context: "/ws/api", Dockerfile: "/ws/api/Dockerfile", Platform: "linux/amd64"}, ok: true},
		{name: "context only: Dockerfile inside it", manifest: "image:\n  build:\n    context: svc\n",
			want: BuildSpec{Workload: "api", Context: "/ws/svc", Dockerfile: "/ws/svc/Dockerfile", Platform: "linux/amd64"}, ok: true},
		{name: "both, with args, target and cache_from", manifest: "image:\n  build:\n    context: .\n    dockerfile: docker/api.Dockerfile\n    args:\n      GO: \"1.26\"\n    target: prod\n    cache_from: [a/b:latest]\n",
			want: BuildSpec{Workload: "api", Context: "/ws", Dockerfile: "/ws/docker/api.Dockerfile", Platform: "linux/amd64",
				Args: map[string]string{"GO": "1.26"}, Target: "prod", CacheFrom: []string{"a/b:latest"}}, ok: true},
		{name: "dockerfile only", manifest: "image:\n  build:\n    dockerfile: web/Dockerfile.prod\n",
			want: BuildSpec{Workload: "api", Context: "/ws/web", Dockerfile: "/ws/web/Dockerfile.prod", Platform: "linux/amd64"}, ok: true},
		{name: "location is used as it is", manifest: "image:\n  location: public.ecr.aws/nginx/nginx:latest\n"},
		{name: "absolute path refused", manifest: "image:\n  build: /etc/Dockerfile\n", err: "line 2: image.build of api: \"/etc/Dockerfile\" must be relative"},
		{name: "empty map refused", manifest: "image:\n  build: {}\n", err: "names neither a dockerfile nor a context"},
		{name: "list refused", manifest: "image:\n  build: [a]\n", err: "must be a Dockerfile path or a map"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.manifest), &doc); err != nil {
				t.Fatal(err)
			}
			got, ok, err := SpecFromManifest("/ws", "api", &doc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.ok {
				t.Errorf("ok = %v, want %v", ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}
