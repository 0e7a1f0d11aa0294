package render

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// A Worker Service's SQS queues, as Copilot's subscribe partial writes
// them: the events queue (standard or FIFO) and, for a subscribed topic
// with `queue`, a queue of its own (<Service><Topic>EventsQueue, with its
// dead-letter queue and policies), whose URLs reach the containers in
// COPILOT_TOPIC_QUEUE_URIS. A subscription to a FIFO queue is a
// subscription to the topic's ".fifo" twin, as Copilot's Subscriptions
// names it.

// fifoSpec is `fifo: true` or its advanced map.
type fifoSpec struct {
	enabled                bool
	contentBased           *bool
	dedupScope, throughput *string
}

func parseFIFO(n manifest.BoolOrMap[manifest.QueueFIFO]) (fifoSpec, error) {
	var f fifoSpec
	switch {
	case !n.Written():
		return f, nil
	case n.IsMap && n.Err != nil:
		return f, fmt.Errorf("decode fifo: %v", n.Err)
	case n.Bad:
		return f, fmt.Errorf("fifo must be true, false or a map")
	case n.IsBool:
		f.enabled = n.Bool
		return f, nil
	default:
		m := n.Map
		f.enabled = m.ContentBased != nil || m.DedupScope != nil || m.Throughput != nil || m.HighThroughput != nil
		f.contentBased, f.dedupScope, f.throughput = m.ContentBased, m.DedupScope, m.Throughput
		if m.HighThroughput != nil && *m.HighThroughput {
			perGroup, scope := "perMessageGroupId", "messageGroup"
			f.throughput, f.dedupScope = &perGroup, &scope
		}
		return f, nil
	}
}

// queueSpec is subscribe.queue or subscribe.topics[].queue as a map.
type queueSpec struct {
	manifest.Queue
	fifo fifoSpec
}

// queueProperties are an SQS queue's properties; deadLetterID names its
// dead-letter queue.
func queueProperties(q queueSpec, deadLetterID string) (*yaml.Node, error) {
	props := kv("KmsMasterKeyId", ref("EventsKMSKey"))
	for _, f := range []struct {
		in        *string
		key, prop string
	}{{q.Retention, "retention", "MessageRetentionPeriod"}, {q.Delay, "delay", "DelaySeconds"}, {q.Timeout, "timeout", "VisibilityTimeout"}} {
		if f.in == nil {
			continue
		}
		v, err := seconds(f.in, f.key)
		if err != nil {
			return nil, err
		}
		set(props, f.prop, v)
	}
	if q.DeadLetter.Tries != nil {
		set(props, "RedrivePolicy", kv("deadLetterTargetArn", getAtt(deadLetterID+".Arn"), "maxReceiveCount", *q.DeadLetter.Tries))
	}
	if q.fifo.enabled {
		set(props, "FifoQueue", true)
		if q.fifo.throughput != nil {
			set(props, "FifoThroughputLimit", *q.fifo.throughput)
		}
		if q.fifo.dedupScope != nil {
			set(props, "DeduplicationScope", *q.fifo.dedupScope)
		}
		if q.fifo.contentBased != nil && *q.fifo.contentBased {
			set(props, "ContentBasedDeduplication", true)
		}
	}
	return props, nil
}

// topicQueue is a subscribed topic's own queue.
type topicQueue struct {
	id   string // <service><topic> without non-alphanumerics, topic with .fifo
	spec queueSpec
}

// parseTopicQueue decodes subscribe.topics[].queue: true (a queue with
// defaults), false, or a map.
func parseTopicQueue(n manifest.BoolOrMap[manifest.Queue]) (*queueSpec, error) {
	switch {
	case !n.Written():
		return nil, nil
	case n.IsMap && n.Err != nil:
		return nil, fmt.Errorf("decode queue: %v", n.Err)
	case n.Bad:
		return nil, fmt.Errorf("queue must be true, false or a map")
	case n.IsBool:
		if !n.Bool {
			return nil, nil
		}
		return &queueSpec{}, nil
	}
	q := queueSpec{Queue: n.Map}
	f, err := parseFIFO(q.FIFO)
	if err != nil {
		return nil, err
	}
	q.fifo = f
	if q.Empty() {
		return nil, nil
	}
	return &q, nil
}

// titleWord is cases.Title for one alphanumeric word: the first letter
// upper case, the rest lower case, as Copilot keys COPILOT_TOPIC_QUEUE_URIS.
func titleWord(s string) string {
	r := []rune(strings.ToLower(s))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// topicQueueURIs is COPILOT_TOPIC_QUEUE_URIS: a JSON map from
// <service><Topic>EventsQueue to each queue's URL, through Fn::Sub.
func topicQueueURIs(subs []workerSubscription) *yaml.Node {
	keys := map[string]string{}
	vars := kv()
	for _, s := range subs {
		if s.queue == nil {
			continue
		}
		svc, topic := logicalIDSafe(s.service), logicalIDSafe(s.name)
		keys[svc+titleWord(topic)+"EventsQueue"] = "${" + svc + topic + "URL}"
		set(vars, svc+topic+"URL", ref(s.queue.id+"EventsQueue"))
	}
	if len(vars.Content) == 0 {
		return nil
	}
	b, _ := json.Marshal(keys) // a map of strings always marshals, keys sorted
	return kv("Name", "COPILOT_TOPIC_QUEUE_URIS", "Value", fn("!Sub", string(b), vars))
}

// workerSubscription is one subscribed topic.
type workerSubscription struct {
	name, service string // name with .fifo when the subscription is to a FIFO queue
	filter        *yaml.Node
	queue         *topicQueue
	publisher     workspace.Kind
}

func (s workerSubscription) id() string { return logicalIDSafe(s.service) + logicalIDSafe(s.name) }

// addTopicQueue adds a topic's own queue, its dead-letter queue and their
// policies.
func addTopicQueue(add func(string, *yaml.Node), s workerSubscription, topicARN *yaml.Node) error {
	q := s.queue
	what, fifo := "A SQS queue", ""
	if q.spec.fifo.enabled {
		what, fifo = "A SQS FIFO queue", " FIFO"
	}
	props, err := queueProperties(q.spec, q.id+"DeadLetterQueue")
	if err != nil {
		return err
	}
	add(q.id+"EventsQueue", kv(
		"Metadata", kv("aws:copilot:description", what+" to buffer messages from the topic "+s.name),
		"Type", "AWS::SQS::Queue",
		"Properties", props,
	))
	taskRole := seq(getAtt("TaskRole.Arn"))
	if q.spec.DeadLetter.Tries != nil {
		dlq := kv("KmsMasterKeyId", ref("EventsKMSKey"), "MessageRetentionPeriod", 1209600)
		if q.spec.fifo.enabled {
			set(dlq, "FifoQueue", true)
		}
		add(q.id+"DeadLetterQueue", kv(
			"Metadata", kv("aws:copilot:description", "A dead letter SQS"+fifo+" queue to buffer failed messages from the topic "+s.name),
			"Type", "AWS::SQS::Queue",
			"Properties", dlq,
		))
		add(q.id+"DeadLetterPolicy", kv("Type", "AWS::SQS::QueuePolicy", "Properties", kv(
			"Queues", fn("", ref(q.id+"DeadLetterQueue")),
			"PolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("AWS", deepCopy(taskRole)),
				"Action", []string{"sqs:ReceiveMessage", "sqs:DeleteMessage"}, "Resource", getAtt(q.id+"DeadLetterQueue.Arn"))),
		)))
	}
	add(q.id+"QueuePolicy", kv("Type", "AWS::SQS::QueuePolicy", "Properties", kv(
		"Queues", fn("", ref(q.id+"EventsQueue")),
		"PolicyDocument", policyDoc(
			kv("Effect", "Allow", "Principal", kv("AWS", deepCopy(taskRole)),
				"Action", []string{"sqs:ReceiveMessage", "sqs:DeleteMessage"}, "Resource", getAtt(q.id+"EventsQueue.Arn")),
			kv("Effect", "Allow", "Principal", kv("Service", "sns.amazonaws.com"), "Action", []string{"sqs:SendMessage"},
				"Resource", getAtt(q.id+"EventsQueue.Arn"), "Condition", kv("ArnEquals", kv("aws:SourceArn", topicARN))),
		),
	)))
	return nil
}
