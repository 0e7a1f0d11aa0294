package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
)

func TestFirstDeployCreatesStacksInDependencyOrder(t *testing.T) {
	e := newEnv(t)
	stacks := []deploy.Stack{serviceStack("api", "2 GB", "img:1"), envStack(), serviceStack("web", "2 GB", "img:1")}
	res, err := e.deployer(t).Deploy(context.Background(), stacks)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if !res.Succeeded() {
		t.Fatalf("result not successful: %+v", res.Stacks)
	}
	for _, name := range []string{"app-test", "app-test-api", "app-test-web"} {
		if got := e.cfn.StackStatus(name); got != "CREATE_COMPLETE" {
			t.Errorf("stack %s is %s, want CREATE_COMPLETE", name, got)
		}
		sp := find(t, res.Plan, name)
		if sp.ChangeSetType != "CREATE" || sp.ChangeSetName != "autopilot-deploy-0123456-42" {
			t.Errorf("stack %s: change set %s %s, want CREATE autopilot-deploy-0123456-42", name, sp.ChangeSetType, sp.ChangeSetName)
		}
		for _, c := range sp.Changes {
			if c.Action != deploy.ActionAdd {
				t.Errorf("stack %s: %s is %s, want Add", name, c.LogicalID, c.Action)
			}
		}
	}
	if res.Plan.Stacks[0].StackName != "app-test" {
		t.Errorf("plan starts with %s, want the environment first", res.Plan.Stacks[0].StackName)
	}
	// The environment executes before either service.
	var executed []string
	for _, c := range e.cfn.Calls() {
		if c.Action == "ExecuteChangeSet" {
			executed = append(executed, c.StackName())
		}
	}
	if len(executed) != 3 || executed[0] != "app-test" {
		t.Errorf("executed %v, want app-test first of three", executed)
	}
	// Every CreateChangeSet asks for the capabilities and nested stacks.
	for _, c := range e.cfn.Calls() {
		if c.Action != "CreateChangeSet" {
			continue
		}
		caps := []string{c.Params.Get("Capabilities.member.1"), c.Params.Get("Capabilities.member.2"), c.Params.Get("Capabilities.member.3")}
		if diff := cmp.Diff([]string{"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}, caps); diff != "" {
			t.Errorf("capabilities (-want +got):\n%s", diff)
		}
		if c.Params.Get("IncludeNestedStacks") != "true" {
			t.Errorf("CreateChangeSet for %s without IncludeNestedStacks", c.StackName())
		}
	}
	// Events streamed per stack, ending with the stack's own completion.
	evs := e.events.of("app-test-api")
	if len(evs) == 0 || evs[len(evs)-1].Status != "CREATE_COMPLETE" || evs[len(evs)-1].LogicalID != "app-test-api" {
		t.Errorf("events of app-test-api = %+v, want them to end with the stack's CREATE_COMPLETE", evs)
	}
	if got := res.Stacks[0].Outputs["VpcId"]; got != "app-test-VPC" {
		t.Errorf("outputs of app-test = %v, want VpcId", res.Stacks[0].Outputs)
	}
	if len(e.cfn.ChangeSets("app-test-api")) > 1 {
		t.Errorf("change sets left: %v", e.cfn.ChangeSets("app-test-api"))
	}
}

func TestUpdateShowsPropertyChanges(t *testing.T) {
	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
	next := serviceStack("api", "4 GB", "img:2")
	res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{next})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	sp := find(t, res.Plan, "app-test-api")
	if sp.ChangeSetType != "UPDATE" {
		t.Errorf("change set type %s, want UPDATE", sp.ChangeSetType)
	}
	svc, ok := change(sp, "Service")
	if !ok {
		t.Fatalf("no change for Service in %+v", sp.Changes)
	}
	want := []deploy.PropertyChange{
		{Path: "Properties.InstanceConfiguration.Memory", Before: "2 GB", After: "4 GB", RequiresRecreation: "Never", ChangeSource: "DirectModification"},
		{Path: "Properties.SourceConfiguration.ImageRepository.ImageIdentifier", Before: "img:1", After: "img:2", RequiresRecreation: "Never", ChangeSource: "ParameterReference"},
	}
	if diff := cmp.Diff(want, svc.Details); diff != "" {
		t.Errorf("Service details (-want +got):\n%s", diff)
	}
	if svc.Action != deploy.ActionModify || svc.Replacement != deploy.ReplacementFalse || svc.Destructive {
		t.Errorf("Service change = %+v, want an in-place Modify", svc)
	}
	if got := e.cfn.StackStatus("app-test-api"); got != "UPDATE_COMPLETE" {
		t.Errorf("stack status %s, want UPDATE_COMPLETE", got)
	}
	if got := e.cfn.StackTemplate("app-test-api"); got != string(next.Template) {
		t.Errorf("deployed template is not the new one:\n%s", got)
	}
}

func TestNoChangesIsSuccessAndLeavesNoChangeSet(t *testing.T) {
	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
	res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{serviceStack("api", "2 GB", "img:1")})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	sp := find(t, res.Plan, "app-test-api")
	if !sp.NoChanges || len(sp.Changes) != 0 || sp.Error != "" {
		t.Errorf("plan = %+v, want no changes", sp)
	}
	if !res.Stacks[0].NoChanges || res.Stacks[0].Executed {
		t.Errorf("result = %+v, want not executed, no changes", res.Stacks[0])
	}
	if cs := e.cfn.ChangeSets("app-test-api"); len(cs) != 0 {
		t.Errorf("change sets left behind: %v", cs)
	}
	if n := e.cfn.Executions("app-test-api"); n != 0 {
		t.Errorf("%d executions, want 0", n)
	}
	if res.Plan.HasChanges() {
		t.Error("plan reports changes")
	}
}

func TestFailedChangeSetShowsReason(t *testing.T) {
	e := newEnv(t)
	reason := "Transform AWS::Include failed with: S3 bucket [doesnotexist] does not exist."
	e.cfn.FailChangeSet("app-test-api", reason)
	plan, err := e.planner(t).Plan(context.Background(), []deploy.Stack{serviceStack("api", "2 GB", "img:1")})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	sp := find(t, plan, "app-test-api")
	if sp.Status != "FAILED" || sp.StatusReason != reason || !strings.Contains(sp.Error, reason) {
		t.Errorf("plan = status %q reason %q error %q, want FAILED with the reason", sp.Status, sp.StatusReason, sp.Error)
	}
	if cs := e.cfn.ChangeSets("app-test-api"); len(cs) != 0 {
		t.Errorf("change sets left behind: %v", cs)
	}
	if st := e.cfn.StackStatus("app-test-api"); st != "" && st != "DELETE_IN_PROGRESS" {
		t.Errorf("empty stack left in %s", st)
	}
}

func TestRollbackReportsRootCause(t *testing.T) {
	tests := []struct {
		name       string
		seed       bool
		wantStatus string
	}{
		{name: "create", wantStatus: "ROLLBACK_COMPLETE"},
		{name: "update", seed: true, wantStatus: "UPDATE_ROLLBACK_COMPLETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.seed {
				e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
			}
			reason := "Resource handler returned message: \"Image img:2 not found\" (HandlerErrorCode: NotFound)"
			e.cfn.FailResource("app-test-api", "Service", reason)
			res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{serviceStack("api", "4 GB", "img:2")})
			if err == nil {
				t.Fatal("Deploy succeeded, want the failure")
			}
			wantHeadline := "stack app-test-api: Service (AWS::AppRunner::Service) "
			if !strings.HasPrefix(err.Error(), wantHeadline) || !strings.Contains(err.Error(), reason) {
				t.Errorf("error = %q, want headline %q… with the reason", err, wantHeadline)
			}
			sr := res.Stacks[0]
			if sr.Status != tt.wantStatus || sr.RootCause == nil || sr.RootCause.LogicalID != "Service" || sr.RootCause.Reason != reason {
				t.Errorf("result = %+v, want %s with root cause Service", sr, tt.wantStatus)
			}
		})
	}
}

func TestRollbackCompleteStack(t *testing.T) {
	seed := fakecfn.Seed{Name: "app-test-api", Status: "ROLLBACK_COMPLETE", Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}}
	t.Run("reported with what to do", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, seed)
		res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{serviceStack("api", "2 GB", "img:1")})
		if err == nil {
			t.Fatal("Deploy succeeded on a ROLLBACK_COMPLETE stack")
		}
		for _, want := range []string{"ROLLBACK_COMPLETE", "delete-stack --stack-name app-test-api", "--recreate-failed"} {
			if !strings.Contains(res.Stacks[0].Error, want) {
				t.Errorf("error %q does not mention %q", res.Stacks[0].Error, want)
			}
		}
		if e.cfn.Count("CreateChangeSet")+e.cfn.Count("DeleteStack") != 0 {
			t.Error("the stack was touched without the opt-in flag")
		}
	})
	t.Run("plan with recreate previews a creation", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, seed)
		plan, err := e.planner(t, deploy.WithRecreateFailed(true)).Plan(context.Background(), []deploy.Stack{serviceStack("api", "2 GB", "img:1")})
		if err != nil {
			t.Fatal(err)
		}
		sp := plan.Stacks[0]
		if sp.ChangeSetType != "CREATE" || len(sp.Changes) != 3 || !strings.Contains(sp.StatusReason, "deletes and recreates") {
			t.Errorf("plan = %+v, want a CREATE preview of 3 resources", sp)
		}
		if e.cfn.Count("DeleteStack") != 0 {
			t.Error("plan deleted the stack")
		}
	})
	t.Run("deploy with recreate", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, seed)
		res, err := e.deployer(t, deploy.WithRecreateFailed(true)).Deploy(context.Background(), []deploy.Stack{serviceStack("api", "2 GB", "img:1")})
		if err != nil {
			t.Fatalf("Deploy: %v", err)
		}
		if res.Stacks[0].Status != "CREATE_COMPLETE" || e.cfn.Count("DeleteStack") != 1 {
			t.Errorf("result %+v after %d DeleteStack calls, want recreated", res.Stacks[0], e.cfn.Count("DeleteStack"))
		}
	})
}

func TestBusyStack(t *testing.T) {
	t.Run("waited for", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, fakecfn.Seed{Name: "app-test-api", Status: "UPDATE_IN_PROGRESS", BusyFor: 300 * time.Millisecond,
			Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
		res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{serviceStack("api", "4 GB", "img:1")})
		if err != nil {
			t.Fatalf("Deploy: %v", err)
		}
		if res.Stacks[0].Status != "UPDATE_COMPLETE" {
			t.Errorf("status %s, want UPDATE_COMPLETE", res.Stacks[0].Status)
		}
		if n := callsFor(e.cfn, "DescribeStacks", "app-test-api"); n < 2 {
			t.Errorf("%d DescribeStacks calls, want polling while busy", n)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, fakecfn.Seed{Name: "app-test-api", Status: "UPDATE_IN_PROGRESS", BusyFor: time.Hour,
			Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
		plan, err := e.planner(t, deploy.WithTimeouts(0, 200*time.Millisecond, 0)).Plan(context.Background(), []deploy.Stack{serviceStack("api", "4 GB", "img:1")})
		if err != nil {
			t.Fatal(err)
		}
		if got := plan.Stacks[0].Error; !strings.Contains(got, "still UPDATE_IN_PROGRESS") || !strings.Contains(got, "cancel-update-stack") {
			t.Errorf("error = %q, want it to say the stack is still busy and what to do", got)
		}
		if e.cfn.Count("CreateChangeSet") != 0 {
			t.Error("a change set was created on a busy stack")
		}
	})
}

func TestLargeTemplateGoesThroughS3(t *testing.T) {
	e := newEnv(t)
	var b strings.Builder
	b.WriteString("Resources:\n")
	for i := 0; b.Len() <= 60000; i++ {
		fmt.Fprintf(&b, "  Topic%04d:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: %s\n", i, strings.Repeat("x", 40))
	}
	big := deploy.Stack{Name: "app-test-big", Template: []byte(b.String())}
	res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{big})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	var create fakecfn.Call
	for _, c := range e.cfn.Calls() {
		if c.Action == "CreateChangeSet" {
			create = c
		}
	}
	url := create.Params.Get("TemplateURL")
	if create.Params.Get("TemplateBody") != "" || !strings.HasPrefix(url, e.s3.URL+"/artifacts/autopilot/deploy/templates/app-test-big/") {
		t.Errorf("CreateChangeSet TemplateURL %q, body set %v; want an upload to the artifacts bucket", url, create.Params.Get("TemplateBody") != "")
	}
	if got := e.cfn.StackTemplate("app-test-big"); got != b.String() {
		t.Error("deployed template differs from the uploaded one")
	}
	if res.Stacks[0].Status != "CREATE_COMPLETE" {
		t.Errorf("status %s", res.Stacks[0].Status)
	}
}

func TestThreeHundredChangesAcrossPages(t *testing.T) {
	e := newEnv(t)
	var b strings.Builder
	b.WriteString("Resources:\n")
	for i := range 300 {
		fmt.Fprintf(&b, "  Queue%03d:\n    Type: AWS::SQS::Queue\n", i)
	}
	plan, err := e.planner(t).Plan(context.Background(), []deploy.Stack{{Name: "app-test-queues", Template: []byte(b.String())}})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(plan.Stacks[0].Changes); got != 300 {
		t.Errorf("%d changes, want 300", got)
	}
	seen := map[string]bool{}
	for _, c := range plan.Stacks[0].Changes {
		seen[c.LogicalID] = true
	}
	if len(seen) != 300 {
		t.Errorf("%d distinct resources, want 300 (pages repeated or lost)", len(seen))
	}
	// The waiter's last poll is page 1; pages 2 and 3 follow with a token.
	tokens := map[string]bool{}
	for _, c := range e.cfn.Calls() {
		if c.Action == "DescribeChangeSet" && c.Params.Get("NextToken") != "" {
			tokens[c.Params.Get("NextToken")] = true
		}
	}
	if len(tokens) != 2 {
		t.Errorf("read pages after tokens %v, want 2 more pages (3 pages of 100)", tokens)
	}
}

func TestFingerprintMismatchExecutesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	stacks := []deploy.Stack{envStack()}
	reviewed := "sha256:" + strings.Repeat("0", 64)
	res, err := e.deployer(t, deploy.RequireFingerprint(reviewed)).Deploy(ctx, stacks)
	if !errors.Is(err, deploy.ErrFingerprintMismatch) {
		t.Fatalf("error = %v, want ErrFingerprintMismatch", err)
	}
	if !strings.Contains(err.Error(), reviewed) || !strings.Contains(err.Error(), res.Plan.Fingerprint) {
		t.Errorf("error %q should name both fingerprints", err)
	}
	if n := e.cfn.Count("ExecuteChangeSet"); n != 0 || len(e.cfn.ChangeSets("app-test")) != 0 {
		t.Errorf("%d executions, change sets left %v; want none", n, e.cfn.ChangeSets("app-test"))
	}
	// The plan's own fingerprint deploys: planning and deploying agree.
	plan, err := e.planner(t).Plan(ctx, stacks)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.deployer(t, deploy.RequireFingerprint(plan.Fingerprint)).Deploy(ctx, stacks); err != nil {
		t.Errorf("Deploy with the reviewed fingerprint: %v", err)
	}
}

func TestCancellationLeavesNoChangeSet(t *testing.T) {
	e := newEnv(t, fakecfn.WithCreateDelay(5*time.Second))
	e.seed(t, fakecfn.Seed{Name: "app-test", Template: envTemplate, Parameters: map[string]string{"AppName": "app"}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := e.deployer(t).Deploy(ctx, []deploy.Stack{envStack(), serviceStack("api", "2 GB", "img:1"), serviceStack("web", "2 GB", "img:1")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("Deploy took %s after cancellation, want it to stop waiting", time.Since(start))
	}
	for _, name := range []string{"app-test", "app-test-api", "app-test-web"} {
		if cs := e.cfn.ChangeSets(name); len(cs) != 0 {
			t.Errorf("stack %s: change sets left behind: %v", name, cs)
		}
	}
	if e.cfn.Count("ExecuteChangeSet") != 0 {
		t.Error("a change set was executed after cancellation")
	}
	want := map[string]string{"app-test": "CREATE_COMPLETE"}
	for _, sr := range res.Stacks {
		if sr.StackName == "app-test" && sr.Status != want["app-test"] {
			t.Errorf("app-test reported %q, want CREATE_COMPLETE", sr.Status)
		}
	}
	if !strings.Contains(err.Error(), "app-test CREATE_COMPLETE") {
		t.Errorf("error %q should report each stack's state", err)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	const password = "hunter2-correct-horse"
	const tmpl = `Parameters:
  DBPassword:
    Type: String
    NoEcho: true
  Size:
    Type: String
Resources:
  Cluster:
    Type: AWS::RDS::DBCluster
    Properties:
      Engine: aurora-postgresql
      MasterUserPassword: !Ref DBPassword
      ServerlessV2ScalingConfiguration:
        MaxCapacity: !Ref Size
  Service:
    Type: AWS::AppRunner::Service
    Properties:
      SourceConfiguration:
        ImageRepository:
          ImageConfiguration:
            RuntimeEnvironmentSecrets:
              - Name: TOKEN
                Value: "{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:db-abc:SecretString:token}}"
`
	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "app-test-db", Template: tmpl, Parameters: map[string]string{"DBPassword": "old-password-value", "Size": "2"}})
	e.cfn.FailResource("app-test-db", "Cluster", "Invalid master password "+password)
	stack := deploy.Stack{Name: "app-test-db", Template: []byte(strings.ReplaceAll(tmpl, "{{resolve:secretsmanager:arn", "{{resolve:secretsmanager:arn2")),
		Parameters: map[string]string{"DBPassword": password, "Size": "4"}}
	res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
	if err == nil {
		t.Fatal("Deploy succeeded, want the injected failure")
	}
	out, _ := json.Marshal(res)
	var events strings.Builder
	for _, ev := range e.events.of("app-test-db") {
		events.WriteString(ev.Reason)
	}
	for where, text := range map[string]string{"result": string(out), "error": err.Error(), "log": e.logs.String(), "events": events.String()} {
		for _, secret := range []string{password, "old-password-value", "secret:db-abc"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains %q", where, secret)
			}
		}
	}
	cluster, _ := change(res.Plan.Stacks[0], "Cluster")
	if !strings.Contains(string(out), "****") || len(cluster.Details) == 0 {
		t.Errorf("masked values missing from the plan: %s", out)
	}
}

func TestCopilotAdoptionKeepsEnvController(t *testing.T) {
	const copilotTemplate = `Parameters:
  AppName: {Type: String}
  EnvName: {Type: String}
  WorkloadName: {Type: String}
  ContainerImage: {Type: String}
Resources:
  EnvControllerAction:
    Type: Custom::EnvControllerFunction
    Properties:
      ServiceToken: !GetAtt EnvControllerFunction.Arn
      Workload: !Ref WorkloadName
      EnvStack: !Sub '${AppName}-${EnvName}'
      Parameters: [NATWorkloads]
  EnvControllerFunction:
    Type: AWS::Lambda::Function
    Properties:
      Handler: index.handler
      Role: !GetAtt EnvControllerRole.Arn
      Runtime: nodejs20.x
  EnvControllerRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  Service:
    Type: AWS::AppRunner::Service
    Properties:
      SourceConfiguration:
        ImageRepository:
          ImageIdentifier: !Ref ContainerImage
`
	const autopilotTemplate = `Parameters:
  ContainerImage: {Type: String}
Resources:
  Service:
    Type: AWS::AppRunner::Service
    Properties:
      SourceConfiguration:
        ImageRepository:
          ImageIdentifier: !Ref ContainerImage
`
	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: copilotTemplate,
		Parameters: map[string]string{"AppName": "app", "EnvName": "test", "WorkloadName": "api", "ContainerImage": "img:1"}})
	stack := deploy.Stack{Name: "app-test-api", Template: []byte(autopilotTemplate), Parameters: map[string]string{"ContainerImage": "img:2"}}

	res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
	if err != nil {
		t.Fatalf("first deploy: %v", err)
	}
	first := actions(res.Plan.Stacks[0])
	if diff := cmp.Diff(map[string]deploy.Action{"Service": deploy.ActionModify}, first); diff != "" {
		t.Errorf("first deploy over a Copilot stack (-want +got):\n%s", diff)
	}
	deployed := e.cfn.StackTemplate("app-test-api")
	for _, id := range []string{"EnvControllerAction", "EnvControllerFunction", "EnvControllerRole"} {
		if !strings.Contains(deployed, id+":") {
			t.Errorf("%s not carried over", id)
		}
	}
	if strings.Count(deployed, "DeletionPolicy: Retain") != 3 {
		t.Errorf("carried resources not retained:\n%s", deployed)
	}
	// The carried parameters keep their deployed values.
	var create fakecfn.Call
	for _, c := range e.cfn.Calls() {
		if c.Action == "CreateChangeSet" {
			create = c
		}
	}
	if !strings.Contains(create.Params.Encode(), "UsePreviousValue%5D") && !strings.Contains(create.Params.Encode(), "UsePreviousValue=true") {
		t.Errorf("carried parameters not passed with UsePreviousValue: %s", create.Params.Encode())
	}

	// A later deploy lets them drop: removed but retained, not destructive.
	res, err = e.deployer(t, deploy.WithRevision("fedcba9876543210", "43")).Deploy(context.Background(), []deploy.Stack{stack})
	if err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	second := actions(res.Plan.Stacks[0])
	want := map[string]deploy.Action{"EnvControllerAction": deploy.ActionRemove, "EnvControllerFunction": deploy.ActionRemove, "EnvControllerRole": deploy.ActionRemove}
	if diff := cmp.Diff(want, second); diff != "" {
		t.Errorf("second deploy (-want +got):\n%s", diff)
	}
	for _, c := range res.Plan.Stacks[0].Changes {
		if c.Destructive {
			t.Errorf("%s marked destructive though retained", c.LogicalID)
		}
	}
	skipped := 0
	for _, ev := range e.events.of("app-test-api") {
		if ev.Status == "DELETE_SKIPPED" {
			skipped++
		}
	}
	if skipped != 3 {
		t.Errorf("%d DELETE_SKIPPED events, want 3 (retained, no delete call)", skipped)
	}
}

func TestTransientErrorsRetriedNothingExecutedTwice(t *testing.T) {
	e := newEnv(t)
	e.cfn.Throttle("CreateChangeSet", 2)
	e.cfn.Throttle("DescribeStacks", 1)
	e.cfn.LoseResponse("ExecuteChangeSet", 1)
	res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{envStack()})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Stacks[0].Status != "CREATE_COMPLETE" {
		t.Errorf("status %s", res.Stacks[0].Status)
	}
	if n := e.cfn.Count("ExecuteChangeSet"); n != 2 {
		t.Errorf("%d ExecuteChangeSet calls, want 2 (one retried after a lost response)", n)
	}
	if n := e.cfn.Executions("app-test"); n != 1 {
		t.Errorf("stack executed %d times, want once", n)
	}
}

// addonsRoot is a service stack with an addons nested stack.
const addonsRoot = `Parameters:
  AddonsTemplateURL: {Type: String}
  App: {Type: String}
Resources:
  Service:
    Type: AWS::AppRunner::Service
    Properties: {ServiceName: api}
  AddonsStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: !Ref AddonsTemplateURL
      Parameters:
        App: !Ref App
`

func TestNestedStackChangesAreRead(t *testing.T) {
	addons := func(table string) string {
		return `Parameters:
  App: {Type: String}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: ` + table + `
`
	}
	e := newEnv(t)
	stack := func(table string) deploy.Stack {
		return deploy.Stack{Name: "app-test-api", Template: []byte(addonsRoot), Parameters: map[string]string{"App": "app"},
			Assets: map[string][]byte{"AddonsTemplateURL": []byte(addons(table))}}
	}
	if _, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack("orders")}); err != nil {
		t.Fatalf("first deploy: %v", err)
	}
	if e.s3.Keys("artifacts") != 1 {
		t.Errorf("%d objects uploaded, want the addons template", e.s3.Keys("artifacts"))
	}
	plan, err := e.planner(t).Plan(context.Background(), []deploy.Stack{stack("orders-v2")})
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Stacks[0]
	table, ok := change(sp, "Table")
	if !ok || table.NestedStack != "AddonsStack" {
		t.Fatalf("nested change missing: %+v", sp)
	}
	if table.Replacement != deploy.ReplacementTrue || !table.Destructive {
		t.Errorf("table rename = %+v, want a destructive replacement", table)
	}
	if got := plan.Destructive(); len(got) != 1 || got[0].LogicalID != "Table" {
		t.Errorf("Destructive() = %+v", got)
	}
}

func TestPlanAlwaysCleansUp(t *testing.T) {
	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
	plan, err := e.planner(t).Plan(context.Background(), []deploy.Stack{envStack(), serviceStack("api", "4 GB", "img:1")})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.HasChanges() {
		t.Error("plan has no changes")
	}
	if e.cfn.Count("ExecuteChangeSet") != 0 {
		t.Error("plan executed a change set")
	}
	for _, name := range []string{"app-test", "app-test-api"} {
		if cs := e.cfn.ChangeSets(name); len(cs) != 0 {
			t.Errorf("%s: change sets left: %v", name, cs)
		}
	}
	if st := e.cfn.StackStatus("app-test-api"); st != "CREATE_COMPLETE" {
		t.Errorf("existing stack now %s", st)
	}
}

func TestCancellationDuringExecution(t *testing.T) {
	e := newEnv(t, fakecfn.WithExecDelay(3*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := e.deployer(t, deploy.WithEvents(func(ev deploy.StackEvent) {
		if ev.Stack == "app-test" && ev.Status == "CREATE_IN_PROGRESS" {
			cancel() // as a cancelled Actions job would, mid-deploy
		}
	}))
	res, err := d.Deploy(ctx, []deploy.Stack{envStack(), serviceStack("api", "2 GB", "img:1")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	got := map[string]deploy.StackResult{}
	for _, sr := range res.Stacks {
		got[sr.StackName] = sr
	}
	if sr := got["app-test"]; !sr.Executed || sr.Status != "CREATE_IN_PROGRESS" {
		t.Errorf("app-test = %+v, want executed and reported CREATE_IN_PROGRESS", sr)
	}
	if sr := got["app-test-api"]; sr.Executed || sr.Status != "" {
		t.Errorf("app-test-api = %+v, want not executed and gone", sr)
	}
	if cs := e.cfn.ChangeSets("app-test-api"); len(cs) != 0 {
		t.Errorf("change set of the service left behind: %v", cs)
	}
	if e.cfn.Executions("app-test-api") != 0 {
		t.Error("the service executed after cancellation")
	}
}

func TestGateRefusesBeforeExecuting(t *testing.T) {
	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
	// Dropping the log group removes stored logs: destructive.
	next := serviceStack("api", "2 GB", "img:1")
	next.Template = []byte(strings.Split(string(next.Template), "  LogGroup:")[0])
	errDestructive := errors.New("destructive changes and --fail-on-destructive")
	// Allowed by the options, refused by the caller's gate.
	d := e.deployer(t, deploy.AllowDestructive(true)).WithGate(func(p *deploy.Plan) error {
		if len(p.Destructive()) > 0 {
			return errDestructive
		}
		return nil
	})
	res, err := d.Deploy(context.Background(), []deploy.Stack{next})
	if !errors.Is(err, errDestructive) {
		t.Fatalf("error = %v, want the gate's", err)
	}
	if got := res.Plan.Destructive(); len(got) != 1 || got[0].LogicalID != "LogGroup" || got[0].Action != deploy.ActionRemove {
		t.Errorf("destructive = %+v, want the LogGroup removal", got)
	}
	if e.cfn.Count("ExecuteChangeSet") != 0 || len(e.cfn.ChangeSets("app-test-api")) != 0 {
		t.Error("executed or left a change set behind after the gate refused")
	}
}

func TestStackErrorsDoNotStopOtherStacks(t *testing.T) {
	e := newEnv(t)
	e.seed(t, fakecfn.Seed{Name: "app-test-api", Status: "UPDATE_ROLLBACK_FAILED", Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
	e.cfn.FailNext("CreateChangeSet", &fakecfn.APIError{Status: 400, Type: "Sender", Code: "ValidationError",
		Message: "Template format error: Unresolved resource dependencies [MyTopic] in the Resources block of the template"})
	plan, err := e.planner(t, deploy.WithJobs(1)).Plan(context.Background(),
		[]deploy.Stack{envStack(), serviceStack("api", "4 GB", "img:1"), serviceStack("web", "2 GB", "img:1")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"app-test":     "Unresolved resource dependencies [MyTopic]",
		"app-test-api": "continue-update-rollback --stack-name app-test-api",
		"app-test-web": "",
	}
	for name, msg := range want {
		sp := find(t, plan, name)
		if msg == "" && (sp.Error != "" || len(sp.Changes) == 0) {
			t.Errorf("%s: error %q, %d changes; want planned", name, sp.Error, len(sp.Changes))
		}
		if msg != "" && !strings.Contains(sp.Error, msg) {
			t.Errorf("%s: error %q, want it to contain %q", name, sp.Error, msg)
		}
	}
}

func TestDependentPlannedAgainAfterItsDependencyCreatesExports(t *testing.T) {
	e := newEnv(t)
	envT := envTemplate + "    Export:\n      Name: !Sub ${AppName}-test-VpcId\n"
	svcT := serviceTemplate("2 GB") + "  Connector:\n    Type: AWS::AppRunner::VpcConnector\n    Properties:\n      Subnets: [!ImportValue app-test-VpcId]\n"
	env, svc := envStack(), serviceStack("api", "2 GB", "img:1")
	env.Template, svc.Template = []byte(envT), []byte(svcT)

	res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{env, svc})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	for _, sr := range res.Stacks {
		if sr.Status != "CREATE_COMPLETE" {
			t.Errorf("%s is %s, want CREATE_COMPLETE", sr.StackName, sr.Status)
		}
	}
	sp := find(t, res.Plan, "app-test-api")
	if len(sp.Changes) != 4 {
		t.Errorf("service plan after re-planning has %d changes, want 4", len(sp.Changes))
	}
	if n := callsFor(e.cfn, "CreateChangeSet", "app-test-api"); n != 2 {
		t.Errorf("%d change sets for the service, want 2 (refused before the export existed, then planned again)", n)
	}
	// Planning alone cannot get a change set for the service: its creation
	// is previewed from the template, with the reason.
	e2 := newEnv(t)
	plan, err := e2.planner(t).Plan(context.Background(), []deploy.Stack{env, svc})
	if err != nil {
		t.Fatal(err)
	}
	got := find(t, plan, "app-test-api")
	if got.Error != "" || len(got.Changes) != 4 || !strings.Contains(got.StatusReason, "No export named app-test-VpcId found") {
		t.Errorf("plan of the service = %+v, want its creation previewed, saying why", got)
	}
	// That plan, reviewed, is what a deploy of the same stacks matches.
	e3 := newEnv(t)
	if _, err := e3.deployer(t, deploy.RequireFingerprint(plan.Fingerprint)).Deploy(context.Background(), []deploy.Stack{env, svc}); err != nil {
		t.Errorf("Deploy with the reviewed fingerprint: %v", err)
	}
}

// replanScenario is an environment that starts exporting its VPC and a
// deployed service that starts importing it while dropping its table:
// CloudFormation refuses the service's first change set (the export does
// not exist yet), so the service is planned again once the environment
// deployed.
func replanScenario(t *testing.T, e *env) []deploy.Stack {
	t.Helper()
	table := "  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: orders\n"
	e.seed(t, fakecfn.Seed{Name: "app-test", Template: envTemplate, Parameters: map[string]string{"AppName": "app"}})
	e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: serviceTemplate("2 GB") + table, Parameters: map[string]string{"ContainerImage": "img:1"}})
	env, svc := envStack(), serviceStack("api", "2 GB", "img:1")
	env.Template = []byte(envTemplate + "    Export:\n      Name: !Sub ${AppName}-test-VpcId\n")
	svc.Template = []byte(serviceTemplate("2 GB") + "  Connector:\n    Type: AWS::AppRunner::VpcConnector\n    Properties:\n      Subnets: [!ImportValue app-test-VpcId]\n")
	return []deploy.Stack{env, svc}
}

func TestReplannedStackIsGatedBeforeAnythingExecutes(t *testing.T) {
	// The attack: the destructive change hides in a stack whose first
	// change set fails, so the gate saw no change for it.
	e := newEnv(t)
	stacks := replanScenario(t, e)
	res, err := e.deployer(t).Deploy(context.Background(), stacks)
	if !errors.Is(err, deploy.ErrDestructive) {
		t.Fatalf("error = %v, want the destructive refusal", err)
	}
	for _, want := range []string{"app-test-api", "Table", "AWS::DynamoDB::Table", "removed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %q", err, want)
		}
	}
	if n := e.cfn.Count("ExecuteChangeSet"); n != 0 {
		t.Errorf("%d change sets executed after the refusal; want none (no stack half-deployed)", n)
	}
	if !strings.Contains(e.cfn.StackTemplate("app-test-api"), "Table") {
		t.Error("the table was deleted")
	}
	sp := find(t, res.Plan, "app-test-api")
	if c, ok := change(sp, "Table"); !ok || !c.Destructive || c.Action != deploy.ActionRemove {
		t.Errorf("the plan of the service shows %+v, want the table's removal marked destructive", sp.Changes)
	}
	for _, name := range []string{"app-test", "app-test-api"} {
		if cs := e.cfn.ChangeSets(name); len(cs) != 0 {
			t.Errorf("change sets left on %s: %v", name, cs)
		}
	}

	// Plan shows the same preview, so the pull request shows it too.
	plan, err := newEnvWith(t, replanScenario).planner(t).Plan(context.Background(), stacks)
	if err != nil {
		t.Fatal(err)
	}
	got := find(t, plan, "app-test-api")
	if c, ok := change(got, "Table"); got.Error != "" || !ok || !c.Destructive || !got.Preview || !strings.Contains(got.StatusReason, "Deploy plans it again") {
		t.Errorf("plan of the service = %+v, want the table's removal previewed, saying it is planned again on deploy", got)
	}

	// With the opt-in, the deploy goes through and re-plans the service.
	e3 := newEnvWith(t, replanScenario)
	if _, err := e3.deployer(t, deploy.AllowDestructive(false, "AWS::DynamoDB::Table")).Deploy(context.Background(), stacks); err != nil {
		t.Fatalf("Deploy with the table's type allowed: %v", err)
	}
	if strings.Contains(e3.cfn.StackTemplate("app-test-api"), "Table") {
		t.Error("the allowed removal did not happen")
	}
}

func TestGateSeesTheChangeSetThatExecutes(t *testing.T) {
	e := newEnv(t)
	stacks := replanScenario(t, e)
	var seen []*deploy.Plan
	refuse := errors.New("refused on the final change set")
	d := e.deployer(t, deploy.AllowDestructive(true)).WithGate(func(p *deploy.Plan) error {
		seen = append(seen, p)
		for _, s := range p.Stacks {
			if s.StackName == "app-test-api" && s.ChangeSetID != "" {
				return refuse
			}
		}
		return nil
	})
	res, err := d.Deploy(context.Background(), stacks)
	if !errors.Is(err, refuse) {
		t.Fatalf("error = %v, want the gate's refusal of the re-planned stack", err)
	}
	if len(seen) != 2 {
		t.Fatalf("gate called %d times, want twice: the whole plan, then the re-planned stack", len(seen))
	}
	if e.cfn.Executions("app-test-api") != 0 || e.cfn.Executions("app-test") != 1 {
		t.Errorf("executions: env %d, service %d; want the environment only", e.cfn.Executions("app-test"), e.cfn.Executions("app-test-api"))
	}
	if sr := res.Stacks[1]; sr.StackName != "app-test-api" || !strings.Contains(sr.Error, refuse.Error()) {
		t.Errorf("service result %+v, want the refusal", sr)
	}
	if cs := e.cfn.ChangeSets("app-test-api"); len(cs) != 0 {
		t.Errorf("the refused change set was left behind: %v", cs)
	}
}

// newEnvWith is a fresh fake account prepared by setup.
func newEnvWith(t *testing.T, setup func(*testing.T, *env) []deploy.Stack) *env {
	e := newEnv(t)
	setup(t, e)
	return e
}

func TestDestructiveChangesNeedAnOptIn(t *testing.T) {
	// The environment changes harmlessly; the service drops its log group.
	setup := func(t *testing.T, e *env) []deploy.Stack {
		e.seed(t, fakecfn.Seed{Name: "app-test", Template: envTemplate, Parameters: map[string]string{"AppName": "app"}})
		e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
		env, svc := envStack(), serviceStack("api", "2 GB", "img:2")
		env.Template = []byte(strings.Replace(envTemplate, "10.0.0.0/16", "10.1.0.0/16", 1))
		svc.Template = []byte(strings.Split(string(svc.Template), "  LogGroup:")[0])
		return []deploy.Stack{env, svc}
	}
	for _, tc := range []struct {
		name    string
		opts    []deploy.Option
		refused bool
	}{
		{"by default", nil, true},
		{"another type allowed", []deploy.Option{deploy.AllowDestructive(false, "AWS::S3::Bucket")}, true},
		{"its type allowed", []deploy.Option{deploy.AllowDestructive(false, "AWS::S3::Bucket", "AWS::Logs::LogGroup")}, false},
		{"all allowed", []deploy.Option{deploy.AllowDestructive(true)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			stacks := setup(t, e)
			_, err := e.deployer(t, tc.opts...).Deploy(context.Background(), stacks)
			if !tc.refused {
				if err != nil || strings.Contains(e.cfn.StackTemplate("app-test-api"), "LogGroup") {
					t.Fatalf("Deploy: %v; want the log group removed", err)
				}
				return
			}
			if !errors.Is(err, deploy.ErrDestructive) {
				t.Fatalf("error = %v, want the destructive refusal", err)
			}
			for _, want := range []string{"nothing was executed", "stack app-test-api: LogGroup (AWS::Logs::LogGroup) is removed", "these types: AWS::Logs::LogGroup"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q lacks %q", err, want)
				}
			}
			if n := e.cfn.Count("ExecuteChangeSet"); n != 0 || e.cfn.Executions("app-test") != 0 {
				t.Errorf("%d change sets executed; a refused deploy executes none, not even the harmless environment", n)
			}
		})
	}
	if _, err := deploy.NewDeployer(newEnv(t).client, deploy.AllowDestructive(false, "LogGroup")); err == nil || !strings.Contains(err.Error(), "AWS::Logs::LogGroup") {
		t.Errorf("a type that is no CloudFormation type name: error %v, want one showing the form", err)
	}
}

// The table to drop sits in the addon stack of a service CloudFormation
// can plan only after the environment exports what it imports: the
// preview reads the deployed addon stack, so the refusal comes before the
// environment executes.
func TestReplannedStackPreviewCoversItsNestedStacks(t *testing.T) {
	const topic = "Parameters:\n  App: {Type: String}\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
	const table = "  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: orders\n"
	e := newEnv(t)
	env := envStack()
	svc := deploy.Stack{Name: "app-test-api", Template: []byte(addonsRoot), Parameters: map[string]string{"App": "app"}, DependsOn: []string{"app-test"},
		Assets: map[string][]byte{"AddonsTemplateURL": []byte(topic + table)}}
	if _, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{env, svc}); err != nil {
		t.Fatalf("first deploy: %v", err)
	}
	executed := e.cfn.Count("ExecuteChangeSet")

	env.Template = []byte(envTemplate + "    Export:\n      Name: !Sub ${AppName}-test-VpcId\n")
	svc.Template = []byte(addonsRoot + "  Connector:\n    Type: AWS::AppRunner::VpcConnector\n    Properties:\n      Subnets: [!ImportValue app-test-VpcId]\n")
	svc.Assets = map[string][]byte{"AddonsTemplateURL": []byte(topic)}
	_, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{env, svc})
	if !errors.Is(err, deploy.ErrDestructive) || !strings.Contains(err.Error(), "stack app-test-api/AddonsStack: Table (AWS::DynamoDB::Table) is removed") {
		t.Fatalf("error = %v, want the refusal naming the addon's table", err)
	}
	if n := e.cfn.Count("ExecuteChangeSet") - executed; n != 0 {
		t.Errorf("%d change sets executed, want none: not even the environment", n)
	}
}

// deferredScenario is replanScenario without the table: the reviewed plan
// of the service (previewed, as its first change set is refused) drops
// nothing.
func deferredScenario(t *testing.T, e *env) []deploy.Stack {
	t.Helper()
	stacks := replanScenario(t, e)
	e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: serviceTemplate("2 GB"), Parameters: map[string]string{"ContainerImage": "img:1"}})
	return stacks
}

func TestDeferredStackEffectIsReviewed(t *testing.T) {
	// The attack: between review and merge the live service gained a
	// table (another deploy, a console change). The service is planned only
	// after the environment deploys, so its effect, dropping the table, was
	// never on the pull request; the team allows the table type to go.
	stacks := deferredScenario(t, newEnv(t))
	reviewed, err := newEnvWith(t, deferredScenario).planner(t).Plan(context.Background(), stacks)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := change(find(t, reviewed, "app-test-api"), "Table"); ok {
		t.Fatal("the reviewed plan already drops a table")
	}
	e := newEnvWith(t, replanScenario) // the live service has the table
	_, err = e.deployer(t, deploy.RequireFingerprint(reviewed.Fingerprint), deploy.AllowDestructive(false, "AWS::DynamoDB::Table")).
		Deploy(context.Background(), stacks)
	if !errors.Is(err, deploy.ErrFingerprintMismatch) {
		t.Fatalf("error = %v, want the reviewed plan refused", err)
	}
	if n := e.cfn.Count("ExecuteChangeSet"); n != 0 || !strings.Contains(e.cfn.StackTemplate("app-test-api"), "Table") {
		t.Errorf("%d change sets executed after review of a plan that dropped no table", n)
	}
	// Unchanged live stacks still match the review.
	if _, err := newEnvWith(t, deferredScenario).deployer(t, deploy.RequireFingerprint(reviewed.Fingerprint)).Deploy(context.Background(), stacks); err != nil {
		t.Errorf("Deploy of the reviewed plan: %v", err)
	}
}

func TestDeferredStackExecutesNothingBeyondItsPreview(t *testing.T) {
	// The attack: the live service changes while the environment deploys,
	// after the gate and the fingerprint check saw the preview; its final
	// change set drops a table the preview did not show.
	e := newEnvWith(t, deferredScenario)
	stacks := deferredScenario(t, newEnv(t))
	gated := false
	d := e.deployer(t, deploy.AllowDestructive(false, "AWS::DynamoDB::Table")).WithGate(func(p *deploy.Plan) error {
		if !gated {
			gated = true
			table := "  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: orders\n"
			e.seed(t, fakecfn.Seed{Name: "app-test-api", Template: serviceTemplate("2 GB") + table, Parameters: map[string]string{"ContainerImage": "img:1"}})
		}
		return nil
	})
	res, err := d.Deploy(context.Background(), stacks)
	if err == nil || !strings.Contains(err.Error(), "Table") {
		t.Fatalf("error = %v, want the service refused, naming the table its preview did not show", err)
	}
	if e.cfn.Executions("app-test-api") != 0 || !strings.Contains(e.cfn.StackTemplate("app-test-api"), "Table") {
		t.Error("the service's final change set executed a removal its preview did not show")
	}
	if sr := res.Stacks[1]; sr.StackName != "app-test-api" || !strings.Contains(sr.Error, "preview") {
		t.Errorf("service result %+v, want it to say the change set goes beyond the preview", sr)
	}
	if cs := e.cfn.ChangeSets("app-test-api"); len(cs) != 0 {
		t.Errorf("the refused change set was left behind: %v", cs)
	}
}
