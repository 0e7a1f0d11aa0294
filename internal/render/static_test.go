package render

import (
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

const staticSiteDir = "testdata/static-site"

// Copilot v1.33's Static Site template (workloads/services/static-site/cf.yml,
// and its testdata static-site.stack.yml) for a site with an alias and an
// imported certificate: these resources, parameters AppName, EnvName,
// WorkloadName, AddonsTemplateURL (default "") and ArtifactKeyARN, the
// condition HasAddons, and the outputs below.
var copilotStaticSiteResources = []string{
	"AddonsStack:AWS::CloudFormation::Stack@HasAddons",
	"Bucket:AWS::S3::Bucket",
	"BucketPolicyForCloudFront:AWS::S3::BucketPolicy",
	"CloudFrontDistribution:AWS::CloudFront::Distribution",
	"CloudFrontOriginAccessControl:AWS::CloudFront::OriginAccessControl",
	"CloudFrontViewerRequestRewriteFunction:AWS::CloudFront::Function",
	"CopyAssetsStateMachine:AWS::StepFunctions::StateMachine",
	"CopyAssetsStateMachineRole:AWS::IAM::Role",
	"EnvManagerS3Access:AWS::IAM::Policy",
	"TriggerStateMachineAction:Custom::TriggerStateMachine",
	"TriggerStateMachineFunction:AWS::Lambda::Function",
	"TriggerStateMachineFunctionRole:AWS::IAM::Role",
}

func renderStaticSiteDir(t *testing.T) Stack {
	t.Helper()
	ws, err := workspace.Load(staticSiteDir)
	if err != nil {
		t.Fatal(err)
	}
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render %s: %v\n%v", staticSiteDir, err, diags)
	}
	if len(stacks) != 2 || stacks[1].Kind != string(workspace.StaticSite) {
		t.Fatalf("want the environment and the site, got %d stacks", len(stacks))
	}
	validateTemplate(t, stacks[1].Name, stacks[1].Template)
	return stacks[1]
}

func TestStaticSiteMatchesCopilot(t *testing.T) {
	site := renderStaticSiteDir(t)
	root := parseTemplate(t, site.Template)

	// The copy machinery is Copilot's Lambda and state machine; autopilot
	// puts the files itself (deploy carries these over, retained).
	want := without(copilotStaticSiteResources, "CopyAssetsStateMachine:AWS::StepFunctions::StateMachine", "CopyAssetsStateMachineRole:AWS::IAM::Role",
		"TriggerStateMachineAction:Custom::TriggerStateMachine", "TriggerStateMachineFunction:AWS::Lambda::Function", "TriggerStateMachineFunctionRole:AWS::IAM::Role")
	if diff := cmp.Diff(want, resourceFacts(t, root)); diff != "" {
		t.Errorf("resources (-Copilot's without the copy machinery +rendered):\n%s", diff)
	}
	// ArtifactKeyARN only reaches the copy machinery's role.
	if got, want := sectionKeys(root, "Parameters"), []string{"AddonsTemplateURL", "AppName", "EnvName", "WorkloadName"}; !slices.Equal(got, want) {
		t.Errorf("parameters = %q, want %q", got, want)
	}
	if got, want := sectionKeys(root, "Outputs"), []string{"CloudFrontDistributionAlternativeDomainName", "CloudFrontDistributionDomainName"}; !slices.Equal(got, want) {
		t.Errorf("outputs = %q, want %q", got, want)
	}
	dist := nodeAt(root, "Resources", "CloudFrontDistribution", "Properties", "DistributionConfig")
	got := map[string]string{
		"aliases":     flowString(t, get(dist, "Aliases")),
		"certificate": flowString(t, get(dist, "ViewerCertificate")),
		"cache":       flowString(t, nodeAt(dist, "DefaultCacheBehavior", "CachePolicyId")),
		"protocol":    flowString(t, nodeAt(dist, "DefaultCacheBehavior", "ViewerProtocolPolicy")),
		"origin":      flowString(t, get(dist, "Origins")),
		"oac name":    flowString(t, nodeAt(root, "Resources", "CloudFrontOriginAccessControl", "Properties", "OriginAccessControlConfig", "Name")),
		"policy":      flowString(t, nodeAt(root, "Resources", "EnvManagerS3Access", "Properties", "PolicyName")),
		"params":      strings.Join([]string{site.Parameters["AppName"], site.Parameters["EnvName"], site.Parameters["WorkloadName"], site.Parameters["AddonsTemplateURL"]}, ","),
	}
	wantFacts := map[string]string{
		"aliases":     "[www.example.com]",
		"certificate": "{AcmCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0e5a6e11-b022-45b1-9339-38fbfd6db3e2', MinimumProtocolVersion: TLSv1, SslSupportMethod: sni-only}",
		"cache":       "658327ea-f89d-4fab-a63d-7e88639e58f6",
		"protocol":    "redirect-to-https",
		"origin":      "[{Id: !Sub 'copilot-${AppName}-${EnvName}-${WorkloadName}', DomainName: !GetAtt Bucket.RegionalDomainName, OriginAccessControlId: !Ref CloudFrontOriginAccessControl, S3OriginConfig: {OriginAccessIdentity: \"\"}}]",
		"oac name":    "brochure-test-www",
		"policy":      "!Sub ${WorkloadName}-S3Access",
		"params":      "brochure,test,www,",
	}
	if diff := cmp.Diff(wantFacts, got); diff != "" {
		t.Errorf("Copilot's facts (-want +got):\n%s", diff)
	}
	if got := site.Tags["copilot-service"]; got != "www" {
		t.Errorf("copilot-service tag = %q", got)
	}
}

// The files as Copilot's upload walks them: exclude then reinclude, `*`
// not crossing a /, so site/docs/guide/index.md stays, as it does there.
func TestStaticSiteFiles(t *testing.T) {
	site := renderStaticSiteDir(t)
	got := map[string]string{}
	for _, f := range site.SiteFiles {
		got[f.Key] = f.Source + " " + f.ContentType
		body, err := os.ReadFile(filepath.Join(staticSiteDir, f.Source))
		if err != nil || string(body) != string(f.Body) || int64(len(body)) != f.Size || len(f.SHA256) != 64 || len(f.MD5) != 32 {
			t.Errorf("%s: body, size or digests do not match the file (%v)", f.Key, err)
		}
	}
	want := map[string]string{
		"index.html":            "site/index.html text/html; charset=utf-8",
		"css/main.css":          "site/css/main.css text/css; charset=utf-8",
		"docs/guide/index.html": "site/docs/guide/index.html text/html; charset=utf-8",
		"docs/guide/index.md":   "site/docs/guide/index.md " + mime.TypeByExtension(".md"),
		"drafts/launch.md":      "site/drafts/launch.md " + mime.TypeByExtension(".md"),
		"robots.txt":            "robots.txt " + mime.TypeByExtension(".txt"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("site files (-want +got):\n%s", diff)
	}
}

func TestStaticSiteFileEntries(t *testing.T) {
	files := map[string]string{
		"web/index.html":   "home",
		"web/about/a.html": "about",
		"web/x.txt":        "x",
		"logo.svg":         "<svg/>",
	}
	tests := []struct {
		name, files string
		want        []string
	}{
		{"a folder without recursive gives its own files only, as Copilot's walk does", "  - source: web\n", []string{"index.html", "x.txt"}},
		{"destination prefixes the keys; a leading / is dropped (an S3 key with one is unreachable from CloudFront)",
			"  - source: web\n    recursive: true\n    destination: /v2\n", []string{"v2/about/a.html", "v2/index.html", "v2/x.txt"}},
		{"a file source keeps its name, or takes destination as its key", "  - source: logo.svg\n  - source: web/x.txt\n    destination: y.txt\n", []string{"logo.svg", "y.txt"}},
		{"exclude * and reinclude one pattern", "  - source: web\n    recursive: true\n    exclude: '*'\n    reinclude: '*.html'\n", []string{"about/a.html", "index.html"}},
		{"the whole workspace, its manifests left out by one pattern a level", "  - source: ./\n    recursive: true\n    exclude: ['copilot/*', 'copilot/*/*', 'copilot/*/*/*']\n",
			[]string{"logo.svg", "web/about/a.html", "web/index.html", "web/x.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadSite(t, "name: www\ntype: Static Site\nfiles:\n"+tc.files, files)
			stacks, diags, err := Render(ws, nil, nil, seedOptions)
			if err != nil {
				t.Fatalf("render: %v\n%v", err, diags)
			}
			var keys []string
			for _, f := range stacks[1].SiteFiles {
				keys = append(keys, f.Key)
			}
			if !slices.Equal(keys, tc.want) {
				t.Errorf("keys = %q, want %q", keys, tc.want)
			}
			validateTemplate(t, stacks[1].Name, stacks[1].Template)
		})
	}
}

// A manifest in a pull request must not publish the runner's files on a
// public site: a source or a symlink that leads out of the workspace is
// refused, naming the manifest's line.
func TestStaticSiteRefusesFilesOutsideTheWorkspace(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "credentials"), []byte("aws_secret_access_key=hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, files string
		link        string // a symlink web/creds to the outside file
		want        string
	}{
		{"dot-dot source", "  - source: ../outside\n", "", "must be a path inside the workspace"},
		{"absolute source", "  - source: /etc/passwd\n", "", "must be a path inside the workspace"},
		{"symlink to a file outside", "  - source: web\n", "creds", "leads out of the workspace"},
		{"symlink as the source", "  - source: web/creds\n", "creds", "leads out of the workspace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadSite(t, "name: www\ntype: Static Site\nfiles:\n"+tc.files, map[string]string{"web/index.html": "home"})
			if tc.link != "" {
				if err := os.Symlink(filepath.Join(outside, "credentials"), filepath.Join(ws.Root, "web", tc.link)); err != nil {
					t.Fatal(err)
				}
			}
			stacks, diags, err := Render(ws, nil, nil, seedOptions)
			if err == nil {
				for _, s := range stacks {
					for _, f := range s.SiteFiles {
						if strings.Contains(string(f.Body), "hunter2") {
							t.Fatalf("the outside file would be published as %s", f.Key)
						}
					}
				}
				t.Fatal("render succeeded; want a refusal")
			}
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool {
				return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) && d.Line == 4 && strings.HasSuffix(d.File, "copilot/www/manifest.yml")
			}) {
				t.Errorf("findings do not refuse at line 4 with %q:\n%v", tc.want, diags)
			}
		})
	}
}

// An alias needs a certificate: Copilot's other form requests one through
// the application's domain with its Lambdas. lint reports the refusal
// through Check.
func TestStaticSiteAliasWithoutCertificate(t *testing.T) {
	ws := loadSite(t, "name: www\ntype: Static Site\nhttp:\n  alias: www.example.com\n", nil)
	findings := Check(ws, "test", seedOptions.Vars, "")
	if !slices.ContainsFunc(findings, func(d diag.Diagnostic) bool {
		return d.Rule == ruleUnsupported && d.Line == 4 && strings.Contains(d.Message, "http.alias without http.certificate") && strings.Contains(d.Fix, "us-east-1")
	}) {
		t.Errorf("Check findings do not refuse the alias at line 4:\n%v", findings)
	}
}

func TestTruncateWithHash(t *testing.T) {
	long := strings.Repeat("a", 30) + "-" + strings.Repeat("b", 30) + "-site"
	got := truncateWithHash(long, 58, 6)
	if len(got) != 64 || got[:58] != long[:58] || got == truncateWithHash(long+"x", 58, 6) {
		t.Errorf("truncateWithHash(%d chars) = %q: want the first 58 characters and 6 hex digits of the hash, distinct per name", len(long), got)
	}
	if got := truncateWithHash("short", 58, 6); got != "short" {
		t.Errorf("a short name changed: %q", got)
	}
}

// loadSite loads a workspace with environment test and the Static Site
// www, plus other files by path.
func loadSite(t *testing.T, site string, files map[string]string) *workspace.Workspace {
	t.Helper()
	all := map[string]string{"copilot/environments/test/manifest.yml": testEnvManifest, "copilot/www/manifest.yml": site}
	for k, v := range files {
		all[k] = v
	}
	return loadWorkspace(t, "app", all)
}
