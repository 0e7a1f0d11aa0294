package deploy_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	fakeec2 "github.com/autopilot-dev/autopilot/internal/fakes/ec2"
)

func TestSubnetsByTagsKeepToTheEnvironmentsVPC(t *testing.T) {
	cf, e := fakecfn.New(), fakeec2.New("eu-west-1")
	defer cf.Close()
	defer e.Close()
	if err := cf.SeedStack(fakecfn.Seed{Name: "app-prod", Template: "Resources:\n  VPC:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: 10.0.0.0/16}\nOutputs:\n  VpcId:\n    Value: vpc-prod\n"}); err != nil {
		t.Fatal(err)
	}
	for i, vpc := range []string{"vpc-prod", "vpc-prod", "vpc-prod", "vpc-dev", "vpc-prod", "vpc-prod"} {
		e.AddSubnet(fakeec2.Subnet{ID: "subnet-" + string(rune('f'-i)), VPC: vpc, Tags: map[string]string{"copilot-private": "", "team": "web"}})
	}
	e.PageSize(2) // the answer spans pages
	cfg := aws.Config{Region: "eu-west-1", RetryMaxAttempts: 1, Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "fake-secret"}, nil
	})}
	l := deploy.NewLookups(
		cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(cf.URL) }),
		ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(e.URL) }))
	ctx := context.Background()

	got, err := l.SubnetsByTags(ctx, "app-prod", map[string][]string{"copilot-private": nil, "team": {"web", "api"}})
	if want := []string{"subnet-a", "subnet-b", "subnet-d", "subnet-e", "subnet-f"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("SubnetsByTags = %v, %v; want %v (sorted, without vpc-dev's subnet-c)", got, err, want)
	}
	first := e.Calls()[0]
	if first.Get("Filter.2.Name") != "tag-key" || first.Get("Filter.2.Value.1") != "copilot-private" ||
		first.Get("Filter.3.Name") != "tag:team" || first.Get("Filter.3.Value.2") != "api" {
		t.Errorf("filters sent = %v: a key without values is tag-key, a key's values are one tag: filter", first)
	}

	if _, err := l.SubnetsByTags(ctx, "app-prod", map[string][]string{"team": {"db"}}); err == nil || !strings.Contains(err.Error(), "no subnet of the environment's VPC vpc-prod") {
		t.Errorf("no match: %v", err)
	}
	if _, err := l.SubnetsByTags(ctx, "app-staging", map[string][]string{"team": {"web"}}); err == nil || !strings.Contains(err.Error(), "app-staging is not deployed: deploy the environment first") {
		t.Errorf("environment not deployed: %v", err)
	}
	if n := cf.Count("DescribeStacks"); n != 2 {
		t.Errorf("%d DescribeStacks calls, want one for each environment", n)
	}
}
