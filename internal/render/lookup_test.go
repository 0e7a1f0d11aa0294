package render

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/deploy"
	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	fakeec2 "github.com/autopilot-dev/autopilot/internal/fakes/ec2"
)

// fakeLookups is deploy's look-ups through the real SDK clients, against
// fake CloudFormation (the environment stack my-app-test, deployed in
// vpc-0env) and fake EC2 with subnets in that VPC and in another.
func fakeLookups(t *testing.T) (*deploy.Lookups, *fakeec2.Server) {
	t.Helper()
	cf, e := fakecfn.New(), fakeec2.New("us-east-1")
	t.Cleanup(cf.Close)
	t.Cleanup(e.Close)
	if err := cf.SeedStack(fakecfn.Seed{Name: "my-app-test", Template: "Resources:\n  VPC:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: 10.0.0.0/16}\nOutputs:\n  VpcId:\n    Value: vpc-0env\n"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []fakeec2.Subnet{
		{ID: "subnet-0bbb", VPC: "vpc-0env", Tags: map[string]string{"team": "web", "tier": "app"}},
		{ID: "subnet-0aaa", VPC: "vpc-0env", Tags: map[string]string{"team": "web", "tier": "private"}},
		{ID: "subnet-0ccc", VPC: "vpc-0env", Tags: map[string]string{"team": "web", "tier": "public"}},
		{ID: "subnet-0other", VPC: "vpc-0other", Tags: map[string]string{"team": "web", "tier": "private"}},
	} {
		e.AddSubnet(s)
	}
	cfg := aws.Config{Region: "us-east-1", RetryMaxAttempts: 1, Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "fake-secret"}, nil
	})}
	return deploy.NewLookups(
		cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(cf.URL) }),
		ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(e.URL) }),
	), e
}

const fromTagsBackend = `name: api
type: Backend Service
image:
  location: public.ecr.aws/nginx/nginx:latest
  port: 80
network:
  vpc:
    placement:
      subnets:
        from_tags:
          team: web
          tier: [private, app]
`

func renderFromTags(t *testing.T, lookups Lookups) ([]Stack, diag.List, error) {
	t.Helper()
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/api/manifest.yml":               fromTagsBackend,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	opts := seedOptions
	opts.Lookups = lookups
	return Render(ws, nil, []string{"api"}, opts)
}

func serviceSubnets(t *testing.T, st Stack) []string {
	t.Helper()
	var tmpl struct {
		Resources map[string]struct {
			Properties struct {
				NetworkConfiguration struct {
					AwsvpcConfiguration struct {
						Subnets []string `yaml:"Subnets"`
					} `yaml:"AwsvpcConfiguration"`
				} `yaml:"NetworkConfiguration"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(st.Template, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl.Resources["Service"].Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets
}

func TestFromTagsRendersTheEnvironmentsTaggedSubnets(t *testing.T) {
	lookups, e := fakeLookups(t)
	stacks, diags, err := renderFromTags(t, lookups)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	i := slices.IndexFunc(stacks, func(s Stack) bool { return s.Workload == "api" })
	if i < 0 {
		t.Fatal("no stack for api")
	}
	validateTemplate(t, stacks[i].Name, stacks[i].Template)
	// Both values of tier, team=web, in the environment's VPC only: not the
	// public subnet, not the other VPC's.
	if got, want := serviceSubnets(t, stacks[i]), []string{"subnet-0aaa", "subnet-0bbb"}; !slices.Equal(got, want) {
		t.Errorf("service subnets = %v, want %v", got, want)
	}
	calls := e.Calls()
	if len(calls) != 1 || calls[0].Get("Action") != "DescribeSubnets" || calls[0].Get("Filter.1.Name") != "vpc-id" || calls[0].Get("Filter.1.Value.1") != "vpc-0env" {
		t.Errorf("EC2 calls = %v, want one DescribeSubnets filtered on the environment's VPC", calls)
	}
}

func TestFromTagsPlacesAnAppRunnerVPCConnector(t *testing.T) {
	lookups, _ := fakeLookups(t)
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/web/manifest.yml":               "name: web\ntype: Request-Driven Web Service\nimage: {location: public.ecr.aws/a/b, port: 80}\nnetwork: {vpc: {placement: {subnets: {from_tags: {tier: private}}}}}\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	opts := seedOptions
	opts.Lookups = lookups
	stacks, diags, err := Render(ws, nil, []string{"web"}, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	i := slices.IndexFunc(stacks, func(s Stack) bool { return s.Workload == "web" })
	validateTemplate(t, stacks[i].Name, stacks[i].Template)
	var tmpl struct {
		Resources map[string]struct {
			Properties struct {
				Subnets []string `yaml:"Subnets"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(stacks[i].Template, &tmpl); err != nil {
		t.Fatal(err)
	}
	if got := tmpl.Resources["VpcConnector"].Properties.Subnets; !slices.Equal(got, []string{"subnet-0aaa"}) {
		t.Errorf("VPC connector subnets = %v, want the environment's private-tagged subnet", got)
	}
}

func TestFromTagsWithoutAMatchNamesTheLineAndTags(t *testing.T) {
	lookups, _ := fakeLookups(t)
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/api/manifest.yml":               strings.Replace(fromTagsBackend, "team: web", "team: db", 1),
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	opts := seedOptions
	opts.Lookups = lookups
	_, diags, err := Render(ws, nil, []string{"api"}, opts)
	if err == nil {
		t.Fatal("render with no matching subnet succeeded")
	}
	i := slices.IndexFunc(diags, func(d diag.Diagnostic) bool { return d.Severity == diag.Error })
	if i < 0 {
		t.Fatalf("no error finding: %v", diags)
	}
	d := diags[i]
	if !strings.HasSuffix(d.File, "copilot/api/manifest.yml") || d.Line != 9 ||
		!strings.Contains(d.Message, "team=db, tier=private|app") || !strings.Contains(d.Message, "vpc-0env") {
		t.Errorf("finding = %s:%d %s", d.File, d.Line, d.Message)
	}
}

func TestFromTagsOfflineRendersAPlaceholderAndLintAccepts(t *testing.T) {
	stacks, diags, err := renderFromTags(t, nil)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	i := slices.IndexFunc(stacks, func(s Stack) bool { return s.Workload == "api" })
	if got := serviceSubnets(t, stacks[i]); !slices.Equal(got, []string{SubnetsPlaceholder}) {
		t.Errorf("offline subnets = %v, want the placeholder", got)
	}
	if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Severity == diag.Notice && d.Rule == ruleLookup && d.Line == 9 }) {
		t.Errorf("no notice that the subnets are looked up later: %v", diags)
	}
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/api/manifest.yml":               fromTagsBackend,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	if ds := Check(ws, "test", seedOptions.Vars, ""); len(ds) > 0 {
		t.Errorf("lint refuses what plan renders: %v", ds)
	}
	// Lint shares its decoded models with the check: they keep the tags.
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(fromTagsBackend), &doc); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.DecodeWorkload(workspace.BackendService, &doc)
	if err != nil {
		t.Fatal(err)
	}
	CheckDecoded(ws, "test", seedOptions.Vars, "", map[string]*manifest.Workload{"api": m})
	if p := m.ECS.Network.VPC.Placement; p.SubnetIDs != nil || len(p.FromTags) != 2 {
		t.Errorf("the check changed lint's model: %+v", p)
	}
}

const cdnIngressEnv = "name: test\ntype: Environment\nhttp:\n  public:\n    ingress:\n      cdn: true\n"

func TestCloudFrontPrefixListIsLookedUp(t *testing.T) {
	lookups, e := fakeLookups(t)
	ws := loadWorkspace(t, "my-app", map[string]string{"copilot/environments/test/manifest.yml": cdnIngressEnv})
	opts := seedOptions
	opts.Lookups = lookups
	stacks, diags, err := Render(ws, nil, nil, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	validateTemplate(t, stacks[0].Name, stacks[0].Template)
	if !strings.Contains(string(stacks[0].Template), "SourcePrefixListId: pl-3b927c52") {
		t.Errorf("the load balancer's ingress does not name CloudFront's prefix list:\n%s", stacks[0].Template)
	}
	if n := len(e.Calls()); n != 1 {
		t.Errorf("%d EC2 calls, want one DescribeManagedPrefixLists", n)
	}

	// The flag overrides the look-up.
	opts.CloudFrontPrefixList = "pl-given"
	if stacks, _, err = Render(ws, nil, nil, opts); err != nil || !strings.Contains(string(stacks[0].Template), "SourcePrefixListId: pl-given") {
		t.Errorf("given prefix list not used: %v", err)
	}
	if n := len(e.Calls()); n != 1 {
		t.Errorf("%d EC2 calls, want none for a given prefix list", n-1)
	}
}

func TestCloudFrontPrefixListLookupRefused(t *testing.T) {
	lookups, e := fakeLookups(t)
	e.FailNext("DescribeManagedPrefixLists", "UnauthorizedOperation")
	ws := loadWorkspace(t, "my-app", map[string]string{"copilot/environments/test/manifest.yml": cdnIngressEnv})
	opts := seedOptions
	opts.Lookups = lookups
	_, diags, err := Render(ws, nil, nil, opts)
	if err == nil {
		t.Fatal("render succeeded without the prefix list")
	}
	if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool {
		return d.Line == 5 && strings.Contains(d.Message, "ec2:DescribeManagedPrefixLists") && strings.Contains(d.Message, "UnauthorizedOperation")
	}) {
		t.Errorf("findings = %v, want the refused look-up at http.public", diags)
	}
}
