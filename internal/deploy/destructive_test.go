package deploy

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"testing"
)

func TestStatefulTypesAreCloudFormationTypes(t *testing.T) {
	f, err := os.Open("../../../shared/reference/aws/cfn-resource-schemas/us-east-1.bundle.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Types map[string]json.RawMessage `json:"types"`
	}
	if err := json.NewDecoder(zr).Decode(&bundle); err != nil {
		t.Fatal(err)
	}
	for typ := range statefulTypes {
		if _, ok := bundle.Types[typ]; !ok {
			t.Errorf("%s is not a CloudFormation resource type: a typo never matches a change", typ)
		}
	}
	// Stores a team expects the gate to protect.
	for _, typ := range []string{
		"AWS::Redshift::Cluster", "AWS::FSx::FileSystem", "AWS::EC2::Volume", "AWS::MemoryDB::Cluster",
		"AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::ServerlessCache", "AWS::OpenSearchService::Domain",
		"AWS::Elasticsearch::Domain", "AWS::Kinesis::Stream", "AWS::DocDB::DBCluster", "AWS::Neptune::DBCluster",
		"AWS::Backup::BackupVault", "AWS::KMS::Key", "AWS::Cognito::UserPool", "AWS::RDS::DBCluster", "AWS::DynamoDB::Table",
	} {
		removed := ResourceChange{Action: ActionRemove, LogicalID: "Store", ResourceType: typ}
		replaced := ResourceChange{Action: ActionModify, LogicalID: "Store", ResourceType: typ, Replacement: ReplacementTrue}
		updated := ResourceChange{Action: ActionModify, LogicalID: "Store", ResourceType: typ, Replacement: ReplacementFalse}
		if !isDestructive(removed, false) || !isDestructive(replaced, false) || isDestructive(updated, false) || isDestructive(removed, true) {
			t.Errorf("%s: removal, replacement, in-place update, retained removal are not destructive, destructive, safe, safe", typ)
		}
	}
}
