package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// CloudFormationAPI is every CloudFormation call deploy makes.
type CloudFormationAPI interface {
	CreateChangeSet(context.Context, *cloudformation.CreateChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error)
	DescribeChangeSet(context.Context, *cloudformation.DescribeChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error)
	ExecuteChangeSet(context.Context, *cloudformation.ExecuteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error)
	DeleteChangeSet(context.Context, *cloudformation.DeleteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error)
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	DescribeStackEvents(context.Context, *cloudformation.DescribeStackEventsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	GetTemplate(context.Context, *cloudformation.GetTemplateInput, ...func(*cloudformation.Options)) (*cloudformation.GetTemplateOutput, error)
	DescribeStackResource(context.Context, *cloudformation.DescribeStackResourceInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourceOutput, error)
	DeleteStack(context.Context, *cloudformation.DeleteStackInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
}

var _ CloudFormationAPI = (*cloudformation.Client)(nil)

// Uploader stores a file in the artifacts bucket and returns the HTTPS URL
// CloudFormation reads it from.
type Uploader interface {
	Upload(ctx context.Context, key string, body []byte) (url string, err error)
}

// S3PutAPI is the S3 calls S3Uploader makes.
type S3PutAPI interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// S3Uploader uploads to an S3 bucket.
type S3Uploader struct {
	client  S3PutAPI
	bucket  string
	baseURL string // object URLs are baseURL + "/" + key
}

var _ Uploader = (*S3Uploader)(nil)

// NewS3Uploader uploads to bucket with an S3 client: object URLs are
// path-style under the client's BaseEndpoint when one is set (a fake or a
// private endpoint), virtual-hosted otherwise.
func NewS3Uploader(client *s3.Client, bucket string) (*S3Uploader, error) {
	if bucket == "" {
		return nil, errors.New("artifacts bucket name is empty; set the artifacts bucket of the application")
	}
	o := client.Options()
	base := fmt.Sprintf("https://%s.s3.%s.amazonaws.com", bucket, o.Region)
	if o.BaseEndpoint != nil && *o.BaseEndpoint != "" {
		base = strings.TrimSuffix(*o.BaseEndpoint, "/") + "/" + bucket
	}
	return &S3Uploader{client: client, bucket: bucket, baseURL: base}, nil
}

// Upload puts body at key and returns its URL.
func (u *S3Uploader) Upload(ctx context.Context, key string, body []byte) (string, error) {
	_, err := u.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(u.bucket),
		Key:           aws.String(key),
		Body:          strings.NewReader(string(body)),
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return "", fmt.Errorf("upload s3://%s/%s: %w", u.bucket, key, err)
	}
	return u.URL(key), nil
}

// Exists reports whether an object is stored at key.
func (u *S3Uploader) Exists(ctx context.Context, key string) (bool, error) {
	_, err := u.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.bucket), Key: aws.String(key)})
	var missing *s3types.NotFound
	if errors.As(err, &missing) {
		return false, nil
	}
	if err != nil {
		// S3 answers 403, not 404, for a missing object to a caller without s3:ListBucket.
		return false, fmt.Errorf("look up s3://%s/%s (the plan role needs s3:GetObject on autopilot/deploy/* and s3:ListBucket on the bucket): %w", u.bucket, key, err)
	}
	return true, nil
}

// URL is the address CloudFormation reads the object at key from.
func (u *S3Uploader) URL(key string) string { return u.baseURL + "/" + key }

// Clients are the AWS clients deploy uses.
type Clients struct {
	CloudFormation *cloudformation.Client
	S3             *s3.Client
	STS            *sts.Client
	// ELBV2 describes load balancers services import (http.alb).
	ELBV2  *elbv2.Client
	EC2    *ec2.Client
	Region string
	// Config is the loaded configuration, for other AWS clients (ECR) that
	// should share its credentials, region, endpoints and retries.
	Config aws.Config
}

// NewClients loads the default AWS configuration (environment, shared
// files, web identity), so AWS_REGION and AWS_ENDPOINT_URL[_SERVICE] are
// honoured, and sets a retryer that rides out throttling, transient errors
// and expired credentials with backoff. S3 is addressed path-style when an
// endpoint is overridden, as fakes and private endpoints need.
func NewClients(ctx context.Context, optFns ...func(*config.LoadOptions) error) (*Clients, error) {
	opts := append([]func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			r := retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 8
				o.MaxBackoff = 20 * time.Second
				// A long deploy polls for many minutes; a client-side retry
				// quota would turn a burst of throttling into a failure.
				o.RateLimiter = ratelimit.None
			})
			return retry.AddWithErrorCodes(r, "ExpiredToken", "ExpiredTokenException", "RequestExpired")
		}),
	}, optFns...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region configured; set AWS_REGION")
	}
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, s3Only := os.LookupEnv("AWS_ENDPOINT_URL_S3")
	return &Clients{
		CloudFormation: cloudformation.NewFromConfig(cfg),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			if global || s3Only || o.BaseEndpoint != nil {
				o.UsePathStyle = true
			}
		}),
		STS:    sts.NewFromConfig(cfg),
		ELBV2:  elbv2.NewFromConfig(cfg),
		EC2:    ec2.NewFromConfig(cfg),
		Region: cfg.Region,
		Config: cfg,
	}, nil
}

// Account returns the account the credentials belong to.
func (c *Clients) Account(ctx context.Context) (string, error) {
	out, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("identify AWS account (sts:GetCallerIdentity): %w", err)
	}
	return aws.ToString(out.Account), nil
}
