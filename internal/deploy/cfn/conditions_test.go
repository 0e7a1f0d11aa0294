package cfn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const conditionalTemplate = `Parameters:
  NATWorkloads: {Type: String, Default: ""}
  Mode: {Type: String, Default: a}
Conditions:
  CreateNAT: !Not [!Equals [!Ref NATWorkloads, ""]]
  IsA: !Equals [!Ref Mode, a]
  Both: !And [!Condition CreateNAT, !Condition IsA]
  Either: !Or [!Condition CreateNAT, !Condition IsA]
  InRegion: !Equals [!Ref "AWS::Region", us-east-1]
Resources:
  Always: {Type: AWS::EC2::VPC}
  Nat: {Type: AWS::EC2::NatGateway, Condition: CreateNAT}
  OnlyA: {Type: AWS::EC2::EIP, Condition: IsA}
  BothRes: {Type: AWS::EC2::EIP, Condition: Both}
  EitherRes: {Type: AWS::EC2::EIP, Condition: Either}
  Regional: {Type: AWS::EC2::EIP, Condition: InRegion}
`

func TestActiveEvaluatesConditions(t *testing.T) {
	tmpl, err := Parse([]byte(conditionalTemplate))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		params map[string]string
		want   []string
	}{
		// Regional depends on a pseudo parameter: unknown offline, so shown.
		{map[string]string{}, []string{"Always", "EitherRes", "OnlyA", "Regional"}},
		{map[string]string{"NATWorkloads": "api"}, []string{"Always", "BothRes", "EitherRes", "Nat", "OnlyA", "Regional"}},
		{map[string]string{"Mode": "b"}, []string{"Always", "Regional"}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, sortedKeys(tmpl.Active(tc.params))); diff != "" {
			t.Errorf("Active(%v) (-want +got):\n%s", tc.params, diff)
		}
	}
}

// Turning a condition on adds its resources, turning it off removes them:
// what CloudFormation's change set shows when NATWorkloads changes.
func TestDiffFollowsConditions(t *testing.T) {
	tmpl, err := Parse([]byte(conditionalTemplate))
	if err != nil {
		t.Fatal(err)
	}
	on := Diff(tmpl, map[string]string{}, tmpl, map[string]string{"NATWorkloads": "api"})
	off := Diff(tmpl, map[string]string{"NATWorkloads": "api"}, tmpl, map[string]string{})
	summary := func(cs []Change) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Action+" "+c.LogicalID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"Add BothRes", "Add Nat"}, summary(on)); diff != "" {
		t.Errorf("enabling NAT (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Remove BothRes", "Remove Nat"}, summary(off)); diff != "" {
		t.Errorf("disabling NAT (-want +got):\n%s", diff)
	}
}

// A change inside a nested property is reported at the value that changed,
// with list items matched by name: adding a variable shows that variable,
// not the whole list again.
func TestDiffPointsAtTheChangedValue(t *testing.T) {
	tmpl := func(vars string) *Template {
		tp, err := Parse([]byte(`Resources:
  Service:
    Type: AWS::AppRunner::Service
    Properties:
      SourceConfiguration:
        ImageRepository:
          ImageConfiguration:
            RuntimeEnvironmentVariables:` + vars))
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	before := tmpl("\n              - {Name: A, Value: '1'}\n              - {Name: LOG_LEVEL, Value: info}\n")
	after := tmpl("\n              - {Name: A, Value: '1'}\n              - {Name: B, Value: new}\n              - {Name: LOG_LEVEL, Value: debug}\n")
	var got []string
	for _, d := range Diff(before, nil, after, nil)[0].Details {
		got = append(got, d.ChangeType+" "+d.Path+" "+d.Before+" -> "+d.After)
	}
	const vars = "/Properties/SourceConfiguration/ImageRepository/ImageConfiguration/RuntimeEnvironmentVariables"
	want := []string{
		"Add " + vars + `/1  -> {"Name":"B","Value":"new"}`,
		"Modify " + vars + "/2/Value info -> debug",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
