package cfn

// createOnly lists, for the resource types autopilot renders, the properties
// whose change replaces the resource (the types' createOnlyProperties in the
// CloudFormation resource schemas). A type listed with no properties updates
// every property in place.
var createOnly = map[string][]string{
	"AWS::AppRunner::Service":                    {"ServiceName", "EncryptionConfiguration", "Tags"},
	"AWS::AppRunner::VpcConnector":               {"VpcConnectorName", "Subnets", "SecurityGroups", "Tags"},
	"AWS::AppRunner::AutoScalingConfiguration":   {"AutoScalingConfigurationName", "MaxConcurrency", "MaxSize", "MinSize", "Tags"},
	"AWS::AppRunner::ObservabilityConfiguration": {"ObservabilityConfigurationName", "TraceConfiguration", "Tags"},
	"AWS::AppRunner::VpcIngressConnection":       {"VpcIngressConnectionName", "ServiceArn", "Tags"},
	"AWS::RDS::DBCluster": {"AvailabilityZones", "ClusterScalabilityType", "DBClusterIdentifier", "DBSubnetGroupName",
		"DBSystemId", "DatabaseName", "EngineMode", "KmsKeyId", "PubliclyAccessible", "RestoreToTime", "RestoreType",
		"SnapshotIdentifier", "SourceDBClusterIdentifier", "SourceDbClusterResourceId", "SourceRegion", "StorageEncrypted",
		"UseLatestRestorableTime"},
	"AWS::RDS::DBInstance": {"BackupTarget", "CharacterSetName", "CustomIAMInstanceProfile", "DBClusterIdentifier",
		"DBInstanceIdentifier", "DBName", "DBSubnetGroupName", "DBSystemId", "KmsKeyId", "MasterUsername",
		"NcharCharacterSetName", "SourceRegion", "StorageEncrypted", "Timezone"},
	"AWS::RDS::DBSubnetGroup":                     {"DBSubnetGroupName"},
	"AWS::RDS::DBClusterParameterGroup":           {"DBClusterParameterGroupName", "Description", "Family"},
	"AWS::SecretsManager::Secret":                 {"Name"},
	"AWS::SecretsManager::SecretTargetAttachment": {"SecretId"},
	"AWS::SecretsManager::RotationSchedule":       {"SecretId"},
	"AWS::DynamoDB::Table":                        {"TableName", "KeySchema", "LocalSecondaryIndexes"},
	"AWS::EFS::FileSystem":                        {"AvailabilityZoneName", "Encrypted", "KmsKeyId", "PerformanceMode"},
	"AWS::EC2::SecurityGroup":                     {"GroupDescription", "GroupName", "VpcId"},
	"AWS::EC2::VPC":                               {"CidrBlock", "Ipv4IpamPoolId", "Ipv4NetmaskLength"},
	"AWS::EC2::Subnet":                            {"VpcId", "AvailabilityZone", "AvailabilityZoneId", "CidrBlock", "OutpostArn", "Ipv6Native"},
	"AWS::IAM::Role":                              {"Path", "RoleName"},
	"AWS::IAM::Policy":                            {},
	"AWS::IAM::ManagedPolicy":                     {"ManagedPolicyName", "Description", "Path"},
	"AWS::ECR::Repository":                        {"RepositoryName", "EncryptionConfiguration"},
	"AWS::Logs::LogGroup":                         {"LogGroupName"},
	"AWS::KMS::Key":                               {},
	"AWS::SSM::Parameter":                         {"Name"},
	"AWS::CloudFormation::Stack":                  {},
	"AWS::S3::Bucket":                             {"BucketName", "BucketNamePrefix", "BucketNamespace"},
	"AWS::EC2::VPCEndpoint":                       {"ServiceName", "VpcEndpointType", "VpcId"},
	"AWS::ServiceDiscovery::PrivateDnsNamespace":  {"Vpc", "Name"},
	"AWS::ECS::Service":                           {"Cluster", "Role", "SchedulingStrategy", "ServiceName"},
	"AWS::ECS::ExpressGatewayService":             {"ServiceName", "Cluster", "InfrastructureRoleArn", "Tags"},
	"AWS::ECS::Cluster":                           {"ClusterName"},
	"AWS::ElasticLoadBalancingV2::LoadBalancer":   {"Name", "Type", "Scheme"},
	"AWS::ElasticLoadBalancingV2::TargetGroup":    {"TargetType", "ProtocolVersion", "Port", "Name", "VpcId", "Protocol", "IpAddressType"},
	"AWS::ElasticLoadBalancingV2::Listener":       {"LoadBalancerArn"},
	"AWS::SNS::Topic":                             {"TopicName", "FifoTopic"},
	"AWS::SNS::TopicPolicy":                       {},
	"AWS::SQS::Queue":                             {"QueueName", "FifoQueue"},
	"AWS::Lambda::Function":                       {"FunctionName", "PackageType"},
	"AWS::EC2::NatGateway":                        {"VpcId", "SubnetId", "ConnectivityType", "AllocationId", "PrivateIpAddress"},
	"AWS::EC2::InternetGateway":                   {},
	"AWS::EC2::RouteTable":                        {"VpcId"},
	"AWS::EC2::Route":                             {"RouteTableId", "DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId"},
	"AWS::EC2::SubnetRouteTableAssociation":       {"SubnetId", "RouteTableId"},
	"AWS::EC2::VPCGatewayAttachment":              {"VpcId"},
	"AWS::EC2::EIP":                               {"NetworkBorderGroup", "TransferAddress", "Address"},
	// the environment's edge
	"AWS::CloudFront::Distribution":                    {},
	"AWS::CloudFront::OriginAccessControl":             {},
	"AWS::S3::BucketPolicy":                            {"Bucket"},
	"AWS::Route53::HostedZone":                         {"Name"},
	"AWS::Route53::RecordSet":                          {"HostedZoneName", "Name", "HostedZoneId"},
	"AWS::CertificateManager::Certificate":             {"SubjectAlternativeNames", "DomainValidationOptions", "ValidationMethod", "KeyAlgorithm", "DomainName", "CertificateAuthorityArn"},
	"AWS::ElasticLoadBalancingV2::ListenerCertificate": {"ListenerArn"},
}

// RequiresRecreation says whether changing a property replaces the resource:
// "Always" for create-only properties of a known type, "Never" for its other
// properties, and "Conditionally" when the type is not known here (custom
// resources and types autopilot does not render), since only CloudFormation
// can tell then.
func RequiresRecreation(resourceType, property string) string {
	props, known := createOnly[resourceType]
	if !known {
		return "Conditionally"
	}
	for _, p := range props {
		if p == property {
			return "Always"
		}
	}
	return "Never"
}
