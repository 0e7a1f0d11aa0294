package github

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	fakegithub "github.com/autopilot-dev/autopilot/internal/fakes/github"
	fakests "github.com/autopilot-dev/autopilot/internal/fakes/sts"
)

const testRole = "arn:aws:iam::123456789012:role/deploy"

func oidcRuntime(t *testing.T, fake *fakegithub.Server) (*Runtime, *strings.Builder) {
	t.Helper()
	var out strings.Builder
	vars := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": fake.OIDCRequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": fake.OIDCRequestToken()}
	r, err := NewRuntime(WithStdout(&out), WithGetenv(func(k string) string { return vars[k] }))
	if err != nil {
		t.Fatal(err)
	}
	return r, &out
}

// loadCredentials resolves credentials the way every AWS client of the run
// will: through the configuration options AssumeRole returned.
func loadCredentials(t *testing.T, opts []func(*config.LoadOptions) error) aws.Credentials {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

func TestAssumeRoleAgainstFakes(t *testing.T) {
	gh := fakegithub.New(fakegithub.WithOIDCClaims(map[string]any{"sub": "repo:acme/shop:ref:refs/heads/main"}))
	defer gh.Close()
	stsFake := fakests.New("123456789012")
	defer stsFake.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", stsFake.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	rt, stdout := oidcRuntime(t, gh)
	var masked []string
	opts, err := AssumeRole(context.Background(), rt, Role{ARN: testRole, SessionName: "pr-7", Region: "eu-west-1",
		Mask: func(s string) { masked = append(masked, s) }})
	if err != nil {
		t.Fatal(err)
	}
	creds := loadCredentials(t, opts)
	if creds.SecretAccessKey != "fake-secret-key" || creds.SessionToken != "fake-session-token" {
		t.Errorf("credentials = %+v, want the assumed role's", creds)
	}
	calls := stsFake.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d STS calls, want 1 (credentials are cached until near expiry)", len(calls))
	}
	c := calls[0]
	if c.Get("Action") != "AssumeRoleWithWebIdentity" || c.Get("RoleArn") != testRole || c.Get("RoleSessionName") != "pr-7" {
		t.Errorf("STS call = %v", c)
	}
	if Subject(c.Get("WebIdentityToken")) != "repo:acme/shop:ref:refs/heads/main" {
		t.Errorf("STS got token %q, not the job's OIDC token", c.Get("WebIdentityToken"))
	}
	for _, secret := range []string{"fake-secret-key", "fake-session-token", "ASIAFAKEACCESSKEY"} {
		if !contains(masked, secret) {
			t.Errorf("%s was not masked; masked %q", secret, masked)
		}
	}
	if !strings.Contains(stdout.String(), "::add-mask::"+c.Get("WebIdentityToken")) {
		t.Error("the OIDC token was not masked")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// stubSTS answers AssumeRoleWithWebIdentity with credentials that expire
// after ttl, or with err.
type stubSTS struct {
	mu     sync.Mutex
	ttl    time.Duration
	err    error
	tokens []string
}

func (s *stubSTS) AssumeRoleWithWebIdentity(_ context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, aws.ToString(in.WebIdentityToken))
	if s.err != nil {
		return nil, s.err
	}
	n := len(s.tokens)
	return &sts.AssumeRoleWithWebIdentityOutput{Credentials: &ststypes.Credentials{
		AccessKeyId:     aws.String("ASIA" + strings.Repeat("X", n)),
		SecretAccessKey: aws.String("secret-" + strings.Repeat("s", n)),
		SessionToken:    aws.String("session-" + strings.Repeat("t", n)),
		Expiration:      aws.Time(time.Now().Add(s.ttl)),
	}}, nil
}

func TestAssumeRoleMintsAgainBeforeExpiry(t *testing.T) {
	cases := []struct {
		name      string
		ttl       time.Duration
		wantCalls int
	}{
		// Inside the expiry window every use mints a new token and new
		// credentials: a deploy outlives any one set.
		{"credentials about to expire", 2 * time.Minute, 4},
		{"credentials good for an hour", time.Hour, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gh := fakegithub.New()
			defer gh.Close()
			rt, _ := oidcRuntime(t, gh)
			stub := &stubSTS{ttl: tc.ttl}
			opts, err := AssumeRole(context.Background(), rt, Role{ARN: testRole, Region: "us-east-1", STS: stub})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if len(stub.tokens) != tc.wantCalls {
				t.Errorf("%d AssumeRoleWithWebIdentity calls, want %d", len(stub.tokens), tc.wantCalls)
			}
			if gh.Mints() != tc.wantCalls {
				t.Errorf("%d OIDC tokens minted, want %d (a fresh one per STS call)", gh.Mints(), tc.wantCalls)
			}
		})
	}
}

func TestAssumeRoleRefusalNamesTheSubClaim(t *testing.T) {
	gh := fakegithub.New(fakegithub.WithOIDCClaims(map[string]any{"sub": "repo:acme/shop:pull_request"}))
	defer gh.Close()
	rt, _ := oidcRuntime(t, gh)
	stub := &stubSTS{err: errors.New("operation error STS: AssumeRoleWithWebIdentity, api error AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity")}
	vars := map[string]string{"GITHUB_REPOSITORY_OWNER_ID": "4242", "GITHUB_REPOSITORY_ID": "9999"}
	_, err := AssumeRole(context.Background(), rt, Role{ARN: testRole, Region: "us-east-1", STS: stub,
		Env: Env{Repository: "acme/shop", Ref: "refs/pull/7/merge"}, Getenv: func(k string) string { return vars[k] }})
	if err == nil {
		t.Fatal("a refused AssumeRoleWithWebIdentity succeeded")
	}
	for _, want := range []string{
		testRole,
		`this token's sub claim is "repo:acme/shop:pull_request"`,
		"repo:acme/shop:ref:refs/heads/main",
		"repo:acme/shop:pull_request",
		"repo:acme/shop:environment:NAME",
		"repo:acme@4242/shop@9999:ref:refs/heads/main",
		`"sts.amazonaws.com"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestAssumeRoleRejectsBadInput(t *testing.T) {
	gh := fakegithub.New()
	defer gh.Close()
	rt, _ := oidcRuntime(t, gh)
	cases := []struct {
		name   string
		tokens TokenSource
		role   Role
		want   string
	}{
		{"no role", rt, Role{}, "role-to-assume is empty"},
		{"not an ARN", rt, Role{ARN: "deploy"}, "not an ARN"},
		{"no token source", nil, Role{ARN: testRole}, "no OIDC token source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AssumeRole(context.Background(), tc.tokens, tc.role)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestAssumeRoleWithoutIDTokenPermission(t *testing.T) {
	rt, err := NewRuntime(WithStdout(&strings.Builder{}), WithGetenv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = AssumeRole(context.Background(), rt, Role{ARN: testRole, Region: "us-east-1", STS: &stubSTS{ttl: time.Hour}})
	if err == nil || !strings.Contains(err.Error(), "id-token: write") {
		t.Errorf("error = %v, want it to name the id-token: write permission", err)
	}
}

func TestSubject(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	cases := []struct{ name, token, want string }{
		{"jwt", "h." + enc(`{"sub":"repo:a/b:pull_request","aud":"x"}`) + ".sig", "repo:a/b:pull_request"},
		{"padded payload", "h." + base64.URLEncoding.EncodeToString([]byte(`{"sub":"s"}`)) + ".sig", "s"},
		{"not a jwt", "opaque-token", ""},
		{"bad base64", "h.!!!.sig", ""},
		{"not json", "h." + enc("nope") + ".sig", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Subject(tc.token); got != tc.want {
				t.Errorf("Subject = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStandardCredentials(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
	cases := []struct {
		name           string
		key, secret    string
		wantOK         bool
		wantMaskSecret bool
	}{
		{"from the environment", "AKIAEXAMPLE", "env-secret", true, true},
		{"none", "", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", tc.key)
			t.Setenv("AWS_SECRET_ACCESS_KEY", tc.secret)
			var masked []string
			_, ok, err := StandardCredentials(context.Background(), "us-east-1", func(s string) { masked = append(masked, s) })
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK {
				t.Errorf("found = %v, want %v", ok, tc.wantOK)
			}
			if got := contains(masked, tc.secret); got != tc.wantMaskSecret {
				t.Errorf("secret masked = %v, want %v (masked %q)", got, tc.wantMaskSecret, masked)
			}
		})
	}
}
