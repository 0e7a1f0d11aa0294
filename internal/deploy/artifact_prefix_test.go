package deploy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

// addonsStack is a service with an addons nested stack holding a table.
func addonsStack(table string) deploy.Stack {
	addons := "Parameters:\n  App: {Type: String}\nResources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: " + table + "\n"
	return deploy.Stack{Name: "app-test-api", Template: []byte(addonsRoot), Parameters: map[string]string{"App": "app"},
		Assets: map[string][]byte{"AddonsTemplateURL": []byte(addons)}}
}

// planRole writes the artifacts bucket with the S3 API, as a pull
// request's workflow holding the plan role can.
type planRole struct {
	t      *testing.T
	client *s3.Client
}

func (e *env) planRole(t *testing.T) planRole {
	c := s3.NewFromConfig(awsConfig(), func(o *s3.Options) { o.BaseEndpoint = aws.String(e.s3.URL); o.UsePathStyle = true })
	return planRole{t, c}
}

func (p planRole) put(key, body string) {
	p.t.Helper()
	if _, err := p.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		p.t.Fatal(err)
	}
}

// racingUploader overwrites the given keys right after each of the deploy's
// uploads, before its CreateChangeSet: the plan role racing the deploy.
type racingUploader struct {
	*deploy.S3Uploader
	attacker planRole
	keys     []string
	evil     string
}

func (u racingUploader) Upload(ctx context.Context, key string, body []byte) (string, error) {
	url, err := u.S3Uploader.Upload(ctx, key, body)
	for _, k := range u.keys {
		u.attacker.put(k, u.evil)
	}
	return url, err
}

// deployedTable is the TableName of the deployed addons stack, read with
// the CloudFormation API.
func deployedTable(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	res, err := e.client.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{StackName: aws.String("app-test-api"), LogicalResourceId: aws.String("AddonsStack")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.client.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: res.StackResourceDetail.PhysicalResourceId})
	if err != nil {
		t.Fatal(err)
	}
	body := aws.ToString(out.TemplateBody)
	return strings.TrimSpace(body[strings.Index(body, "TableName:")+len("TableName:"):])
}

// The attack: after the plan was reviewed, a pull request's workflow with
// the plan role overwrites the objects the plan stored (the keys it can
// write), once before the deploy and again between the deploy's upload and
// its CreateChangeSet. The deploy's change set reads only its own bytes.
func TestPlanRoleCannotChangeTheAddonsThatDeploy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	plan, err := e.planner(t).Plan(ctx, []deploy.Stack{addonsStack("orders")})
	if err != nil {
		t.Fatal(err)
	}
	planned := e.s3.List("artifacts")
	if len(planned) != 1 || !strings.HasPrefix(planned[0], "autopilot/plan/assets/") {
		t.Fatalf("the plan stored %v; want its addons template under autopilot/plan/ only", planned)
	}
	attacker := e.planRole(t)
	const evil = "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: pwned\n"
	attacker.put(planned[0], evil)
	racing := racingUploader{S3Uploader: e.uploader, attacker: attacker, keys: planned, evil: evil}
	if _, err := e.deployer(t, deploy.WithUploader(racing), deploy.RequireFingerprint(plan.Fingerprint)).Deploy(ctx, []deploy.Stack{addonsStack("orders")}); err != nil {
		t.Fatalf("Deploy of the reviewed plan: %v", err)
	}
	if got := deployedTable(t, e); got != "orders" {
		t.Errorf("deployed table %q; want the reviewed %q", got, "orders")
	}
	for _, k := range e.s3.List("artifacts") {
		if k != planned[0] && !strings.HasPrefix(k, "autopilot/deploy/assets/") {
			t.Errorf("the deploy stored %s; want autopilot/deploy/ only", k)
		}
	}
}

// An object at the deploy's key that holds other bytes (planted by whoever
// could write there) is replaced by the deploy's own.
func TestDeployPutsItsOwnBytesOverAPlantedObject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	honest := addonsStack("orders")
	if _, err := e.deployer(t).Deploy(ctx, []deploy.Stack{honest}); err != nil {
		t.Fatal(err)
	}
	keys := e.s3.List("artifacts")
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "autopilot/deploy/assets/") {
		t.Fatalf("the deploy stored %v; want one object under autopilot/deploy/", keys)
	}
	e.planRole(t).put(keys[0], "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: pwned\n")
	changed := addonsStack("orders")
	changed.Template = []byte(addonsRoot + "  Extra:\n    Type: AWS::SNS::Topic\n")
	if _, err := e.deployer(t).Deploy(ctx, []deploy.Stack{changed}); err != nil {
		t.Fatal(err)
	}
	if got := deployedTable(t, e); got != "orders" {
		t.Errorf("deployed table %q; want %q", got, "orders")
	}
}

// An addon template that did not change plans as no change over a stack
// autopilot deployed, without storing anything; a changed one plans, and
// its deploy matches the reviewed plan.
func TestAddonsPlanAgainstTheDeployedObject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.deployer(t).Deploy(ctx, []deploy.Stack{addonsStack("orders")}); err != nil {
		t.Fatal(err)
	}
	stored := len(e.s3.List("artifacts"))
	plan, err := e.planner(t).Plan(ctx, []deploy.Stack{addonsStack("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if sp := plan.Stacks[0]; !sp.NoChanges || len(sp.Changes) != 0 || sp.Error != "" {
		t.Errorf("unchanged addons plan = %+v; want no changes", sp)
	}
	if n := len(e.s3.List("artifacts")); n != stored {
		t.Errorf("the plan stored %d objects; want none", n-stored)
	}

	plan, err = e.planner(t).Plan(ctx, []deploy.Stack{addonsStack("orders-v2")})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := change(plan.Stacks[0], "Table"); !ok || c.NestedStack != "AddonsStack" {
		t.Fatalf("changed addons plan = %+v; want the table's change", plan.Stacks[0])
	}
	res, err := e.deployer(t, deploy.RequireFingerprint(plan.Fingerprint), deploy.AllowDestructive(true)).Deploy(ctx, []deploy.Stack{addonsStack("orders-v2")})
	if err != nil {
		t.Fatalf("Deploy of the reviewed plan: %v", err)
	}
	if !res.Stacks[0].Executed || deployedTable(t, e) != "orders-v2" {
		t.Errorf("result %+v, table %q; want the reviewed change deployed", res.Stacks[0], deployedTable(t, e))
	}
}
