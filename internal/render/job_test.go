package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// Copilot's job-manifest.yml (v1.33.2) restated without the parts
// ecs_containers_test.go and ecs_efs_test.go cover (sidecars, storage,
// labels, depends_on): the facts of job-test.stack.yml and
// job-test.params.json for what remains.
const copilotJobManifest = `name: job
type: Scheduled Job
image:
  location: alpine
cpu: 256
memory: 512
on:
  schedule: "0 12 * * MON"
retries: 3
timeout: 1h
publish:
  topics:
    - name: mytopic
      fifo: true
secrets:
  SQL_PASS: SQL_PASS
  GIT_USERNAME:
    from_cfn: stack-SSMGHUserName
  DB:
    secretsmanager: demo/test/mysql
network:
  vpc:
    security_groups:
      - sg-0c10c4fe23f5e5361
      - sg-09295097b2a41b59d
      - from_cfn: MyUserDBAccessSecurityGroup1
      - from_cfn: MyUserDBAccessSecurityGroup2
`

func TestJobMatchesCopilotTestdata(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/job/manifest.yml":               copilotJobManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	st := stacks[1]
	root := parseTemplate(t, st.Template)
	want := []string{
		"AddonsStack:AWS::CloudFormation::Stack@HasAddons", "ExecutionRole:AWS::IAM::Role", "LogGroup:AWS::Logs::LogGroup",
		"Rule:AWS::Events::Rule", "RuleRole:AWS::IAM::Role", "StateMachine:AWS::StepFunctions::StateMachine", "StateMachineRole:AWS::IAM::Role",
		"TaskDefinition:AWS::ECS::TaskDefinition", "TaskRole:AWS::IAM::Role",
		"mytopicfifoSNSTopic:AWS::SNS::Topic", "mytopicfifoSNSTopicPolicy:AWS::SNS::TopicPolicy",
	}
	// Copilot's list also has the env-controller trio and, for the managed
	// EFS volume left out here (see ecs_efs_test.go), AccessPoint.
	if diff := cmp.Diff(want, resourceFacts(t, root)); diff != "" {
		t.Errorf("resources (-copilot +autopilot):\n%s", diff)
	}
	// Copilot also declares TaskCount (read by no resource of a job) and,
	// for the sidecar left out here, EnvFileARNFornginx.
	if diff := cmp.Diff([]string{"AddonsTemplateURL", "AppName", "ArtifactKeyARN", "ContainerImage", "EnvFileARN", "EnvName", "LogRetention", "Schedule", "TaskCPU", "TaskMemory", "WorkloadName"},
		sectionKeys(root, "Parameters")); diff != "" {
		t.Errorf("parameters (-copilot +autopilot):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"HasAddons", "HasEnvFile"}, sectionKeys(root, "Conditions")); diff != "" {
		t.Errorf("conditions (-copilot +autopilot):\n%s", diff)
	}
	wantParams := map[string]string{"AddonsTemplateURL": "", "AppName": "my-app", "ArtifactKeyARN": seedOptions.ArtifactKeyARN, "ContainerImage": "alpine", "EnvFileARN": "",
		"EnvName": "test", "LogRetention": "30", "Schedule": "cron(0 12 ? * MON *)", "TaskCPU": "256", "TaskMemory": "512", "WorkloadName": "job"}
	if diff := cmp.Diff(wantParams, st.Parameters); diff != "" {
		t.Errorf("parameter values (-copilot params.json +autopilot):\n%s", diff)
	}
	sm := []string{"Resources", "StateMachine", "Properties"}
	facts := map[string]string{
		"Resources.Rule.Properties": "{ScheduleExpression: !Ref Schedule, State: ENABLED, Targets: [{Arn: !Ref StateMachine, Id: statemachine, RoleArn: !GetAtt RuleRole.Arn}]}",
		strings.Join(append(slices.Clone(sm), "DefinitionSubstitutions", "SecurityGroups"), "."): `{'Fn::Join': ['","', [{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-EnvironmentSecurityGroup'}, ` +
			"sg-0c10c4fe23f5e5361, sg-09295097b2a41b59d, {'Fn::ImportValue': MyUserDBAccessSecurityGroup1}, {'Fn::ImportValue': MyUserDBAccessSecurityGroup2}]]}",
		strings.Join(append(slices.Clone(sm), "DefinitionSubstitutions", "AssignPublicIp"), "."): "ENABLED",
		strings.Join(append(slices.Clone(sm), "StateMachineName"), "."):                          "!Sub ${AppName}-${EnvName}-${WorkloadName}",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.0.Secrets": "[{Name: DB, ValueFrom: !Sub 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:demo/test/mysql'}, " +
			"{Name: GIT_USERNAME, ValueFrom: {'Fn::ImportValue': stack-SSMGHUserName}}, {Name: SQL_PASS, ValueFrom: SQL_PASS}]",
	}
	for path, want := range facts {
		if got := flowString(t, nodeAt(root, strings.Split(path, ".")...)); got != want {
			t.Errorf("%s =\n  %s\nwant\n  %s", path, got, want)
		}
	}
	def := scalarValue(nodeAt(root, append(sm, "DefinitionString")...))
	for _, want := range []string{`"TimeoutSeconds": 3600,`, `"PlatformVersion": "LATEST",`, `"MaxAttempts": 3,`, `"Resource": "arn:${Partition}:states:::ecs:runTask.sync",`} {
		if !strings.Contains(def, want) {
			t.Errorf("state machine definition lacks %s:\n%s", want, def)
		}
	}
	validateTemplate(t, st.Name, st.Template)
}

func TestJobSchedule(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "0 12 * * MON", want: "cron(0 12 ? * MON *)"},
		{in: "0 9 * * 1-5", want: "cron(0 9 ? * 2-6 *)"},
		{in: "0 9 1 * *", want: "cron(0 9 1 * ? *)"},
		{in: "*/5 * * * *", want: "cron(*/5 * * * ? *)"},
		{in: "@daily", want: "cron(0 0 * * ? *)"},
		{in: "@weekly", want: "cron(0 0 ? * 1 *)"},
		{in: "@every 1h", want: "rate(60 minutes)"},
		{in: "@every 1m", want: "rate(1 minute)"},
		{in: "rate(5 minutes)", want: "rate(5 minutes)"},
		{in: "cron(0 12 * * ? *)", want: "cron(0 12 * * ? *)"},
		{in: "none", want: "none"},
		{in: "@every 0m", err: "greater than or equal to 1 minute"},
		{in: "@every 90s", err: "whole number of minutes"},
		{in: "0 9 1 * 1", err: "cannot specify both DOW and DOM"},
		{in: "@often", err: "unrecognized preset"},
		{in: "every day", err: "not a 5-field cron expression"},
		{in: "", err: `missing required field "schedule"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := jobSchedule(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("jobSchedule(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("jobSchedule(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestJobDisabledAndRefusals(t *testing.T) {
	base := "name: j\ntype: Scheduled Job\nimage: {location: alpine}\n"
	t.Run("schedule none disables the rule", func(t *testing.T) {
		ws := loadWorkspace(t, "demo", map[string]string{
			"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
			"copilot/j/manifest.yml":                 base + "on: {schedule: none}\nnetwork: {vpc: {placement: private}}\n",
		})
		stacks, diags, err := Render(ws, nil, nil, seedOptions)
		if err != nil {
			t.Fatalf("render: %v\n%v", err, diags)
		}
		root := parseTemplate(t, stacks[1].Template)
		if got := flowString(t, nodeAt(root, "Resources", "Rule", "Properties", "State")); got != "DISABLED" {
			t.Errorf("rule state = %s, want DISABLED", got)
		}
		if _, ok := stacks[1].Parameters["Schedule"]; ok {
			t.Errorf("Schedule is passed although the template does not use it")
		}
		if got := stacks[0].Parameters["NATWorkloads"]; got != "j" {
			t.Errorf("NATWorkloads = %q, want j: a private job needs the NAT gateways", got)
		}
		validateTemplate(t, stacks[1].Name, stacks[1].Template)
	})
	tests := []struct{ name, manifest, want string }{
		{"bad schedule", base + "on: {schedule: \"0 9 1 * 1\"}\n", "cannot specify both DOW and DOM"},
		{"no schedule", base, `missing required field "schedule"`},
		{"fractional timeout", base + "on: {schedule: \"@daily\"}\ntimeout: 1500ms\n", "whole number of seconds"},
		{"negative retries", base + "on: {schedule: \"@daily\"}\nretries: -1\n", "cannot be negative"},
		{"autoscaling", base + "on: {schedule: \"@daily\"}\ncount: {range: 1-2, cpu_percentage: 50}\n", "cannot autoscale"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", map[string]string{
				"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
				"copilot/j/manifest.yml":                 tc.manifest,
			})
			_, diags, err := Render(ws, nil, nil, seedOptions)
			if err == nil {
				t.Fatalf("render succeeded; want a refusal containing %q", tc.want)
			}
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) }) {
				t.Errorf("findings %v do not contain %q", diags, tc.want)
			}
		})
	}
}
