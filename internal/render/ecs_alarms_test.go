package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// Copilot's worker-manifest.yml deployment.rollback_alarms (v1.33.2) and the
// alarms of worker-test.stack.yml, restated.
func TestRollbackAlarmsMatchCopilotTestdata(t *testing.T) {
	manifest := `name: dogworker
type: Worker Service
image: {location: nginx}
deployment:
  rollback_alarms:
    cpu_utilization: 70
    memory_utilization: 50
    messages_delayed: 5
`
	_, root := renderOne(t, "my-app", "dogworker", manifest)
	wantAlarms := []string{"CPURollbackAlarm:AWS::CloudWatch::Alarm", "MemoryRollbackAlarm:AWS::CloudWatch::Alarm", "MessagesDelayedRollbackAlarm:AWS::CloudWatch::Alarm"}
	var got []string
	for _, r := range resourceFacts(t, root) {
		if strings.Contains(r, "Alarm:") {
			got = append(got, r)
		}
	}
	if diff := cmp.Diff(wantAlarms, got); diff != "" {
		t.Errorf("alarm resources (-copilot +autopilot):\n%s", diff)
	}
	checkFacts(t, root, map[string]string{
		"Resources.Service.Properties.DeploymentConfiguration.Alarms": "{AlarmNames: [my-app-test-dogworker-CopilotRollbackCPUAlarm, my-app-test-dogworker-CopilotRollbackMemAlarm, " +
			"my-app-test-dogworker-CopilotRollbackMsgsDelayedAlarm], Enable: true, Rollback: true}",
		"Resources.CPURollbackAlarm.Properties.AlarmDescription":             "Roll back ECS service if CPU utilization is greater than or equal to 70% twice in 3 minutes.",
		"Resources.CPURollbackAlarm.Properties.Dimensions":                   `[{Name: ClusterName, Value: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-ClusterId'}}, {Name: ServiceName, Value: !Select [2, !Split [/, !Ref Service]]}]`,
		"Resources.CPURollbackAlarm.Properties.Threshold":                    "70",
		"Resources.MemoryRollbackAlarm.Properties.AlarmName":                 "my-app-test-dogworker-CopilotRollbackMemAlarm",
		"Resources.MemoryRollbackAlarm.Properties.MetricName":                "MemoryUtilization",
		"Resources.MessagesDelayedRollbackAlarm.Properties.AlarmDescription": "Roll back worker service if number of messages delayed is greater than or equal to 5 twice in 3 minutes.",
		"Resources.MessagesDelayedRollbackAlarm.Properties.Dimensions":       "[{Name: QueueName, Value: !GetAtt EventsQueue.QueueName}]",
		"Resources.MessagesDelayedRollbackAlarm.Properties.Unit":             "Count",
	})
}

func TestRollbackAlarmNames(t *testing.T) {
	_, root := renderOne(t, "demo", "api", "name: api\ntype: Backend Service\nimage: {location: nginx}\ndeployment:\n  rollback_alarms: [high-5xx, slow-p99]\n")
	checkFacts(t, root, map[string]string{
		"Resources.Service.Properties.DeploymentConfiguration.Alarms": "{AlarmNames: [high-5xx, slow-p99], Enable: true, Rollback: true}",
	})
	if slices.ContainsFunc(resourceFacts(t, root), func(r string) bool { return strings.Contains(r, "RollbackAlarm") }) {
		t.Error("existing alarms must not create alarm resources")
	}
	long := strings.Repeat("a", 100)
	if got := alarmName(long, long, long, "CopilotRollbackCPUAlarm"); len(got) > 255 || !strings.HasSuffix(got, "-CopilotRollbackCPUAlarm") {
		t.Errorf("alarm name %q (%d characters) must fit CloudWatch's 255 and keep its type", got, len(got))
	}
}

func TestXRayTracing(t *testing.T) {
	_, root := renderOne(t, "demo", "api", "name: api\ntype: Backend Service\nimage: {location: nginx, port: 80}\nobservability: {tracing: awsxray}\n")
	if diff := cmp.Diff([]string{"!Ref WorkloadName", "aws-otel-collector"}, containerNames(root)); diff != "" {
		t.Errorf("containers (-want +got):\n%s", diff)
	}
	collector := containerNamed(root, "aws-otel-collector")
	if got := flowString(t, get(collector, "Command")); got != "[--config=/etc/ecs/ecs-xray.yaml]" {
		t.Errorf("collector command = %s", got)
	}
	policies := nodeAt(root, "Resources", "TaskRole", "Properties", "Policies")
	last := policies.Content[len(policies.Content)-1]
	if got := scalarValue(get(last, "PolicyName")); got != "AWSDistroOpenTelemetryPolicy" {
		t.Errorf("last task role policy = %s, want AWSDistroOpenTelemetryPolicy", got)
	}
	if got := flowString(t, nodeAt(last, "PolicyDocument", "Statement", "0", "Action")); !strings.Contains(got, "xray:PutTraceSegments") {
		t.Errorf("policy actions %s lack xray:PutTraceSegments", got)
	}
}

func TestAlarmAndTracingRefusals(t *testing.T) {
	tests := []struct {
		name, manifest, want string
	}{
		{"messages delayed on a service", "name: web\ntype: Backend Service\nimage: {location: nginx}\ndeployment:\n  rollback_alarms: {messages_delayed: 5}\n", "messages_delayed applies to Worker Services only"},
		{"unknown tracer", "name: web\ntype: Backend Service\nimage: {location: nginx}\nobservability: {tracing: zipkin}\n", `"zipkin" must be awsxray`},
		{"alarms on a job", "name: web\ntype: Scheduled Job\nimage: {location: nginx}\non: {schedule: '@daily'}\ndeployment:\n  rollback_alarms: [a]\n", "a Scheduled Job has no deployment.rollback_alarms"},
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
