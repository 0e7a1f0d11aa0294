package report

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

func TestMarker(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		want   string
	}{
		{
			name:   "plain",
			target: Target{App: "demo", Env: "test", Account: "123456789012", Region: "us-east-1"},
			want:   "<!-- autopilot:plan app=demo env=test account=123456789012 region=us-east-1 -->",
		},
		{
			name:   "offline plan has no account",
			target: Target{App: "demo", Env: "prod"},
			want:   "<!-- autopilot:plan app=demo env=prod account= region= -->",
		},
		{
			name:   "a hostile name cannot end the comment or add a field",
			target: Target{App: "x --> <b>hi</b>", Env: "a env=b", Account: "%41"},
			want:   "<!-- autopilot:plan app=x%20--%3E%20%3Cb%3Ehi%3C%2Fb%3E env=a%20env%3Db account=%2541 region= -->",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.target.Marker()
			if got != tc.want {
				t.Errorf("Marker() = %q, want %q", got, tc.want)
			}
			back, ok := ParseMarker("some text\n" + got + "\nmore")
			if !ok {
				t.Fatalf("ParseMarker did not find %q", got)
			}
			if diff := cmp.Diff(tc.target, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMarkerRejects(t *testing.T) {
	for _, body := range []string{
		"",
		"<!-- autopilot:plan app=a env=b account=c -->",                      // a field missing
		"<!-- autopilot:plan app=a env=b account=c region=d extra=e -->",     // a field unknown
		"<!-- autopilot:plan app=a env=b account=c region=d",                 // not closed
		"<!-- autopilot:plan app=%zz env=b account=c region=d -->",           // bad escape
		"text <!-- autopilot:plan app=a env=b account=c region=d --> inline", // not its own line
	} {
		if got, ok := ParseMarker(body); ok {
			t.Errorf("ParseMarker(%q) = %+v, want not found", body, got)
		}
	}
}

func TestFingerprint(t *testing.T) {
	for _, fp := range []string{"sha256:0f1e2d", "", "with space -->"} {
		line := FingerprintLine(fp)
		if strings.Count(line, "-->") != 1 {
			t.Errorf("FingerprintLine(%q) = %q: the value closes the comment", fp, line)
		}
		got, ok := ParseFingerprint("x\n" + line + "\n")
		if !ok || got != fp {
			t.Errorf("ParseFingerprint(FingerprintLine(%q)) = %q, %v", fp, got, ok)
		}
	}
	if _, ok := ParseFingerprint("no fingerprint here"); ok {
		t.Error("found a fingerprint in a body without one")
	}
}

func FuzzMarkerRoundTrip(f *testing.F) {
	f.Add("demo", "test", "123456789012", "us-east-1")
	f.Add("a b", "-->", "%", "\n")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, app, env, account, region string) {
		in := Target{App: app, Env: env, Account: account, Region: region}
		m := in.Marker()
		if strings.ContainsAny(m, "\r\n") || strings.Count(m, "-->") != 1 || !strings.HasSuffix(m, "-->") {
			t.Fatalf("marker %q is not one closed line", m)
		}
		got, ok := ParseMarker(m)
		if !ok || got != in {
			t.Fatalf("round trip of %+v gave %+v, %v", in, got, ok)
		}
		fp, ok := ParseFingerprint(FingerprintLine(app))
		if !ok || fp != app {
			t.Fatalf("fingerprint %q round-tripped to %q, %v", app, fp, ok)
		}
	})
}

// TestEachCommentCarriesItsEnvironmentsReview: with two environments, each
// comment carries its own environment's fingerprint and the record that
// hashes to it, not the whole plan's.
func TestEachCommentCarriesItsEnvironmentsReview(t *testing.T) {
	p := &deploy.Plan{App: "shop", Account: "123456789012", Region: "us-east-1", Fingerprint: "sha256:whole",
		Stacks: []deploy.StackPlan{{StackName: "shop-test", Env: "test"}, {StackName: "shop-prod", Env: "prod"}},
		Records: []deploy.Record{
			{Env: "test", Stacks: []deploy.StackRecord{{Stack: "shop-test", Template: "aa"}}},
			{Env: "prod", Stacks: []deploy.StackRecord{{Stack: "shop-prod", Template: "bb", Changes: []deploy.ChangeRecord{{Action: "Add", Resource: "Db", Type: "AWS::RDS::DBCluster"}}}}},
		}}
	comments := PlanComments(p, RunInfo{})
	if len(comments) != 2 {
		t.Fatalf("%d comments, want 2", len(comments))
	}
	for i, c := range comments {
		want := p.Records[i]
		fp, ok := ParseFingerprint(c.Body)
		if !ok || fp != want.Fingerprint() {
			t.Errorf("%s: fingerprint %q, want the environment's %q", c.Env, fp, want.Fingerprint())
		}
		got, ok := ParseRecord(c.Body)
		if !ok || got.Fingerprint() != want.Fingerprint() || got.Env != want.Env {
			t.Errorf("%s: record %+v (%v), want %+v", c.Env, got, ok, want)
		}
	}
	if _, ok := ParseRecord("<!-- autopilot:record not-base64! -->"); ok {
		t.Error("a broken record line parsed")
	}
}
