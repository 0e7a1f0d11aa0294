package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Copilot's worker-manifest.yml subscribe section (v1.33.2), restated: the
// events queue, a topic queue with a timeout, FIFO topic queues (plain and
// high-throughput), a topic queue with fifo: false. The facts are
// worker-test.stack.yml's.
const copilotWorkerQueuesManifest = `name: dogworker
type: Worker Service
image:
  location: amazon/ecs-example
subscribe:
  queue:
    delay: 1s
    dead_letter:
      tries: 5
  topics:
    - name: givesdogs
      service: dogsvc
    - name: giveshuskies
      service: dogsvc
      queue:
        timeout: 1s
    - name: mytopic
      service: mytopic
      queue:
        fifo: true
    - name: yourtopic
      service: yourtopic
      queue:
        fifo:
          content_based_deduplication: true
          high_throughput: true
    - name: nonfifotopic
      service: nonfifotopic
      queue:
        fifo: false
`

// publisher is a backend that publishes the named topics.
func publisher(name string, topics ...string) string {
	m := "name: " + name + "\ntype: Backend Service\nimage: {location: nginx}\npublish:\n  topics:\n"
	for _, t := range topics {
		m += "    - {name: " + t + "}\n"
	}
	return m
}

func TestWorkerQueuesMatchCopilotTestdata(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/dogworker/manifest.yml":         copilotWorkerQueuesManifest,
		"copilot/dogsvc/manifest.yml":            publisher("dogsvc", "givesdogs", "giveshuskies"),
		"copilot/mytopic/manifest.yml":           publisher("mytopic", "mytopic"),
		"copilot/yourtopic/manifest.yml":         publisher("yourtopic", "yourtopic"),
		"copilot/nonfifotopic/manifest.yml":      publisher("nonfifotopic", "nonfifotopic"),
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, []string{"dogworker"}, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	st := stacks[len(stacks)-1]
	validateTemplate(t, st.Name, st.Template)
	root := parseTemplate(t, st.Template)
	var queues []string
	for _, r := range resourceFacts(t, root) {
		if strings.Contains(r, "AWS::SQS::") || strings.Contains(r, "AWS::SNS::Subscription") {
			queues = append(queues, r)
		}
	}
	want := []string{
		"DeadLetterPolicy:AWS::SQS::QueuePolicy", "DeadLetterQueue:AWS::SQS::Queue", "EventsQueue:AWS::SQS::Queue", "QueuePolicy:AWS::SQS::QueuePolicy",
		"dogsvcgivesdogsSNSTopicSubscription:AWS::SNS::Subscription",
		"dogsvcgiveshuskiesEventsQueue:AWS::SQS::Queue", "dogsvcgiveshuskiesQueuePolicy:AWS::SQS::QueuePolicy", "dogsvcgiveshuskiesSNSTopicSubscription:AWS::SNS::Subscription",
		"mytopicmytopicfifoEventsQueue:AWS::SQS::Queue", "mytopicmytopicfifoQueuePolicy:AWS::SQS::QueuePolicy", "mytopicmytopicfifoSNSTopicSubscription:AWS::SNS::Subscription",
		"nonfifotopicnonfifotopicEventsQueue:AWS::SQS::Queue", "nonfifotopicnonfifotopicQueuePolicy:AWS::SQS::QueuePolicy", "nonfifotopicnonfifotopicSNSTopicSubscription:AWS::SNS::Subscription",
		"yourtopicyourtopicfifoEventsQueue:AWS::SQS::Queue", "yourtopicyourtopicfifoQueuePolicy:AWS::SQS::QueuePolicy", "yourtopicyourtopicfifoSNSTopicSubscription:AWS::SNS::Subscription",
	}
	if diff := cmp.Diff(want, queues); diff != "" {
		t.Errorf("queues and subscriptions (-copilot +autopilot):\n%s", diff)
	}
	arn := func(suffix string) string {
		return `!Join ["", [!Sub 'arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:', !Ref AppName, '-', !Ref EnvName, ` + suffix + `]]`
	}
	checkFacts(t, root, map[string]string{
		"Resources.EventsQueue.Properties":                                                                                "{KmsMasterKeyId: !Ref EventsKMSKey, DelaySeconds: 1, RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn, maxReceiveCount: 5}}",
		"Resources.dogsvcgiveshuskiesEventsQueue.Properties":                                                              "{KmsMasterKeyId: !Ref EventsKMSKey, VisibilityTimeout: 1}",
		"Resources.dogsvcgiveshuskiesSNSTopicSubscription.Properties.Endpoint":                                            "!GetAtt dogsvcgiveshuskiesEventsQueue.Arn",
		"Resources.mytopicmytopicfifoEventsQueue.Properties":                                                              "{KmsMasterKeyId: !Ref EventsKMSKey, FifoQueue: true}",
		"Resources.mytopicmytopicfifoEventsQueue.Metadata":                                                                "{'aws:copilot:description': A SQS FIFO queue to buffer messages from the topic mytopic.fifo}",
		"Resources.mytopicmytopicfifoSNSTopicSubscription.Properties.TopicArn":                                            arn("-mytopic-mytopic.fifo"),
		"Resources.mytopicmytopicfifoQueuePolicy.Properties.PolicyDocument.Statement.1.Condition.ArnEquals.aws:SourceArn": arn("-mytopic-mytopic.fifo"),
		"Resources.yourtopicyourtopicfifoEventsQueue.Properties":                                                          "{KmsMasterKeyId: !Ref EventsKMSKey, FifoQueue: true, FifoThroughputLimit: perMessageGroupId, DeduplicationScope: messageGroup, ContentBasedDeduplication: true}",
		"Resources.nonfifotopicnonfifotopicEventsQueue.Properties":                                                        "{KmsMasterKeyId: !Ref EventsKMSKey}",
		// Only topics without a queue of their own may send to the events queue.
		"Resources.QueuePolicy.Properties.PolicyDocument.Statement.1.Condition.ArnEquals.aws:SourceArn": arn("-dogsvc-givesdogs"),
		"Resources.QueuePolicy.Properties.PolicyDocument.Statement.2":                                   "<missing>",
	})
	env := nodeAt(root, "Resources", "TaskDefinition", "Properties", "ContainerDefinitions", "0", "Environment")
	uris := namedValue(env, "COPILOT_TOPIC_QUEUE_URIS")
	wantURIs := `!Sub ['{"dogsvcGiveshuskiesEventsQueue":"${dogsvcgiveshuskiesURL}","mytopicMytopicfifoEventsQueue":"${mytopicmytopicfifoURL}",` +
		`"nonfifotopicNonfifotopicEventsQueue":"${nonfifotopicnonfifotopicURL}","yourtopicYourtopicfifoEventsQueue":"${yourtopicyourtopicfifoURL}"}', ` +
		`{dogsvcgiveshuskiesURL: !Ref dogsvcgiveshuskiesEventsQueue, mytopicmytopicfifoURL: !Ref mytopicmytopicfifoEventsQueue, ` +
		`yourtopicyourtopicfifoURL: !Ref yourtopicyourtopicfifoEventsQueue, nonfifotopicnonfifotopicURL: !Ref nonfifotopicnonfifotopicEventsQueue}]`
	if got := flowString(t, uris); got != wantURIs {
		t.Errorf("COPILOT_TOPIC_QUEUE_URIS =\n  %s\nwant\n  %s", got, wantURIs)
	}
	var names []string
	for _, e := range env.Content {
		names = append(names, scalarValue(get(e, "Name")))
	}
	if i := slices.Index(names, "COPILOT_TOPIC_QUEUE_URIS"); i < 1 || names[i-1] != "COPILOT_QUEUE_URI" {
		t.Errorf("environment %v: COPILOT_TOPIC_QUEUE_URIS must follow COPILOT_QUEUE_URI", names)
	}
}

func TestFIFOEventsQueue(t *testing.T) {
	manifest := `name: w
type: Worker Service
image: {location: nginx}
subscribe:
  queue:
    fifo: {content_based_deduplication: true}
    dead_letter: {tries: 3}
  topics:
    - {name: orders, service: shop}
`
	ws := loadWorkspace(t, "demo", map[string]string{
		"copilot/w/manifest.yml":                 manifest,
		"copilot/shop/manifest.yml":              "name: shop\ntype: Backend Service\nimage: {location: nginx}\npublish:\n  topics:\n    - {name: orders, fifo: true}\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, []string{"w"}, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	st := stacks[len(stacks)-1]
	validateTemplate(t, st.Name, st.Template)
	root := parseTemplate(t, st.Template)
	checkFacts(t, root, map[string]string{
		"Resources.EventsQueue.Properties.FifoQueue":                 "true",
		"Resources.EventsQueue.Properties.ContentBasedDeduplication": "true",
		"Resources.EventsQueue.Metadata":                             "{'aws:copilot:description': An events SQS FIFO queue to buffer messages}",
		"Resources.DeadLetterQueue.Properties.FifoQueue":             "true",
		// The FIFO queue subscribes to the topic's .fifo twin.
		"Resources.shopordersfifoSNSTopicSubscription.Properties.TopicArn": `!Join ["", [!Sub 'arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:', !Ref AppName, '-', !Ref EnvName, -shop-orders.fifo]]`,
	})
}
