package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2API is every EC2 call autopilot makes: the look-ups Copilot makes
// while deploying.
type EC2API interface {
	DescribeSubnets(context.Context, *ec2.DescribeSubnetsInput, ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	DescribeManagedPrefixLists(context.Context, *ec2.DescribeManagedPrefixListsInput, ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error)
}

var _ EC2API = (*ec2.Client)(nil)

// cloudFrontPrefixListName is the AWS-managed prefix list of CloudFront's
// origin-facing addresses, one in every region.
const cloudFrontPrefixListName = "com.amazonaws.global.cloudfront.origin-facing"

// Lookups finds in AWS what Copilot looks up while deploying (it
// implements render.Lookups), asking once for each answer.
type Lookups struct {
	cfn CloudFormationAPI
	ec2 EC2API

	mu         sync.Mutex
	vpcs       map[string]string // environment stack -> VPC id
	prefixList string
}

// NewLookups looks up with these clients.
func NewLookups(cfn CloudFormationAPI, ec2 EC2API) *Lookups {
	return &Lookups{cfn: cfn, ec2: ec2, vpcs: map[string]string{}}
}

// SubnetsByTags returns, sorted, the ids of the subnets in the VPC of the
// deployed environment stack envStack that carry every tag key with one of
// its values (any value when a key lists none), as EC2's tag filters
// combine. Copilot searches the whole region; keeping to the
// environment's VPC finds the same subnets for any manifest that deploys
// (tasks run in their environment's VPC) and refuses the others early.
func (l *Lookups) SubnetsByTags(ctx context.Context, envStack string, tags map[string][]string) ([]string, error) {
	vpc, err := l.envVPC(ctx, envStack)
	if err != nil {
		return nil, err
	}
	filters := []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}
	for _, key := range slices.Sorted(maps.Keys(tags)) {
		if len(tags[key]) == 0 {
			filters = append(filters, ec2types.Filter{Name: aws.String("tag-key"), Values: []string{key}})
			continue
		}
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + key), Values: tags[key]})
	}
	var ids []string
	pages := ec2.NewDescribeSubnetsPaginator(l.ec2, &ec2.DescribeSubnetsInput{Filters: filters})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("look up subnets of %s (ec2:DescribeSubnets): %w", vpc, err)
		}
		for _, s := range out.Subnets {
			ids = append(ids, aws.ToString(s.SubnetId))
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no subnet of the environment's VPC %s carries these tags", vpc)
	}
	// Sorted, so the template (and the plan) does not change with the
	// order EC2 answers in.
	slices.Sort(ids)
	return ids, nil
}

// envVPC reads the VpcId output of a deployed environment stack, which
// Copilot's environment template has for a managed and an imported VPC.
func (l *Lookups) envVPC(ctx context.Context, envStack string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if vpc, ok := l.vpcs[envStack]; ok {
		return vpc, nil
	}
	out, err := l.cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(envStack)})
	if isNotExist(err) {
		return "", fmt.Errorf("the environment stack %s is not deployed: deploy the environment first, then its VPC's subnets can be looked up", envStack)
	}
	if err != nil {
		return "", fmt.Errorf("find the VPC of %s (cloudformation:DescribeStacks): %w", envStack, err)
	}
	for _, st := range out.Stacks {
		for _, o := range st.Outputs {
			if aws.ToString(o.OutputKey) == "VpcId" && aws.ToString(o.OutputValue) != "" {
				l.vpcs[envStack] = aws.ToString(o.OutputValue)
				return l.vpcs[envStack], nil
			}
		}
	}
	return "", fmt.Errorf("the environment stack %s has no VpcId output: deploy the environment first", envStack)
}

// CloudFrontPrefixList returns the id of the region's CloudFront
// origin-facing managed prefix list.
func (l *Lookups) CloudFrontPrefixList(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.prefixList != "" {
		return l.prefixList, nil
	}
	out, err := l.ec2.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{
		Filters: []ec2types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{cloudFrontPrefixListName}}},
	})
	if err != nil {
		return "", fmt.Errorf("look up %s (ec2:DescribeManagedPrefixLists): %w", cloudFrontPrefixListName, err)
	}
	for _, pl := range out.PrefixLists {
		if aws.ToString(pl.PrefixListName) == cloudFrontPrefixListName && aws.ToString(pl.PrefixListId) != "" {
			l.prefixList = aws.ToString(pl.PrefixListId)
			return l.prefixList, nil
		}
	}
	return "", errors.New("the region has no " + cloudFrontPrefixListName + " prefix list")
}
