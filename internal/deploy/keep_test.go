package deploy_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
)

const envWithListsTemplate = `Parameters:
  AppName: {Type: String}
  NATWorkloads: {Type: String, Default: ""}
  ALBWorkloads: {Type: String, Default: ""}
  ArtifactKeyARN: {Type: String}
Conditions:
  CreateNAT: !Not [!Equals [!Ref NATWorkloads, ""]]
  CreateALB: !Not [!Equals [!Ref ALBWorkloads, ""]]
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
    Properties:
      ClusterName: !Sub "${AppName}-${ALBWorkloads}-${ArtifactKeyARN}"
`

// An environment update keeps the workload lists another tool (or Copilot's
// env controller) set, merging where asked, and the parameters render could
// not know, instead of resetting them.
func TestUpdateKeepsPreviousParameterValues(t *testing.T) {
	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "app-test", Template: envWithListsTemplate,
		Parameters: map[string]string{"AppName": "app", "NATWorkloads": "old", "ALBWorkloads": "web,api", "ArtifactKeyARN": "arn:aws:kms:key/1"}})
	next := deploy.Stack{Name: "app-test", Template: []byte(envWithListsTemplate), Kind: "environment", Env: "test",
		Parameters:   map[string]string{"AppName": "app", "NATWorkloads": "demo-service", "ALBWorkloads": ""},
		KeepPrevious: []string{"ALBWorkloads"}, MergeLists: []string{"NATWorkloads"}}
	if _, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{next}); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	out, err := e.client.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String("app-test")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range out.Stacks[0].Parameters {
		got[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	// NATWorkloads keeps the workload another repository put there.
	want := map[string]string{"AppName": "app", "NATWorkloads": "demo-service,old", "ALBWorkloads": "web,api", "ArtifactKeyARN": "arn:aws:kms:key/1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deployed parameters (-want +got):\n%s", diff)
	}
}
