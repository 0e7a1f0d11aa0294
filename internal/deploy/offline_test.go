package deploy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

func TestPlanOffline(t *testing.T) {
	const before = `Parameters:
  ContainerImage: {Type: String}
Resources:
  Service:
    Type: AWS::AppRunner::Service
    Properties:
      ServiceName: api
      SourceConfiguration: {ImageRepository: {ImageIdentifier: !Ref ContainerImage}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: orders}
  Queue:
    Type: AWS::SQS::Queue
`
	const after = `Parameters:
  ContainerImage: {Type: String}
Resources:
  Service:
    Type: AWS::AppRunner::Service
    Properties:
      ServiceName: api-v2
      SourceConfiguration: {ImageRepository: {ImageIdentifier: !Ref ContainerImage}}
  Queue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
  Hook:
    Type: Custom::Thing
    Properties: {Size: 1}
`
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app-test-api.template.yml", before)
	write("app-test-api.params.json", `{"Parameters":{"ContainerImage":"img:1"},"Tags":{}}`)
	write("app-test-same.template.yml", before)
	write("app-test-same.params.json", `{"Parameters":{"ContainerImage":"img:1"}}`)

	stack := func(name, body, image string) deploy.Stack {
		return deploy.Stack{Name: name, Template: []byte(body), Parameters: map[string]string{"ContainerImage": image}}
	}
	tests := []struct {
		name     string
		stack    deploy.Stack
		against  string
		wantType string
		want     map[string]deploy.Action
		noChange bool
	}{
		{name: "empty account", stack: stack("app-test-api", after, "img:2"), wantType: "CREATE",
			want: map[string]deploy.Action{"Service": "Add", "Queue": "Add", "Topic": "Add", "Hook": "Add"}},
		{name: "against earlier render", stack: stack("app-test-api", after, "img:2"), against: dir, wantType: "UPDATE",
			want: map[string]deploy.Action{"Service": "Modify", "Table": "Remove", "Topic": "Add", "Hook": "Add"}},
		{name: "missing from earlier render", stack: stack("app-test-new", after, "img:2"), against: dir, wantType: "CREATE",
			want: map[string]deploy.Action{"Service": "Add", "Queue": "Add", "Topic": "Add", "Hook": "Add"}},
		{name: "unchanged", stack: stack("app-test-same", before, "img:1"), against: dir, wantType: "UPDATE",
			want: map[string]deploy.Action{}, noChange: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := deploy.PlanOffline([]deploy.Stack{tt.stack}, tt.against)
			if err != nil {
				t.Fatal(err)
			}
			sp := plan.Stacks[0]
			if !plan.Offline || sp.ChangeSetType != tt.wantType || sp.NoChanges != tt.noChange {
				t.Errorf("offline %v type %s noChanges %v, want true %s %v", plan.Offline, sp.ChangeSetType, sp.NoChanges, tt.wantType, tt.noChange)
			}
			if diff := cmp.Diff(tt.want, actions(sp)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("details and replacement", func(t *testing.T) {
		plan, err := deploy.PlanOffline([]deploy.Stack{stack("app-test-api", after, "img:2")}, dir)
		if err != nil {
			t.Fatal(err)
		}
		svc, _ := change(plan.Stacks[0], "Service")
		want := deploy.ResourceChange{Action: "Modify", LogicalID: "Service", ResourceType: "AWS::AppRunner::Service", Replacement: "True",
			Details: []deploy.PropertyChange{
				{Path: "Properties.ServiceName", Before: "api", After: "api-v2", RequiresRecreation: "Always", ChangeSource: "DirectModification"},
				{Path: "Properties.SourceConfiguration.ImageRepository.ImageIdentifier", Before: "img:1",
					After: "img:2", RequiresRecreation: "Never", ChangeSource: "ParameterReference"},
			}}
		if diff := cmp.Diff(want, svc); diff != "" {
			t.Errorf("Service (-want +got):\n%s", diff)
		}
		table, _ := change(plan.Stacks[0], "Table")
		if !table.Destructive {
			t.Error("removing a DynamoDB table is not marked destructive")
		}
	})
}

func TestPlanOfflineMatchesOnline(t *testing.T) {
	// The same stacks planned against the fake account and offline against
	// an empty account give the same rows.
	e := newEnv(t)
	stacks := []deploy.Stack{envStack(), serviceStack("api", "2 GB", "img:1")}
	online, err := e.planner(t).Plan(t.Context(), stacks)
	if err != nil {
		t.Fatal(err)
	}
	offline, err := deploy.PlanOffline(stacks, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range online.Stacks {
		if diff := cmp.Diff(online.Stacks[i].Changes, offline.Stacks[i].Changes); diff != "" {
			t.Errorf("%s: online vs offline (-online +offline):\n%s", online.Stacks[i].StackName, diff)
		}
	}
	if online.Fingerprint != offline.Fingerprint {
		t.Error("fingerprints differ between online and offline plans of the same stacks")
	}
}

// An offline plan against the deployed render refuses, like a live one, a
// change that creates the ECS Express service and removes the App Runner
// service it replaces; adding it beside App Runner, or removing App Runner
// once Express runs, is fine.
func TestPlanOfflineRefusesReplacingAppRunnerInOneStep(t *testing.T) {
	const appRunner = "  Service:\n    Type: AWS::AppRunner::Service\n    Properties: {ServiceName: api}\n"
	const express = "  ExpressService:\n    Type: AWS::ECS::ExpressGatewayService\n    Properties: {ServiceName: api}\n"
	for _, tc := range []struct {
		name, before, after string
		refused             bool
	}{
		{"both at once", appRunner, express, true},
		{"step 1: Express beside App Runner", appRunner, appRunner + express, false},
		{"step 2: App Runner removed", appRunner + express, express, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "app-test-api.template.yml"), []byte("Resources:\n"+tc.before), 0o644); err != nil {
				t.Fatal(err)
			}
			plan, err := deploy.PlanOffline([]deploy.Stack{{Name: "app-test-api", Template: []byte("Resources:\n" + tc.after)}}, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.Stacks[0].Error != ""; got != tc.refused {
				t.Errorf("refused = %v (%q), want %v", got, plan.Stacks[0].Error, tc.refused)
			}
		})
	}
}
