package run

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	fakecloudfront "github.com/autopilot-dev/autopilot/internal/fakes/cloudfront"
	"github.com/autopilot-dev/autopilot/internal/fakes/registry"
	fakes3 "github.com/autopilot-dev/autopilot/internal/fakes/s3"
	"github.com/autopilot-dev/autopilot/internal/report"
)

const example = "../../examples/apprunner-vpc"

// fakeAWS is CloudFormation and S3 fakes with real SDK clients pointed at them.
type fakeAWS struct {
	cfn    *fakecfn.Server
	s3     *fakes3.Server
	s3c    *s3.Client
	cdn    *fakecloudfront.Server
	cdnc   *cloudfront.Client
	client *cloudformation.Client
	up     deploy.Uploader
}

// newFakeAWS starts the fakes; S3 holds the bucket artifacts and those
// named.
func newFakeAWS(t *testing.T, buckets ...string) *fakeAWS {
	t.Helper()
	f := &fakeAWS{cfn: fakecfn.New(fakecfn.WithExecDelay(20 * time.Millisecond)), s3: fakes3.New(append([]string{"artifacts"}, buckets...)...)}
	t.Cleanup(f.cfn.Close)
	t.Cleanup(f.s3.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "fake-secret"}, nil
	})}
	f.client = cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(f.cfn.URL) })
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(f.s3.URL); o.UsePathStyle = true })
	f.s3c = s3c
	f.cdn = fakecloudfront.New()
	t.Cleanup(f.cdn.Close)
	f.cdnc = cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) { o.BaseEndpoint = aws.String(f.cdn.URL) })
	up, err := deploy.NewS3Uploader(s3c, "artifacts")
	if err != nil {
		t.Fatal(err)
	}
	f.up = up
	return f
}

func (f *fakeAWS) options(built ...Built) PlanOptions {
	return PlanOptions{
		// The example's App Runner environment; staging (ECS Express Mode)
		// has tests of its own.
		Selection:      Selection{Paths: []string{example}, Envs: []string{"test"}, Lookup: func(string) (string, bool) { return "", false }},
		Built:          built,
		Revision:       "0123456789abcdef",
		RunID:          "7",
		CloudFormation: f.client,
		Uploader:       f.up,
		Account:        "123456789012",
		Region:         "eu-west-1",
		deployOpts: []deploy.Option{
			deploy.WithWaitDelays(5*time.Millisecond, 20*time.Millisecond),
			deploy.WithPollInterval(5 * time.Millisecond),
		},
	}
}

var demoImage = Built{Workload: "demo-service", URI: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/apprunner-vpc/demo-service:0123456",
	Image: deploy.Image{Workload: "demo-service", Repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/apprunner-vpc/demo-service", Tag: "0123456", Digest: "sha256:" + strings.Repeat("b", 64)}}

// The seed scenario end to end against CloudFormation's wire protocol: the
// environment is created before the service, the addons template goes
// through S3 as the nested stack, and a second deploy changes nothing.
func TestSeedScenarioDeploysThenHasNoChanges(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()

	planned, err := Plan(ctx, f.options(demoImage))
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if n := len(planned.Plan.Stacks); n != 2 {
		t.Fatalf("planned %d stacks, want the environment and demo-service", n)
	}
	for _, sp := range planned.Plan.Stacks {
		if sp.ChangeSetType != "CREATE" || sp.Error != "" {
			t.Errorf("%s: type %s error %q, want a CREATE change set", sp.StackName, sp.ChangeSetType, sp.Error)
		}
	}
	if got := f.cfn.Executions("apprunner-vpc-test"); got != 0 {
		t.Fatalf("plan executed %d change sets", got)
	}

	deployed, err := Deploy(ctx, f.options(demoImage))
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if !deployed.Result.Succeeded() {
		t.Fatalf("deploy failed: %+v", deployed.Result.Stacks)
	}
	for _, name := range []string{"apprunner-vpc-test", "apprunner-vpc-test-demo-service"} {
		if st := f.cfn.StackStatus(name); st != "CREATE_COMPLETE" {
			t.Errorf("%s is %s, want CREATE_COMPLETE", name, st)
		}
	}
	if f.s3.Keys("artifacts") == 0 {
		t.Error("the addons template was not uploaded to the artifacts bucket")
	}
	var order []string
	for _, c := range f.cfn.Calls() {
		if c.Action == "ExecuteChangeSet" {
			order = append(order, c.StackName())
		}
	}
	if len(order) != 2 || order[0] != "apprunner-vpc-test" {
		t.Errorf("executed %v, want the environment first", order)
	}

	again, err := Deploy(ctx, f.options(demoImage))
	if err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	for _, sp := range again.Result.Plan.Stacks {
		if !sp.NoChanges {
			t.Errorf("second deploy of %s has changes: %+v", sp.StackName, sp.Changes)
		}
	}
}

func TestDeployRefusesUnbuiltImages(t *testing.T) {
	f := newFakeAWS(t)
	_, err := Deploy(context.Background(), f.options())
	if err == nil || !strings.Contains(err.Error(), "autopilot build") {
		t.Fatalf("err = %v, want a message saying to build first", err)
	}
	if n := len(f.cfn.Calls()); n != 0 {
		t.Errorf("%d CloudFormation calls before refusing", n)
	}
}

func TestOfflinePlanOfTheExample(t *testing.T) {
	planned, err := Plan(context.Background(), PlanOptions{Selection: Selection{Paths: []string{example}}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	var adds int
	for _, sp := range planned.Plan.Stacks {
		adds += sp.Count().Add
	}
	if !planned.Plan.Offline || adds == 0 {
		t.Errorf("offline plan: offline=%v adds=%d, want everything added", planned.Plan.Offline, adds)
	}
}

func TestRenderStopsOnLintErrors(t *testing.T) {
	var out bytes.Buffer
	_, _, err := Render(context.Background(), RenderOptions{Selection: Selection{Paths: []string{"testdata/broken"}}, Diagnostics: &out})
	if err == nil || !strings.Contains(out.String(), "manifest.yml:4") {
		t.Fatalf("err = %v, output %q: want the lint finding with its line", err, out.String())
	}
}

// envController is what Copilot adds to a workload stack to flip the
// environment's NATWorkloads parameter: a custom resource backed by a
// Lambda function whose code sits in Copilot's artifact bucket.
const envController = `  EnvControllerAction:
    Type: Custom::EnvControllerFunction
    Properties:
      ServiceToken: !GetAtt EnvControllerFunction.Arn
      Workload: !Ref WorkloadName
      EnvStack: !Sub '${AppName}-${EnvName}'
      Parameters: [NATWorkloads]
  EnvControllerFunction:
    Type: AWS::Lambda::Function
    Properties:
      Code:
        S3Bucket: copilot-artifacts
        S3Key: manual/scripts/custom-resources/envcontrollerfunction/abc.zip
      Handler: index.handler
      Timeout: 900
      MemorySize: 512
      Role: !GetAtt EnvControllerRole.Arn
      Runtime: nodejs20.x
  EnvControllerRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: [lambda.amazonaws.com]}
            Action: [sts:AssumeRole]
`

// The first autopilot deploy over stacks Copilot created removes nothing
// and replaces nothing: the env controller is kept (retained), so its delete
// handler never takes the service out of NATWorkloads.
func TestFirstDeployOverCopilotStacksRemovesNothing(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	if _, err := Deploy(ctx, f.options(demoImage)); err != nil {
		t.Fatalf("setting up: %v", err)
	}
	// Make the service stack what Copilot would have left: the same
	// resources plus its env controller.
	const name = "apprunner-vpc-test-demo-service"
	copilotMade := strings.Replace(f.cfn.StackTemplate(name), "\nResources:\n", "\nResources:\n"+envController, 1)
	if copilotMade == f.cfn.StackTemplate(name) {
		t.Fatal("could not add the env controller to the template")
	}
	planned, err := Plan(ctx, f.options(demoImage))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, s := range planned.Stacks {
		if s.Name == name {
			for k, v := range s.Parameters {
				params[k] = v
			}
			params["AddonsTemplateURL"] = "https://example.com/addons.yml"
		}
	}
	if err := f.cfn.SeedStack(fakecfn.Seed{Name: name, Template: copilotMade, Parameters: params,
		Tags: map[string]string{"copilot-application": "apprunner-vpc", "copilot-environment": "test", "copilot-service": "demo-service"}}); err != nil {
		t.Fatal(err)
	}

	deployed, err := Deploy(ctx, f.options(demoImage))
	if err != nil {
		t.Fatalf("first autopilot deploy: %v", err)
	}
	removesNothing(t, deployed.Result.Plan)
	if got := f.cfn.StackTemplate(name); !strings.Contains(got, "EnvControllerAction") || !strings.Contains(got, "Retain") {
		t.Errorf("the env controller was not kept with DeletionPolicy Retain:\n%s", got)
	}
}

// When the database in the addons stack fails, the headline is the
// database's own reason, not the parent's "Embedded stack ... was not
// successfully created".
func TestFailedAddonNamesTheFailingResource(t *testing.T) {
	f := newFakeAWS(t)
	const reason = "Cannot find version 16.6 for aurora-postgresql (Service: Rds, Status Code: 400)"
	f.cfn.FailResource("apprunner-vpc-test-demo-service", "AddonsStack/demoDbDBCluster", reason)
	deployed, err := Deploy(context.Background(), f.options(demoImage))
	if err == nil && deployed.Result.Succeeded() {
		t.Fatal("deploy succeeded, want the addon failure")
	}
	var cause *deploy.StackEvent
	for _, sr := range deployed.Result.Stacks {
		if sr.RootCause != nil {
			cause = sr.RootCause
		}
	}
	if cause == nil || cause.LogicalID != "AddonsStack/demoDbDBCluster" || cause.Reason != reason || cause.ResourceType != "AWS::RDS::DBCluster" {
		t.Fatalf("root cause = %+v, want demoDbDBCluster inside AddonsStack with RDS's reason", cause)
	}
	if headline := report.FromResult(deployed.Result, nil).Headline(); !strings.Contains(headline, "Cannot find version 16.6") {
		t.Errorf("headline %q does not say why the database failed", headline)
	}
}

func TestDeployReportsTheServiceURL(t *testing.T) {
	f := newFakeAWS(t)
	deployed, err := Deploy(context.Background(), f.options(demoImage))
	if err != nil {
		t.Fatal(err)
	}
	urls := report.FromResult(deployed.Result, nil).ServiceURLs()
	if u := urls["demo-service"]; !strings.HasPrefix(u, "https://") || strings.Contains(u, "${") {
		t.Errorf("service URLs = %v, want demo-service's https URL", urls)
	}
}

// An environment deployed with a feature autopilot does not render yet (a
// managed EFS file system here) is refused rather than stripped of it.
func TestEnvironmentWithUnrenderedFeaturesIsRefused(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	if _, err := Deploy(ctx, f.options(demoImage)); err != nil {
		t.Fatalf("setting up: %v", err)
	}
	planned, err := Plan(ctx, f.options(demoImage))
	if err != nil {
		t.Fatal(err)
	}
	env := planned.Stacks[0]
	params := map[string]string{"EFSWorkloads": "files-svc"}
	for k, v := range env.Parameters {
		if _, set := params[k]; !set {
			params[k] = v
		}
	}
	if err := f.cfn.SeedStack(fakecfn.Seed{Name: env.Name, Template: f.cfn.StackTemplate(env.Name), Parameters: params}); err != nil {
		t.Fatal(err)
	}
	_, err = Deploy(ctx, f.options(demoImage))
	if err == nil {
		t.Fatal("deploy went ahead over an environment with a managed EFS file system")
	}
	// The re-seeded stack counts executions from zero.
	if !strings.Contains(err.Error(), "managed EFS file system") || f.cfn.Executions(env.Name) != 0 {
		t.Errorf("err = %v, executions %d: want a refusal naming EFS and nothing executed", err, f.cfn.Executions(env.Name))
	}
}

// Renaming the addon's database cluster deletes the deployed one: a deploy
// executes that only when the workflow allows it.
func TestDeployRefusesToDropTheDatabaseUnlessAllowed(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	if _, err := Deploy(ctx, f.options(demoImage)); err != nil {
		t.Fatalf("setting up: %v", err)
	}
	ws := t.TempDir()
	if err := os.CopyFS(ws, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	addon := filepath.Join(ws, "copilot/demo-service/addons/demoDb.yml")
	body, err := os.ReadFile(addon)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(addon, []byte(strings.ReplaceAll(string(body), "demoDbDBCluster", "ordersDBCluster")), 0o644); err != nil {
		t.Fatal(err)
	}
	o := f.options(demoImage)
	o.Paths = []string{ws}
	executed := f.cfn.Count("ExecuteChangeSet")

	// A plan shows the loss, and fails on it with fail-on-destructive.
	planned, err := Plan(ctx, o)
	if err != nil || len(planned.Plan.Destructive()) == 0 {
		t.Fatalf("plan: %v, %d destructive changes; want the cluster's removal shown", err, len(planned.Plan.Destructive()))
	}
	strict := o
	strict.FailOnDestructive = true
	if _, err := Plan(ctx, strict); !errors.Is(err, ErrDestructive) {
		t.Errorf("plan with fail-on-destructive: %v, want ErrDestructive", err)
	}

	_, err = Deploy(ctx, o)
	if !errors.Is(err, deploy.ErrDestructive) {
		t.Fatalf("deploy: %v, want the destructive refusal", err)
	}
	for _, want := range []string{"stack apprunner-vpc-test-demo-service/AddonsStack: demoDbDBCluster (AWS::RDS::DBCluster) is removed", "--allow-destroy-type", "allow-destructive: true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
	if n := f.cfn.Count("ExecuteChangeSet"); n != executed {
		t.Fatalf("%d change sets executed after the refusal", n-executed)
	}

	conflicting := o
	conflicting.FailOnDestructive, conflicting.AllowDestructive = true, true
	calls := f.cfn.Count("")
	if _, err := Deploy(ctx, conflicting); !errors.Is(err, ErrCannotRun) || f.cfn.Count("") != calls {
		t.Errorf("fail-on-destructive with allow-destructive: %v after %d calls, want a refusal before any", err, f.cfn.Count("")-calls)
	}

	o.AllowDestroyTypes = []string{"AWS::RDS::DBCluster", "AWS::RDS::DBInstance"}
	if _, err := Deploy(ctx, o); err != nil {
		t.Fatalf("deploy with the database types allowed: %v", err)
	}
}

// The attack: image.location names a tag; after review someone pushes
// other code under that tag, and the merge deploys it with the reviewed
// fingerprint. Pinned to its digest at plan time, the moved tag changes
// the fingerprint and the deploy refuses.
func TestImageLocationIsPinnedToItsDigest(t *testing.T) {
	reg := registry.StartT(t, func(o *registry.Options) { o.NoAuth = true })
	location := reg.Host + "/shop/api:1"
	push := func(content string) string {
		img, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte(content), types.DockerLayer))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(location)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d.String()
	}
	reviewedDigest := push("the reviewed code")
	ws := t.TempDir()
	writeFiles(t, ws, map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/api/manifest.yml":               "name: api\ntype: Backend Service\nimage:\n  location: " + location + "\n  port: 8080\n",
	})
	f := newFakeAWS(t)
	o := f.options()
	o.Paths = []string{ws}
	ctx := context.Background()
	planned, err := Plan(ctx, o)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	for _, s := range planned.Stacks {
		if s.Name == "shop-test-api" && s.Parameters["ContainerImage"] != reg.Host+"/shop/api@"+reviewedDigest {
			t.Errorf("ContainerImage = %q, want the location pinned to %s", s.Parameters["ContainerImage"], reviewedDigest)
		}
	}

	push("code pushed after the review")
	o.Fingerprint = planned.Plan.Fingerprint
	if _, err := Deploy(ctx, o); !errors.Is(err, deploy.ErrFingerprintMismatch) {
		t.Fatalf("deploy after the tag moved: %v, want the reviewed-plan refusal", err)
	}
	if n := f.cfn.Count("ExecuteChangeSet"); n != 0 {
		t.Errorf("%d change sets executed", n)
	}

	// An image that cannot be read stops the plan, naming the manifest line.
	manifest := filepath.Join(ws, "copilot/api/manifest.yml")
	if err := os.WriteFile(manifest, []byte("name: api\ntype: Backend Service\nimage:\n  location: "+reg.Host+"/shop/missing:1\n  port: 8080\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var diags bytes.Buffer
	o.Diagnostics = &diags
	if _, err := Plan(ctx, o); err == nil || !strings.Contains(diags.String()+err.Error(), "manifest.yml:4") {
		t.Errorf("plan of an unreadable image: %v\n%s\nwant a finding on image.location", err, diags.String())
	}
}

// copilotFlowLogs restates the flow-log resources Copilot v1.33 puts in an
// environment whose manifest sets network.vpc.flow_logs to any value
// (`false` included): a log group kept 14 days, the VPC flow log and the
// role it publishes with.
const copilotFlowLogs = `  VpcFlowLogGroup:
    Type: AWS::Logs::LogGroup
    Metadata:
      'aws:copilot:description': 'A CloudWatch log group with 14 days retention for VPC flow log data'
    Properties:
      LogGroupName: !Join ['-', [!Ref AppName, !Ref EnvironmentName, FlowLogs]]
      RetentionInDays: 14
  FlowLog:
    Type: AWS::EC2::FlowLog
    Properties:
      DeliverLogsPermissionArn: !GetAtt FlowLogRole.Arn
      LogDestinationType: cloud-watch-logs
      LogGroupName: !Ref VpcFlowLogGroup
      MaxAggregationInterval: 60
      ResourceId: !Ref VPC
      ResourceType: VPC
      TrafficType: ALL
  FlowLogRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: vpc-flow-logs.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: GrantAccesstoEC2toPublishFlowlogs
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents, logs:DescribeLogGroups, logs:DescribeLogStreams]
                Resource: '*'
`

// The seed example's environment as Copilot deployed it from a manifest
// with `flow_logs: false`: the stack has flow logs, and autopilot's first
// deploy from the same manifest keeps them (removes and replaces nothing).
func TestDeployOverCopilotEnvironmentKeepsFlowLogs(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	envManifest := filepath.Join(dir, "copilot", "environments", "test", "manifest.yml")
	opts := f.options(demoImage)
	opts.Paths = []string{dir}

	// An environment without flow logs, then made into Copilot's stack by
	// adding Copilot's flow-log resources and tags.
	body, err := os.ReadFile(envManifest)
	if err != nil {
		t.Fatal(err)
	}
	withoutFlowLogs := strings.Replace(string(body), "    flow_logs: true\n", "", 1)
	if withoutFlowLogs == string(body) {
		t.Fatal("the example manifest no longer sets flow_logs: true")
	}
	if err := os.WriteFile(envManifest, []byte(withoutFlowLogs), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Deploy(ctx, opts); err != nil {
		t.Fatalf("setting up: %v", err)
	}
	const env = "apprunner-vpc-test"
	live := f.cfn.StackTemplate(env)
	if strings.Contains(live, "FlowLog") {
		t.Fatal("setting up: the environment already has flow logs")
	}
	copilotMade := strings.Replace(live, "\nResources:\n", "\nResources:\n"+copilotFlowLogs, 1)
	planned, err := Plan(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cfn.SeedStack(fakecfn.Seed{Name: env, Template: copilotMade, Parameters: planned.Stacks[0].Parameters,
		Tags: map[string]string{"copilot-application": "apprunner-vpc", "copilot-environment": "test"}}); err != nil {
		t.Fatal(err)
	}

	// The manifest as the team wrote it for Copilot.
	if err := os.WriteFile(envManifest, []byte("name: test\ntype: Environment\nnetwork:\n  vpc:\n    flow_logs: false\nobservability:\n  container_insights: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deployed, err := Deploy(ctx, opts)
	if err != nil {
		t.Fatalf("first autopilot deploy: %v", err)
	}
	removesNothing(t, deployed.Result.Plan)
	after := f.cfn.StackTemplate(env)
	for _, id := range []string{"VpcFlowLogGroup:", "FlowLog:", "FlowLogRole:"} {
		if !strings.Contains(after, "\n  "+id) {
			t.Errorf("the environment lost %s", strings.TrimSuffix(id, ":"))
		}
	}
}

// SIGINT and SIGTERM cancel the command's context; a plan then stops
// with that error instead of rendering and planning on.
func TestPlanStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	planned, err := Plan(ctx, PlanOptions{Selection: Selection{Paths: []string{example}}, Offline: true})
	if !errors.Is(err, context.Canceled) || planned != nil {
		t.Fatalf("plan of a cancelled context = %v, %v; want nothing and context.Canceled", planned, err)
	}
}

// Without --strict the misspelled key is a warning, but the template
// rendered without the VPC placement still refers to the service's security
// group: the reference check stops the plan and names stack, resource and
// name.
func TestDanglingReferenceStopsThePlan(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "copilot/demo-service/manifest.yml")
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "placement: private", "placment: private", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	planned, err := Plan(context.Background(), PlanOptions{Selection: Selection{Paths: []string{dir}}, Offline: true})
	want := `stack apprunner-vpc-test-demo-service: resource AddonsStack: Fn::GetAtt names "ServiceSecurityGroup"`
	if planned != nil || err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("plan = %v, err = %v; want no plan and %q", planned, err, want)
	}
}

// The seed example's staging environment moves demo-service to ECS Express
// Mode in two reviewed steps against CloudFormation's wire protocol: step 1's
// plan (and PR comment) only adds the Express service beside App Runner and
// deploy reports the Express URL; step 2 removes App Runner. Asking for both
// at once is refused, and nothing is executed.
func TestExpressMigrationIsTwoReviewedSteps(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	manifestPath := filepath.Join(dir, "copilot", "demo-service", "manifest.yml")
	original, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	setRuntime := func(xAutopilot string) {
		t.Helper()
		body := strings.Replace(string(original), "    x-autopilot:\n      runtime: ecs-express\n", xAutopilot, 1)
		if body == string(original) && xAutopilot != "    x-autopilot:\n      runtime: ecs-express\n" {
			t.Fatal("the example no longer sets x-autopilot.runtime: ecs-express for staging")
		}
		if err := os.WriteFile(manifestPath, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := f.options(demoImage)
	opts.Paths, opts.Envs = []string{dir}, []string{"staging"}
	const stack = "apprunner-vpc-staging-demo-service"
	serviceChanges := func(p *deploy.Plan) deploy.StackPlan {
		t.Helper()
		for _, sp := range p.Stacks {
			if sp.StackName == stack {
				return sp
			}
		}
		t.Fatalf("no plan for %s", stack)
		return deploy.StackPlan{}
	}

	// The service runs on App Runner.
	setRuntime("    x-autopilot:\n      runtime: app-runner\n")
	if _, err := Deploy(ctx, opts); err != nil {
		t.Fatalf("deploy on App Runner: %v", err)
	}

	// Both steps in one change: refused, App Runner untouched.
	setRuntime("    x-autopilot:\n      runtime: ecs-express\n      app-runner: remove\n")
	if _, err := Deploy(ctx, opts); err == nil || !strings.Contains(err.Error(), "at once") {
		t.Fatalf("deploy creating Express and removing App Runner together: err = %v, want a refusal", err)
	}
	if !strings.Contains(f.cfn.StackTemplate(stack), "AWS::AppRunner::Service") || strings.Contains(f.cfn.StackTemplate(stack), "ExpressGatewayService") {
		t.Fatal("the refused deploy changed the stack")
	}

	// Step 1: the plan adds the Express service and its roles, changes and
	// removes nothing, and the PR comment shows the addition.
	setRuntime("    x-autopilot:\n      runtime: ecs-express\n")
	planned, err := Plan(ctx, opts)
	if err != nil {
		t.Fatalf("plan step 1: %v", err)
	}
	sp := serviceChanges(planned.Plan)
	if sp.Error != "" {
		t.Fatalf("step 1 refused: %s", sp.Error)
	}
	var added []string
	for _, c := range sp.Changes {
		if c.Action != deploy.ActionAdd || c.NestedStack != "" {
			t.Errorf("step 1 must only add resources: %s %s (%s)", c.Action, c.LogicalID, c.ResourceType)
		}
		added = append(added, c.LogicalID)
	}
	if !slices.Contains(added, "ExpressService") {
		t.Errorf("step 1 adds %v, want ExpressService", added)
	}
	comment := report.PlanComments(planned.Plan, report.RunInfo{})[0].Body
	if !strings.Contains(comment, "ExpressService") || !strings.Contains(comment, "AWS::ECS::ExpressGatewayService") {
		t.Errorf("the PR comment does not show the Express service being added:\n%s", comment)
	}
	deployed, err := Deploy(ctx, opts)
	if err != nil {
		t.Fatalf("deploy step 1: %v", err)
	}
	url := report.FromResult(deployed.Result, nil).ServiceURLs()["demo-service"]
	if !strings.HasPrefix(url, "https://") || !strings.Contains(url, "Endpoint") {
		t.Errorf("deploy reports %q, want the Express service's URL (its Endpoint)", url)
	}

	// Step 2: App Runner goes, the Express service and the database stay.
	setRuntime("    x-autopilot:\n      runtime: ecs-express\n      app-runner: remove\n")
	planned, err = Plan(ctx, opts)
	if err != nil {
		t.Fatalf("plan step 2: %v", err)
	}
	sp = serviceChanges(planned.Plan)
	if sp.Error != "" {
		t.Fatalf("step 2 refused: %s", sp.Error)
	}
	removed := map[string]bool{}
	for _, c := range sp.Changes {
		if c.Action == deploy.ActionRemove {
			removed[c.LogicalID] = true
		}
		if c.LogicalID == "ExpressService" || c.LogicalID == "ServiceSecurityGroup" || c.NestedStack != "" {
			t.Errorf("step 2 touches %s: %s", c.LogicalID, c.Action)
		}
	}
	if !removed["Service"] || !removed["VpcConnector"] {
		t.Errorf("step 2 removes %v, want the App Runner service and its VPC connector", removed)
	}
	if _, err := Deploy(ctx, opts); err != nil {
		t.Fatalf("deploy step 2: %v", err)
	}
	if live := f.cfn.StackTemplate(stack); strings.Contains(live, "AWS::AppRunner::") || !strings.Contains(live, "AWS::ECS::ExpressGatewayService") {
		t.Error("after step 2 the stack should hold the Express service and no App Runner resource")
	}
}
