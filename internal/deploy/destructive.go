package deploy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// statefulTypes hold data that a delete or a replacement loses. The names
// are CloudFormation's exactly (a test checks them against the resource
// schemas).
var statefulTypes = map[string]bool{
	"AWS::RDS::DBCluster":                        true,
	"AWS::RDS::DBInstance":                       true,
	"AWS::RDS::GlobalCluster":                    true,
	"AWS::DynamoDB::Table":                       true,
	"AWS::DynamoDB::GlobalTable":                 true,
	"AWS::S3::Bucket":                            true,
	"AWS::S3Express::DirectoryBucket":            true,
	"AWS::EFS::FileSystem":                       true,
	"AWS::FSx::FileSystem":                       true,
	"AWS::FSx::Volume":                           true,
	"AWS::EC2::Volume":                           true,
	"AWS::Logs::LogGroup":                        true,
	"AWS::SecretsManager::Secret":                true,
	"AWS::SSM::Parameter":                        true,
	"AWS::KMS::Key":                              true,
	"AWS::KMS::ReplicaKey":                       true,
	"AWS::ECR::Repository":                       true,
	"AWS::SQS::Queue":                            true,
	"AWS::Kinesis::Stream":                       true,
	"AWS::ElastiCache::CacheCluster":             true,
	"AWS::ElastiCache::ReplicationGroup":         true,
	"AWS::ElastiCache::GlobalReplicationGroup":   true,
	"AWS::ElastiCache::ServerlessCache":          true,
	"AWS::MemoryDB::Cluster":                     true,
	"AWS::Redshift::Cluster":                     true,
	"AWS::RedshiftServerless::Namespace":         true,
	"AWS::DocDB::DBCluster":                      true,
	"AWS::DocDB::GlobalCluster":                  true,
	"AWS::DocDBElastic::Cluster":                 true,
	"AWS::Neptune::DBCluster":                    true,
	"AWS::NeptuneGraph::Graph":                   true,
	"AWS::OpenSearchService::Domain":             true,
	"AWS::Elasticsearch::Domain":                 true,
	"AWS::OpenSearchServerless::Collection":      true,
	"AWS::Cognito::UserPool":                     true,
	"AWS::Backup::BackupVault":                   true,
	"AWS::Backup::LogicallyAirGappedBackupVault": true,
	"AWS::Timestream::Table":                     true,
	"AWS::QLDB::Ledger":                          true,
}

// isDestructive marks the removal or replacement of a resource that holds
// data. A removal whose DeletionPolicy retains the resource loses nothing;
// removing a nested stack deletes everything in it.
func isDestructive(c ResourceChange, retained bool) bool {
	stateful := statefulTypes[c.ResourceType] || strings.HasPrefix(c.ResourceType, "AWS::RDS::DB") && strings.HasSuffix(c.ResourceType, "Cluster")
	switch {
	case c.Action == ActionRemove && retained:
		return false
	case c.Action == ActionRemove:
		return stateful || c.ResourceType == "AWS::CloudFormation::Stack"
	case c.Action == ActionModify:
		return stateful && (c.Replacement == ReplacementTrue || c.Replacement == ReplacementConditional)
	}
	return false
}

// ErrDestructive is the refusal to execute destructive changes without an
// opt-in (AllowDestructive).
var ErrDestructive = errors.New("destructive changes need an explicit opt-in")

// AllowDestructive lets Deploy execute destructive changes: all of them, or
// those to resources of the given types (CloudFormation names, such as
// AWS::Logs::LogGroup). By default Deploy refuses any destructive change
// and executes nothing.
func AllowDestructive(all bool, types ...string) Option {
	return func(o *options) error {
		if err := CheckResourceTypes(types); err != nil {
			return err
		}
		o.allowAllDestructive = all
		o.allowDestroyTypes = append(o.allowDestroyTypes, types...)
		return nil
	}
}

// CheckResourceTypes says which of types is no CloudFormation resource type
// name (AWS::Service::Resource): an allowed destroy type with a typo would
// never match.
func CheckResourceTypes(types []string) error {
	for _, t := range types {
		if !cfnTypeName.MatchString(t) {
			return fmt.Errorf("allowed destroy type %q: want a CloudFormation resource type such as AWS::Logs::LogGroup", t)
		}
	}
	return nil
}

// refuseDestructive names every destructive change of p that the options
// do not allow, as one ErrDestructive; nil when there is none.
func (o *options) refuseDestructive(p *Plan) error {
	if o.allowAllDestructive {
		return nil
	}
	var refused, types []string
	for _, s := range p.Stacks {
		for _, c := range s.Changes {
			if !c.Destructive || slices.Contains(o.allowDestroyTypes, c.ResourceType) {
				continue
			}
			where := s.StackName
			if c.NestedStack != "" {
				where += "/" + c.NestedStack
			}
			refused = append(refused, fmt.Sprintf("stack %s: %s (%s) %s", where, c.LogicalID, c.ResourceType, whyDestructive(c)))
			if !slices.Contains(types, c.ResourceType) {
				types = append(types, c.ResourceType)
			}
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return fmt.Errorf("%w; %d not allowed: %s; allow all destructive changes, or these types: %s",
		ErrDestructive, len(refused), strings.Join(refused, "; "), strings.Join(types, ","))
}

func whyDestructive(c ResourceChange) string {
	switch {
	case c.Action == ActionRemove && c.ResourceType == "AWS::CloudFormation::Stack":
		return "is removed, and every resource of the nested stack with it"
	case c.Action == ActionRemove:
		return "is removed, deleting the data it holds"
	case c.Replacement == ReplacementConditional:
		return "may be replaced (replacement Conditional): a new one is created and the old one, with its data, deleted"
	}
	return "is replaced: a new one is created and the old one, with its data, deleted"
}
