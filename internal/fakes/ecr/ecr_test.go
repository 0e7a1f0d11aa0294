package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

func client(url string) *ecr.Client {
	return ecr.New(ecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", "")})
}

// TestWithSDK drives the fake with the real SDK client: errors must come
// back as the SDK's typed exceptions.
func TestWithSDK(t *testing.T) {
	s := New("http://127.0.0.1:5000", "AWS", "pw")
	defer s.Close()
	c := client(s.URL)
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
		want any
	}{
		{name: "describe a missing repository", call: func() error {
			_, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"app/api"}})
			return err
		}, want: new(*types.RepositoryNotFoundException)},
		{name: "create it", call: func() error {
			out, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app/api"), ImageTagMutability: types.ImageTagMutabilityImmutable})
			if err == nil && aws.ToString(out.Repository.RepositoryUri) != "127.0.0.1:5000/app/api" {
				t.Errorf("uri = %s", aws.ToString(out.Repository.RepositoryUri))
			}
			return err
		}},
		{name: "create it again", call: func() error {
			_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app/api")})
			return err
		}, want: new(*types.RepositoryAlreadyExistsException)},
		{name: "describe it", call: func() error {
			out, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"app/api"}})
			if err == nil && out.Repositories[0].ImageTagMutability != types.ImageTagMutabilityImmutable {
				t.Errorf("mutability = %s", out.Repositories[0].ImageTagMutability)
			}
			return err
		}},
		{name: "token", call: func() error {
			out, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
			if err != nil {
				return err
			}
			raw, _ := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
			if string(raw) != "AWS:pw" || aws.ToString(out.AuthorizationData[0].ProxyEndpoint) != "http://127.0.0.1:5000" {
				t.Errorf("token %q for %s", raw, aws.ToString(out.AuthorizationData[0].ProxyEndpoint))
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			switch want := tc.want.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
			case **types.RepositoryNotFoundException:
				if !errors.As(err, want) {
					t.Errorf("error = %v, want RepositoryNotFoundException", err)
				}
			case **types.RepositoryAlreadyExistsException:
				if !errors.As(err, want) {
					t.Errorf("error = %v, want RepositoryAlreadyExistsException", err)
				}
			}
		})
	}
}
