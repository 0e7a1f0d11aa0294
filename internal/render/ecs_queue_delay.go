package render

import (
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// addQueueDelayScaling adds Copilot's per-queue target-tracking policies
// for count.queue_delay (AutoScalingPolicyEventsQueue and one
// AutoScalingPolicy<svc><topic>EventsQueue per topic queue, same names,
// target and cooldowns). Copilot's target is a BacklogPerTask metric that
// a Lambda publishes every minute; here CloudWatch metric math computes
// the same ratio, visible messages over running tasks, so no function,
// role, schedule or log group is rendered.
func addQueueDelayScaling(add func(string, *yaml.Node), c manifest.Count, subs []workerSubscription) {
	q := c.QueueDelay
	if q == nil || !c.Autoscaling() {
		return
	}
	in, out := 120, 60
	if c.CooldownIn != nil {
		in = int(c.CooldownIn.Seconds())
	}
	if c.CooldownOut != nil {
		out = int(c.CooldownOut.Seconds())
	}
	if q.In != nil {
		in = int(q.In.Seconds())
	}
	if q.Out != nil {
		out = int(q.Out.Seconds())
	}
	policy := func(queueID string) {
		queueName := getAtt(queueID + ".QueueName")
		add("AutoScalingPolicy"+queueID, kv(
			"Metadata", kv("aws:copilot:description", "An autoscaling policy to maintain "+strconv.Itoa(q.BacklogPerTask())+" messages/task for "+queueID),
			"Type", "AWS::ApplicationAutoScaling::ScalingPolicy",
			"Properties", kv(
				"PolicyName", join("-", fn("", ref("WorkloadName"), "BacklogPerTask", deepCopy(queueName))),
				"PolicyType", "TargetTrackingScaling",
				"ScalingTargetId", ref("AutoScalingTarget"),
				"TargetTrackingScalingPolicyConfiguration", kv(
					"ScaleInCooldown", in,
					"ScaleOutCooldown", out,
					"CustomizedMetricSpecification", kv("Metrics", seq(
						kv("Id", "visible", "Label", "messages waiting in the queue", "ReturnData", false,
							"MetricStat", kv("Metric", kv("Namespace", "AWS/SQS", "MetricName", "ApproximateNumberOfMessagesVisible",
								"Dimensions", seq(kv("Name", "QueueName", "Value", queueName))), "Stat", "Sum")),
						kv("Id", "tasks", "Label", "running tasks of the service", "ReturnData", false,
							"MetricStat", kv("Metric", kv("Namespace", "ECS/ContainerInsights", "MetricName", "RunningTaskCount",
								"Dimensions", seq(
									kv("Name", "ClusterName", "Value", importValue(sub("${AppName}-${EnvName}-ClusterId"))),
									kv("Name", "ServiceName", "Value", getAtt("Service.Name")))), "Stat", "Average")),
						kv("Id", "backlogPerTask", "Label", "messages waiting per running task", "ReturnData", true,
							"Expression", "visible / tasks"),
					)),
					"TargetValue", q.BacklogPerTask(),
				),
			),
		))
	}
	policy("EventsQueue")
	for _, s := range subs {
		if s.queue != nil {
			policy(s.queue.id + "EventsQueue")
		}
	}
}
