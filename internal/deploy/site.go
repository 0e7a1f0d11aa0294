package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Site is a Static Site's content: after its stack deploys, deploy makes
// the stack's bucket (its resource SiteBucketID) hold exactly these files,
// putting those that differ and deleting the rest.
type Site struct {
	Files []SiteFile
}

// SiteFile is one object of a site's bucket.
type SiteFile struct {
	Key, ContentType string
	// SHA256 identifies the content for the review record; MD5 is compared
	// with the ETag S3 lists (an object put in one part without KMS).
	SHA256, MD5 string
	Body        []byte
}

// SiteBucketID and SiteDistributionID are the logical IDs of a Static
// Site's bucket and CloudFront distribution, Copilot's and autopilot's.
const (
	SiteBucketID       = "Bucket"
	SiteDistributionID = "CloudFrontDistribution"
)

// FileChanges are what a deploy does, or did, to a site's bucket.
type FileChanges struct {
	Put       int   `json:"put"`
	PutBytes  int64 `json:"putBytes"`
	Delete    int   `json:"delete"`
	Unchanged int   `json:"unchanged"`
	// NewBucket: the stack and its bucket do not exist yet, so every file
	// counts as put.
	NewBucket bool `json:"newBucket,omitempty"`
	// Invalidation is the CloudFront invalidation of /* a sync that
	// changed files made, so cached copies are not served.
	Invalidation string `json:"invalidation,omitempty"`
}

// Changed reports whether any object is put or deleted.
func (f *FileChanges) Changed() bool { return f != nil && (f.Put > 0 || f.Delete > 0) }

// SiteBucketAPI is the S3 calls that sync a site's bucket.
type SiteBucketAPI interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

var _ SiteBucketAPI = (*s3.Client)(nil)

// SiteCDNAPI is the CloudFront call that clears a site's cached files.
type SiteCDNAPI interface {
	CreateInvalidation(context.Context, *cloudfront.CreateInvalidationInput, ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error)
}

var _ SiteCDNAPI = (*cloudfront.Client)(nil)

// WithSiteCDNAPI sets the CloudFront client that invalidates a Static
// Site's cache after its files change.
func WithSiteCDNAPI(api SiteCDNAPI) Option {
	return func(o *options) error {
		if api == nil {
			return errors.New("CloudFront client is nil")
		}
		o.siteCDN = api
		return nil
	}
}

// WithSiteBucketAPI sets the S3 client that syncs Static Sites' buckets.
func WithSiteBucketAPI(api SiteBucketAPI) Option {
	return func(o *options) error {
		if api == nil {
			return errors.New("site bucket client is nil")
		}
		o.siteBucket = api
		return nil
	}
}

// planSite counts the files the deploy would put and delete, against the
// deployed stack's bucket.
func (r *run) planSite(ctx context.Context, s Stack, sp *StackPlan) {
	bucket, err := r.physicalID(ctx, s.Name, SiteBucketID)
	if err != nil {
		sp.Error = err.Error()
		return
	}
	if bucket == "" {
		sp.Files = newBucketSync(s.Site)
		return
	}
	if r.o.siteBucket == nil {
		sp.Error = "no S3 client to read the site's bucket with"
		return
	}
	live, err := r.listObjects(ctx, bucket)
	if err != nil {
		sp.Error = fmt.Sprintf("read the site's files: %v", err)
		return
	}
	put, del, unchanged := siteDiff(s.Site.Files, live)
	sp.Files = changesOf(put, del, unchanged)
}

// syncSite puts the files that differ from the bucket's, then deletes the
// objects no file has: a page never loses a file it links to before the
// new version of that page is in place.
func (r *run) syncSite(ctx context.Context, s Stack) (*FileChanges, error) {
	bucket, err := r.physicalID(ctx, s.Name, SiteBucketID)
	switch {
	case err != nil:
		return nil, err
	case bucket == "":
		return nil, fmt.Errorf("the stack has no resource %s", SiteBucketID)
	case r.o.siteBucket == nil:
		return nil, errors.New("no S3 client to sync the site's files with")
	}
	live, err := r.listObjects(ctx, bucket)
	if err != nil {
		return nil, err
	}
	put, del, unchanged := siteDiff(s.Site.Files, live)
	for _, f := range put {
		_, err := r.o.siteBucket.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(f.Key), Body: strings.NewReader(string(f.Body)),
			ContentLength: aws.Int64(int64(len(f.Body))), ContentType: nonEmpty(f.ContentType),
		})
		if err != nil {
			return nil, fmt.Errorf("put s3://%s/%s: %w", bucket, f.Key, err)
		}
	}
	// DeleteObjects takes at most 1,000 keys a call.
	for start := 0; start < len(del); start += 1000 {
		batch := del[start:min(start+1000, len(del))]
		ids := make([]s3types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = s3types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := r.o.siteBucket.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return nil, fmt.Errorf("delete %d old files from s3://%s: %w", len(batch), bucket, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return nil, fmt.Errorf("delete s3://%s/%s: %s", bucket, aws.ToString(e.Key), aws.ToString(e.Message))
		}
	}
	fc := changesOf(put, del, unchanged)
	if fc.Changed() {
		// The same sync retried (a lost response, a re-run job) is the
		// same invalidation; another set of changes is a new one.
		var what strings.Builder
		for _, f := range put {
			what.WriteString(f.Key + "\x00" + f.MD5 + "\x00")
		}
		what.WriteString(strings.Join(del, "\x00"))
		ref := clientToken(r.name+"-"+digest([]byte(what.String()))[:16], s.Name)
		if fc.Invalidation, err = r.invalidate(ctx, s.Name, ref); err != nil {
			return fc, err
		}
	}
	r.o.log.Info("synced site files", "stack", s.Name, "bucket", bucket, "put", fc.Put, "bytes", fc.PutBytes, "deleted", fc.Delete, "unchanged", fc.Unchanged)
	return fc, nil
}

// invalidate clears the stack's distribution's cache of every path, as
// Copilot's copy does after copying.
func (r *run) invalidate(ctx context.Context, stack, reference string) (string, error) {
	distribution, err := r.physicalID(ctx, stack, SiteDistributionID)
	switch {
	case err != nil:
		return "", err
	case distribution == "":
		return "", fmt.Errorf("the stack has no resource %s, so its cache cannot be cleared", SiteDistributionID)
	case r.o.siteCDN == nil:
		return "", errors.New("no CloudFront client to clear the site's cache with")
	}
	out, err := r.o.siteCDN.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(distribution),
		InvalidationBatch: &cftypes.InvalidationBatch{
			CallerReference: aws.String(reference),
			Paths:           &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}},
		},
	})
	if err != nil {
		return "", fmt.Errorf("invalidate the cache of distribution %s: %w", distribution, err)
	}
	return aws.ToString(out.Invalidation.Id), nil
}

// physicalID is the physical ID of a stack's resource, "" when the stack
// or the resource does not exist.
func (r *run) physicalID(ctx context.Context, stack, logicalID string) (string, error) {
	out, err := r.api.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{
		StackName: aws.String(stack), LogicalResourceId: aws.String(logicalID),
	})
	switch {
	case isNotExist(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("find %s of stack %s: %w", logicalID, stack, err)
	case out.StackResourceDetail == nil:
		return "", nil
	}
	return aws.ToString(out.StackResourceDetail.PhysicalResourceId), nil
}

// listObjects maps every key of bucket to its ETag without quotes.
func (r *run) listObjects(ctx context.Context, bucket string) (map[string]string, error) {
	out := map[string]string{}
	pages := s3.NewListObjectsV2Paginator(r.o.siteBucket, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = strings.Trim(aws.ToString(o.ETag), `"`)
		}
	}
	return out, nil
}

// siteDiff returns the files whose object is missing or differs, the keys
// no file has, and how many objects already match.
func siteDiff(files []SiteFile, live map[string]string) (put []SiteFile, del []string, unchanged int) {
	want := map[string]bool{}
	for _, f := range files {
		want[f.Key] = true
		if etag, ok := live[f.Key]; ok && etag == f.MD5 {
			unchanged++
			continue
		}
		put = append(put, f)
	}
	for _, k := range sortedKeys(live) {
		if !want[k] {
			del = append(del, k)
		}
	}
	return put, del, unchanged
}

// newBucketSync counts every file as put: the bucket does not exist yet.
func newBucketSync(site *Site) *FileChanges {
	fc := changesOf(site.Files, nil, 0)
	fc.NewBucket = true
	return fc
}

func changesOf(put []SiteFile, del []string, unchanged int) *FileChanges {
	fc := &FileChanges{Put: len(put), Delete: len(del), Unchanged: unchanged}
	for _, f := range put {
		fc.PutBytes += int64(len(f.Body))
	}
	return fc
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
