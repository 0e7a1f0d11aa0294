package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	fakegithub "github.com/autopilot-dev/autopilot/internal/fakes/github"
)

// deployToken is a build secret whose value holds Markdown-special
// characters, so an escaped copy of it would slip past masking done after
// rendering.
const deployToken = "tok*en_<x>|y[1]"

// TestActionBuildInputsOutputsCommentAndLabels drives the action through
// its entrypoint with the inputs and outputs of issue 11 and the masking of
// issue 10, item 8.
func TestActionBuildInputsOutputsCommentAndLabels(t *testing.T) {
	w := newWorld(t)
	cacheDir := t.TempDir()
	// The Dockerfile records the target architecture, to show the platform
	// input reached the build; the manifest has a typo lint warns about.
	dockerfile := filepath.Join(w.ws, "api/Dockerfile")
	body := readFile(t, dockerfile)
	writeFileT(t, dockerfile, strings.Replace(body, "COPY", "ARG TARGETARCH\nLABEL arch=$TARGETARCH\nCOPY", 1))
	manifest := filepath.Join(w.ws, "copilot/api/manifest.yml")
	writeFileT(t, manifest, readFile(t, manifest)+"nework:\n  vpc:\n    placement: private\n")

	inputs := map[string]string{
		"tags": "v1.2.3\nstable", "platform": "linux/arm64", "cache-dir": cacheDir,
		"secrets": "id=tok,env=DEPLOY_TOKEN", "add-labels": "true", "strict": "false",
	}
	env := map[string]string{"DEPLOY_TOKEN": deployToken}
	prStep := func(runID string) step {
		return step{event: "pull_request", payload: "pull_request-opened.payload.json", set: prPayload(11, headA, repo),
			sha: "f00dfeed00000000000000000000000000000011", ref: "refs/pull/11/merge", runID: runID, inputs: inputs, env: env}
	}
	// A label left by an earlier plan that changed nothing.
	w.gh.AddIssueLabel(repo, 11, "autopilot:no-changes")

	t.Run("pull request: build inputs used, comment and labels", func(t *testing.T) {
		r := w.run(t, prStep("201"))
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		// A pull request pushes nothing; the merge push below does.
		if n := w.reg.BlobUploads(); n != 0 {
			t.Errorf("the pull request's build uploaded %d blobs", n)
		}
		if entries, _ := os.ReadDir(cacheDir); len(entries) == 0 {
			t.Error("the build left nothing in cache-dir")
		}
		if r.outputs["aws-account-id"] != account {
			t.Errorf("aws-account-id = %q, want %s", r.outputs["aws-account-id"], account)
		}

		comments := w.gh.Comments(repo, 11)
		if len(comments) != 1 {
			t.Fatalf("%d comments, want 1", len(comments))
		}
		for _, want := range []string{
			"**Lint:** 0 errors, 1 warning",
			"- :warning: `copilot/api/manifest.yml:", `unknown key "nework"`,
			"**On merge** into `main`: with this step's inputs, autopilot deploys every environment of the workspace.",
		} {
			if !strings.Contains(comments[0].Body, want) {
				t.Errorf("the comment lacks %q:\n%s", want, comments[0].Body)
			}
		}
		if got := w.gh.IssueLabels(repo, 11); len(got) != 0 {
			t.Errorf("labels %v: a plan that creates stacks, nothing destructive, keeps no autopilot label", got)
		}
	})

	t.Run("merge push: stack outputs as CloudFormation returns them", func(t *testing.T) {
		merged := time.Now()
		w.gh.AddPullRequest(repo, fakegithub.PullRequest{Number: 11, State: "closed", MergedAt: &merged, HeadSHA: headA, BaseRef: "main"}, mergeSHA)
		w.gh.SetBranch(repo, "main", mergeSHA) // a deploy runs only the default branch's head
		r := w.run(t, step{event: "push", payload: "push-with-new-branch.payload.json",
			set: map[string]any{"ref": "refs/heads/main", "after": mergeSHA, "created": false,
				"repository.full_name": repo, "repository.default_branch": "main"},
			sha: mergeSHA, ref: "refs/heads/main", runID: "202", inputs: inputs, env: env})
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		ref := w.reg.Host + "/shop/api"
		auth := remote.WithAuth(&authn.Basic{Username: w.reg.Username, Password: w.reg.Password})
		repoName, err := name.NewRepository(ref)
		if err != nil {
			t.Fatal(err)
		}
		tags, err := remote.List(repoName, auth)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{headA[:7], "v1.2.3", "stable"} {
			if !slices.Contains(tags, want) {
				t.Errorf("registry tags %v lack %s", tags, want)
			}
		}
		img, err := remote.Image(repoName.Tag("v1.2.3"), auth)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cf.Config.Labels["arch"]; got != "arm64" {
			t.Errorf("TARGETARCH in the build = %q, want arm64 from the platform input", got)
		}
		var got map[string]map[string]string
		if err := json.Unmarshal([]byte(r.outputs["stack-outputs"]), &got); err != nil {
			t.Fatalf("stack-outputs %q: %v", r.outputs["stack-outputs"], err)
		}
		want := map[string]map[string]string{}
		for _, stack := range []string{envStack, svcStack} {
			want[stack] = describeOutputs(t, w.cfn.URL, stack)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stack-outputs (-DescribeStacks +output):\n%s", diff)
		}
		var urls map[string]string
		_ = json.Unmarshal([]byte(r.outputs["service-urls"]), &urls)
		if got[svcStack]["ServiceURL"] == "" || !strings.HasSuffix(urls["api"], got[svcStack]["ServiceURL"]) {
			t.Errorf("the service stack's ServiceURL output %q does not match service-urls %v", got[svcStack]["ServiceURL"], urls)
		}
		if r.outputs["aws-account-id"] != account {
			t.Errorf("aws-account-id = %q", r.outputs["aws-account-id"])
		}
	})

	t.Run("pull request planned again with nothing to change: no-changes label", func(t *testing.T) {
		r := w.run(t, prStep("203"))
		if r.code != 0 || r.outputs["has-changes"] != "false" {
			t.Fatalf("exit %d, has-changes %s\n%s", r.code, r.outputs["has-changes"], r.stderr)
		}
		if diff := cmp.Diff([]string{"autopilot:no-changes"}, w.gh.IssueLabels(repo, 11)); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
	})

	t.Run("a deploy failure quoting the build secret: masked in the summary", func(t *testing.T) {
		writeFileT(t, manifest, strings.Replace(readFile(t, manifest), "GREETING: hello", "GREETING: hello again", 1))
		w.cfn.FailResource(svcStack, "Service", "Resource handler returned message: \"token "+deployToken+" rejected\"")
		r := w.run(t, step{event: "workflow_dispatch", payload: "workflow_dispatch-payload.json",
			set: map[string]any{"ref": "refs/heads/main", "repository.full_name": repo, "repository.default_branch": "main"},
			sha: mergeSHA, ref: "refs/heads/main", runID: "204", inputs: withInput(inputs, "command", "deploy"), env: env})
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.summary, "rejected") || !strings.Contains(r.summary, `\*\*\*`) {
			t.Errorf("the summary does not show the masked reason:\n%s", r.summary)
		}
	})

	t.Run("the build secret appears nowhere, escaped or not", func(t *testing.T) {
		quoted, _ := json.Marshal(deployToken)
		forms := []string{deployToken, strings.Trim(string(quoted), `"`), `tok\*en\_&lt;x&gt;\|y\[1\]`, "tok*en", `tok\*en`}
		texts := append([]string(nil), w.logs...)
		for _, c := range w.gh.Comments(repo, 11) {
			texts = append(texts, c.Body)
		}
		for _, text := range texts {
			text = withoutMaskCommands(text)
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("the build secret appears as %q in what the action wrote:\n%.600s", f, text)
				}
			}
		}
	})
}

func withInput(in map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range in {
		if key != k {
			out[key] = val
		}
	}
	return out
}

func writeFileT(t *testing.T, p, body string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// describeOutputs reads a stack's outputs the way a workflow step calling
// DescribeStacks would.
func describeOutputs(t *testing.T, endpoint, stack string) map[string]string {
	t.Helper()
	c := cloudformation.New(cloudformation.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
	})
	out, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil || len(out.Stacks) != 1 {
		t.Fatalf("describe %s: %v", stack, err)
	}
	m := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m
}
