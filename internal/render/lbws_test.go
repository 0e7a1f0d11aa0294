package render

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

const ecsWebDir = "testdata/ecs-web"

// Copilot's windows-svc-test.stack.yml (aws/copilot-cli v1.33.2,
// stack/testdata/workloads), restated: the manifest and the facts of the
// template Copilot renders for it in environment "test" of app "my-app".
const copilotWindowsManifest = `name: windows-fe
type: Load Balanced Web Service
http:
  path: '/'
image:
  build: Dockerfile
  port: 80
network:
  connect: false
cpu: 1024
memory: 2048
count: 1
platform: windows/x86_64
`

var copilotWindowsResources = []string{
	"AddonsStack:AWS::CloudFormation::Stack@HasAddons",
	"DiscoveryService:AWS::ServiceDiscovery::Service",
	"ExecutionRole:AWS::IAM::Role",
	"HTTPListenerRule:AWS::ElasticLoadBalancingV2::ListenerRule",
	"LogGroup:AWS::Logs::LogGroup",
	"Service:AWS::ECS::Service",
	"TargetGroup:AWS::ElasticLoadBalancingV2::TargetGroup",
	"TaskDefinition:AWS::ECS::TaskDefinition",
	"TaskRole:AWS::IAM::Role",
}

// The custom resources Copilot adds to a load-balanced service and autopilot
// replaces (see README.md): the env controller and the rule priority Lambda.
var (
	rulePriorityResources = []string{"HTTPRulePriorityAction:Custom::RulePriorityFunction", "RulePriorityFunction:AWS::Lambda::Function", "RulePriorityFunctionRole:AWS::IAM::Role"}
	desiredCountResources = []string{"DynamicDesiredCountAction:Custom::DynamicDesiredCountFunction", "DynamicDesiredCountFunction:AWS::Lambda::Function", "DynamicDesiredCountFunctionRole:AWS::IAM::Role"}
)

var copilotLBWSParameters = []string{"AddonsTemplateURL", "AppName", "ArtifactKeyARN", "ContainerImage", "ContainerPort", "DNSDelegated", "EnvFileARN",
	"EnvName", "HTTPSEnabled", "LogRetention", "RulePath", "TargetContainer", "TargetPort", "TaskCPU", "TaskCount", "TaskMemory", "WorkloadName"}

// Parameters Copilot declares but no resource of its template reads; the
// validator requires every declared parameter to be used, so autopilot
// leaves them out (their values stay in Copilot's bookkeeping only).
var unusedLBWSParameters = []string{"ContainerPort", "HTTPSEnabled", "RulePath", "TargetContainer"}

func TestLBWSMatchesCopilotTestdata(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/windows-fe/manifest.yml":        copilotWindowsManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	env, svc := stacks[0], stacks[1]
	root := parseTemplate(t, svc.Template)
	copilot := with(copilotWindowsResources, append(envControllerResources, rulePriorityResources...)...)
	got := resourceFacts(t, root)
	if diff := cmp.Diff(copilotWindowsResources, got); diff != "" {
		t.Errorf("resources (-copilot without its custom resources +autopilot):\n%s", diff)
	}
	matched := 0
	for _, r := range got {
		if slices.Contains(copilot, r) {
			matched++
		}
	}
	t.Logf("load balanced web service: %d of %d Copilot resources rendered with the same logical ID, type and condition; the other %d are the env-controller and rule-priority custom resources replaced by design",
		matched, len(copilot), len(copilot)-matched)
	if diff := cmp.Diff(without(copilotLBWSParameters, unusedLBWSParameters...), sectionKeys(root, "Parameters")); diff != "" {
		t.Errorf("parameters (-copilot +autopilot):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"HasAddons", "HasAssociatedDomain", "HasEnvFile", "IsGovCloud"}, sectionKeys(root, "Conditions")); diff != "" {
		t.Errorf("conditions (-copilot +autopilot):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"DiscoveryServiceARN"}, sectionKeys(root, "Outputs")); diff != "" {
		t.Errorf("outputs (-copilot +autopilot):\n%s", diff)
	}
	// Copilot's params.json for the same manifest, less the unused four.
	wantParams := map[string]string{"AddonsTemplateURL": "", "AppName": "my-app", "ArtifactKeyARN": seedOptions.ArtifactKeyARN, "ContainerImage": ImagePlaceholder("windows-fe"),
		"DNSDelegated": "false", "EnvFileARN": "", "EnvName": "test", "LogRetention": "30", "TargetPort": "80", "TaskCPU": "1024", "TaskCount": "1", "TaskMemory": "2048", "WorkloadName": "windows-fe"}
	if diff := cmp.Diff(wantParams, svc.Parameters); diff != "" {
		t.Errorf("parameter values (-copilot +autopilot):\n%s", diff)
	}
	container := []string{"Resources", "TaskDefinition", "Properties", "ContainerDefinitions", "0"}
	facts := map[string]string{
		"Resources.TaskDefinition.Properties.RuntimePlatform":                        "{OperatingSystemFamily: WINDOWS_SERVER_2019_CORE, CpuArchitecture: X86_64}",
		"Resources.TaskDefinition.DependsOn":                                         "LogGroup",
		"Resources.Service.Properties.PlatformVersion":                               "1.0.0",
		"Resources.Service.Properties.DesiredCount":                                  "!Ref TaskCount",
		"Resources.Service.Properties.LaunchType":                                    "FARGATE",
		"Resources.Service.Properties.HealthCheckGracePeriodSeconds":                 "60",
		"Resources.Service.Properties.LoadBalancers":                                 "[{ContainerName: windows-fe, ContainerPort: 80, TargetGroupArn: !Ref TargetGroup}]",
		"Resources.Service.Properties.ServiceRegistries":                             "[{RegistryArn: !GetAtt DiscoveryService.Arn, Port: !Ref TargetPort}]",
		"Resources.Service.Properties.DeploymentConfiguration.MinimumHealthyPercent": "100",
		"Resources.Service.Properties.NetworkConfiguration.AwsvpcConfiguration": "{AssignPublicIp: ENABLED, Subnets: {'Fn::Split': [',', {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-PublicSubnets'}]}, " +
			"SecurityGroups: [{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-EnvironmentSecurityGroup'}]}",
		"Resources.Service.DependsOn":                            "[HTTPListenerRule]",
		"Resources.TargetGroup.Properties.HealthCheckPath":       "/",
		"Resources.TargetGroup.Properties.TargetGroupAttributes": "[{Key: deregistration_delay.timeout_seconds, Value: 60}, {Key: stickiness.enabled, Value: false}]",
		"Resources.HTTPListenerRule.Properties.Conditions":       "[{Field: path-pattern, PathPatternConfig: {Values: [/*]}}]",
		// The env controller's attribute becomes the environment's export of the same value.
		"Resources.HTTPListenerRule.Properties.ListenerArn":                "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-HTTPListenerArn'}",
		strings.Join(append(slices.Clone(container), "PortMappings"), "."): "[{ContainerPort: 80, Protocol: tcp, Name: target}]",
		"Outputs.DiscoveryServiceARN.Export.Name":                          "!Sub ${AWS::StackName}-DiscoveryServiceARN",
	}
	for path, want := range facts {
		if got := flowString(t, nodeAt(root, strings.Split(path, ".")...)); got != want {
			t.Errorf("%s =\n  %s\nwant\n  %s", path, got, want)
		}
	}
	if got := flowString(t, namedValue(nodeAt(root, append(container, "Environment")...), "COPILOT_LB_DNS")); got != "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-PublicLoadBalancerDNS'}" {
		t.Errorf("COPILOT_LB_DNS = %s, want the environment's PublicLoadBalancerDNS export", got)
	}
	if got, want := scalarValue(nodeAt(root, "Resources", "HTTPListenerRule", "Properties", "Priority")), strconv.Itoa(rulePriority("my-app", "test", "windows-fe", "/")); got != want {
		t.Errorf("priority = %s, want %s", got, want)
	}
	validateTemplate(t, svc.Name, svc.Template)
	if got := env.Parameters["ALBWorkloads"]; got != "windows-fe" {
		t.Errorf("environment ALBWorkloads = %q, want windows-fe: the env controller's Parameters [ALBWorkloads, Aliases]", got)
	}
}

func renderECSWeb(t *testing.T) map[string]Stack {
	t.Helper()
	ws, err := workspace.Load(ecsWebDir)
	if err != nil {
		t.Fatalf("load %s: %v", ecsWebDir, err)
	}
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render %s: %v\n%v", ecsWebDir, err, diags)
	}
	byName := map[string]Stack{}
	for _, s := range stacks {
		byName[s.Name] = s
		validateTemplate(t, s.Name, s.Template)
	}
	return byName
}

func TestECSWebExample(t *testing.T) {
	stacks := renderECSWeb(t)
	env, web, api, orders := stacks["shop-test"], stacks["shop-test-web"], stacks["shop-test-api"], stacks["shop-test-orders"]
	t.Run("environment switches on the public ALB and NAT", func(t *testing.T) {
		want := map[string]string{"ALBWorkloads": "api,web", "InternalALBWorkloads": "orders", "NATWorkloads": "orders,report,web"}
		for k, v := range want {
			if env.Parameters[k] != v {
				t.Errorf("%s = %q, want %q", k, env.Parameters[k], v)
			}
		}
		if slices.Contains(env.KeepPrevious, "ALBWorkloads") {
			t.Errorf("ALBWorkloads is kept from the live stack although the workspace computes it: %q", env.KeepPrevious)
		}
		root := parseTemplate(t, env.Template)
		if got := flowString(t, nodeAt(root, "Resources", "PublicHTTPLoadBalancerSecurityGroup", "Properties", "SecurityGroupIngress", "0", "CidrIp")); got != "10.0.0.0/8" {
			t.Errorf("public ALB ingress = %s, want the manifest's source IP", got)
		}
	})
	t.Run("both services wait for the environment", func(t *testing.T) {
		for _, s := range []Stack{web, api, orders} {
			if !slices.Equal(s.DependsOn, []string{"shop-test"}) {
				t.Errorf("%s DependsOn = %q", s.Name, s.DependsOn)
			}
		}
		if got := stacks["shop-test-fulfilment"].DependsOn; !slices.Equal(got, []string{"shop-test", "shop-test-web"}) {
			t.Errorf("fulfilment DependsOn = %q, want the environment, then the publisher of orders", got)
		}
	})
	webRoot, apiRoot, ordersRoot := parseTemplate(t, web.Template), parseTemplate(t, api.Template), parseTemplate(t, orders.Template)
	container := []string{"Resources", "TaskDefinition", "Properties", "ContainerDefinitions", "0"}
	tests := []struct {
		name  string
		root  *yaml.Node
		facts map[string]string
	}{
		{"web: private tasks, secrets in three forms, addons wired as Copilot wires them for ECS", webRoot, map[string]string{
			strings.Join(append(slices.Clone(container), "Secrets"), "."): "[{Name: DB_PASSWORD, ValueFrom: !Sub 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:shop/test/db'}, " +
				"{Name: SESSION_KEY, ValueFrom: {'Fn::ImportValue': shop-test-SessionKeyArn}}, {Name: STRIPE_KEY, ValueFrom: /copilot/shop/test/secrets/stripe}, " +
				"{Name: CACHE_AUTH_TOKEN, ValueFrom: {'Fn::GetAtt': [AddonsStack, Outputs.CacheAuthToken]}}]",
			"Resources.Service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp": "DISABLED",
			"Resources.Service.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups": "[{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-EnvironmentSecurityGroup'}, sg-0123456789abcdef0, " +
				"{'Fn::ImportValue': shop-test-PaymentsClientSG}, {'Fn::GetAtt': [AddonsStack, Outputs.CacheSecurityGroup]}]",
			"Resources.TaskRole.Properties.ManagedPolicyArns":                            "[{'Fn::GetAtt': [AddonsStack, Outputs.CacheAccessPolicy]}]",
			"Resources.TaskRole.Properties.Policies.1.PolicyName":                        "ExecuteCommand",
			"Resources.Service.Properties.EnableExecuteCommand":                          "true",
			"Resources.Service.Properties.DesiredCount":                                  "<missing>",
			"Resources.Service.Properties.DeploymentConfiguration.MinimumHealthyPercent": "0",
			"Resources.Service.Properties.DeploymentConfiguration.MaximumPercent":        "100",
			"Resources.Service.Properties.HealthCheckGracePeriodSeconds":                 "45",
			"Resources.AutoScalingTarget.Properties.MaxCapacity":                         "6",
			"Resources.AutoScalingPolicyECSServiceAverageCPUUtilization.Properties.TargetTrackingScalingPolicyConfiguration": "{PredefinedMetricSpecification: {PredefinedMetricType: ECSServiceAverageCPUUtilization}, " +
				"ScaleInCooldown: 120, ScaleOutCooldown: 30, TargetValue: 60}",
			"Resources.AutoScalingPolicyALBSumRequestCountPerTarget.Properties.TargetTrackingScalingPolicyConfiguration.ScaleInCooldown": "90",
			"Resources.TargetGroup.Properties.TargetGroupAttributes":                                                                     "[{Key: deregistration_delay.timeout_seconds, Value: 30}, {Key: stickiness.enabled, Value: true}]",
			"Resources.TargetGroup.Properties.HealthCheckPath":                                                                           "/healthz",
		}},
		{"api: ARM task in public subnets under /api for one source range", apiRoot, map[string]string{
			"Resources.TaskDefinition.Properties.RuntimePlatform": "{OperatingSystemFamily: LINUX, CpuArchitecture: ARM64}",
			"Resources.HTTPListenerRule.Properties.Conditions":    "[{Field: source-ip, SourceIpConfig: {Values: [203.0.113.0/24]}}, {Field: path-pattern, PathPatternConfig: {Values: [/api, /api/*]}}]",
			"Resources.Service.Properties.DesiredCount":           "!Ref TaskCount",
			"Resources.AutoScalingTarget":                         "<missing>",
			"Resources.AddonsStack.Condition":                     "HasAddons",
		}},
		{"fulfilment: worker reading the storefront's orders topic", parseTemplate(t, stacks["shop-test-fulfilment"].Template), map[string]string{
			"Resources.EventsQueue.Properties": "{KmsMasterKeyId: !Ref EventsKMSKey, MessageRetentionPeriod: 345600, VisibilityTimeout: 300, " +
				"RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn, maxReceiveCount: 3}}",
			"Resources.webordersSNSTopicSubscription.Properties.FilterPolicy":    `{"kind": ["paid"]}`,
			"Resources.TaskDefinition.Properties.ContainerDefinitions.0.Command": "[sh, -c, while true; do sleep 60; done]",
		}},
		{"report: weekday job in private subnets", parseTemplate(t, stacks["shop-test-report"].Template), map[string]string{
			"Resources.StateMachine.Properties.DefinitionSubstitutions.AssignPublicIp": "DISABLED",
			"Resources.TaskDefinition.Properties.ContainerDefinitions.0.Command":       "[python, -m, report]",
		}},
		{"orders: backend on the internal load balancer, scaled on response time", ordersRoot, map[string]string{
			"Resources.TargetGroup.Properties.HealthCheckPath":                                                                                                       "/orders/health",
			"Resources.AutoScalingPolicyALBAverageResponseTime.Properties.TargetTrackingScalingPolicyConfiguration.TargetValue":                                      "0.5",
			"Resources.AutoScalingPolicyALBAverageResponseTime.Properties.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification.Dimensions.0.Value": "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalLoadBalancerFullName'}",
			"Resources.LoadBalancerInternalDNSAlias.Metadata":                                                                                                        "{'aws:copilot:description': Alias for orders.test.shop.internal to the internal load balancer}",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for path, want := range tc.facts {
				if got := flowString(t, nodeAt(tc.root, strings.Split(path, ".")...)); got != want {
					t.Errorf("%s =\n  %s\nwant\n  %s", path, got, want)
				}
			}
		})
	}
	t.Run("report runs on weekdays at 02:30 UTC", func(t *testing.T) {
		if got := stacks["shop-test-report"].Parameters["Schedule"]; got != "cron(30 2 ? * 2-6 *)" {
			t.Errorf("Schedule = %q", got)
		}
	})
	t.Run("addon outputs other than secrets and policies become variables", func(t *testing.T) {
		envList := nodeAt(webRoot, append(slices.Clone(container), "Environment")...)
		for _, name := range []string{"CACHE_SECURITY_GROUP", "CACHE_ENDPOINT"} {
			if namedValue(envList, name) == nil {
				t.Errorf("variable %s missing", name)
			}
		}
		for _, name := range []string{"CACHE_AUTH_TOKEN", "CACHE_ACCESS_POLICY"} {
			if namedValue(envList, name) != nil {
				t.Errorf("variable %s present; Copilot passes secrets and policies otherwise", name)
			}
		}
		if got := scalarValue(namedValue(envList, "LOG_LEVEL")); got != "debug" {
			t.Errorf("LOG_LEVEL = %q, want the test override debug", got)
		}
	})
	t.Run("addons URL is left to deploy; no addons means an empty URL", func(t *testing.T) {
		if _, ok := web.Parameters["AddonsTemplateURL"]; ok || web.AddonsTemplate == nil {
			t.Errorf("web: AddonsTemplateURL given %q, addons template %d bytes", web.Parameters["AddonsTemplateURL"], len(web.AddonsTemplate))
		}
		if v, ok := api.Parameters["AddonsTemplateURL"]; !ok || v != "" {
			t.Errorf("api: AddonsTemplateURL = %q, %v; want \"\"", v, ok)
		}
	})
	t.Run("rule priorities are distinct, root last", func(t *testing.T) {
		webP, _ := strconv.Atoi(scalarValue(nodeAt(webRoot, "Resources", "HTTPListenerRule", "Properties", "Priority")))
		apiP, _ := strconv.Atoi(scalarValue(nodeAt(apiRoot, "Resources", "HTTPListenerRule", "Properties", "Priority")))
		if webP <= apiP {
			t.Errorf("priorities web (/) %d, api (/api) %d: the root rule must come after /api", webP, apiP)
		}
	})
}

func TestRulePriorities(t *testing.T) {
	a := assignRulePriorities("shop", "test", map[string]string{"web": "/", "api": "/api", "admin": "/admin"})
	b := assignRulePriorities("shop", "test", map[string]string{"web": "/", "api": "/api", "admin": "/admin", "zzz": "/zzz", "root2": "/"})
	for name, p := range a {
		if b[name] != p {
			t.Errorf("adding services renumbered %s: %d -> %d", name, p, b[name])
		}
	}
	for name, p := range b {
		lo, hi := rulePriorityMin, rulePriorityMax
		if name == "web" || name == "root2" {
			lo, hi = rootRulePriorityMin, rootRulePriorityMax
		}
		if p < lo || p > hi {
			t.Errorf("%s priority %d outside [%d, %d]", name, p, lo, hi)
		}
	}
	// A forced collision moves the later name to the next free number.
	paths := map[string]string{}
	first := rulePriority("shop", "test", "a", "/x")
	paths["a"] = "/x"
	for i := 0; i < 200000; i++ {
		name := "b" + strconv.Itoa(i)
		if rulePriority("shop", "test", name, "/x") == first {
			paths[name] = "/x"
			break
		}
	}
	if len(paths) < 2 {
		t.Skip("no colliding name found")
	}
	got := assignRulePriorities("shop", "test", paths)
	seen := map[int]string{}
	for name, p := range got {
		if other, ok := seen[p]; ok {
			t.Errorf("%s and %s share priority %d", name, other, p)
		}
		seen[p] = name
	}
}

// certEnv is an environment manifest's tail importing a public certificate.
const certEnv = "http:\n  public:\n    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/a]\n"

func TestLBWSRefusals(t *testing.T) {
	base := "name: web\ntype: Load Balanced Web Service\nimage: {location: nginx, port: 80}\n"
	tests := []struct {
		name, manifest, envManifest, want string
	}{
		{"alias without certificates (needs the application's domain)", base + "http: {path: /, alias: example.com}\n", "", "http.alias needs HTTPS: environment test imports no certificates and no application domain is given"},
		{"hosted zone without alias", base + "http: {path: /, hosted_zone: Z0123}\n", certEnv, `"http.hosted_zone" needs "http.alias"`},
		{"hosted zone without certificates", base + "http: {path: /, alias: [{name: a.example.com, hosted_zone: Z0123}]}\n", "", "alias hosted zones need certificates imported in environment test"},
		{"redirect without certificates", base + "http: {path: /, redirect_to_https: true}\n", "", "http.redirect_to_https needs an HTTPS listener"},
		{"five host and source conditions", base + "http: {path: /, alias: [a.example.com, b.example.com, c.example.com], allowed_source_ips: [10.0.0.0/8, 10.1.0.0/16]}\n", certEnv,
			"has 5 aliases and allowed source IPs; a rule takes fewer than 5"},
		{"imported ALB", base + "http: {path: /, alb: my-alb}\n", "", "rendering http.alb is not supported yet"},
		{"additional rule without a path", base + "http: {path: /, additional_rules: [{target_port: 8080}]}\n", "", `"path" must be specified in "http.additional_rules[0]"`},
		{"additional rule without alias behind HTTPS", base + "http: {path: /, alias: a.example.com, additional_rules: [{path: /b}]}\n", certEnv, "needs http.additional_rules[0].alias"},
		{"TLS network load balancer without the application's domain", base + "http: false\nnlb: {port: 443/tls}\n", "", "a TLS listener needs the application's domain"},
		{"network load balancer alias", base + "http: false\nnlb: {port: 80/tcp, alias: nlb.example.com}\n", "", "rendering nlb.alias is not supported yet"},
		{"no port", "name: web\ntype: Load Balanced Web Service\nimage: {location: nginx}\nhttp: {path: /}\n", "", `"image.port" must be specified`},
		{"no path", base + "http: {healthcheck: /ping}\n", "", `"path" must be specified in "http"`},
		{"no http", base, "", `"http" must be specified`},
		{"spot with range", base + "http: {path: /}\ncount: {spot: 2, range: 1-3, cpu_percentage: 50}\n", "", `must not specify "spot" with "range"`},
		{"range without metric", base + "http: {path: /}\ncount: {range: 1-3}\n", "", `"range" needs at least one of`},
		{"environment with imported certificates, service without alias", base + "http: {path: /}\n", certEnv,
			"a Load Balanced Web Service in environment test, which imports certificates (http.public.certificates), needs http.alias"},
		{"windows on spot is fine but ARM is not", base + "http: {path: /}\nplatform: linux/arm64\ncount: {spot: 1}\n", "", "Fargate Spot is not available for ARM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", map[string]string{
				"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n" + tc.envManifest,
				"copilot/web/manifest.yml":               tc.manifest,
			})
			_, diags, err := Render(ws, nil, nil, seedOptions)
			if err == nil {
				t.Fatalf("render succeeded; want a refusal containing %q", tc.want)
			}
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool {
				return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) && d.File != ""
			}) {
				t.Errorf("findings %v do not contain an error naming the manifest with %q", diags, tc.want)
			}
		})
	}
}

// TestFirstDeployOverCopilotLBWS lists the Remove actions the first
// autopilot change set holds on a load-balanced service Copilot made, and
// checks each is one the README accounts for: the env controller and the
// rule-priority Lambda with its custom resources (retained by deploy
// first), and the desired-count ones, whose delete handler does nothing.
func TestFirstDeployOverCopilotLBWS(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/windows-fe/manifest.yml":        copilotWindowsManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	ours := resourceFacts(t, parseTemplate(t, stacks[1].Template))
	copilot := with(copilotWindowsResources, append(envControllerResources, rulePriorityResources...)...)
	var gone []string
	for _, r := range copilot {
		if !slices.Contains(ours, r) {
			gone = append(gone, r)
		}
	}
	if diff := cmp.Diff(with(envControllerResources, rulePriorityResources...), gone); diff != "" {
		t.Errorf("removals (-want +got):\n%s", diff)
	}
	for _, r := range ours {
		if !slices.Contains(copilot, r) {
			t.Errorf("autopilot adds %s over Copilot's stack", r)
		}
	}
	_ = desiredCountResources // the same holds with autoscaling; see README
}

// BenchmarkRenderECSWeb renders the ECS example workspace: one environment
// with both load balancers, two web services, a backend and a worker.
func BenchmarkRenderECSWeb(b *testing.B) {
	ws, err := workspace.Load(ecsWebDir)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := Render(ws, nil, nil, seedOptions); err != nil {
			b.Fatal(err)
		}
	}
}
