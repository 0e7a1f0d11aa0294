package render

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// These tests hold the facts of Copilot's own manifest -> template pairs
// (aws/copilot-cli v1.33.2, internal/pkg/deploy/cloudformation/stack/testdata):
// for each manifest, restated here in our own words, the logical IDs, types
// and conditions of the resources, the parameters, conditions and outputs of
// the template Copilot renders. Copilot's files are not copied.

// loadWorkspace writes files under a temporary workspace root and loads it.
func loadWorkspace(t *testing.T, app string, files map[string]string) *workspace.Workspace {
	t.Helper()
	root := t.TempDir()
	files["copilot/.workspace"] = "application: " + app + "\n"
	recordWorkspace(t, files)
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.Load(root)
	if err != nil {
		t.Fatalf("load workspace: %v", err)
	}
	return ws
}

// facts lists a template's resources as "ID:Type" or "ID:Type@Condition".
func resourceFacts(t *testing.T, root *yaml.Node) []string {
	t.Helper()
	var out []string
	res := get(root, "Resources")
	for i := 0; i+1 < len(res.Content); i += 2 {
		r := res.Content[i+1]
		f := res.Content[i].Value + ":" + scalarValue(get(r, "Type"))
		if c := scalarValue(get(r, "Condition")); c != "" {
			f += "@" + c
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

func sectionKeys(root *yaml.Node, section string) []string {
	var out []string
	if s := get(root, section); s != nil {
		for i := 0; i+1 < len(s.Content); i += 2 {
			out = append(out, s.Content[i].Value)
		}
	}
	slices.Sort(out)
	return out
}

// Copilot's environment template for a default manifest (template-with-basic-manifest.yml).
var copilotEnvBasicResources = []string{
	"AppRunnerVpcEndpoint:AWS::EC2::VPCEndpoint@CreateAppRunnerVPCEndpoint",
	"AppRunnerVpcEndpointSecurityGroup:AWS::EC2::SecurityGroup@CreateAppRunnerVPCEndpoint",
	"AppRunnerVpcEndpointSecurityGroupIngressFromEnvironment:AWS::EC2::SecurityGroupIngress@CreateAppRunnerVPCEndpoint",
	"CertificateValidationFunction:AWS::Lambda::Function@DelegateDNS",
	"CloudformationExecutionRole:AWS::IAM::Role",
	"Cluster:AWS::ECS::Cluster",
	"CustomDomainAction:Custom::CustomDomainFunction@ManagedAliases",
	"CustomDomainFunction:AWS::Lambda::Function@ManagedAliases",
	"CustomResourceRole:AWS::IAM::Role@DelegateDNS",
	"DNSDelegationFunction:AWS::Lambda::Function@DelegateDNS",
	"DefaultHTTPTargetGroup:AWS::ElasticLoadBalancingV2::TargetGroup@CreateALB",
	"DefaultInternalHTTPTargetGroup:AWS::ElasticLoadBalancingV2::TargetGroup@CreateInternalALB",
	"DefaultPublicRoute:AWS::EC2::Route",
	"DelegateDNSAction:Custom::DNSDelegationFunction@DelegateDNS",
	"EFSSecurityGroup:AWS::EC2::SecurityGroup@CreateEFS",
	"EFSSecurityGroupIngressFromEnvironment:AWS::EC2::SecurityGroupIngress@CreateEFS",
	"EnvironmentHTTPSSecurityGroupIngressFromPublicALB:AWS::EC2::SecurityGroupIngress@ExportHTTPSListener",
	"EnvironmentHTTPSecurityGroupIngressFromPublicALB:AWS::EC2::SecurityGroupIngress@CreateALB",
	"EnvironmentHostedZone:AWS::Route53::HostedZone@DelegateDNS",
	"EnvironmentManagerRole:AWS::IAM::Role",
	"EnvironmentSecurityGroup:AWS::EC2::SecurityGroup",
	"EnvironmentSecurityGroupIngressFromInternalALB:AWS::EC2::SecurityGroupIngress@CreateInternalALB",
	"EnvironmentSecurityGroupIngressFromSelf:AWS::EC2::SecurityGroupIngress",
	"FileSystem:AWS::EFS::FileSystem@CreateEFS",
	"HTTPListener:AWS::ElasticLoadBalancingV2::Listener@CreateALB",
	"HTTPSCert:Custom::CertificateValidationFunction@DelegateDNS",
	"HTTPSListener:AWS::ElasticLoadBalancingV2::Listener@ExportHTTPSListener",
	"InternalALBIngressFromEnvironmentSecurityGroup:AWS::EC2::SecurityGroupIngress@CreateInternalALB",
	"InternalHTTPListener:AWS::ElasticLoadBalancingV2::Listener@CreateInternalALB",
	"InternalHTTPSListener:AWS::ElasticLoadBalancingV2::Listener@ExportInternalHTTPSListener",
	"InternalLoadBalancer:AWS::ElasticLoadBalancingV2::LoadBalancer@CreateInternalALB",
	"InternalLoadBalancerSecurityGroup:AWS::EC2::SecurityGroup@CreateInternalALB",
	"InternalWorkloadsHostedZone:AWS::Route53::HostedZone@CreateInternalALB",
	"InternetGateway:AWS::EC2::InternetGateway",
	"InternetGatewayAttachment:AWS::EC2::VPCGatewayAttachment",
	"LogResourcePolicy:AWS::Logs::ResourcePolicy",
	"MountTarget1:AWS::EFS::MountTarget@CreateEFS",
	"MountTarget2:AWS::EFS::MountTarget@CreateEFS",
	"NatGateway1:AWS::EC2::NatGateway@CreateNATGateways",
	"NatGateway1Attachment:AWS::EC2::EIP@CreateNATGateways",
	"NatGateway2:AWS::EC2::NatGateway@CreateNATGateways",
	"NatGateway2Attachment:AWS::EC2::EIP@CreateNATGateways",
	"PrivateRoute1:AWS::EC2::Route@CreateNATGateways",
	"PrivateRoute2:AWS::EC2::Route@CreateNATGateways",
	"PrivateRouteTable1:AWS::EC2::RouteTable@CreateNATGateways",
	"PrivateRouteTable1Association:AWS::EC2::SubnetRouteTableAssociation@CreateNATGateways",
	"PrivateRouteTable2:AWS::EC2::RouteTable@CreateNATGateways",
	"PrivateRouteTable2Association:AWS::EC2::SubnetRouteTableAssociation@CreateNATGateways",
	"PrivateSubnet1:AWS::EC2::Subnet",
	"PrivateSubnet2:AWS::EC2::Subnet",
	"PublicHTTPLoadBalancerSecurityGroup:AWS::EC2::SecurityGroup@CreateALB",
	"PublicHTTPSLoadBalancerSecurityGroup:AWS::EC2::SecurityGroup@ExportHTTPSListener",
	"PublicLoadBalancer:AWS::ElasticLoadBalancingV2::LoadBalancer@CreateALB",
	"PublicRouteTable:AWS::EC2::RouteTable",
	"PublicSubnet1:AWS::EC2::Subnet",
	"PublicSubnet1RouteTableAssociation:AWS::EC2::SubnetRouteTableAssociation",
	"PublicSubnet2:AWS::EC2::Subnet",
	"PublicSubnet2RouteTableAssociation:AWS::EC2::SubnetRouteTableAssociation",
	"ServiceDiscoveryNamespace:AWS::ServiceDiscovery::PrivateDnsNamespace",
	"VPC:AWS::EC2::VPC",
}

var copilotEnvBasicOutputs = []string{
	"AppRunnerVpcEndpointId", "CFNExecutionRoleARN", "ClusterId", "DefaultHTTPTargetGroupArn", "EnabledFeatures",
	"EnvironmentHostedZone", "EnvironmentManagerRoleARN", "EnvironmentSecurityGroup", "EnvironmentSubdomain",
	"HTTPListenerArn", "HTTPSListenerArn", "InternalHTTPListenerArn", "InternalHTTPSListenerArn",
	"InternalLoadBalancerDNSName", "InternalLoadBalancerFullName", "InternalLoadBalancerHostedZone",
	"InternalLoadBalancerSecurityGroup", "InternalWorkloadsHostedZone", "InternalWorkloadsHostedZoneName",
	"InternetGatewayID", "LastForceDeployID", "ManagedFileSystemID", "PrivateRouteTableIDs", "PrivateSubnets",
	"PublicALBAccessible", "PublicLoadBalancerDNSName", "PublicLoadBalancerFullName", "PublicLoadBalancerHostedZone",
	"PublicRouteTableID", "PublicSubnets", "ServiceDiscoveryNamespaceID", "VpcId",
}

var copilotEnvParameters = []string{"ALBWorkloads", "Aliases", "AppDNSDelegationRole", "AppDNSName", "AppName",
	"AppRunnerPrivateWorkloads", "CreateHTTPSListener", "CreateInternalHTTPSListener", "EFSWorkloads", "EnvironmentName",
	"InternalALBWorkloads", "NATWorkloads", "ServiceDiscoveryEndpoint", "ToolsAccountPrincipalARN"}

var copilotEnvConditions = []string{"CreateALB", "CreateAppRunnerVPCEndpoint", "CreateEFS", "CreateInternalALB",
	"CreateNATGateways", "DelegateDNS", "ExportHTTPSListener", "ExportInternalHTTPSListener", "ManagedAliases"}

// Resources and outputs under these conditions exist only with load
// balancers, EFS or a domain, which autopilot does not render yet; every
// other part of Copilot's template must match.
var deferredConditions = []string{"CreateEFS", "DelegateDNS", "ManagedAliases"}

var deferredOutputs = []string{"EnvironmentHostedZone", "EnvironmentSubdomain", "ManagedFileSystemID"}

// Without imported certificates Copilot's HTTPS listener takes its
// certificate from the DNS-delegation resources (HTTPSCert), so it and its
// output are left out with them.
var (
	dnsListener       = []string{"HTTPSListener"}
	dnsListenerOutput = []string{"HTTPSListenerArn"}
)

func without(list []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool {
		for _, d := range drop {
			if s == d || strings.HasPrefix(s, d+":") {
				return true
			}
		}
		return false
	})
}

func with(list []string, add ...string) []string {
	return slices.Sorted(slices.Values(append(slices.Clone(list), add...)))
}

var (
	dnsResources = []string{"CertificateValidationFunction", "CustomDomainAction", "CustomDomainFunction", "CustomResourceRole",
		"DNSDelegationFunction", "DelegateDNSAction", "EnvironmentHostedZone", "HTTPSCert"}
	flowLogResources    = []string{"FlowLog:AWS::EC2::FlowLog", "FlowLogRole:AWS::IAM::Role", "VpcFlowLogGroup:AWS::Logs::LogGroup"}
	managedVPCResources = []string{"AppRunnerVpcEndpoint", "AppRunnerVpcEndpointSecurityGroup", "AppRunnerVpcEndpointSecurityGroupIngressFromEnvironment",
		"DefaultPublicRoute", "InternetGateway", "InternetGatewayAttachment", "NatGateway1", "NatGateway1Attachment", "NatGateway2",
		"NatGateway2Attachment", "PrivateRoute1", "PrivateRoute2", "PrivateRouteTable1", "PrivateRouteTable1Association", "PrivateRouteTable2",
		"PrivateRouteTable2Association", "PrivateSubnet1", "PrivateSubnet2", "PublicRouteTable", "PublicSubnet1",
		"PublicSubnet1RouteTableAssociation", "PublicSubnet2", "PublicSubnet2RouteTableAssociation", "VPC"}
)

func TestEnvironmentMatchesCopilotTestdata(t *testing.T) {
	importCert := "HTTPSImportCertificate2:AWS::ElasticLoadBalancingV2::ListenerCertificate@ExportHTTPSListener"
	certOutputs := without(copilotEnvBasicOutputs, "EnvironmentHostedZone", "EnvironmentSubdomain")
	accessLogResources := []string{"ELBAccessLogsBucket:AWS::S3::Bucket", "ELBAccessLogsBucketPolicy:AWS::S3::BucketPolicy@CreateALB"}
	tests := []struct {
		name, copilotFile, manifest string
		resources, outputs          []string
		deferred                    []string // more resources and outputs left out with DNS delegation
		options                     func(*Options)
		domain                      bool // DelegateDNS resources are rendered
		check                       func(t *testing.T, root *yaml.Node)
	}{
		{
			name: "default manifest", copilotFile: "template-with-basic-manifest.yml",
			manifest:  "name: test\ntype: Environment\n",
			resources: copilotEnvBasicResources, outputs: copilotEnvBasicOutputs, deferred: append(dnsListener, dnsListenerOutput...),
			check: func(t *testing.T, root *yaml.Node) {
				for id, cidr := range map[string]string{"VPC": "10.0.0.0/16", "PublicSubnet1": "10.0.0.0/24", "PublicSubnet2": "10.0.1.0/24", "PrivateSubnet1": "10.0.2.0/24", "PrivateSubnet2": "10.0.3.0/24"} {
					if got := flowString(t, nodeAt(root, "Resources", id, "Properties", "CidrBlock")); got != cidr {
						t.Errorf("%s CIDR = %s, want %s", id, got, cidr)
					}
				}
				if got := flowString(t, nodeAt(root, "Resources", "Cluster", "Properties", "ClusterSettings")); got != "[{Name: containerInsights, Value: disabled}]" {
					t.Errorf("cluster settings = %s", got)
				}
				// AvailabilityZone is create-only: its form must be Copilot's exactly.
				if got := flowString(t, nodeAt(root, "Resources", "PrivateSubnet2", "Properties", "AvailabilityZone")); got != "!Select [1, !GetAZs '']" {
					t.Errorf("PrivateSubnet2 AZ = %s, want !Select [1, !GetAZs '']", got)
				}
			},
		},
		{
			name: "imported certificates, container insights, custom security group rules", copilotFile: "template-with-custom-security-group.yml",
			manifest: `name: test
type: Environment
http:
  public:
    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111, arn:aws:acm:us-east-1:123456789012:certificate/22222222-2222-2222-2222-222222222222]
observability:
  container_insights: true
network:
  vpc:
    security_group:
      ingress:
        - {ip_protocol: tcp, ports: 10, cidr: 0.0.0.0}
        - {ip_protocol: tcp, ports: 1-10, cidr: 0.0.0.0}
      egress:
        - {ip_protocol: tcp, ports: 0-65535, cidr: 0.0.0.0}
`,
			resources: with(without(copilotEnvBasicResources, dnsResources...), importCert), outputs: certOutputs,
			check: func(t *testing.T, root *yaml.Node) {
				sg := nodeAt(root, "Resources", "EnvironmentSecurityGroup", "Properties")
				if got, want := flowString(t, get(sg, "SecurityGroupIngress")), "[{IpProtocol: tcp, FromPort: 10, ToPort: 10, CidrIp: 0.0.0.0}, {IpProtocol: tcp, FromPort: 1, ToPort: 10, CidrIp: 0.0.0.0}]"; got != want {
					t.Errorf("ingress = %s, want %s", got, want)
				}
				if got, want := flowString(t, get(sg, "SecurityGroupEgress")), "[{IpProtocol: tcp, FromPort: 0, ToPort: 65535, CidrIp: 0.0.0.0}]"; got != want {
					t.Errorf("egress = %s, want %s", got, want)
				}
				if got := flowString(t, nodeAt(root, "Resources", "Cluster", "Properties", "ClusterSettings")); got != "[{Name: containerInsights, Value: enabled}]" {
					t.Errorf("cluster settings = %s", got)
				}
				if got, want := flowString(t, nodeAt(root, "Resources", "EnvironmentManagerRole", "Properties", "Policies", "0", "PolicyDocument", "Statement", "0")),
					"{Sid: ImportedCertificates, Effect: Allow, Action: ['acm:DescribeCertificate'], Resource: ['arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111', 'arn:aws:acm:us-east-1:123456789012:certificate/22222222-2222-2222-2222-222222222222']}"; got != want {
					t.Errorf("first manager statement = %s, want %s", got, want)
				}
			},
		},
		{
			name: "imported certificates with an empty top-level security_group", copilotFile: "template-with-imported-certs-sslpolicy-custom-empty-security-group.yml",
			manifest: `name: test
type: Environment
http:
  public:
    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111, arn:aws:acm:us-east-1:123456789012:certificate/22222222-2222-2222-2222-222222222222]
    ssl_policy: ELBSecurityPolicy-FS-1-1-2019-08
observability:
  container_insights: true
security_group:
  ingress:
  egress:
`,
			resources: with(without(copilotEnvBasicResources, dnsResources...), importCert), outputs: certOutputs,
			check: func(t *testing.T, root *yaml.Node) {
				if n := nodeAt(root, "Resources", "EnvironmentSecurityGroup", "Properties", "SecurityGroupIngress"); n != nil {
					t.Errorf("a security_group key outside network.vpc must be ignored, as Copilot ignores it; got ingress %s", flowString(t, n))
				}
			},
		},
		{
			name: "managed VPC with flow logs kept 60 days", copilotFile: "template-with-defaultvpc-flowlogs.yml",
			manifest:  "name: test\ntype: Environment\nnetwork:\n  vpc:\n    flow_logs:\n      retention: 60\n",
			resources: with(copilotEnvBasicResources, flowLogResources...), outputs: copilotEnvBasicOutputs, deferred: append(dnsListener, dnsListenerOutput...),
			check: func(t *testing.T, root *yaml.Node) {
				if got := flowString(t, nodeAt(root, "Resources", "VpcFlowLogGroup", "Properties", "RetentionInDays")); got != "60" {
					t.Errorf("retention = %s, want 60", got)
				}
				if got := flowString(t, nodeAt(root, "Resources", "FlowLog", "Properties", "ResourceId")); got != "!Ref VPC" {
					t.Errorf("flow log resource = %s, want the managed VPC", got)
				}
			},
		},
		{
			name: "imported VPC with flow logs on", copilotFile: "template-with-importedvpc-flowlogs.yml",
			manifest: `name: test
type: Environment
network:
  vpc:
    id: vpc-12345
    subnets:
      public: [{id: subnet-11111}, {id: subnet-22222}]
      private: [{id: subnet-33333}, {id: subnet-44444}]
    flow_logs: on
`,
			resources: with(without(copilotEnvBasicResources, managedVPCResources...), flowLogResources...),
			outputs:   without(copilotEnvBasicOutputs, "AppRunnerVpcEndpointId", "InternetGatewayID", "PrivateRouteTableIDs", "PublicRouteTableID"),
			deferred:  append(dnsListener, dnsListenerOutput...),
			check: func(t *testing.T, root *yaml.Node) {
				checks := map[string][]string{
					"vpc-12345": {"Resources", "EnvironmentSecurityGroup", "Properties", "VpcId"},
					"!Join [',', [subnet-33333, subnet-44444]]": {"Outputs", "PrivateSubnets", "Value"},
					"14": {"Resources", "VpcFlowLogGroup", "Properties", "RetentionInDays"},
				}
				for want, path := range checks {
					if got := flowString(t, nodeAt(root, path...)); got != want {
						t.Errorf("%s = %s, want %s", strings.Join(path, "."), got, want)
					}
				}
			},
		},
		{
			// Copilot's bucket cleaner (ELBAccessLogsBucketCleanerAction,
			// BucketCleanerFunction, ELBAccessLogsBucketCleanerRole) is a
			// Lambda; the bucket is retained instead, and a Copilot stack
			// keeps the cleaner (deploy's CarryLive).
			name: "access logs without a bucket", copilotFile: "template-with-default-access-log-config.yml",
			manifest:  "name: test\ntype: Environment\nhttp:\n  public:\n    access_logs: true\n",
			resources: with(copilotEnvBasicResources, accessLogResources...), outputs: copilotEnvBasicOutputs, deferred: append(dnsListener, dnsListenerOutput...),
			check: func(t *testing.T, root *yaml.Node) {
				lb := nodeAt(root, "Resources", "PublicLoadBalancer")
				if got := flowString(t, get(lb, "DependsOn")); got != "ELBAccessLogsBucketPolicy" {
					t.Errorf("PublicLoadBalancer DependsOn = %s, want ELBAccessLogsBucketPolicy", got)
				}
				if got, want := flowString(t, nodeAt(lb, "Properties", "LoadBalancerAttributes")), "[{Key: access_logs.s3.enabled, Value: true}, {Key: access_logs.s3.bucket, Value: !Ref ELBAccessLogsBucket}]"; got != want {
					t.Errorf("attributes = %s, want %s", got, want)
				}
				if got := flowString(t, nodeAt(root, "Mappings", "RegionalConfigs", "us-east-1", "ElbAccountId")); got != `"127311923021"` {
					t.Errorf("us-east-1 ELB account = %s", got)
				}
				if got := flowString(t, nodeAt(root, "Resources", "ELBAccessLogsBucket", "DeletionPolicy")); got != "Retain" {
					t.Errorf("the log bucket must be retained, got DeletionPolicy %s", got)
				}
				policy := flowString(t, nodeAt(root, "Resources", "ELBAccessLogsBucketPolicy", "Properties", "PolicyDocument"))
				for _, want := range []string{"s3:PutObject", "!FindInMap [RegionalConfigs, !Ref 'AWS::Region', ElbAccountId]", "/AWSLogs/"} {
					if !strings.Contains(policy, want) {
						t.Errorf("bucket policy %s lacks %s", policy, want)
					}
				}
			},
		},
		{
			// Copilot's file without its certificates (the next case has
			// them): no aliases, no viewer certificate.
			name: "CDN with static assets, ingress from CloudFront and source IPs", copilotFile: "template-with-cloudfront-observability.yml",
			manifest: `name: test
type: Environment
cdn:
  static_assets:
    location: cf-s3-ecs-demo-bucket.s3.us-west-2.amazonaws.com
    alias: example.com
    path: static/*
http:
  public:
    ingress:
      cdn: true
      source_ips: [1.1.1.1/32]
`,
			options: func(o *Options) { o.CloudFrontPrefixList = "pl-mockid" },
			resources: with(copilotEnvBasicResources, "CloudFrontDistribution:AWS::CloudFront::Distribution@CreateALB",
				"CloudFrontOriginAccessControl:AWS::CloudFront::OriginAccessControl"),
			outputs: with(copilotEnvBasicOutputs, "CloudFrontDomainName"), deferred: append(dnsListener, dnsListenerOutput...),
			check: func(t *testing.T, root *yaml.Node) {
				checks := map[string][]string{
					"[{SourcePrefixListId: pl-mockid, Description: Allow ingress from prefix list pl-mockid on port 80, FromPort: 80, IpProtocol: tcp, ToPort: 80}, {CidrIp: 1.1.1.1/32, Description: Allow ingress from source IP 1.1.1.1/32 on port 80, FromPort: 80, IpProtocol: tcp, ToPort: 80}]": {"Resources", "PublicHTTPLoadBalancerSecurityGroup", "Properties", "SecurityGroupIngress"},
					"false":                              {"Outputs", "PublicALBAccessible", "Value"},
					"allow-all":                          {"Resources", "CloudFrontDistribution", "Properties", "DistributionConfig", "DefaultCacheBehavior", "ViewerProtocolPolicy"},
					"static/*":                           {"Resources", "CloudFrontDistribution", "Properties", "DistributionConfig", "CacheBehaviors", "0", "PathPattern"},
					"!GetAtt PublicLoadBalancer.DNSName": {"Resources", "CloudFrontDistribution", "Properties", "DistributionConfig", "Origins", "0", "DomainName"},
					"cf-s3-ecs-demo-bucket.s3.us-west-2.amazonaws.com": {"Resources", "CloudFrontDistribution", "Properties", "DistributionConfig", "Origins", "1", "DomainName"},
					"!Ref CloudFrontOriginAccessControl":               {"Resources", "CloudFrontDistribution", "Properties", "DistributionConfig", "Origins", "1", "OriginAccessControlId"},
					"!Sub ${AWS::StackName}-CloudFrontDomainName":      {"Outputs", "CloudFrontDomainName", "Export", "Name"},
				}
				for want, path := range checks {
					if got := flowString(t, nodeAt(root, path...)); got != want {
						t.Errorf("%s = %s, want %s", strings.Join(path, "."), got, want)
					}
				}
			},
		},
		{
			// Copilot's aliases come from its UniqueAliasesAction Lambda
			// (with UniqueJSONValuesFunction and its role); autopilot lists
			// them from the workspace: here static_assets.alias only.
			name: "CDN with an imported certificate, static assets, public certificates, access logs, VPC ingress", copilotFile: "template-with-cloudfront-observability.yml",
			manifest: `name: test
type: Environment
cdn:
  certificate: arn:aws:acm:us-east-1:123456789012:certificate/viewer
  static_assets:
    location: cf-s3-ecs-demo-bucket.s3.us-west-2.amazonaws.com
    alias: example.com
    path: static/*
http:
  public:
    ingress:
      cdn: true
      source_ips: [1.1.1.1/32, 2.2.2.2/32]
    access_logs:
      bucket_name: accesslogsbucket
      prefix: accesslogsbucketprefix
    certificates:
      - arn:aws:acm:us-east-1:123456789012:certificate/1
      - arn:aws:acm:us-east-1:123456789012:certificate/2
  private:
    security_groups:
      ingress:
        from_vpc: true
observability:
  container_insights: true
`,
			options: func(o *Options) { o.CloudFrontPrefixList = "pl-mockid" },
			resources: with(without(copilotEnvBasicResources, dnsResources...), importCert,
				"CloudFrontDistribution:AWS::CloudFront::Distribution@CreateALB", "CloudFrontOriginAccessControl:AWS::CloudFront::OriginAccessControl",
				"InternalLoadBalancerSecurityGroupIngressFromHttp:AWS::EC2::SecurityGroupIngress@CreateInternalALB",
				"InternalLoadBalancerSecurityGroupIngressFromHttps:AWS::EC2::SecurityGroupIngress@ExportInternalHTTPSListener"),
			outputs: with(certOutputs, "CloudFrontDomainName"),
			check: func(t *testing.T, root *yaml.Node) {
				config := nodeAt(root, "Resources", "CloudFrontDistribution", "Properties", "DistributionConfig")
				checks := map[string][]string{
					"[example.com]": {"Aliases"},
					"{AcmCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/viewer', MinimumProtocolVersion: TLSv1, SslSupportMethod: sni-only}": {"ViewerCertificate"},
					"match-viewer": {"Origins", "0", "CustomOriginConfig", "OriginProtocolPolicy"},
				}
				for want, path := range checks {
					if got := flowString(t, nodeAt(config, path...)); got != want {
						t.Errorf("DistributionConfig.%s = %s, want %s", strings.Join(path, "."), got, want)
					}
				}
			},
		},
		{
			name: "CDN terminating TLS", copilotFile: "cdn-resources.yml (partial)",
			manifest:  "name: test\ntype: Environment\ncdn:\n  terminate_tls: true\n",
			resources: with(copilotEnvBasicResources, "CloudFrontDistribution:AWS::CloudFront::Distribution@CreateALB"),
			outputs:   with(copilotEnvBasicOutputs, "CloudFrontDomainName"), deferred: append(dnsListener, dnsListenerOutput...),
			check: func(t *testing.T, root *yaml.Node) {
				config := nodeAt(root, "Resources", "CloudFrontDistribution", "Properties", "DistributionConfig")
				if got := flowString(t, nodeAt(config, "DefaultCacheBehavior", "ViewerProtocolPolicy")); got != "redirect-to-https" {
					t.Errorf("viewer protocol = %s, want redirect-to-https", got)
				}
				if got := flowString(t, nodeAt(config, "Origins", "0", "CustomOriginConfig", "OriginProtocolPolicy")); got != "http-only" {
					t.Errorf("origin protocol = %s, want http-only", got)
				}
			},
		},
		{
			// Copilot's HTTPSCert and DelegateDNSAction are Lambda-backed;
			// autopilot's are a native certificate and NS record under the
			// same IDs and condition (a Copilot stack keeps its own, see
			// deploy's CarryLive); its Lambdas and their role are not rendered.
			name: "application with a domain", copilotFile: "template-with-basic-manifest.yml",
			manifest: "name: test\ntype: Environment\n",
			options:  func(o *Options) { o.AppDomain = "example.com" },
			resources: with(without(copilotEnvBasicResources, "CertificateValidationFunction", "CustomDomainAction", "CustomDomainFunction",
				"CustomResourceRole", "DNSDelegationFunction", "DelegateDNSAction", "HTTPSCert"),
				"DelegateDNSAction:AWS::Route53::RecordSet@DelegateDNS", "HTTPSCert:AWS::CertificateManager::Certificate@DelegateDNS"),
			outputs: without(copilotEnvBasicOutputs, "ManagedFileSystemID"), domain: true,
			check: func(t *testing.T, root *yaml.Node) {
				checks := map[string][]string{
					"[{CertificateArn: !Ref HTTPSCert}]":               {"Resources", "HTTPSListener", "Properties", "Certificates"},
					"!Sub ${EnvironmentName}.${AppName}.${AppDNSName}": {"Resources", "EnvironmentHostedZone", "Properties", "Name"},
					"!Sub ${AppName}.${AppDNSName}.":                   {"Resources", "DelegateDNSAction", "Properties", "HostedZoneName"},
					"!GetAtt EnvironmentHostedZone.NameServers":        {"Resources", "DelegateDNSAction", "Properties", "ResourceRecords"},
					"DNS":                                     {"Resources", "HTTPSCert", "Properties", "ValidationMethod"},
					"!Ref EnvironmentHostedZone":              {"Resources", "HTTPSCert", "Properties", "DomainValidationOptions", "0", "HostedZoneId"},
					"!Sub ${AWS::StackName}-HostedZone":       {"Outputs", "EnvironmentHostedZone", "Export", "Name"},
					"!Sub ${AWS::StackName}-SubDomain":        {"Outputs", "EnvironmentSubdomain", "Export", "Name"},
					"!Sub ${AWS::StackName}-HTTPSListenerArn": {"Outputs", "HTTPSListenerArn", "Export", "Name"},
				}
				for want, path := range checks {
					if got := flowString(t, nodeAt(root, path...)); got != want {
						t.Errorf("%s = %s, want %s", strings.Join(path, "."), got, want)
					}
				}
			},
		},
	}
	var matched, total, deferred int
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", map[string]string{"copilot/environments/test/manifest.yml": tc.manifest})
			opts := seedOptions
			if tc.options != nil {
				tc.options(&opts)
			}
			stacks, diags, err := Render(ws, nil, nil, opts)
			if err != nil {
				t.Fatalf("render: %v\n%v", err, diags)
			}
			root := parseTemplate(t, stacks[0].Template)
			var want []string
			for _, r := range tc.resources {
				id, rest, _ := strings.Cut(r, ":")
				_, cond, _ := strings.Cut(rest, "@")
				domainRendered := tc.domain && cond == "DelegateDNS"
				if slices.Contains(deferredConditions, cond) && !domainRendered || slices.Contains(tc.deferred, id) {
					deferred++
					continue
				}
				want = append(want, r)
			}
			got := resourceFacts(t, root)
			total += len(tc.resources)
			for _, r := range got {
				if slices.Contains(want, r) {
					matched++
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("resources differ from Copilot's %s (-copilot +autopilot):\n%s", tc.copilotFile, diff)
			}
			if diff := cmp.Diff(without(copilotEnvParameters, "AppDNSDelegationRole"), sectionKeys(root, "Parameters")); diff != "" {
				t.Errorf("parameters (-copilot +autopilot):\n%s", diff)
			}
			if diff := cmp.Diff(copilotEnvConditions, sectionKeys(root, "Conditions")); diff != "" {
				t.Errorf("conditions (-copilot +autopilot):\n%s", diff)
			}
			wantOutputs := without(tc.outputs, deferredOutputs...)
			if tc.domain {
				wantOutputs = tc.outputs
			}
			if diff := cmp.Diff(without(wantOutputs, tc.deferred...), sectionKeys(root, "Outputs")); diff != "" {
				t.Errorf("outputs (-copilot +autopilot):\n%s", diff)
			}
			tc.check(t, root)
			validateTemplate(t, tc.copilotFile, stacks[0].Template)
		})
	}
	t.Logf("environment: %d of %d Copilot resources rendered with the same logical ID, type and condition; the other %d exist only under EFS or DNS-delegation conditions", matched, total, deferred)
}

func TestEnvironmentRefusesWhatItWouldRemove(t *testing.T) {
	tests := []struct {
		name, copilotFile string
		files             map[string]string
		want              string
	}{
		{"CloudFront for an application with a domain, without cdn.certificate", "",
			map[string]string{"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\ncdn: true\n"},
			"Copilot copies the environment's certificate to us-east-1"},
		{"ingress restricted to CloudFront", "",
			map[string]string{"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\nhttp:\n  public:\n    ingress:\n      cdn: true\n"},
			"CloudFront's prefix list, whose id render needs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", tc.files)
			// Every case refuses with the application's domain too, the
			// one that needs it included.
			opts := seedOptions
			opts.AppDomain = "example.com"
			_, diags, err := Render(ws, nil, nil, opts)
			if err == nil {
				t.Fatalf("render succeeded; want a refusal containing %q", tc.want)
			}
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) }) {
				t.Errorf("findings %v do not contain %q", diags, tc.want)
			}
		})
	}
}

// rdwsManifest restates the facts of Copilot's rdws-manifest.yml.
const copilotRDWSManifest = `name: frontend
type: Request-Driven Web Service
image:
  build: frontend/Dockerfile
  port: 8080
cpu: 1024
memory: 2048
command: "shine on you"
publish:
  topics:
    - name: customers
    - name: mytopic
      fifo: true
network:
  vpc:
    placement: private
count: high-availability/3
environments:
  test:
    command: crazy diamond
    variables:
      LOG_LEVEL: debug
      DB_NAME:
        from_cfn: test-UserDB
    secrets:
      my-ssm-secret: arn:aws:ssm:us-east-1:123456789123:parameter/jan11ssm
      MY_FROM_CFN_SECRET:
        from_cfn: my-other-stack-exported-secret
      MY_SECRETS_MANAGER_SECRET:
        secretsmanager: mysecretsmanagername
  prod:
    network:
      vpc:
        placement:
          subnets: [mockSubnetID1, mockSubnetID2]
`

var copilotRDWSParameters = []string{"AddonsTemplateURL", "AppName", "ArtifactKeyARN", "ContainerImage", "ContainerPort", "EnvName",
	"HealthCheckHealthyThreshold", "HealthCheckInterval", "HealthCheckPath", "HealthCheckTimeout", "HealthCheckUnhealthyThreshold",
	"ImageRepositoryType", "InstanceCPU", "InstanceMemory", "WorkloadName"}

var copilotRDWSConditions = []string{"HasAddons", "HasHealthCheckHealthyThreshold", "HasHealthCheckInterval", "HasHealthCheckPath",
	"HasHealthCheckTimeout", "HasHealthCheckUnhealthyThreshold", "NeedsAccessRole"}

var copilotRDWSProdResources = []string{
	"AccessRole:AWS::IAM::Role@NeedsAccessRole",
	"AddonsStack:AWS::CloudFormation::Stack@HasAddons",
	"EnvironmentSecurityGroupIngressFromServiceSecurityGroup:AWS::EC2::SecurityGroupIngress",
	"InstanceRole:AWS::IAM::Role",
	"Service:AWS::AppRunner::Service",
	"ServiceSecurityGroup:AWS::EC2::SecurityGroup",
	"VpcConnector:AWS::AppRunner::VpcConnector",
	"customersSNSTopic:AWS::SNS::Topic",
	"customersSNSTopicPolicy:AWS::SNS::TopicPolicy",
	"mytopicfifoSNSTopic:AWS::SNS::Topic",
	"mytopicfifoSNSTopicPolicy:AWS::SNS::TopicPolicy",
}

// The env-controller trio Copilot adds for placement: private. autopilot
// deliberately does not render it (see README.md).
var envControllerResources = []string{"EnvControllerAction:Custom::EnvControllerFunction", "EnvControllerFunction:AWS::Lambda::Function", "EnvControllerRole:AWS::IAM::Role"}

func TestRDWSMatchesCopilotTestdata(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/frontend/manifest.yml":          copilotRDWSManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/environments/prod/manifest.yml": "name: prod\ntype: Environment\n",
	})
	opts := seedOptions
	opts.Region, opts.AccountID = "us-west-2", "123456789123"
	stacks, diags, err := Render(ws, nil, nil, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	byName := map[string]Stack{}
	for _, s := range stacks {
		byName[s.Name] = s
	}
	type fact struct {
		path []string
		want string
	}
	imageConfig := []string{"Resources", "Service", "Properties", "SourceConfiguration", "ImageRepository", "ImageConfiguration"}
	tests := []struct {
		stack, copilotFile string
		resources          []string
		parameters         []string
		facts              []fact
		natWorkloads       string
	}{
		{
			stack: "my-app-test-frontend", copilotFile: "rdws-test.stack.yml",
			resources: with(copilotRDWSProdResources, envControllerResources...), natWorkloads: "frontend",
			parameters: copilotRDWSParameters,
			facts: []fact{
				{append(slices.Clone(imageConfig), "StartCommand"), "crazy diamond"},
				{append(slices.Clone(imageConfig), "RuntimeEnvironmentSecrets"), "[{Name: MY_FROM_CFN_SECRET, Value: {'Fn::ImportValue': my-other-stack-exported-secret}}, " +
					"{Name: MY_SECRETS_MANAGER_SECRET, Value: !Sub 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:mysecretsmanagername'}, " +
					"{Name: my-ssm-secret, Value: 'arn:aws:ssm:us-east-1:123456789123:parameter/jan11ssm'}]"},
				{append(slices.Clone(imageConfig), "RuntimeEnvironmentVariables"), "[{Name: COPILOT_APPLICATION_NAME, Value: !Ref AppName}, " +
					"{Name: COPILOT_ENVIRONMENT_NAME, Value: !Ref EnvName}, {Name: COPILOT_SERVICE_NAME, Value: !Ref WorkloadName}, " +
					"{Name: COPILOT_SERVICE_DISCOVERY_ENDPOINT, Value: test.my-app.local}, " +
					`{Name: COPILOT_SNS_TOPIC_ARNS, Value: '{"customers":"arn:aws:sns:us-west-2:123456789123:my-app-test-frontend-customers","mytopic.fifo":"arn:aws:sns:us-west-2:123456789123:my-app-test-frontend-mytopic.fifo"}'}, ` +
					"{Name: DB_NAME, Value: {'Fn::ImportValue': test-UserDB}}, {Name: LOG_LEVEL, Value: debug}]"},
				{[]string{"Resources", "Service", "Properties", "AutoScalingConfigurationArn"}, "!Sub arn:${AWS::Partition}:apprunner:${AWS::Region}:${AWS::AccountId}:autoscalingconfiguration/high-availability/3"},
				{[]string{"Resources", "VpcConnector", "Properties", "Subnets"}, "{'Fn::Split': [',', {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-PrivateSubnets'}]}"},
				{[]string{"Resources", "mytopicfifoSNSTopic", "Properties"}, "{TopicName: !Sub '${AWS::StackName}-mytopic.fifo', FifoTopic: true, KmsMasterKeyId: alias/aws/sns}"},
				{[]string{"Resources", "InstanceRole", "Properties", "Policies", "2", "PolicyName"}, "Publish2SNS"},
			},
		},
		{
			stack: "my-app-prod-frontend", copilotFile: "rdws-prod.stack.yml",
			resources: copilotRDWSProdResources, natWorkloads: "",
			// Without secrets Copilot declares ArtifactKeyARN but never uses it;
			// autopilot leaves the unused parameter out.
			parameters: without(copilotRDWSParameters, "ArtifactKeyARN"),
			facts: []fact{
				{append(slices.Clone(imageConfig), "StartCommand"), "shine on you"},
				{[]string{"Resources", "VpcConnector", "Properties", "Subnets"}, "[mockSubnetID1, mockSubnetID2]"},
				{[]string{"Resources", "VpcConnector", "DependsOn"}, "<missing>"},
				{[]string{"Resources", "InstanceRole", "Properties", "Policies", "1", "PolicyName"}, "Publish2SNS"},
			},
		},
	}
	var matched, total int
	for _, tc := range tests {
		t.Run(tc.copilotFile, func(t *testing.T) {
			st, ok := byName[tc.stack]
			if !ok {
				t.Fatalf("stack %s not rendered", tc.stack)
			}
			root := parseTemplate(t, st.Template)
			want := without(tc.resources, "EnvControllerAction", "EnvControllerFunction", "EnvControllerRole")
			got := resourceFacts(t, root)
			total += len(tc.resources)
			for _, r := range got {
				if slices.Contains(want, r) {
					matched++
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("resources (-copilot +autopilot):\n%s", diff)
			}
			if diff := cmp.Diff(tc.parameters, sectionKeys(root, "Parameters")); diff != "" {
				t.Errorf("parameters (-copilot +autopilot):\n%s", diff)
			}
			if diff := cmp.Diff(copilotRDWSConditions, sectionKeys(root, "Conditions")); diff != "" {
				t.Errorf("conditions (-copilot +autopilot):\n%s", diff)
			}
			// Copilot's RDWS template has no outputs; autopilot adds only the
			// service URL, which changes no resource.
			if diff := cmp.Diff([]string{"ServiceURL"}, sectionKeys(root, "Outputs")); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			for _, f := range tc.facts {
				if got := flowString(t, nodeAt(root, f.path...)); got != f.want {
					t.Errorf("%s =\n  %s\nwant\n  %s", strings.Join(f.path, "."), got, f.want)
				}
			}
			validateTemplate(t, tc.stack, st.Template)
			env := byName[strings.TrimSuffix(tc.stack, "-frontend")]
			if got := env.Parameters["NATWorkloads"]; got != tc.natWorkloads {
				t.Errorf("environment NATWorkloads = %q, want %q", got, tc.natWorkloads)
			}
		})
	}
	t.Logf("request-driven web service: %d of %d Copilot resources rendered with the same logical ID, type and condition; the other %d are the env-controller resources left out by design", matched, total, total-matched)
}

// TestFirstDeployOverCopilotStacks computes, from Copilot's resource facts,
// the Remove actions the first autopilot change set would hold on stacks
// Copilot made, and checks that each is harmless: the env-controller trio
// (deploy retains it first, see README.md), and environment resources whose
// conditions are false because their feature parameters are empty.
func TestFirstDeployOverCopilotStacks(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/frontend/manifest.yml":          copilotRDWSManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	env, svc := stacks[0], stacks[1]
	removed := func(copilot []string, st Stack) (gone, added []string) {
		ours := resourceFacts(t, parseTemplate(t, st.Template))
		for _, r := range copilot {
			if !slices.Contains(ours, r) {
				gone = append(gone, r)
			}
		}
		for _, r := range ours {
			if !slices.Contains(copilot, r) {
				added = append(added, r)
			}
		}
		return gone, added
	}

	gone, added := removed(with(copilotRDWSProdResources, envControllerResources...), svc)
	if diff := cmp.Diff(envControllerResources, gone); diff != "" {
		t.Errorf("workload stack removals (-want +got):\n%s", diff)
	}
	if len(added) != 0 {
		t.Errorf("workload stack adds %q over Copilot's", added)
	}

	gone, added = removed(copilotEnvBasicResources, env)
	for _, r := range gone {
		id, rest, _ := strings.Cut(r, ":")
		_, cond, _ := strings.Cut(rest, "@")
		if !slices.Contains(deferredConditions, cond) && !slices.Contains(dnsListener, id) {
			t.Errorf("environment change set removes %s, which exists unconditionally", r)
		}
	}
	if len(added) != 0 {
		t.Errorf("environment stack adds %q over Copilot's", added)
	}
	// Those conditions are false when their parameters are empty, so no live
	// resource stands behind the removed definitions.
	// HTTPSListener is under ExportHTTPSListener, false without certificates
	// and without a domain (AppDNSName).
	for _, p := range []string{"ALBWorkloads", "InternalALBWorkloads", "EFSWorkloads", "AppDNSName", "Aliases"} {
		if v, ok := env.Parameters[p]; !ok || v != "" {
			t.Errorf("environment parameter %s = %q, want empty", p, v)
		}
	}
	for _, p := range []string{"ALBWorkloads", "InternalALBWorkloads", "EFSWorkloads", "Aliases"} {
		if !slices.Contains(env.KeepPrevious, p) {
			t.Errorf("%s is not in KeepPrevious: deploy could not detect a live load balancer, EFS or alias", p)
		}
	}
	if got := env.Parameters["NATWorkloads"]; got != "frontend" {
		t.Errorf("NATWorkloads = %q, want frontend so the NAT gateways stay", got)
	}
}
