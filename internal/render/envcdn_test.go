package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// CloudFront for an application with a domain and no cdn.certificate: as
// Copilot v1.33's cdn-resources.yml, the viewer certificate is the
// environment's (under DelegateDNS) and the aliases are the services'. In
// us-east-1 that is HTTPSCert itself; elsewhere Copilot copies it there
// with CertificateReplicator (a Lambda), which only a stack Copilot made
// has: render names it Live, so deploy keeps it there and refuses a new
// stack, saying why.
func TestCDNWithTheEnvironmentsCertificate(t *testing.T) {
	ws := loadWorkspace(t, "shop", map[string]string{
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\ncdn:\n  terminate_tls: true\n  static_assets: {location: assets.s3.us-east-1.amazonaws.com, alias: static.test.shop.example.com, path: static/*}\n",
		"copilot/web/manifest.yml":               "name: web\ntype: Load Balanced Web Service\nimage: {location: nginx, port: 80}\nhttp: {path: /, alias: www.test.shop.example.com}\n",
	})
	render := func(region string) Stack {
		opts := seedOptions
		opts.AppDomain, opts.Region = "example.com", region
		stacks, diags, err := Render(ws, nil, nil, opts)
		if err != nil {
			t.Fatalf("render in %s: %v\n%v", region, err, diags)
		}
		validateTemplate(t, stacks[0].Name, stacks[0].Template)
		return stacks[0]
	}
	us := render("us-east-1")
	root := parseTemplate(t, us.Template)
	checkFacts(t, root, map[string]string{
		"Resources.CloudFrontDistribution.Type":                                            "AWS::CloudFront::Distribution",
		"Resources.CloudFrontDistribution.Condition":                                       "CreateALB",
		"Resources.CloudFrontDistribution.Properties.DistributionConfig.ViewerCertificate": "!If [DelegateDNS, {AcmCertificateArn: !Ref HTTPSCert, MinimumProtocolVersion: TLSv1, SslSupportMethod: sni-only}, !Ref 'AWS::NoValue']",
		"Resources.CloudFrontDistribution.Properties.DistributionConfig.Aliases":           "[www.test.shop.example.com, static.test.shop.example.com]",
		"Resources.HTTPSCert.Type":                                                         "AWS::CertificateManager::Certificate",
	})
	if len(us.Live) != 0 {
		t.Errorf("Live = %v in us-east-1: nothing needs copying", us.Live)
	}

	eu := render("eu-west-1")
	root = parseTemplate(t, eu.Template)
	for _, key := range []string{"ViewerCertificate", "Aliases"} {
		if nodeAt(root, "Resources", "CloudFrontDistribution", "Properties", "DistributionConfig", key) != nil {
			t.Errorf("%s rendered in eu-west-1: the environment's certificate there is not CloudFront's", key)
		}
	}
	why := "cdn without cdn.certificate in eu-west-1 (CloudFront takes certificates from us-east-1 only; Copilot copies the environment's certificate there with its CertificateReplicator Lambda)"
	if diff := cmp.Diff([]LiveResource{{ID: "CertificateReplicator", For: why}, {ID: "CertificateReplicatorFunction", For: why}}, eu.Live); diff != "" {
		t.Errorf("Live (-want +got):\n%s", diff)
	}
}
