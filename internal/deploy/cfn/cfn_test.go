package cfn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseExpandsShortForms(t *testing.T) {
	yamlBody := `Parameters:
  Env: {Type: String, Default: test}
  Pw: {Type: String, NoEcho: true}
Resources:
  R:
    Type: AWS::SNS::Topic
    DeletionPolicy: Retain
    Properties:
      TopicName: !Sub "${Env}-topic"
      A: !Ref Env
      B: !GetAtt Other.Arn
      C: !Join [",", [a, b]]
      D: !If [Cond, 1, 2]
      Port: 80
`
	jsonBody := `{"Parameters":{"Env":{"Type":"String","Default":"test"},"Pw":{"Type":"String","NoEcho":"true"}},
"Resources":{"R":{"Type":"AWS::SNS::Topic","DeletionPolicy":"Retain","Properties":{
"TopicName":{"Fn::Sub":"${Env}-topic"},"A":{"Ref":"Env"},"B":{"Fn::GetAtt":["Other","Arn"]},
"C":{"Fn::Join":[",",["a","b"]]},"D":{"Fn::If":["Cond","1","2"]},"Port":"80"}}}}`
	a, err := Parse([]byte(yamlBody))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte(jsonBody))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("YAML short forms vs JSON long forms (-json +yaml):\n%s", diff)
	}
	if a.Resources["R"].DeletionPolicy != "Retain" || !a.Parameters["Pw"].NoEcho || *a.Parameters["Env"].Default != "test" {
		t.Errorf("parsed %+v", a)
	}
	for _, bad := range []string{"", "- a\n- b\n", "Resources: [", "Resources: [1]"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestDiff(t *testing.T) {
	parse := func(s string) *Template {
		t.Helper()
		tm, err := Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	old := parse(`Parameters:
  Image: {Type: String}
  Secret: {Type: String, NoEcho: true}
Resources:
  Db:
    Type: AWS::RDS::DBCluster
    Properties: {DatabaseName: main, Engine: aurora-postgresql, MasterUserPassword: !Ref Secret}
  Logs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
  Svc:
    Type: AWS::AppRunner::Service
    Properties: {Image: !Ref Image}
  Hook:
    Type: Custom::Hook
    Properties: {Size: 1}
`)
	next := parse(`Parameters:
  Image: {Type: String}
  Secret: {Type: String, NoEcho: true}
Resources:
  Db:
    Type: AWS::RDS::DBCluster
    Properties: {DatabaseName: main2, Engine: aurora-postgresql, MasterUserPassword: !Ref Secret}
  Svc:
    Type: AWS::AppRunner::Service
    Properties: {Image: !Ref Image}
  Hook:
    Type: Custom::Hook
    Properties: {Size: 2}
  New:
    Type: AWS::SQS::Queue
`)
	got := Diff(old, map[string]string{"Image": "a", "Secret": "old"}, next, map[string]string{"Image": "b", "Secret": "new"})
	want := []Change{
		{Action: "Modify", LogicalID: "Db", ResourceType: "AWS::RDS::DBCluster", Replacement: "True", Scope: []string{"Properties"}, Details: []Detail{
			{Attribute: "Properties", Name: "DatabaseName", Path: "/Properties/DatabaseName", ChangeType: "Modify", Before: "main", After: "main2", RequiresRecreation: "Always", ChangeSource: "DirectModification"},
			{Attribute: "Properties", Name: "MasterUserPassword", Path: "/Properties/MasterUserPassword", ChangeType: "Modify", Before: Masked, After: Masked, RequiresRecreation: "Never", ChangeSource: "ParameterReference", CausingEntity: "Secret"},
		}},
		{Action: "Modify", LogicalID: "Hook", ResourceType: "Custom::Hook", Replacement: "Conditional", Scope: []string{"Properties"}, Details: []Detail{
			{Attribute: "Properties", Name: "Size", Path: "/Properties/Size", ChangeType: "Modify", Before: "1", After: "2", RequiresRecreation: "Conditionally", ChangeSource: "DirectModification"},
		}},
		{Action: "Remove", LogicalID: "Logs", ResourceType: "AWS::Logs::LogGroup", PolicyAction: "Retain"},
		{Action: "Add", LogicalID: "New", ResourceType: "AWS::SQS::Queue"},
		{Action: "Modify", LogicalID: "Svc", ResourceType: "AWS::AppRunner::Service", Replacement: "False", Scope: []string{"Properties"}, Details: []Detail{
			{Attribute: "Properties", Name: "Image", Path: "/Properties/Image", ChangeType: "Modify", Before: "a", After: "b", RequiresRecreation: "Never", ChangeSource: "ParameterReference", CausingEntity: "Image"},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
	if got := Diff(old, map[string]string{"Image": "a"}, old, map[string]string{"Image": "a"}); len(got) != 0 {
		t.Errorf("a template against itself: %+v", got)
	}
	if got := Diff(nil, nil, next, nil); len(got) != 4 {
		t.Errorf("against nothing: %d changes, want 4 adds", len(got))
	}
}

func TestRequiresRecreation(t *testing.T) {
	tests := []struct{ typ, prop, want string }{
		{"AWS::DynamoDB::Table", "TableName", "Always"},
		{"AWS::DynamoDB::Table", "BillingMode", "Never"},
		{"AWS::IAM::Policy", "PolicyDocument", "Never"},
		{"Custom::EnvControllerFunction", "Parameters", "Conditionally"},
	}
	for _, tt := range tests {
		if got := RequiresRecreation(tt.typ, tt.prop); got != tt.want {
			t.Errorf("RequiresRecreation(%s, %s) = %s, want %s", tt.typ, tt.prop, got, tt.want)
		}
	}
}

func TestParseRefusesAliasBombs(t *testing.T) {
	// Nine levels of ten aliases each expand to 10^9 values.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 8; i++ {
		ref := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(ref+", ", 10), ", "))
	}
	b.WriteString("Resources: {R: {Type: X, Properties: {P: *a8}}}\n")
	if _, err := Parse([]byte(b.String())); err == nil {
		t.Fatal("an alias bomb parsed")
	}
}
