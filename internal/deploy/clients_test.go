package deploy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	fakeec2 "github.com/autopilot-dev/autopilot/internal/fakes/ec2"
	fakes3 "github.com/autopilot-dev/autopilot/internal/fakes/s3"
	fakests "github.com/autopilot-dev/autopilot/internal/fakes/sts"
)

func TestNewClientsHonoursEndpointVariables(t *testing.T) {
	cf, s3srv, stssrv, ec2srv := fakecfn.New(), fakes3.New("artifacts"), fakests.New("222233334444"), fakeec2.New("eu-west-3")
	defer ec2srv.Close()
	defer cf.Close()
	defer s3srv.Close()
	defer stssrv.Close()

	for k, v := range map[string]string{
		"AWS_REGION":                      "eu-west-3",
		"AWS_ACCESS_KEY_ID":               "AKIDENV",
		"AWS_SECRET_ACCESS_KEY":           "env-secret",
		"AWS_ENDPOINT_URL":                "http://127.0.0.1:1", // overridden per service below
		"AWS_ENDPOINT_URL_CLOUDFORMATION": cf.URL,
		"AWS_ENDPOINT_URL_S3":             s3srv.URL,
		"AWS_ENDPOINT_URL_STS":            stssrv.URL,
		"AWS_ENDPOINT_URL_EC2":            ec2srv.URL,
		"AWS_CONFIG_FILE":                 "/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE":     "/nonexistent",
		"AWS_PROFILE":                     "",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	c, err := deploy.NewClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu-west-3" {
		t.Errorf("region %q, want eu-west-3", c.Region)
	}
	account, err := c.Account(ctx)
	if err != nil || account != "222233334444" {
		t.Errorf("Account() = %q, %v; want the fake's account", account, err)
	}
	// Expired credentials and throttling are retried by the configured
	// retryer rather than failing the run.
	cf.FailNext("DescribeStacks", &fakecfn.APIError{Status: 400, Type: "Sender", Code: "ExpiredToken", Message: "The security token included in the request is expired"})
	cf.Throttle("DescribeStacks", 1)
	if _, err := c.CloudFormation.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{}); err != nil {
		t.Errorf("CloudFormation through AWS_ENDPOINT_URL_CLOUDFORMATION: %v", err)
	}
	if n := cf.Count("DescribeStacks"); n != 3 {
		t.Errorf("%d DescribeStacks attempts, want 3 (expired token, throttled, success)", n)
	}
	if id, err := deploy.NewLookups(c.CloudFormation, c.EC2).CloudFrontPrefixList(ctx); err != nil || id != "pl-3b927c52" {
		t.Errorf("CloudFront prefix list through AWS_ENDPOINT_URL_EC2 = %q, %v", id, err)
	}
	up, err := deploy.NewS3Uploader(c.S3, "artifacts")
	if err != nil {
		t.Fatal(err)
	}
	url, err := up.Upload(ctx, "autopilot/templates/x.yml", []byte("Resources: {}"))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if url != s3srv.URL+"/artifacts/autopilot/templates/x.yml" {
		t.Errorf("object URL %q, want path-style under the endpoint", url)
	}
	if got, _ := s3srv.Object("artifacts", "autopilot/templates/x.yml"); string(got) != "Resources: {}" {
		t.Errorf("stored %q", got)
	}
}

func TestNewS3UploaderVirtualHostedURL(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	c, err := deploy.NewClients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.S3.Options().BaseEndpoint != nil {
		t.Skip("an endpoint override is configured in this environment")
	}
	up, err := deploy.NewS3Uploader(c.S3, "my-bucket")
	if err != nil {
		t.Fatal(err)
	}
	// Without an endpoint override the URL is the regional virtual-hosted
	// one CloudFormation accepts.
	if got, want := up.URL("a/b.yml"), "https://my-bucket.s3.eu-west-3.amazonaws.com/a/b.yml"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if _, err := deploy.NewS3Uploader(c.S3, ""); err == nil || !strings.Contains(err.Error(), "bucket") {
		t.Errorf("empty bucket accepted: %v", err)
	}
}
