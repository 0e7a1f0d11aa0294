package cfn

import (
	"slices"
	"testing"
)

func TestDanglingReferences(t *testing.T) {
	tmpl, err := Parse([]byte(`
Parameters:
  Env: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsBig: !And [!Condition IsProd, !Condition IsHuge]
Resources:
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: !Sub "${AWS::StackName} ${Env} ${!Literal} ${Local}"
      VpcId: !Ref Vpc
      Tags:
        - Key: sub-vars
          Value: !Sub ["${Local}-${Group.GroupId}-${Missing.Attr}", {Local: x}]
  Connector:
    Type: AWS::AppRunner::VpcConnector
    Condition: IsMissing
    DependsOn: [Group, Gone]
    Properties:
      SecurityGroups: [!GetAtt ServiceSecurityGroup.GroupId, !GetAtt Group.GroupId]
      Subnets: !If [NoSuchCondition, [a], !Ref "AWS::NoValue"]
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Condition: {StringEquals: {"aws:x": y}}
Outputs:
  Id:
    Condition: IsProd
    Value: {"Fn::GetAtt": "Nothing.Arn"}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range tmpl.DanglingReferences() {
		got = append(got, d.String())
	}
	want := []string{
		`resource Connector: Condition names "IsMissing", which the template does not define`,
		`resource Connector: DependsOn names "Gone", which the template does not define`,
		`resource Connector: Fn::GetAtt names "ServiceSecurityGroup", which the template does not define`,
		`resource Connector: Fn::If names "NoSuchCondition", which the template does not define`,
		`resource Group: Fn::Sub names "Local", which the template does not define`,
		`resource Group: Fn::Sub names "Missing.Attr", which the template does not define`,
		`resource Group: Ref names "Vpc", which the template does not define`,
		`condition IsBig: Condition names "IsHuge", which the template does not define`,
		`output Id: Fn::GetAtt names "Nothing", which the template does not define`,
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}
