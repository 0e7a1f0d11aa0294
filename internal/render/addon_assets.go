package render

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// assetProperty is a resource property that may name a local file or
// folder, which Copilot's package step uploads and replaces: with an S3 URI
// (s3://bucket/key), or with a map of the bucket and key properties.
type assetProperty struct {
	path              []string
	bucketKey, objKey string
	zip               bool // a file is zipped too (folders always are)
}

// addonAssetProperties are Copilot's (v1.33, after `aws cloudformation
// package`): resource type -> properties it packages.
var addonAssetProperties = map[string][]assetProperty{
	"AWS::ApiGateway::RestApi":                  {{path: []string{"BodyS3Location"}, bucketKey: "Bucket", objKey: "Key"}},
	"AWS::Lambda::Function":                     {{path: []string{"Code"}, bucketKey: "S3Bucket", objKey: "S3Key", zip: true}},
	"AWS::Lambda::LayerVersion":                 {{path: []string{"Content"}, bucketKey: "S3Bucket", objKey: "S3Key", zip: true}},
	"AWS::Serverless::Function":                 {{path: []string{"CodeUri"}, zip: true}},
	"AWS::Serverless::LayerVersion":             {{path: []string{"ContentUri"}, zip: true}},
	"AWS::Serverless::Application":              {{path: []string{"Location"}}},
	"AWS::AppSync::GraphQLSchema":               {{path: []string{"DefinitionS3Location"}}},
	"AWS::AppSync::Resolver":                    {{path: []string{"RequestMappingTemplateS3Location"}}, {path: []string{"ResponseMappingTemplateS3Location"}}},
	"AWS::AppSync::FunctionConfiguration":       {{path: []string{"RequestMappingTemplateS3Location"}}, {path: []string{"ResponseMappingTemplateS3Location"}}},
	"AWS::Serverless::Api":                      {{path: []string{"DefinitionUri"}}},
	"AWS::ElasticBeanstalk::ApplicationVersion": {{path: []string{"SourceBundle"}, bucketKey: "S3Bucket", objKey: "S3Key"}},
	"AWS::CloudFormation::Stack":                {{path: []string{"TemplateURL"}}},
	"AWS::Glue::Job":                            {{path: []string{"Command", "ScriptLocation"}}},
	"AWS::StepFunctions::StateMachine":          {{path: []string{"DefinitionS3Location"}, bucketKey: "Bucket", objKey: "Key"}},
	"AWS::Serverless::StateMachine":             {{path: []string{"DefinitionUri"}, bucketKey: "Bucket", objKey: "Key"}},
	"AWS::CodeCommit::Repository":               {{path: []string{"Code", "S3"}, bucketKey: "Bucket", objKey: "Key", zip: true}},
}

// AddonAssetKey is where Copilot stores a workload addon's local artifact:
// manual/addons/<workload>/assets/<hash>.
func AddonAssetKey(workload, hash string) string {
	return path.Join("manual", "addons", workload, "assets", hash)
}

// packageAddonAssets does what Copilot's package step does to the merged
// addons template: every property above that names a local path (not
// s3:// or http(s)://) is replaced by the object it becomes, keyed by
// Copilot's content hash, so the key, and the template, change only with
// the content. The objects join m.Objects for deploy to upload; plan
// uploads none. Paths are relative to the workspace root and must stay in
// it (symlinks included).
func packageAddonAssets(m *mergedAddons, a *workspace.Addons, workload string, opts Options) diag.List {
	if m == nil || !mentionsAssetProperty(m.Template) {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(m.Template, &doc); err != nil {
		return diag.List{{File: a.Dir, Severity: diag.Error, Rule: ruleAddons, Message: fmt.Sprintf("read merged addons template: %v", err)}}
	}
	resources := get(doc.Content[0], "Resources")
	if resources == nil {
		return nil
	}
	bucket := envFileBucketPlaceholder
	if _, b, ok := strings.Cut(opts.ArtifactBucketARN, ":::"); ok && b != "" {
		bucket = b
	}
	var diags diag.List
	var root *os.Root
	changed := false
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		for _, prop := range addonAssetProperties[scalarValue(get(res, "Type"))] {
			target := get(res, "Properties")
			for _, k := range prop.path {
				target = get(target, k)
			}
			if target == nil || target.Kind != yaml.ScalarNode || !isLocalPath(target.Value) {
				continue
			}
			where := id + ".Properties." + strings.Join(prop.path, ".")
			if root == nil {
				r, err := openWorkspace(opts)
				if err != nil {
					return append(diags, diag.Diagnostic{File: a.Dir, Severity: diag.Error, Rule: ruleAddons, Message: fmt.Sprintf("%s %q: %v", where, target.Value, err)})
				}
				defer r.Close()
				root = r
			}
			body, hash, err := addonAsset(root, target.Value, prop.zip)
			if err != nil {
				diags = append(diags, diag.Diagnostic{File: a.Dir, Severity: diag.Error, Rule: ruleAddons,
					Message: fmt.Sprintf("%s %q: %v", where, target.Value, err),
					Fix:     "name a file or folder inside the workspace, relative to the folder that holds copilot/, as Copilot's package step reads it"})
				continue
			}
			key := AddonAssetKey(workload, hash)
			if m.Objects == nil {
				m.Objects = map[string][]byte{}
			}
			m.Objects[key] = body
			if prop.bucketKey == "" {
				*target = *str("s3://" + bucket + "/" + key)
			} else {
				*target = *kv(prop.bucketKey, bucket, prop.objKey, key)
			}
			changed = true
		}
	}
	if !changed || diags.HasErrors() {
		return diags
	}
	out, err := encode(doc.Content[0])
	if err != nil {
		return append(diags, diag.Diagnostic{File: a.Dir, Severity: diag.Error, Rule: ruleAddons, Message: fmt.Sprintf("encode packaged addons template: %v", err)})
	}
	m.Template = out
	return diags
}

// mentionsAssetProperty is a cheap test that a template may hold a
// packaged property, so most addons are not parsed twice.
func mentionsAssetProperty(tmpl []byte) bool {
	for _, props := range addonAssetProperties {
		for _, p := range props {
			if bytes.Contains(tmpl, []byte(p.path[len(p.path)-1]+":")) {
				return true
			}
		}
	}
	return false
}

// isLocalPath is Copilot's test: not empty and not an S3 or HTTP(S) URI.
func isLocalPath(v string) bool {
	return v != "" && !strings.HasPrefix(v, "s3://") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://")
}

func openWorkspace(opts Options) (*os.Root, error) {
	if opts.workspaceRoot == "" {
		return nil, errors.New("the manifests were given without their workspace (no copilot/ folder), so the path cannot be found")
	}
	return os.OpenRoot(opts.workspaceRoot)
}

// zipEpoch is the time written into every zip entry, so the same files
// give the same archive on every machine.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// addonAsset reads a local artifact: a file as it is (zipped when zip is
// set), a folder zipped. The hash is Copilot's: a file's SHA-256, or for a
// zip the SHA-256 over each file's "<name> <mode>" and content, in walk
// order, so a key Copilot uploaded is the key autopilot names.
func addonAsset(root *os.Root, name string, forceZip bool) ([]byte, string, error) {
	name = path.Clean(strings.TrimPrefix(name, "./"))
	fi, err := root.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", errors.New("no such file or folder in the workspace")
	case err != nil:
		return nil, "", fmt.Errorf("not readable inside the workspace: %w", err)
	}
	if !fi.IsDir() && !forceZip {
		body, err := root.ReadFile(name)
		if err != nil {
			return nil, "", err
		}
		sum := sha256.Sum256(body)
		return body, hex.EncodeToString(sum[:]), nil
	}
	var buf bytes.Buffer
	archive := zip.NewWriter(&buf)
	hash := sha256.New()
	fsys := root.FS()
	add := func(file, inZip string, info fs.FileInfo) error {
		header, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		header.Name, header.Method, header.Modified = inZip, zip.Deflate, zipEpoch
		w, err := archive.CreateHeader(header)
		if err != nil {
			return err
		}
		fmt.Fprintf(hash, "%s %s", inZip, info.Mode().String())
		f, err := fsys.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.MultiWriter(w, hash), f)
		return err
	}
	if fi.IsDir() {
		err = fs.WalkDir(fsys, name, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := fs.Stat(fsys, p)
			if err != nil {
				return err
			}
			return add(p, strings.TrimPrefix(p, name+"/"), info)
		})
	} else {
		err = add(name, fi.Name(), fi)
	}
	if err == nil {
		err = archive.Close()
	}
	if err != nil {
		return nil, "", fmt.Errorf("zip: %w", err)
	}
	return buf.Bytes(), hex.EncodeToString(hash.Sum(nil)), nil
}
