package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// ELBV2API is the Elastic Load Balancing calls that describe a load
// balancer a service imports (http.alb).
type ELBV2API interface {
	DescribeLoadBalancers(context.Context, *elbv2.DescribeLoadBalancersInput, ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeListeners(context.Context, *elbv2.DescribeListenersInput, ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
}

var _ ELBV2API = (*elbv2.Client)(nil)

// LoadBalancer is what Copilot reads of an imported load balancer.
type LoadBalancer struct {
	ARN, Name, DNSName, HostedZoneID string
	SecurityGroups                   []string
	Listeners                        []Listener
}

// Listener is one listener of a load balancer.
type Listener struct {
	ARN      string
	Port     int
	Protocol string
}

// DescribeLoadBalancer reads the load balancer named by nameOrARN (an ARN
// or a name, as http.alb takes either) and all its listeners.
func DescribeLoadBalancer(ctx context.Context, api ELBV2API, nameOrARN string) (LoadBalancer, error) {
	in := &elbv2.DescribeLoadBalancersInput{Names: []string{nameOrARN}}
	if strings.HasPrefix(nameOrARN, "arn:") {
		in = &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{nameOrARN}}
	}
	out, err := api.DescribeLoadBalancers(ctx, in)
	if err != nil {
		return LoadBalancer{}, fmt.Errorf("describe load balancer %q (elasticloadbalancing:DescribeLoadBalancers): %w", nameOrARN, err)
	}
	if len(out.LoadBalancers) == 0 {
		return LoadBalancer{}, fmt.Errorf("no load balancer %q found", nameOrARN)
	}
	d := out.LoadBalancers[0]
	lb := LoadBalancer{ARN: aws.ToString(d.LoadBalancerArn), Name: aws.ToString(d.LoadBalancerName), DNSName: aws.ToString(d.DNSName),
		HostedZoneID: aws.ToString(d.CanonicalHostedZoneId), SecurityGroups: d.SecurityGroups}
	pages := elbv2.NewDescribeListenersPaginator(api, &elbv2.DescribeListenersInput{LoadBalancerArn: d.LoadBalancerArn})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return LoadBalancer{}, fmt.Errorf("describe the listeners of load balancer %q (elasticloadbalancing:DescribeListeners): %w", lb.ARN, err)
		}
		for _, l := range page.Listeners {
			lb.Listeners = append(lb.Listeners, Listener{ARN: aws.ToString(l.ListenerArn), Port: int(aws.ToInt32(l.Port)), Protocol: string(l.Protocol)})
		}
	}
	return lb, nil
}
