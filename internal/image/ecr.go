package image

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
)

// ECRAPI is the part of the ECR client this package calls.
type ECRAPI interface {
	GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, opts ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
	DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, opts ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(ctx context.Context, in *ecr.CreateRepositoryInput, opts ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
}

var _ ECRAPI = (*ecr.Client)(nil)

// RepositoryName is the ECR repository Copilot uses for a workload.
func RepositoryName(app, workload string) string { return app + "/" + workload }

// ECRRepository is the repository to push to and how to create it.
type ECRRepository struct {
	Name        string            // <app>/<svc>, see RepositoryName
	MutableTags bool              // create with MUTABLE tags (default IMMUTABLE: a tag always names one image)
	ScanOnPush  bool              // create with scan on push
	Tags        map[string]string // resource tags when created
}

// ECRDestination makes sure the repository exists (creating it when
// missing) and returns where to push with a token from
// ecr:GetAuthorizationToken. The token's password goes to the secret hook
// (WithSecretHook) before anything else sees it.
func ECRDestination(ctx context.Context, api ECRAPI, repo ECRRepository, opts ...Option) (Destination, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return Destination{}, err
	}
	immutable, err := ensureRepository(ctx, api, repo)
	if err != nil {
		return Destination{}, err
	}
	host, auth, err := ecrToken(ctx, api, o.secretHook)
	if err != nil {
		return Destination{}, err
	}
	return Destination{Repository: host + "/" + repo.Name, Auth: auth, ImmutableTags: immutable}, nil
}

// ensureRepository returns whether the repository's tags are immutable.
func ensureRepository(ctx context.Context, api ECRAPI, repo ECRRepository) (bool, error) {
	out, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo.Name}})
	var notFound *ecrtypes.RepositoryNotFoundException
	switch {
	case err == nil && len(out.Repositories) > 0:
		return out.Repositories[0].ImageTagMutability == ecrtypes.ImageTagMutabilityImmutable, nil
	case err != nil && !errors.As(err, &notFound):
		return false, fmt.Errorf("describe ECR repository %s: %w", repo.Name, err)
	}
	mutability := ecrtypes.ImageTagMutabilityImmutable
	if repo.MutableTags {
		mutability = ecrtypes.ImageTagMutabilityMutable
	}
	in := &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(repo.Name),
		ImageTagMutability:         mutability,
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: repo.ScanOnPush},
	}
	for _, k := range sortedKeys(repo.Tags) {
		in.Tags = append(in.Tags, ecrtypes.Tag{Key: aws.String(k), Value: aws.String(repo.Tags[k])})
	}
	if _, err := api.CreateRepository(ctx, in); err != nil {
		var exists *ecrtypes.RepositoryAlreadyExistsException
		if errors.As(err, &exists) { // created by a parallel run
			return !repo.MutableTags, nil
		}
		return false, fmt.Errorf("create ECR repository %s: %w (the role needs ecr:CreateRepository, or create it first)", repo.Name, err)
	}
	return !repo.MutableTags, nil
}

// ECRRegistry returns the host of the account's ECR registry, from
// ecr:GetAuthorizationToken, touching no repository: a plan names the
// image a deploy will push without the right to push it.
func ECRRegistry(ctx context.Context, api ECRAPI, opts ...Option) (string, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return "", err
	}
	host, _, err := ecrToken(ctx, api, o.secretHook)
	return host, err
}

func ecrToken(ctx context.Context, api ECRAPI, hook func(string)) (string, authn.Authenticator, error) {
	out, err := api.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", nil, fmt.Errorf("get an ECR token: %w (the role needs ecr:GetAuthorizationToken)", err)
	}
	if len(out.AuthorizationData) == 0 {
		return "", nil, errors.New("get an ECR token: the response holds no authorization data")
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
	if err != nil {
		return "", nil, fmt.Errorf("decode the ECR token: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", nil, errors.New("decode the ECR token: expected user:password")
	}
	if hook != nil {
		hook(pass)
	}
	host := aws.ToString(d.ProxyEndpoint)
	host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	host = strings.TrimSuffix(host, "/")
	return host, &authn.Basic{Username: user, Password: pass}, nil
}

var ecrHost = regexp.MustCompile(`^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// ECRKeychain resolves credentials for ECR registries (base images in ECR)
// through ecr:GetAuthorizationToken, once per build; other registries get
// anonymous access, so chain it with authn.DefaultKeychain.
func ECRKeychain(api ECRAPI, opts ...Option) authn.Keychain {
	return &ecrKeychain{api: api, opts: opts}
}

type ecrKeychain struct {
	api  ECRAPI
	opts []Option
	mu   sync.Mutex
	auth authn.Authenticator
}

func (k *ecrKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if !ecrHost.MatchString(r.RegistryStr()) {
		return authn.Anonymous, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.auth != nil {
		return k.auth, nil
	}
	o, err := makeOptions(k.opts...)
	if err != nil {
		return nil, err
	}
	_, auth, err := ecrToken(context.Background(), k.api, o.secretHook)
	if err != nil {
		return nil, err
	}
	k.auth = auth
	return auth, nil
}
