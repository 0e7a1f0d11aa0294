package ec2_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	fake "github.com/autopilot-dev/autopilot/internal/fakes/ec2"
)

func client(srv *fake.Server) *ec2.Client {
	return ec2.New(ec2.Options{
		Region: "us-west-2", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
	})
}

func TestDescribeSubnetsThroughTheSDK(t *testing.T) {
	srv := fake.New("us-west-2")
	defer srv.Close()
	for _, s := range []fake.Subnet{
		{ID: "subnet-a", VPC: "vpc-1", Tags: map[string]string{"team": "web", "tier": "private"}},
		{ID: "subnet-b", VPC: "vpc-1", Tags: map[string]string{"team": "api", "tier": "private"}},
		{ID: "subnet-c", VPC: "vpc-1", Tags: map[string]string{"team": "web", "tier": "public"}},
		{ID: "subnet-d", VPC: "vpc-2", Tags: map[string]string{"team": "web", "tier": "private"}},
		{ID: "subnet-e", VPC: "vpc-1", Tags: map[string]string{"legacy": ""}},
	} {
		srv.AddSubnet(s)
	}
	tests := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"values of one key are alternatives", []types.Filter{filter("vpc-id", "vpc-1"), filter("tag:team", "web", "api")}, []string{"subnet-a", "subnet-b", "subnet-c"}},
		{"keys must all match", []types.Filter{filter("vpc-id", "vpc-1"), filter("tag:team", "web"), filter("tag:tier", "private")}, []string{"subnet-a"}},
		{"other VPCs are left out", []types.Filter{filter("vpc-id", "vpc-2"), filter("tag:team", "web")}, []string{"subnet-d"}},
		{"tag-key matches any value", []types.Filter{filter("tag-key", "legacy")}, []string{"subnet-e"}},
		{"wildcards", []types.Filter{filter("tag:tier", "pri*")}, []string{"subnet-a", "subnet-b", "subnet-d"}},
		{"nothing matches", []types.Filter{filter("tag:team", "db")}, nil},
	}
	ctx := context.Background()
	c := client(srv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			p := ec2.NewDescribeSubnetsPaginator(c, &ec2.DescribeSubnetsInput{Filters: tt.filters})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range out.Subnets {
					got = append(got, aws.ToString(s.SubnetId))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("subnets = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("pages", func(t *testing.T) {
		srv.PageSize(2)
		defer srv.PageSize(0)
		out, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
		if err != nil || len(out.Subnets) != 2 || aws.ToString(out.NextToken) == "" {
			t.Fatalf("first page = %+v, %v", out, err)
		}
		if tags := out.Subnets[0].Tags; len(tags) != 2 || aws.ToString(tags[0].Key) != "team" || aws.ToString(out.Subnets[0].VpcId) != "vpc-1" {
			t.Errorf("subnet = %+v", out.Subnets[0])
		}
	})
	t.Run("EC2 errors", func(t *testing.T) {
		_, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("colour", "blue")}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue" || ae.ErrorMessage() != "The filter 'colour' is invalid" {
			t.Errorf("unknown filter: %v", err)
		}
		srv.FailNext("DescribeSubnets", "UnauthorizedOperation")
		if _, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}); !errors.As(err, &ae) || ae.ErrorCode() != "UnauthorizedOperation" {
			t.Errorf("refused call: %v", err)
		}
	})
}

func TestDescribeManagedPrefixListsThroughTheSDK(t *testing.T) {
	srv := fake.New("us-west-2")
	defer srv.Close()
	out, err := client(srv).DescribeManagedPrefixLists(context.Background(), &ec2.DescribeManagedPrefixListsInput{
		Filters: []types.Filter{filter("prefix-list-name", "com.amazonaws.global.cloudfront.origin-facing")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.PrefixLists) != 1 || aws.ToString(out.PrefixLists[0].PrefixListId) != "pl-3b927c52" || aws.ToString(out.PrefixLists[0].OwnerId) != "AWS" {
		t.Errorf("prefix lists = %+v", out.PrefixLists)
	}
}

func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}
