package deploy

import "strings"

// statefulTypes hold data that a delete or a replacement loses.
var statefulTypes = map[string]bool{
	"AWS::RDS::DBCluster":                true,
	"AWS::RDS::DBInstance":               true,
	"AWS::RDS::GlobalCluster":            true,
	"AWS::DynamoDB::Table":               true,
	"AWS::DynamoDB::GlobalTable":         true,
	"AWS::S3::Bucket":                    true,
	"AWS::EFS::FileSystem":               true,
	"AWS::Logs::LogGroup":                true,
	"AWS::SecretsManager::Secret":        true,
	"AWS::SSM::Parameter":                true,
	"AWS::KMS::Key":                      true,
	"AWS::ECR::Repository":               true,
	"AWS::SQS::Queue":                    true,
	"AWS::Kinesis::Stream":               true,
	"AWS::ElastiCache::CacheCluster":     true,
	"AWS::ElastiCache::ReplicationGroup": true,
	"AWS::DocDB::DBCluster":              true,
	"AWS::Neptune::DBCluster":            true,
	"AWS::OpenSearchService::Domain":     true,
	"AWS::Elasticsearch::Domain":         true,
	"AWS::Cognito::UserPool":             true,
	"AWS::Backup::BackupVault":           true,
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
