package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
)

// copilotDomainResources restates the resources Copilot v1.33 puts in an
// environment of an application with a domain (partials lambdas.yml,
// custom-resources.yml, custom-resources-role.yml) and, with
// `access_logs: true`, the bucket cleaner (elb-access-logs.yml): each a
// Lambda-backed custom resource, its function and role.
const copilotDomainResources = `
DelegateDNSAction:
  Condition: DelegateDNS
  Type: Custom::DNSDelegationFunction
  DependsOn: [DNSDelegationFunction, EnvironmentHostedZone]
  Properties:
    ServiceToken: !GetAtt DNSDelegationFunction.Arn
    DomainName: !Sub ${AppName}.${AppDNSName}
    SubdomainName: !Sub ${EnvironmentName}.${AppName}.${AppDNSName}
    NameServers: !GetAtt EnvironmentHostedZone.NameServers
    RootDNSRole: !Ref AppDNSDelegationRole
HTTPSCert:
  Condition: DelegateDNS
  Type: Custom::CertificateValidationFunction
  DependsOn: [CertificateValidationFunction, EnvironmentHostedZone, DelegateDNSAction]
  Properties:
    ServiceToken: !GetAtt CertificateValidationFunction.Arn
    AppName: !Ref AppName
    EnvName: !Ref EnvironmentName
    DomainName: !Ref AppDNSName
    Aliases: !Ref Aliases
    EnvHostedZoneId: !Ref EnvironmentHostedZone
    Region: !Ref AWS::Region
    RootDNSRole: !Ref AppDNSDelegationRole
CustomDomainAction:
  Condition: ManagedAliases
  Type: Custom::CustomDomainFunction
  Properties:
    ServiceToken: !GetAtt CustomDomainFunction.Arn
    AppName: !Ref AppName
    EnvName: !Ref EnvironmentName
    Aliases: !Ref Aliases
    AppDNSRole: !Ref AppDNSDelegationRole
    DomainName: !Ref AppDNSName
    PublicAccessDNS: !GetAtt PublicLoadBalancer.DNSName
    PublicAccessHostedZone: !GetAtt PublicLoadBalancer.CanonicalHostedZoneID
CustomResourceRole:
  Condition: DelegateDNS
  Type: AWS::IAM::Role
  Properties:
    AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: [lambda.amazonaws.com]}, Action: [sts:AssumeRole]}]}
CertificateValidationFunction:
  Condition: DelegateDNS
  Type: AWS::Lambda::Function
  Properties: {Code: {S3Bucket: copilot-artifacts, S3Key: manual/scripts/custom-resources/certificatevalidationfunction/1.zip}, Handler: index.certificateRequestHandler, Timeout: 900, MemorySize: 512, Role: !GetAtt CustomResourceRole.Arn, Runtime: nodejs20.x}
DNSDelegationFunction:
  Condition: DelegateDNS
  Type: AWS::Lambda::Function
  Properties: {Code: {S3Bucket: copilot-artifacts, S3Key: manual/scripts/custom-resources/dnsdelegationfunction/1.zip}, Handler: index.domainDelegationHandler, Timeout: 600, MemorySize: 512, Role: !GetAtt CustomResourceRole.Arn, Runtime: nodejs20.x}
CustomDomainFunction:
  Condition: ManagedAliases
  Type: AWS::Lambda::Function
  Properties: {Code: {S3Bucket: copilot-artifacts, S3Key: manual/scripts/custom-resources/customdomainfunction/1.zip}, Handler: index.handler, Timeout: 600, MemorySize: 512, Role: !GetAtt CustomResourceRole.Arn, Runtime: nodejs20.x}
ELBAccessLogsBucketCleanerAction:
  Type: Custom::BucketCleanerFunction
  Properties:
    ServiceToken: !GetAtt BucketCleanerFunction.Arn
    BucketName: !Ref ELBAccessLogsBucket
BucketCleanerFunction:
  Type: AWS::Lambda::Function
  Properties: {Code: {S3Bucket: copilot-artifacts, S3Key: manual/scripts/custom-resources/bucketcleanerfunction/1.zip}, Handler: index.handler, Timeout: 900, MemorySize: 512, Role: !GetAtt ELBAccessLogsBucketCleanerRole.Arn, Runtime: nodejs20.x}
ELBAccessLogsBucketCleanerRole:
  Type: AWS::IAM::Role
  Properties:
    AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: [lambda.amazonaws.com]}, Action: [sts:AssumeRole]}]}
UniqueJSONValuesFunctionRole:
  Condition: CreateALB
  Type: AWS::IAM::Role
  Properties:
    AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: [lambda.amazonaws.com]}, Action: [sts:AssumeRole]}]}
UniqueJSONValuesFunction:
  Condition: CreateALB
  Type: AWS::Lambda::Function
  Properties: {Code: {S3Bucket: copilot-artifacts, S3Key: manual/scripts/custom-resources/uniquejsonvaluesfunction/1.zip}, Handler: index.handler, Timeout: 600, MemorySize: 512, Role: !GetAtt UniqueJSONValuesFunctionRole.Arn, Runtime: nodejs20.x}
UniqueAliasesAction:
  Condition: CreateALB
  Type: Custom::UniqueJSONValuesFunction
  Properties:
    ServiceToken: !GetAtt UniqueJSONValuesFunction.Arn
    Aliases: !Ref Aliases
    AdditionalStrings: [static.example.com]
    FilterFor: !Ref ALBWorkloads
`

// removesNothing fails the test for a change that removes or may replace a
// resource, or is destructive: what a first deploy over Copilot's stacks
// must not do.
func removesNothing(t *testing.T, plan *deploy.Plan) {
	t.Helper()
	for _, sp := range plan.Stacks {
		for _, c := range sp.Changes {
			if c.Action == deploy.ActionRemove || c.Replacement == deploy.ReplacementTrue || c.Replacement == deploy.ReplacementConditional || c.Destructive {
				t.Errorf("%s: %s %s (replacement %q): the first deploy must remove and replace nothing", sp.StackName, c.Action, c.LogicalID, c.Replacement)
			}
		}
	}
}

// copilotMadeTemplate turns a template autopilot deployed into the one
// Copilot would have: extra resources set (replacing those of the same
// ID), parameters declared, and the bucket without autopilot's retention.
func copilotMadeTemplate(t *testing.T, body, resources string, params ...string) string {
	t.Helper()
	var doc, extra yaml.Node
	if err := yaml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(resources), &extra); err != nil {
		t.Fatal(err)
	}
	section := func(m *yaml.Node, key string) *yaml.Node {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
		t.Fatalf("no %s in template", key)
		return nil
	}
	setKey := func(m *yaml.Node, key string, v *yaml.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				m.Content[i+1] = v
				return
			}
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	root := doc.Content[0]
	res := section(root, "Resources")
	add := extra.Content[0]
	for i := 0; i+1 < len(add.Content); i += 2 {
		setKey(res, add.Content[i].Value, add.Content[i+1])
	}
	for _, p := range params {
		setKey(section(root, "Parameters"), p, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "Type"}, {Kind: yaml.ScalarNode, Value: "String"}}})
	}
	bucket := section(res, "ELBAccessLogsBucket")
	for i := 0; i+1 < len(bucket.Content); {
		if k := bucket.Content[i].Value; k == "DeletionPolicy" || k == "UpdateReplacePolicy" {
			bucket.Content = append(bucket.Content[:i], bucket.Content[i+2:]...)
			continue
		}
		i += 2
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// An environment Copilot deployed for an application with a domain, with
// an HTTPS listener on its certificate, aliases, CloudFront with an
// imported certificate and static assets, and access logs to the bucket it
// created: autopilot's first deploy from the same manifest and domain
// keeps every custom resource as deployed and removes or replaces nothing.
func TestDeployOverCopilotEnvironmentWithDomainHTTPSCDNAndAccessLogs(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	envManifest := filepath.Join(dir, "copilot", "environments", "test", "manifest.yml")
	if err := os.WriteFile(envManifest, []byte(`name: test
type: Environment
network:
  vpc:
    flow_logs: true
observability:
  container_insights: false
http:
  public:
    access_logs: true
    ingress:
      cdn: true
cdn:
  certificate: arn:aws:acm:us-east-1:123456789012:certificate/viewer
  terminate_tls: true
  static_assets:
    location: assets.s3.us-east-1.amazonaws.com
    alias: static.example.com
    path: static/*
`), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := f.options(demoImage)
	opts.Paths = []string{dir}
	opts.AppDomain = "example.com"
	opts.CloudFrontPrefixList = "pl-3b927c52"
	if _, err := Deploy(ctx, opts); err != nil {
		t.Fatalf("setting up (a new environment with the domain, natively): %v", err)
	}
	const env = "apprunner-vpc-test"
	planned, err := Plan(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for k, v := range planned.Stacks[0].Parameters {
		params[k] = v
	}
	// A load-balanced service of another workspace, with an alias.
	params["ALBWorkloads"] = "web"
	params["Aliases"] = `{"web":["web.example.com"]}`
	params["AppDNSDelegationRole"] = "arn:aws:iam::123456789012:role/apprunner-vpc-DNSDelegationRole"
	copilotMade := copilotMadeTemplate(t, f.cfn.StackTemplate(env), copilotDomainResources, "AppDNSDelegationRole")
	// Copilot's distribution takes its aliases from UniqueAliasesAction.
	copilotMade = strings.Replace(copilotMade, "Aliases:\n                    - static.example.com", "Aliases: !GetAtt UniqueAliasesAction.UniqueValues", 1)
	if !strings.Contains(copilotMade, "UniqueAliasesAction.UniqueValues") {
		t.Fatalf("setting up: the distribution's aliases were not found:\n%s", copilotMade)
	}
	if err := f.cfn.SeedStack(fakecfn.Seed{Name: env, Template: copilotMade, Parameters: params,
		Tags: map[string]string{"copilot-application": "apprunner-vpc", "copilot-environment": "test"}}); err != nil {
		t.Fatal(err)
	}

	deployed, err := Deploy(ctx, opts)
	if err != nil {
		t.Fatalf("first autopilot deploy: %v", err)
	}
	removesNothing(t, deployed.Result.Plan)
	after := f.cfn.StackTemplate(env)
	for _, id := range []string{"DelegateDNSAction", "HTTPSCert", "CustomDomainAction", "CustomResourceRole", "CertificateValidationFunction",
		"DNSDelegationFunction", "CustomDomainFunction", "ELBAccessLogsBucketCleanerAction", "BucketCleanerFunction", "ELBAccessLogsBucketCleanerRole",
		"UniqueJSONValuesFunctionRole", "UniqueJSONValuesFunction", "UniqueAliasesAction", "CloudFrontDistribution"} {
		if !strings.Contains(after, " "+id+":\n") {
			t.Errorf("the environment lost %s", id)
		}
	}
	for _, typ := range []string{"Custom::CertificateValidationFunction", "Custom::DNSDelegationFunction"} {
		if !strings.Contains(after, typ) {
			t.Errorf("%s was not kept as Copilot deployed it", typ)
		}
	}
	if strings.Contains(after, "AWS::CertificateManager::Certificate") {
		t.Error("a native certificate was added beside Copilot's")
	}
	// The distribution keeps Copilot's aliases, every workspace's services'.
	if !strings.Contains(after, "Aliases: !GetAtt UniqueAliasesAction.UniqueValues") {
		t.Errorf("CloudFront no longer takes its aliases from UniqueAliasesAction:\n%s", after)
	}

	// Without the domain, or with another one, nothing is planned: the
	// zone and certificate it names would go or be replaced.
	for _, domain := range []string{"", "example.org"} {
		opts.AppDomain = domain
		executions := f.cfn.Executions(env)
		_, err := Deploy(ctx, opts)
		if err == nil || !strings.Contains(err.Error(), "--app-domain") || f.cfn.Executions(env) != executions {
			t.Errorf("domain %q: err = %v, executions %d -> %d: want a refusal naming --app-domain and nothing executed", domain, err, executions, f.cfn.Executions(env))
		}
	}
}
