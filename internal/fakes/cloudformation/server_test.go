package cloudformation_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	fake "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
)

const topic = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: t1\n"

func client(t *testing.T, srv *fake.Server) *cloudformation.Client {
	t.Helper()
	return cloudformation.New(cloudformation.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
		// Retries ride out a transport hiccup on a loaded machine; API
		// errors the tests expect are not retryable.
		RetryMaxAttempts: 3,
	})
}

// apiError asserts the SDK decoded an error with this code, message and
// HTTP status.
func apiError(t *testing.T, err error, code, message string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), message) {
		t.Errorf("error = %s: %q, want %s: %q", ae.ErrorCode(), ae.ErrorMessage(), code, message)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("HTTP status %d, want %d", re.HTTPStatusCode(), status)
	}
	if errors.As(err, &re) && re.ServiceRequestID() == "" {
		t.Error("no request ID in the error response")
	}
}

func createAndWait(t *testing.T, c *cloudformation.Client, stack, name, typ, body string) *cloudformation.DescribeChangeSetOutput {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String(stack), ChangeSetName: aws.String(name), ChangeSetType: types.ChangeSetType(typ), TemplateBody: aws.String(body),
	}); err != nil {
		t.Fatalf("CreateChangeSet: %v", err)
	}
	out, err := c.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String(name), IncludePropertyValues: aws.Bool(true)})
	if err != nil {
		t.Fatalf("DescribeChangeSet: %v", err)
	}
	return out
}

func TestErrorsMatchCloudFormation(t *testing.T) {
	ctx := context.Background()
	srv := fake.New()
	defer srv.Close()
	c := client(t, srv)
	if err := srv.SeedStack(fake.Seed{Name: "live", Template: topic}); err != nil {
		t.Fatal(err)
	}
	big := "Resources:\n  T:\n    Type: AWS::SNS::Topic\n#" + strings.Repeat("x", 51200)
	tests := []struct {
		name    string
		call    func() error
		code    string
		message string
		status  int
	}{
		{"missing stack", func() error {
			_, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("nope")})
			return err
		}, "ValidationError", "Stack with id nope does not exist", 400},
		{"missing change set", func() error {
			_, err := c.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String("live"), ChangeSetName: aws.String("cs")})
			return err
		}, "ChangeSetNotFound", "ChangeSet [cs] does not exist", 404},
		{"create over existing", func() error {
			_, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("live"), ChangeSetName: aws.String("cs"),
				ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: aws.String(topic)})
			return err
		}, "ValidationError", "Stack [live] already exists and cannot be created again with the changeSet [cs].", 400},
		{"update of missing", func() error {
			_, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("nope"), ChangeSetName: aws.String("cs"), TemplateBody: aws.String(topic)})
			return err
		}, "ValidationError", "Stack [nope] does not exist", 400},
		{"inline template too large", func() error {
			_, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("live"), ChangeSetName: aws.String("cs"), TemplateBody: aws.String(big)})
			return err
		}, "ValidationError", "Member must have length less than or equal to 51200", 400},
		{"no template", func() error {
			_, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("live"), ChangeSetName: aws.String("cs")})
			return err
		}, "ValidationError", "Either Template URL or Template Body must be specified.", 400},
		{"capabilities", func() error {
			_, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("iam"), ChangeSetName: aws.String("cs"),
				ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: aws.String("Resources:\n  R:\n    Type: AWS::IAM::Role\n")})
			return err
		}, "InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_IAM]", 400},
		{"bad YAML", func() error {
			_, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("live"), ChangeSetName: aws.String("cs"), TemplateBody: aws.String("Resources: [")})
			return err
		}, "ValidationError", "Template format error: YAML not well-formed.", 400},
		{"resource of a missing stack", func() error {
			_, err := c.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{StackName: aws.String("not-a-valid-stack"), LogicalResourceId: aws.String("Topic")})
			return err
		}, "ValidationError", "Stack 'not-a-valid-stack' does not exist", 400},
		{"missing resource", func() error {
			_, err := c.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{StackName: aws.String("live"), LogicalResourceId: aws.String("not-a-valid-resource")})
			return err
		}, "ValidationError", "Resource not-a-valid-resource does not exist for stack arn:aws:cloudformation:", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apiError(t, tt.call(), tt.code, tt.message, tt.status)
		})
	}
	out, err := c.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{StackName: aws.String("live"), LogicalResourceId: aws.String("Topic")})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.StackResourceDetail; d == nil || aws.ToString(d.PhysicalResourceId) == "" || aws.ToString(d.ResourceType) != "AWS::SNS::Topic" ||
		d.ResourceStatus != types.ResourceStatusCreateComplete || !strings.HasPrefix(aws.ToString(d.StackId), "arn:aws:cloudformation:") {
		t.Errorf("StackResourceDetail = %+v", out.StackResourceDetail)
	}
}

func TestEmptyChangeSet(t *testing.T) {
	srv := fake.New()
	defer srv.Close()
	c := client(t, srv)
	if err := srv.SeedStack(fake.Seed{Name: "live", Template: topic}); err != nil {
		t.Fatal(err)
	}
	out := createAndWait(t, c, "live", "cs", "UPDATE", topic)
	const reason = "The submitted information didn't contain changes. Submit different information to create a change set."
	if out.Status != types.ChangeSetStatusFailed || aws.ToString(out.StatusReason) != reason || out.ExecutionStatus != types.ExecutionStatusUnavailable {
		t.Errorf("empty change set = %s %q %s", out.Status, aws.ToString(out.StatusReason), out.ExecutionStatus)
	}
	_, err := c.ExecuteChangeSet(context.Background(), &cloudformation.ExecuteChangeSetInput{ChangeSetName: out.ChangeSetId})
	apiError(t, err, "InvalidChangeSetStatus", "cannot be executed in its current status of [FAILED]", 400)
}

func TestChangeSetLifecycle(t *testing.T) {
	ctx := context.Background()
	srv := fake.New(fake.WithCreateDelay(50*time.Millisecond), fake.WithExecDelay(50*time.Millisecond), fake.WithPageSize(2))
	defer srv.Close()
	c := client(t, srv)
	if _, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("s"), ChangeSetName: aws.String("one"),
		ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: aws.String(topic)}); err != nil {
		t.Fatal(err)
	}
	st, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("s")})
	if err != nil || st.Stacks[0].StackStatus != types.StackStatusReviewInProgress {
		t.Fatalf("new stack = %+v, %v; want REVIEW_IN_PROGRESS", st, err)
	}
	w := cloudformation.NewChangeSetCreateCompleteWaiter(c, func(o *cloudformation.ChangeSetCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
	})
	if err := w.Wait(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String("s"), ChangeSetName: aws.String("one")}, 5*time.Second); err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if _, err := c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String("s"), ChangeSetName: aws.String("one")}); err != nil {
		t.Fatal(err)
	}
	cw := cloudformation.NewStackCreateCompleteWaiter(c, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
	})
	if err := cw.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("s")}, 5*time.Second); err != nil {
		t.Fatalf("stack waiter: %v", err)
	}

	// An update that renames the topic (create-only) and adds three queues.
	next := strings.Replace(topic, "t1", "t2", 1) + "  Q1:\n    Type: AWS::SQS::Queue\n  Q2:\n    Type: AWS::SQS::Queue\n  Q3:\n    Type: AWS::SQS::Queue\n"
	if _, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("s"), ChangeSetName: aws.String("two"), TemplateBody: aws.String(next)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String("s"), ChangeSetName: aws.String("two")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var changes []types.ResourceChange
	pages := cloudformation.NewDescribeChangeSetPaginator(c, &cloudformation.DescribeChangeSetInput{StackName: aws.String("s"), ChangeSetName: aws.String("two"), IncludePropertyValues: aws.Bool(true)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range page.Changes {
			changes = append(changes, *ch.ResourceChange)
		}
	}
	if len(changes) != 4 {
		t.Fatalf("%d changes over pages of 2, want 4", len(changes))
	}
	var rename types.ResourceChange
	for _, ch := range changes {
		if aws.ToString(ch.LogicalResourceId) == "Topic" {
			rename = ch
		}
	}
	d := rename.Details[0].Target
	if rename.Action != types.ChangeActionModify || rename.Replacement != types.ReplacementTrue || d.RequiresRecreation != types.RequiresRecreationAlways ||
		aws.ToString(d.BeforeValue) != "t1" || aws.ToString(d.AfterValue) != "t2" || aws.ToString(d.Path) != "/Properties/TopicName" {
		t.Errorf("rename = %+v target %+v", rename, d)
	}
	if !strings.Contains(aws.ToString(rename.AfterContext), `"TopicName":"t2"`) {
		t.Errorf("AfterContext = %s", aws.ToString(rename.AfterContext))
	}
	list, err := c.ListChangeSets(ctx, &cloudformation.ListChangeSetsInput{StackName: aws.String("s")})
	if err != nil || len(list.Summaries) != 1 || aws.ToString(list.Summaries[0].ChangeSetName) != "two" {
		t.Errorf("ListChangeSets = %+v, %v", list, err)
	}
	if _, err := c.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{StackName: aws.String("s"), ChangeSetName: aws.String("two")}); err != nil {
		t.Fatal(err)
	}
	tmpl, err := c.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String("s"), TemplateStage: types.TemplateStageOriginal})
	if err != nil || aws.ToString(tmpl.TemplateBody) != topic {
		t.Errorf("GetTemplate = %v, %v", tmpl, err)
	}
	events, err := c.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String("s")})
	if err != nil || len(events.StackEvents) != 2 || aws.ToString(events.NextToken) == "" {
		t.Errorf("first events page = %+v, %v; want 2 events and a next token", events, err)
	}
	if got := srv.Count("ExecuteChangeSet"); got != 1 {
		t.Errorf("Count(ExecuteChangeSet) = %d", got)
	}
}

func TestInjectedThrottling(t *testing.T) {
	srv := fake.New()
	defer srv.Close()
	srv.Throttle("DescribeStacks", 1)
	c := client(t, srv)
	_, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{}, func(o *cloudformation.Options) { o.RetryMaxAttempts = 1 })
	apiError(t, err, "Throttling", "Rate exceeded", 400)
	if _, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{}); err != nil {
		t.Errorf("second call: %v", err)
	}
}

// TestStackOutputs checks outputs as the recorded test_no_echo_parameter
// shows them: the key, the value (a NoEcho parameter's in clear, while the
// parameter itself is masked), the description, and the export name.
func TestStackOutputs(t *testing.T) {
	srv := fake.New(fake.WithAccount("111111111111"))
	defer srv.Close()
	const tmpl = `Parameters:
  SecretParameter:
    Type: String
    NoEcho: true
Resources:
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  SecretValue:
    Description: Secret value from parameter
    Value: !Ref SecretParameter
  TopicArn:
    Value: !Ref Topic
    Export:
      Name: !Sub ${AWS::StackName}-TopicArn
`
	if err := srv.SeedStack(fake.Seed{Name: "live", Template: tmpl, Parameters: map[string]string{"SecretParameter": "SecretValue"}}); err != nil {
		t.Fatal(err)
	}
	out, err := client(t, srv).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	st := out.Stacks[0]
	if len(st.Parameters) != 1 || aws.ToString(st.Parameters[0].ParameterValue) != "****" {
		t.Errorf("parameters = %+v, want the NoEcho one masked", st.Parameters)
	}
	got := map[string]types.Output{}
	for _, o := range st.Outputs {
		got[aws.ToString(o.OutputKey)] = o
	}
	if o := got["SecretValue"]; aws.ToString(o.OutputValue) != "SecretValue" || aws.ToString(o.Description) != "Secret value from parameter" || o.ExportName != nil {
		t.Errorf("SecretValue output = value %q, description %q, export %v", aws.ToString(o.OutputValue), aws.ToString(o.Description), o.ExportName)
	}
	if o := got["TopicArn"]; aws.ToString(o.OutputValue) == "" || aws.ToString(o.ExportName) != "live-TopicArn" || o.Description != nil {
		t.Errorf("TopicArn output = value %q, export %q, description %v", aws.ToString(o.OutputValue), aws.ToString(o.ExportName), o.Description)
	}
}
