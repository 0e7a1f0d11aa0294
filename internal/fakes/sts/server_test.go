package sts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	fake "github.com/autopilot-dev/autopilot/internal/fakes/sts"
)

func TestSTSThroughTheSDK(t *testing.T) {
	srv := fake.New("123456789012")
	defer srv.Close()
	srv.AcceptToken("good-token")
	c := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
	})
	ctx := context.Background()
	id, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "123456789012" {
		t.Fatalf("GetCallerIdentity = %+v, %v", id, err)
	}

	tests := []struct {
		name, token, wantCode string
	}{
		{name: "accepted token", token: "good-token"},
		{name: "refused token", token: "forged", wantCode: "InvalidIdentityToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String("arn:aws:iam::123456789012:role/deploy"), RoleSessionName: aws.String("gha"), WebIdentityToken: aws.String(tt.token),
			})
			if tt.wantCode != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
					t.Errorf("error = %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.Credentials.AccessKeyId) == "" || out.Credentials.Expiration == nil ||
				aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/deploy/gha" {
				t.Errorf("AssumeRoleWithWebIdentity = %+v", out)
			}
		})
	}
}
