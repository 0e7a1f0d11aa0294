package render

import (
	"slices"
	"strings"
	"testing"
)

// Copilot's worker-manifest.yml scales on queue_delay (v1.33.2 testdata:
// acceptable_latency 1m, msg_processing_time 250ms). Its template holds
// AutoScalingPolicyEventsQueue and AutoScalingPolicy<svc><topic>EventsQueue
// per topic queue, named <svc>-BacklogPerTask-<queue name>, with target
// ceil(1m / 250ms) = 240 messages per task and cooldowns 120/60 (or the
// manifest's); autopilot keeps those and replaces the Lambda-published
// BacklogPerTask metric with metric math.
func TestQueueDelayScalingMatchesCopilotPolicies(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/dogworker/manifest.yml": `name: dogworker
type: Worker Service
image:
  location: amazon/ecs-example
count:
  range: {min: 1, max: 10, spot_from: 6}
  queue_delay:
    acceptable_latency: 1m
    msg_processing_time: 250ms
    cooldown: {in: 30s}
subscribe:
  topics:
    - name: givesdogs
      service: dogsvc
      queue: true
    - name: plain
      service: dogsvc
`,
		"copilot/dogsvc/manifest.yml": `name: dogsvc
type: Backend Service
image: {location: nginx}
publish:
  topics:
    - name: givesdogs
    - name: plain
`,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, []string{"dogworker"}, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	st := stacks[len(stacks)-1]
	validateTemplate(t, st.Name, st.Template)
	root := parseTemplate(t, st.Template)
	facts := resourceFacts(t, root)
	for _, want := range []string{"AutoScalingPolicyEventsQueue:AWS::ApplicationAutoScaling::ScalingPolicy",
		"AutoScalingPolicydogsvcgivesdogsEventsQueue:AWS::ApplicationAutoScaling::ScalingPolicy", "AutoScalingTarget:AWS::ApplicationAutoScaling::ScalableTarget"} {
		if !slices.Contains(facts, want) {
			t.Errorf("no %s in %q", want, facts)
		}
	}
	for _, f := range facts {
		if strings.HasPrefix(f, "BacklogPerTask") || strings.Contains(f, "AWS::Lambda::") {
			t.Errorf("%s: the backlog is computed by CloudWatch, no Lambda is rendered", f)
		}
	}
	const p = "Resources.AutoScalingPolicydogsvcgivesdogsEventsQueue.Properties."
	checkFacts(t, root, map[string]string{
		p + "PolicyName": `!Join ['-', [!Ref WorkloadName, BacklogPerTask, !GetAtt dogsvcgivesdogsEventsQueue.QueueName]]`,
		p + "PolicyType": "TargetTrackingScaling",
		p + "TargetTrackingScalingPolicyConfiguration.TargetValue":                                               "240",
		p + "TargetTrackingScalingPolicyConfiguration.ScaleInCooldown":                                           "30",
		p + "TargetTrackingScalingPolicyConfiguration.ScaleOutCooldown":                                          "60",
		p + "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification.Metrics.2.Expression":        "visible / tasks",
		p + "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification.Metrics.0.MetricStat.Metric": "{Namespace: AWS/SQS, MetricName: ApproximateNumberOfMessagesVisible, Dimensions: [{Name: QueueName, Value: !GetAtt dogsvcgivesdogsEventsQueue.QueueName}]}",
		p + "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification.Metrics.1.MetricStat.Metric": "{Namespace: ECS/ContainerInsights, MetricName: RunningTaskCount, Dimensions: [{Name: ClusterName, Value: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-ClusterId'}}, {Name: ServiceName, Value: !GetAtt Service.Name}]}",
		"Resources.AutoScalingPolicyEventsQueue.Properties.PolicyName":                                           `!Join ['-', [!Ref WorkloadName, BacklogPerTask, !GetAtt EventsQueue.QueueName]]`,
	})
}
