package render

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// addEnvEFS adds the environment's managed EFS file system, its security
// group and one mount target per private subnet, under CreateEFS, as
// Copilot's environment template declares them.
func addEnvEFS(add func(string, *yaml.Node), p vpcPlan, vpcRef any) {
	add("FileSystem", kv(
		"Condition", "CreateEFS",
		"Type", "AWS::EFS::FileSystem",
		"Metadata", kv("aws:copilot:description", "An EFS filesystem for persistent task storage"),
		"Properties", kv(
			"BackupPolicy", kv("Status", "ENABLED"),
			"Encrypted", true,
			"FileSystemPolicy", kv("Version", "2012-10-17", "Id", "CopilotEFSPolicy", "Statement", seq(
				kv("Sid", "AllowIAMFromTaggedRoles", "Effect", "Allow", "Principal", kv("AWS", "*"),
					"Action", seq("elasticfilesystem:ClientWrite", "elasticfilesystem:ClientMount"),
					"Condition", kv(
						"Bool", kv("elasticfilesystem:AccessedViaMountTarget", true),
						"StringEquals", kv("iam:ResourceTag/copilot-application", sub("${AppName}"), "iam:ResourceTag/copilot-environment", sub("${EnvironmentName}")),
					)),
				kv("Sid", "DenyUnencryptedAccess", "Effect", "Deny", "Principal", "*", "Action", "elasticfilesystem:*",
					"Condition", kv("Bool", kv("aws:SecureTransport", false))),
			)),
			"LifecyclePolicies", seq(kv("TransitionToIA", "AFTER_30_DAYS")),
			"PerformanceMode", "generalPurpose",
			"ThroughputMode", "bursting",
		),
	))
	add("EFSSecurityGroup", kv(
		"Metadata", kv("aws:copilot:description", "A security group to allow your containers to talk to EFS storage"),
		"Type", "AWS::EC2::SecurityGroup",
		"Condition", "CreateEFS",
		"Properties", kv(
			"GroupDescription", join("", fn("", ref("AppName"), "-", ref("EnvironmentName"), "EFSSecurityGroup")),
			"VpcId", vpcRef,
			"Tags", tagList("Name", sub("copilot-${AppName}-${EnvironmentName}-efs")),
		),
	))
	add("EFSSecurityGroupIngressFromEnvironment", kv(
		"Type", "AWS::EC2::SecurityGroupIngress",
		"Condition", "CreateEFS",
		"Properties", kv(
			"Description", "Ingress from containers in the Environment Security Group.",
			"GroupId", ref("EFSSecurityGroup"),
			"IpProtocol", -1,
			"SourceSecurityGroupId", ref("EnvironmentSecurityGroup"),
		),
	))
	var subnets []*yaml.Node
	if p.imported {
		for _, id := range p.privateIDs {
			subnets = append(subnets, str(id))
		}
	} else {
		for i := range p.privCIDRs {
			subnets = append(subnets, ref(fmt.Sprintf("PrivateSubnet%d", i+1)))
		}
	}
	for i, subnet := range subnets {
		add(fmt.Sprintf("MountTarget%d", i+1), kv(
			"Type", "AWS::EFS::MountTarget",
			"Condition", "CreateEFS",
			"Properties", kv(
				"FileSystemId", ref("FileSystem"),
				"SubnetId", subnet,
				"SecurityGroups", seq(ref("EFSSecurityGroup")),
			),
		))
	}
}
