package deploy_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakeelb "github.com/autopilot-dev/autopilot/internal/fakes/elbv2"
)

// elbClient is the real SDK client speaking the query protocol to the fake.
func elbClient(url string) *elbv2.Client {
	return elbv2.New(elbv2.Options{Region: "us-west-2", BaseEndpoint: aws.String(url),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
}

func TestDescribeLoadBalancerByNameAndARNThroughTheFake(t *testing.T) {
	want := fakeelb.LoadBalancer{
		ARN: "arn:aws:elasticloadbalancing:us-west-2:111122223333:loadbalancer/app/shared-web/5ea280ee3a7eff37", Name: "shared-web",
		DNSName: "shared-web-123.us-west-2.elb.amazonaws.com", CanonicalHostedZoneID: "Z1H1FL5HABSF5", SecurityGroups: []string{"sg-0aaa", "sg-0bbb"},
		Listeners: []fakeelb.Listener{{ARN: "arn:listener/http", Port: 80, Protocol: "HTTP"}, {ARN: "arn:listener/https", Port: 443, Protocol: "HTTPS"}, {ARN: "arn:listener/alt", Port: 8443, Protocol: "HTTPS"}},
	}
	srv := fakeelb.New(want)
	defer srv.Close()
	api := elbClient(srv.URL)
	ctx := context.Background()
	for _, key := range []string{want.ARN, want.Name} {
		// One listener per page: the paginator must follow NextMarker.
		paged := pageSize{api, 1}
		lb, err := deploy.DescribeLoadBalancer(ctx, paged, key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		wantLB := deploy.LoadBalancer{ARN: want.ARN, Name: want.Name, DNSName: want.DNSName, HostedZoneID: want.CanonicalHostedZoneID, SecurityGroups: want.SecurityGroups,
			Listeners: []deploy.Listener{{ARN: "arn:listener/http", Port: 80, Protocol: "HTTP"}, {ARN: "arn:listener/https", Port: 443, Protocol: "HTTPS"}, {ARN: "arn:listener/alt", Port: 8443, Protocol: "HTTPS"}}}
		if !reflect.DeepEqual(lb, wantLB) {
			t.Errorf("%s: got %+v\nwant %+v", key, lb, wantLB)
		}
	}
	if n := srv.Count("DescribeListeners"); n != 6 {
		t.Errorf("%d DescribeListeners calls, want 3 pages per load balancer", n)
	}
	// A missing load balancer is the SDK's typed error, from the fake's error XML.
	_, err := deploy.DescribeLoadBalancer(ctx, api, "nope")
	var notFound *elbtypes.LoadBalancerNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("missing load balancer: %v, want LoadBalancerNotFoundException", err)
	}
}

// pageSize asks for n listeners per page.
type pageSize struct {
	*elbv2.Client
	n int32
}

func (p pageSize) DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, o ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	in.PageSize = aws.Int32(p.n)
	return p.Client.DescribeListeners(ctx, in, o...)
}
