package deploy_test

import (
	"fmt"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

func ExamplePlanOffline() {
	stack := deploy.Stack{
		Name: "app-test-api",
		Template: []byte(`Parameters:
  DBPassword: {Type: String, NoEcho: true}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: orders}
  Db:
    Type: AWS::RDS::DBCluster
    Properties: {MasterUserPassword: !Ref DBPassword}
`),
		Parameters: map[string]string{"DBPassword": "s3cret-pa55"},
	}
	plan, err := deploy.PlanOffline([]deploy.Stack{stack}, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range plan.Stacks[0].Changes {
		fmt.Println(c.Action, c.LogicalID, c.ResourceType)
	}
	// Output:
	// Add Db AWS::RDS::DBCluster
	// Add Table AWS::DynamoDB::Table
}
