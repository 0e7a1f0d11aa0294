package render

import (
	"fmt"
	"strconv"

	"github.com/google/shlex"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// ruleExpress is the rule of every finding about moving a Request-Driven
// Web Service to Amazon ECS Express Mode (x-autopilot.runtime: ecs-express):
// what is mapped how, and what does not carry over. Lint reports them too.
const ruleExpress = "render/ecs-express"

// The logical IDs of the Express service and its resources. They sit in the
// workload's stack beside the App Runner service, so the service can join
// ServiceSecurityGroup (the group the addon's database admits) and read the
// addons' outputs without any change to the App Runner resources.
const (
	expressServiceID   = "ExpressService"
	expressExecRoleID  = "ExpressExecutionRole"
	expressTaskRoleID  = "ExpressTaskRole"
	expressInfraRoleID = "ExpressInfrastructureRole"
	expressLogGroupID  = "ExpressLogGroup"
)

// fargateSizes are the Fargate task sizes an Express service runs with, up
// to App Runner's largest instance: CPU units and the memory (MiB) each
// allows, smallest first.
var fargateSizes = []struct{ cpu, minMem, maxMem, step int }{
	{256, 512, 2048, 0}, // 512, 1024, 2048
	{512, 1024, 4096, 1024},
	{1024, 2048, 8192, 1024},
	{2048, 4096, 16384, 1024},
	{4096, 8192, 30720, 1024},
}

// expressSize is the smallest Fargate size with at least the CPU and memory
// asked for (the largest one when nothing is big enough).
func expressSize(cpu, memory int) (int, int) {
	for _, s := range fargateSizes {
		if s.cpu < cpu {
			continue
		}
		mems := []int{512, 1024, 2048}
		if s.step > 0 {
			mems = nil
			for m := s.minMem; m <= s.maxMem; m += s.step {
				mems = append(mems, m)
			}
		}
		for _, m := range mems {
			if m >= memory {
				return s.cpu, m
			}
		}
	}
	last := fargateSizes[len(fargateSizes)-1]
	return last.cpu, last.maxMem
}

// App Runner's default auto scaling (DefaultConfiguration): 1 to 25
// instances, 100 concurrent requests each. The Express service scales on
// requests per task toward the same numbers.
const (
	appRunnerMinSize        = 1
	appRunnerMaxSize        = 25
	appRunnerMaxConcurrency = 100
)

// expressLogRetention is the days the Express service's logs are kept, as
// Copilot keeps an ECS service's logs by default.
const expressLogRetention = 30

// expressPlan is what the Express service is rendered from.
type expressPlan struct {
	cpu, memory     int
	healthCheckPath string
	command         []string
	removeAppRunner bool
}

// planExpress maps the manifest onto an Express service and says, with
// positions, what changed on the way and what does not carry over.
func planExpress(in rdwsInput, m *manifest.RequestDrivenWebService, cpu, memory int) (expressPlan, diag.List) {
	var diags diag.List
	at := func(p manifest.Pos, sev diag.Severity, msg, fix string) {
		diags = append(diags, diag.Diagnostic{File: in.file, Line: p.Line, Column: p.Column, Severity: sev, Rule: ruleExpress, Env: in.env, Message: msg, Fix: fix})
	}
	x := m.Autopilot
	p := expressPlan{removeAppRunner: x.RemoveAppRunner()}
	if x.RemoveAppRunner() {
		at(x.At("app-runner"), diag.Notice, "app-runner: remove deletes the App Runner service, its roles and VPC connector; the Express service, the security group the database admits and the addons stay",
			"deploy with app-runner: keep first, so the Express service runs before App Runner goes; plan refuses to do both in one change")
	} else {
		at(x.At("runtime"), diag.Notice, "runtime: ecs-express adds an Amazon ECS Express Mode service beside the App Runner service, which keeps running unchanged; the stack's ServiceURL becomes the Express service's URL",
			"once the Express service serves traffic, set x-autopilot.app-runner: remove in a later change")
	}

	p.cpu, p.memory = expressSize(cpu, memory)
	if p.cpu != cpu || p.memory != memory {
		pos := m.Autopilot.Pos
		switch {
		case m.CPU != nil:
			pos = m.At("cpu")
		case m.Memory != nil:
			pos = m.At("memory")
		}
		at(pos, diag.Notice, fmt.Sprintf("cpu %d / memory %d is not a Fargate size: the Express service runs with cpu %d / memory %d, the nearest larger one", cpu, memory, p.cpu, p.memory),
			"set cpu and memory to a Fargate size to choose it yourself")
	}

	hc := m.HTTP.HealthCheck
	switch {
	case hc.Path != nil:
		p.healthCheckPath = *hc.Path
	default:
		p.healthCheckPath = "/"
		at(m.Autopilot.Pos, diag.Warning, "App Runner checks a service without http.healthcheck over TCP; the Express service's load balancer checks HTTP, here on /",
			"set http.healthcheck.path to a path that answers 200")
	}
	if hc.Interval != nil || hc.Timeout != nil || hc.HealthyThreshold != nil || hc.UnhealthyThreshold != nil {
		at(m.HTTP.At("healthcheck"), diag.Notice, "the health check's interval, timeout and thresholds do not carry over: Express Mode takes only the path and uses its load balancer's defaults", "")
	}

	if m.Command != nil && *m.Command != "" {
		words, err := shlex.Split(*m.Command)
		if err != nil {
			at(m.At("command"), diag.Error, fmt.Sprintf("command %q does not split into words with shell quoting rules: %v", *m.Command, err), "close the quote")
		}
		p.command = words
	}

	at(m.Autopilot.Pos, diag.Notice, fmt.Sprintf("auto scaling: the Express service runs %d to %d tasks, each targeting %d requests, as App Runner's default configuration", appRunnerMinSize, appRunnerMaxSize, appRunnerMaxConcurrency), "")
	if m.Count != nil && *m.Count != "" {
		at(m.At("count"), diag.Warning, fmt.Sprintf("the App Runner auto scaling configuration %q does not carry over: the Express service scales with App Runner's default numbers", *m.Count), "")
	}
	if m.Network.VPC.Placement.Kind == "private" || len(m.Network.VPC.Placement.SubnetIDs) > 0 {
		at(m.Network.VPC.Placement.Pos, diag.Warning, "placement: private runs the Express tasks in the private subnets; Express Mode then gives the service an internal load balancer, so its URL answers only inside the VPC, unlike App Runner's public URL",
			"remove network.vpc.placement to run the tasks in the public subnets behind an internet-facing load balancer")
	}
	if m.HTTP.Private.Enabled {
		at(m.HTTP.At("private"), diag.Warning, "http.private does not carry over: the App Runner VPC ingress connection has no Express equivalent; the load balancer's scheme follows the subnets", "")
	}
	if m.Observability.Tracing != nil {
		at(m.Observability.At("tracing"), diag.Warning, "observability.tracing does not carry over: Express Mode runs only the main container, so no X-Ray collector; logs go to CloudWatch and Express Mode sets its own alarms", "")
	}
	return p, diags
}

// addExpress adds the Express service and its roles and log group. env and
// secrets are the App Runner service's variables and secrets; the service
// joins ServiceSecurityGroup and the environment's security group.
func addExpress(add func(string, *yaml.Node), p expressPlan, m *manifest.RequestDrivenWebService, env, secrets *yaml.Node, hasSecrets bool, topics []topicSpec, policyOutputs []string) {
	desc := func(s string) *yaml.Node { return kv("aws:copilot:description", s) }
	add(expressInfraRoleID, kv(
		"Metadata", desc("An IAM role for Amazon ECS to manage the Express service's load balancer, security groups and scaling"),
		"Type", "AWS::IAM::Role",
		"Properties", kv(
			"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", "ecs.amazonaws.com"), "Action", "sts:AssumeRole")),
			"ManagedPolicyArns", seq(sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSInfrastructureRoleforExpressGatewayServices")),
		),
	))
	execPolicies := seq()
	if hasSecrets {
		execPolicies.Content = append(execPolicies.Content, kv(
			"PolicyName", "AccessCopilotTaggedSecrets",
			"PolicyDocument", policyDoc(taggedSecretStatements()...)))
	}
	execProps := kv(
		"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", "ecs-tasks.amazonaws.com"), "Action", "sts:AssumeRole")),
		"ManagedPolicyArns", seq(sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")),
	)
	if len(execPolicies.Content) > 0 {
		set(execProps, "Policies", execPolicies)
	}
	add(expressExecRoleID, kv(
		"Metadata", desc("An IAM role for the Fargate agent to pull the image, read the secrets and write logs"),
		"Type", "AWS::IAM::Role",
		"Properties", execProps,
	))
	add(expressTaskRoleID, instanceRole("ecs-tasks.amazonaws.com", false, topics, false, policyOutputs))
	add(expressLogGroupID, kv(
		"Metadata", desc("A CloudWatch log group to hold the Express service's logs"),
		"Type", "AWS::Logs::LogGroup",
		"Properties", kv(
			"LogGroupName", sub("/copilot/${AppName}-${EnvName}-${WorkloadName}-express"),
			"RetentionInDays", expressLogRetention,
		),
	))

	container := kv("Image", ref("ContainerImage"), "ContainerPort", ref("ContainerPort"))
	if len(p.command) > 0 {
		set(container, "Command", val(p.command))
	}
	set(container, "Environment", env)
	if secrets != nil && len(secrets.Content) > 0 {
		set(container, "Secrets", secrets)
	}
	set(container, "AwsLogsConfiguration", kv("LogGroup", ref(expressLogGroupID), "LogStreamPrefix", "copilot"))

	placement := m.Network.VPC.Placement
	subnets := kv("Fn::Split", seq(",", importValue(sub("${AppName}-${EnvName}-PublicSubnets"))))
	switch {
	case len(placement.SubnetIDs) > 0:
		subnets = val(placement.SubnetIDs)
	case placement.Kind == "private":
		subnets = kv("Fn::Split", seq(",", importValue(sub("${AppName}-${EnvName}-PrivateSubnets"))))
	}
	add(expressServiceID, kv(
		"Metadata", desc("An Amazon ECS Express Mode service: tasks on Fargate behind a load balancer that ECS manages"),
		"Type", "AWS::ECS::ExpressGatewayService",
		"Properties", kv(
			"ServiceName", sub("${AppName}-${EnvName}-${WorkloadName}"),
			"Cluster", importValue(sub("${AppName}-${EnvName}-ClusterId")),
			"ExecutionRoleArn", getAtt(expressExecRoleID+".Arn"),
			"InfrastructureRoleArn", getAtt(expressInfraRoleID+".Arn"),
			"TaskRoleArn", getAtt(expressTaskRoleID+".Arn"),
			"Cpu", strconv.Itoa(p.cpu),
			"Memory", strconv.Itoa(p.memory),
			"HealthCheckPath", p.healthCheckPath,
			"PrimaryContainer", container,
			"NetworkConfiguration", kv(
				"Subnets", subnets,
				"SecurityGroups", seq(ref("ServiceSecurityGroup"), importValue(sub("${AppName}-${EnvName}-EnvironmentSecurityGroup"))),
			),
			"ScalingTarget", kv(
				"MinTaskCount", appRunnerMinSize,
				"MaxTaskCount", appRunnerMaxSize,
				"AutoScalingMetric", "REQUEST_COUNT_PER_TARGET",
				"AutoScalingTargetValue", appRunnerMaxConcurrency,
			),
			"Tags", workloadTags(m.Tags),
		),
	))
}

// expressSecrets turns App Runner's {Name, Value} secrets into ECS's
// {Name, ValueFrom}.
func expressSecrets(secrets *yaml.Node) *yaml.Node {
	out := seq()
	for _, s := range secrets.Content {
		out.Content = append(out.Content, kv("Name", deepCopy(get(s, "Name")), "ValueFrom", deepCopy(get(s, "Value"))))
	}
	return out
}
