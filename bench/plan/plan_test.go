package plan_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
)

const (
	services = 10
	creation = 2 * time.Second
)

func stacks() []deploy.Stack {
	out := make([]deploy.Stack, services)
	for i := range out {
		out[i] = deploy.Stack{
			Name: fmt.Sprintf("app-test-svc%02d", i),
			Template: []byte(`Parameters:
  ContainerImage: {Type: String}
Resources:
  Service:
    Type: AWS::AppRunner::Service
    Properties:
      SourceConfiguration: {ImageRepository: {ImageIdentifier: !Ref ContainerImage}}
  LogGroup:
    Type: AWS::Logs::LogGroup
`),
			Parameters: map[string]string{"ContainerImage": "img:1"},
			DependsOn:  []string{"app-test"}, // deployed already: not in the set
		}
	}
	return out
}

func planOnce(b *testing.B) (time.Duration, map[string]int) {
	srv := fakecfn.New(fakecfn.WithCreateDelay(creation))
	defer srv.Close()
	client := cloudformation.New(cloudformation.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
	})
	p, err := deploy.NewPlanner(client, deploy.WithRevision("0123456789", "1"), deploy.WithWaitDelays(200*time.Millisecond, time.Second))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	plan, err := p.Plan(context.Background(), stacks())
	wall := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	for _, sp := range plan.Stacks {
		if sp.Error != "" || len(sp.Changes) != 2 {
			b.Fatalf("stack %s: %d changes, error %q", sp.StackName, len(sp.Changes), sp.Error)
		}
	}
	perAction := map[string]int{}
	for _, c := range srv.Calls() {
		perAction[c.Action]++
	}
	return wall, perAction
}

// BenchmarkPlanTenServices plans 10 independent services whose change sets
// each take 2s to create. Wall time should stay close to one creation.
func BenchmarkPlanTenServices(b *testing.B) {
	var wall time.Duration
	var calls map[string]int
	for b.Loop() {
		wall, calls = planOnce(b)
	}
	total := 0
	var parts []string
	for action, n := range calls {
		total += n
		parts = append(parts, fmt.Sprintf("%s=%.1f", action, float64(n)/services))
	}
	sort.Strings(parts)
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(wall.Seconds()/creation.Seconds(), "creations")
	b.ReportMetric(float64(total)/services, "calls/stack")
	b.Logf("per stack: %s", strings.Join(parts, " "))
	if wall > 2*creation {
		b.Errorf("planning took %s, more than twice one creation (%s): stacks are not planned in parallel", wall, creation)
	}
}
