package run

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	fakeelb "github.com/autopilot-dev/autopilot/internal/fakes/elbv2"
)

// A Load Balanced Web Service on an imported load balancer (http.alb):
// plan and deploy describe it through Elastic Load Balancing with the real
// SDK client (the fake speaks ELBv2's query protocol) and deploy the rules
// on its listeners; without Elastic Load Balancing (offline) render
// refuses, saying so.
func TestDeployServiceOnImportedALB(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	const arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shared-web/5ea280ee3a7eff37"
	elb := fakeelb.New(fakeelb.LoadBalancer{ARN: arn, Name: "shared-web", DNSName: "shared-web-1.eu-west-1.elb.amazonaws.com",
		CanonicalHostedZoneID: "Z32O12XQLNTSW2", SecurityGroups: []string{"sg-0shared"},
		Listeners: []fakeelb.Listener{{ARN: arn + "/http", Port: 80, Protocol: "HTTP"}, {ARN: arn + "/https", Port: 443, Protocol: "HTTPS"}}})
	t.Cleanup(elb.Close)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	svc := filepath.Join(dir, "copilot", "shop", "manifest.yml")
	if err := os.MkdirAll(filepath.Dir(svc), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(svc, []byte(`name: shop
type: Load Balanced Web Service
image:
  location: public.ecr.aws/nginx/nginx@sha256:`+strings.Repeat("a", 64)+`
  port: 80
http:
  path: /
  alb: shared-web
`), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := f.options(demoImage)
	opts.Paths = []string{dir}

	// Without Elastic Load Balancing, render refuses the service.
	var findings bytes.Buffer
	opts.Diagnostics = &findings
	if _, err := Plan(ctx, opts); err == nil || !strings.Contains(findings.String(), `http.alb "shared-web"`) || !strings.Contains(findings.String(), "Elastic Load Balancing") {
		t.Fatalf("plan without Elastic Load Balancing: %v\n%s\nwant render's refusal naming http.alb", err, findings.String())
	}
	opts.Diagnostics = nil

	opts.ELBV2 = elbv2.New(elbv2.Options{Region: "eu-west-1", BaseEndpoint: aws.String(elb.URL), Credentials: aws.AnonymousCredentials{}})
	deployed, err := Deploy(ctx, opts)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if deployed == nil || elb.Count("DescribeLoadBalancers") == 0 || elb.Count("DescribeListeners") == 0 {
		t.Fatalf("the load balancer was not described (%d DescribeLoadBalancers, %d DescribeListeners)", elb.Count("DescribeLoadBalancers"), elb.Count("DescribeListeners"))
	}
	tpl := f.cfn.StackTemplate("apprunner-vpc-test-shop")
	for _, want := range []string{
		"HTTPSListenerRuleForImportedALB:", "ListenerArn: " + arn + "/https",
		"HTTPListenerRedirectRuleForImportedALB:", "ListenerArn: " + arn + "/http\n",
		"SourceSecurityGroupId: sg-0shared", "Value: shared-web-1.eu-west-1.elb.amazonaws.com",
	} {
		if !strings.Contains(tpl, want) {
			t.Errorf("deployed template lacks %q", want)
		}
	}

	// A load balancer Elastic Load Balancing does not know stops the plan.
	if err := os.WriteFile(svc, []byte(strings.Replace(mustRead(t, svc), "alb: shared-web", "alb: gone", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Plan(ctx, opts); err == nil || !strings.Contains(err.Error(), `describe load balancer "gone"`) || !strings.Contains(err.Error(), "LoadBalancerNotFound") {
		t.Errorf("plan with an unknown load balancer: %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
