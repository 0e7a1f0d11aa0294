package image

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	fakeecr "github.com/autopilot-dev/autopilot/internal/fakes/ecr"
)

func TestECRKeychain(t *testing.T) {
	api := fakeecr.New("https://123456789012.dkr.ecr.us-east-1.amazonaws.com", "AWS", "token-password")
	defer api.Close()
	var masked []string
	kc := ECRKeychain(ecrClient(api.URL), WithSecretHook(func(s string) { masked = append(masked, s) }))
	cases := []struct {
		registry string
		want     authn.AuthConfig
	}{
		{registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", want: authn.AuthConfig{Username: "AWS", Password: "token-password"}},
		{registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", want: authn.AuthConfig{Username: "AWS", Password: "token-password"}},
		{registry: "ghcr.io", want: authn.AuthConfig{}},
	}
	for _, tc := range cases {
		t.Run(tc.registry, func(t *testing.T) {
			reg, err := name.NewRegistry(tc.registry)
			if err != nil {
				t.Fatal(err)
			}
			auth, err := kc.Resolve(reg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := auth.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("auth for %s = %+v, want %+v", tc.registry, *got, tc.want)
			}
		})
	}
	if calls := api.Calls(); len(calls) != 1 {
		t.Errorf("ECR calls = %v, want one GetAuthorizationToken for both lookups", calls)
	}
	if len(masked) != 1 || masked[0] != "token-password" {
		t.Errorf("masked = %v, want the token password once", masked)
	}
}
