package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// Copilot's worker-manifest.yml (v1.33.2) restated without queue_delay
// scaling (refused) and the parts ecs_*_test.go cover (rollback alarms,
// topic and FIFO queues, EFS volumes, Service Connect): the facts of
// worker-test.stack.yml for the parts that remain.
const copilotWorkerManifest = `name: dogworker
type: Worker Service
image:
  location: amazon/ecs-example
cpu: 256
memory: 512
count:
  range:
    min: 1
    max: 10
    spot_from: 6
  cpu_percentage: 70
exec: true
publish:
  topics:
    - name: givesOtherdogs
    - name: mytopic
      fifo: true
    - name: mytopic
    - name: yourtopic
      fifo:
        content_based_deduplication: true
    - name: nonfifotopic
      fifo: false
subscribe:
  queue:
    delay: 1s
    dead_letter:
      tries: 5
  topics:
    - name: givesdogs
      service: dogsvc
      filter_policy:
        store:
          - example_corp
        event:
          - anything-but: order_cancelled
        cutomer_interests:
          - rugby
          - football
          - baseball
        price_usd:
          - numeric:
              - ">="
              - 100
`

// The resources of Copilot's worker-test.stack.yml that the restated
// manifest keeps.
var copilotWorkerResources = []string{
	"AddonsStack:AWS::CloudFormation::Stack@HasAddons",
	"AutoScalingRole:AWS::IAM::Role",
	"AutoScalingTarget:AWS::ApplicationAutoScaling::ScalableTarget",
	"DeadLetterPolicy:AWS::SQS::QueuePolicy",
	"DeadLetterQueue:AWS::SQS::Queue",
	"EventsKMSKey:AWS::KMS::Key",
	"EventsQueue:AWS::SQS::Queue",
	"ExecutionRole:AWS::IAM::Role",
	"LogGroup:AWS::Logs::LogGroup",
	"QueuePolicy:AWS::SQS::QueuePolicy",
	"Service:AWS::ECS::Service",
	"TaskDefinition:AWS::ECS::TaskDefinition",
	"TaskRole:AWS::IAM::Role",
	"dogsvcgivesdogsSNSTopicSubscription:AWS::SNS::Subscription",
	"givesOtherdogsSNSTopic:AWS::SNS::Topic",
	"givesOtherdogsSNSTopicPolicy:AWS::SNS::TopicPolicy",
	"mytopicSNSTopic:AWS::SNS::Topic",
	"mytopicSNSTopicPolicy:AWS::SNS::TopicPolicy",
	"mytopicfifoSNSTopic:AWS::SNS::Topic",
	"mytopicfifoSNSTopicPolicy:AWS::SNS::TopicPolicy",
	"nonfifotopicSNSTopic:AWS::SNS::Topic",
	"nonfifotopicSNSTopicPolicy:AWS::SNS::TopicPolicy",
	"yourtopicfifoSNSTopic:AWS::SNS::Topic",
	"yourtopicfifoSNSTopicPolicy:AWS::SNS::TopicPolicy",
}

const dogsvcManifest = "name: dogsvc\ntype: Backend Service\nimage: {location: nginx}\npublish:\n  topics:\n    - name: givesdogs\n"

func TestWorkerMatchesCopilotTestdata(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/dogworker/manifest.yml":         copilotWorkerManifest,
		"copilot/dogsvc/manifest.yml":            dogsvcManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, []string{"dogworker"}, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	st := stacks[1]
	root := parseTemplate(t, st.Template)
	// cpu_percentage stands in for the refused queue_delay metric.
	if diff := cmp.Diff(with(copilotWorkerResources, "AutoScalingPolicyECSServiceAverageCPUUtilization:AWS::ApplicationAutoScaling::ScalingPolicy"), resourceFacts(t, root)); diff != "" {
		t.Errorf("resources (-copilot +autopilot):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"AddonsTemplateURL", "AppName", "ArtifactKeyARN", "ContainerImage", "EnvFileARN", "EnvName", "LogRetention", "TaskCPU", "TaskCount", "TaskMemory", "WorkloadName"},
		sectionKeys(root, "Parameters")); diff != "" {
		t.Errorf("parameters (-copilot +autopilot):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"HasAddons", "HasEnvFile", "IsGovCloud"}, sectionKeys(root, "Conditions")); diff != "" {
		t.Errorf("conditions (-copilot +autopilot):\n%s", diff)
	}
	if got := sectionKeys(root, "Outputs"); len(got) != 0 {
		t.Errorf("outputs = %q; Copilot's worker template has none", got)
	}
	wantParams := map[string]string{"AddonsTemplateURL": "", "AppName": "my-app", "ArtifactKeyARN": seedOptions.ArtifactKeyARN, "ContainerImage": "amazon/ecs-example",
		"EnvFileARN": "", "EnvName": "test", "LogRetention": "30", "TaskCPU": "256", "TaskCount": "1", "TaskMemory": "512", "WorkloadName": "dogworker"}
	if diff := cmp.Diff(wantParams, st.Parameters); diff != "" {
		t.Errorf("parameter values (-copilot params.json +autopilot):\n%s", diff)
	}
	facts := map[string]string{
		"Resources.EventsQueue.Properties":                                                "{KmsMasterKeyId: !Ref EventsKMSKey, DelaySeconds: 1, RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn, maxReceiveCount: 5}}",
		"Resources.dogsvcgivesdogsSNSTopicSubscription.Properties.TopicArn":               `!Join ["", [!Sub 'arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:', !Ref AppName, '-', !Ref EnvName, -dogsvc-givesdogs]]`,
		"Resources.dogsvcgivesdogsSNSTopicSubscription.Properties.FilterPolicy":           `{"cutomer_interests": ["rugby", "football", "baseball"], "event": [{"anything-but": "order_cancelled"}], "price_usd": [{"numeric": [">=", 100]}], "store": ["example_corp"]}`,
		"Resources.dogsvcgivesdogsSNSTopicSubscription.Properties.Endpoint":               "!GetAtt EventsQueue.Arn",
		"Resources.DeadLetterQueue.Properties.MessageRetentionPeriod":                     "1209600",
		"Resources.Service.Properties.ServiceRegistries":                                  "!Ref AWS::NoValue",
		"Resources.Service.Properties.CapacityProviderStrategy":                           "[{CapacityProvider: FARGATE_SPOT, Weight: 1}, {CapacityProvider: FARGATE, Weight: 0, Base: 5}]",
		"Resources.QueuePolicy.Properties.PolicyDocument.Statement.1.Condition.ArnEquals": `{'aws:SourceArn': !Join ["", [!Sub 'arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:', !Ref AppName, '-', !Ref EnvName, -dogsvc-givesdogs]]}`,
		"Resources.yourtopicfifoSNSTopic.Properties.ContentBasedDeduplication":            "true",
	}
	for path, want := range facts {
		if got := flowString(t, nodeAt(root, strings.Split(path, ".")...)); got != want {
			t.Errorf("%s =\n  %s\nwant\n  %s", path, got, want)
		}
	}
	var names []string
	for _, e := range nodeAt(root, "Resources", "TaskDefinition", "Properties", "ContainerDefinitions", "0", "Environment").Content {
		names = append(names, scalarValue(get(e, "Name")))
	}
	// Copilot's order, less COPILOT_TOPIC_QUEUE_URIS and COPILOT_MOUNT_POINTS
	// (per-topic queues and volumes are refused).
	if diff := cmp.Diff([]string{"COPILOT_APPLICATION_NAME", "COPILOT_SERVICE_DISCOVERY_ENDPOINT", "COPILOT_ENVIRONMENT_NAME", "COPILOT_SERVICE_NAME", "COPILOT_SNS_TOPIC_ARNS", "COPILOT_QUEUE_URI"}, names); diff != "" {
		t.Errorf("environment variables (-copilot +autopilot):\n%s", diff)
	}
	if !slices.Contains(st.DependsOn, "my-app-test-dogsvc") {
		t.Errorf("DependsOn = %q: the publisher's stack must be deployed before the subscription", st.DependsOn)
	}
	validateTemplate(t, st.Name, st.Template)
}

func TestWorkerRefusals(t *testing.T) {
	base := "name: w\ntype: Worker Service\nimage: {location: nginx}\n"
	tests := []struct {
		name, manifest, want string
	}{
		{"topic nobody publishes", base + "subscribe:\n  topics:\n    - {name: nope, service: dogsvc}\n", `topic "nope" of service "dogsvc" is not published by a workload of this workspace`},
		{"queue delay without range", base + "count:\n  queue_delay: {acceptable_latency: 1m, msg_processing_time: 1s}\n", `scaling metrics need "range"`},
		{"request scaling", base + "count: {range: 1-3, requests: 10}\n", "not on requests or response_time"},
		{"bad fifo", base + "subscribe:\n  queue: {fifo: maybe}\n", "fifo must be true, false or a map"},
		{"bad topic queue", base + "subscribe:\n  topics:\n    - {name: givesdogs, service: dogsvc, queue: [x]}\n", "queue must be true, false or a map"},
		{"bad delay", base + "subscribe:\n  queue: {delay: soon}\n", `subscribe.queue.delay "soon" is not a duration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", map[string]string{
				"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
				"copilot/dogsvc/manifest.yml":            dogsvcManifest,
				"copilot/w/manifest.yml":                 tc.manifest,
			})
			_, diags, err := Render(ws, nil, []string{"w"}, seedOptions)
			if err == nil {
				t.Fatalf("render succeeded; want a refusal containing %q", tc.want)
			}
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool {
				return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) && d.File != ""
			}) {
				t.Errorf("findings %v do not contain %q", diags, tc.want)
			}
		})
	}
}
