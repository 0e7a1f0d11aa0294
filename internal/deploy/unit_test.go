package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
)

func TestChangeSetError(t *testing.T) {
	tests := []struct {
		reason string
		want   bool
	}{
		{"The submitted information didn't contain changes. Submit different information to create a change set.", true},
		{"No updates are to be performed.", true},
		{"Transform AWS::Include failed with: S3 bucket [doesnotexist] does not exist.", false},
		{"", false},
	}
	for _, tt := range tests {
		err := changeSetError(tt.reason)
		if got := errors.Is(err, ErrNoChanges); got != tt.want {
			t.Errorf("changeSetError(%q) = %v, want ErrNoChanges: %v", tt.reason, err, tt.want)
		}
		if !tt.want && !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("changeSetError(%q) = %q, want the reason in it", tt.reason, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	base := func() []Stack {
		return []Stack{
			{Name: "a", Template: []byte("t1"), Parameters: map[string]string{"X": "1", "Y": "2"},
				Images: []Image{{Workload: "api", Digest: "sha256:1"}, {Workload: "web", Digest: "sha256:2"}}},
			{Name: "b", Template: []byte("t2"), Assets: map[string][]byte{"U": []byte("addons")}},
		}
	}
	Fingerprint := func(stacks []Stack) string {
		var r Record
		for _, s := range stacks {
			r.Stacks = append(r.Stacks, inputsOf(s))
		}
		return r.Fingerprint()
	}
	want := Fingerprint(base())
	if !strings.HasPrefix(want, "sha256:") {
		t.Fatalf("fingerprint %q lacks its algorithm", want)
	}
	tests := []struct {
		name   string
		change func([]Stack) []Stack
		same   bool
	}{
		{"stacks reordered", func(s []Stack) []Stack { return []Stack{s[1], s[0]} }, true},
		{"images reordered", func(s []Stack) []Stack { s[0].Images[0], s[0].Images[1] = s[0].Images[1], s[0].Images[0]; return s }, true},
		{"labels changed", func(s []Stack) []Stack { s[0].Kind = "environment"; return s }, true},
		{"template changed", func(s []Stack) []Stack { s[0].Template = []byte("t1 "); return s }, false},
		{"parameter changed", func(s []Stack) []Stack { s[0].Parameters["X"] = "3"; return s }, false},
		{"parameter value moved between keys", func(s []Stack) []Stack { s[0].Parameters = map[string]string{"X": "12", "Y": ""}; return s }, false},
		{"digest changed", func(s []Stack) []Stack { s[0].Images[1].Digest = "sha256:3"; return s }, false},
		{"asset changed", func(s []Stack) []Stack { s[1].Assets["U"] = []byte("addons2"); return s }, false},
		{"object added", func(s []Stack) []Stack {
			s[1].Objects = map[string][]byte{"manual/env-files/a.env/x.env": []byte("A=1")}
			return s
		}, false},
		{"stack added", func(s []Stack) []Stack { return append(s, Stack{Name: "c"}) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fingerprint(tt.change(base()))
			if (got == want) != tt.same {
				t.Errorf("fingerprint same = %v, want %v", got == want, tt.same)
			}
		})
	}
}

func TestMasker(t *testing.T) {
	s := Stack{
		Template:   []byte("Parameters:\n  Pw: {Type: String, NoEcho: true}\n  Pin: {Type: String, NoEcho: true}\n  Name: {Type: String}\nResources:\n  R: {Type: AWS::SNS::Topic}\n"),
		Parameters: map[string]string{"Pw": "s3cr3t-value", "Pin": "42", "Name": "s3cr3t-value-not"},
	}
	m := newMasker(s)
	tests := []struct{ in, want string }{
		{"password is s3cr3t-value.", "password is ****."},
		{"42", "****"},
		{"port 8042", "port 8042"}, // short secrets only masked whole
		{"{{resolve:secretsmanager:db:SecretString:password}}", "****"},
		{"postgres://u:{{resolve:ssm-secure:pw}}@host", "postgres://u:****@host"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		if got := m.text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOrder(t *testing.T) {
	stacks := []Stack{
		{Name: "svc", DependsOn: []string{"env"}},
		{Name: "worker", DependsOn: []string{"env", "svc"}},
		{Name: "env", DependsOn: []string{"deployed-elsewhere"}},
	}
	sorted, deps, err := order(stacks)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sorted {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"env", "svc", "worker"}, names); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]int{nil, {0}, {0, 1}}, deps); diff != "" {
		t.Errorf("deps (-want +got):\n%s", diff)
	}

	bad := []struct {
		name   string
		stacks []Stack
		want   string
	}{
		{"cycle", []Stack{{Name: "a", DependsOn: []string{"b"}}, {Name: "b", DependsOn: []string{"a"}}}, "cycle: a -> b -> a"},
		{"duplicate", []Stack{{Name: "a"}, {Name: "a"}}, "given twice"},
		{"unnamed", []Stack{{}}, "no name"},
	}
	for _, tt := range bad {
		if _, _, err := order(tt.stacks); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestCarryEnvController(t *testing.T) {
	// Copilot's deployed template comes back as JSON from GetTemplate in
	// some stacks; the carried resources must keep every property.
	live := `{"Parameters":{"AppName":{"Type":"String"},"EnvName":{"Type":"String"},"Unused":{"Type":"String"}},
"Conditions":{"HasNAT":{"Fn::Equals":[{"Ref":"EnvName"},"prod"]}},
"Resources":{
 "EnvControllerAction":{"Type":"Custom::EnvControllerFunction","Condition":"HasNAT","Properties":{"ServiceToken":{"Fn::GetAtt":["EnvControllerFunction","Arn"]},"EnvStack":{"Fn::Sub":"${AppName}-${EnvName}"},"Parameters":["NATWorkloads"]}},
 "EnvControllerFunction":{"Type":"AWS::Lambda::Function","Properties":{"Role":{"Fn::GetAtt":["EnvControllerRole","Arn"]}}},
 "EnvControllerRole":{"Type":"AWS::IAM::Role","DeletionPolicy":"Retain","Properties":{}},
 "Service":{"Type":"AWS::AppRunner::Service","Properties":{}}}}`
	next := "Parameters:\n  AppName: {Type: String}\nResources:\n  Service:\n    Type: AWS::AppRunner::Service\n    Properties: {}\n"

	out, extra, err := carryCustomResources([]byte(live), []byte(next))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"EnvName"}, extra); diff != "" {
		t.Errorf("extra parameters (-want +got):\n%s", diff)
	}
	got, err := cfn.Parse(out)
	if err != nil {
		t.Fatalf("result does not parse: %v\n%s", err, out)
	}
	want, _ := cfn.Parse([]byte(live))
	for _, id := range []string{"EnvControllerAction", "EnvControllerFunction"} {
		r, ok := got.Resources[id]
		if !ok {
			t.Fatalf("%s not carried:\n%s", id, out)
		}
		if r.DeletionPolicy != "Retain" {
			t.Errorf("%s DeletionPolicy %q, want Retain", id, r.DeletionPolicy)
		}
		if diff := cmp.Diff(want.Resources[id].Properties, r.Properties); diff != "" {
			t.Errorf("%s properties changed (-live +carried):\n%s", id, diff)
		}
	}
	if _, ok := got.Resources["EnvControllerRole"]; ok {
		t.Error("EnvControllerRole, already retained, was carried again instead of dropping")
	}
	if _, ok := got.Other["Conditions"].(map[string]any)["HasNAT"]; !ok {
		t.Error("condition HasNAT not carried")
	}
	if _, ok := got.Parameters["Unused"]; ok {
		t.Error("an unreferenced parameter was carried")
	}

	// Nothing to carry: the template is passed through byte for byte.
	same, extra, err := carryCustomResources([]byte(next), []byte(next))
	if err != nil || string(same) != next || extra != nil {
		t.Errorf("without env controller: %q %v %v, want the template unchanged", same, extra, err)
	}
}

func TestCarryLiveKeepsDeployedCustomResources(t *testing.T) {
	live := `Parameters:
  Domain: {Type: String}
  Role: {Type: String}
Conditions:
  HasDomain: !Not [!Equals [!Ref Domain, ""]]
Resources:
  Cert:
    Type: Custom::Cert
    Condition: HasDomain
    Properties: {ServiceToken: !GetAtt CertFunction.Arn, RootRole: !Ref Role}
  CertFunction:
    Type: AWS::Lambda::Function
    Condition: HasDomain
    Properties: {Handler: index.handler}
  Cleaner:
    Type: Custom::Cleaner
    Properties: {ServiceToken: !GetAtt CleanerFunction.Arn, Bucket: !Ref Logs}
  CleanerFunction:
    Type: AWS::Lambda::Function
    Properties: {Handler: index.handler}
  Logs:
    Type: AWS::S3::Bucket
  Unused:
    Type: Custom::Unused
    Condition: HasDomain
    Properties: {ServiceToken: x}
`
	// The new template renders Cert natively and no longer has the bucket.
	next := "Parameters:\n  Domain: {Type: String}\nConditions:\n  HasDomain: !Not [!Equals [!Ref Domain, \"\"]]\nResources:\n  Cert:\n    Type: AWS::CertificateManager::Certificate\n    Condition: HasDomain\n    Properties: {DomainName: !Ref Domain}\n"
	ids := []string{"Cert", "CertFunction", "Cleaner", "CleanerFunction", "Unused"}

	out, kept, params, err := carryLive([]byte(live), map[string]string{"Domain": "example.com", "Role": "r"}, []byte(next), ids)
	if err != nil {
		t.Fatal(err)
	}
	// Cleaner needs the bucket the new template drops: it goes, and so
	// does nothing else it would take along (CleanerFunction stands alone).
	if diff := cmp.Diff([]string{"Cert", "CertFunction", "CleanerFunction", "Unused"}, kept); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Role"}, params); diff != "" {
		t.Errorf("parameters brought along (-want +got):\n%s", diff)
	}
	got, err := cfn.Parse(out)
	if err != nil {
		t.Fatalf("result does not parse: %v\n%s", err, out)
	}
	if typ := got.Resources["Cert"].Type; typ != "Custom::Cert" {
		t.Errorf("Cert is %s: the deployed custom resource must win over the native one of the same ID", typ)
	}

	// Without the domain the conditional resources do not exist: nothing
	// of them is carried.
	out, kept, _, err = carryLive([]byte(live), map[string]string{"Domain": ""}, []byte(next), ids)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"CleanerFunction"}, kept); diff != "" {
		t.Errorf("kept without the domain (-want +got):\n%s", diff)
	}
	if got, _ := cfn.Parse(out); got.Resources["Cert"].Type != "AWS::CertificateManager::Certificate" {
		t.Errorf("the rendered certificate was replaced though no custom one is deployed")
	}
}

// CloudFront keeps taking its aliases from Copilot's UniqueAliasesAction,
// which knows other workspaces' services; a listener keeps the certificate
// the manifest now imports instead of a carried custom one.
func TestCarryLiveKeepsValuesOfProviders(t *testing.T) {
	live := `Resources:
  UniqueAliasesAction: {Type: Custom::UniqueJSONValuesFunction, Properties: {ServiceToken: x}}
  HTTPSCert: {Type: Custom::CertificateValidationFunction, Properties: {ServiceToken: y}}
  Distribution:
    Type: AWS::CloudFront::Distribution
    Properties: {DistributionConfig: {Aliases: !GetAtt UniqueAliasesAction.UniqueValues, Enabled: true}}
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties: {Certificates: [{CertificateArn: !Ref HTTPSCert}], Port: 443}
`
	next := `Resources:
  Distribution:
    Type: AWS::CloudFront::Distribution
    Properties: {DistributionConfig: {Aliases: [a.example.com], Enabled: false}}
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties: {Certificates: [{CertificateArn: arn:aws:acm:us-east-1:1:certificate/imported}], Port: 443}
`
	out, _, _, err := carryLive([]byte(live), nil, []byte(next), []string{"UniqueAliasesAction", "HTTPSCert"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfn.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	config := got.Resources["Distribution"].Properties["DistributionConfig"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"Fn::GetAtt": []any{"UniqueAliasesAction", "UniqueValues"}}, config["Aliases"]); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
	if config["Enabled"] != "false" {
		t.Errorf("the rendered Enabled was overwritten: %v", config["Enabled"])
	}
	if got := cfn.Display(got.Resources["Listener"].Properties["Certificates"]); !strings.Contains(got, "imported") {
		t.Errorf("listener certificates = %s, want the imported one", got)
	}
}

// TestRecordBindsTheEffect: the same inputs with another effect (the live
// stack changed between review and deploy) hash differently, and the
// difference is named by stack and resource; physical IDs and values do
// not count.
func TestRecordBindsTheEffect(t *testing.T) {
	stack := Stack{Name: "shop-prod-api", Env: "prod", Template: []byte("t")}
	plan := func(changes ...ResourceChange) *Plan {
		p := &Plan{Stacks: []StackPlan{{StackName: stack.Name, Env: "prod", Changes: changes}}}
		seal(p, []Stack{stack}, nil)
		return p
	}
	svc := func(action Action, physical, after string, paths ...string) ResourceChange {
		c := ResourceChange{Action: action, LogicalID: "Service", PhysicalID: physical, ResourceType: "AWS::AppRunner::Service"}
		for _, p := range paths {
			c.Details = append(c.Details, PropertyChange{Path: p, After: after})
		}
		return c
	}
	reviewed := plan(svc(ActionModify, "arn:1", "a", "Properties.B", "Properties.A"))
	rec, _ := reviewed.Record("prod")
	if reviewed.Fingerprint != rec.Fingerprint() {
		t.Errorf("with one environment the plan's fingerprint %s should be the environment's %s", reviewed.Fingerprint, rec.Fingerprint())
	}
	tests := []struct {
		name string
		now  *Plan
		same bool
		want []string
	}{
		{"other physical ID, values and path order", plan(svc(ActionModify, "arn:2", "b", "Properties.A", "Properties.B")), true, nil},
		{"added instead of modified", plan(svc(ActionAdd, "", "", "Properties.A", "Properties.B")), false,
			[]string{"shop-prod-api", "resource Service (AWS::AppRunner::Service)", "reviewed Modify of Properties.A, Properties.B, now Add"}},
		{"another property", plan(svc(ActionModify, "arn:1", "a", "Properties.C")), false, []string{"now Modify of Properties.C"}},
		{"a resource more", plan(svc(ActionModify, "arn:1", "a", "Properties.B", "Properties.A"),
			ResourceChange{Action: ActionRemove, LogicalID: "Db", ResourceType: "AWS::RDS::DBCluster"}), false,
			[]string{"resource Db (AWS::RDS::DBCluster): not changed in the reviewed plan, now Remove"}},
		{"no change any more", plan(), false, []string{"stack shop-prod-api: reviewed 1 resource changes, now none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.now.Fingerprint == reviewed.Fingerprint) != tt.same {
				t.Fatalf("same fingerprint = %v, want %v", !tt.same, tt.same)
			}
			err := checkReviewed(tt.now, map[string]Reviewed{"prod": {Fingerprint: rec.Fingerprint(), Record: &rec, Where: "pull request #7"}})
			if (err == nil) != tt.same {
				t.Fatalf("checkReviewed = %v", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	t.Run("a record that does not hash to the reviewed fingerprint is not believed", func(t *testing.T) {
		forged := rec
		forged.Stacks = []StackRecord{{Stack: "elsewhere"}}
		err := checkReviewed(plan(), map[string]Reviewed{"prod": {Fingerprint: rec.Fingerprint(), Record: &forged}})
		if err == nil || strings.Contains(err.Error(), "elsewhere") || !strings.Contains(err.Error(), "not available") {
			t.Errorf("checkReviewed with a record that does not match = %v", err)
		}
	})
	t.Run("an environment that was not reviewed", func(t *testing.T) {
		err := checkReviewed(reviewed, map[string]Reviewed{"test": {Fingerprint: "sha256:x"}})
		if err == nil || !strings.Contains(err.Error(), "environment prod was not in the reviewed plan (it covered test)") {
			t.Errorf("checkReviewed = %v", err)
		}
	})
}

// A Static Site's files are part of what a reviewer approves: another file
// content under the same key is named as changed after review, and a stack
// without a site keeps the record it had.
func TestReviewedRecordCoversSiteFiles(t *testing.T) {
	site := func(body string) Stack {
		return Stack{Name: "brochure-test-www", Env: "test", Template: []byte("t"),
			Site: &Site{Files: []SiteFile{{Key: "index.html", ContentType: "text/html", SHA256: digest([]byte(body))}}}}
	}
	reviewed, now := inputsOf(site("<h1>Hello</h1>")), inputsOf(site("<script>steal()</script>"))
	if fingerprint([]StackRecord{reviewed}) == fingerprint([]StackRecord{now}) {
		t.Fatal("two different site contents hash alike")
	}
	if got := strings.Join(diffStack(reviewed, now), "\n"); !strings.Contains(got, "stack brochure-test-www: its site files changed after review") {
		t.Errorf("diff = %q, want the site files named", got)
	}
	if r := inputsOf(Stack{Name: "shop-test-api", Template: []byte("t")}); r.Files != "" {
		t.Errorf("a stack without a site has a files digest %q", r.Files)
	}
}
