package render

import "gopkg.in/yaml.v3"

// The environment's two IAM roles. Both carry DeletionPolicy: Retain and a
// fixed RoleName in Copilot's template, so they are rendered identically: the
// CloudFormation execution role is the one deploy passes as RoleARN.

func cfnExecutionRole() *yaml.Node {
	return kv(
		"Metadata", kv("aws:copilot:description", "An IAM Role for AWS CloudFormation to manage resources"),
		"DeletionPolicy", "Retain",
		"Type", "AWS::IAM::Role",
		"Properties", kv(
			"RoleName", sub("${AWS::StackName}-CFNExecutionRole"),
			"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("Service", seq("cloudformation.amazonaws.com")), "Action", "sts:AssumeRole")),
			"Path", "/",
			"Policies", seq(kv("PolicyName", "executeCfn", "PolicyDocument", policyDoc(
				kv("Effect", "Allow", "NotAction", []string{"organizations:*", "account:*"}, "Resource", "*"),
				kv("Effect", "Allow", "Action", []string{"organizations:DescribeOrganization", "account:ListRegions"}, "Resource", "*"),
			))),
		),
	)
}

// managerStatement is one statement of the environment manager role's policy.
type managerStatement struct {
	sid      string
	actions  []string
	resource *yaml.Node // nil means "*"
	tagged   bool       // condition on the copilot-application/environment resource tags
}

// envManagerStatements lists the permissions Copilot's CLI uses through the
// environment manager role, in Copilot's order.
func envManagerStatements(importedCerts []string, artifactBucketARN, artifactKeyARN string) []managerStatement {
	var st []managerStatement
	if len(importedCerts) > 0 {
		st = append(st, managerStatement{sid: "ImportedCertificates", actions: []string{"acm:DescribeCertificate"}, resource: val(importedCerts)})
	}
	st = append(st, []managerStatement{
		{sid: "CloudwatchLogs", actions: []string{"logs:GetLogRecord", "logs:GetQueryResults", "logs:StartQuery", "logs:GetLogEvents", "logs:DescribeLogStreams", "logs:StopQuery", "logs:TestMetricFilter", "logs:FilterLogEvents", "logs:GetLogGroupFields", "logs:GetLogDelivery"}},
		{sid: "Cloudwatch", actions: []string{"cloudwatch:DescribeAlarms"}},
		{sid: "ECS", actions: []string{"ecs:ListAttributes", "ecs:ListTasks", "ecs:DescribeServices", "ecs:DescribeTaskSets", "ecs:ListContainerInstances", "ecs:DescribeContainerInstances", "ecs:DescribeTasks", "ecs:DescribeClusters", "ecs:UpdateService", "ecs:PutAttributes", "ecs:StartTelemetrySession", "ecs:StartTask", "ecs:StopTask", "ecs:ListServices", "ecs:ListTaskDefinitionFamilies", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:ListClusters", "ecs:RunTask", "ecs:ListServicesByNamespace"}},
		{sid: "ExecuteCommand", actions: []string{"ecs:ExecuteCommand", "ssm:StartSession"}, tagged: true},
		{sid: "StartStateMachine", actions: []string{"states:StartExecution", "states:DescribeStateMachine"}, resource: seq(sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AppName}-${EnvironmentName}-*"))},
		{sid: "CloudFormation", actions: []string{"cloudformation:CancelUpdateStack", "cloudformation:CreateChangeSet", "cloudformation:CreateStack", "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack", "cloudformation:Describe*", "cloudformation:DetectStackDrift", "cloudformation:DetectStackResourceDrift", "cloudformation:ExecuteChangeSet", "cloudformation:GetTemplate", "cloudformation:GetTemplateSummary", "cloudformation:UpdateStack", "cloudformation:UpdateTerminationProtection"}},
		{sid: "GetAndPassCopilotRoles", actions: []string{"iam:GetRole", "iam:PassRole"}, tagged: true},
		{sid: "ECR", actions: []string{"ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability", "ecr:CompleteLayerUpload", "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:ListImages", "ecr:ListTagsForResource", "ecr:PutImage", "ecr:UploadLayerPart", "ecr:GetAuthorizationToken"}},
		{sid: "ResourceGroups", actions: []string{"resource-groups:GetGroup", "resource-groups:GetGroupQuery", "resource-groups:GetTags", "resource-groups:ListGroupResources", "resource-groups:ListGroups", "resource-groups:SearchResources"}},
		{sid: "SSM", actions: []string{"ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"}},
		{sid: "SSMSecret", actions: []string{"ssm:PutParameter", "ssm:AddTagsToResource"}, resource: seq(sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/copilot/${AppName}/${EnvironmentName}/secrets/*"))},
		{sid: "SSMSession", actions: []string{"ssm:StartSession"}, resource: seq(sub("arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-StartPortForwardingSessionToRemoteHost"))},
		{sid: "ELBv2", actions: []string{"elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeRules"}},
		{sid: "BuiltArtifactAccess", actions: []string{"s3:ListBucketByTags", "s3:GetLifecycleConfiguration", "s3:GetBucketTagging", "s3:GetInventoryConfiguration", "s3:GetObjectVersionTagging", "s3:ListBucketVersions", "s3:GetBucketLogging", "s3:ListBucket", "s3:GetAccelerateConfiguration", "s3:GetBucketPolicy", "s3:GetObjectVersionTorrent", "s3:GetObjectAcl", "s3:GetEncryptionConfiguration", "s3:GetBucketRequestPayment", "s3:GetObjectVersionAcl", "s3:GetObjectTagging", "s3:GetMetricsConfiguration", "s3:HeadBucket", "s3:GetBucketPublicAccessBlock", "s3:GetBucketPolicyStatus", "s3:ListBucketMultipartUploads", "s3:GetBucketWebsite", "s3:ListJobs", "s3:GetBucketVersioning", "s3:GetBucketAcl", "s3:GetBucketNotification", "s3:GetReplicationConfiguration", "s3:ListMultipartUploadParts", "s3:GetObject", "s3:GetObjectTorrent", "s3:GetAccountPublicAccessBlock", "s3:ListAllMyBuckets", "s3:DescribeJob", "s3:GetBucketCORS", "s3:GetAnalyticsConfiguration", "s3:GetObjectVersionForReplication", "s3:GetBucketLocation", "s3:GetObjectVersion", "kms:Decrypt"}},
	}...)
	if artifactBucketARN != "" {
		st = append(st, managerStatement{sid: "PutObjectsToArtifactBucket", actions: []string{"s3:PutObject", "s3:PutObjectAcl"}, resource: val([]string{artifactBucketARN, artifactBucketARN + "/*"})})
	}
	if artifactKeyARN != "" {
		st = append(st, managerStatement{sid: "EncryptObjectsInArtifactBucket", actions: []string{"kms:GenerateDataKey"}, resource: str(artifactKeyARN)})
	}
	return append(st,
		managerStatement{sid: "EC2", actions: []string{"ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables"}},
		managerStatement{sid: "AppRunner", actions: []string{"apprunner:DescribeService", "apprunner:ListOperations", "apprunner:ListServices", "apprunner:PauseService", "apprunner:ResumeService", "apprunner:StartDeployment", "apprunner:DescribeObservabilityConfiguration", "apprunner:DescribeVpcIngressConnection"}},
		managerStatement{sid: "Tags", actions: []string{"tag:GetResources"}},
		managerStatement{sid: "ApplicationAutoscaling", actions: []string{"application-autoscaling:DescribeScalingPolicies"}},
		managerStatement{sid: "DeleteRoles", actions: []string{"iam:DeleteRole", "iam:ListRolePolicies", "iam:DeleteRolePolicy"}, resource: seq(getAtt("CloudformationExecutionRole.Arn"), sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}-EnvManagerRole"))},
		managerStatement{sid: "DeleteEnvStack", actions: []string{"cloudformation:DescribeStacks", "cloudformation:DeleteStack"}, resource: seq(sub("arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/*"))},
		managerStatement{sid: "RDS", actions: []string{"rds:DescribeDBInstances", "rds:DescribeDBClusters"}},
	)
}

func envManagerRole(importedCerts []string, artifactBucketARN, artifactKeyARN string) *yaml.Node {
	statements := seq()
	for _, s := range envManagerStatements(importedCerts, artifactBucketARN, artifactKeyARN) {
		resource := s.resource
		if resource == nil {
			resource = str("*")
		}
		st := kv("Sid", s.sid, "Effect", "Allow", "Action", s.actions, "Resource", resource)
		if s.tagged {
			set(st, "Condition", kv("StringEquals", kv(
				"aws:ResourceTag/copilot-application", sub("${AppName}"),
				"aws:ResourceTag/copilot-environment", sub("${EnvironmentName}"),
			)))
			if s.sid == "GetAndPassCopilotRoles" {
				set(st, "Condition", kv("StringEquals", kv(
					"iam:ResourceTag/copilot-application", sub("${AppName}"),
					"iam:ResourceTag/copilot-environment", sub("${EnvironmentName}"),
				)))
			}
		}
		statements.Content = append(statements.Content, st)
	}
	return kv(
		"Metadata", kv("aws:copilot:description", "An IAM Role to describe resources in your environment"),
		"DeletionPolicy", "Retain",
		"Type", "AWS::IAM::Role",
		"DependsOn", "CloudformationExecutionRole",
		"Properties", kv(
			"RoleName", sub("${AWS::StackName}-EnvManagerRole"),
			"AssumeRolePolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("AWS", sub("${ToolsAccountPrincipalARN}")), "Action", "sts:AssumeRole")),
			"Path", "/",
			"Policies", seq(kv("PolicyName", "root", "PolicyDocument", kv("Version", "2012-10-17", "Statement", statements))),
		),
	)
}
