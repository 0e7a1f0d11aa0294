package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// Copilot's defaults for a managed VPC.
var (
	defaultVPCCIDR            = "10.0.0.0/16"
	defaultPublicSubnetCIDRs  = []string{"10.0.0.0/24", "10.0.1.0/24"}
	defaultPrivateSubnetCIDRs = []string{"10.0.2.0/24", "10.0.3.0/24"}
)

// defaultFlowLogRetention is Copilot's retention in days when flow_logs
// gives none.
const defaultFlowLogRetention = 14

// KeepPreviousEnvParams are the environment stack parameters whose live value
// wins over the rendered one when the stack exists: Copilot keeps them too
// (Aliases lists the services' custom domains, which the kept
// CustomDomainAction serves). deploy refuses a stack where Aliases is
// non-empty without the application's domain, or EFSWorkloads while the
// file system is not rendered (see Stack.Unrendered), since this template
// then lacks those resources. ALBWorkloads, InternalALBWorkloads and EFSWorkloads are
// computed from the workspace and join this list only when the workspace
// computes them empty (see keepPreviousEnv).
var KeepPreviousEnvParams = []string{"ALBWorkloads", "Aliases", "EFSWorkloads", "InternalALBWorkloads", "ServiceDiscoveryEndpoint"}

// unrenderedEnvParams are the environment parameters whose features
// (aliases without the application's domain, and managed EFS while no
// workload of the workspace needs it) the rendered template lacks.
var unrenderedEnvParams = map[string]string{
	"EFSWorkloads": "a managed EFS file system",
	"Aliases":      "custom domain aliases (they need the application's domain: pass --app-domain)",
}

// fixedEnvParams must keep their deployed value: the application's domain
// names the environment's hosted zone and certificate.
var fixedEnvParams = map[string]string{
	"AppDNSName": "Pass the application's domain as --app-domain (or $AUTOPILOT_APP_DOMAIN): Copilot keeps it in the application, not the workspace",
}

// keepPreviousEnv is KeepPreviousEnvParams without the computed workload
// lists that are non-empty. An empty computed list is kept from the live
// stack: a workspace that does not know another workspace's load-balanced
// services must not switch their load balancer off. A non-empty one is
// rendered: the condition only tests emptiness, so replacing the live names
// with this workspace's never deletes a load balancer in use.
func keepPreviousEnv(computed map[string][]string) []string {
	var keep []string
	for _, p := range KeepPreviousEnvParams {
		if list, ok := computed[p]; ok && len(list) > 0 {
			continue
		}
		keep = append(keep, p)
	}
	return keep
}

type vpcPlan struct {
	imported               bool
	id                     string
	publicIDs, privateIDs  []string
	cidr                   string
	azs                    []string
	publicCIDRs, privCIDRs []string
}

func renderEnvStack(ws *workspace.Workspace, em *workspace.Manifest, app, env string, vars workspace.Vars, workloads map[string]*manifest.Workload, opts Options) (*Stack, diag.List) {
	var diags diag.List
	fail := failer(&diags, em.Path, env)
	doc, rd := resolve(em, env, vars)
	diags = append(diags, rd...)
	if doc == nil {
		return nil, diags
	}
	m, err := manifest.DecodeEnvironment(doc)
	if err != nil {
		fail(manifest.Pos{Line: errorLine(err)}, ruleManifest, fmt.Sprintf("decode Environment manifest: %v", err), "")
		return nil, diags
	}
	var addons *mergedAddons
	if ws.EnvAddons != nil && len(ws.EnvAddons.Templates) > 0 {
		var ad diag.List
		addons, ad = addonsIn(ws.EnvAddons, env, envAddonsKey, envReservedParams, opts)
		diags = append(diags, ad...)
	}
	needs := map[string]workloadNeeds{}
	for _, w := range ws.Workloads {
		if wm := workloads[w.Name]; wm != nil {
			needs[w.Name] = needsOf(wm)
		}
	}
	if m.CDNEnabled() {
		// Without cdn.certificate, Copilot's viewer certificate for a
		// domain is the environment's, copied to us-east-1 by its
		// CertificateReplicator Lambda: nothing native does that.
		if opts.AppDomain != "" && (!m.CDN.IsMap || m.CDN.Map.Certificate == nil) {
			fail(m.At("cdn"), ruleUnsupported, "rendering cdn for an application with a domain is not supported yet without cdn.certificate: Copilot copies the environment's certificate to us-east-1 with a Lambda",
				"import a certificate from us-east-1 as cdn.certificate, or deploy this environment with your current tooling")
		}
	}
	plan, pd := planVPC(m, em.Path, env)
	diags = append(diags, pd...)
	ingress, egress, sd := sgRules(m, em.Path, env)
	diags = append(diags, sd...)
	lb, ld := planEnvLB(m, em.Path, env, plan, opts)
	diags = append(diags, ld...)
	if diags.HasErrors() {
		return nil, diags
	}

	var nat, arPrivate, alb, internalALB, efs []string
	for _, name := range sortedKeys(needs) {
		n := needs[name]
		if n.nat {
			nat = append(nat, name)
		}
		if n.appRunnerEndpoint {
			arPrivate = append(arPrivate, name)
		}
		if n.alb {
			alb = append(alb, name)
		}
		if n.internalALB {
			internalALB = append(internalALB, name)
		}
		if n.efs {
			efs = append(efs, name)
		}
	}
	if len(alb) > 0 && plan.imported && len(plan.publicIDs) < 2 {
		fail(m.Network.VPC.At("subnets"), ruleManifest,
			fmt.Sprintf("the public load balancer of %s needs at least two public subnets, but the imported VPC lists %d", strings.Join(alb, ", "), len(plan.publicIDs)),
			"import two or more public subnets under network.vpc.subnets.public")
		return nil, diags
	}
	params := map[string]string{
		"AppName":                     app,
		"EnvironmentName":             env,
		"ALBWorkloads":                strings.Join(alb, ","),
		"InternalALBWorkloads":        strings.Join(internalALB, ","),
		"EFSWorkloads":                strings.Join(efs, ","),
		"NATWorkloads":                strings.Join(nat, ","),
		"AppRunnerPrivateWorkloads":   strings.Join(arPrivate, ","),
		"AppDNSName":                  opts.AppDomain,
		"Aliases":                     "",
		"CreateHTTPSListener":         strconv.FormatBool(len(lb.publicCerts) > 0 || opts.AppDomain != ""),
		"CreateInternalHTTPSListener": strconv.FormatBool(len(lb.privateCerts) > 0),
		"ServiceDiscoveryEndpoint":    serviceDiscoveryEndpoint(app, env),
	}
	if opts.AccountID != "" {
		params["ToolsAccountPrincipalARN"] = fmt.Sprintf("arn:%s:iam::%s:root", partition(opts.Region), opts.AccountID)
	} else {
		diags = append(diags, diag.Diagnostic{File: em.Path, Severity: diag.Notice, Rule: ruleParameter, Env: env,
			Message: "ToolsAccountPrincipalARN is left out of the parameters: deploy keeps the stack's previous value",
			Fix:     "pass the account id to set it to the account's root principal, as Copilot does"})
	}
	if opts.ArtifactBucketARN == "" || opts.ArtifactKeyARN == "" {
		diags = append(diags, diag.Diagnostic{File: em.Path, Severity: diag.Notice, Rule: ruleParameter, Env: env,
			Message: "the artifact bucket or its key is unknown; the environment manager role is rendered without its artifact-bucket statements",
			Fix:     "pass the application's artifact bucket and KMS key ARNs"})
	}

	manifestText, err := opts.encode(doc)
	if err != nil {
		fail(noPos, ruleManifest, fmt.Sprintf("encode manifest for Metadata: %v", err), "")
		return nil, diags
	}
	var cdnAliases []string
	if m.CDN.IsMap && m.CDN.Map.Certificate != nil {
		cdnAliases = cloudFrontAliases(workloads, alb, m.CDN.Map.StaticAssets.Alias)
	}
	tpl := envTemplate(app, env, m, plan, lb, ingress, egress, opts, string(manifestText), len(efs) > 0, cdnAliases, addons)
	if addons != nil {
		for _, d := range envAddonParamRefs(tpl, addons) {
			failer(&diags, ws.EnvAddons.ParametersPath, env)(d.at, ruleParameter, d.msg,
				"refer to a parameter or resource of the environment stack (Cluster, VPC, EnvironmentSecurityGroup, ...)")
		}
		if diags.HasErrors() {
			return nil, diags
		}
	}
	body, err := opts.encode(tpl)
	if err != nil {
		fail(noPos, ruleManifest, fmt.Sprintf("encode template: %v", err), "")
		return nil, diags
	}
	st := &Stack{
		Name:         stackName(app, env, ""),
		Kind:         string(workspace.Environment),
		Env:          env,
		Template:     body,
		Parameters:   params,
		Tags:         stackTags(opts.Tags, app, env, ""),
		KeepPrevious: keepPreviousEnv(map[string][]string{"ALBWorkloads": alb, "InternalALBWorkloads": internalALB, "EFSWorkloads": efs}),
		Unrendered:   unrenderedEnvParams,
		MergeLists:   []string{"ALBWorkloads", "AppRunnerPrivateWorkloads", "InternalALBWorkloads", "NATWorkloads"},
		CarryLive:    copilotEnvCustomResources,
		Fixed:        fixedEnvParams,
	}
	if addons != nil {
		st.AddonsTemplate = addons.Template
		addObjects(st, addons.Objects)
	}
	rendered := map[string]bool{}
	if len(efs) > 0 {
		// The file system is rendered: EFSWorkloads is computed, unioned with
		// the live list, and no longer a feature this template lacks.
		rendered["EFSWorkloads"] = true
		st.MergeLists = append(st.MergeLists, "EFSWorkloads")
		slices.Sort(st.MergeLists)
	}
	if opts.AppDomain != "" {
		// The domain is rendered, and a Copilot stack keeps its custom
		// resources, the aliases' CustomDomainAction included.
		rendered["Aliases"] = true
	}
	if len(rendered) > 0 {
		st.Unrendered = map[string]string{}
		for k, v := range unrenderedEnvParams {
			if !rendered[k] {
				st.Unrendered[k] = v
			}
		}
	}
	return st, append(diags, sizeCheck(st, em.Path)...)
}

func planVPC(m *manifest.Environment, file, env string) (vpcPlan, diag.List) {
	v := m.Network.VPC
	var diags diag.List
	fail := failer(&diags, file, env)
	errf := func(msg, fix string) { fail(v.Pos, ruleManifest, msg, fix) }
	if v.ID != "" {
		if v.CIDR != "" {
			errf(`cannot import VPC resources (with "id" fields) and customize VPC resources (with "cidr" and "az" fields) at the same time`, "keep either network.vpc.id or network.vpc.cidr")
		}
		p := vpcPlan{imported: true, id: v.ID}
		for _, s := range v.Subnets.Public {
			if s.ID == "" {
				errf("every public subnet of an imported VPC needs an id", "set id on each network.vpc.subnets.public entry")
			}
			p.publicIDs = append(p.publicIDs, s.ID)
		}
		for _, s := range v.Subnets.Private {
			if s.ID == "" {
				errf("every private subnet of an imported VPC needs an id", "set id on each network.vpc.subnets.private entry")
			}
			p.privateIDs = append(p.privateIDs, s.ID)
		}
		return p, diags
	}
	if v.CIDR == "" {
		return vpcPlan{cidr: defaultVPCCIDR, publicCIDRs: defaultPublicSubnetCIDRs, privCIDRs: defaultPrivateSubnetCIDRs}, diags
	}
	pub := slices.Clone(v.Subnets.Public)
	priv := slices.Clone(v.Subnets.Private)
	if len(pub) != len(priv) || len(pub) == 0 {
		errf("a customized VPC needs as many public as private subnets, each with a cidr", "list the same number of public and private subnets")
		return vpcPlan{}, diags
	}
	// Copilot sorts both lists by AZ so index N of each shares an AZ.
	byAZ := func(a, b manifest.Subnet) int { return strings.Compare(a.AZ, b.AZ) }
	slices.SortStableFunc(pub, byAZ)
	slices.SortStableFunc(priv, byAZ)
	p := vpcPlan{cidr: v.CIDR}
	for i := range pub {
		if pub[i].CIDR == "" || priv[i].CIDR == "" {
			errf("every subnet of a customized VPC needs a cidr", "set cidr on each subnet")
		}
		p.publicCIDRs = append(p.publicCIDRs, pub[i].CIDR)
		p.privCIDRs = append(p.privCIDRs, priv[i].CIDR)
		if pub[i].AZ != "" {
			p.azs = append(p.azs, pub[i].AZ)
		}
	}
	return p, diags
}

type portRule struct {
	protocol string
	from, to int
	cidr     string
}

func sgRules(m *manifest.Environment, file, env string) (ingress, egress []portRule, diags diag.List) {
	conv := func(rules []manifest.SGRule, what string) []portRule {
		var out []portRule
		for i, r := range rules {
			from, to, err := r.Ports.Bounds()
			if err != nil {
				diags = append(diags, diag.Diagnostic{File: file, Line: r.Ports.Pos.Line, Column: r.Ports.Pos.Column, Severity: diag.Error, Rule: ruleManifest, Env: env,
					Message: fmt.Sprintf("network.vpc.security_group.%s[%d]: %v", what, i, err), Fix: "write ports: 80 or ports: 8000-8080"})
				continue
			}
			out = append(out, portRule{protocol: r.IPProtocol, from: from, to: to, cidr: r.CIDR})
		}
		return out
	}
	return conv(m.Network.VPC.SecurityGroup.Ingress, "ingress"), conv(m.Network.VPC.SecurityGroup.Egress, "egress"), diags
}

// withEFS renders the managed EFS file system (under CreateEFS): only when
// a workload of the workspace needs it, so an environment without one keeps
// Copilot's template shape and deploy's refusal of a live EFSWorkloads.
func envTemplate(app, env string, m *manifest.Environment, p vpcPlan, lb envLB, ingress, egress []portRule, opts Options, manifestText string, withEFS bool, cdnAliases []string, addons *mergedAddons) *yaml.Node {
	stringParams := func(ps ...string) *yaml.Node {
		n := kv()
		for _, name := range ps {
			set(n, name, kv("Type", "String"))
		}
		return n
	}
	// AppDNSDelegationRole is left out: only Copilot's DNS delegation
	// Lambdas use it (deploy carries it along with them).
	params := stringParams("AppName", "EnvironmentName", "ALBWorkloads", "InternalALBWorkloads", "EFSWorkloads", "NATWorkloads",
		"AppRunnerPrivateWorkloads", "ToolsAccountPrincipalARN", "AppDNSName", "Aliases")
	boolParam := kv("Type", "String", "AllowedValues", seq(true, false))
	boolParam.Content[3].Style = yaml.FlowStyle
	set(params, "CreateHTTPSListener", boolParam)
	set(params, "CreateInternalHTTPSListener", deepCopy(boolParam))
	set(params, "ServiceDiscoveryEndpoint", kv("Type", "String"))

	notEmpty := func(p string) *yaml.Node { return not(equals(ref(p), "")) }
	andFn := func(items ...any) *yaml.Node { n := fn("!And", items...); n.Style = 0; return n }
	conds := kv(
		"CreateALB", notEmpty("ALBWorkloads"),
		"CreateInternalALB", notEmpty("InternalALBWorkloads"),
		"DelegateDNS", notEmpty("AppDNSName"),
		"ExportHTTPSListener", andFn(condition("CreateALB"), equals(ref("CreateHTTPSListener"), true)),
		"ExportInternalHTTPSListener", andFn(condition("CreateInternalALB"), equals(ref("CreateInternalHTTPSListener"), true)),
		"CreateEFS", notEmpty("EFSWorkloads"),
		"CreateNATGateways", notEmpty("NATWorkloads"),
		"CreateAppRunnerVPCEndpoint", notEmpty("AppRunnerPrivateWorkloads"),
		"ManagedAliases", andFn(condition("DelegateDNS"), notEmpty("Aliases"), condition("CreateALB")),
	)

	res := kv()
	add := func(id string, r *yaml.Node) { res.Content = append(res.Content, val(id), r) }
	desc := func(s string) *yaml.Node { return kv("aws:copilot:description", s) }
	add("CloudformationExecutionRole", cfnExecutionRole())
	add("EnvironmentManagerRole", envManagerRole(importedCertificates(m), opts.ArtifactBucketARN, opts.ArtifactKeyARN))

	vpcRef := any(ref("VPC"))
	if p.imported {
		vpcRef = p.id
	}
	nameTag := func(suffix string) *yaml.Node {
		return tagList("Name", sub("copilot-${AppName}-${EnvironmentName}"+suffix))
	}
	if !p.imported {
		add("VPC", kv("Metadata", desc("A Virtual Private Cloud to control networking of your AWS resources"), "Type", "AWS::EC2::VPC",
			"Properties", kv("CidrBlock", p.cidr, "EnableDnsHostnames", true, "EnableDnsSupport", true, "InstanceTenancy", "default", "Tags", nameTag(""))))
		add("PublicRouteTable", kv("Metadata", desc("A custom route table that directs network traffic for the public subnets"), "Type", "AWS::EC2::RouteTable",
			"Properties", kv("VpcId", ref("VPC"), "Tags", nameTag(""))))
		add("DefaultPublicRoute", kv("Type", "AWS::EC2::Route", "DependsOn", "InternetGatewayAttachment",
			"Properties", kv("RouteTableId", ref("PublicRouteTable"), "DestinationCidrBlock", "0.0.0.0/0", "GatewayId", ref("InternetGateway"))))
		add("InternetGateway", kv("Metadata", desc("An Internet Gateway to connect to the public internet"), "Type", "AWS::EC2::InternetGateway",
			"Properties", kv("Tags", nameTag(""))))
		add("InternetGatewayAttachment", kv("Type", "AWS::EC2::VPCGatewayAttachment",
			"Properties", kv("InternetGatewayId", ref("InternetGateway"), "VpcId", ref("VPC"))))
		az := func(i int) *yaml.Node {
			if len(p.azs) > i {
				return str(p.azs[i])
			}
			return fn("!Select", i, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!GetAZs", Value: ""})
		}
		for i, cidr := range p.publicCIDRs {
			add(fmt.Sprintf("PublicSubnet%d", i+1), kv("Metadata", desc(fmt.Sprintf("Public subnet %d for resources that can access the internet", i+1)), "Type", "AWS::EC2::Subnet",
				"Properties", kv("CidrBlock", cidr, "VpcId", ref("VPC"), "AvailabilityZone", az(i), "MapPublicIpOnLaunch", true, "Tags", nameTag(fmt.Sprintf("-pub%d", i)))))
		}
		for i, cidr := range p.privCIDRs {
			add(fmt.Sprintf("PrivateSubnet%d", i+1), kv("Metadata", desc(fmt.Sprintf("Private subnet %d for resources with no internet access", i+1)), "Type", "AWS::EC2::Subnet",
				"Properties", kv("CidrBlock", cidr, "VpcId", ref("VPC"), "AvailabilityZone", az(i), "MapPublicIpOnLaunch", false, "Tags", nameTag(fmt.Sprintf("-priv%d", i)))))
		}
		for i := range p.publicCIDRs {
			add(fmt.Sprintf("PublicSubnet%dRouteTableAssociation", i+1), kv("Type", "AWS::EC2::SubnetRouteTableAssociation",
				"Properties", kv("RouteTableId", ref("PublicRouteTable"), "SubnetId", ref(fmt.Sprintf("PublicSubnet%d", i+1)))))
		}
		for i := range p.privCIDRs {
			n := i + 1
			add(fmt.Sprintf("NatGateway%dAttachment", n), kv("Metadata", desc(fmt.Sprintf("An Elastic IP for NAT Gateway %d", n)), "Type", "AWS::EC2::EIP",
				"Condition", "CreateNATGateways", "DependsOn", "InternetGatewayAttachment", "Properties", kv("Domain", "vpc")))
			add(fmt.Sprintf("NatGateway%d", n), kv("Metadata", desc(fmt.Sprintf("NAT Gateway %d enabling workloads placed in private subnet %d to reach the internet", n, n)),
				"Type", "AWS::EC2::NatGateway", "Condition", "CreateNATGateways",
				"Properties", kv("AllocationId", getAtt(fmt.Sprintf("NatGateway%dAttachment.AllocationId", n)), "SubnetId", ref(fmt.Sprintf("PublicSubnet%d", n)), "Tags", nameTag(fmt.Sprintf("-%d", i)))))
			add(fmt.Sprintf("PrivateRouteTable%d", n), kv("Type", "AWS::EC2::RouteTable", "Condition", "CreateNATGateways", "Properties", kv("VpcId", ref("VPC"))))
			add(fmt.Sprintf("PrivateRoute%d", n), kv("Type", "AWS::EC2::Route", "Condition", "CreateNATGateways",
				"Properties", kv("RouteTableId", ref(fmt.Sprintf("PrivateRouteTable%d", n)), "DestinationCidrBlock", "0.0.0.0/0", "NatGatewayId", ref(fmt.Sprintf("NatGateway%d", n)))))
			add(fmt.Sprintf("PrivateRouteTable%dAssociation", n), kv("Type", "AWS::EC2::SubnetRouteTableAssociation", "Condition", "CreateNATGateways",
				"Properties", kv("RouteTableId", ref(fmt.Sprintf("PrivateRouteTable%d", n)), "SubnetId", ref(fmt.Sprintf("PrivateSubnet%d", n)))))
		}
	}
	add("ServiceDiscoveryNamespace", kv("Metadata", desc("A private DNS namespace for discovering services within the environment"),
		"Type", "AWS::ServiceDiscovery::PrivateDnsNamespace", "Properties", kv("Name", ref("ServiceDiscoveryEndpoint"), "Vpc", vpcRef)))
	insights := "disabled"
	if m.Observability.ContainerInsights != nil && *m.Observability.ContainerInsights {
		insights = "enabled"
	}
	capacity := seq("FARGATE", "FARGATE_SPOT")
	capacity.Style = yaml.FlowStyle
	add("Cluster", kv("Metadata", desc("An ECS cluster to group your services"), "Type", "AWS::ECS::Cluster",
		"Properties", kv("CapacityProviders", capacity, "Configuration", kv("ExecuteCommandConfiguration", kv("Logging", "DEFAULT")),
			"ClusterSettings", seq(kv("Name", "containerInsights", "Value", insights)))))
	sgProps := kv("GroupDescription", join("", seq(ref("AppName"), "-", ref("EnvironmentName"), "EnvironmentSecurityGroup")), "VpcId", vpcRef, "Tags", nameTag("-env"))
	rules := func(rs []portRule) *yaml.Node {
		s := seq()
		for _, r := range rs {
			s.Content = append(s.Content, kv("IpProtocol", r.protocol, "FromPort", r.from, "ToPort", r.to, "CidrIp", r.cidr))
		}
		return s
	}
	if len(ingress) > 0 {
		set(sgProps, "SecurityGroupIngress", rules(ingress))
	}
	if len(egress) > 0 {
		set(sgProps, "SecurityGroupEgress", rules(egress))
	}
	add("EnvironmentSecurityGroup", kv("Metadata", desc("A security group to allow your containers to talk to each other"), "Type", "AWS::EC2::SecurityGroup", "Properties", sgProps))
	add("EnvironmentSecurityGroupIngressFromSelf", kv("Type", "AWS::EC2::SecurityGroupIngress",
		"Properties", kv("Description", "Ingress from other containers in the same security group", "GroupId", ref("EnvironmentSecurityGroup"),
			"IpProtocol", -1, "SourceSecurityGroupId", ref("EnvironmentSecurityGroup"))))
	addEnvLBResources(add, lb, p, opts.AppDomain != "")
	if lb.logsBucketCreated {
		addAccessLogsBucket(add, lb.logsPrefix)
	}
	if m.CDNEnabled() {
		addCDN(add, m.CDN.Map, cdnAliases)
	}
	if opts.AppDomain != "" && len(lb.publicCerts) == 0 {
		addDomain(add)
	}
	if withEFS {
		addEnvEFS(add, p, vpcRef)
	}
	if !p.imported {
		add("AppRunnerVpcEndpointSecurityGroup", kv("Metadata", desc("A security group for App Runner private services"), "Type", "AWS::EC2::SecurityGroup",
			"Condition", "CreateAppRunnerVPCEndpoint",
			"Properties", kv("GroupDescription", truncate(fmt.Sprintf("%s-%s-AppRunnerVpcEndpointSecurityGroup", app, env), 255),
				"VpcId", ref("VPC"), "Tags", tagList("Name", truncate(fmt.Sprintf("copilot-%s-%s-app-runner-vpc-endpoint", app, env), 255)))))
		add("AppRunnerVpcEndpointSecurityGroupIngressFromEnvironment", kv("Type", "AWS::EC2::SecurityGroupIngress", "Condition", "CreateAppRunnerVPCEndpoint",
			"Properties", kv("Description", "Ingress from services in the environment", "GroupId", ref("AppRunnerVpcEndpointSecurityGroup"),
				"IpProtocol", -1, "SourceSecurityGroupId", ref("EnvironmentSecurityGroup"))))
		subnets := seq()
		for i := range p.privCIDRs {
			subnets.Content = append(subnets.Content, ref(fmt.Sprintf("PrivateSubnet%d", i+1)))
		}
		add("AppRunnerVpcEndpoint", kv("Metadata", desc("VPC Endpoint to connect environment to App Runner for private services"), "Type", "AWS::EC2::VPCEndpoint",
			"Condition", "CreateAppRunnerVPCEndpoint",
			"Properties", kv("VpcEndpointType", "Interface", "VpcId", ref("VPC"), "SecurityGroupIds", seq(ref("AppRunnerVpcEndpointSecurityGroup")),
				"ServiceName", sub("com.amazonaws.${AWS::Region}.apprunner.requests"), "SubnetIds", subnets)))
	}
	if fl := m.Network.VPC.FlowLogs; fl.Set {
		days := defaultFlowLogRetention
		if fl.Retention != nil {
			days = *fl.Retention
		}
		add("VpcFlowLogGroup", kv("Type", "AWS::Logs::LogGroup", "Metadata", desc(fmt.Sprintf("A CloudWatch log group with %d days retention for VPC flow log data", days)),
			"Properties", kv("LogGroupName", join("-", seq(ref("AppName"), ref("EnvironmentName"), "FlowLogs")), "RetentionInDays", days)))
		add("FlowLog", kv("Metadata", desc("A flow log for the VPC to capture information about the IP traffic"), "Type", "AWS::EC2::FlowLog",
			"Properties", kv("DeliverLogsPermissionArn", getAtt("FlowLogRole.Arn"), "LogDestinationType", "cloud-watch-logs", "LogGroupName", ref("VpcFlowLogGroup"),
				"MaxAggregationInterval", 60, "ResourceId", vpcRef, "ResourceType", "VPC", "TrafficType", "ALL")))
		add("FlowLogRole", kv("Metadata", desc("An IAM Role for the flow logs service to publish logs"), "Type", "AWS::IAM::Role",
			"Properties", kv(
				"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", "vpc-flow-logs.amazonaws.com"), "Action", "sts:AssumeRole",
					"Condition", kv("StringEquals", kv("aws:SourceAccount", ref("AWS::AccountId")),
						"ArnLike", kv("aws:SourceArn", sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"))))),
				"Policies", seq(kv("PolicyName", "GrantAccesstoEC2toPublishFlowlogs", "PolicyDocument", policyDoc(kv("Effect", "Allow",
					"Action", []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"},
					"Resource", "*")))))))
	}
	if addons != nil {
		// Copilot writes the uploaded template's URL into the template;
		// autopilot passes it as a parameter, as it does for workloads, so
		// deploy sets it after uploading.
		set(params, "AddonsTemplateURL", kv("Description", "URL of the addons nested stack template within the S3 bucket.", "Type", "String"))
		addonParams := kv("App", ref("AppName"), "Env", ref("EnvironmentName"))
		for _, n := range addons.Params {
			addonParams.Content = append(addonParams.Content, deepCopy(n))
		}
		add(addonsStackName, kv("Metadata", desc("A CloudFormation nested stack for your additional AWS resources"), "Type", "AWS::CloudFormation::Stack",
			"Properties", kv("Parameters", addonParams, "TemplateURL", ref("AddonsTemplateURL"))))
	}
	add("LogResourcePolicy", kv("Metadata", desc("A resource policy to allow AWS services to create log streams for your workloads."), "Type", "AWS::Logs::ResourcePolicy",
		"Properties", kv("PolicyName", sub("${AppName}-${EnvironmentName}-LogResourcePolicy"), "PolicyDocument", kv("Fn::Sub", literal(logResourcePolicy)))))

	out := kv()
	export := func(name string, value any, extra ...any) {
		o := kv(extra...)
		set(o, "Value", value)
		set(o, "Export", kv("Name", sub("${AWS::StackName}-"+name)))
		set(out, name, o)
	}
	refs := func(prefix string, n int) *yaml.Node {
		s := seq()
		for i := 0; i < n; i++ {
			s.Content = append(s.Content, ref(fmt.Sprintf("%s%d", prefix, i+1)))
		}
		return join(",", s)
	}
	export("VpcId", vpcRef)
	switch {
	case !p.imported:
		export("PublicSubnets", refs("PublicSubnet", len(p.publicCIDRs)))
		export("PrivateSubnets", refs("PrivateSubnet", len(p.privCIDRs)))
		export("InternetGatewayID", ref("InternetGateway"))
		export("PublicRouteTableID", ref("PublicRouteTable"))
		export("PrivateRouteTableIDs", refs("PrivateRouteTable", len(p.privCIDRs)), "Condition", "CreateNATGateways")
	default:
		if len(p.publicIDs) > 0 {
			export("PublicSubnets", join(",", val(p.publicIDs)))
		}
		if len(p.privateIDs) > 0 {
			export("PrivateSubnets", join(",", val(p.privateIDs)))
		}
	}
	export("ServiceDiscoveryNamespaceID", getAtt("ServiceDiscoveryNamespace.Id"))
	export("EnvironmentSecurityGroup", ref("EnvironmentSecurityGroup"))
	addEnvLBOutputs(out, lb, opts.AppDomain != "")
	if opts.AppDomain != "" && len(lb.publicCerts) == 0 {
		addDomainOutputs(out)
	}
	export("ClusterId", ref("Cluster"))
	export("EnvironmentManagerRoleARN", getAtt("EnvironmentManagerRole.Arn"), "Description", "The role to be assumed by the ecs-cli to manage environments.")
	export("CFNExecutionRoleARN", getAtt("CloudformationExecutionRole.Arn"), "Description", "The role to be assumed by the Cloudformation service when it deploys application infrastructure.")
	set(out, "EnabledFeatures", kv("Value", sub("${ALBWorkloads},${InternalALBWorkloads},${EFSWorkloads},${NATWorkloads},${Aliases},${AppRunnerPrivateWorkloads}"),
		"Description", "Required output to force the stack to update if mutating feature params, like ALBWorkloads, does not change the template."))
	if m.CDNEnabled() {
		set(out, "CloudFrontDomainName", kv("Condition", "CreateALB", "Value", getAtt("CloudFrontDistribution.DomainName"),
			"Description", "The domain name of an associated CloudFront Distribution.", "Export", kv("Name", sub("${AWS::StackName}-CloudFrontDomainName"))))
	}
	addPublicALBAccessible(out, lb)
	set(out, "LastForceDeployID", kv("Value", "", "Description", "Optionally force the template to update when no immediate resource change is present."))
	if withEFS {
		// Copilot's output name differs from its export's.
		set(out, "ManagedFileSystemID", kv("Condition", "CreateEFS", "Value", ref("FileSystem"), "Description", "The ID of the Copilot-managed EFS filesystem.",
			"Export", kv("Name", sub("${AWS::StackName}-FilesystemID"))))
	}
	if !p.imported {
		export("AppRunnerVpcEndpointId", ref("AppRunnerVpcEndpoint"), "Condition", "CreateAppRunnerVPCEndpoint", "Description", "VPC Endpoint to App Runner for private services")
	}

	tpl := kv(
		"Description", "CloudFormation environment template for infrastructure shared among Copilot workloads.",
		"Metadata", kv("Version", copilotTemplateVersion, "Manifest", literal(manifestText), "RenderedBy", "autopilot"),
		"Parameters", params,
		"Conditions", conds,
	)
	if lb.logsBucketCreated {
		set(tpl, "Mappings", regionalConfigs())
	}
	set(tpl, "Resources", res)
	set(tpl, "Outputs", out)
	return tpl
}

// importedCertificates are the public then private listener certificates the
// manifest imports; Copilot lets the environment manager role describe them.
func importedCertificates(m *manifest.Environment) []string {
	return slices.Concat(m.HTTP.Public.Certificates, m.HTTP.Private.Certificates)
}

// truncate mirrors Copilot's 255-character cut of names it writes literally.
func truncate(s string, max int) string {
	if len(s) > max {
		return s[:max]
	}
	return s
}

const logResourcePolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "StateMachineToCloudWatchLogs",
      "Effect": "Allow",
      "Principal": {
        "Service": ["delivery.logs.amazonaws.com"]
      },
      "Action": [
        "logs:CreateLogStream",
        "logs:PutLogEvents"
      ],
      "Resource": [
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/copilot/${AppName}-${EnvironmentName}-*:log-stream:*"
      ],
      "Condition": {
        "StringEquals": {
          "aws:SourceAccount": "${AWS::AccountId}"
        },
        "ArnLike": {
          "aws:SourceArn": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"
        }
      }
    }
  ]
}
`
