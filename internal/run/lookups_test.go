package run

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	fakeec2 "github.com/autopilot-dev/autopilot/internal/fakes/ec2"
)

// A service placed by subnet tags deploys into the subnets EC2 finds in
// its environment's VPC; without the look-up nothing is deployed (the
// template would hold a placeholder).
func TestFromTagsDeploysTheLookedUpSubnets(t *testing.T) {
	f := newFakeAWS(t)
	e := fakeec2.New("eu-west-1")
	t.Cleanup(e.Close)
	e.AddSubnet(fakeec2.Subnet{ID: "subnet-0web", VPC: "vpc-0shop", Tags: map[string]string{"team": "web"}})
	e.AddSubnet(fakeec2.Subnet{ID: "subnet-0elsewhere", VPC: "vpc-0other", Tags: map[string]string{"team": "web"}})
	if err := f.cfn.SeedStack(fakecfn.Seed{Name: "shop-test", Template: "Resources:\n  VPC:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: 10.0.0.0/16}\nOutputs:\n  VpcId:\n    Value: vpc-0shop\n"}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/api/manifest.yml": "name: api\ntype: Backend Service\nimage:\n  location: " + pinnedNginx + "\n  port: 80\n" +
			"network:\n  vpc:\n    placement:\n      subnets:\n        from_tags: {team: web}\n",
	})
	o := f.options()
	o.Paths = []string{root}
	ctx := context.Background()
	if _, err := Deploy(ctx, o); err == nil || !strings.Contains(err.Error(), "placement.subnets.from_tags was not looked up") {
		t.Fatalf("deploy without EC2 = %v, want it refused", err)
	}
	if n := f.cfn.Count("CreateChangeSet"); n != 0 {
		t.Fatalf("%d change sets created before the refusal", n)
	}

	cfg := aws.Config{Region: "eu-west-1", RetryMaxAttempts: 1, Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "fake-secret"}, nil
	})}
	o.EC2 = ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(e.URL) })
	if _, err := Deploy(ctx, o); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	tmpl := f.cfn.StackTemplate("shop-test-api")
	if !strings.Contains(tmpl, "- subnet-0web") || strings.Contains(tmpl, "subnet-0elsewhere") {
		t.Errorf("deployed service is not in the environment's tagged subnet:\n%s", tmpl)
	}
}
