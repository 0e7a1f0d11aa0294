package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
)

const (
	staticSiteWorkspace = "../render/testdata/static-site"
	siteStack           = "brochure-test-www"
	// siteBucket and siteDistribution are the fake CloudFormation's
	// physical IDs of the stack's Bucket and CloudFrontDistribution, which
	// its outputs name.
	siteBucket       = siteStack + "-Bucket"
	siteDistribution = siteStack + "-CloudFrontDistribution"
)

// copyDir copies a workspace so a test can edit its files.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), body, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// siteOptions plans dir with S3 and CloudFront clients on the fakes.
func (f *fakeAWS) siteOptions(dir string) PlanOptions {
	o := f.options()
	o.Paths = []string{dir}
	o.SiteBucket = f.s3c
	o.SiteCDN = f.cdnc
	return o
}

func siteResult(t *testing.T, stacks []deploy.StackPlan) *deploy.FileChanges {
	t.Helper()
	for _, sp := range stacks {
		if sp.StackName == siteStack {
			return sp.Files
		}
	}
	t.Fatalf("no plan for %s", siteStack)
	return nil
}

// The site's files through the real S3 client: plan counts them and puts
// nothing; deploy puts them with their content types once the stack (and
// so the bucket) exists; a later change puts only what changed and
// deletes what no file has any more; a deploy with nothing new does
// nothing.
func TestStaticSitePlanAndDeploy(t *testing.T) {
	f := newFakeAWS(t, siteBucket)
	ctx := context.Background()
	dir := copyDir(t, staticSiteWorkspace)

	planned, err := Plan(ctx, f.siteOptions(dir))
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	files := siteResult(t, planned.Plan.Stacks)
	if files == nil || files.Put != 6 || !files.NewBucket || files.Delete != 0 || files.PutBytes == 0 {
		t.Fatalf("plan files = %+v, want 6 files to put into a new bucket", files)
	}
	if n := f.s3.Keys(siteBucket); n != 0 {
		t.Fatalf("plan put %d objects in the site's bucket", n)
	}

	deployed, err := Deploy(ctx, f.siteOptions(dir))
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	var done *deploy.FileChanges
	for _, sr := range deployed.Result.Stacks {
		if sr.StackName == siteStack {
			done = sr.Files
		}
	}
	if done == nil || done.Put != 6 || done.PutBytes != files.PutBytes {
		t.Errorf("deploy files = %+v, want the 6 planned", done)
	}
	index, _ := os.ReadFile(filepath.Join(dir, "site/index.html"))
	if body, ok := f.s3.Object(siteBucket, "index.html"); !ok || string(body) != string(index) {
		t.Errorf("index.html in the bucket = %q, want the file", body)
	}
	if got := f.s3.ContentType(siteBucket, "css/main.css"); got != "text/css; charset=utf-8" {
		t.Errorf("css/main.css content type %q", got)
	}
	if _, ok := f.s3.Object(siteBucket, "drafts/plans.md"); ok {
		t.Error("an excluded draft was published")
	}
	if inv := f.cdn.Invalidations(siteDistribution); len(inv) != 1 || len(inv[0].Paths) != 1 || inv[0].Paths[0] != "/*" || done.Invalidation != inv[0].ID {
		t.Errorf("invalidations after the first sync = %+v (reported %q), want one of /*", inv, done.Invalidation)
	}

	// Edit one page, remove robots.txt from the workspace.
	if err := os.WriteFile(filepath.Join(dir, "site/index.html"), []byte("<h1>New</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "robots.txt")); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "copilot/www/manifest.yml")
	m, _ := os.ReadFile(manifest)
	if err := os.WriteFile(manifest, []byte(strings.Replace(string(m), "  - source: robots.txt\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	planned, err = Plan(ctx, f.siteOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := siteResult(t, planned.Plan.Stacks); got == nil || got.Put != 1 || got.PutBytes != int64(len("<h1>New</h1>\n")) || got.Delete != 1 || got.Unchanged != 4 || got.NewBucket {
		t.Errorf("second plan files = %+v, want index.html put, robots.txt deleted, 4 unchanged", got)
	}
	if !planned.Plan.HasChanges() {
		t.Error("a plan whose only change is the site's files says nothing changes")
	}
	if _, err := Deploy(ctx, f.siteOptions(dir)); err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	if body, _ := f.s3.Object(siteBucket, "index.html"); string(body) != "<h1>New</h1>\n" {
		t.Errorf("index.html = %q after the second deploy", body)
	}
	if _, ok := f.s3.Object(siteBucket, "robots.txt"); ok {
		t.Error("robots.txt was not deleted")
	}

	puts := f.s3.Puts()
	again, err := Deploy(ctx, f.siteOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := siteResult(t, again.Result.Plan.Stacks); got.Changed() || f.s3.Puts() != puts {
		t.Errorf("a deploy with nothing new changed files: %+v, %d puts", got, f.s3.Puts()-puts)
	}
	if n := len(f.cdn.Invalidations(siteDistribution)); n != 2 {
		t.Errorf("%d invalidations after two syncs that changed files and one that did not, want 2", n)
	}
}

// What merges is what was reviewed: a file changed after the plan was
// approved refuses the deploy before anything executes.
func TestStaticSiteFileChangedAfterReviewIsRefused(t *testing.T) {
	f := newFakeAWS(t, siteBucket)
	ctx := context.Background()
	dir := copyDir(t, staticSiteWorkspace)
	planned, err := Plan(ctx, f.siteOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site/index.html"), []byte("<script>steal()</script>"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := f.siteOptions(dir)
	o.Fingerprint = planned.Plan.Fingerprint
	_, err = Deploy(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "plan differs from the reviewed plan") {
		t.Fatalf("err = %v, want the deploy refused as different from the reviewed plan", err)
	}
	if n := f.s3.Keys(siteBucket); n != 0 || f.cfn.Executions(siteStack) != 0 {
		t.Errorf("after the refusal: %d objects put, %d executions", n, f.cfn.Executions(siteStack))
	}
}

// copilotFileCopy restates what Copilot's Static Site template adds to copy
// the files: a Lambda-backed custom resource (code in Copilot's bucket)
// that starts a Step Functions state machine copying from the artifacts
// bucket, each with its role; the role reads ArtifactKeyARN.
const copilotFileCopy = `  TriggerStateMachineFunction:
    Type: AWS::Lambda::Function
    Properties:
      Handler: index.handler
      Role: !GetAtt TriggerStateMachineFunctionRole.Arn
      Runtime: nodejs20.x
      Timeout: 900
      MemorySize: 512
      Code:
        S3Bucket: copilot-artifacts
        S3Key: manual/scripts/custom-resources/triggerstatemachinefunction/abc.zip
  TriggerStateMachineFunctionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  TriggerStateMachineAction:
    Type: Custom::TriggerStateMachine
    DependsOn: [Bucket, BucketPolicyForCloudFront, CloudFrontOriginAccessControl, CloudFrontDistribution, TriggerStateMachineFunction,
      TriggerStateMachineFunctionRole, CopyAssetsStateMachine, CopyAssetsStateMachineRole, EnvManagerS3Access]
    Properties:
      ServiceToken: !GetAtt TriggerStateMachineFunction.Arn
      StateMachineARN: !GetAtt CopyAssetsStateMachine.Arn
      AssetMappingFilePath: local-assets/environments/test/workloads/www/mapping/abc
  CopyAssetsStateMachine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt CopyAssetsStateMachineRole.Arn
      StateMachineType: EXPRESS
      Definition:
        StartAt: Done
        States:
          Done: {Type: Pass, End: true, Parameters: {Bucket: !Ref Bucket, DistributionId: !Ref CloudFrontDistribution}}
  CopyAssetsStateMachineRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement:
          - Effect: Allow
            Principal: {Service: [states.amazonaws.com]}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: ArtifactBucketAccess
          PolicyDocument:
            Version: 2012-10-17
            Statement:
              - Effect: Allow
                Action: kms:Decrypt
                Resource: !Ref ArtifactKeyARN
`

// The first autopilot deploy over a Static Site Copilot made removes
// nothing: the copy machinery is carried over retained (its custom
// resource's handler never runs), the bucket and distribution are kept,
// and the plan already counts what the sync will do to the bucket Copilot
// filled: here a file Copilot's copy left that no file of the workspace
// has any more (Copilot never deletes).
func TestFirstDeployOverCopilotStaticSiteRemovesNothing(t *testing.T) {
	f := newFakeAWS(t, siteBucket)
	ctx := context.Background()
	if _, err := Deploy(ctx, f.siteOptions(staticSiteWorkspace)); err != nil {
		t.Fatalf("setting up: %v", err)
	}
	tpl := f.cfn.StackTemplate(siteStack)
	copilotMade := strings.Replace(tpl, "\nResources:\n", "\nResources:\n"+copilotFileCopy, 1)
	copilotMade = strings.Replace(copilotMade, "\nParameters:\n", "\nParameters:\n  ArtifactKeyARN:\n    Type: String\n", 1)
	if err := f.cfn.SeedStack(fakecfn.Seed{Name: siteStack, Template: copilotMade,
		Parameters: map[string]string{"AppName": "brochure", "EnvName": "test", "WorkloadName": "www", "AddonsTemplateURL": "",
			"ArtifactKeyARN": "arn:aws:kms:eu-west-1:123456789012:key/k"},
		Tags: map[string]string{"copilot-application": "brochure", "copilot-environment": "test", "copilot-service": "www"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(siteBucket), Key: aws.String("old/launch.html"), Body: strings.NewReader("old")}); err != nil {
		t.Fatal(err)
	}
	deployed, err := Deploy(ctx, f.siteOptions(staticSiteWorkspace))
	if err != nil {
		t.Fatalf("first autopilot deploy: %v", err)
	}
	removesNothing(t, deployed.Result.Plan)
	if got := siteResult(t, deployed.Result.Plan.Stacks); got == nil || got.NewBucket || got.Put != 0 || got.Delete != 1 || got.Unchanged != 6 {
		t.Errorf("plan files = %+v, want the old page to delete and 6 files unchanged", got)
	}
	if _, ok := f.s3.Object(siteBucket, "old/launch.html"); ok {
		t.Error("the page no file has any more was not deleted")
	}
	got := f.cfn.StackTemplate(siteStack)
	for _, id := range []string{"TriggerStateMachineAction", "TriggerStateMachineFunction", "CopyAssetsStateMachine", "CopyAssetsStateMachineRole", "TriggerStateMachineFunctionRole"} {
		if !strings.Contains(got, id+":") {
			t.Errorf("%s was not carried over", id)
		}
	}
	if strings.Count(got, "DeletionPolicy: Retain") < 5 {
		t.Errorf("the copy machinery is not retained:\n%s", got)
	}
	for _, sr := range deployed.Result.Stacks {
		if sr.StackName == siteStack && (sr.Files == nil || sr.Error != "") {
			t.Errorf("site not synced: %+v", sr)
		}
	}
}
