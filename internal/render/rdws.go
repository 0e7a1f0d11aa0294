package render

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// copilotTemplateVersion is written as Metadata.Version so Copilot (and
// autopilot) recognise the template generation; it is the last Copilot
// release whose templates these follow.
const copilotTemplateVersion = "v1.33.2"

var (
	privateECR = regexp.MustCompile(`^\d{12}\.dkr\.ecr\.[^.]+\.amazonaws\.com(\.cn)?/`)
	publicECR  = regexp.MustCompile(`^public\.ecr\.aws/`)
)

// rdwsInput is everything needed to render one RDWS stack.
type rdwsInput struct {
	app, env string
	file     string
	name     string
	m        *manifest.Workload
	addons   *workspace.Addons
	opts     Options
}

func renderRDWS(in rdwsInput) (*Stack, diag.List) {
	var diags diag.List
	fail := failer(&diags, in.file, in.env)
	rdws := *in.m.RDWS // a copy, as in ecsCommon
	m := &rdws
	if m.Image.Port == nil {
		fail(m.Image.Pos, ruleManifest, `"image.port" must be specified`, "set image.port to the port your container listens on")
	}
	switch p := m.Network.VPC.Placement; {
	case p.Kind == "public":
		fail(p.Pos, ruleManifest, `placement "public" is not supported for Request-Driven Web Service`, "use placement: private, or remove network.vpc")
	case p.Kind != "" && p.Kind != "private":
		fail(p.Pos, ruleManifest, fmt.Sprintf("placement %q must be one of public, private", p.Kind), "use placement: private")
	}
	resolveSubnetTags(&m.Network.VPC.Placement, in.app, in.env, in.file, in.opts, &diags)
	tracing := strings.ToUpper(deref(m.Observability.Tracing))
	if tracing != "" && tracing != "AWSXRAY" {
		fail(m.Observability.At("tracing"), ruleManifest, fmt.Sprintf("invalid tracing vendor %s: the valid vendor is awsxray", *m.Observability.Tracing), "use tracing: awsxray")
	}
	for _, t := range m.Publish.Topics {
		if t.Name == "" {
			fail(m.Publish.At("topics"), ruleManifest, "every publish topic needs a name", "")
		}
	}
	if x := m.Autopilot; x.RemoveAppRunner() && m.HTTP.Alias != nil {
		fail(m.HTTP.At("alias"), ruleUnsupported, "http.alias with x-autopilot.app-runner: remove is not supported yet: the App Runner custom domain goes with the App Runner service, and ECS Express Mode's own domain is not rendered",
			"keep the App Runner service (app-runner: keep) while the alias is needed")
	}
	if x := m.Autopilot; x.RemoveAppRunner() && !x.Express() {
		fail(x.At("app-runner"), ruleManifest, "x-autopilot.app-runner: remove needs runtime: ecs-express: it would remove the service without a replacement",
			"set x-autopilot.runtime: ecs-express and deploy it with app-runner: keep first")
	}
	imageURI, repoType, idiags := rdwsImage(in, m)
	diags = append(diags, idiags...)

	addons, adiags := workloadAddons(in.addons, in.env, in.name, in.opts)
	diags = append(diags, adiags...)

	cpu, memory := 1024, 2048
	if m.CPU != nil {
		cpu = *m.CPU
	}
	if m.Memory != nil {
		memory = *m.Memory
	}
	var express *expressPlan
	if m.Autopilot.Express() {
		xp, xdiags := planExpress(in, m, cpu, memory)
		express = &xp
		diags = append(diags, xdiags...)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	if in.opts.checkDone(nil) {
		return nil, diags
	}
	appRunner := express == nil || !express.removeAppRunner
	params := map[string]string{
		"AppName":        in.app,
		"EnvName":        in.env,
		"WorkloadName":   in.name,
		"ContainerImage": imageURI,
		"ContainerPort":  strconv.Itoa(int(*m.Image.Port)),
	}
	if appRunner {
		params["ImageRepositoryType"] = repoType
		params["InstanceCPU"] = strconv.Itoa(cpu)
		params["InstanceMemory"] = strconv.Itoa(memory)
	}
	if addons == nil {
		// No addons: an empty URL turns the nested stack off, as Copilot does.
		params["AddonsTemplateURL"] = ""
	}
	// With addons the URL is left out: deploy uploads Stack.AddonsTemplate and
	// sets it. Should it not, the previous URL stays, so a forgotten upload
	// can never delete the addons stack and the data in it.
	switch {
	case !rdwsHasSecrets(m, addons):
	case in.opts.ArtifactKeyARN != "":
		params["ArtifactKeyARN"] = in.opts.ArtifactKeyARN
	default:
		diags = append(diags, diag.Diagnostic{File: in.file, Severity: diag.Notice, Rule: ruleParameter, Env: in.env,
			Message: "ArtifactKeyARN is left out of the parameters: deploy keeps the stack's previous value",
			Fix:     "pass the application's artifact KMS key ARN to set it"})
	}
	hc := m.HTTP.HealthCheck
	if !appRunner {
		// The health-check parameters are App Runner's; the Express
		// service's path is in its template.
		hc = manifest.AppRunnerHealthCheck{}
	}
	if hc.Path != nil {
		params["HealthCheckPath"] = *hc.Path
	}
	if hc.Interval != nil {
		params["HealthCheckInterval"] = strconv.Itoa(int(hc.Interval.Seconds()))
	}
	if hc.Timeout != nil {
		params["HealthCheckTimeout"] = strconv.Itoa(int(hc.Timeout.Seconds()))
	}
	if hc.HealthyThreshold != nil {
		params["HealthCheckHealthyThreshold"] = strconv.FormatInt(*hc.HealthyThreshold, 10)
	}
	if hc.UnhealthyThreshold != nil {
		params["HealthCheckUnhealthyThreshold"] = strconv.FormatInt(*hc.UnhealthyThreshold, 10)
	}

	manifestText, err := in.opts.encode(in.m.Doc)
	if err != nil {
		fail(noPos, ruleManifest, fmt.Sprintf("encode manifest for Metadata: %v", err), "")
		return nil, diags
	}
	tpl := rdwsTemplate(in, m, tracing, addons, express, string(manifestText))
	st, err := workloadStack(in.app, in.env, in.name, workspace.RequestDrivenWebService, in.opts, tpl, params, addons)
	if err != nil {
		fail(noPos, ruleManifest, err.Error(), "")
		return nil, diags
	}
	if a := m.HTTP.Alias; a != nil {
		st.Live = customDomainResources(*a)
	}
	return st, append(diags, sizeCheck(st, in.file)...)
}

// customDomainResources are Copilot's App Runner custom-domain resources
// for alias: CloudFormation has no App Runner custom-domain resource, and
// Copilot associates the domain (and writes its validation records in the
// application's hosted zone) with a Lambda whose code sits in Copilot's
// bucket. autopilot cannot create them, so deploy keeps them from a stack
// Copilot made, as they are, and refuses a new stack with an alias.
func customDomainResources(alias string) []LiveResource {
	why := fmt.Sprintf("http.alias %s (App Runner custom domain association)", alias)
	return []LiveResource{
		{ID: "CustomDomainAction", Properties: map[string]string{"CustomDomain": alias}, For: why},
		{ID: "CustomDomainFunction", For: why},
		{ID: "CustomResourceRole", For: why},
	}
}

// rdwsImage decides the ContainerImage and ImageRepositoryType parameters.
func rdwsImage(in rdwsInput, m *manifest.RequestDrivenWebService) (uri, repoType string, diags diag.List) {
	uri = m.Image.Location
	if built, ok := in.opts.Images[in.name]; ok && built != "" {
		uri = built
	} else if uri, diags = pinLocation(in.opts, m.Image, in.file, in.env, uri); diags.HasErrors() {
		return "", "", diags
	}
	if uri == "" {
		if !m.Image.HasBuild() {
			diags = append(diags, diag.Diagnostic{File: in.file, Severity: diag.Error, Rule: ruleManifest, Env: in.env,
				Message: `validate "image": must specify one of "build" and "location"`, Fix: "set image.build or image.location"})
			return "", "", diags
		}
		// The image is built later and pushed to the app's private ECR
		// repository, so the repository type is already known.
		diags = append(diags, diag.Diagnostic{File: in.file, Severity: diag.Notice, Rule: ruleImage, Env: in.env,
			Message: fmt.Sprintf("image for %s is not built yet; ContainerImage holds a placeholder", in.name),
			Fix:     "run the build step first, or pass the image URI"})
		return ImagePlaceholder(in.name), "ECR", diags
	}
	switch {
	case privateECR.MatchString(uri):
		return uri, "ECR", nil
	case publicECR.MatchString(uri):
		return uri, "ECR_PUBLIC", nil
	}
	at := m.Image.At("location")
	return "", "", append(diags, diag.Diagnostic{File: in.file, Severity: diag.Error, Rule: ruleImage, Env: in.env, Line: at.Line, Column: at.Column,
		Message: fmt.Sprintf("image %q is not supported by App Runner: it must be in a private ECR repository or ECR Public", uri),
		Fix:     "push the image to ECR, or use image.build"})
}

// pinned names an image by digest when the options can pin (plan and
// deploy), else returns it as written.
func pinned(opts Options, ref string) (string, error) {
	if ref == "" || opts.PinImage == nil {
		return ref, nil
	}
	return opts.PinImage(ref)
}

const pinFix = "let the job's credentials read the image, or name it by digest (repository@sha256:…)"

// pinLocation is pinned for image.location, with a finding on it.
func pinLocation(opts Options, img manifest.Image, file, env, location string) (string, diag.List) {
	p, err := pinned(opts, location)
	if err == nil {
		return p, nil
	}
	at := img.At("location")
	return "", diag.List{{File: file, Severity: diag.Error, Rule: ruleImage, Env: env, Line: at.Line, Column: at.Column,
		Message: fmt.Sprintf("image.location %q: %v", location, err), Fix: pinFix}}
}

// ImagePlaceholder is the ContainerImage value of a workload whose image has
// not been built yet. It is not a valid image reference, so a deploy that
// forgot the build fails at App Runner instead of running something else.
func ImagePlaceholder(workload string) string {
	return "autopilot-placeholder/" + workload + ":run-autopilot-build-first"
}

// rdwsTemplate is the service's template: the App Runner service, and with
// express the Express service beside it (or, with app-runner: remove,
// instead of it).
func rdwsTemplate(in rdwsInput, m *manifest.RequestDrivenWebService, tracing string, addons *mergedAddons, express *expressPlan, manifestText string) *yaml.Node {
	placement := m.Network.VPC.Placement
	appRunner := express == nil || !express.removeAppRunner
	vpcConnector := appRunner && (placement.Kind == "private" || len(placement.SubnetIDs) > 0)
	private := appRunner && m.HTTP.Private.Enabled

	params := kv(
		"AppName", kv("Type", "String"),
		"EnvName", kv("Type", "String"),
		"WorkloadName", kv("Type", "String"),
		"ContainerImage", kv("Type", "String"),
		"ContainerPort", kv("Type", "Number"),
	)
	if appRunner {
		params.Content = append(params.Content, kv(
			"ImageRepositoryType", kv("Type", "String"),
			"InstanceCPU", kv("Type", "String"),
			"InstanceMemory", kv("Type", "String"),
			"HealthCheckPath", kv("Type", "String", "Default", ""),
			"HealthCheckInterval", kv("Type", "String", "Default", ""),
			"HealthCheckTimeout", kv("Type", "String", "Default", ""),
			"HealthCheckHealthyThreshold", kv("Type", "String", "Default", ""),
			"HealthCheckUnhealthyThreshold", kv("Type", "String", "Default", ""),
		).Content...)
	}
	set(params, "AddonsTemplateURL", kv("Description", "URL of the addons nested stack template within the S3 bucket.", "Type", "String", "Default", ""))
	if rdwsHasSecrets(m, addons) {
		// Copilot declares it always but uses it only for secrets; an unused
		// parameter is left out so every declared parameter is used.
		set(params, "ArtifactKeyARN", kv("Type", "String", "Description", "KMS Key used for encrypting artifacts"))
	}
	notEmpty := func(p string) *yaml.Node { return not(equals(ref(p), "")) }
	conds := kv()
	if appRunner {
		conds = kv(
			"NeedsAccessRole", equals(ref("ImageRepositoryType"), "ECR"),
			"HasHealthCheckPath", notEmpty("HealthCheckPath"),
			"HasHealthCheckInterval", notEmpty("HealthCheckInterval"),
			"HasHealthCheckTimeout", notEmpty("HealthCheckTimeout"),
			"HasHealthCheckHealthyThreshold", notEmpty("HealthCheckHealthyThreshold"),
			"HasHealthCheckUnhealthyThreshold", notEmpty("HealthCheckUnhealthyThreshold"),
		)
	}
	set(conds, "HasAddons", notEmpty("AddonsTemplateURL"))

	var secretOutputs, varOutputs, policyOutputs []string
	if addons != nil {
		for _, o := range addons.Outputs {
			switch {
			case o.IsSecret:
				secretOutputs = append(secretOutputs, o.Name)
			case o.IsManagedPolicy:
				policyOutputs = append(policyOutputs, o.Name)
			default:
				// Copilot passes security-group outputs to App Runner as
				// plain variables too; it attaches them to ECS tasks only.
				varOutputs = append(varOutputs, o.Name)
			}
		}
	}
	hasSecrets := len(m.Secrets) > 0 || len(secretOutputs) > 0
	topics := make([]topicSpec, 0, len(m.Publish.Topics))
	for _, t := range m.Publish.Topics {
		topics = append(topics, newTopic(t))
	}

	res := kv()
	add := func(id string, r *yaml.Node) { res.Content = append(res.Content, str(id), r) }
	desc := func(s string) *yaml.Node { return kv("aws:copilot:description", s) }

	if appRunner {
		add("AccessRole", kv(
			"Metadata", desc("An IAM Role for App Runner to use on your behalf to pull your image from ECR"),
			"Type", "AWS::IAM::Role",
			"Condition", "NeedsAccessRole",
			"Properties", kv(
				"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", seq("build.apprunner.amazonaws.com")), "Action", "sts:AssumeRole")),
				"ManagedPolicyArns", seq(sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSAppRunnerServicePolicyForECRAccess")),
			),
		))
		add("InstanceRole", instanceRole("tasks.apprunner.amazonaws.com", hasSecrets, topics, tracing == "AWSXRAY", policyOutputs))
	}

	// Service.
	secrets := seq()
	for _, name := range sortedKeys(m.Secrets) {
		secrets.Content = append(secrets.Content, kv("Name", name, "Value", secretRef(m.Secrets[name])))
	}
	for _, o := range secretOutputs {
		secrets.Content = append(secrets.Content, kv("Name", snakeCase(o), "Value", getAttOutput(addonsStackName, o)))
	}
	vars := seq(
		kv("Name", "COPILOT_APPLICATION_NAME", "Value", ref("AppName")),
		kv("Name", "COPILOT_ENVIRONMENT_NAME", "Value", ref("EnvName")),
		kv("Name", "COPILOT_SERVICE_NAME", "Value", ref("WorkloadName")),
	)
	if placement.Kind == "private" || len(placement.SubnetIDs) > 0 {
		vars.Content = append(vars.Content, kv("Name", "COPILOT_SERVICE_DISCOVERY_ENDPOINT", "Value", serviceDiscoveryEndpoint(in.app, in.env)))
	}
	if len(topics) > 0 {
		vars.Content = append(vars.Content, kv("Name", "COPILOT_SNS_TOPIC_ARNS", "Value", topicARNsJSON(topics, in)))
	}
	for _, name := range sortedKeys(m.Variables) {
		v := m.Variables[name]
		if v.FromCFN != nil {
			vars.Content = append(vars.Content, kv("Name", name, "Value", importValue(str(*v.FromCFN))))
			continue
		}
		vars.Content = append(vars.Content, kv("Name", name, "Value", v.Value))
	}
	for _, o := range varOutputs {
		vars.Content = append(vars.Content, kv("Name", snakeCase(o), "Value", getAttOutput(addonsStackName, o)))
	}
	for _, o := range secretOutputs {
		vars.Content = append(vars.Content, kv("Name", snakeCase(o)+"_ARN", "Value", getAttOutput(addonsStackName, o)))
	}
	imageConfig := kv("Port", ref("ContainerPort"))
	if len(secrets.Content) > 0 {
		set(imageConfig, "RuntimeEnvironmentSecrets", secrets)
	}
	set(imageConfig, "RuntimeEnvironmentVariables", vars)
	if m.Command != nil && *m.Command != "" {
		set(imageConfig, "StartCommand", *m.Command)
	}
	svcProps := kv(
		"ServiceName", sub("${AppName}-${EnvName}-${WorkloadName}"),
		"SourceConfiguration", kv(
			"AuthenticationConfiguration", ifFn("NeedsAccessRole", kv("AccessRoleArn", getAtt("AccessRole.Arn")), noValue()),
			"AutoDeploymentsEnabled", false,
			"ImageRepository", kv(
				"ImageIdentifier", ref("ContainerImage"),
				"ImageRepositoryType", ref("ImageRepositoryType"),
				"ImageConfiguration", imageConfig,
			),
		),
		"InstanceConfiguration", kv("Cpu", ref("InstanceCPU"), "Memory", ref("InstanceMemory"), "InstanceRoleArn", getAtt("InstanceRole.Arn")),
	)
	if m.HTTP.HealthCheck.Set {
		opt := func(cond, p string) *yaml.Node { return fn("!If", cond, ref(p), noValue()) }
		set(svcProps, "HealthCheckConfiguration", kv(
			"Path", opt("HasHealthCheckPath", "HealthCheckPath"),
			"Protocol", "HTTP",
			"Interval", opt("HasHealthCheckInterval", "HealthCheckInterval"),
			"Timeout", opt("HasHealthCheckTimeout", "HealthCheckTimeout"),
			"HealthyThreshold", opt("HasHealthCheckHealthyThreshold", "HealthCheckHealthyThreshold"),
			"UnhealthyThreshold", opt("HasHealthCheckUnhealthyThreshold", "HealthCheckUnhealthyThreshold"),
		))
	}
	egress := kv("EgressType", "DEFAULT")
	if vpcConnector {
		egress = kv("EgressType", "VPC", "VpcConnectorArn", ref("VpcConnector"))
	}
	network := kv("EgressConfiguration", egress)
	if private {
		set(network, "IngressConfiguration", kv("IsPubliclyAccessible", false))
	}
	set(svcProps, "NetworkConfiguration", network)
	if tracing == "AWSXRAY" {
		set(svcProps, "ObservabilityConfiguration", kv(
			"ObservabilityEnabled", true,
			"ObservabilityConfigurationArn", sub("arn:aws:apprunner:${AWS::Region}:${AWS::AccountId}:observabilityconfiguration/DefaultConfiguration/1/00000000000000000000000000000001"),
		))
	}
	if m.Count != nil && *m.Count != "" {
		set(svcProps, "AutoScalingConfigurationArn", sub("arn:${AWS::Partition}:apprunner:${AWS::Region}:${AWS::AccountId}:autoscalingconfiguration/"+*m.Count))
	}
	set(svcProps, "Tags", workloadTags(m.Tags))
	if appRunner {
		add("Service", kv("Metadata", desc("An App Runner service to run and manage your containers"), "Type", "AWS::AppRunner::Service", "Properties", svcProps))
	}
	if express != nil {
		addExpress(add, *express, m, deepCopy(vars), expressSecrets(secrets), hasSecrets, topics, policyOutputs)
	}

	if private {
		endpoint := importValue(sub("${AppName}-${EnvName}-AppRunnerVpcEndpointId"))
		if m.HTTP.Private.Endpoint != nil {
			endpoint = str(*m.HTTP.Private.Endpoint)
		}
		add("AppRunnerVpcIngressConnection", kv(
			"Metadata", desc("The ingress connection from your environment to this service"),
			"Type", "AWS::AppRunner::VpcIngressConnection",
			"Properties", kv(
				"ServiceArn", getAtt("Service.ServiceArn"),
				"IngressVpcConfiguration", kv("VpcId", importValue(sub("${AppName}-${EnvName}-VpcId")), "VpcEndpointId", endpoint),
				"Tags", workloadTags(m.Tags),
			),
		))
	}

	addonParams := kv("App", ref("AppName"), "Env", ref("EnvName"), "Name", ref("WorkloadName"))
	if addons != nil {
		for _, n := range addons.Params {
			addonParams.Content = append(addonParams.Content, deepCopy(n))
		}
	}
	add(addonsStackName, kv(
		"Metadata", desc("An Addons CloudFormation Stack for your additional AWS resources"),
		"Type", "AWS::CloudFormation::Stack",
		"Condition", "HasAddons",
		"Properties", kv("Parameters", addonParams, "TemplateURL", ref("AddonsTemplateURL")),
	))

	for _, t := range topics {
		topicProps := kv("TopicName", sub("${AWS::StackName}-"+t.Name))
		if t.FIFO {
			set(topicProps, "FifoTopic", true)
			if t.ContentBasedDeduplication != nil && *t.ContentBasedDeduplication {
				set(topicProps, "ContentBasedDeduplication", true)
			}
		}
		set(topicProps, "KmsMasterKeyId", "alias/aws/sns")
		what := "A SNS topic to broadcast " + t.Name + " events"
		if t.FIFO {
			what = "A SNS FIFO topic to broadcast " + t.Name + " events"
		}
		add(t.LogicalID, kv("Metadata", desc(what), "Type", "AWS::SNS::Topic", "Properties", topicProps))
		add(t.LogicalID+"Policy", kv(
			"Type", "AWS::SNS::TopicPolicy",
			"DependsOn", t.LogicalID,
			"Properties", kv(
				"Topics", seq(ref(t.LogicalID)),
				"PolicyDocument", policyDoc(kv(
					"Effect", "Allow",
					"Principal", kv("AWS", sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
					"Action", seq("sns:Subscribe"),
					"Resource", ref(t.LogicalID),
					"Condition", kv("StringEquals", kv("sns:Protocol", "sqs")),
				)),
			),
		))
	}

	if vpcConnector || express != nil {
		// The Express service joins this group too: it is the one the
		// addons' database admits.
		add("ServiceSecurityGroup", kv(
			"Type", "AWS::EC2::SecurityGroup",
			"Metadata", desc("A security group for your addons/ resources to allow ingress from your service"),
			"Properties", kv(
				"GroupDescription", join("", seq(ref("AppName"), "-", ref("EnvName"), ref("WorkloadName"))),
				"VpcId", importValue(sub("${AppName}-${EnvName}-VpcId")),
				"Tags", tagList("Name", sub("copilot-${AppName}-${EnvName}-${WorkloadName}")),
			),
		))
		add("EnvironmentSecurityGroupIngressFromServiceSecurityGroup", kv(
			"Type", "AWS::EC2::SecurityGroupIngress",
			"Metadata", desc("Allow ingress from the app runner service to services in your environment"),
			"Properties", kv(
				"GroupId", importValue(sub("${AppName}-${EnvName}-EnvironmentSecurityGroup")),
				"IpProtocol", -1,
				"SourceSecurityGroupId", ref("ServiceSecurityGroup"),
			),
		))
	}
	if vpcConnector {
		var subnets *yaml.Node
		if len(placement.SubnetIDs) > 0 {
			subnets = val(placement.SubnetIDs)
		} else {
			subnets = kv("Fn::Split", seq(",", importValue(sub("${AppName}-${EnvName}-PrivateSubnets"))))
		}
		// No DependsOn on EnvControllerAction: the environment stack is
		// deployed with NATWorkloads set before this stack (see README.md).
		add("VpcConnector", kv(
			"Type", "AWS::AppRunner::VpcConnector",
			"Metadata", desc("A VPC connector to link your service to subnets in your environment"),
			"Properties", kv(
				"Subnets", subnets,
				"SecurityGroups", seq(ref("ServiceSecurityGroup"), importValue(sub("${AppName}-${EnvName}-EnvironmentSecurityGroup"))),
				"Tags", workloadTags(m.Tags),
			),
		))
	}

	return workloadTemplate("CloudFormation template that represents a request driven web service on AWS App Runner.", manifestText,
		"Parameters", params,
		"Conditions", conds,
		"Resources", res,
		// Copilot's template has no outputs (its CLI asks App Runner for
		// the URL); an output changes no resource, so it is safe over
		// Copilot-made stacks, and deploy reports the URL from it.
		"Outputs", rdwsOutputs(appRunner, express != nil),
	)
}

// rdwsOutputs are the service's URLs. ServiceURL, which deploy reports, is
// the Express service's once the workload runs on ECS Express Mode; the App
// Runner service's URL stays visible while both run.
func rdwsOutputs(appRunner, express bool) *yaml.Node {
	appRunnerURL := kv("Description", "The URL of the App Runner service.", "Value", sub("https://${Service.ServiceUrl}"))
	if !express {
		return kv("ServiceURL", appRunnerURL)
	}
	out := kv("ServiceURL", kv("Description", "The URL of the Amazon ECS Express Mode service.", "Value", sub("https://${"+expressServiceID+".Endpoint}")))
	if appRunner {
		set(out, "AppRunnerServiceURL", appRunnerURL)
	}
	return out
}

// rdwsHasSecrets reports whether the service reads secrets, from the manifest
// or from addon outputs.
func rdwsHasSecrets(m *manifest.RequestDrivenWebService, addons *mergedAddons) bool {
	if len(m.Secrets) > 0 {
		return true
	}
	if addons != nil {
		for _, o := range addons.Outputs {
			if o.IsSecret {
				return true
			}
		}
	}
	return false
}

// instanceRole is the role the service's code runs with (App Runner's
// instance role, or the Express service's task role: principal tells which):
// no IAM, the addons' managed policies, publishing, tracing, and for App
// Runner, which reads secrets with it, the tagged secrets.
func instanceRole(principal string, hasSecrets bool, topics []topicSpec, xray bool, policyOutputs []string) *yaml.Node {
	props := kv()
	if len(policyOutputs) > 0 {
		arns := seq()
		for _, p := range policyOutputs {
			arns.Content = append(arns.Content, getAttOutput(addonsStackName, p))
		}
		set(props, "ManagedPolicyArns", arns)
	}
	set(props, "AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", seq(principal)), "Action", "sts:AssumeRole")))
	policies := seq(kv("PolicyName", "DenyIAM", "PolicyDocument", policyDoc(kv("Effect", "Deny", "Action", "iam:*", "Resource", "*"))))
	if hasSecrets {
		policies.Content = append(policies.Content, kv("PolicyName", "AccessCopilotTaggedSecrets", "PolicyDocument", policyDoc(taggedSecretStatements()...)))
	}
	if len(topics) > 0 {
		resources := seq()
		for _, t := range topics {
			resources.Content = append(resources.Content, ref(t.LogicalID))
		}
		policies.Content = append(policies.Content, kv("PolicyName", "Publish2SNS", "PolicyDocument", policyDoc(
			kv("Effect", "Allow", "Action", "sns:Publish", "Resource", resources))))
	}
	if xray {
		policies.Content = append(policies.Content, kv("PolicyName", "EnableAWSXRayTracing", "PolicyDocument", policyDoc(
			kv("Effect", "Allow", "Action", []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
				"xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries", "ssm:GetParameters"}, "Resource", "*"))))
	}
	set(props, "Policies", policies)
	return kv(
		"Metadata", kv("aws:copilot:description", "An IAM role to control permissions for the containers in your service"),
		"Type", "AWS::IAM::Role",
		"Properties", props,
	)
}

func policyDoc(statements ...*yaml.Node) *yaml.Node {
	s := seq()
	for _, st := range statements {
		s.Content = append(s.Content, st)
	}
	return kv("Version", "2012-10-17", "Statement", s)
}

// workloadTags are the copilot-* tags plus the manifest's tags, sorted.
func workloadTags(extra map[string]string) *yaml.Node {
	pairs := []any{"copilot-application", ref("AppName"), "copilot-environment", ref("EnvName"), "copilot-service", ref("WorkloadName")}
	for _, k := range sortedKeys(extra) {
		pairs = append(pairs, k, extra[k])
	}
	return tagList(pairs...)
}

type topicSpec struct {
	Name, LogicalID           string
	FIFO                      bool
	ContentBasedDeduplication *bool
}

func newTopic(t manifest.Topic) topicSpec {
	name := t.Name
	if t.FIFO.Enabled {
		name += ".fifo"
	}
	return topicSpec{Name: name, LogicalID: logicalIDSafe(name) + "SNSTopic", FIFO: t.FIFO.Enabled, ContentBasedDeduplication: t.FIFO.ContentBasedDeduplication}
}

// topicARNsJSON is COPILOT_SNS_TOPIC_ARNS: concrete ARNs when the account and
// region are known (as Copilot writes them), else the same ARNs via Fn::Sub.
func topicARNsJSON(topics []topicSpec, in rdwsInput) *yaml.Node {
	arns := map[string]string{}
	concrete := in.opts.Region != "" && in.opts.AccountID != ""
	for _, t := range topics {
		if concrete {
			arns[t.Name] = fmt.Sprintf("arn:%s:sns:%s:%s:%s-%s-%s-%s", partition(in.opts.Region), in.opts.Region, in.opts.AccountID, in.app, in.env, in.name, t.Name)
		} else {
			arns[t.Name] = "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-" + t.Name
		}
	}
	b, _ := json.Marshal(arns) // a map of strings always marshals
	if concrete {
		return str(string(b))
	}
	return sub(string(b))
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func serviceDiscoveryEndpoint(app, env string) string { return env + "." + app + ".local" }

// stackName is Copilot's stack name: <app>-<env>[-<workload>], at most 128 characters.
func stackName(app, env, workload string) string {
	n := app + "-" + env
	if workload != "" {
		n += "-" + workload
	}
	if len(n) > 128 {
		n = n[:128]
	}
	return n
}

// stackTags merges the app's extra tags with the copilot-* tags, which win.
func stackTags(extra map[string]string, app, env, workload string) map[string]string {
	t := map[string]string{}
	for k, v := range extra {
		t[k] = v
	}
	t["copilot-application"] = app
	t["copilot-environment"] = env
	if workload != "" {
		t["copilot-service"] = workload
	}
	return t
}
