package render

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// seedWithManifest is the seed example's copilot/ folder with demo-service's
// manifest replaced by edit(manifest).
func seedWithManifest(t *testing.T, edit func(string) string) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join(seedDir, "copilot")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".workspace" {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(seedDir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	files["copilot/demo-service/manifest.yml"] = edit(files["copilot/demo-service/manifest.yml"])
	return files
}

// renderStaging renders the seed example's staging environment from files.
func renderStaging(t *testing.T, files map[string]string) (svc Stack, diags diag.List) {
	t.Helper()
	ws := loadWorkspace(t, "apprunner-vpc", files)
	stacks, diags, err := Render(ws, []string{"staging"}, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	for _, s := range stacks {
		if s.Workload == "demo-service" {
			return s, diags
		}
	}
	t.Fatalf("no demo-service stack among %d", len(stacks))
	return Stack{}, nil
}

func resourcesOf(t *testing.T, body []byte) *yaml.Node {
	t.Helper()
	return get(parseTemplate(t, body), "Resources")
}

// resourceTypes maps each logical ID of a template to its type.
func resourceTypes(t *testing.T, body []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	res := resourcesOf(t, body)
	for i := 0; i+1 < len(res.Content); i += 2 {
		out[res.Content[i].Value] = scalarValue(get(res.Content[i+1], "Type"))
	}
	return out
}

// The seed example's staging environment renders demo-service as an ECS
// Express service beside the App Runner one: every template validates
// against AWS's resource schemas, the service keeps the database secret and
// joins the security group the database admits, and its URL is the one
// deploy reports.
func TestSeedStagingRendersExpressBesideAppRunner(t *testing.T) {
	stacks, diags := renderSeedEnv(t, "staging")
	for _, s := range stacks {
		validateTemplate(t, s.Name, s.Template)
		if s.AddonsTemplate != nil {
			validateTemplate(t, s.Name+" addons", s.AddonsTemplate)
		}
	}
	svc := stacks[len(stacks)-1]
	if svc.Name != "apprunner-vpc-staging-demo-service" {
		t.Fatalf("last stack is %s, want the service", svc.Name)
	}
	types := resourceTypes(t, svc.Template)
	if types["Service"] != "AWS::AppRunner::Service" || types[expressServiceID] != "AWS::ECS::ExpressGatewayService" {
		t.Fatalf("resources %v: want the App Runner Service and the ExpressService", types)
	}
	doc := parseTemplate(t, svc.Template)
	express := nodeAt(doc, "Resources", expressServiceID, "Properties")
	container := get(express, "PrimaryContainer")
	checks := []struct{ what, got, want string }{
		{"secret ARN variable", flowString(t, namedValue(get(container, "Environment"), "DEMO_DB_SECRET_ARN")), "{'Fn::GetAtt': [AddonsStack, Outputs.demoDbSecret]}"},
		{"secret", flowString(t, valueFrom(get(container, "Secrets"), "DEMO_DB_SECRET")), "{'Fn::GetAtt': [AddonsStack, Outputs.demoDbSecret]}"},
		{"security groups", flowString(t, nodeAt(express, "NetworkConfiguration", "SecurityGroups")),
			"[!Ref ServiceSecurityGroup, {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-EnvironmentSecurityGroup'}]"},
		{"private subnets", flowString(t, nodeAt(express, "NetworkConfiguration", "Subnets")),
			"{'Fn::Split': [',', {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-PrivateSubnets'}]}"},
		{"size", scalarValue(get(express, "Cpu")) + "/" + scalarValue(get(express, "Memory")), "1024/2048"},
		{"health check", scalarValue(get(express, "HealthCheckPath")), "/health"},
		{"variables", flowString(t, namedValue(get(container, "Environment"), "APP_ENV")), "staging"},
		{"task role policies", flowString(t, nodeAt(doc, "Resources", expressTaskRoleID, "Properties", "ManagedPolicyArns")),
			"[{'Fn::GetAtt': [AddonsStack, Outputs.demoDbAuroraSecretAccessPolicy]}]"},
		{"task role", flowString(t, get(express, "TaskRoleArn")), "!GetAtt ExpressTaskRole.Arn"},
		{"execution role", flowString(t, get(express, "ExecutionRoleArn")), "!GetAtt ExpressExecutionRole.Arn"},
		{"URL", flowString(t, nodeAt(doc, "Outputs", "ServiceURL", "Value")), "!Sub https://${ExpressService.Endpoint}"},
		{"App Runner URL", flowString(t, nodeAt(doc, "Outputs", "AppRunnerServiceURL", "Value")), "!Sub https://${Service.ServiceUrl}"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.what, c.got, c.want)
		}
	}
	// The database admits ServiceSecurityGroup, which the addons stack is
	// given as ServiceSecurityGroupId.
	if got := flowString(t, nodeAt(doc, "Resources", addonsStackName, "Properties", "Parameters", "ServiceSecurityGroupId")); got != "!GetAtt ServiceSecurityGroup.GroupId" {
		t.Errorf("addons stack's ServiceSecurityGroupId = %s", got)
	}
	if !strings.Contains(string(svc.AddonsTemplate), "SourceSecurityGroupId: !Ref ServiceSecurityGroupId") {
		t.Error("the database's security group no longer admits ServiceSecurityGroupId")
	}
	// Lint explains the move, with positions.
	var explained []string
	for _, d := range diags {
		if d.Rule == ruleExpress {
			if d.Line == 0 {
				t.Errorf("finding without a position: %v", d)
			}
			explained = append(explained, d.Message)
		}
	}
	for _, want := range []string{"beside the App Runner service", "internal load balancer", "health check's interval", "auto scaling"} {
		if !slices.ContainsFunc(explained, func(m string) bool { return strings.Contains(m, want) }) {
			t.Errorf("no finding says %q: %q", want, explained)
		}
	}
}

func valueFrom(list *yaml.Node, name string) *yaml.Node {
	for _, e := range list.Content {
		if scalarValue(get(e, "Name")) == name {
			return get(e, "ValueFrom")
		}
	}
	return nil
}

// Phase 1 touches nothing of the App Runner service: every resource of the
// App Runner-only template is in the Express one, unchanged, so the change
// set only adds resources.
func TestExpressPhaseOneOnlyAddsResources(t *testing.T) {
	before, _ := renderStaging(t, seedWithManifest(t, func(m string) string {
		return strings.Replace(m, "runtime: ecs-express", "runtime: app-runner", 1)
	}))
	after, _ := renderStaging(t, seedWithManifest(t, func(m string) string { return m }))
	old, cur := resourcesOf(t, before.Template), resourcesOf(t, after.Template)
	for i := 0; i+1 < len(old.Content); i += 2 {
		id := old.Content[i].Value
		if got, want := flowString(t, get(cur, id)), flowString(t, old.Content[i+1]); got != want {
			t.Errorf("%s changes:\n before %s\n after  %s", id, want, got)
		}
	}
	added := len(cur.Content)/2 - len(old.Content)/2
	if added != 5 {
		t.Errorf("phase 1 adds %d resources, want the Express service, its three roles and its log group", added)
	}
	for k, v := range before.Parameters {
		if after.Parameters[k] != v {
			t.Errorf("parameter %s: %q becomes %q", k, v, after.Parameters[k])
		}
	}
}

// Phase 2 removes the App Runner service and what only it used, and keeps
// the Express service, the database's security group and the addons.
func TestExpressPhaseTwoRemovesOnlyAppRunner(t *testing.T) {
	svc, _ := renderStaging(t, seedWithManifest(t, func(m string) string {
		return strings.Replace(m, "runtime: ecs-express", "runtime: ecs-express\n      app-runner: remove", 1)
	}))
	validateTemplate(t, svc.Name, svc.Template)
	types := resourceTypes(t, svc.Template)
	for id, typ := range types {
		if strings.HasPrefix(typ, "AWS::AppRunner::") || id == "InstanceRole" || id == "AccessRole" {
			t.Errorf("phase 2 keeps %s (%s)", id, typ)
		}
	}
	for _, id := range []string{expressServiceID, "ServiceSecurityGroup", addonsStackName, "EnvironmentSecurityGroupIngressFromServiceSecurityGroup"} {
		if types[id] == "" {
			t.Errorf("phase 2 drops %s", id)
		}
	}
	for _, p := range []string{"InstanceCPU", "ImageRepositoryType", "HealthCheckPath"} {
		if _, ok := svc.Parameters[p]; ok {
			t.Errorf("phase 2 still passes the App Runner parameter %s", p)
		}
	}
	if got := flowString(t, nodeAt(parseTemplate(t, svc.Template), "Outputs")); !strings.Contains(got, "ExpressService.Endpoint") || strings.Contains(got, "AppRunner") {
		t.Errorf("outputs = %s, want only the Express URL", got)
	}
}

func TestRemovingAppRunnerWithoutExpressIsRefused(t *testing.T) {
	ws := loadWorkspace(t, "apprunner-vpc", seedWithManifest(t, func(m string) string {
		return strings.Replace(m, "runtime: ecs-express", "app-runner: remove", 1)
	}))
	_, diags, _ := Render(ws, []string{"staging"}, nil, seedOptions)
	i := slices.IndexFunc(diags, func(d diag.Diagnostic) bool { return d.Severity == diag.Error && d.Rule == ruleManifest })
	if i < 0 || !strings.Contains(diags[i].Message, "needs runtime: ecs-express") || diags[i].Line == 0 {
		t.Fatalf("want a positioned error that app-runner: remove needs ecs-express, got %v", diags)
	}
}

func TestExpressSizeIsTheNearestFargateSize(t *testing.T) {
	for _, tc := range []struct{ cpu, mem, wantCPU, wantMem int }{
		{1024, 2048, 1024, 2048},
		{256, 512, 256, 512},
		{1024, 3072, 1024, 3072},
		{2048, 6144, 2048, 6144},
		{4096, 12288, 4096, 12288},
		{256, 4096, 512, 4096},   // 256 CPU allows at most 2 GiB
		{1024, 1024, 1024, 2048}, // 1 vCPU needs at least 2 GiB
		{8192, 65536, 4096, 30720},
	} {
		cpu, mem := expressSize(tc.cpu, tc.mem)
		if cpu != tc.wantCPU || mem != tc.wantMem {
			t.Errorf("expressSize(%d, %d) = %d/%d, want %d/%d", tc.cpu, tc.mem, cpu, mem, tc.wantCPU, tc.wantMem)
		}
	}
}

// The App Runner custom domain (Copilot's Lambda resources, kept from the
// deployed stack) cannot outlive the App Runner service.
func TestRemovingAppRunnerWithAnAliasIsRefused(t *testing.T) {
	ws := loadWorkspace(t, "apprunner-vpc", seedWithManifest(t, func(m string) string {
		m = strings.Replace(m, "runtime: ecs-express", "runtime: ecs-express\n      app-runner: remove", 1)
		return strings.Replace(m, "http:\n", "http:\n  alias: web.example.com\n", 1)
	}))
	_, diags, _ := Render(ws, []string{"staging"}, nil, seedOptions)
	i := slices.IndexFunc(diags, func(d diag.Diagnostic) bool { return d.Severity == diag.Error && d.Rule == ruleUnsupported })
	if i < 0 || !strings.Contains(diags[i].Message, "http.alias with x-autopilot.app-runner: remove") || diags[i].Line == 0 {
		t.Fatalf("want a positioned refusal of the alias, got %v", diags)
	}
}
