package render

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

const testEnvManifest = "name: test\ntype: Environment\n"

// renderService renders one RDWS manifest (plus optional addon files) in env
// "test" of app "app" and returns the service stack.
func renderService(t *testing.T, manifest string, extra map[string]string, opts Options) (Stack, Stack) {
	t.Helper()
	files := map[string]string{"copilot/svc/manifest.yml": manifest, "copilot/environments/test/manifest.yml": testEnvManifest}
	for k, v := range extra {
		files[k] = v
	}
	ws := loadWorkspace(t, "app", files)
	stacks, diags, err := Render(ws, nil, nil, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	if len(stacks) != 2 {
		t.Fatalf("want an environment and a service stack, got %d", len(stacks))
	}
	validateTemplate(t, stacks[1].Name, stacks[1].Template)
	if stacks[1].AddonsTemplate != nil {
		validateTemplate(t, stacks[1].Name+" addons", stacks[1].AddonsTemplate)
	}
	return stacks[0], stacks[1]
}

func TestRDWSFeatures(t *testing.T) {
	const base = "name: svc\ntype: Request-Driven Web Service\nimage:\n  location: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/svc:v1\n  port: 80\n"
	svcPath := func(keys ...string) []string { return append([]string{"Resources", "Service", "Properties"}, keys...) }
	tests := []struct {
		name     string
		manifest string
		// facts maps a template path (dot-separated) to its expected flow form.
		facts     map[string]string
		params    map[string]string
		envParams map[string]string
		resources []string // logical IDs that must exist
		absent    []string // logical IDs that must not
	}{
		{
			name:     "defaults: public egress, ECR access role, cpu and memory",
			manifest: base,
			facts: map[string]string{
				strings.Join(svcPath("NetworkConfiguration"), "."): "{EgressConfiguration: {EgressType: DEFAULT}}",
			},
			params:    map[string]string{"InstanceCPU": "1024", "InstanceMemory": "2048", "ImageRepositoryType": "ECR", "ContainerPort": "80", "ContainerImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/svc:v1"},
			envParams: map[string]string{"NATWorkloads": "", "AppRunnerPrivateWorkloads": ""},
			resources: []string{"AccessRole", "InstanceRole", "Service", "AddonsStack"},
			absent:    []string{"VpcConnector", "ServiceSecurityGroup", "AppRunnerVpcIngressConnection", "ArtifactKeyARN"},
		},
		{
			name:     "private ingress through the environment's App Runner endpoint",
			manifest: base + "http:\n  private: true\n",
			facts: map[string]string{
				strings.Join(svcPath("NetworkConfiguration", "IngressConfiguration"), "."):                 "{IsPubliclyAccessible: false}",
				"Resources.AppRunnerVpcIngressConnection.Properties.IngressVpcConfiguration.VpcEndpointId": "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-AppRunnerVpcEndpointId'}",
			},
			envParams: map[string]string{"AppRunnerPrivateWorkloads": "svc", "NATWorkloads": ""},
			resources: []string{"AppRunnerVpcIngressConnection"},
		},
		{
			name:     "private ingress through a given endpoint leaves the environment alone",
			manifest: base + "http:\n  private:\n    endpoint: vpce-0123456789abcdef0\n",
			facts: map[string]string{
				"Resources.AppRunnerVpcIngressConnection.Properties.IngressVpcConfiguration.VpcEndpointId": "vpce-0123456789abcdef0",
			},
			envParams: map[string]string{"AppRunnerPrivateWorkloads": ""},
		},
		{
			name:     "health check path only, tracing, count, tags, public ECR",
			manifest: "name: svc\ntype: Request-Driven Web Service\nimage:\n  location: public.ecr.aws/nginx/nginx:latest\n  port: 80\nhttp:\n  healthcheck: /ping\nobservability:\n  tracing: AWSXray\ncount: ha/2\ntags:\n  team: x\ncpu: 2048\nmemory: 4096\n",
			facts: map[string]string{
				strings.Join(svcPath("HealthCheckConfiguration", "Protocol"), "."):               "HTTP",
				strings.Join(svcPath("ObservabilityConfiguration", "ObservabilityEnabled"), "."): "true",
				strings.Join(svcPath("AutoScalingConfigurationArn"), "."):                        "!Sub arn:${AWS::Partition}:apprunner:${AWS::Region}:${AWS::AccountId}:autoscalingconfiguration/ha/2",
				strings.Join(svcPath("Tags", "3"), "."):                                          "{Key: team, Value: x}",
				"Resources.InstanceRole.Properties.Policies.1.PolicyName":                        "EnableAWSXRayTracing",
			},
			params: map[string]string{"HealthCheckPath": "/ping", "ImageRepositoryType": "ECR_PUBLIC", "InstanceCPU": "2048", "InstanceMemory": "4096"},
		},
		{
			name:     "VPC connector on listed subnets does not need NAT from the environment",
			manifest: base + "network:\n  vpc:\n    placement:\n      subnets: [subnet-a, subnet-b]\n",
			facts: map[string]string{
				"Resources.VpcConnector.Properties.Subnets": "[subnet-a, subnet-b]",
			},
			envParams: map[string]string{"NATWorkloads": ""},
			resources: []string{"VpcConnector", "ServiceSecurityGroup", "EnvironmentSecurityGroupIngressFromServiceSecurityGroup"},
		},
		{
			name:     "a variable that looks like a number stays a string",
			manifest: base + "variables:\n  RETRIES: 3\n",
			facts: map[string]string{
				strings.Join(svcPath("SourceConfiguration", "ImageRepository", "ImageConfiguration", "RuntimeEnvironmentVariables", "3"), "."): `{Name: RETRIES, Value: "3"}`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, svc := renderService(t, tc.manifest, nil, seedOptions)
			root := parseTemplate(t, svc.Template)
			for path, want := range tc.facts {
				if got := flowString(t, nodeAt(root, strings.Split(path, ".")...)); got != want {
					t.Errorf("%s = %s, want %s", path, got, want)
				}
			}
			if v, ok := svc.Parameters["AddonsTemplateURL"]; !ok || v != "" {
				t.Errorf("without addons AddonsTemplateURL must be set to empty, got %q (present %v)", v, ok)
			}
			for k, want := range tc.params {
				if got := svc.Parameters[k]; got != want {
					t.Errorf("parameter %s = %q, want %q", k, got, want)
				}
			}
			for k, want := range tc.envParams {
				if got := env.Parameters[k]; got != want {
					t.Errorf("environment parameter %s = %q, want %q", k, got, want)
				}
			}
			for _, id := range tc.resources {
				if nodeAt(root, "Resources", id) == nil {
					t.Errorf("resource %s missing", id)
				}
			}
			for _, id := range tc.absent {
				if nodeAt(root, "Resources", id) != nil || nodeAt(root, "Parameters", id) != nil {
					t.Errorf("%s rendered; want it absent", id)
				}
			}
		})
	}
}

func TestRDWSRejects(t *testing.T) {
	tests := []struct {
		name, manifest, want string
	}{
		{"public placement", "name: svc\ntype: Request-Driven Web Service\nimage: {location: public.ecr.aws/a/b, port: 80}\nnetwork: {vpc: {placement: public}}\n",
			`placement "public" is not supported for Request-Driven Web Service`},
		{"missing port", "name: svc\ntype: Request-Driven Web Service\nimage: {location: public.ecr.aws/a/b}\n", `"image.port" must be specified`},
		{"registry App Runner cannot pull from", "name: svc\ntype: Request-Driven Web Service\nimage: {location: docker.io/library/nginx, port: 80}\n",
			"is not supported by App Runner"},
		{"subnets by no tag", "name: svc\ntype: Request-Driven Web Service\nimage: {location: public.ecr.aws/a/b, port: 80}\nnetwork: {vpc: {placement: {subnets: {from_tags: {}}}}}\n",
			"from_tags needs at least one tag"},
		{"unknown tracing vendor", "name: svc\ntype: Request-Driven Web Service\nimage: {location: public.ecr.aws/a/b, port: 80}\nobservability: {tracing: datadog}\n",
			"invalid tracing vendor datadog"},
		{"a Static Site whose files are missing", "name: svc\ntype: Static Site\nfiles: [{source: dist}]\n",
			`files[0].source "dist": no such file or folder in the workspace`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "app", map[string]string{"copilot/svc/manifest.yml": tc.manifest, "copilot/environments/test/manifest.yml": testEnvManifest})
			_, diags, err := Render(ws, nil, []string{"svc"}, seedOptions)
			if err == nil {
				t.Fatalf("render succeeded; want an error containing %q", tc.want)
			}
			i := slices.IndexFunc(diags, func(d diag.Diagnostic) bool { return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) })
			if i < 0 {
				t.Fatalf("findings %v do not contain %q", diags, tc.want)
			}
			if d := diags[i]; !strings.HasSuffix(d.File, "copilot/svc/manifest.yml") {
				t.Errorf("finding names %q, want the service manifest", d.File)
			}
		})
	}
}

func TestRenderWithoutApplicationNameAsksForApp(t *testing.T) {
	ws := loadWorkspace(t, "app", map[string]string{"copilot/environments/test/manifest.yml": testEnvManifest})
	ws.App = ""
	_, diags, err := Render(ws, nil, nil, Options{})
	if err == nil || !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Fix == "pass --app NAME" }) {
		t.Fatalf("want a finding asking for --app, got %v (%v)", diags, err)
	}
	stacks, _, err := Render(ws, nil, nil, Options{App: "named"})
	if err != nil || len(stacks) != 1 || stacks[0].Name != "named-test" {
		t.Fatalf("with --app the environment renders as named-test; got %v, %v", stacks, err)
	}
}

func TestImagePlaceholderUntilBuilt(t *testing.T) {
	manifest := "name: svc\ntype: Request-Driven Web Service\nimage: {build: svc/Dockerfile, port: 80}\n"
	_, svc := renderService(t, manifest, nil, seedOptions)
	if got := svc.Parameters["ContainerImage"]; got != ImagePlaceholder("svc") {
		t.Errorf("before a build ContainerImage = %q, want the placeholder", got)
	}
	opts := seedOptions
	opts.Images = map[string]string{"svc": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/svc@sha256:" + strings.Repeat("a", 64)}
	_, svc = renderService(t, manifest, nil, opts)
	if got := svc.Parameters["ContainerImage"]; got != opts.Images["svc"] {
		t.Errorf("after a build ContainerImage = %q, want the pushed digest", got)
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{"demoDbSecret": "DEMO_DB_SECRET", "demodbSecret": "DEMODB_SECRET", "MyTable": "MY_TABLE", "URLValue": "URL_VALUE", "db2Name": "DB2_NAME"} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestImageLocationPinnedWhenThePlanCanPin(t *testing.T) {
	manifest := "name: svc\ntype: Request-Driven Web Service\nimage:\n  location: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/svc:v1\n  port: 80\n"
	pinned := "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/svc@sha256:" + strings.Repeat("c", 64)
	opts := seedOptions
	opts.PinImage = func(location string) (string, error) {
		if !strings.HasSuffix(location, "/app/svc:v1") {
			t.Errorf("asked to pin %q", location)
		}
		return pinned, nil
	}
	_, svc := renderService(t, manifest, nil, opts)
	if got := svc.Parameters["ContainerImage"]; got != pinned || svc.Parameters["ImageRepositoryType"] != "ECR" {
		t.Errorf("ContainerImage = %q (%s), want the digest %q from ECR", got, svc.Parameters["ImageRepositoryType"], pinned)
	}

	opts.PinImage = func(string) (string, error) { return "", errors.New("403 Forbidden") }
	ws := loadWorkspace(t, "app", map[string]string{"copilot/svc/manifest.yml": manifest, "copilot/environments/test/manifest.yml": testEnvManifest})
	_, diags, err := Render(ws, nil, nil, opts)
	i := slices.IndexFunc(diags, func(d diag.Diagnostic) bool { return strings.Contains(d.Message, "403 Forbidden") })
	if err == nil || i < 0 || diags[i].Line != 4 || diags[i].Severity != diag.Error {
		t.Fatalf("an image that cannot be read: %v, findings %v; want an error on image.location (line 4)", err, diags)
	}
}
