package run

import (
	"context"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
)

const (
	envStack       = "apprunner-vpc-test"
	copilotBucket  = "stackset-apprunner-vpc-in-pipelinebuiltartifactbuc-1a2b3c"
	copilotKeyARN  = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
	copilotBucketA = "arn:aws:s3:::" + copilotBucket
)

// artifactStatements returns the resources of the two artifact-bucket
// statements of the planned environment's manager role, or "" for each
// that is missing.
func artifactStatements(t *testing.T, planned *Planned) (bucket, key string) {
	t.Helper()
	for _, s := range planned.Stacks {
		if s.Name != envStack {
			continue
		}
		tmpl := string(s.Template)
		if i := strings.Index(tmpl, "Sid: PutObjectsToArtifactBucket"); i >= 0 {
			bucket = between(tmpl[i:], "Resource:\n", "\n")
		}
		if i := strings.Index(tmpl, "Sid: EncryptObjectsInArtifactBucket"); i >= 0 {
			key = between(tmpl[i:], "Resource: ", "\n")
		}
		return bucket, key
	}
	t.Fatalf("no %s stack planned", envStack)
	return "", ""
}

func between(s, after, before string) string {
	_, rest, ok := strings.Cut(s, after)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, before)
	return strings.Trim(strings.TrimSpace(v), "- ")
}

// Copilot renders PutObjectsToArtifactBucket (s3:PutObject and
// s3:PutObjectAcl on the application's regional bucket and its objects) and
// EncryptObjectsInArtifactBucket (kms:GenerateDataKey on the bucket's key)
// into every environment's EnvironmentManagerRole. A plan over such an
// environment, given neither the bucket nor the key, reads them from the
// deployed role and changes nothing in it.
func TestPlanOverCopilotEnvironmentKeepsArtifactStatements(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	withArtifacts := f.options(demoImage)
	withArtifacts.ArtifactsBucket, withArtifacts.ArtifactKeyARN = copilotBucket, copilotKeyARN
	if _, err := Deploy(ctx, withArtifacts); err != nil {
		t.Fatalf("setting up: %v", err)
	}
	live := f.cfn.StackTemplate(envStack)
	if !strings.Contains(live, copilotBucketA+"/*") || !strings.Contains(live, copilotKeyARN) {
		t.Fatalf("setting up: the role lacks the artifact statements:\n%s", live)
	}
	planned, err := Plan(ctx, f.options(demoImage))
	if err != nil {
		t.Fatal(err)
	}
	if bucket, key := artifactStatements(t, planned); bucket != copilotBucketA || key != copilotKeyARN {
		t.Errorf("statements name bucket %q and key %q, want the deployed %q and %q", bucket, key, copilotBucketA, copilotKeyARN)
	}
	for _, sp := range planned.Plan.Stacks {
		for _, c := range sp.Changes {
			if c.LogicalID == "EnvironmentManagerRole" || c.Action == deploy.ActionRemove {
				t.Errorf("%s: %s %s: the plan must leave the manager role alone", sp.StackName, c.Action, c.LogicalID)
			}
		}
	}

	// The deployed role wins over flags naming another bucket.
	other := f.options(demoImage)
	other.ArtifactsBucket, other.ArtifactKeyARN = "another-bucket", "arn:aws:kms:eu-west-1:123456789012:key/another"
	if planned, err = Plan(ctx, other); err != nil {
		t.Fatal(err)
	}
	if bucket, key := artifactStatements(t, planned); bucket != copilotBucketA || key != copilotKeyARN {
		t.Errorf("with other flags: bucket %q and key %q, want the deployed ones", bucket, key)
	}
}

// A new environment takes the bucket and key from --artifacts-bucket and
// --artifact-key-arn, or else from the outputs PipelineBucket and KMSKeyARN
// of the stack Copilot's application StackSet ("<app>-infrastructure") has
// in the account and region, as Copilot does.
func TestNewEnvironmentArtifactsFromFlagsOrTheApplicationStackSet(t *testing.T) {
	ctx := context.Background()
	t.Run("flags", func(t *testing.T) {
		f := newFakeAWS(t)
		o := f.options(demoImage)
		o.ArtifactsBucket, o.ArtifactKeyARN = copilotBucket, copilotKeyARN
		planned, err := Plan(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if bucket, key := artifactStatements(t, planned); bucket != copilotBucketA || key != copilotKeyARN {
			t.Errorf("bucket %q and key %q, want the flags' %q and %q", bucket, key, copilotBucketA, copilotKeyARN)
		}
	})
	t.Run("application StackSet", func(t *testing.T) {
		f := newFakeAWS(t)
		const appStack = "StackSet-apprunner-vpc-infrastructure-0a1b2c3d"
		if err := f.cfn.SeedStack(fakecfn.Seed{Name: appStack, Template: `Resources:
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
Outputs:
  KMSKeyARN: {Value: ` + copilotKeyARN + `}
  PipelineBucket: {Value: ` + copilotBucket + `}
`}); err != nil {
			t.Fatal(err)
		}
		// An instance in another region must not be read.
		f.cfn.SeedStackSetInstance("apprunner-vpc-infrastructure", "123456789012", "us-west-2", "missing")
		f.cfn.SeedStackSetInstance("apprunner-vpc-infrastructure", "123456789012", "eu-west-1", appStack)
		planned, err := Plan(ctx, f.options(demoImage))
		if err != nil {
			t.Fatal(err)
		}
		if bucket, key := artifactStatements(t, planned); bucket != copilotBucketA || key != copilotKeyARN {
			t.Errorf("bucket %q and key %q, want the StackSet's %q and %q", bucket, key, copilotBucketA, copilotKeyARN)
		}
		for _, s := range planned.Stacks {
			if s.Workload == "demo-service" && s.Parameters["ArtifactKeyARN"] != copilotKeyARN {
				t.Errorf("demo-service ArtifactKeyARN = %q, want the application's key", s.Parameters["ArtifactKeyARN"])
			}
		}
	})
	t.Run("neither", func(t *testing.T) {
		f := newFakeAWS(t)
		planned, err := Plan(ctx, f.options(demoImage))
		if err != nil {
			t.Fatal(err)
		}
		if bucket, key := artifactStatements(t, planned); bucket != "" || key != "" {
			t.Errorf("bucket %q and key %q from nowhere", bucket, key)
		}
	})
}
