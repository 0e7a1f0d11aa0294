package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
)

// Artifacts are an application's regional artifact bucket and its KMS key,
// as ARNs: Copilot's environment manager role may put objects in the bucket
// and encrypt with the key (statements PutObjectsToArtifactBucket and
// EncryptObjectsInArtifactBucket).
type Artifacts struct {
	BucketARN, KeyARN string
}

// Complete reports whether both are known.
func (a Artifacts) Complete() bool { return a.BucketARN != "" && a.KeyARN != "" }

// Or fills what a lacks from b.
func (a Artifacts) Or(b Artifacts) Artifacts {
	if a.BucketARN == "" {
		a.BucketARN = b.BucketARN
	}
	if a.KeyARN == "" {
		a.KeyARN = b.KeyARN
	}
	return a
}

// DeployedArtifacts reads the artifact bucket and key from the environment
// manager role of the deployed environment stacks named (the first that has
// each wins). A stack that does not exist is skipped.
func DeployedArtifacts(ctx context.Context, api CloudFormationAPI, envStacks []string) (Artifacts, error) {
	var found Artifacts
	for _, name := range envStacks {
		if found.Complete() {
			break
		}
		out, err := api.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String(name), TemplateStage: types.TemplateStageOriginal})
		if isNotExist(err) {
			continue
		}
		if err != nil {
			return found, fmt.Errorf("read deployed template of %s: %w", name, err)
		}
		tmpl, err := cfn.Parse([]byte(aws.ToString(out.TemplateBody)))
		if err != nil {
			return found, fmt.Errorf("parse deployed template of %s: %w", name, err)
		}
		found = found.Or(managerRoleArtifacts(tmpl))
	}
	return found, nil
}

// managerRoleArtifacts finds the two statements in EnvironmentManagerRole.
func managerRoleArtifacts(tmpl *cfn.Template) Artifacts {
	var a Artifacts
	policies, _ := tmpl.Resources["EnvironmentManagerRole"].Properties["Policies"].([]any)
	for _, p := range policies {
		doc, _ := asMap(p)["PolicyDocument"].(map[string]any)
		statements, _ := doc["Statement"].([]any)
		for _, s := range statements {
			st := asMap(s)
			switch st["Sid"] {
			case "PutObjectsToArtifactBucket":
				// Resource: [bucket ARN, bucket ARN/*]
				for _, r := range asList(st["Resource"]) {
					if v, ok := r.(string); ok && !strings.HasSuffix(v, "/*") && a.BucketARN == "" {
						a.BucketARN = v
					}
				}
			case "EncryptObjectsInArtifactBucket":
				for _, r := range asList(st["Resource"]) {
					if v, ok := r.(string); ok && a.KeyARN == "" {
						a.KeyARN = v
					}
				}
			}
		}
	}
	return a
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// BucketARN is the ARN of an S3 bucket in the region's partition.
func BucketARN(region, bucket string) string {
	partition := "aws"
	switch {
	case strings.HasPrefix(region, "cn-"):
		partition = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return "arn:" + partition + ":s3:::" + bucket
}

// StackSetAPI is the call that finds the stack of an application StackSet
// in one account and region.
type StackSetAPI interface {
	ListStackInstances(context.Context, *cloudformation.ListStackInstancesInput, ...func(*cloudformation.Options)) (*cloudformation.ListStackInstancesOutput, error)
}

var _ StackSetAPI = (*cloudformation.Client)(nil)

// AppStackSetArtifacts reads the outputs PipelineBucket (a bucket name) and
// KMSKeyARN of the stack that Copilot's application StackSet
// ("<app>-infrastructure") has in the account and region, as Copilot reads
// them for its environments. No StackSet, or an API without the call, gives
// empty Artifacts.
func AppStackSetArtifacts(ctx context.Context, api CloudFormationAPI, app, account, region string) (Artifacts, error) {
	sets, ok := api.(StackSetAPI)
	if !ok || app == "" {
		return Artifacts{}, nil
	}
	in := &cloudformation.ListStackInstancesInput{StackSetName: aws.String(app + "-infrastructure")}
	if account != "" {
		in.StackInstanceAccount = aws.String(account)
	}
	if region != "" {
		in.StackInstanceRegion = aws.String(region)
	}
	list, err := sets.ListStackInstances(ctx, in)
	var notFound *types.StackSetNotFoundException
	if errors.As(err, &notFound) {
		return Artifacts{}, nil
	}
	if err != nil {
		return Artifacts{}, fmt.Errorf("list the instances of StackSet %s-infrastructure: %w", app, err)
	}
	for _, sum := range list.Summaries {
		id := aws.ToString(sum.StackId)
		if id == "" {
			continue
		}
		out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(id)})
		if err != nil {
			return Artifacts{}, fmt.Errorf("describe the application stack %s: %w", id, err)
		}
		var a Artifacts
		for _, st := range out.Stacks {
			for _, o := range st.Outputs {
				switch aws.ToString(o.OutputKey) {
				case "PipelineBucket":
					a.BucketARN = BucketARN(region, aws.ToString(o.OutputValue))
				case "KMSKeyARN":
					a.KeyARN = aws.ToString(o.OutputValue)
				}
			}
		}
		if a.Complete() {
			return a, nil
		}
	}
	return Artifacts{}, nil
}
