package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"gopkg.in/yaml.v3"

	fakecfn "github.com/autopilot-dev/autopilot/internal/fakes/cloudformation"
	fakeecr "github.com/autopilot-dev/autopilot/internal/fakes/ecr"
	fakegithub "github.com/autopilot-dev/autopilot/internal/fakes/github"
	"github.com/autopilot-dev/autopilot/internal/fakes/registry"
	fakes3 "github.com/autopilot-dev/autopilot/internal/fakes/s3"
	fakests "github.com/autopilot-dev/autopilot/internal/fakes/sts"
	"github.com/autopilot-dev/autopilot/internal/report"
)

const (
	repo      = "acme/shop"
	account   = "123456789012"
	role      = "arn:aws:iam::123456789012:role/autopilot-deploy"
	envStack  = "shop-test"
	svcStack  = "shop-test-api"
	headA     = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	headB     = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	forkHead  = "3333333ccccccccccccccccccccccccccccccccc"
	mergeSHA  = "4444444ddddddddddddddddddddddddddddddddd" // the merge commit on main
	eventsDir = "../../../shared/reference/github-events"
	ecrHost   = account + ".dkr.ecr.us-east-1.amazonaws.com"
)

// world is everything a run of the action talks to.
type world struct {
	cfn   *fakecfn.Server
	s3    *fakes3.Server
	sts   *fakests.Server
	gh    *fakegithub.Server
	reg   *registry.Registry
	ecr   *fakeecr.Server
	front *ecrFront
	ws    string // the Copilot workspace, as checked out in GITHUB_WORKSPACE
	base  string // REF=oci:DIR of the busybox stand-in
	home  string
	// logs collects every byte the binary printed or wrote, for the
	// secret check.
	logs []string
}

// newWorld starts what one test's runs talk to. Every world is separate
// (its own fakes, registry, workspace and HOME, and the binary's
// environment is given per run), so a test that makes one runs in parallel
// with the others: they spend most of their time waiting on the binary's
// poll delays.
func newWorld(t *testing.T) *world {
	t.Helper()
	t.Parallel()
	if _, err := os.Stat(eventsDir); err != nil {
		t.Skipf("reference webhook payloads not found at %s: %v", eventsDir, err)
	}
	w := &world{
		reg:  registry.StartT(t),
		cfn:  fakecfn.New(fakecfn.WithExecDelay(100*time.Millisecond), fakecfn.WithAccount(account)),
		s3:   fakes3.New("shop-artifacts"),
		sts:  fakests.New(account),
		gh:   fakegithub.New(fakegithub.WithOIDCClaims(map[string]any{"sub": "repo:acme/shop:pull_request"})),
		home: t.TempDir(),
	}
	w.front = startECRFront(t, ecrHost, w.reg.Host)
	w.ecr = fakeecr.New("https://"+ecrHost, w.reg.Username, w.reg.Password)
	t.Cleanup(func() { w.cfn.Close(); w.s3.Close(); w.sts.Close(); w.gh.Close(); w.ecr.Close() })
	w.ws = writeWorkspace(t)
	w.base = "busybox=oci:" + baseImage(t)
	return w
}

// writeWorkspace writes a small Copilot workspace whose image builds
// without RUN: one environment and one service.
func writeWorkspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"copilot/.workspace":                     "application: shop\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
		"copilot/api/manifest.yml": "name: api\ntype: Request-Driven Web Service\nimage:\n  build: api/Dockerfile\n  port: 8080\n" +
			"http:\n  healthcheck: /\nvariables:\n  GREETING: hello\n",
		"api/Dockerfile": "FROM busybox\nCOPY hello.txt /srv/hello.txt\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv\"]\n",
		"api/hello.txt":  "hello from the e2e test\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// baseImage writes a one-layer stand-in for busybox as an OCI layout, the
// way an air-gapped runner provides base images.
func baseImage(t *testing.T) string {
	t.Helper()
	return imageLayout(t, []tarEntry{{name: "bin/", mode: 0o755}, {name: "bin/busybox", mode: 0o755, body: "#!/bin/sh\n"}})
}

// tarEntry is one file of a test image's only layer: a folder when the
// name ends in "/", a symlink when link is set.
type tarEntry struct {
	name       string
	mode       int64
	body, link string
}

// imageLayout writes a linux/amd64 image of one layer as an OCI layout.
func imageLayout(t *testing.T, entries []tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range entries {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		switch {
		case strings.HasSuffix(f.name, "/"):
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		case f.link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.link
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}

// step is one workflow run.
type step struct {
	event   string         // GITHUB_EVENT_NAME
	payload string         // file in eventsDir
	set     map[string]any // payload fields to rewrite: "a.b.c" → value
	sha     string         // GITHUB_SHA
	ref     string         // GITHUB_REF
	runID   string
	inputs  map[string]string
	env     map[string]string
	noAWS   bool // no role-to-assume and no OIDC: a run without credentials
	noOIDC  bool // role-to-assume, but the runner offers no OIDC token
	// exact: inputs are all the INPUT_* variables the run gets (as the
	// runner sets them from a workflow), none of the test's defaults.
	exact bool
}

// result is what one run left.
type result struct {
	code                int
	stdout, stderr      string
	outputs             map[string]string
	outputFile, summary string
	sarif               string
}

func (w *world) run(t *testing.T, s step) *result {
	t.Helper()
	dir := t.TempDir()
	eventPath := filepath.Join(dir, "event.json")
	writePayload(t, filepath.Join(eventsDir, s.payload), eventPath, s.set)
	outPath, summaryPath, sarifPath := filepath.Join(dir, "output"), filepath.Join(dir, "summary.md"), filepath.Join(dir, "lint.sarif")
	for _, p := range []string{outPath, summaryPath} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": w.home, "DOCKER_CONFIG": filepath.Join(dir, "no-docker-config"),
		"HTTPS_PROXY": w.front.ProxyURL, "SSL_CERT_FILE": w.front.CAFile, "AWS_ENDPOINT_URL_ECR": w.ecr.URL,
		"GITHUB_ACTIONS": "true", "CI": "true",
		"GITHUB_EVENT_NAME": s.event, "GITHUB_EVENT_PATH": eventPath,
		"GITHUB_REPOSITORY": repo, "GITHUB_REPOSITORY_ID": "9999", "GITHUB_REPOSITORY_OWNER_ID": "4242",
		"GITHUB_SHA": s.sha, "GITHUB_REF": s.ref, "GITHUB_RUN_ID": s.runID,
		"GITHUB_SERVER_URL": "https://github.example", "GITHUB_API_URL": w.gh.URL(),
		"GITHUB_OUTPUT": outPath, "GITHUB_STEP_SUMMARY": summaryPath, "GITHUB_WORKSPACE": w.ws,
		"AWS_ENDPOINT_URL_CLOUDFORMATION": w.cfn.URL, "AWS_ENDPOINT_URL_S3": w.s3.URL, "AWS_ENDPOINT_URL_STS": w.sts.URL,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-aws-credentials"),
		"INPUT_COMMAND":               "auto", "INPUT_PATH": w.ws, "INPUT_AWS-REGION": "us-east-1",
		"INPUT_GITHUB-TOKEN": w.gh.Token(), "INPUT_SARIF-FILE": sarifPath,
		"INPUT_BASE-IMAGES":       w.base,
		"INPUT_ROLE-SESSION-NAME": "autopilot-e2e",
	}
	if s.exact {
		for k := range vars {
			if strings.HasPrefix(k, "INPUT_") {
				delete(vars, k)
			}
		}
	} else if !s.noAWS {
		vars["INPUT_ROLE-TO-ASSUME"] = role
	}
	if !s.noAWS && !s.noOIDC {
		vars["ACTIONS_ID_TOKEN_REQUEST_URL"] = w.gh.OIDCRequestURL()
		vars["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = w.gh.OIDCRequestToken()
	}
	for k, v := range s.inputs {
		vars["INPUT_"+strings.ToUpper(k)] = v
	}
	for k, v := range s.env {
		vars[k] = v
	}
	cmd := exec.Command(binary, "action")
	cmd.Dir = w.ws
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run autopilot action: %v", err)
	}
	r.outputFile = readFile(t, outPath)
	r.outputs = parseOutputs(t, r.outputFile)
	r.summary = readFile(t, summaryPath)
	if b, err := os.ReadFile(sarifPath); err == nil {
		r.sarif = string(b)
	}
	w.logs = append(w.logs, r.stdout, r.stderr, r.outputFile, r.summary, r.sarif)
	if testing.Verbose() || t.Failed() {
		t.Logf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	return r
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writePayload copies a recorded webhook payload with fields rewritten.
func writePayload(t *testing.T, src, dst string, set map[string]any) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(readFile(t, src)), &doc); err != nil {
		t.Fatal(err)
	}
	for path, v := range set {
		keys := strings.Split(path, ".")
		m := doc
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				t.Fatalf("payload %s has no object at %s", src, k)
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// parseOutputs reads GITHUB_OUTPUT as the runner does: name=value lines
// and name<<DELIM heredocs.
func parseOutputs(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" {
			continue
		}
		if name, delim, ok := strings.Cut(lines[i], "<<"); ok {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("output %s: no closing delimiter", name)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		name, val, ok := strings.Cut(lines[i], "=")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT line %q is neither name=value nor a heredoc", lines[i])
		}
		out[name] = val
	}
	return out
}

// prPayload rewrites a pull_request payload to pull request number of
// acme/shop at head, from headRepo.
func prPayload(number int, head, headRepo string) map[string]any {
	return map[string]any{
		"number": number, "pull_request.number": number,
		"pull_request.head.sha": head, "pull_request.head.ref": "feature",
		"pull_request.head.repo.full_name": headRepo,
		"pull_request.base.ref":            "main", "pull_request.base.repo.full_name": repo,
		"repository.full_name": repo, "repository.default_branch": "main",
	}
}

func TestActionLifecycle(t *testing.T) {
	w := newWorld(t)
	var reviewed string // the fingerprint in the pull request's comment

	t.Run("pull request opened: plan commented, nothing executed", func(t *testing.T) {
		r := w.run(t, step{event: "pull_request", payload: "pull_request-opened.payload.json",
			set: prPayload(7, headA, repo), sha: "f00dfeed00000000000000000000000000000001", ref: "refs/pull/7/merge", runID: "101"})
		if r.code != 0 {
			t.Fatalf("exit %d, want 0\n%s\n%s", r.code, r.stderr, r.stdout)
		}
		comments := w.gh.Comments(repo, 7)
		if len(comments) != 1 {
			t.Fatalf("%d comments on #7, want 1", len(comments))
		}
		body := comments[0].Body
		target := report.Target{App: "shop", Env: "test", Account: account, Region: "us-east-1"}
		if !strings.Contains(body, target.Marker()) {
			t.Errorf("the comment lacks the marker %s:\n%s", target.Marker(), body)
		}
		fp, ok := report.ParseFingerprint(body)
		if !ok || fp != r.outputs["fingerprint"] || !strings.HasPrefix(fp, "sha256:") {
			t.Errorf("comment fingerprint %q (found %v), output fingerprint %q", fp, ok, r.outputs["fingerprint"])
		}
		reviewed = fp
		for _, want := range []string{"shop-test-api", "AWS::AppRunner::Service"} {
			if !strings.Contains(body, want) || !strings.Contains(r.summary, want) {
				t.Errorf("the comment or the summary lacks %q", want)
			}
		}
		if w.cfn.Count("CreateChangeSet") < 2 {
			t.Errorf("%d CreateChangeSet calls, want one per stack", w.cfn.Count("CreateChangeSet"))
		}
		if n := w.cfn.Count("ExecuteChangeSet"); n != 0 {
			t.Errorf("a pull request executed %d change sets", n)
		}
		if r.outputs["has-changes"] != "true" || r.outputs["destructive-changes"] != "false" {
			t.Errorf("outputs = %v", r.outputs)
		}
		var images []struct{ Workload, Repository, Tag, Digest string }
		if err := json.Unmarshal([]byte(r.outputs["images"]), &images); err != nil || len(images) != 1 {
			t.Fatalf("images output %q: %v", r.outputs["images"], err)
		}
		img := images[0]
		if img.Workload != "api" || img.Repository != ecrHost+"/shop/api" || img.Tag != headA[:7] || !strings.HasPrefix(img.Digest, "sha256:") {
			t.Errorf("image = %+v, want api named in the production repository, tagged with the head commit", img)
		}
		// The plan names the image by digest, and a pull request (whose
		// role cannot push to production repositories) pushes nothing.
		if got := containerImages(w, svcStack); len(got) == 0 || got[len(got)-1] != img.Repository+"@"+img.Digest {
			t.Errorf("ContainerImage planned %v, want %s@%s", got, img.Repository, img.Digest)
		}
		if w.front.requests.Load() != 0 || w.reg.BlobUploads() != 0 || slices.Contains(w.ecr.Calls(), "CreateRepository") {
			t.Errorf("the pull request pushed to the registry (%d requests, %d blobs) or made a repository (ECR calls %v)",
				w.front.requests.Load(), w.reg.BlobUploads(), w.ecr.Calls())
		}
		var sets []struct{ Stack, Name string }
		if err := json.Unmarshal([]byte(r.outputs["change-sets"]), &sets); err != nil || len(sets) != 2 {
			t.Fatalf("change-sets output %q: %v", r.outputs["change-sets"], err)
		}
		if sets[0].Stack != envStack || sets[1].Stack != svcStack || !strings.HasPrefix(sets[1].Name, "autopilot-plan-"+headA[:7]+"-101") {
			t.Errorf("change sets = %+v", sets)
		}
		if !strings.Contains(r.sarif, `"version": "2.1.0"`) && !strings.Contains(r.sarif, `"version":"2.1.0"`) {
			t.Errorf("no SARIF 2.1.0 log written:\n%.300s", r.sarif)
		}
		if !strings.Contains(r.stdout, "::notice file=copilot/api/manifest.yml,line=2,") || !strings.Contains(r.sarif, `"uri": "copilot/api/manifest.yml"`) {
			t.Errorf("annotations or SARIF do not name the manifest relative to the repository:\n%s\n%.2000s", r.stdout, r.sarif)
		}
		// The pull request's Dockerfiles are built (RUN steps run) before
		// any AWS credentials are obtained; the images are named in their
		// repositories after.
		build, creds, name := strings.Index(r.stdout, "::group::build images"), strings.Index(r.stdout, "::group::AWS credentials"), strings.Index(r.stdout, "::group::name images")
		if build < 0 || build > creds || creds > name {
			t.Errorf("stages ran in the wrong order (build at %d, credentials at %d, naming at %d):\n%s", build, creds, name, r.stdout)
		}
		if !strings.Contains(r.stdout, "::group::plan") || !strings.Contains(r.stdout, "::stop-commands::") {
			t.Errorf("the log has no plan group or no stop-commands around untrusted text")
		}
		if !strings.Contains(strings.Join(w.ecr.Calls(), " "), "GetAuthorizationToken") {
			t.Errorf("ECR calls %v: no GetAuthorizationToken", w.ecr.Calls())
		}
		if len(w.sts.Calls()) == 0 || w.gh.Mints() == 0 {
			t.Error("the role was not assumed with a GitHub OIDC token")
		}
	})

	t.Run("second push to the pull request: the same comment updated", func(t *testing.T) {
		before := w.gh.Comments(repo, 7)
		r := w.run(t, step{event: "pull_request", payload: "pull_request-synchronize.payload.json",
			set: prPayload(7, headB, repo), sha: "f00dfeed00000000000000000000000000000002", ref: "refs/pull/7/merge", runID: "102"})
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		after := w.gh.Comments(repo, 7)
		if len(after) != 1 || len(before) != 1 || after[0].ID != before[0].ID {
			t.Fatalf("comments before %d, after %d: want the one comment updated in place", len(before), len(after))
		}
		if after[0].Body == before[0].Body || !strings.Contains(after[0].Body, headB[:7]) || strings.Contains(after[0].Body, headA[:7]) {
			t.Errorf("the comment was not updated for the new run:\n%s", after[0].Body)
		}
		patched := 0
		for _, req := range w.gh.Requests() {
			if req.Method == "PATCH" {
				patched++
			}
		}
		if patched != 1 {
			t.Errorf("%d comment updates, want 1", patched)
		}
		fp, _ := report.ParseFingerprint(after[0].Body)
		if fp != r.outputs["fingerprint"] {
			t.Errorf("comment fingerprint %s, output %s", fp, r.outputs["fingerprint"])
		}
		reviewed = fp
		if n := w.cfn.Count("ExecuteChangeSet"); n != 0 {
			t.Errorf("a pull request executed %d change sets", n)
		}
	})

	t.Run("fork pull request: lint only, success", func(t *testing.T) {
		cfnCalls, stsCalls := w.cfn.Count(""), len(w.sts.Calls())
		r := w.run(t, step{event: "pull_request", payload: "pull_request-opened.payload.json",
			set: prPayload(8, forkHead, "mallory/shop"), sha: forkHead, ref: "refs/pull/8/merge", runID: "103"})
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.summary, "comes from a fork") || !strings.Contains(r.summary, "lint ran") {
			t.Errorf("the summary does not say what was skipped and why:\n%s", r.summary)
		}
		if w.cfn.Count("") != cfnCalls || len(w.sts.Calls()) != stsCalls {
			t.Error("a fork pull request called AWS")
		}
		if len(w.gh.Comments(repo, 8)) != 0 {
			t.Error("a fork pull request got a comment")
		}
		if r.sarif == "" {
			t.Error("no SARIF file for the fork pull request")
		}
		if r.outputs["has-changes"] != "false" || r.outputs["images"] != "[]" {
			t.Errorf("outputs = %v", r.outputs)
		}
	})

	t.Run("no credentials: lint only, success", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			s    step
		}{
			{"no role, no keys", step{noAWS: true}},
			{"role but no OIDC token (Dependabot)", step{noOIDC: true}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cfnCalls, stsCalls := w.cfn.Count(""), len(w.sts.Calls())
				s := tc.s
				s.event, s.payload, s.set = "pull_request", "pull_request-opened.payload.json", prPayload(9, headB, repo)
				s.sha, s.ref, s.runID = headB, "refs/pull/9/merge", "104"
				r := w.run(t, s)
				if r.code != 0 {
					t.Fatalf("exit %d\n%s", r.code, r.stderr)
				}
				if !strings.Contains(r.summary, "No AWS credentials") || !strings.Contains(r.summary, "lint ran") {
					t.Errorf("the summary does not say credentials were missing:\n%s", r.summary)
				}
				if !strings.Contains(r.stdout, "::notice title=autopilot::No AWS credentials") {
					t.Error("no notice in the log")
				}
				if r.sarif == "" {
					t.Error("no SARIF file")
				}
				if w.cfn.Count("") != cfnCalls || len(w.sts.Calls()) != stsCalls || len(w.gh.Comments(repo, 9)) != 0 {
					t.Error("a run without credentials called AWS or commented")
				}
			})
		}
	})

	t.Run("merge push: the reviewed plan deployed", func(t *testing.T) {
		merged := time.Now()
		w.gh.AddPullRequest(repo, fakegithub.PullRequest{Number: 7, State: "closed", MergedAt: &merged, HeadSHA: headB, BaseRef: "main"}, mergeSHA)
		w.gh.SetBranch(repo, "main", mergeSHA)
		r := w.run(t, step{event: "push", payload: "push-with-new-branch.payload.json",
			set: map[string]any{"ref": "refs/heads/main", "after": mergeSHA, "created": false,
				"repository.full_name": repo, "repository.default_branch": "main"},
			sha: mergeSHA, ref: "refs/heads/main", runID: "105", inputs: map[string]string{"require-reviewed-plan": "true"}})
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		for _, stack := range []string{envStack, svcStack} {
			if got := w.cfn.StackStatus(stack); got != "CREATE_COMPLETE" {
				t.Errorf("%s is %q, want CREATE_COMPLETE", stack, got)
			}
			if w.cfn.Executions(stack) != 1 {
				t.Errorf("%s executed %d times, want 1", stack, w.cfn.Executions(stack))
			}
		}
		if r.outputs["fingerprint"] != reviewed {
			t.Errorf("deployed fingerprint %s, reviewed %s", r.outputs["fingerprint"], reviewed)
		}
		if w.front.requests.Load() == 0 || w.reg.BlobUploads() == 0 {
			t.Error("the deploy did not push the image through the ECR front to the registry")
		}
		if repo, ok := w.ecr.Repository("shop/api"); !ok || repo.Mutability != "IMMUTABLE" {
			t.Errorf("repository %+v, want it created with immutable tags", repo)
		}
		if got := containerImages(w, svcStack); !strings.Contains(got[len(got)-1], "/shop/api@sha256:") {
			t.Errorf("ContainerImage deployed %v, want the image by digest", got)
		}
		if !strings.Contains(r.stderr, "came from pull request #7") {
			t.Error("the merge push did not name its images after the pull request's head")
		}
		if !strings.Contains(r.stderr, "reviewed plan of test on pull request #7 (commit "+headB[:7]+"): "+reviewed) {
			t.Error("the log does not say which reviewed plan was required")
		}
		var urls map[string]string
		if err := json.Unmarshal([]byte(r.outputs["service-urls"]), &urls); err != nil {
			t.Errorf("service-urls %q is not a JSON object: %v", r.outputs["service-urls"], err)
		}
		if len(urls) == 0 {
			t.Error("service-urls is empty after a deploy")
		}
		for svc, u := range urls {
			if !strings.HasPrefix(u, "https://") {
				t.Errorf("service-urls[%s] = %q, want the service's https URL", svc, u)
			}
		}
		if r.outputs["has-changes"] != "true" || !strings.Contains(r.outputs["images"], headB[:7]) {
			t.Errorf("outputs = %v", r.outputs)
		}
		if diff := cmp.Diff(declaredOutputs(t), slices.Sorted(maps.Keys(r.outputs))); diff != "" {
			t.Errorf("outputs written vs declared in action.yml (-declared +written):\n%s", diff)
		}
		if !strings.Contains(r.summary, "Deploy succeeded") {
			t.Errorf("the summary does not report the deploy:\n%s", r.summary)
		}
		if !strings.Contains(r.stdout, "::group::deploy") {
			t.Error("no deploy log group")
		}
	})

	t.Run("merge push of an unreviewed change: nothing executed", func(t *testing.T) {
		// The service changes after review: the fingerprint differs.
		manifest := filepath.Join(w.ws, "copilot/api/manifest.yml")
		orig := readFile(t, manifest)
		if err := os.WriteFile(manifest, []byte(strings.Replace(orig, "GREETING: hello", "GREETING: hijacked", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.WriteFile(manifest, []byte(orig), 0o644) })
		executions := w.cfn.Count("ExecuteChangeSet")
		r := w.run(t, step{event: "push", payload: "push-with-new-branch.payload.json",
			set: map[string]any{"ref": "refs/heads/main", "after": mergeSHA, "created": false,
				"repository.full_name": repo, "repository.default_branch": "main"},
			sha: mergeSHA, ref: "refs/heads/main", runID: "106", inputs: map[string]string{"require-reviewed-plan": "true"}})
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
		}
		if w.cfn.Count("ExecuteChangeSet") != executions {
			t.Error("an unreviewed plan was executed")
		}
		if !strings.Contains(r.summary, "differs from the one reviewed") {
			t.Errorf("the summary does not give the reason:\n%s", r.summary)
		}
	})

	t.Run("manual deploy that fails: the root cause reported", func(t *testing.T) {
		manifest := filepath.Join(w.ws, "copilot/api/manifest.yml")
		orig := readFile(t, manifest)
		if err := os.WriteFile(manifest, []byte(strings.Replace(orig, "GREETING: hello", "GREETING: hello again", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.WriteFile(manifest, []byte(orig), 0o644) })
		reason := "Resource handler returned message: \"Image not found: ::error::forged\""
		w.cfn.FailResource(svcStack, "Service", reason)
		r := w.run(t, step{event: "workflow_dispatch", payload: "workflow_dispatch-payload.json",
			set: map[string]any{"ref": "refs/heads/main", "repository.full_name": repo, "repository.default_branch": "main"},
			sha: mergeSHA, ref: "refs/heads/main", runID: "107", inputs: map[string]string{"command": "deploy"}})
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.summary, "Image not found") || !strings.Contains(r.summary, "Service") {
			t.Errorf("the summary does not name the failing resource and its reason:\n%s", r.summary)
		}
		for line := range strings.Lines(r.stdout + r.stderr) {
			if strings.HasPrefix(strings.TrimSpace(line), "::error::forged") {
				t.Errorf("CloudFormation text issued a workflow command: %q", line)
			}
		}
		if r.outputs["has-changes"] != "true" || r.outputs["fingerprint"] == "" {
			t.Errorf("outputs of a failed deploy = %v", r.outputs)
		}
	})

	t.Run("deploy that deletes data: refused unless the workflow allows it", func(t *testing.T) {
		addon := filepath.Join(w.ws, "copilot/api/addons/orders.yml")
		if err := os.MkdirAll(filepath.Dir(addon), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(addon, []byte(ordersAddon), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(filepath.Dir(addon)) })
		dispatch := func(runID string, inputs map[string]string) *result {
			inputs["command"], inputs["artifacts-bucket"] = "deploy", "shop-artifacts"
			return w.run(t, step{event: "workflow_dispatch", payload: "workflow_dispatch-payload.json",
				set: map[string]any{"ref": "refs/heads/main", "repository.full_name": repo, "repository.default_branch": "main"},
				sha: mergeSHA, ref: "refs/heads/main", runID: runID, inputs: inputs})
		}
		if r := dispatch("109", map[string]string{}); r.code != 0 {
			t.Fatalf("deploying the table: exit %d\n%s", r.code, r.stderr)
		}

		// The addon goes: its nested stack, and the table with it, would be deleted.
		if err := os.Remove(addon); err != nil {
			t.Fatal(err)
		}
		executions := w.cfn.Count("ExecuteChangeSet")
		r := dispatch("110", map[string]string{})
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
		}
		if w.cfn.Count("ExecuteChangeSet") != executions {
			t.Error("a change set executed although the deploy deletes data and nothing allows it")
		}
		for _, want := range []string{"Nothing was deployed", "stack " + svcStack + ": AddonsStack (AWS::CloudFormation::Stack)", "allowed-destroy-types"} {
			if !strings.Contains(r.summary, want) {
				t.Errorf("the summary lacks %q:\n%s", want, r.summary)
			}
		}
		if r.outputs["destructive-changes"] != "true" {
			t.Errorf("destructive-changes = %q, want true", r.outputs["destructive-changes"])
		}

		r = dispatch("111", map[string]string{"allowed-destroy-types": "AWS::CloudFormation::Stack"})
		if r.code != 0 || w.cfn.Count("ExecuteChangeSet") != executions+1 {
			t.Fatalf("with the type allowed: exit %d, %d executions\n%s", r.code, w.cfn.Count("ExecuteChangeSet")-executions, r.stderr)
		}
	})

	t.Run("pull request closed: leftover change sets deleted", func(t *testing.T) {
		// A cancelled run of the pull request's last head left a change set.
		leftover := "autopilot-plan-" + headB[:7] + "-107"
		leaveChangeSet(t, w.cfn.URL, svcStack, leftover)
		if !slices.Contains(w.cfn.ChangeSets(svcStack), leftover) {
			t.Fatalf("change sets of %s: %v, want the leftover", svcStack, w.cfn.ChangeSets(svcStack))
		}
		r := w.run(t, step{event: "pull_request", payload: "pull_request-closed.payload.json",
			set: prPayload(7, headB, repo), sha: headB, ref: "refs/pull/7/merge", runID: "108"})
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		for _, name := range w.cfn.ChangeSets(svcStack) {
			if name == leftover {
				t.Errorf("change set %s is still there", leftover)
			}
		}
		if !strings.Contains(r.summary, "Deleted 1 change set") {
			t.Errorf("summary:\n%s", r.summary)
		}
	})

	t.Run("no secret in any output, log, file or comment", func(t *testing.T) {
		secrets := map[string]string{
			"assumed role secret key":    "fake-secret-key",
			"assumed role session token": "fake-session-token",
			"registry password":          w.reg.Password,
			"GitHub token":               w.gh.Token(),
			"OIDC request token":         w.gh.OIDCRequestToken(),
		}
		for i, c := range w.sts.Calls() {
			if tok := c.Get("WebIdentityToken"); tok != "" {
				secrets[fmt.Sprintf("OIDC token %d", i)] = tok
			}
		}
		texts := append([]string(nil), w.logs...)
		for _, pr := range []int{7, 8, 9} {
			for _, c := range w.gh.Comments(repo, pr) {
				texts = append(texts, c.Body)
			}
		}
		for _, req := range w.gh.Requests() {
			texts = append(texts, req.Body)
		}
		for _, text := range texts {
			text = withoutMaskCommands(text)
			for what, secret := range secrets {
				if secret != "" && strings.Contains(text, secret) {
					t.Errorf("the %s appears in what the action wrote:\n%.400s", what, text)
				}
			}
		}
	})
}

// ordersAddon is an addon holding a table: removing it deletes data.
const ordersAddon = `Parameters:
  App:
    Type: String
  Env:
    Type: String
  Name:
    Type: String
Resources:
  OrdersTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: id
          AttributeType: S
      KeySchema:
        - AttributeName: id
          KeyType: HASH
`

// containerImages lists the ContainerImage values change sets of stack
// were created with, oldest first.
func containerImages(w *world, stack string) []string {
	var out []string
	for _, c := range w.cfn.Calls() {
		if c.Action != "CreateChangeSet" || c.StackName() != stack {
			continue
		}
		for i := 1; c.Params.Has(fmt.Sprintf("Parameters.member.%d.ParameterKey", i)); i++ {
			if c.Params.Get(fmt.Sprintf("Parameters.member.%d.ParameterKey", i)) == "ContainerImage" {
				out = append(out, c.Params.Get(fmt.Sprintf("Parameters.member.%d.ParameterValue", i)))
			}
		}
	}
	return out
}

// withoutMaskCommands drops ::add-mask:: lines: the runner consumes them
// and shows none, and they are how a secret gets masked at all.
func withoutMaskCommands(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(line, "::add-mask::") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// declaredOutputs reads the output names action.yml declares.
func declaredOutputs(t *testing.T) []string {
	t.Helper()
	var action struct {
		Outputs map[string]any `yaml:"outputs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "../../action.yml")), &action); err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(action.Outputs))
}
