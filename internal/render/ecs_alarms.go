package render

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// deployment.rollback_alarms and observability.tracing, as Copilot's
// rollback-alarms, service-base-properties, sidecars and taskrole partials
// write them.

// rollbackAlarms is deployment.rollback_alarms: existing alarm names, or
// thresholds of the alarms Copilot creates.
type rollbackAlarms struct {
	names                []string // existing alarms
	cpu, memory, delayed *float64 // thresholds of the created alarms
	app, env, svc        string
}

func (r *rollbackAlarms) custom() bool { return r.cpu != nil || r.memory != nil || r.delayed != nil }

// alarmName is Copilot's TruncateAlarmName: app-env-svc-type, each part
// cut to fit CloudWatch's 255 characters.
func alarmName(app, env, svc, kind string) string {
	if len(app)+len(env)+len(svc)+len(kind) <= 255 {
		return fmt.Sprintf("%s-%s-%s-%s", app, env, svc, kind)
	}
	n := (255 - len(kind) - 3) / 3
	cut := func(s string) string { return s[:min(n, len(s))] }
	return fmt.Sprintf("%s-%s-%s-%s", cut(app), cut(env), cut(svc), kind)
}

// parseRollbackAlarms reads deployment.rollback_alarms; nil without one.
func parseRollbackAlarms(in ecsInput, ra manifest.ListOrMap[[]string, manifest.RollbackAlarmThresholds], fail failFunc) *rollbackAlarms {
	if !ra.Set && !ra.Bad {
		return nil
	}
	r := &rollbackAlarms{app: in.app, env: in.env, svc: in.name}
	switch {
	case ra.IsMap && ra.Err != nil:
		fail(ra.Pos, ruleManifest, fmt.Sprintf("decode deployment.rollback_alarms: %v", ra.Err), "")
		return nil
	case ra.Bad:
		fail(ra.Pos, ruleManifest, "deployment.rollback_alarms must be a list of alarm names or a map of thresholds", "")
		return nil
	case ra.IsList:
		r.names = ra.List
		if len(r.names) == 0 {
			return nil
		}
	case ra.IsMap:
		m := ra.Map
		r.cpu, r.memory = m.CPU, m.Memory
		if m.Delayed != nil {
			if in.kind != workspace.WorkerService {
				fail(ra.Pos, ruleManifest, "deployment.rollback_alarms.messages_delayed applies to Worker Services only", "")
				return nil
			}
			d := float64(*m.Delayed)
			r.delayed = &d
		}
		if !r.custom() {
			return nil
		}
	}
	if in.kind == workspace.ScheduledJob {
		fail(ra.Pos, ruleManifest, "a Scheduled Job has no deployment.rollback_alarms", "")
		return nil
	}
	return r
}

// deploymentAlarms is the service's DeploymentConfiguration.Alarms.
func deploymentAlarms(r *rollbackAlarms) *yaml.Node {
	if r == nil {
		return ifFn("IsGovCloud", noValue(), kv("Enable", false, "AlarmNames", fn(""), "Rollback", true))
	}
	names := fn("")
	if len(r.names) > 0 {
		for _, a := range r.names {
			names.Content = append(names.Content, str(a))
		}
	} else {
		names.Style = 0
		for _, a := range []struct {
			v    *float64
			kind string
		}{{r.cpu, "CopilotRollbackCPUAlarm"}, {r.memory, "CopilotRollbackMemAlarm"}, {r.delayed, "CopilotRollbackMsgsDelayedAlarm"}} {
			if a.v != nil {
				names.Content = append(names.Content, str(alarmName(r.app, r.env, r.svc, a.kind)))
			}
		}
	}
	return kv("AlarmNames", names, "Enable", true, "Rollback", true)
}

// addRollbackAlarms adds the CloudWatch alarms Copilot creates for
// threshold rollback alarms.
func addRollbackAlarms(add func(string, *yaml.Node), r *rollbackAlarms) {
	if r == nil {
		return
	}
	format := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	ecsAlarm := func(id, kind, what, metric string, v *float64) {
		if v == nil {
			return
		}
		add(id, kv(
			"Metadata", kv("aws:copilot:description", "A CloudWatch alarm associated with "+what+" for deployment rollbacks"),
			"Type", "AWS::CloudWatch::Alarm",
			"Properties", kv(
				"AlarmDescription", fmt.Sprintf("Roll back ECS service if %s is greater than or equal to %s%% twice in 3 minutes.", what, format(*v)),
				"AlarmName", alarmName(r.app, r.env, r.svc, kind),
				"Namespace", "AWS/ECS",
				"Dimensions", seq(
					kv("Name", "ClusterName", "Value", importValue(sub("${AppName}-${EnvName}-ClusterId"))),
					kv("Name", "ServiceName", "Value", fn("!Select", 2, fn("!Split", "/", ref("Service")))),
				),
				"MetricName", metric,
				"ComparisonOperator", "GreaterThanOrEqualToThreshold",
				"DatapointsToAlarm", 2,
				"EvaluationPeriods", 3,
				"Period", 60,
				"Statistic", "Average",
				"Threshold", number(*v),
				"Unit", "Percent",
			),
		))
	}
	ecsAlarm("CPURollbackAlarm", "CopilotRollbackCPUAlarm", "CPU utilization", "CPUUtilization", r.cpu)
	ecsAlarm("MemoryRollbackAlarm", "CopilotRollbackMemAlarm", "memory utilization", "MemoryUtilization", r.memory)
	if r.delayed != nil {
		add("MessagesDelayedRollbackAlarm", kv(
			"Metadata", kv("aws:copilot:description", "A CloudWatch alarm associated with number of messages delayed for deployment rollbacks"),
			"Type", "AWS::CloudWatch::Alarm",
			"Properties", kv(
				"AlarmDescription", fmt.Sprintf("Roll back worker service if number of messages delayed is greater than or equal to %s twice in 3 minutes.", format(*r.delayed)),
				"AlarmName", alarmName(r.app, r.env, r.svc, "CopilotRollbackMsgsDelayedAlarm"),
				"Namespace", "AWS/SQS",
				"Dimensions", seq(kv("Name", "QueueName", "Value", getAtt("EventsQueue.QueueName"))),
				"MetricName", "ApproximateNumberOfMessagesDelayed",
				"ComparisonOperator", "GreaterThanOrEqualToThreshold",
				"DatapointsToAlarm", 2,
				"EvaluationPeriods", 3,
				"Period", 60,
				"Statistic", "Average",
				"Threshold", number(*r.delayed),
				"Unit", "Count",
			),
		))
	}
}

// xrayCollector is the AWS Distro for OpenTelemetry sidecar Copilot adds
// for observability.tracing: awsxray.
// otelCollectorImage is the X-Ray collector sidecar's image, as Copilot
// writes it.
const otelCollectorImage = "public.ecr.aws/aws-observability/aws-otel-collector:v0.17.0"

func xrayCollector(image string) *yaml.Node {
	return kv(
		"Name", "aws-otel-collector",
		"Image", image,
		"Command", seq("--config=/etc/ecs/ecs-xray.yaml"),
		"LogConfiguration", awslogsConfig(),
	)
}

// xrayPolicy is the task role's permission to send traces.
func xrayPolicy() *yaml.Node {
	return kv("PolicyName", "AWSDistroOpenTelemetryPolicy", "PolicyDocument", policyDoc(kv(
		"Effect", "Allow",
		"Action", seq("logs:PutLogEvents", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:DescribeLogGroups",
			"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"),
		"Resource", "*",
	)))
}

// parseTracing reads observability; true for tracing: awsxray.
func parseTracing(in ecsInput, o manifest.Observability, fail failFunc) bool {
	if o.Tracing == nil {
		return false
	}
	if in.kind == workspace.ScheduledJob {
		fail(o.Pos, ruleManifest, "a Scheduled Job has no observability.tracing", "")
		return false
	}
	if !strings.EqualFold(*o.Tracing, "awsxray") {
		fail(o.Pos, ruleManifest, fmt.Sprintf("observability.tracing %q must be awsxray", *o.Tracing), "")
		return false
	}
	return true
}
