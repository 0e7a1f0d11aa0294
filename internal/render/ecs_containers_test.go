package render

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// Copilot's svc-manifest.yml (aws/copilot-cli v1.33.2, environment "prod"),
// restated with the parts autopilot renders: sidecars, logging (FireLens),
// a task volume, variables and secrets, and http.target_container. Its
// aliases, imported ALB and additional rules have tests of their own.
const copilotSidecarManifest = `name: fe
type: Load Balanced Web Service
image:
  build: ./Dockerfile
  port: 4000
http:
  path: '/'
  target_container: nginx
cpu: 256
memory: 512
count: 3
storage:
  volumes:
    persistence:
      path: /etc/scratch
variables:
  LOG_LEVEL: info
  DB_NAME:
    from_cfn: MyDB
secrets:
  SQL_PASS: SQL_PASS
  GIT_USERNAME:
    from_cfn: stack-SSMGHUserName
  DB:
    secretsmanager: 'demo/testing/mysql'
logging:
  retention: 1
  destination:
    Name: cloudwatch
    region: us-west-2
    log_group_name: /copilot/sidecar-test-hello
    log_stream_prefix: copilot/
  variables:
    TEST: TEST
    DB_NAME:
      from_cfn: MyDB
  secrets:
    GITHUB_TOKEN: GITHUB_TOKEN
    MONGO_DB:
      from_cfn: stack-MongoUserName
  secretOptions:
    SQL_USERNAME: SQL_USERNAME
    GIT_USERNAME:
      from_cfn: stack-SSMGHUserName
    DB:
      secretsmanager: 'demo/testing/mysql'
sidecars:
  nginx:
    port: 8080
    image: 1234567890.dkr.ecr.us-west-2.amazonaws.com/reverse-proxy:revision_1
    variables:
      NGINX_PORT: 80
      DB_NAME:
        from_cfn: MyDB
    healthcheck:
      command: ["CMD-SHELL", "curl -f http://localhost:8080 || exit 1"]
      interval: 10s
    secrets:
      SQL_PASS: SQL_PASS
      GIT_USERNAME:
        from_cfn: stack-SSMGHUserName
      DB:
        secretsmanager: 'demo/testing/mysql'
  operation:
    image: "alpine:latest"
    command: ["echo", "$COPILOT_APPLICATION_NAME"]
`

// renderOne renders a workspace of one environment "test" and one workload
// and returns the workload's stack, its template parsed.
func renderOne(t *testing.T, app, name, manifest string) (Stack, *yaml.Node) {
	t.Helper()
	return renderOneWith(t, app, name, manifest, nil)
}

// containerNamed finds a container definition by its Name (the main
// container's Name is !Ref WorkloadName).
func containerNamed(root *yaml.Node, name string) *yaml.Node {
	list := nodeAt(root, "Resources", "TaskDefinition", "Properties", "ContainerDefinitions")
	if list == nil {
		return nil
	}
	for _, c := range list.Content {
		if n := get(c, "Name"); n != nil && (n.Value == name || n.Tag == "!Ref" && name == "main") {
			return c
		}
	}
	return nil
}

func containerNames(root *yaml.Node) []string {
	var out []string
	for _, c := range nodeAt(root, "Resources", "TaskDefinition", "Properties", "ContainerDefinitions").Content {
		n := get(c, "Name")
		if n.Tag == "!Ref" {
			out = append(out, "!Ref "+n.Value)
			continue
		}
		out = append(out, n.Value)
	}
	return out
}

func envNames(c *yaml.Node) []string {
	var out []string
	for _, e := range get(c, "Environment").Content {
		out = append(out, scalarValue(get(e, "Name")))
	}
	return out
}

func checkFacts(t *testing.T, root *yaml.Node, facts map[string]string) {
	t.Helper()
	for _, path := range sortedKeys(facts) {
		if got := flowString(t, nodeAt(root, strings.Split(path, ".")...)); got != facts[path] {
			t.Errorf("%s =\n  %s\nwant\n  %s", path, got, facts[path])
		}
	}
}

func TestSidecarsAndLoggingMatchCopilotTestdata(t *testing.T) {
	st, root := renderOne(t, "my-app", "fe", copilotSidecarManifest)
	if diff := cmp.Diff([]string{"!Ref WorkloadName", firelensContainer, "nginx", "operation"}, containerNames(root)); diff != "" {
		t.Errorf("containers (-copilot +autopilot):\n%s", diff)
	}
	// svc-prod.params.json, less the parameters no resource reads.
	want := map[string]string{"AddonsTemplateURL": "", "AppName": "my-app", "ArtifactKeyARN": seedOptions.ArtifactKeyARN, "ContainerImage": ImagePlaceholder("fe"),
		"DNSDelegated": "false", "EnvFileARN": "", "EnvFileARNFornginx": "", "EnvFileARNForoperation": "", "EnvName": "test", "LogRetention": "1",
		"LoggingEnvFileARN": "", "TargetPort": "8080", "TaskCPU": "256", "TaskCount": "3", "TaskMemory": "512", "WorkloadName": "fe"}
	if diff := cmp.Diff(want, st.Parameters); diff != "" {
		t.Errorf("parameter values (-copilot +autopilot):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"HasAddons", "HasAssociatedDomain", "HasEnvFile", "HasEnvFileFornginx", "HasEnvFileForoperation", "HasLoggingEnvFile", "IsGovCloud"},
		sectionKeys(root, "Conditions")); diff != "" {
		t.Errorf("conditions (-copilot +autopilot):\n%s", diff)
	}
	main, router, nginx, operation := containerNamed(root, "main"), containerNamed(root, firelensContainer), containerNamed(root, "nginx"), containerNamed(root, "operation")
	facts := []struct {
		container *yaml.Node
		key, want string
	}{
		{main, "LogConfiguration", "{LogDriver: awsfirelens, Options: {Name: cloudwatch, log_group_name: /copilot/sidecar-test-hello, log_stream_prefix: copilot/, region: us-west-2}, " +
			"SecretOptions: [{Name: DB, ValueFrom: !Sub 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:demo/testing/mysql'}, " +
			"{Name: GIT_USERNAME, ValueFrom: {'Fn::ImportValue': stack-SSMGHUserName}}, {Name: SQL_USERNAME, ValueFrom: SQL_USERNAME}]}"},
		{main, "MountPoints", "[{ContainerPath: /etc/scratch, ReadOnly: true, SourceVolume: persistence}]"},
		{main, "PortMappings", "[{ContainerPort: 4000, Protocol: tcp}]"},
		{router, "Image", "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"},
		{router, "Secrets", "[{Name: GITHUB_TOKEN, ValueFrom: GITHUB_TOKEN}, {Name: MONGO_DB, ValueFrom: {'Fn::ImportValue': stack-MongoUserName}}]"},
		{router, "FirelensConfiguration", "{Type: fluentbit, Options: {enable-ecs-log-metadata: \"true\"}}"},
		{router, "EnvironmentFiles", "[!If [HasLoggingEnvFile, {Type: s3, Value: !Ref LoggingEnvFileARN}, !Ref 'AWS::NoValue']]"},
		{router, "LogConfiguration.LogDriver", "awslogs"},
		{nginx, "PortMappings", "[{ContainerPort: 8080, Protocol: tcp, Name: target}]"},
		{nginx, "HealthCheck", "{Command: [CMD-SHELL, 'curl -f http://localhost:8080 || exit 1'], Interval: 10, Retries: 2, StartPeriod: 0, Timeout: 5}"},
		{nginx, "EnvironmentFiles", "[!If [HasEnvFileFornginx, {Type: s3, Value: !Ref EnvFileARNFornginx}, !Ref 'AWS::NoValue']]"},
		{nginx, "Secrets", "[{Name: DB, ValueFrom: !Sub 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:demo/testing/mysql'}, " +
			"{Name: GIT_USERNAME, ValueFrom: {'Fn::ImportValue': stack-SSMGHUserName}}, {Name: SQL_PASS, ValueFrom: SQL_PASS}]"},
		{operation, "Image", "alpine:latest"},
		{operation, "Command", "[echo, $COPILOT_APPLICATION_NAME]"},
	}
	for _, f := range facts {
		if got := flowString(t, nodeAt(f.container, strings.Split(f.key, ".")...)); got != f.want {
			t.Errorf("%s.%s =\n  %s\nwant\n  %s", flowString(t, get(f.container, "Name")), f.key, got, f.want)
		}
	}
	common := []string{"COPILOT_APPLICATION_NAME", "COPILOT_SERVICE_DISCOVERY_ENDPOINT", "COPILOT_ENVIRONMENT_NAME", "COPILOT_SERVICE_NAME", "COPILOT_LB_DNS"}
	for _, c := range []struct {
		node *yaml.Node
		want []string
	}{
		{main, append(slices.Clone(common), "DB_NAME", "LOG_LEVEL", "COPILOT_MOUNT_POINTS")},
		{router, append(slices.Clone(common), "DB_NAME", "TEST")},
		{nginx, append(slices.Clone(common), "DB_NAME", "NGINX_PORT")},
		{operation, common},
	} {
		if diff := cmp.Diff(c.want, envNames(c.node)); diff != "" {
			t.Errorf("%s environment (-copilot +autopilot):\n%s", flowString(t, get(c.node, "Name")), diff)
		}
	}
	if got := flowString(t, namedValue(get(main, "Environment"), "COPILOT_MOUNT_POINTS")); got != `'{"persistence":"/etc/scratch"}'` {
		t.Errorf("COPILOT_MOUNT_POINTS = %s", got)
	}
	checkFacts(t, root, map[string]string{
		"Resources.TaskDefinition.Properties.Volumes": "[{Name: persistence}]",
		"Resources.Service.Properties.LoadBalancers":  "[{ContainerName: nginx, ContainerPort: 8080, TargetGroupArn: !Ref TargetGroup}]",
		"Resources.TargetGroup.Properties.Port":       "8080",
	})
	var policies []string
	for _, p := range nodeAt(root, "Resources", "ExecutionRole", "Properties", "Policies").Content {
		if p.Tag == "!If" {
			policies = append(policies, p.Content[0].Value+":"+flowString(t, nodeAt(p.Content[1], "PolicyName")))
		}
	}
	wantPolicies := []string{
		"HasEnvFile:!Join [\"\", [!Ref AppName, '-', !Ref EnvName, '-', !Ref WorkloadName, GetEnvFilePolicy]]",
		"HasLoggingEnvFile:!Join [\"\", [!Ref AppName, '-', !Ref EnvName, '-', !Ref WorkloadName, GetLoggingEnvFilePolicy]]",
		"HasEnvFileFornginx:!Join [\"\", [!Ref AppName, '-', !Ref EnvName, '-', !Ref WorkloadName, GetEnvFilePolicyFornginx]]",
		"HasEnvFileForoperation:!Join [\"\", [!Ref AppName, '-', !Ref EnvName, '-', !Ref WorkloadName, GetEnvFilePolicyForoperation]]",
	}
	if diff := cmp.Diff(wantPolicies, policies); diff != "" {
		t.Errorf("execution role env-file policies (-copilot +autopilot):\n%s", diff)
	}
}

// Copilot's backend/http-full-config-manifest.yml restated without its
// additional rule: a sidecar whose name is not a safe logical ID, and a
// target_port on the main container.
const copilotBackendSidecarManifest = `name: http-full-config
type: Backend Service
http:
  path: "/http-full-config-path"
  target_container: http-full-config
  target_port: 8081
network:
  connect: false
image:
  build: Dockerfile
  port: 8080
cpu: 512
memory: 1024
count: 1
exec: true
sidecars:
  fluent-bit:
    port: 1234
    image: 1234567890.dkr.ecr.us-west-2.amazonaws.com/reverse-proxy:revision_1
`

func TestBackendSidecarMatchesCopilotTestdata(t *testing.T) {
	st, root := renderOne(t, "my-app", "http-full-config", copilotBackendSidecarManifest)
	for param, want := range map[string]string{"EnvFileARNForfluentbit": "", "TargetPort": "8081"} {
		if got, ok := st.Parameters[param]; !ok || got != want {
			t.Errorf("parameter %s = %q (set %v), want %q as in Copilot's params.json", param, got, ok, want)
		}
	}
	main, sidecar := containerNamed(root, "main"), containerNamed(root, "fluent-bit")
	for _, f := range []struct {
		container *yaml.Node
		key, want string
	}{
		{main, "PortMappings", "[{ContainerPort: 8080, Protocol: tcp}, {ContainerPort: 8081, Protocol: tcp, Name: target}]"},
		{sidecar, "PortMappings", "[{ContainerPort: 1234, Protocol: tcp}]"},
		{sidecar, "EnvironmentFiles", "[!If [HasEnvFileForfluentbit, {Type: s3, Value: !Ref EnvFileARNForfluentbit}, !Ref 'AWS::NoValue']]"},
	} {
		if got := flowString(t, get(f.container, f.key)); got != f.want {
			t.Errorf("%s.%s =\n  %s\nwant\n  %s", flowString(t, get(f.container, "Name")), f.key, got, f.want)
		}
	}
	checkFacts(t, root, map[string]string{
		"Conditions.HasEnvFileForfluentbit":          "!Not [!Equals [!Ref EnvFileARNForfluentbit, \"\"]]",
		"Resources.Service.Properties.LoadBalancers": "[{ContainerName: http-full-config, ContainerPort: 8081, TargetGroupArn: !Ref TargetGroup}]",
	})
}

// Copilot's job-manifest.yml restated with a task volume in place of its
// Copilot-managed EFS volume (refused): labels (merged with the
// environment override), depends_on, ephemeral storage, an essential
// sidecar with a port, mount points, variables, secrets and labels.
const copilotJobSidecarManifest = `name: job
type: Scheduled Job
image:
  labels:
    com.amazonaws.ecs.copilot.description: Hello world!
  location: alpine
  depends_on:
    nginx: start
cpu: 256
memory: 512
on:
  schedule: "0 12 * * MON"
storage:
  ephemeral: 200
  volumes:
    scratch:
      path: '/etc/mount1'
      read_only: false
sidecars:
  nginx:
    essential: true
    image: public.ecr.aws/nginx/nginx
    port: 8080
    mount_points:
      - source_volume: scratch
        path: '/var/www'
    variables:
      NGINX_PORT: 8080
    labels:
      com.amazonaws.ecs.copilot.sidecars.nginx.description: tricky
environments:
  test:
    image:
      labels:
        com.amazonaws.ecs.copilot.coollabel: Synecdoche
`

func TestJobSidecarMatchesCopilotTestdata(t *testing.T) {
	st, root := renderOne(t, "my-app", "job", copilotJobSidecarManifest)
	if got := st.Parameters["EnvFileARNFornginx"]; got != "" {
		t.Errorf("EnvFileARNFornginx = %q, want empty", got)
	}
	main, nginx := containerNamed(root, "main"), containerNamed(root, "nginx")
	for _, f := range []struct {
		container *yaml.Node
		key, want string
	}{
		{main, "MountPoints", "[{ContainerPath: /etc/mount1, ReadOnly: false, SourceVolume: scratch}]"},
		{main, "DockerLabels", "{com.amazonaws.ecs.copilot.coollabel: Synecdoche, com.amazonaws.ecs.copilot.description: Hello world!}"},
		{main, "DependsOn", "[{Condition: START, ContainerName: nginx}]"},
		// A job's main container exposes no port.
		{main, "PortMappings", "<missing>"},
		{nginx, "Essential", "true"},
		{nginx, "PortMappings", "[{ContainerPort: 8080, Protocol: tcp}]"},
		{nginx, "MountPoints", "[{SourceVolume: scratch, ReadOnly: true, ContainerPath: /var/www}]"},
		{nginx, "DockerLabels", "{com.amazonaws.ecs.copilot.sidecars.nginx.description: tricky}"},
	} {
		if got := flowString(t, get(f.container, f.key)); got != f.want {
			t.Errorf("%s.%s =\n  %s\nwant\n  %s", flowString(t, get(f.container, "Name")), f.key, got, f.want)
		}
	}
	if got := flowString(t, namedValue(get(main, "Environment"), "COPILOT_MOUNT_POINTS")); got != `'{"scratch":"/etc/mount1"}'` {
		t.Errorf("main COPILOT_MOUNT_POINTS = %s", got)
	}
	if got := flowString(t, namedValue(get(nginx, "Environment"), "COPILOT_MOUNT_POINTS")); got != `'{"scratch":"/var/www"}'` {
		t.Errorf("nginx COPILOT_MOUNT_POINTS = %s", got)
	}
	if got := flowString(t, namedValue(get(nginx, "Environment"), "NGINX_PORT")); got != `"8080"` {
		t.Errorf("NGINX_PORT = %s, want the string 8080", got)
	}
	checkFacts(t, root, map[string]string{
		"Resources.TaskDefinition.Properties.EphemeralStorage": "{SizeInGiB: 200}",
		"Resources.TaskDefinition.Properties.Volumes":          "[{Name: scratch}]",
	})
}

func TestContainerHealthCheckDefaults(t *testing.T) {
	tests := []struct {
		name, healthcheck, want string
	}{
		{"command only", "{command: [CMD, /bin/check]}", "{Command: [CMD, /bin/check], Interval: 10, Retries: 2, StartPeriod: 0, Timeout: 5}"},
		{"timings only keep Copilot's curl", "{interval: 30s, retries: 5, timeout: 10s, start_period: 1m}",
			"{Command: [CMD-SHELL, 'curl -f http://localhost/ || exit 1'], Interval: 30, Retries: 5, StartPeriod: 60, Timeout: 10}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, root := renderOne(t, "demo", "web", "name: web\ntype: Backend Service\nimage:\n  location: nginx\n  port: 80\n  healthcheck: "+tc.healthcheck+"\n")
			if got := flowString(t, get(containerNamed(root, "main"), "HealthCheck")); got != tc.want {
				t.Errorf("HealthCheck =\n  %s\nwant\n  %s", got, tc.want)
			}
		})
	}
}

func TestBringYourOwnEFS(t *testing.T) {
	manifest := `name: api
type: Backend Service
image: {location: nginx, port: 80}
storage:
  readonly_fs: true
  ephemeral: 20
  volumes:
    assets:
      path: /srv/assets
      read_only: false
      efs:
        id: fs-0123456789abcdef0
        root_dir: /assets
    shared:
      path: /srv/shared
      efs:
        id: {from_cfn: shared-fs-id}
        auth: {iam: true, access_point_id: fsap-0123456789abcdef0}
`
	_, root := renderOne(t, "demo", "api", manifest)
	checkFacts(t, root, map[string]string{
		"Resources.TaskDefinition.Properties.Volumes": "[{Name: assets, EFSVolumeConfiguration: {FilesystemId: fs-0123456789abcdef0, RootDirectory: /assets, TransitEncryption: ENABLED, AuthorizationConfig: {IAM: DISABLED}}}, " +
			"{Name: shared, EFSVolumeConfiguration: {FilesystemId: {'Fn::ImportValue': shared-fs-id}, RootDirectory: /, TransitEncryption: ENABLED, AuthorizationConfig: {AccessPointId: fsap-0123456789abcdef0, IAM: ENABLED}}}]",
		// 20 GiB is Fargate's default: Copilot leaves it out.
		"Resources.TaskDefinition.Properties.EphemeralStorage":                                   "<missing>",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.0.ReadonlyRootFilesystem":      "true",
		"Resources.TaskRole.Properties.Policies.1.PolicyName":                                    "GrantEFSAccessfs-0123456789abcdef0-0",
		"Resources.TaskRole.Properties.Policies.1.PolicyDocument.Statement.0.Action":             "['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite']",
		"Resources.TaskRole.Properties.Policies.2.PolicyName":                                    `!Join ["", [GrantEFSAccess, {'Fn::ImportValue': shared-fs-id}, "-1"]]`,
		"Resources.TaskRole.Properties.Policies.2.PolicyDocument.Statement.0.Action":             "['elasticfilesystem:ClientMount']",
		"Resources.TaskRole.Properties.Policies.2.PolicyDocument.Statement.0.Condition":          "{StringEquals: {'elasticfilesystem:AccessPointArn': !Sub 'arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:access-point/fsap-0123456789abcdef0'}}",
		"Resources.TaskRole.Properties.Policies.2.PolicyDocument.Statement.0.Resource":           "[!Join [/, [!Sub 'arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:file-system', {'Fn::ImportValue': shared-fs-id}]]]",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.0.MountPoints.1.ContainerPath": "/srv/shared",
	})
}

func TestContainerRefusals(t *testing.T) {
	head := "name: web\ntype: Load Balanced Web Service\nhttp: {path: /}\n"
	base := head + "image: {location: nginx, port: 80}\n"
	tests := []struct {
		name, manifest, want string
	}{
		{"sidecar image map without location or build", base + "sidecars:\n  proxy: {image: {}}\n", `sidecar "proxy" needs an image`},
		{"sidecar without image", base + "sidecars:\n  proxy: {port: 9090}\n", `sidecar "proxy" needs an image`},
		{"sidecar named like the service", base + "sidecars:\n  web: {image: envoy}\n", `sidecar name "web" is taken`},
		{"sidecar bad port", base + "sidecars:\n  proxy: {image: envoy, port: 80/sctp}\n", "protocol must be tcp or udp"},
		{"sidecar env file", base + "sidecars:\n  proxy: {image: envoy, env_file: proxy.env}\n", `sidecars.proxy.env_file "proxy.env": no such file in the workspace`},
		{"logging env file", base + "logging: {env_file: log.env}\n", `logging.env_file "log.env": no such file in the workspace`},
		{"depends on unknown container", head + "image:\n  location: nginx\n  port: 80\n  depends_on: {ghost: start}\n", `depends on container "ghost"`},
		{"healthy without health check", head + "image:\n  location: nginx\n  port: 80\n  depends_on: {proxy: healthy}\nsidecars:\n  proxy: {image: envoy}\n", "proxy has no healthcheck"},
		{"complete on an essential sidecar", head + "image:\n  location: nginx\n  port: 80\n  depends_on: {init: complete}\nsidecars:\n  init: {image: busybox}\n", "init is essential"},
		{"dependency cycle", head + "image:\n  location: nginx\n  port: 80\n  depends_on: {proxy: start}\nsidecars:\n  proxy: {image: envoy, depends_on: {web: start}}\n", "cycle: proxy -> web -> proxy"},
		{"bad condition", base + "sidecars:\n  a: {image: envoy, depends_on: {web: ready}}\n", `"ready", which is not one of`},
		{"health check out of range", head + "image:\n  location: nginx\n  port: 80\n  healthcheck: {interval: 1s}\n", "must be between 5s and 300s"},
		{"two managed EFS volumes", base + "storage:\n  volumes:\n    a: {path: /a, efs: true}\n    b: {path: /b, efs: {uid: 1000, gid: 1000}}\n", "only one managed EFS volume"},
		{"managed EFS with uid only", base + "storage:\n  volumes:\n    data: {path: /data, efs: {uid: 1000}}\n", "set both uid and gid"},
		{"managed and existing EFS at once", base + "storage:\n  volumes:\n    data: {path: /data, efs: {id: fs-1, uid: 1000, gid: 1000}}\n", "mutually exclusive"},
		{"EFS without id", base + "storage:\n  volumes:\n    data: {path: /data, efs: {root_dir: /x}}\n", "needs the id of the file system"},
		{"volume without path", base + "storage:\n  volumes:\n    data: {}\n", "needs a path"},
		{"ephemeral too large", base + "storage: {ephemeral: 500}\n", "between 20 and 200 GiB"},
		{"mount of an unknown volume", base + "sidecars:\n  proxy:\n    image: envoy\n    mount_points: [{source_volume: data, path: /data}]\n", `mounts volume "data"`},
		{"target container unknown", "name: web\ntype: Load Balanced Web Service\nimage: {location: nginx, port: 80}\nhttp: {path: /, target_container: ghost}\n", `http.target_container "ghost" is neither`},
		{"target sidecar without port", "name: web\ntype: Load Balanced Web Service\nimage: {location: nginx, port: 80}\nhttp: {path: /, target_container: proxy}\nsidecars:\n  proxy: {image: envoy}\n", `"proxy" exposes no port`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", map[string]string{
				"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
				"copilot/web/manifest.yml":               tc.manifest,
			})
			_, diags, err := Render(ws, nil, nil, seedOptions)
			if err == nil {
				t.Fatalf("render succeeded; want an error containing %q", tc.want)
			}
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool {
				return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) && d.File != ""
			}) {
				t.Errorf("findings %v do not contain an error naming the manifest with %q", diags, tc.want)
			}
		})
	}
}

const ecsSidecarsDir = "testdata/ecs-sidecars"

// TestECSSidecarsExampleValidates renders a workspace whose services use
// sidecars, FireLens, container health checks and dependencies, task
// volumes and an existing EFS file system, and validates every template
// (TestWorkspaceGoldens compares the output with testdata/ecs-sidecars/golden).
func TestECSSidecarsExampleValidates(t *testing.T) {
	ws, err := workspace.Load(ecsSidecarsDir)
	if err != nil {
		t.Fatalf("load %s: %v", ecsSidecarsDir, err)
	}
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render %s: %v\n%v", ecsSidecarsDir, err, diags)
	}
	for _, s := range stacks {
		validateTemplate(t, s.Name, s.Template)
	}
}

// BenchmarkRenderECSSidecars renders the feature-rich example: one
// environment with managed EFS and four ECS workloads.
func BenchmarkRenderECSSidecars(b *testing.B) {
	ws, err := workspace.Load(ecsSidecarsDir)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := Render(ws, nil, nil, seedOptions); err != nil {
			b.Fatal(err)
		}
	}
}

// Plan and deploy name every container of a task by digest: the main
// image, sidecars, the log router and the X-Ray collector.
func TestEveryContainerImagePinnedWhenThePlanCanPin(t *testing.T) {
	manifest := `name: api
type: Backend Service
image:
  location: nginx:1.25
  port: 8080
logging:
  destination:
    Name: cloudwatch
observability:
  tracing: awsxray
sidecars:
  proxy:
    image: public.ecr.aws/envoy/envoy:v1
`
	ws := loadWorkspace(t, "app", map[string]string{
		"copilot/api/manifest.yml":               manifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	digest := "@sha256:" + strings.Repeat("d", 64)
	var asked []string
	opts := seedOptions
	opts.PinImage = func(ref string) (string, error) {
		asked = append(asked, ref)
		return ref[:strings.LastIndex(ref, ":")] + digest, nil
	}
	stacks, diags, err := Render(ws, nil, nil, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	st := stacks[1]
	validateTemplate(t, st.Name, st.Template)
	if got := st.Parameters["ContainerImage"]; got != "nginx"+digest {
		t.Errorf("ContainerImage = %q, want nginx by digest", got)
	}
	root := parseTemplate(t, st.Template)
	for _, name := range []string{"proxy", "firelens_log_router", "aws-otel-collector"} {
		c := containerNamed(root, name)
		if c == nil {
			t.Fatalf("no container %s", name)
		}
		if img := get(c, "Image").Value; !strings.HasSuffix(img, digest) {
			t.Errorf("container %s runs %q, want it by digest", name, img)
		}
	}
	if len(asked) != 4 {
		t.Errorf("asked to pin %v, want the four images", asked)
	}

	opts.PinImage = func(string) (string, error) { return "", errors.New("401 Unauthorized") }
	_, diags, err = Render(ws, nil, nil, opts)
	i := slices.IndexFunc(diags, func(d diag.Diagnostic) bool {
		return strings.Contains(d.Message, `sidecar proxy image "public.ecr.aws/envoy/envoy:v1": 401`)
	})
	if err == nil || i < 0 || diags[i].Line != 13 {
		t.Errorf("a sidecar image that cannot be read: %v, findings %v; want an error on its line (13)", err, diags)
	}
}
