package cfn

import "testing"

// FuzzParseDiff checks that any input either fails to parse or diffs
// against itself with no changes, without panicking.
func FuzzParseDiff(f *testing.F) {
	f.Add([]byte("Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Sub '${X}'}\n"))
	f.Add([]byte(`{"Resources":{"A":{"Type":"T","Properties":{"P":{"Fn::GetAtt":["B","Arn"]}}}}}`))
	f.Add([]byte("a: &x [1]\nb: *x\nResources: {}\n"))
	f.Add([]byte("Parameters: {P: {Type: String, NoEcho: true}}\nResources: {R: {Type: X, Properties: {V: !Ref P}}}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		tmpl, err := Parse(body)
		if err != nil {
			return
		}
		params := map[string]string{"P": "v", "X": "y"}
		if got := Diff(tmpl, params, tmpl, params); len(got) != 0 {
			t.Errorf("template differs from itself: %+v", got)
		}
		_ = Diff(nil, nil, tmpl, params)
	})
}
