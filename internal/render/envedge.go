package render

import (
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// The environment's edge: the access-log bucket, the CloudFront
// distribution and the application's domain (hosted zone, delegation,
// certificate). Copilot renders parts of these with Lambda-backed custom
// resources whose code sits in Copilot's artifact bucket; autopilot renders
// native CloudFormation instead, and a stack Copilot made keeps its live
// custom resources: deploy carries every one of copilotEnvCustomResources
// the deployed stack has into the new template, as deployed (see
// deploy.Stack.CarryLive), so none is deleted or replaced.

// copilotEnvCustomResources are the resources of Copilot's environment
// template that only exist to run Copilot's Lambdas. Where autopilot
// renders a native resource under the same logical ID (HTTPSCert,
// DelegateDNSAction), the deployed custom one wins on a Copilot stack:
// CloudFormation cannot change a resource's type in place.
var copilotEnvCustomResources = []string{
	// the application's domain
	"CustomResourceRole", "CertificateValidationFunction", "DNSDelegationFunction", "CustomDomainFunction",
	"DelegateDNSAction", "HTTPSCert", "CustomDomainAction",
	// the access-log bucket's cleaner
	"ELBAccessLogsBucketCleanerAction", "BucketCleanerFunction", "ELBAccessLogsBucketCleanerRole",
	// CloudFront aliases and the certificate copy in us-east-1
	"UniqueJSONValuesFunctionRole", "UniqueJSONValuesFunction", "UniqueAliasesAction",
	"CertificateReplicatorFunction", "CertificateReplicator",
}

// elbAccountIDs are the accounts Elastic Load Balancing writes access logs
// from, per region (AWS's published list, as Copilot's RegionalConfigs).
var elbAccountIDs = [][2]string{
	{"us-east-1", "127311923021"}, {"us-east-2", "033677994240"}, {"us-west-1", "027434742980"}, {"us-west-2", "797873946194"},
	{"af-south-1", "098369216593"}, {"ca-central-1", "985666609251"}, {"eu-central-1", "054676820928"}, {"eu-west-1", "156460612806"},
	{"eu-west-2", "652711504416"}, {"eu-south-1", "635631232127"}, {"eu-west-3", "009996457667"}, {"eu-north-1", "897822967062"},
	{"ap-east-1", "754344448648"}, {"ap-northeast-1", "582318560864"}, {"ap-northeast-2", "600734575887"}, {"ap-northeast-3", "383597477331"},
	{"ap-southeast-1", "114774131450"}, {"ap-southeast-2", "783225319266"}, {"ap-southeast-3", "589379963580"}, {"ap-south-1", "718504428378"},
	{"me-south-1", "076674570225"}, {"sa-east-1", "507241528517"}, {"us-gov-west-1", "048591011584"}, {"us-gov-east-1", "190560391635"},
	{"cn-north-1", "638102146993"}, {"cn-northwest-1", "037604701340"},
}

// regionalConfigs is Copilot's RegionalConfigs mapping: the ELB account of
// each region, which the access-log bucket policy lets write.
func regionalConfigs() *yaml.Node {
	m := kv()
	for _, r := range elbAccountIDs {
		set(m, r[0], kv("ElbAccountId", str(r[1])))
	}
	return kv("RegionalConfigs", m)
}

// addAccessLogsBucket adds the bucket `access_logs: true` (or a map
// without bucket_name) logs to, and its policy, with Copilot's IDs and
// properties. Copilot empties the bucket on deletion with a Lambda; the
// native bucket is retained instead (access logs are records a deleted
// environment should not take with it).
func addAccessLogsBucket(add func(string, *yaml.Node), prefix string) {
	arn := seq("arn:", ref("AWS::Partition"), ":s3:::", ref("ELBAccessLogsBucket"))
	if prefix != "" {
		arn.Content = append(arn.Content, str("/"), str(prefix))
	}
	arn.Content = append(arn.Content, str("/AWSLogs/"), ref("AWS::AccountId"), str("/*"))
	elbRoot := join("", seq(sub("arn:${AWS::Partition}:iam::"), fn("!FindInMap", "RegionalConfigs", ref("AWS::Region"), "ElbAccountId"), ":root"))
	add("ELBAccessLogsBucketPolicy", kv("Type", "AWS::S3::BucketPolicy", "Condition", "CreateALB", "DependsOn", "ELBAccessLogsBucket",
		"Properties", kv("Bucket", ref("ELBAccessLogsBucket"), "PolicyDocument", policyDoc(kv("Action", []string{"s3:PutObject"}, "Effect", "Allow",
			"Resource", seq(join("", arn)), "Principal", kv("AWS", elbRoot))))))
	add("ELBAccessLogsBucket", kv("Metadata", kv("aws:copilot:description", "A S3 bucket for the Load Balancer's access logs"),
		"Type", "AWS::S3::Bucket", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain",
		"Properties", kv("VersioningConfiguration", kv("Status", "Enabled"),
			"BucketEncryption", kv("ServerSideEncryptionConfiguration", seq(kv("ServerSideEncryptionByDefault", kv("SSEAlgorithm", "AES256")))),
			"PublicAccessBlockConfiguration", kv("BlockPublicAcls", true, "BlockPublicPolicy", true, "IgnorePublicAcls", true, "RestrictPublicBuckets", true))))
}

// CloudFront's managed policies Copilot's distribution uses.
const (
	cachingDisabledPolicy  = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" // CachingDisabled
	cachingOptimizedPolicy = "658327ea-f89d-4fab-a63d-7e88639e58f6" // CachingOptimized
	allViewerRequestPolicy = "216adef6-5c7f-47e4-b989-5492eafa07d3" // AllViewer
)

// cloudFrontAliases are the distribution's aliases with cdn.certificate:
// the aliases of the environment's Load Balanced Web Services (albWorkloads)
// and static_assets.alias, each once. Copilot's UniqueAliasesAction Lambda
// lists the same from the environment's Aliases parameter, which also
// holds services other workspaces deploy; here only this workspace's count.
func cloudFrontAliases(workloads map[string]*manifest.Workload, albWorkloads []string, static string) []string {
	var out []string
	seen := map[string]bool{}
	addName := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, name := range albWorkloads {
		w := workloads[name]
		if w == nil || w.ECS == nil {
			continue
		}
		for _, a := range w.ECS.HTTP.Alias.Names {
			addName(a.Name)
		}
		for _, r := range w.ECS.HTTP.AdditionalRules {
			for _, a := range r.Alias.Names {
				addName(a.Name)
			}
		}
	}
	addName(static)
	return out
}

// addCDN adds the CloudFront distribution in front of the public load
// balancer (`cdn: true` or its map), with static_assets' S3 origin and its
// origin access control, and with cdn.certificate its aliases and viewer
// certificate. The domain's certificate (Copilot's CertificateReplicator)
// is refused before this is reached.
func addCDN(add func(string, *yaml.Node), cdn manifest.CDN, aliases []string) {
	terminate := cdn.TerminateTLS != nil && *cdn.TerminateTLS
	static := cdn.StaticAssets.Set
	if static {
		add("CloudFrontOriginAccessControl", kv("Metadata", kv("aws:copilot:description", "Access control to make the content in the S3 bucket only accessible through CloudFront"),
			"Type", "AWS::CloudFront::OriginAccessControl",
			"Properties", kv("OriginAccessControlConfig", kv("Description", "Access control for static s3 origin",
				"Name", sub("copilot-${AppName}-${EnvironmentName}-origin-access-control"),
				"OriginAccessControlOriginType", "s3", "SigningBehavior", "always", "SigningProtocol", "sigv4"))))
	}
	allMethods := seq("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")
	allMethods.Style = yaml.FlowStyle
	viewer, origin := "allow-all", "match-viewer"
	if terminate {
		viewer, origin = "redirect-to-https", "http-only"
	}
	origins := seq(kv("Id", sub("copilot-${AppName}-${EnvironmentName}-origin"), "DomainName", getAtt("PublicLoadBalancer.DNSName"),
		"CustomOriginConfig", kv("OriginProtocolPolicy", origin)))
	config := kv()
	if cdn.Certificate != nil && len(aliases) > 0 {
		set(config, "Aliases", aliases)
	}
	set(config, "DefaultCacheBehavior", kv("AllowedMethods", allMethods, "CachePolicyId", cachingDisabledPolicy,
		"TargetOriginId", sub("copilot-${AppName}-${EnvironmentName}-origin"), "OriginRequestPolicyId", allViewerRequestPolicy,
		"ViewerProtocolPolicy", viewer))
	set(config, "Enabled", true)
	set(config, "IPV6Enabled", true)
	set(config, "Origins", origins)
	if static {
		// An empty OriginAccessIdentity is how CloudFormation takes an S3
		// origin that uses origin access control instead.
		origins.Content = append(origins.Content, kv("Id", sub("copilot-${AppName}-${EnvironmentName}-s3"), "DomainName", cdn.StaticAssets.Location,
			"OriginAccessControlId", ref("CloudFrontOriginAccessControl"), "S3OriginConfig", kv("OriginAccessIdentity", "")))
		set(config, "CacheBehaviors", seq(kv("AllowedMethods", deepCopy(allMethods), "ViewerProtocolPolicy", "allow-all",
			"CachePolicyId", cachingOptimizedPolicy, "TargetOriginId", sub("copilot-${AppName}-${EnvironmentName}-s3"), "PathPattern", cdn.StaticAssets.Path)))
	}
	if cdn.Certificate != nil {
		set(config, "ViewerCertificate", kv("AcmCertificateArn", *cdn.Certificate, "MinimumProtocolVersion", "TLSv1", "SslSupportMethod", "sni-only"))
	}
	add("CloudFrontDistribution", kv("Metadata", kv("aws:copilot:description", "A CloudFront distribution for global content delivery"),
		"Condition", "CreateALB", "Type", "AWS::CloudFront::Distribution", "Properties", kv("DistributionConfig", config)))
}

// addDomain adds the application's domain resources under DelegateDNS,
// natively: the environment's hosted zone (as Copilot's), the NS record
// that delegates it from the application's zone <app>.<domain> (Copilot's
// DelegateDNSAction Lambda writes the same record, assuming the
// application account's AppDNSDelegationRole; a native record needs that
// zone in this account), and the environment's certificate for
// <env>.<app>.<domain> and *.<env>.<app>.<domain>, validated through the
// environment's zone (Copilot's HTTPSCert Lambda requests the same).
func addDomain(add func(string, *yaml.Node)) {
	envDomain := "${EnvironmentName}.${AppName}.${AppDNSName}"
	add("EnvironmentHostedZone", kv("Metadata", kv("aws:copilot:description", "A Route 53 Hosted Zone for the environment's subdomain"),
		"Type", "AWS::Route53::HostedZone", "Condition", "DelegateDNS",
		"Properties", kv("HostedZoneConfig", kv("Comment", sub("HostedZone for environment ${EnvironmentName} - "+envDomain)), "Name", sub(envDomain))))
	// Same logical ID as Copilot's custom resource, so a stack Copilot made
	// keeps its own (deploy carries it) and no second record is written.
	add("DelegateDNSAction", kv("Metadata", kv("aws:copilot:description", "Delegate DNS for environment subdomain"),
		"Type", "AWS::Route53::RecordSet", "Condition", "DelegateDNS",
		"Properties", kv("HostedZoneName", sub("${AppName}.${AppDNSName}."), "Name", sub(envDomain), "Type", "NS", "TTL", "900",
			"ResourceRecords", getAtt("EnvironmentHostedZone.NameServers"))))
	add("HTTPSCert", kv("Metadata", kv("aws:copilot:description", "Request and validate an ACM certificate for your domain"),
		"Type", "AWS::CertificateManager::Certificate", "Condition", "DelegateDNS", "DependsOn", "DelegateDNSAction",
		"Properties", kv("DomainName", sub(envDomain), "SubjectAlternativeNames", seq(sub("*."+envDomain)),
			"DomainValidationOptions", seq(
				kv("DomainName", sub(envDomain), "HostedZoneId", ref("EnvironmentHostedZone")),
				kv("DomainName", sub("*."+envDomain), "HostedZoneId", ref("EnvironmentHostedZone"))),
			"ValidationMethod", "DNS")))
}

// addDomainOutputs adds Copilot's exports of the environment's zone and
// subdomain (`<app>-<env>-HostedZone`, `<app>-<env>-SubDomain`), which
// service stacks import for their alias records.
func addDomainOutputs(out *yaml.Node) {
	set(out, "EnvironmentHostedZone", kv("Condition", "DelegateDNS", "Value", ref("EnvironmentHostedZone"),
		"Description", "The HostedZone for this environment's private DNS.", "Export", kv("Name", sub("${AWS::StackName}-HostedZone"))))
	set(out, "EnvironmentSubdomain", kv("Condition", "DelegateDNS", "Value", sub("${EnvironmentName}.${AppName}.${AppDNSName}"),
		"Description", "The domain name of this environment.", "Export", kv("Name", sub("${AWS::StackName}-SubDomain"))))
}
