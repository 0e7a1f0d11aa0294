package render

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// Copilot's presets, as AWS cron expressions (AWS wants ? in day-of-month
// or day-of-week, and a year field).
var cronPresets = map[string]string{
	"@hourly":   "cron(0 * * * ? *)",
	"@daily":    "cron(0 0 * * ? *)",
	"@midnight": "cron(0 0 * * ? *)",
	"@weekly":   "cron(0 0 ? * 1 *)",
	"@monthly":  "cron(0 0 1 * ? *)",
	"@yearly":   "cron(0 0 1 1 ? *)",
	"@annually": "cron(0 0 1 1 ? *)",
}

var awsSchedule = regexp.MustCompile(`((?:rate|cron)\(.*\)|none)`)

// jobSchedule turns `on.schedule` into the Schedule parameter as Copilot
// does: AWS expressions and "none" pass through, "@every 1h" becomes a rate,
// presets and 5-field cron become AWS cron (day-of-week numbers shift by
// one, since AWS counts Sunday as 1).
func jobSchedule(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New(`missing required field "schedule"`)
	case awsSchedule.MatchString(s):
		return s, nil
	case strings.HasPrefix(s, "@every "):
		d, err := time.ParseDuration(strings.TrimPrefix(s, "@every "))
		if err != nil {
			return "", fmt.Errorf("parse fixed interval %q: %v", s, err)
		}
		if d != d.Truncate(time.Minute) {
			return "", errors.New("duration must be a whole number of minutes or hours")
		}
		if d < time.Minute {
			return "", errors.New("duration must be greater than or equal to 1 minute")
		}
		if m := int(d.Minutes()); m != 1 {
			return fmt.Sprintf("rate(%d minutes)", m), nil
		}
		return "rate(1 minute)", nil
	case strings.HasPrefix(s, "@"):
		for _, p := range []string{"@hourly", "@midnight", "@daily", "@weekly", "@monthly", "@annually", "@yearly"} {
			if strings.HasPrefix(s, p) {
				return cronPresets[p], nil
			}
		}
		return "", fmt.Errorf("unrecognized preset schedule %s", s)
	}
	f := strings.Fields(s)
	if len(f) != 5 {
		return "", fmt.Errorf("schedule %q is not a 5-field cron expression, a preset such as @daily, @every 1h, rate(...) or cron(...)", s)
	}
	const dom, dow = 2, 4
	specified := func(v string) bool { return !strings.ContainsAny(v, "*?") }
	switch {
	case !specified(f[dom]) && !specified(f[dow]):
		f[dom], f[dow] = "*", "?"
	case !specified(f[dom]):
		f[dom] = "?"
	case !specified(f[dow]):
		f[dow] = "?"
	default:
		return "", errors.New("cannot specify both DOW and DOM in cron expression")
	}
	var b strings.Builder
	for _, c := range f[dow] {
		if c >= '0' && c <= '9' {
			c++
		}
		b.WriteRune(c)
	}
	f[dow] = b.String()
	return "cron(" + strings.Join(append(f, "*"), " ") + ")", nil
}

// stateMachineDefinition is the Step Functions definition Copilot writes.
func stateMachineDefinition(platformVersion string, timeout, retries int) string {
	var b strings.Builder
	b.WriteString("{\n  \"Version\": \"1.0\",\n  \"Comment\": \"Run AWS Fargate task\",\n")
	if timeout > 0 {
		fmt.Fprintf(&b, "  \"TimeoutSeconds\": %d,\n", timeout)
	}
	b.WriteString(`  "StartAt": "Run Fargate Task",
  "States": {
    "Run Fargate Task": {
      "Type": "Task",
      "Resource": "arn:${Partition}:states:::ecs:runTask.sync",
      "Parameters": {
        "LaunchType": "FARGATE",
        "PlatformVersion": "` + platformVersion + `",
        "Cluster": "${Cluster}",
        "TaskDefinition": "${TaskDefinition}",
        "PropagateTags": "TASK_DEFINITION",
        "Group.$": "$$.Execution.Name",
        "NetworkConfiguration": {
          "AwsvpcConfiguration": {
            "Subnets": ["${Subnets}"],
            "AssignPublicIp": "${AssignPublicIp}",
            "SecurityGroups": ["${SecurityGroups}"]
          }
        }
      },
`)
	if retries > 0 {
		fmt.Fprintf(&b, `      "Retry": [
        {
          "ErrorEquals": [
            "States.ALL"
          ],
          "IntervalSeconds": 10,
          "MaxAttempts": %d,
          "BackoffRate": 1.5
        }
      ],
`, retries)
	}
	b.WriteString("      \"End\": true\n    }\n  }\n}")
	return b.String()
}

// renderJob renders a Scheduled Job: a task definition run by a Step
// Functions state machine that an EventBridge rule starts on schedule.
func renderJob(in ecsInput) (*Stack, diag.List) {
	m, platform, diags := ecsCommon(in)
	if diags.HasErrors() {
		return nil, diags
	}
	fail := failer(&diags, in.file, in.env)
	job := m.ECSWorkload
	schedule, err := jobSchedule(job.On.Schedule)
	if err != nil {
		fail(job.At("on"), ruleManifest, fmt.Sprintf("on.schedule: %v", err), `use a cron expression such as "0 12 * * MON", @daily or "@every 1h"`)
	}
	timeout, retries := 0, 0
	if job.Timeout != nil && *job.Timeout != "" {
		d, err := time.ParseDuration(*job.Timeout)
		switch {
		case err != nil:
			fail(job.At("timeout"), ruleManifest, fmt.Sprintf("timeout %q is not a duration such as 1h", *job.Timeout), "")
		case d < time.Second:
			fail(job.At("timeout"), ruleManifest, "timeout must be greater than or equal to 1 second", "")
		case d != d.Truncate(time.Second):
			fail(job.At("timeout"), ruleManifest, "timeout must be a whole number of seconds, minutes, or hours", "")
		default:
			timeout = int(d.Seconds())
		}
	}
	if job.Retries != nil {
		if *job.Retries < 0 {
			fail(job.At("retries"), ruleManifest, "number of retries cannot be negative", "")
		}
		retries = *job.Retries
	}
	if m.Count.Autoscaling() || m.Count.Spot != nil {
		fail(m.Count.Pos, ruleManifest, "a Scheduled Job cannot autoscale or run on Spot", "remove count")
	}
	image, idiags := ecsImage(in, m)
	diags = append(diags, idiags...)
	addons, adiags := workloadAddons(in.addons, in.env, in.name, in.opts)
	diags = append(diags, adiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	if in.opts.checkDone(m.task.overrides) {
		return nil, diags
	}
	addonSecrets, addonVars, addonPolicies, addonSGs := addonOutputsByUse(addons)
	sgs, err := ecsSecurityGroups(m.Network.VPC.SecurityGroups, addonSGs)
	if err != nil {
		fail(m.Network.VPC.SecurityGroups.Pos, ruleManifest, err.Error(), "")
		return nil, diags
	}
	params, pdiags := ecsParams(in, m, image, 256, 512, addons)
	diags = append(diags, pdiags...)
	// A job has no service: Copilot passes TaskCount but no resource reads it.
	delete(params, "DNSDelegated")
	delete(params, "TaskCount")
	disabled := schedule == "none"
	if !disabled {
		params["Schedule"] = schedule
	}
	topics := make([]topicSpec, 0, len(m.Publish.Topics))
	for _, t := range m.Publish.Topics {
		topics = append(topics, newTopic(t))
	}
	manifestText, err := in.opts.encode(in.m.Doc)
	if err != nil {
		fail(noPos, ruleManifest, fmt.Sprintf("encode manifest for Metadata: %v", err), "")
		return nil, diags
	}

	paramDecl := kv("AppName", kv("Type", "String"), "EnvName", kv("Type", "String"), "WorkloadName", kv("Type", "String"))
	if !disabled {
		set(paramDecl, "Schedule", kv("Type", "String"))
	}
	decl := ecsParamsDecl(false)
	for i := 0; i+1 < len(decl.Content); i += 2 {
		switch k := decl.Content[i].Value; k {
		case "AppName", "EnvName", "WorkloadName", "TaskCount":
		default:
			set(paramDecl, k, decl.Content[i+1])
		}
	}
	conditions := kv("HasAddons", not(equals(ref("AddonsTemplateURL"), "")), "HasEnvFile", not(equals(ref("EnvFileARN"), "")))
	taskParams(m.task, paramDecl, conditions, params)
	res := kv()
	add := func(id string, r *yaml.Node) { res.Content = append(res.Content, str(id), r) }
	add("LogGroup", ecsLogGroup())
	taskDef, err := ecsTaskDefinition(m, platform, ecsContainers(in, m, addonSecrets, addonVars, topics, nil, exposedPorts(in, m, false)))
	if err != nil {
		fail(m.At("taskdef_overrides"), ruleManifest, err.Error(), "check the path against the rendered template (autopilot render)")
		return nil, diags
	}
	add("TaskDefinition", taskDef)
	addAccessPoint(add, m.task.storage)
	add("ExecutionRole", ecsExecutionRole(m.task))
	add("TaskRole", ecsTaskRole(m, topics, addonPolicies))
	ruleProps := kv("ScheduleExpression", ref("Schedule"), "State", "ENABLED")
	if disabled {
		ruleProps = kv("ScheduleExpression", "rate(5 minutes)", "State", "DISABLED")
	}
	set(ruleProps, "Targets", seq(kv("Arn", ref("StateMachine"), "Id", "statemachine", "RoleArn", getAtt("RuleRole.Arn"))))
	add("Rule", kv(
		"Metadata", kv("aws:copilot:description", "A CloudWatch event rule to trigger the job's state machine"),
		"Type", "AWS::Events::Rule",
		"Properties", ruleProps,
	))
	add("RuleRole", kv("Type", "AWS::IAM::Role", "Properties", kv(
		"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", "events.amazonaws.com"), "Action", "sts:AssumeRole")),
		"Policies", seq(kv("PolicyName", "EventRulePolicy", "PolicyDocument", policyDoc(kv("Effect", "Allow", "Action", "states:StartExecution", "Resource", ref("StateMachine"))))),
	)))

	p := m.Network.VPC.Placement
	assign, subnets := "ENABLED", kv("Fn::Join", fn("", `","`, kv("Fn::Split", fn("", ",", importValue(sub("${AppName}-${EnvName}-PublicSubnets"))))))
	switch {
	case len(p.SubnetIDs) > 0:
		assign, subnets = "DISABLED", kv("Fn::Join", fn("", `","`, val(p.SubnetIDs)))
	case p.Kind == "private":
		assign, subnets = "DISABLED", kv("Fn::Join", fn("", `","`, kv("Fn::Split", fn("", ",", importValue(sub("${AppName}-${EnvName}-PrivateSubnets"))))))
	}
	clusterARN := kv("Fn::Sub", seq("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterID}",
		kv("ClusterID", importValue(sub("${AppName}-${EnvName}-ClusterId")))))
	add("StateMachine", kv(
		"Metadata", kv("aws:copilot:description", "A state machine to invoke your job and handle retry and timeout logic"),
		"Type", "AWS::StepFunctions::StateMachine",
		"Properties", kv(
			"StateMachineName", sub("${AppName}-${EnvName}-${WorkloadName}"),
			"RoleArn", getAtt("StateMachineRole.Arn"),
			"LoggingConfiguration", kv("Destinations", seq(kv("CloudWatchLogsLogGroup", kv("LogGroupArn", getAtt("LogGroup.Arn")))),
				"IncludeExecutionData", true, "Level", "ALL"),
			"DefinitionSubstitutions", kv(
				"ContainerName", ref("WorkloadName"),
				"Cluster", importValue(sub("${AppName}-${EnvName}-ClusterId")),
				"TaskDefinition", ref("TaskDefinition"),
				"Partition", ref("AWS::Partition"),
				"Subnets", subnets,
				"AssignPublicIp", assign,
				"SecurityGroups", kv("Fn::Join", fn("", `","`, sgs)),
			),
			"DefinitionString", literal(stateMachineDefinition(platform.version, timeout, retries)),
		),
	))
	add("StateMachineRole", kv(
		"Metadata", kv("aws:copilot:description", "An IAM role for a state machine to run ECS tasks in your cluster"),
		"Type", "AWS::IAM::Role",
		"Properties", kv(
			"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", "states.amazonaws.com"), "Action", "sts:AssumeRole")),
			"Policies", seq(kv("PolicyName", "StateMachine", "PolicyDocument", policyDoc(
				kv("Effect", "Allow", "Action", "iam:PassRole", "Resource", seq(getAtt("ExecutionRole.Arn"), getAtt("TaskRole.Arn"))),
				kv("Effect", "Allow", "Action", "ecs:RunTask", "Resource", ref("TaskDefinition"), "Condition", kv("ArnEquals", kv("ecs:cluster", clusterARN))),
				kv("Effect", "Allow", "Action", []string{"ecs:StopTask", "ecs:DescribeTasks"}, "Resource", "*", "Condition", kv("ArnEquals", kv("ecs:cluster", deepCopy(clusterARN)))),
				kv("Effect", "Allow", "Action", []string{"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
					"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}, "Resource", "*"),
				kv("Effect", "Allow", "Action", []string{"events:PutTargets", "events:PutRule", "events:DescribeRule"},
					"Resource", sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForECSTaskRule")),
			))),
		),
	))
	addAddonsStack(add, addons)
	addTopics(add, topics)

	tpl := workloadTemplate("CloudFormation template that represents a scheduled job on Amazon ECS.", string(manifestText),
		"Parameters", paramDecl,
		"Conditions", conditions,
		"Resources", res,
	)
	st, err := workloadStack(in.app, in.env, in.name, workspace.ScheduledJob, in.opts, tpl, params, addons)
	if err != nil {
		fail(noPos, ruleManifest, err.Error(), "")
		return nil, diags
	}
	addObjects(st, envFileObjects(m.task))
	return st, append(diags, sizeCheck(st, in.file)...)
}
