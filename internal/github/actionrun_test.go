package github

import (
	"context"
	"errors"
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
