package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// leaveChangeSet creates a change set on a deployed stack and leaves it,
// as a cancelled run would: same template, previous parameter values.
func leaveChangeSet(t *testing.T, endpoint, stack, name string) {
	t.Helper()
	ctx := context.Background()
	c := cloudformation.New(cloudformation.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
	})
	out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil || len(out.Stacks) != 1 {
		t.Fatalf("describe %s: %v", stack, err)
	}
	var params []cfntypes.Parameter
	for _, p := range out.Stacks[0].Parameters {
		params = append(params, cfntypes.Parameter{ParameterKey: p.ParameterKey, UsePreviousValue: aws.Bool(true)})
	}
	_, err = c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String(stack), ChangeSetName: aws.String(name), UsePreviousTemplate: aws.Bool(true),
		Parameters: params, ChangeSetType: cfntypes.ChangeSetTypeUpdate,
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityNamedIam},
	})
	if err != nil {
		t.Fatalf("leave change set %s on %s: %v", name, stack, err)
	}
}
