package github

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// STSAudience is the audience of the OIDC token AWS STS accepts.
const STSAudience = "sts.amazonaws.com"

// TokenSource mints GitHub OIDC tokens; *Runtime is one.
type TokenSource interface {
	IDToken(ctx context.Context, audience string) (string, error)
}

var _ TokenSource = (*Runtime)(nil)

// Role says which IAM role to assume with the job's OIDC token.
type Role struct {
	ARN         string // role-to-assume
	SessionName string // role-session-name (default "autopilot")
	Region      string // aws-region; empty keeps AWS_REGION
	// Duration of each set of credentials (default: the role's, 1 hour).
	// They are minted again before they expire, however long the run.
	Duration time.Duration
	// Mask is called with every credential fetched, so it never shows in a
	// log (Runtime.AddMask).
	Mask func(string)
	// Env gives the repository and ref for the explanation of a refused
	// AssumeRoleWithWebIdentity.
	Env Env
	// Getenv reads GITHUB_REPOSITORY_ID and GITHUB_REPOSITORY_OWNER_ID for
	// that explanation (default: none).
	Getenv func(string) string
	// STS replaces the client built from the AWS configuration (tests).
	STS stscreds.AssumeRoleWithWebIdentityAPIClient
}

// credentialExpiryWindow is how long before expiry cached credentials are
// minted again, so a call never leaves with credentials about to lapse.
const credentialExpiryWindow = 5 * time.Minute

// AssumeRole returns AWS configuration options under which every client
// uses role credentials: a fresh OIDC token is requested and exchanged with
// STS AssumeRoleWithWebIdentity whenever the cached credentials near their
// expiry, so a deploy longer than an hour keeps working. It assumes the role
// once before returning, so a trust-policy mistake shows up at once, with
// the sub claim to check.
func AssumeRole(ctx context.Context, tokens TokenSource, r Role) ([]func(*config.LoadOptions) error, error) {
	if r.ARN == "" {
		return nil, errors.New("assume role: role-to-assume is empty")
	}
	if !strings.HasPrefix(r.ARN, "arn:") {
		return nil, fmt.Errorf("assume role: role-to-assume %q is not an ARN; want arn:aws:iam::<account>:role/<name>", r.ARN)
	}
	if tokens == nil {
		return nil, errors.New("assume role: no OIDC token source")
	}
	if r.SessionName == "" {
		r.SessionName = "autopilot"
	}
	var regionOpts []func(*config.LoadOptions) error
	if r.Region != "" {
		regionOpts = append(regionOpts, config.WithRegion(r.Region))
	}
	client := r.STS
	if client == nil {
		// The STS call is authenticated by the token alone; anonymous
		// credentials keep the default chain from looking for others.
		cfg, err := config.LoadDefaultConfig(ctx, append(regionOpts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))...)
		if err != nil {
			return nil, fmt.Errorf("assume role %s: load AWS configuration: %w", r.ARN, err)
		}
		if cfg.Region == "" {
			return nil, fmt.Errorf("assume role %s: no AWS region; set the aws-region input or AWS_REGION", r.ARN)
		}
		client = sts.NewFromConfig(cfg)
	}
	retriever := &oidcRetriever{tokens: tokens}
	web := stscreds.NewWebIdentityRoleProvider(client, r.ARN, retriever, func(o *stscreds.WebIdentityRoleOptions) {
		o.RoleSessionName = r.SessionName
		o.Duration = r.Duration
	})
	provider := aws.NewCredentialsCache(&explainingProvider{inner: web, role: r, retriever: retriever},
		func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = credentialExpiryWindow })
	if _, err := provider.Retrieve(ctx); err != nil {
		return nil, err
	}
	return append(regionOpts, config.WithCredentialsProvider(provider)), nil
}

// oidcRetriever mints a fresh OIDC token each time STS needs one: a job's
// token lives a few minutes, far less than a long deploy.
type oidcRetriever struct {
	tokens TokenSource
	mu     sync.Mutex
	sub    string // the sub claim of the last token, for error messages
}

// mintTimeout bounds one token request; stscreds' retriever takes no context.
const mintTimeout = 30 * time.Second

func (o *oidcRetriever) GetIdentityToken() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), mintTimeout)
	defer cancel()
	tok, err := o.tokens.IDToken(ctx, STSAudience)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.sub = Subject(tok)
	o.mu.Unlock()
	return []byte(tok), nil
}

func (o *oidcRetriever) subject() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sub
}

// explainingProvider masks every credential it hands out and turns STS's
// refusals into messages that say what to fix.
type explainingProvider struct {
	inner     aws.CredentialsProvider
	role      Role
	retriever *oidcRetriever
}

func (p *explainingProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := p.inner.Retrieve(ctx)
	if err != nil {
		return creds, explainAssumeRole(p.role, p.retriever.subject(), err)
	}
	if p.role.Mask != nil {
		for _, s := range []string{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken} {
			if s != "" {
				p.role.Mask(s)
			}
		}
	}
	return creds, nil
}

// explainAssumeRole adds what to check to a failed AssumeRoleWithWebIdentity.
func explainAssumeRole(r Role, sub string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Not authorized to perform sts:AssumeRoleWithWebIdentity"), strings.Contains(msg, "AccessDenied"):
		return fmt.Errorf("assume role %s: %w\n%s", r.ARN, err, TrustPolicyHint(r.Env, r.Getenv, sub))
	case strings.Contains(msg, "InvalidIdentityToken"):
		return fmt.Errorf("assume role %s: STS refused the GitHub OIDC token: %w\nCheck that the account has an IAM OIDC identity provider for %s with audience %s", r.ARN, err, tokenIssuer(r.Env), STSAudience)
	case strings.Contains(msg, "no OIDC token available"):
		return fmt.Errorf("assume role %s: %w", r.ARN, err)
	}
	return fmt.Errorf("assume role %s: %w", r.ARN, err)
}

func tokenIssuer(env Env) string {
	if env.ServerURL != "" && env.ServerURL != "https://github.com" {
		return env.ServerURL + "/_services/token (GitHub Enterprise Server)"
	}
	return "https://token.actions.githubusercontent.com"
}

// TrustPolicyHint explains which `sub` claim the role's trust policy must
// accept for this run: the one the token carried, and the forms GitHub
// issues for branches, pull requests, environments and, with immutable
// subjects, repository and owner IDs.
func TrustPolicyHint(env Env, getenv func(string) string, sub string) string {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	repo := env.Repository
	if repo == "" {
		repo = "OWNER/REPO"
	}
	var b strings.Builder
	b.WriteString("The role's trust policy must allow this job's OIDC token. Check its condition on token.actions.githubusercontent.com:sub")
	if sub != "" {
		fmt.Fprintf(&b, "; this token's sub claim is %q", sub)
	}
	b.WriteString(".\nGitHub issues these forms:\n")
	ref := env.Ref
	if ref == "" || strings.HasPrefix(ref, "refs/pull/") {
		ref = "refs/heads/main"
	}
	fmt.Fprintf(&b, "  repo:%s:ref:%s                (pushes to a branch)\n", repo, ref)
	fmt.Fprintf(&b, "  repo:%s:pull_request                 (pull requests)\n", repo)
	fmt.Fprintf(&b, "  repo:%s:environment:NAME             (jobs with `environment: NAME`)\n", repo)
	owner, name, _ := strings.Cut(repo, "/")
	ownerID, repoID := getenv("GITHUB_REPOSITORY_OWNER_ID"), getenv("GITHUB_REPOSITORY_ID")
	if ownerID == "" {
		ownerID = "OWNER_ID"
	}
	if repoID == "" {
		repoID = "REPO_ID"
	}
	fmt.Fprintf(&b, "  repo:%s@%s/%s@%s:ref:%s  (immutable subjects, which survive renames)\n", owner, ownerID, name, repoID, ref)
	fmt.Fprintf(&b, "and the aud condition must be %q. A StringLike condition such as repo:%s:* allows them all.", STSAudience, repo)
	return b.String()
}

// Subject returns the sub claim of a JWT without verifying it (STS does
// that), or "" when the token is not a JWT. The claim names the repository
// and ref; it is not a secret.
func Subject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Sub
}

// StandardCredentials looks for credentials the way the AWS SDK does
// (environment variables such as aws-actions/configure-aws-credentials
// sets, shared files, web identity, container and instance roles) and masks
// them. It reports false, without an error, when there are none: the action
// then lints only.
func StandardCredentials(ctx context.Context, region string, mask func(string)) ([]func(*config.LoadOptions) error, bool, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, false, fmt.Errorf("load AWS configuration: %w", err)
	}
	// The instance metadata service can take seconds to answer "nothing";
	// bound the search.
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if cfg.Credentials == nil {
		return opts, false, nil
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || !creds.HasKeys() {
		return opts, false, nil
	}
	if mask != nil {
		for _, s := range []string{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken} {
			if s != "" {
				mask(s)
			}
		}
	}
	return opts, true, nil
}
