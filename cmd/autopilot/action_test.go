package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/google/go-cmp/cmp"
)

// stubChangeSets lists pages of change sets per stack and records deletions.
type stubChangeSets struct {
	pages   map[string][][]cfntypes.ChangeSetSummary
	deleted []string
	failDel bool
}

func (s *stubChangeSets) ListChangeSets(_ context.Context, in *cloudformation.ListChangeSetsInput, _ ...func(*cloudformation.Options)) (*cloudformation.ListChangeSetsOutput, error) {
	pages, ok := s.pages[aws.ToString(in.StackName)]
	if !ok {
		return nil, errors.New("api error ValidationError: Stack [" + aws.ToString(in.StackName) + "] does not exist")
	}
	i := 0
	if in.NextToken != nil {
		i = int(aws.ToString(in.NextToken)[0] - '0')
	}
	out := &cloudformation.ListChangeSetsOutput{Summaries: pages[i]}
	if i+1 < len(pages) {
		out.NextToken = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

func (s *stubChangeSets) DeleteChangeSet(_ context.Context, in *cloudformation.DeleteChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error) {
	if s.failDel {
		return nil, errors.New("api error AccessDenied")
	}
	s.deleted = append(s.deleted, aws.ToString(in.ChangeSetName))
	return &cloudformation.DeleteChangeSetOutput{}, nil
}

func summary(name string, status cfntypes.ExecutionStatus) cfntypes.ChangeSetSummary {
	return cfntypes.ChangeSetSummary{ChangeSetName: aws.String(name), ChangeSetId: aws.String("arn:" + name), ExecutionStatus: status}
}

func TestDeleteChangeSets(t *testing.T) {
	api := &stubChangeSets{pages: map[string][][]cfntypes.ChangeSetSummary{
		"shop-test": {{summary("autopilot-abc1234-1", cfntypes.ExecutionStatusAvailable)}},
		"shop-test-api": {
			{summary("autopilot-abc1234-2", cfntypes.ExecutionStatusAvailable), summary("autopilot-fff0000-2", cfntypes.ExecutionStatusAvailable)},
			{summary("autopilot-abc1234-3", cfntypes.ExecutionStatusExecuteInProgress), summary("autopilot-abc1234-4", cfntypes.ExecutionStatusUnavailable),
				summary("someone-elses", cfntypes.ExecutionStatusAvailable)},
		},
	}}
	deleted, err := deleteChangeSets(context.Background(), api, []string{"shop-test", "shop-test-api", "shop-prod"}, "autopilot-abc1234-")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"shop-test/autopilot-abc1234-1", "shop-test-api/autopilot-abc1234-2", "shop-test-api/autopilot-abc1234-4"}
	if diff := cmp.Diff(want, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"arn:autopilot-abc1234-1", "arn:autopilot-abc1234-2", "arn:autopilot-abc1234-4"}, api.deleted); diff != "" {
		t.Errorf("DeleteChangeSet calls (-want +got):\n%s", diff)
	}

	api.failDel = true
	if _, err := deleteChangeSets(context.Background(), api, []string{"shop-test"}, "autopilot-abc1234-"); err == nil || !strings.Contains(err.Error(), "shop-test") {
		t.Errorf("a failed deletion: %v", err)
	}
}

// TestActionOutsideActions runs the command the way another CI would: only
// INPUT_* variables, no event, outputs as JSON on standard output.
func TestActionOutsideActions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := t.TempDir() + "/autopilot"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	broken := writeFiles(t, map[string]string{
		"copilot/.workspace":       "application: shop\n",
		"copilot/api/manifest.yml": "name: api\ntype: Backend Service\nimage:\n  location: nginx\n  port: \"80\"\n",
	})
	cases := []struct {
		name     string
		inputs   []string
		wantCode int
		wantErr  string
		// noOutputs: refused while reading the inputs, before any output.
		noOutputs bool
	}{
		{"lint the example", []string{"INPUT_COMMAND=lint", "INPUT_PATH=../../examples/apprunner-vpc"}, exitOK, "", false},
		{"auto without an event lints", []string{"INPUT_PATH=../../examples/apprunner-vpc"}, exitOK, "lint ran", false},
		{"lint errors fail", []string{"INPUT_COMMAND=lint", "INPUT_PATH=" + broken}, exitFailed, "nothing else runs", false},
		{"unknown command", []string{"INPUT_COMMAND=destroy"}, exitUsage, "use one of", true},
		{"bad boolean", []string{"INPUT_COMMAND=lint", "INPUT_STRICT=yes"}, exitUsage, "input strict", true},
		{"deploy without credentials", []string{"INPUT_COMMAND=deploy", "INPUT_PATH=../../examples/apprunner-vpc"}, exitUsage, "needs AWS credentials", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "action")
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_EC2_METADATA_DISABLED=true",
				"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"}, tc.inputs...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String()+stderr.String(), tc.wantErr) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tc.wantErr, stdout.String(), stderr.String())
			}
			if tc.noOutputs {
				return
			}
			// The outputs close standard output as one JSON object.
			out := stdout.String()
			var outputs map[string]string
			if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n{")+1:]), &outputs); err != nil {
				t.Fatalf("no outputs object at the end of standard output: %v\n%s", err, out)
			}
			if outputs["has-changes"] != "false" || outputs["images"] != "[]" {
				t.Errorf("outputs = %v", outputs)
			}
		})
	}
}
