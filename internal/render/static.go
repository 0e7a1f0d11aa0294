package render

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// SiteFile is one file of a Static Site as deploy puts it in the site's
// bucket: its object key, content type and digests. Body is nil in a
// Check.
type SiteFile struct {
	Key string
	// Source is the file's path in the workspace, for messages.
	Source      string
	ContentType string
	// SHA256 is the content's digest; MD5 is what S3 reports as the ETag
	// of an object put in one part without KMS, so an unchanged file is
	// recognised from a listing without reading it back.
	SHA256, MD5 string
	Size        int64
	Body        []byte
}

// staticSiteCopyIDs are the resources Copilot's Static Site template uses
// to copy files into the bucket: a Lambda-backed custom resource (its code
// in Copilot's bucket) that starts a Step Functions state machine copying
// from the artifacts bucket. autopilot uploads the files itself; on a stack
// Copilot made, deploy carries them over retained (see deploy's adopt).
var staticSiteCopyIDs = []string{"TriggerStateMachineFunction", "TriggerStateMachineFunctionRole", "TriggerStateMachineAction",
	"CopyAssetsStateMachine", "CopyAssetsStateMachineRole"}

// cachingOptimized is the id of CloudFront's managed CachingOptimized
// cache policy, the one Copilot's distribution uses.
const cachingOptimized = "658327ea-f89d-4fab-a63d-7e88639e58f6"

// viewerRequestRewrite serves index.html for a path that names a folder:
// a path ending in / gets index.html, one whose last part has no dot gets
// /index.html (CloudFront Functions, cloudfront-js-1.0).
const viewerRequestRewrite = `function handler(event) {
  var request = event.request;
  if (request.uri.endsWith('/')) {
    request.uri += 'index.html';
  } else if (request.uri.lastIndexOf('.') < request.uri.lastIndexOf('/')) {
    request.uri += '/index.html';
  }
  return request;
}
`

// renderStaticSite renders a Static Site: a private bucket readable only
// by its CloudFront distribution (origin access control), the distribution
// with the index.html rewrite function, the environment manager role's
// access to the bucket, and addons. The files are read here and put by
// deploy (Stack.SiteFiles).
func renderStaticSite(in ecsInput, root string) (*Stack, diag.List) {
	var diags diag.List
	fail := failer(&diags, in.file, in.env)
	site := in.m.Static
	alias, cert := deref(site.HTTP.Alias), deref(site.HTTP.Certificate)
	if alias != "" && cert == "" {
		fail(site.HTTP.At("alias"), ruleUnsupported,
			"rendering http.alias without http.certificate is not supported yet: Copilot requests and validates the certificate through the application's domain with its own Lambda functions",
			"import a certificate for the alias in us-east-1 (ACM) and name it with http.certificate")
	}
	files := siteFiles(root, site.Files, !in.opts.checkOnly, fail)
	addons, adiags := workloadAddons(in.addons, in.env, in.name, in.opts)
	diags = append(diags, adiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	manifestText, err := in.opts.encode(in.m.Doc)
	if err != nil {
		fail(noPos, ruleManifest, fmt.Sprintf("encode manifest for Metadata: %v", err), "")
		return nil, diags
	}
	params := map[string]string{"AppName": in.app, "EnvName": in.env, "WorkloadName": in.name}
	if addons == nil {
		params["AddonsTemplateURL"] = ""
	}
	tpl := staticSiteTemplate(in.app, in.env, in.name, alias, cert, addons, string(manifestText))
	st, err := workloadStack(in.app, in.env, in.name, in.kind, in.opts, tpl, params, addons)
	if err != nil {
		fail(noPos, ruleManifest, err.Error(), "")
		return nil, diags
	}
	st.SiteFiles = files
	return st, append(diags, sizeCheck(st, in.file)...)
}

func staticSiteTemplate(app, env, name, alias, cert string, addons *mergedAddons, manifestText string) *yaml.Node {
	desc := func(s string) *yaml.Node { return kv("aws:copilot:description", s) }
	res := kv()
	add := func(id string, r *yaml.Node) { res.Content = append(res.Content, str(id), r) }
	add("Bucket", kv("Metadata", desc("An S3 Bucket to store the static site's assets"), "Type", "AWS::S3::Bucket",
		"Properties", kv(
			"VersioningConfiguration", kv("Status", "Enabled"),
			"AccessControl", "Private",
			"BucketEncryption", kv("ServerSideEncryptionConfiguration", seq(kv("ServerSideEncryptionByDefault", kv("SSEAlgorithm", "AES256")))),
			"PublicAccessBlockConfiguration", kv("BlockPublicAcls", true, "BlockPublicPolicy", true, "IgnorePublicAcls", true, "RestrictPublicBuckets", true),
			"OwnershipControls", kv("Rules", seq(kv("ObjectOwnership", "BucketOwnerEnforced"))),
		)))
	bucketARN := func(suffix string) *yaml.Node {
		return fn("!Sub", "arn:${AWS::Partition}:s3:::${bucket}"+suffix, kv("bucket", ref("Bucket")))
	}
	add("BucketPolicyForCloudFront", kv("Metadata", desc("A bucket policy to grant CloudFront read access to the Static Site bucket"), "Type", "AWS::S3::BucketPolicy",
		"Properties", kv("Bucket", ref("Bucket"), "PolicyDocument", policyDoc(
			kv("Sid", "ForceHTTPS", "Effect", "Deny", "Principal", "*", "Action", "s3:*",
				"Resource", seq(sub("${Bucket.Arn}"), sub("${Bucket.Arn}/*")),
				"Condition", kv("Bool", kv("aws:SecureTransport", false))),
			kv("Sid", "AllowCloudFrontServicePrincipalReadOnly", "Effect", "Allow", "Principal", kv("Service", "cloudfront.amazonaws.com"), "Action", "s3:GetObject",
				"Resource", seq(bucketARN(""), bucketARN("/*")),
				"Condition", kv("StringEquals", kv("AWS:SourceArn",
					fn("!Sub", "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${cfDistributionID}", kv("cfDistributionID", ref("CloudFrontDistribution"))))))))))
	shortName := truncateWithHash(app+"-"+env+"-"+name, 58, 6)
	add("CloudFrontOriginAccessControl", kv("Metadata", desc("Access control to make the content in the S3 bucket only accessible through CloudFront"),
		"Type", "AWS::CloudFront::OriginAccessControl",
		"Properties", kv("OriginAccessControlConfig", kv(
			"Description", sub("Access control for static s3 origin for ${AppName}-${EnvName}-${WorkloadName}"),
			"Name", shortName, "OriginAccessControlOriginType", "s3", "SigningBehavior", "always", "SigningProtocol", "sigv4"))))
	add("CloudFrontViewerRequestRewriteFunction", kv("Metadata", desc("CloudFront Function to rewrite viewer request to index.html"),
		"Type", "AWS::CloudFront::Function",
		"Properties", kv("AutoPublish", true, "FunctionCode", literal(viewerRequestRewrite),
			"FunctionConfig", kv("Comment", "CloudFront Function to rewrite viewer request to index.html", "Runtime", "cloudfront-js-1.0"),
			"Name", shortName)))
	originID := sub("copilot-${AppName}-${EnvName}-${WorkloadName}")
	dist := kv()
	if alias != "" {
		set(dist, "Aliases", seq(alias))
	}
	set(dist, "DefaultCacheBehavior", kv("Compress", true, "AllowedMethods", seq("GET", "HEAD"),
		"FunctionAssociations", seq(kv("EventType", "viewer-request", "FunctionARN", getAtt("CloudFrontViewerRequestRewriteFunction.FunctionARN"))),
		"ViewerProtocolPolicy", "redirect-to-https", "CachePolicyId", cachingOptimized, "TargetOriginId", originID))
	set(dist, "Enabled", true)
	set(dist, "IPV6Enabled", true)
	set(dist, "Origins", seq(kv("Id", deepCopy(originID), "DomainName", getAtt("Bucket.RegionalDomainName"),
		"OriginAccessControlId", ref("CloudFrontOriginAccessControl"),
		// CloudFront still wants an S3 origin config with origin access
		// control; the identity is empty.
		"S3OriginConfig", kv("OriginAccessIdentity", ""))))
	if alias != "" {
		set(dist, "ViewerCertificate", kv("AcmCertificateArn", cert, "MinimumProtocolVersion", "TLSv1", "SslSupportMethod", "sni-only"))
	}
	add("CloudFrontDistribution", kv("Metadata", desc("A CloudFront distribution for global content delivery"), "Type", "AWS::CloudFront::Distribution",
		"Properties", kv("DistributionConfig", dist)))
	add("EnvManagerS3Access", kv("Metadata", desc("A policy that gives the Env Manager role access to this site's S3 Bucket"), "Type", "AWS::IAM::Policy",
		"Properties", kv("Roles", seq(sub("${AppName}-${EnvName}-EnvManagerRole")), "PolicyName", sub("${WorkloadName}-S3Access"),
			"PolicyDocument", policyDoc(kv("Effect", "Allow",
				"Action", seq("s3:ListBucket", "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion"),
				"Resource", seq(sub("arn:aws:s3:::${Bucket}"), sub("arn:aws:s3:::${Bucket}/*")))))))
	addAddonsStack(add, addons)

	out := kv("CloudFrontDistributionDomainName", kv("Value", getAtt("CloudFrontDistribution.DomainName"),
		"Export", kv("Name", sub("${AWS::StackName}-CloudFrontDistributionDomainName"))))
	if alias != "" {
		set(out, "CloudFrontDistributionAlternativeDomainName", kv("Value", alias,
			"Export", kv("Name", sub("${AWS::StackName}-CloudFrontDistributionAlternativeDomainName"))))
	}
	return workloadTemplate("CloudFormation template that represents a static site backed by S3.", manifestText,
		"Parameters", kv("AppName", kv("Type", "String"), "EnvName", kv("Type", "String"), "WorkloadName", kv("Type", "String"),
			"AddonsTemplateURL", kv("Description", "URL of the addons nested stack template within the S3 bucket.", "Type", "String", "Default", "")),
		"Conditions", kv("HasAddons", not(equals(ref("AddonsTemplateURL"), ""))),
		"Resources", res,
		"Outputs", out)
}

// truncateWithHash keeps names within CloudFront's 64 characters as
// Copilot does: a longer name keeps its first max characters followed by
// the first pad hex digits of its SHA-256.
func truncateWithHash(s string, max, pad int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return s[:max] + hex.EncodeToString(sum[:])[:pad]
}

// siteFiles lists the files of a Static Site's files entries as Copilot's
// upload walks them: a folder's files (its subfolders only with
// recursive), each kept unless an exclude pattern matches and no later
// reinclude does; keys are destination joined with the path below the
// source, or the file's name for a file source without destination.
// Patterns are Go path.Match globs (`*` stops at /) matched against the
// path below the source. Everything is read through os.Root, so a source
// or symlink leading out of the workspace is refused: a manifest must not
// publish the runner's files. With read false, only the listing is made.
func siteFiles(root string, uploads []manifest.FileUpload, read bool, fail failFunc) []SiteFile {
	if len(uploads) == 0 {
		return nil
	}
	if root == "" {
		fail(noPos, ruleManifest, "the Static Site's files cannot be found: the manifests were given without their workspace (no copilot/ folder)", "render the workspace folder")
		return nil
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		fail(noPos, ruleManifest, fmt.Sprintf("open the workspace to read the Static Site's files: %v", err), "")
		return nil
	}
	defer r.Close()
	fsys := r.FS()
	byKey := map[string]SiteFile{}
	for i, u := range uploads {
		at := u.Pos
		if p := u.At("source"); p != (manifest.Pos{}) {
			at = p
		}
		for _, pat := range slices.Concat(u.Exclude, u.Reinclude) {
			if _, err := path.Match(pat, ""); err != nil {
				fail(at, ruleManifest, fmt.Sprintf("files[%d]: pattern %q is malformed: %v", i, pat, err), "use *, ?, [abc] and [!abc] only")
			}
		}
		src := path.Clean(strings.TrimPrefix(strings.ReplaceAll(u.Source, `\`, "/"), "/"))
		if u.Source == "" || strings.HasPrefix(u.Source, "/") || !fs.ValidPath(src) {
			fail(at, ruleManifest, fmt.Sprintf("files[%d].source %q must be a path inside the workspace, relative to the folder that holds copilot/", i, u.Source),
				"write the path relative to the workspace root, without .. or a leading /")
			continue
		}
		info, err := fs.Stat(fsys, src)
		if err != nil {
			fail(at, ruleManifest, fmt.Sprintf("files[%d].source %q: %v", i, u.Source, outsideOrMissing(err)), "name a file or folder inside the workspace")
			continue
		}
		add := func(p string) error {
			rel := "."
			if info.IsDir() {
				rel = strings.TrimPrefix(strings.TrimPrefix(p, src), "/")
				if src == "." {
					rel = p
				}
			}
			if !keep(rel, u.Exclude, u.Reinclude) {
				return nil
			}
			key := path.Join(u.Destination, rel)
			if key == "." {
				key = path.Base(p)
			}
			key = strings.TrimPrefix(key, "/")
			f := SiteFile{Key: key, Source: p, ContentType: mime.TypeByExtension(path.Ext(p))}
			fi, err := fs.Stat(fsys, p)
			if err != nil {
				return fmt.Errorf("%s: %w", p, outsideOrMissing(err))
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
			f.Size = fi.Size()
			if read {
				body, err := fs.ReadFile(fsys, p)
				if err != nil {
					return fmt.Errorf("%s: %w", p, outsideOrMissing(err))
				}
				s, m := sha256.Sum256(body), md5.Sum(body)
				f.Body, f.SHA256, f.MD5 = body, hex.EncodeToString(s[:]), hex.EncodeToString(m[:])
			}
			// A later entry naming the same key wins, as the later copy
			// would overwrite the earlier one in the bucket.
			byKey[key] = f
			return nil
		}
		if !info.IsDir() {
			if err := add(src); err != nil {
				fail(at, ruleManifest, fmt.Sprintf("files[%d]: %v", i, err), "keep the site's files inside the workspace")
			}
			continue
		}
		err = fs.WalkDir(fsys, src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != src && !u.Recursive {
					return fs.SkipDir
				}
				return nil
			}
			return add(p)
		})
		if err != nil {
			fail(at, ruleManifest, fmt.Sprintf("files[%d]: %v", i, err), "keep the site's files inside the workspace")
		}
	}
	out := make([]SiteFile, 0, len(byKey))
	for _, k := range sortedKeys(byKey) {
		out = append(out, byKey[k])
	}
	return out
}

// keep applies exclude, then reinclude, as Copilot's matcher does: any
// matching exclude drops the file, any matching reinclude brings it back.
func keep(rel string, exclude, reinclude []string) bool {
	match := func(pats []string) bool {
		return slices.ContainsFunc(pats, func(p string) bool { ok, _ := path.Match(p, rel); return ok })
	}
	return !match(exclude) || match(reinclude)
}

// outsideOrMissing words os.Root's refusals for a manifest author.
func outsideOrMissing(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("no such file or folder in the workspace")
	case strings.Contains(err.Error(), "escapes from parent"), strings.Contains(err.Error(), "path escapes"):
		return errors.New("it leads out of the workspace (a symlink or ..), which is refused: the site is public")
	}
	return err
}
