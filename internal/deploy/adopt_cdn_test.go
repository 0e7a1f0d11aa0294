package deploy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	"github.com/autopilot-dev/autopilot/internal/render"
)

// copilotCertificateReplicator restates Copilot v1.33's cdn-resources.yml
// certificate copy to us-east-1 (custom resource, function and role).
const copilotCertificateReplicator = `
CustomResourceRole:
  Type: AWS::IAM::Role
  Properties:
    AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: [lambda.amazonaws.com]}, Action: ['sts:AssumeRole']}]}
    Path: /
CertificateReplicatorFunction:
  Type: AWS::Lambda::Function
  Condition: DelegateDNS
  Properties:
    Code: {S3Bucket: stackset-shop-infra-pipelinebuiltartifactbuc, S3Key: manual/scripts/custom-resources/certificatereplicatorfunction/1.zip}
    Handler: index.certificateReplicateHandler
    Timeout: 900
    MemorySize: 512
    Role: !GetAtt CustomResourceRole.Arn
    Runtime: nodejs20.x
CertificateReplicator:
  Condition: DelegateDNS
  Type: Custom::CertificateReplicatorFunction
  Properties:
    ServiceToken: !GetAtt CertificateReplicatorFunction.Arn
    AppName: !Ref AppName
    EnvName: !Ref EnvironmentName
    TargetRegion: us-east-1
    EnvRegion: !Ref AWS::Region
    CertificateArn: !Ref HTTPSCert
`

// cdn: true for an application with a domain outside us-east-1: over the
// environment Copilot made, its certificate copy stays as deployed and the
// distribution keeps taking its certificate from it; a new environment is
// refused before any change set, saying why.
func TestCDNCertificateCopyKeptOnCopilotEnvironment(t *testing.T) {
	ws := loadWorkspace(t, map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\ncdn: true\n",
	})
	stacks, diags, err := render.Render(ws, nil, nil, render.Options{AppDomain: "example.com", Region: "eu-west-1"})
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	env := stacks[0]
	// Values the deployed stack had (render leaves them to it).
	env.Parameters["ToolsAccountPrincipalARN"] = "arn:aws:iam::123456789012:root"
	stack := deploy.Stack{Name: env.Name, Template: env.Template, Parameters: env.Parameters, CarryLive: env.CarryLive}
	for _, l := range env.Live {
		stack.Live = append(stack.Live, deploy.LiveResource{ID: l.ID, Properties: l.Properties, For: l.For, Optional: l.Optional})
	}
	viewer := "ViewerCertificate: !If [DelegateDNS, {AcmCertificateArn: !Ref CertificateReplicator, MinimumProtocolVersion: TLSv1, SslSupportMethod: sni-only}, !Ref AWS::NoValue]"
	copilot := strings.Replace(withResources(t, env.Template, copilotCertificateReplicator), "                Enabled: true", "                Enabled: true\n                "+viewer, 1)
	if !strings.Contains(copilot, "CertificateReplicator, MinimumProtocolVersion") {
		t.Fatalf("setting up: the distribution's config was not found:\n%s", copilot)
	}

	t.Run("a new environment is refused", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
		if err == nil || !strings.Contains(err.Error(), "cdn without cdn.certificate in eu-west-1 (CloudFront takes certificates from us-east-1 only") {
			t.Fatalf("err = %v, want a refusal saying why", err)
		}
		if n := callsFor(e.cfn, "CreateChangeSet", ""); n != 0 {
			t.Errorf("%d change sets created", n)
		}
	})
	t.Run("over Copilot's environment the copy stays", func(t *testing.T) {
		e := newEnv(t)
		e.seed(t, fakecfn.Seed{Name: env.Name, Template: copilot, Parameters: env.Parameters})
		res, err := e.deployer(t).Deploy(context.Background(), []deploy.Stack{stack})
		if err != nil {
			t.Fatalf("deploy: %v", err)
		}
		for _, c := range res.Plan.Stacks[0].Changes {
			if c.Action == deploy.ActionRemove || c.Replacement == deploy.ReplacementTrue || c.LogicalID == "CertificateReplicator" {
				t.Errorf("change %s %s (replacement %q)", c.Action, c.LogicalID, c.Replacement)
			}
		}
		deployed := e.cfn.StackTemplate(env.Name)
		if !strings.Contains(deployed, "Custom::CertificateReplicatorFunction") || !strings.Contains(deployed, "AcmCertificateArn: !Ref CertificateReplicator") {
			t.Errorf("Copilot's certificate copy or the distribution's use of it was not kept:\n%s", deployed)
		}
	})
}
