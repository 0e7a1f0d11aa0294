package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

const envEdgeDir = "testdata/env-edge"

// TestEnvironmentEdgeWorkspace renders testdata/env-edge (one environment
// per feature: imported certificates, the access-log bucket, CloudFront,
// the application's domain) and checks each template against AWS's
// resource schemas and for the resources the feature adds.
func TestEnvironmentEdgeWorkspace(t *testing.T) {
	ws, err := workspace.Load(envEdgeDir)
	if err != nil {
		t.Fatal(err)
	}
	// CloudFront with the application's domain and no cdn.certificate is
	// refused (Copilot copies the viewer certificate to us-east-1 with a
	// Lambda), so the domain is given to the other environments only.
	var stacks []Stack
	for _, env := range []string{"cdn", "cdncert", "domain", "https", "logs"} {
		opts := seedOptions
		if env != "cdn" {
			opts.AppDomain = "example.com"
		}
		st, diags, err := Render(ws, []string{env}, nil, opts)
		if err != nil {
			t.Fatalf("render %s: %v\n%v", env, err, diags)
		}
		stacks = append(stacks, st...)
	}
	want := map[string][]string{
		"edge-https":   {"HTTPSListener:AWS::ElasticLoadBalancingV2::Listener@ExportHTTPSListener", "HTTPSImportCertificate2:AWS::ElasticLoadBalancingV2::ListenerCertificate@ExportHTTPSListener", "InternalHTTPSImportCertificate2:AWS::ElasticLoadBalancingV2::ListenerCertificate@ExportInternalHTTPSListener"},
		"edge-logs":    {"ELBAccessLogsBucket:AWS::S3::Bucket", "ELBAccessLogsBucketPolicy:AWS::S3::BucketPolicy@CreateALB"},
		"edge-cdncert": {"CloudFrontDistribution:AWS::CloudFront::Distribution@CreateALB", "HTTPSCert:AWS::CertificateManager::Certificate@DelegateDNS", "HTTPSListener:AWS::ElasticLoadBalancingV2::Listener@ExportHTTPSListener"},
		"edge-cdn":     {"CloudFrontDistribution:AWS::CloudFront::Distribution@CreateALB", "CloudFrontOriginAccessControl:AWS::CloudFront::OriginAccessControl"},
		"edge-domain":  {"HTTPSListener:AWS::ElasticLoadBalancingV2::Listener@ExportHTTPSListener", "EnvironmentHostedZone:AWS::Route53::HostedZone@DelegateDNS", "DelegateDNSAction:AWS::Route53::RecordSet@DelegateDNS", "HTTPSCert:AWS::CertificateManager::Certificate@DelegateDNS"},
	}
	if len(stacks) != len(want) {
		t.Fatalf("rendered %d stacks, want %d", len(stacks), len(want))
	}
	for _, st := range stacks {
		t.Run(st.Name, func(t *testing.T) {
			validateTemplate(t, st.Name, st.Template)
			facts := resourceFacts(t, parseTemplate(t, st.Template))
			for _, f := range want[st.Name] {
				if !slices.Contains(facts, f) {
					t.Errorf("%s lacks %s", st.Name, f)
				}
			}
			if _, fixed := st.Fixed["AppDNSName"]; !fixed {
				t.Errorf("AppDNSName is not Fixed: deploy would let another domain replace the environment's zone")
			}
			if _, refused := st.Unrendered["Aliases"]; refused != (st.Parameters["AppDNSName"] == "") {
				t.Errorf("AppDNSName = %q but Unrendered = %v: deploy refuses live aliases exactly when no domain is rendered", st.Parameters["AppDNSName"], st.Unrendered)
			}
			if !slices.Contains(st.CarryLive, "HTTPSCert") || !slices.Contains(st.CarryLive, "ELBAccessLogsBucketCleanerAction") {
				t.Errorf("CarryLive = %v: a Copilot stack's custom resources must be kept", st.CarryLive)
			}
		})
	}
}

// An environment with an imported public certificate keeps it on the
// listener even with the application's domain, as Copilot does: the
// domain's certificate and zone are then not rendered.
func TestImportedCertificatesWinOverTheDomain(t *testing.T) {
	ws := loadWorkspace(t, "demo", map[string]string{"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\nhttp:\n  public:\n    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/a]\n"})
	opts := seedOptions
	opts.AppDomain = "example.com"
	stacks, diags, err := Render(ws, nil, nil, opts)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	root := parseTemplate(t, stacks[0].Template)
	if got := flowString(t, nodeAt(root, "Resources", "HTTPSListener", "Properties", "Certificates")); !strings.Contains(got, "certificate/a") {
		t.Errorf("listener certificates = %s, want the imported one", got)
	}
	for _, id := range []string{"HTTPSCert", "EnvironmentHostedZone", "DelegateDNSAction"} {
		if nodeAt(root, "Resources", id) != nil {
			t.Errorf("%s rendered beside imported certificates; Copilot leaves it out", id)
		}
	}
}
