package render

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// The pieces every ECS workload stack shares: log group, task definition,
// execution and task roles, service discovery, the service's network and
// deployment settings, autoscaling, addons and publish topics, as Copilot's
// partials under workloads/partials/cf/ write them.

// ecsLogRetention is Copilot's default LogRetention in days.
const ecsLogRetention = 30

// ecsInput is everything needed to render one ECS workload stack.
type ecsInput struct {
	app, env string
	file     string
	name     string
	kind     workspace.Kind
	m        *manifest.Workload
	addons   *workspace.Addons
	opts     Options
	// priorities are the listener rule priorities of the main rule and
	// the additional rules (load-balanced services).
	priorities []int
	// tls says how the service's load balancer serves HTTPS.
	tls envTLS
	// workerEnv is COPILOT_TOPIC_QUEUE_URIS of a Worker Service with
	// topic queues, or nil.
	workerEnv *yaml.Node
}

// ecsPlatform is the task's runtime platform.
type ecsPlatform struct {
	os, arch string // empty for Copilot's default linux/amd64
	version  string // Fargate platform version
}

// ecsManifest is an ECS workload's model and what render derives from it.
type ecsManifest struct {
	*manifest.ECSWorkload
	task ecsTask
}

func parsePlatform(pl manifest.Platform) (ecsPlatform, error) {
	p := ecsPlatform{version: "LATEST"}
	if !pl.Set {
		return p, nil
	}
	v := pl.Value
	switch strings.ToLower(v) {
	case "linux/amd64", "linux/x86_64":
		return p, nil
	case "linux/arm", "linux/arm64":
		p.os, p.arch = "LINUX", "ARM64"
	case "windows/amd64", "windows/x86_64", "windows_server_2019_core/x86_64", "windows_server_2019_core/amd64":
		p.os, p.arch, p.version = "WINDOWS_SERVER_2019_CORE", "X86_64", "1.0.0"
	case "windows_server_2019_full/x86_64", "windows_server_2019_full/amd64":
		p.os, p.arch, p.version = "WINDOWS_SERVER_2019_FULL", "X86_64", "1.0.0"
	case "windows_server_2022_core/x86_64", "windows_server_2022_core/amd64":
		p.os, p.arch, p.version = "WINDOWS_SERVER_2022_CORE", "X86_64", "1.0.0"
	case "windows_server_2022_full/x86_64", "windows_server_2022_full/amd64":
		p.os, p.arch, p.version = "WINDOWS_SERVER_2022_FULL", "X86_64", "1.0.0"
	default:
		return p, fmt.Errorf("platform %q is not one of linux/amd64, linux/arm64, windows/x86_64 and the windows_server_* families", v)
	}
	return p, nil
}

// ecsCommon validates what every ECS workload shares and refuses what
// render cannot produce yet. It returns the decoded manifest.
func ecsCommon(in ecsInput) (ecsManifest, ecsPlatform, diag.List) {
	var diags diag.List
	fail := failer(&diags, in.file, in.env)
	// A copy: resolving from_tags must not change the decoded model, which
	// lint shares (CheckDecoded).
	w := *in.m.ECS
	m := ecsManifest{ECSWorkload: &w}
	parseTask(in, &m, fail)
	for _, s := range m.task.sidecars {
		if s.image == ImagePlaceholder(SidecarImageKey(in.name, s.name)) {
			diags = append(diags, diag.Diagnostic{File: in.file, Line: s.Pos.Line, Column: s.Pos.Column, Severity: diag.Notice, Rule: ruleImage, Env: in.env,
				Message: fmt.Sprintf("image of sidecar %s is not built yet; the task definition holds a placeholder", s.name),
				Fix:     "run the build step first"})
		}
	}
	for _, t := range m.Publish.Topics {
		if t.Name == "" {
			fail(m.Publish.At("topics"), ruleManifest, "every publish topic needs a name", "")
		}
	}
	resolveSubnetTags(&m.Network.VPC.Placement, in.app, in.env, in.file, in.opts, &diags)
	switch p := m.Network.VPC.Placement; {
	case p.Kind != "" && p.Kind != "public" && p.Kind != "private":
		fail(p.Pos, ruleManifest, fmt.Sprintf("placement %q must be one of public, private", p.Kind), "use placement: public or private")
	}
	if r := m.Deployment.Rolling; r != nil && *r != "default" && *r != "recreate" {
		fail(m.Deployment.At("rolling"), ruleManifest, fmt.Sprintf("deployment.rolling %q must be one of default, recreate", *r), "")
	}
	c := m.Count
	switch {
	case c.Spot != nil && (c.Min != nil || c.CPU != nil || c.Memory != nil || c.Requests != nil || c.ResponseTime != nil):
		fail(c.Pos, ruleManifest, `must not specify "spot" with "range" or scaling metrics`, "")
	case c.Min != nil && c.CPU == nil && c.Memory == nil && c.Requests == nil && c.ResponseTime == nil && c.QueueDelay == nil:
		fail(c.Pos, ruleManifest, `"range" needs at least one of cpu_percentage, memory_percentage, requests, response_time`, "add a scaling metric")
	case c.Min == nil && (c.CPU != nil || c.Memory != nil || c.Requests != nil || c.ResponseTime != nil || c.QueueDelay != nil):
		fail(c.Pos, ruleManifest, `scaling metrics need "range"`, "add count.range such as 1-10")
	case c.Min != nil && *c.Min > *c.Max:
		fail(c.Pos, ruleManifest, fmt.Sprintf("count.range min %d is greater than max %d", *c.Min, *c.Max), "")
	}
	platform, err := parsePlatform(m.Platform)
	if err != nil {
		fail(m.Platform.Pos, ruleManifest, err.Error(), "")
	}
	if platform.arch == "ARM64" && (c.Spot != nil || c.SpotFrom != nil) {
		fail(c.Pos, ruleManifest, "Fargate Spot is not available for ARM architectures", "remove spot, or run on linux/amd64")
	}
	return m, platform, diags
}

// ecsImage decides the ContainerImage parameter: the built image, the
// manifest's location, or a placeholder before a build.
func ecsImage(in ecsInput, m ecsManifest) (string, diag.List) {
	if built, ok := in.opts.Images[in.name]; ok && built != "" {
		return built, nil
	}
	if m.Image.Location != "" {
		return pinLocation(in.opts, m.Image, in.file, in.env, m.Image.Location)
	}
	if !m.Image.HasBuild() {
		return "", diag.List{{File: in.file, Severity: diag.Error, Rule: ruleManifest, Env: in.env,
			Message: `validate "image": must specify one of "build" and "location"`, Fix: "set image.build or image.location"}}
	}
	return ImagePlaceholder(in.name), diag.List{{File: in.file, Severity: diag.Notice, Rule: ruleImage, Env: in.env,
		Message: fmt.Sprintf("image for %s is not built yet; ContainerImage holds a placeholder", in.name),
		Fix:     "run the build step first, or pass the image URI"}}
}

// ecsParamsDecl declares the parameters every ECS workload template has;
// DNSDelegated only a Load Balanced Web Service's.
func ecsParamsDecl(dnsDelegated bool) *yaml.Node {
	var boolParam *yaml.Node
	if dnsDelegated {
		boolParam = kv("Type", "String", "AllowedValues", fn("", true, false))
	}
	return kv(
		"AppName", kv("Type", "String"),
		"EnvName", kv("Type", "String"),
		"WorkloadName", kv("Type", "String"),
		"ContainerImage", kv("Type", "String"),
		"TaskCPU", kv("Type", "String"),
		"TaskMemory", kv("Type", "String"),
		"TaskCount", kv("Type", "Number"),
		"DNSDelegated", boolParam,
		"LogRetention", kv("Type", "Number"),
		"AddonsTemplateURL", kv("Description", "URL of the addons nested stack template within the S3 bucket.", "Type", "String", "Default", ""),
		"EnvFileARN", kv("Description", "URL of the environment file.", "Type", "String", "Default", ""),
		"ArtifactKeyARN", kv("Type", "String", "Description", "KMS Key used for encrypting artifacts"),
	)
}

// ecsConditions are the conditions every ECS workload template declares;
// HasAssociatedDomain only a Load Balanced Web Service's.
func ecsConditions(dnsDelegated bool) *yaml.Node {
	var domain *yaml.Node
	if dnsDelegated {
		domain = equals(ref("DNSDelegated"), true)
	}
	return kv(
		"IsGovCloud", equals(ref("AWS::Partition"), "aws-us-gov"),
		"HasAssociatedDomain", domain,
		"HasAddons", not(equals(ref("AddonsTemplateURL"), "")),
		"HasEnvFile", not(equals(ref("EnvFileARN"), "")),
	)
}

// ecsParams are the parameter values every ECS workload passes.
func ecsParams(in ecsInput, m ecsManifest, image string, defCPU, defMem int, addons *mergedAddons) (map[string]string, diag.List) {
	cpu, mem := defCPU, defMem
	if m.CPU != nil {
		cpu = *m.CPU
	}
	if m.Memory != nil {
		mem = *m.Memory
	}
	p := map[string]string{
		"AppName":        in.app,
		"EnvName":        in.env,
		"WorkloadName":   in.name,
		"ContainerImage": image,
		"TaskCPU":        strconv.Itoa(cpu),
		"TaskMemory":     strconv.Itoa(mem),
		"TaskCount":      strconv.Itoa(m.Count.Desired()),
		"DNSDelegated":   "false",
		"LogRetention":   strconv.Itoa(ecsLogRetention),
		"EnvFileARN":     "",
	}
	if addons == nil {
		p["AddonsTemplateURL"] = ""
	}
	var diags diag.List
	if in.opts.ArtifactKeyARN != "" {
		p["ArtifactKeyARN"] = in.opts.ArtifactKeyARN
	} else {
		diags = append(diags, diag.Diagnostic{File: in.file, Severity: diag.Notice, Rule: ruleParameter, Env: in.env,
			Message: "ArtifactKeyARN is left out of the parameters: deploy keeps the stack's previous value",
			Fix:     "pass the application's artifact KMS key ARN to set it; a new stack needs it"})
	}
	return p, diags
}

// addonOutputsByUse sorts addons outputs as Copilot wires them into ECS:
// secrets into Secrets, managed policies onto the task role, security
// groups onto the service, and every output but secrets and policies into
// the environment.
func addonOutputsByUse(addons *mergedAddons) (secrets, vars, policies, sgs []string) {
	if addons == nil {
		return
	}
	for _, o := range addons.Outputs {
		switch {
		case o.IsSecret:
			secrets = append(secrets, o.Name)
		case o.IsManagedPolicy:
			policies = append(policies, o.Name)
		default:
			vars = append(vars, o.Name)
			if o.IsSecGroup {
				sgs = append(sgs, o.Name)
			}
		}
	}
	return
}

// secretRef is where a secret comes from, as Copilot writes it: an SSM
// parameter name or ARN as given, a Secrets Manager secret by its ARN, or an
// environment stack's export.
func secretRef(s manifest.Secret) *yaml.Node {
	switch {
	case s.FromCFN != nil:
		return importValue(str(*s.FromCFN))
	case s.SecretsManager != nil:
		return sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" + *s.SecretsManager)
	}
	return str(s.Plain)
}

// ecsSecrets is the container's Secrets list, sorted by name, then the
// addons' secret outputs.
func ecsSecrets(secrets map[string]manifest.Secret, addonSecrets []string) *yaml.Node {
	list := seq()
	for _, name := range sortedKeys(secrets) {
		list.Content = append(list.Content, kv("Name", name, "ValueFrom", secretRef(secrets[name])))
	}
	for _, o := range addonSecrets {
		list.Content = append(list.Content, kv("Name", snakeCase(o), "ValueFrom", getAttOutput(addonsStackName, o)))
	}
	if len(list.Content) == 0 {
		return nil
	}
	return list
}

// ecsCommonEnv is the environment every container of the task shares, in
// Copilot's order (its envvars-common partial).
func ecsCommonEnv(in ecsInput, addonVars []string, topics []topicSpec, lbDNS *yaml.Node) []*yaml.Node {
	env := []*yaml.Node{
		kv("Name", "COPILOT_APPLICATION_NAME", "Value", sub("${AppName}")),
		kv("Name", "COPILOT_SERVICE_DISCOVERY_ENDPOINT", "Value", serviceDiscoveryEndpoint(in.app, in.env)),
		kv("Name", "COPILOT_ENVIRONMENT_NAME", "Value", sub("${EnvName}")),
		kv("Name", "COPILOT_SERVICE_NAME", "Value", sub("${WorkloadName}")),
	}
	for _, o := range addonVars {
		env = append(env, kv("Name", snakeCase(o), "Value", getAttOutput(addonsStackName, o)))
	}
	if len(topics) > 0 {
		env = append(env, kv("Name", "COPILOT_SNS_TOPIC_ARNS", "Value", topicARNsJSON(topics, rdwsInput{app: in.app, env: in.env, name: in.name, opts: in.opts})))
	}
	if in.kind == workspace.WorkerService {
		env = append(env, kv("Name", "COPILOT_QUEUE_URI", "Value", ref("EventsQueue")))
	}
	if in.workerEnv != nil {
		env = append(env, in.workerEnv)
	}
	if lbDNS != nil {
		env = append(env, kv("Name", "COPILOT_LB_DNS", "Value", lbDNS))
	}
	return env
}

// ecsContainers is the task's ContainerDefinitions: the main container,
// then the log router and the sidecars.
func ecsContainers(in ecsInput, m ecsManifest, addonSecrets, addonVars []string, topics []topicSpec, lbDNS *yaml.Node, tp taskPorts) *yaml.Node {
	common := ecsCommonEnv(in, addonVars, topics, lbDNS)
	c := kv("Name", ref("WorkloadName"), "Image", ref("ContainerImage"))
	if s := ecsSecrets(m.Secrets, addonSecrets); s != nil {
		set(c, "Secrets", s)
	}
	env := seq()
	for _, n := range common {
		env.Content = append(env.Content, deepCopy(n))
	}
	env.Content = append(env.Content, ecsVariables(m.Variables)...)
	if mp := mainMountPointsEnv(m.task.storage); mp != nil {
		env.Content = append(env.Content, mp)
	}
	set(c, "Environment", env)
	set(c, "EnvironmentFiles", seq(ifFn("HasEnvFile", kv("Type", "s3", "Value", ref("EnvFileARN")), noValue())))
	set(c, "LogConfiguration", mainLogConfiguration(m.task.logging))
	if len(m.EntryPoint) > 0 {
		set(c, "EntryPoint", val([]string(m.EntryPoint)))
	}
	if len(m.Command) > 0 {
		set(c, "Command", val([]string(m.Command)))
	}
	mainContainerExtras(c, m.task)
	// Copilot writes port mappings of the main container only for
	// services; a worker's or job's image.port is not exposed.
	if servesTarget(in.kind) {
		if pm := portMappings(tp, in.name, true); pm != nil {
			set(c, "PortMappings", pm)
		}
	}
	mainContainerTail(c, m.task)
	list := seq(c)
	list.Content = append(list.Content, sidecarContainers(m.task, tp, common, servesTarget(in.kind))...)
	return list
}

// ecsTaskDefinition is the TaskDefinition with its containers and volumes,
// taskdef_overrides applied.
func ecsTaskDefinition(m ecsManifest, platform ecsPlatform, containers *yaml.Node) (*yaml.Node, error) {
	props := kv("Family", join("", fn("", ref("AppName"), "-", ref("EnvName"), "-", ref("WorkloadName"))))
	if platform.os != "" {
		set(props, "RuntimePlatform", kv("OperatingSystemFamily", platform.os, "CpuArchitecture", platform.arch))
	}
	set(props, "NetworkMode", "awsvpc")
	set(props, "RequiresCompatibilities", seq("FARGATE"))
	set(props, "Cpu", ref("TaskCPU"))
	set(props, "Memory", ref("TaskMemory"))
	if e := ephemeralStorage(m.task.storage); e != nil {
		set(props, "EphemeralStorage", e)
	}
	set(props, "ExecutionRoleArn", getAtt("ExecutionRole.Arn"))
	set(props, "TaskRoleArn", getAtt("TaskRole.Arn"))
	set(props, "ContainerDefinitions", containers)
	if v := taskVolumes(m.task.storage); v != nil {
		set(props, "Volumes", v)
	}
	if err := applyOverrides(props, m.task.overrides); err != nil {
		return nil, err
	}
	return kv(
		"Metadata", kv("aws:copilot:description", "An ECS task definition to group your containers and run them on ECS"),
		"Type", "AWS::ECS::TaskDefinition",
		"DependsOn", "LogGroup",
		"Properties", props,
	), nil
}

func ecsLogGroup() *yaml.Node {
	return kv(
		"Metadata", kv("aws:copilot:description", "A CloudWatch log group to hold your service logs"),
		"Type", "AWS::Logs::LogGroup",
		"Properties", kv(
			"LogGroupName", join("", fn("", "/copilot/", ref("AppName"), "-", ref("EnvName"), "-", ref("WorkloadName"))),
			"RetentionInDays", ref("LogRetention"),
		),
	)
}

func tagCondition(prefix string) *yaml.Node {
	return kv("StringEquals", kv(
		prefix+"/copilot-application", sub("${AppName}"),
		prefix+"/copilot-environment", sub("${EnvName}"),
	))
}

// taggedSecretStatements let a role read the SSM parameters and Secrets
// Manager secrets tagged with the workload's application and environment,
// and decrypt them.
func taggedSecretStatements() []*yaml.Node {
	return []*yaml.Node{
		kv("Effect", "Allow", "Action", seq("ssm:GetParameters"),
			"Resource", seq(sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/*")),
			"Condition", tagCondition("ssm:ResourceTag")),
		kv("Effect", "Allow", "Action", seq("secretsmanager:GetSecretValue"),
			"Resource", seq(sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*")),
			"Condition", tagCondition("secretsmanager:ResourceTag")),
		kv("Effect", "Allow", "Action", seq("kms:Decrypt"), "Resource", seq(ref("ArtifactKeyARN"))),
		kv("Sid", "DecryptTaggedKMSKey", "Effect", "Allow", "Action", seq("kms:Decrypt"),
			"Resource", seq(sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*")),
			"Condition", tagCondition("aws:ResourceTag")),
	}
}

// ecsExecutionRole lets the Fargate agent pull the image, read the
// workload's tagged secrets and write logs.
func ecsExecutionRole(t ecsTask) *yaml.Node {
	policies := seq(
		kv("PolicyName", join("", fn("", ref("AppName"), "-", ref("EnvName"), "-", ref("WorkloadName"), "SecretsPolicy")),
			"PolicyDocument", policyDoc(taggedSecretStatements()...)),
		envFilePolicy("HasEnvFile", "EnvFileARN", "GetEnvFilePolicy"),
	)
	if t.logging != nil {
		policies.Content = append(policies.Content, envFilePolicy("HasLoggingEnvFile", "LoggingEnvFileARN", "GetLoggingEnvFilePolicy"))
	}
	for _, s := range t.sidecars {
		id := logicalIDSafe(s.name)
		policies.Content = append(policies.Content, envFilePolicy("HasEnvFileFor"+id, "EnvFileARNFor"+id, "GetEnvFilePolicyFor"+id))
	}
	return kv(
		"Metadata", kv("aws:copilot:description", "An IAM Role for the Fargate agent to make AWS API calls on your behalf"),
		"Type", "AWS::IAM::Role",
		"Properties", kv(
			"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", "ecs-tasks.amazonaws.com"), "Action", "sts:AssumeRole")),
			"Policies", policies,
			"ManagedPolicyArns", seq(sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")),
		),
	)
}

// ecsTaskRole is the containers' role: no IAM, plus exec, publish and the
// addons' managed policies.
func ecsTaskRole(m ecsManifest, topics []topicSpec, addonPolicies []string) *yaml.Node {
	exec := m.Exec.Enabled()
	props := kv()
	if len(addonPolicies) > 0 {
		arns := seq()
		for _, p := range addonPolicies {
			arns.Content = append(arns.Content, getAttOutput(addonsStackName, p))
		}
		set(props, "ManagedPolicyArns", arns)
	}
	set(props, "AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", "ecs-tasks.amazonaws.com"), "Action", "sts:AssumeRole")))
	policies := seq(kv("PolicyName", "DenyIAM", "PolicyDocument", policyDoc(kv("Effect", "Deny", "Action", "iam:*", "Resource", "*"))))
	if exec {
		policies.Content = append(policies.Content, kv("PolicyName", "ExecuteCommand", "PolicyDocument", policyDoc(
			kv("Effect", "Allow", "Action", []string{"ssmmessages:CreateControlChannel", "ssmmessages:OpenControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenDataChannel"}, "Resource", "*"),
			kv("Effect", "Allow", "Action", []string{"logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:PutLogEvents"}, "Resource", "*"),
		)))
	}
	policies.Content = append(policies.Content, efsPolicies(m.task.storage)...)
	if len(topics) > 0 {
		resources := seq()
		for _, t := range topics {
			resources.Content = append(resources.Content, ref(t.LogicalID))
		}
		policies.Content = append(policies.Content, kv("PolicyName", "Publish2SNS", "PolicyDocument", policyDoc(
			kv("Effect", "Allow", "Action", "sns:Publish", "Resource", resources))))
	}
	if m.task.tracing {
		policies.Content = append(policies.Content, xrayPolicy())
	}
	set(props, "Policies", policies)
	return kv(
		"Metadata", kv("aws:copilot:description", "An IAM role to control permissions for the containers in your tasks"),
		"Type", "AWS::IAM::Role",
		"Properties", props,
	)
}

func ecsDiscoveryService() *yaml.Node {
	return kv(
		"Metadata", kv("aws:copilot:description", "Service discovery for your services to communicate within the VPC"),
		"Type", "AWS::ServiceDiscovery::Service",
		"Properties", kv(
			"Description", "Discovery Service for the Copilot services",
			"DnsConfig", kv("RoutingPolicy", "MULTIVALUE", "DnsRecords", seq(kv("TTL", 10, "Type", "A"), kv("TTL", 10, "Type", "SRV"))),
			"HealthCheckCustomConfig", kv("FailureThreshold", 1),
			"Name", ref("WorkloadName"),
			"NamespaceId", importValue(sub("${AppName}-${EnvName}-ServiceDiscoveryNamespaceID")),
		),
	)
}

// ecsSecurityGroups is the service's security groups: the environment's
// (unless denied), the manifest's, then the addons' security-group outputs.
func ecsSecurityGroups(sg manifest.ListOrMap[[]manifest.Variable, manifest.SecurityGroupsMap], addonSGs []string) (*yaml.Node, error) {
	groups := seq()
	items, deny := sg.List, false
	if sg.Bad {
		return nil, fmt.Errorf("line %d: security_groups must be a list or {groups, deny_default}", sg.Pos.Line)
	}
	if sg.IsMap {
		items, deny = sg.Map.Groups, deref(sg.Map.DenyDefault)
	}
	if !deny {
		groups.Content = append(groups.Content, importValue(sub("${AppName}-${EnvName}-EnvironmentSecurityGroup")))
	}
	for _, it := range items {
		if it.FromCFN != nil {
			groups.Content = append(groups.Content, importValue(str(*it.FromCFN)))
		} else {
			groups.Content = append(groups.Content, str(it.Value))
		}
	}
	for _, o := range addonSGs {
		groups.Content = append(groups.Content, getAttOutput(addonsStackName, o))
	}
	return groups, nil
}

// ecsServiceProps are the properties of the ECS service shared by every
// ECS service type, up to NetworkConfiguration.
func ecsServiceProps(m ecsManifest, platform ecsPlatform, sgs, serviceConnect *yaml.Node) *yaml.Node {
	props := kv(
		"PlatformVersion", platform.version,
		"Cluster", importValue(sub("${AppName}-${EnvName}-ClusterId")),
		"TaskDefinition", ref("TaskDefinition"),
	)
	if !m.Count.Autoscaling() || m.Count.Spot != nil {
		set(props, "DesiredCount", ref("TaskCount"))
	}
	// With autoscaling Copilot takes DesiredCount from a custom resource that
	// reads the running count; autopilot leaves DesiredCount out, which
	// CloudFormation treats as "keep the service's current count" on update
	// (and 1 on create, which the scalable target's minimum then raises).
	minHealthy, maxPct := 100, 200
	if m.Deployment.Rolling != nil && *m.Deployment.Rolling == "recreate" {
		minHealthy, maxPct = 0, 100
	}
	set(props, "DeploymentConfiguration", kv(
		"DeploymentCircuitBreaker", kv("Enable", true, "Rollback", true),
		"MinimumHealthyPercent", minHealthy,
		"MaximumPercent", maxPct,
		"Alarms", deploymentAlarms(m.task.rollback),
	))
	set(props, "PropagateTags", "SERVICE")
	if m.Exec.Enabled() {
		set(props, "EnableExecuteCommand", true)
	}
	if cps := capacityProviders(m.Count); cps != nil {
		set(props, "CapacityProviderStrategy", cps)
	} else {
		set(props, "LaunchType", "FARGATE")
	}
	set(props, "ServiceConnectConfiguration", serviceConnect)
	p := m.Network.VPC.Placement
	assign, subnets := "ENABLED", any(kv("Fn::Split", fn("", ",", importValue(sub("${AppName}-${EnvName}-PublicSubnets")))))
	switch {
	case len(p.SubnetIDs) > 0:
		assign, subnets = "DISABLED", p.SubnetIDs
	case p.Kind == "private":
		assign, subnets = "DISABLED", kv("Fn::Split", fn("", ",", importValue(sub("${AppName}-${EnvName}-PrivateSubnets"))))
	}
	set(props, "NetworkConfiguration", kv("AwsvpcConfiguration", kv("AssignPublicIp", assign, "Subnets", subnets, "SecurityGroups", sgs)))
	return props
}

// capacityProviders is Copilot's Fargate Spot strategy for count.spot and
// count.range.spot_from.
func capacityProviders(c manifest.Count) *yaml.Node {
	if c.Spot == nil && c.SpotFrom == nil {
		return nil
	}
	cps := seq(kv("CapacityProvider", "FARGATE_SPOT", "Weight", 1))
	if c.SpotFrom != nil && c.Min != nil && *c.SpotFrom >= *c.Min {
		cps.Content = append(cps.Content, kv("CapacityProvider", "FARGATE", "Weight", 0, "Base", max(*c.SpotFrom-1, 0)))
	}
	return cps
}

// addAutoscaling adds the scalable target and its target-tracking policies.
// Copilot's DynamicDesiredCount custom resource is not rendered (see
// ecsServiceProps).
func addAutoscaling(add func(string, *yaml.Node), c manifest.Count, lbFullName *yaml.Node) {
	if !c.Autoscaling() {
		return
	}
	add("AutoScalingRole", kv(
		"Metadata", kv("aws:copilot:description", "An IAM role for container auto scaling"),
		"Type", "AWS::IAM::Role",
		"Properties", kv(
			"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", "ecs-tasks.amazonaws.com"), "Action", "sts:AssumeRole")),
			"ManagedPolicyArns", seq(sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceAutoscaleRole")),
		),
	))
	add("AutoScalingTarget", kv(
		"Metadata", kv("aws:copilot:description", "An autoscaling target to scale your service's desired count"),
		"Type", "AWS::ApplicationAutoScaling::ScalableTarget",
		"Properties", kv(
			// TaskCount holds the range minimum; Copilot writes the same
			// number literally here and reads TaskCount in its custom
			// resource, which autopilot does not render.
			"MinCapacity", ref("TaskCount"),
			"MaxCapacity", *c.Max,
			"ResourceId", kv("Fn::Join", fn("", "/", seq("service", importValue(sub("${AppName}-${EnvName}-ClusterId")), getAtt("Service.Name")))),
			"ScalableDimension", "ecs:service:DesiredCount",
			"ServiceNamespace", "ecs",
			"RoleARN", getAtt("AutoScalingRole.Arn"),
		),
	))
	cooldowns := func(m *manifest.ScalingMetric) (in, out int) {
		in, out = 120, 60
		if c.CooldownIn != nil {
			in = int(c.CooldownIn.Seconds())
		}
		if c.CooldownOut != nil {
			out = int(c.CooldownOut.Seconds())
		}
		if m.In != nil {
			in = int(m.In.Seconds())
		}
		if m.Out != nil {
			out = int(m.Out.Seconds())
		}
		return in, out
	}
	predefined := func(id, metric string, m *manifest.ScalingMetric) {
		if m == nil {
			return
		}
		in, out := cooldowns(m)
		add(id, kv("Type", "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties", kv(
			"PolicyName", join("-", fn("", ref("WorkloadName"), metric, "ScalingPolicy")),
			"PolicyType", "TargetTrackingScaling",
			"ScalingTargetId", ref("AutoScalingTarget"),
			"TargetTrackingScalingPolicyConfiguration", kv(
				"PredefinedMetricSpecification", kv("PredefinedMetricType", metric),
				"ScaleInCooldown", in, "ScaleOutCooldown", out, "TargetValue", number(m.Value)),
		)))
	}
	predefined("AutoScalingPolicyECSServiceAverageCPUUtilization", "ECSServiceAverageCPUUtilization", c.CPU)
	predefined("AutoScalingPolicyECSServiceAverageMemoryUtilization", "ECSServiceAverageMemoryUtilization", c.Memory)
	custom := func(id, policy, metric, statistic string, m *manifest.ScalingMetric) {
		if m == nil || lbFullName == nil {
			return
		}
		in, out := cooldowns(m)
		add(id, kv("Type", "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties", kv(
			"PolicyName", join("-", fn("", ref("WorkloadName"), policy, "ScalingPolicy")),
			"PolicyType", "TargetTrackingScaling",
			"ScalingTargetId", ref("AutoScalingTarget"),
			"TargetTrackingScalingPolicyConfiguration", kv(
				"CustomizedMetricSpecification", kv(
					"Dimensions", seq(kv("Name", "LoadBalancer", "Value", deepCopy(lbFullName)), kv("Name", "TargetGroup", "Value", getAtt("TargetGroup.TargetGroupFullName"))),
					"MetricName", metric, "Namespace", "AWS/ApplicationELB", "Statistic", statistic),
				"ScaleInCooldown", in, "ScaleOutCooldown", out, "TargetValue", number(m.Value)),
		)))
	}
	custom("AutoScalingPolicyALBSumRequestCountPerTarget", "ALBSumRequestCountPerTarget", "RequestCountPerTarget", "Sum", c.Requests)
	custom("AutoScalingPolicyALBAverageResponseTime", "ALBAverageResponseTime", "TargetResponseTime", "Average", c.ResponseTime)
}

// number writes a float without a trailing .0 when it is whole.
func number(f float64) *yaml.Node {
	if f == float64(int64(f)) {
		return val(int(f))
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(f, 'f', -1, 64)}
}

// addAddonsStack adds the AddonsStack nested stack with App, Env, Name and
// addons.parameters.yml.
func addAddonsStack(add func(string, *yaml.Node), addons *mergedAddons) {
	params := kv("App", ref("AppName"), "Env", ref("EnvName"), "Name", ref("WorkloadName"))
	if addons != nil {
		for _, n := range addons.Params {
			params.Content = append(params.Content, deepCopy(n))
		}
	}
	add(addonsStackName, kv(
		"Metadata", kv("aws:copilot:description", "An Addons CloudFormation Stack for your additional AWS resources"),
		"Type", "AWS::CloudFormation::Stack",
		"Condition", "HasAddons",
		"Properties", kv("Parameters", params, "TemplateURL", ref("AddonsTemplateURL")),
	))
}

// addTopics adds the publish topics and their subscribe policies.
func addTopics(add func(string, *yaml.Node), topics []topicSpec) {
	for _, t := range topics {
		props := kv("TopicName", sub("${AWS::StackName}-"+t.Name))
		what := "A SNS topic to broadcast " + t.Name + " events"
		if t.FIFO {
			set(props, "FifoTopic", true)
			if t.ContentBasedDeduplication != nil && *t.ContentBasedDeduplication {
				set(props, "ContentBasedDeduplication", true)
			}
			what = "A SNS FIFO topic to broadcast " + t.Name + " events"
		}
		set(props, "KmsMasterKeyId", "alias/aws/sns")
		add(t.LogicalID, kv("Metadata", kv("aws:copilot:description", what), "Type", "AWS::SNS::Topic", "Properties", props))
		add(t.LogicalID+"Policy", kv("Type", "AWS::SNS::TopicPolicy", "DependsOn", t.LogicalID, "Properties", kv(
			"Topics", seq(ref(t.LogicalID)),
			"PolicyDocument", policyDoc(kv(
				"Effect", "Allow",
				"Principal", kv("AWS", sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
				"Action", seq("sns:Subscribe"),
				"Resource", ref(t.LogicalID),
				"Condition", kv("StringEquals", kv("sns:Protocol", "sqs")),
			)),
		)))
	}
}

// discoveryOutput is the DiscoveryServiceARN output every ECS service has.
func discoveryOutput() *yaml.Node {
	return kv("Description", "ARN of the Discovery Service.", "Value", getAtt("DiscoveryService.Arn"),
		"Export", kv("Name", sub("${AWS::StackName}-DiscoveryServiceARN")))
}
