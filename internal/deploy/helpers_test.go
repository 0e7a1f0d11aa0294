package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	fakes3 "github.com/autopilot-dev/autopilot/internal/fakes/s3"
)

// env is a fake account: CloudFormation and S3 endpoints with real SDK
// clients pointed at them.
type env struct {
	cfn      *fakecfn.Server
	s3       *fakes3.Server
	client   *cloudformation.Client
	uploader *deploy.S3Uploader
	logs     *syncBuffer
	events   *eventLog
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type eventLog struct {
	mu     sync.Mutex
	events []deploy.StackEvent
}

func (l *eventLog) add(e deploy.StackEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) of(stack string) []deploy.StackEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []deploy.StackEvent
	for _, e := range l.events {
		if e.Stack == stack {
			out = append(out, e)
		}
	}
	return out
}

func awsConfig() aws.Config {
	return aws.Config{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret-test"}, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 5
				o.MaxBackoff = 50 * time.Millisecond
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 10 * time.Millisecond, nil })
			})
		},
	}
}

func newEnv(t *testing.T, opts ...fakecfn.Option) *env {
	t.Helper()
	opts = append([]fakecfn.Option{fakecfn.WithExecDelay(100 * time.Millisecond)}, opts...)
	e := &env{cfn: fakecfn.New(opts...), s3: fakes3.New("artifacts"), logs: &syncBuffer{}, events: &eventLog{}}
	t.Cleanup(e.cfn.Close)
	t.Cleanup(e.s3.Close)
	cfg := awsConfig()
	e.client = cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(e.cfn.URL) })
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(e.s3.URL); o.UsePathStyle = true })
	up, err := deploy.NewS3Uploader(s3c, "artifacts")
	if err != nil {
		t.Fatal(err)
	}
	e.uploader = up
	return e
}

// options are fast waits, the uploader, a log and an event recorder.
func (e *env) options(extra ...deploy.Option) []deploy.Option {
	return append([]deploy.Option{
		deploy.WithRevision("0123456789abcdef", "42"),
		deploy.WithUploader(e.uploader),
		deploy.WithWaitDelays(10*time.Millisecond, 50*time.Millisecond),
		deploy.WithPollInterval(10 * time.Millisecond),
		deploy.WithLogger(slog.New(slog.NewTextHandler(e.logs, nil))),
		deploy.WithEvents(e.events.add),
	}, extra...)
}

func (e *env) planner(t *testing.T, extra ...deploy.Option) *deploy.Planner {
	t.Helper()
	p, err := deploy.NewPlanner(e.client, e.options(extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) deployer(t *testing.T, extra ...deploy.Option) *deploy.Deployer {
	t.Helper()
	d, err := deploy.NewDeployer(e.client, e.options(extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) seed(t *testing.T, s fakecfn.Seed) {
	t.Helper()
	if err := e.cfn.SeedStack(s); err != nil {
		t.Fatal(err)
	}
}

const envTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  AppName:
    Type: String
Resources:
  VPC:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
  Cluster:
    Type: AWS::ECS::Cluster
    Properties:
      ClusterName: !Sub "${AppName}-test"
Outputs:
  VpcId:
    Value: !Ref VPC
`

// serviceTemplate renders a small service stack; memory varies the service.
func serviceTemplate(memory string) string {
	return `Parameters:
  ContainerImage:
    Type: String
Resources:
  InstanceRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  Service:
    Type: AWS::AppRunner::Service
    Properties:
      InstanceConfiguration:
        Memory: "` + memory + `"
      SourceConfiguration:
        ImageRepository:
          ImageIdentifier: !Ref ContainerImage
  LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: 30
`
}

func envStack() deploy.Stack {
	return deploy.Stack{Name: "app-test", Template: []byte(envTemplate), Parameters: map[string]string{"AppName": "app"},
		Tags: map[string]string{"copilot-application": "app", "copilot-environment": "test"}, Kind: "environment", Env: "test"}
}

func serviceStack(name, memory, image string) deploy.Stack {
	return deploy.Stack{Name: "app-test-" + name, Template: []byte(serviceTemplate(memory)),
		Parameters: map[string]string{"ContainerImage": image}, DependsOn: []string{"app-test"},
		Kind: "Request-Driven Web Service", Env: "test", Workload: name,
		Images: []deploy.Image{{Workload: name, Repository: "123.dkr.ecr.us-east-1.amazonaws.com/app/" + name, Tag: "abc", Digest: "sha256:" + strings.Repeat("a", 64)}}}
}

func find(t *testing.T, plan *deploy.Plan, stack string) deploy.StackPlan {
	t.Helper()
	for _, s := range plan.Stacks {
		if s.StackName == stack {
			return s
		}
	}
	t.Fatalf("stack %s not in plan", stack)
	return deploy.StackPlan{}
}

func change(sp deploy.StackPlan, logicalID string) (deploy.ResourceChange, bool) {
	for _, c := range sp.Changes {
		if c.LogicalID == logicalID {
			return c, true
		}
	}
	return deploy.ResourceChange{}, false
}

func actions(sp deploy.StackPlan) map[string]deploy.Action {
	out := map[string]deploy.Action{}
	for _, c := range sp.Changes {
		key := c.LogicalID
		if c.NestedStack != "" {
			key = c.NestedStack + "/" + key
		}
		out[key] = c.Action
	}
	return out
}

func callsFor(srv *fakecfn.Server, action, stack string) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Action == action && (stack == "" || c.StackName() == stack) {
			n++
		}
	}
	return n
}

var _ = fmt.Sprintf
