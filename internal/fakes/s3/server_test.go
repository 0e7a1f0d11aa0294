package s3_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	fake "github.com/autopilot-dev/autopilot/internal/fakes/s3"
)

func TestObjectsThroughTheSDK(t *testing.T) {
	srv := fake.New("artifacts")
	defer srv.Close()
	c := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
	})
	ctx := context.Background()
	body := strings.Repeat("template ", 10000)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("a/b.yml"), Body: strings.NewReader(body)}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if got, _ := srv.Object("artifacts", "a/b.yml"); string(got) != body {
		t.Errorf("stored %d bytes, want %d", len(got), len(body))
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("a/b.yml")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) {
		t.Errorf("HeadObject = %+v, %v", head, err)
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("a/b.yml")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	if string(got) != body {
		t.Error("GetObject returned other bytes")
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}

	var notFound *types.NotFound
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("missing")}); !errors.As(err, &notFound) {
		t.Errorf("HeadObject of a missing key: %v, want NotFound", err)
	}
	var apiErr smithy.APIError
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("other"), Key: aws.String("k"), Body: strings.NewReader("x")}); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchBucket" {
		t.Errorf("PutObject to a missing bucket: %v, want NoSuchBucket", err)
	}
	if srv.Puts() != 1 {
		t.Errorf("Puts() = %d, want 1", srv.Puts())
	}
}
