package render

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const assetsAddon = `Parameters:
  App: {Type: String}
  Env: {Type: String}
  Name: {Type: String}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Handler: index.handler
      Runtime: nodejs18.x
      Role: arn:aws:iam::123456789012:role/fn
      Code: lambdas/fn
  SamFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: lambdas/fn/index.js
  Remote:
    Type: AWS::Lambda::Function
    Properties:
      Handler: index.handler
      Runtime: nodejs18.x
      Role: arn:aws:iam::123456789012:role/fn
      Code: {S3Bucket: somewhere, S3Key: code.zip}
`

// copilotAssetHash restates Copilot's zipAsset hash: SHA-256 over each
// file's "<name relative to the folder> <mode>" then its content, in walk
// (lexical) order; a single file zipped is named by its base name.
func copilotAssetHash(t *testing.T, dir string, names ...string) string {
	t.Helper()
	h := sha256.New()
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := os.ReadFile(filepath.Join(dir, n))
		fmt.Fprintf(h, "%s %s", n, fi.Mode().String())
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// An addon's Lambda code folder becomes the zip Copilot's package step
// uploads, at manual/addons/<svc>/assets/<Copilot's hash>, and the template
// names it ({S3Bucket, S3Key} for Lambda, s3:// for SAM); S3 locations are
// left alone; the zip is the same on every render.
func TestAddonLocalArtifactsArePackagedAsCopilotDoes(t *testing.T) {
	files := map[string]string{
		"copilot/api/manifest.yml":               "name: api\ntype: Backend Service\nimage: {location: nginx}\n",
		"copilot/api/addons/fn.yml":              assetsAddon,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"lambdas/fn/index.js":                    "exports.handler = async () => 'hi';\n",
		"lambdas/fn/util.js":                     "module.exports = 1;\n",
	}
	ws := loadWorkspace(t, "my-app", files)
	stacks, diags, err := Render(ws, nil, []string{"api"}, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	st := stacks[len(stacks)-1]
	dir := filepath.Join(ws.Root, "lambdas/fn")
	zipKey := AddonAssetKey("api", copilotAssetHash(t, dir, "index.js", "util.js"))
	if !strings.HasPrefix(zipKey, "manual/addons/api/assets/") {
		t.Fatalf("key %s", zipKey)
	}
	fileKey := AddonAssetKey("api", copilotAssetHash(t, dir, "index.js"))
	tmpl := parseTemplate(t, st.AddonsTemplate)
	const bucket = "stackset-apprunner-vpc-infr-pipelinebuiltartifactbuc-example"
	checkFacts(t, tmpl, map[string]string{
		"Resources.Fn.Properties.Code":       "{S3Bucket: " + bucket + ", S3Key: " + zipKey + "}",
		"Resources.SamFn.Properties.CodeUri": "s3://" + bucket + "/" + fileKey,
		"Resources.Remote.Properties.Code":   "{S3Bucket: somewhere, S3Key: code.zip}",
	})
	zipped, ok := st.Objects[zipKey]
	if !ok || len(st.Objects) != 2 {
		t.Fatalf("objects %v, want the folder's zip and the file's", keysOf(st.Objects))
	}
	r, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range r.File {
		names = append(names, f.Name)
		rc, _ := f.Open()
		body, _ := io.ReadAll(rc)
		if string(body) != files["lambdas/fn/"+f.Name] {
			t.Errorf("%s in the zip holds %q", f.Name, body)
		}
	}
	if strings.Join(names, " ") != "index.js util.js" {
		t.Errorf("zip entries %q", names)
	}
	again, _, _ := Render(ws, nil, []string{"api"}, seedOptions)
	if !bytes.Equal(again[len(again)-1].Objects[zipKey], zipped) {
		t.Errorf("a second render zips differently")
	}
}

func keysOf(m map[string][]byte) []string { return sortedKeys(m) }

// Like env files, addon artifacts are read inside the workspace only.
func TestAddonArtifactOutsideTheWorkspaceIsRefused(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/api/manifest.yml":               "name: api\ntype: Backend Service\nimage: {location: nginx}\n",
		"copilot/api/addons/fn.yml":              strings.Replace(assetsAddon, "Code: lambdas/fn", "Code: ../../etc", 1),
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"lambdas/fn/index.js":                    "x",
	})
	_, diags, _ := Render(ws, nil, []string{"api"}, seedOptions)
	var found bool
	for _, d := range diags {
		found = found || d.Rule == ruleAddons && strings.Contains(d.Message, `Fn.Properties.Code "../../etc": not readable inside the workspace`)
	}
	if !found {
		t.Fatalf("no refusal: %v", diags)
	}
}
