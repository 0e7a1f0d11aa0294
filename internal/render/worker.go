package render

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// publishedTopics maps "<service>/<topic>" to the publisher's type for every
// topic a workload of the workspace publishes in the environment.
func publishedTopics(ws *workspace.Workspace, decoded map[string]*manifest.Workload) map[string]workspace.Kind {
	out := map[string]workspace.Kind{}
	for _, w := range ws.Workloads {
		if m := decoded[w.Name]; m != nil {
			for _, t := range m.Topics() {
				out[w.Name+"/"+t.Name] = w.Kind
			}
		}
	}
	return out
}

func seconds(s *string, key string) (int, error) {
	d, err := time.ParseDuration(*s)
	if err != nil {
		return 0, fmt.Errorf("subscribe.queue.%s %q is not a duration such as 30s", key, *s)
	}
	return int(d.Seconds()), nil
}

// renderWorker renders a Worker Service: an ECS service without a load
// balancer that reads an SQS queue subscribed to topics of other services.
func renderWorker(in ecsInput, published map[string]workspace.Kind) (*Stack, diag.List) {
	m, platform, diags := ecsCommon(in)
	if diags.HasErrors() {
		return nil, diags
	}
	fail := failer(&diags, in.file, in.env)
	subscribe := m.Subscribe
	events := queueSpec{Queue: subscribe.Queue}
	if f, err := parseFIFO(subscribe.Queue.FIFO); err != nil {
		fail(subscribe.Queue.FIFO.Pos, ruleManifest, "subscribe.queue."+err.Error(), "")
	} else {
		events.fifo = f
	}
	queueProps, err := queueProperties(events, "DeadLetterQueue")
	if err != nil {
		fail(subscribe.At("queue"), ruleManifest, err.Error(), "")
	}
	deadLetter := subscribe.Queue.DeadLetter.Tries != nil
	// Copilot subscribes a FIFO queue to the topic's ".fifo" twin.
	eventsFIFO := !subscribe.Queue.Empty() && events.fifo.enabled
	var subs []workerSubscription
	for i, t := range subscribe.Topics {
		at := t.Pos
		if t.Name == "" || t.Service == "" {
			fail(at, ruleManifest, "every subscribed topic needs a name and a service", "")
			continue
		}
		if _, ok := published[t.Service+"/"+t.Name]; !ok {
			fail(at, ruleManifest, fmt.Sprintf("topic %q of service %q is not published by a workload of this workspace", t.Name, t.Service),
				fmt.Sprintf("add it to publish.topics of copilot/%s/manifest.yml, or fix the name", t.Service))
		}
		s := workerSubscription{name: t.Name, service: t.Service, publisher: published[t.Service+"/"+t.Name]}
		q, err := parseTopicQueue(t.Queue)
		if err != nil {
			fail(t.Queue.Pos, ruleManifest, fmt.Sprintf("subscribe.topics[%d].%v", i, err), "")
		}
		switch {
		case !t.Queue.Written() && eventsFIFO:
			s.name += ".fifo"
		case q != nil && q.fifo.enabled:
			s.name += ".fifo"
		}
		if q != nil {
			s.queue = &topicQueue{id: s.id(), spec: *q}
		}
		if !t.FilterPolicy.IsZero() {
			f, err := filterPolicy(&t.FilterPolicy)
			if err != nil {
				fail(manifest.PosOf(&t.FilterPolicy), ruleManifest, err.Error(), "write filter_policy as a map")
			}
			s.filter = f
		}
		subs = append(subs, s)
	}
	image, idiags := ecsImage(in, m)
	diags = append(diags, idiags...)
	addons, adiags := workloadAddons(in.addons, in.env, in.name, in.opts)
	diags = append(diags, adiags...)
	if m.Count.Requests != nil || m.Count.ResponseTime != nil {
		fail(m.Count.Pos, ruleManifest, "a Worker Service scales on cpu_percentage, memory_percentage or queue_delay, not on requests or response_time", "")
	}
	if diags.HasErrors() {
		return nil, diags
	}
	// A topic's own queue is checked while it is rendered.
	if in.opts.checkDone(m.task.overrides) && !slices.ContainsFunc(subs, func(s workerSubscription) bool { return s.queue != nil }) {
		return nil, diags
	}
	addonSecrets, addonVars, addonPolicies, addonSGs := addonOutputsByUse(addons)
	sgs, err := ecsSecurityGroups(m.Network.VPC.SecurityGroups, addonSGs)
	if err != nil {
		fail(m.Network.VPC.SecurityGroups.Pos, ruleManifest, err.Error(), "")
		return nil, diags
	}
	params, pdiags := ecsParams(in, m, image, 256, 512, addons)
	diags = append(diags, pdiags...)
	delete(params, "DNSDelegated")
	topics := make([]topicSpec, 0, len(m.Publish.Topics))
	for _, t := range m.Publish.Topics {
		topics = append(topics, newTopic(t))
	}
	manifestText, err := in.opts.encode(in.m.Doc)
	if err != nil {
		fail(noPos, ruleManifest, fmt.Sprintf("encode manifest for Metadata: %v", err), "")
		return nil, diags
	}

	paramDecl := ecsParamsDecl(false)
	set(paramDecl, "LogRetention", kv("Type", "Number", "Default", ecsLogRetention))
	conditions := ecsConditions(false)
	taskParams(m.task, paramDecl, conditions, params)
	res := kv()
	add := func(id string, r *yaml.Node) { res.Content = append(res.Content, str(id), r) }
	add("LogGroup", ecsLogGroup())
	in.workerEnv = topicQueueURIs(subs)
	taskDef, err := ecsTaskDefinition(m, platform, ecsContainers(in, m, addonSecrets, addonVars, topics, nil, exposedPorts(in, m, false)))
	if err != nil {
		fail(m.At("taskdef_overrides"), ruleManifest, err.Error(), "check the path against the rendered template (autopilot render)")
		return nil, diags
	}
	add("TaskDefinition", taskDef)
	addAccessPoint(add, m.task.storage)
	add("ExecutionRole", ecsExecutionRole(m.task))
	add("TaskRole", ecsTaskRole(m, topics, addonPolicies))
	addAutoscaling(add, m.Count, nil)
	addQueueDelayScaling(add, m.Count, subs)
	addRollbackAlarms(add, m.task.rollback)
	svcProps := ecsServiceProps(m, platform, sgs, serviceConnectConfig(in, m.task.connect, taskPorts{ruleTarget: ruleTarget{targetPort: -1}}))
	set(svcProps, "ServiceRegistries", noValue())
	add("Service", kv(
		"Metadata", kv("aws:copilot:description", "An ECS service to run and maintain your tasks in the environment cluster"),
		"Type", "AWS::ECS::Service",
		"Properties", svcProps,
	))

	taskRole := seq(getAtt("TaskRole.Arn"))
	add("EventsKMSKey", kv(
		"Metadata", kv("aws:copilot:description", "A KMS key to encrypt messages in your queues"),
		"Type", "AWS::KMS::Key",
		"Properties", kv("KeyPolicy", kv("Version", "2012-10-17", "Statement", seq(
			kv("Sid", "Allow key use", "Effect", "Allow", "Principal", kv("AWS", sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
				"Action", []string{"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*",
					"kms:Delete*", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:Tag*", "kms:UntagResource", "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"},
				"Resource", "*"),
			kv("Sid", "Allow SNS encryption", "Effect", "Allow", "Principal", kv("Service", "sns.amazonaws.com"), "Action", []string{"kms:Decrypt", "kms:GenerateDataKey*"}, "Resource", "*"),
			kv("Sid", "Allow SQS encryption", "Effect", "Allow", "Principal", kv("Service", "sqs.amazonaws.com"), "Action", []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"}, "Resource", "*"),
			kv("Sid", "Allow task role encrypt/decrypt", "Effect", "Allow", "Principal", kv("AWS", taskRole), "Action", []string{"kms:Encrypt", "kms:Decrypt"}, "Resource", "*"),
		))),
	))
	queueWhat, dlqWhat := "An events SQS queue to buffer messages", "A dead letter SQS queue to buffer failed messages from the events queue"
	dlqProps := kv("KmsMasterKeyId", ref("EventsKMSKey"), "MessageRetentionPeriod", 1209600)
	if events.fifo.enabled {
		queueWhat, dlqWhat = "An events SQS FIFO queue to buffer messages", "A dead letter SQS FIFO queue to buffer failed messages from the events queue"
		set(dlqProps, "FifoQueue", true)
	}
	add("EventsQueue", kv(
		"Metadata", kv("aws:copilot:description", queueWhat),
		"Type", "AWS::SQS::Queue",
		"Properties", queueProps,
	))
	if deadLetter {
		add("DeadLetterQueue", kv(
			"Metadata", kv("aws:copilot:description", dlqWhat),
			"Type", "AWS::SQS::Queue",
			"Properties", dlqProps,
		))
		add("DeadLetterPolicy", kv("Type", "AWS::SQS::QueuePolicy", "Properties", kv(
			"Queues", fn("", ref("DeadLetterQueue")),
			"PolicyDocument", policyDoc(kv("Effect", "Allow", "Principal", kv("AWS", deepCopy(taskRole)),
				"Action", []string{"sqs:ReceiveMessage", "sqs:DeleteMessage"}, "Resource", getAtt("DeadLetterQueue.Arn"))),
		)))
	}
	topicARN := func(s workerSubscription) *yaml.Node {
		return join("", fn("", sub("arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:"), ref("AppName"), "-", ref("EnvName"), "-"+s.service+"-"+s.name))
	}
	statements := []*yaml.Node{kv("Effect", "Allow", "Principal", kv("AWS", deepCopy(taskRole)),
		"Action", []string{"sqs:ReceiveMessage", "sqs:DeleteMessage"}, "Resource", getAtt("EventsQueue.Arn"))}
	for _, s := range subs {
		if s.queue != nil {
			continue
		}
		statements = append(statements, kv("Effect", "Allow", "Principal", kv("Service", "sns.amazonaws.com"), "Action", []string{"sqs:SendMessage"},
			"Resource", getAtt("EventsQueue.Arn"), "Condition", kv("ArnEquals", kv("aws:SourceArn", topicARN(s)))))
	}
	add("QueuePolicy", kv("Type", "AWS::SQS::QueuePolicy", "Properties", kv(
		"Queues", fn("", ref("EventsQueue")),
		"PolicyDocument", policyDoc(statements...),
	)))
	for _, s := range subs {
		props := kv("TopicArn", topicARN(s), "Protocol", "sqs")
		if s.filter != nil {
			set(props, "FilterPolicy", s.filter)
		}
		endpoint := "EventsQueue.Arn"
		if s.queue != nil {
			endpoint = s.queue.id + "EventsQueue.Arn"
		}
		set(props, "Endpoint", getAtt(endpoint))
		add(s.id()+"SNSTopicSubscription", kv(
			"Metadata", kv("aws:copilot:description", fmt.Sprintf("A SNS subscription to topic %s from service %s", s.name, s.service)),
			"Type", "AWS::SNS::Subscription",
			"Properties", props,
		))
		if s.queue != nil {
			if err := addTopicQueue(add, s, topicARN(s)); err != nil {
				fail(m.At("subscribe"), ruleManifest, fmt.Sprintf("subscribe topic %s: %v", s.name, err), "")
				return nil, diags
			}
		}
	}
	addTopics(add, topics)
	addAddonsStack(add, addons)

	tpl := workloadTemplate("CloudFormation template that represents a worker service on Amazon ECS.", string(manifestText),
		"Parameters", paramDecl,
		"Conditions", conditions,
		"Resources", res,
	)
	st, err := workloadStack(in.app, in.env, in.name, workspace.WorkerService, in.opts, tpl, params, addons)
	if err != nil {
		fail(noPos, ruleManifest, err.Error(), "")
		return nil, diags
	}
	addObjects(st, envFileObjects(m.task))
	for _, s := range subs {
		// The topic must exist before the subscription: deploy the
		// publisher's stack first. Workers may subscribe to each other, so
		// a worker publisher gets no edge (it could close a cycle); its
		// topic exists once it has been deployed once.
		if dep := stackName(in.app, in.env, s.service); s.publisher != workspace.WorkerService && !slices.Contains(st.DependsOn, dep) {
			st.DependsOn = append(st.DependsOn, dep)
		}
	}
	return st, append(diags, sizeCheck(st, in.file)...)
}

// filterPolicy is the SNS filter policy as Copilot writes it: the map
// marshalled to JSON (keys sorted), which YAML reads back as a flow map.
func filterPolicy(n *yaml.Node) (*yaml.Node, error) {
	var v map[string]any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("filter_policy must be a map: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("filter_policy: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("filter_policy: %v", err)
	}
	return doc.Content[0], nil
}
