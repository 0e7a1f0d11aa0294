package lint

// ruleHelp describes every rule id lint reports, for SARIF rule metadata
// (what code scanning shows next to a finding) and for ignore lists.
var ruleHelp = map[string]string{
	// Reading files.
	"yaml-syntax":     "The file is not valid YAML.",
	"duplicate-key":   "A mapping repeats a key; YAML keeps only one of the values.",
	"yaml-limits":     "The document nests too deeply or expands too many aliases to be a manifest.",
	"file-too-large":  "The file is larger than any manifest or addon template could be.",
	"not-text":        "The file is not UTF-8 text.",
	"empty-file":      "The file has no content.",
	"not-a-mapping":   "A manifest must be a mapping of keys to values.",
	"unreadable-file": "The file could not be read.",
	"workspace-file":  "copilot/.workspace must name the application.",
	"manifest-type":   "The manifest's `type` is missing or not one of Copilot's seven types.",
	// Interpolation and overrides.
	"undefined-variable": "A ${VAR} reference names a variable that is not set (a warning in lint, an error when deploying).",
	"reserved-variable":  "COPILOT_APPLICATION_NAME and COPILOT_ENVIRONMENT_NAME cannot be set from the environment.",
	"override-type":      "An `environments.<name>` override must be a mapping of the fields it overrides.",
	"pipeline-skipped":   "Copilot pipeline manifests are not deployed; GitHub workflows replace them.",
	// Schema.
	RuleUnknownKey:       "A key Copilot does not know; Copilot ignores it silently, which usually hides a typo.",
	"schema/type":        "A value has the wrong type for its field.",
	"schema/required":    "A field Copilot requires is missing.",
	"schema/enum":        "A value is not one of those the field accepts.",
	"schema/range":       "A number is outside the range the field accepts.",
	"schema/pattern":     "A value does not have the format the field expects.",
	"schema/not-allowed": "A value the field reserves or forbids.",
	"image-build-path":   "image.build names a Dockerfile or build context that is not in the workspace.",
	"exclusive-fields":   "Two alternative forms of a field are set together (for example image.build and image.location).",
	// App Runner.
	"apprunner-availability":      "AWS App Runner is closed to new customers since 2026-04-30.",
	"apprunner-instance-size":     "App Runner offers only certain CPU and memory pairs.",
	"apprunner-healthcheck-range": "App Runner health-check thresholds, interval and timeout must be 1 to 20.",
	"apprunner-private-endpoint":  "http.private.endpoint must be a VPC endpoint id (vpce-...).",
	"apprunner-image":             "App Runner pulls images only from Amazon ECR or ECR Public.",
	// ECS workloads.
	"fargate-task-size":              "Fargate offers only certain CPU and memory pairs.",
	"autoscaling":                    "count: autoscaling needs a range and a metric the workload type supports; spot excludes both.",
	"autoscaling-needs-http":         "Scaling on requests or response time needs a load balancer (http).",
	"arm-spot":                       "Fargate Spot does not run ARM tasks.",
	"windows":                        "A feature that Windows tasks on Fargate do not support, or a task size too small for Windows.",
	"connect-alias":                  "A Service Connect alias needs an exposed port and is not available to Worker Services.",
	"container-dependencies":         "depends_on must name existing containers, without cycles, with conditions the container allows.",
	"container-healthcheck-range":    "Container health-check settings must be within what ECS accepts.",
	"exposed-ports":                  "A port may be exposed by one container with one protocol.",
	"healthcheck-port":               "A load balancer health check must probe a TCP port.",
	"target-container":               "The target container must exist and expose a port.",
	"sidecar-port":                   "Sidecar ports must be between 1 and 65535.",
	"command-words":                  "A string command or entrypoint must split into words with shell quoting rules, as Copilot splits it.",
	"mount-point-volume":             "A mount point must name a volume declared under storage.volumes.",
	"storage-efs":                    "EFS volumes: at most one managed volume, and either a file system id or uid/gid.",
	"http-hosted-zone":               "http.hosted_zone needs http.alias.",
	"http-target-container-conflict": "target_container and the deprecated targetContainer are both set.",
	"http-rule-conditions":           "A listener rule allows fewer than 5 conditions (aliases plus source IPs).",
	"grace-period":                   "The health-check grace period is set where it does not apply.",
	"lb-healthcheck-range":           "Load balancer health-check settings must be within what Elastic Load Balancing accepts.",
	"deregistration-delay":           "The deregistration delay must be between 0 and 3600 seconds.",
	"nlb-port":                       "Network Load Balancer ports must be between 1 and 65535.",
	"nlb-hosted-zone":                "A Network Load Balancer alias cannot take a hosted zone.",
	"fifo-queue":                     "FIFO queue settings that SQS does not allow together.",
	"subscribe-topic":                "A subscription must name a topic the publishing service publishes.",
	"queue-delay-insights":           "count.queue_delay needs Container Insights on the environment (autopilot's scaling reads its RunningTaskCount).",
	"queue-range":                    "SQS retention, delay, timeout and dead-letter tries must be within SQS's limits.",
	"schedule":                       "on.schedule must be a valid cron expression, preset, @every interval, rate() or cron().",
	"job-timeout":                    "A job timeout must be whole seconds, at least one.",
	"name-length":                    "Names must fit the CloudFormation stack and AWS resource names built from them.",
	// Static sites and environments.
	"static-site-certificate": "A static site certificate needs an alias and must be in us-east-1.",
	"env-vpc":                 "VPC settings: import a VPC (id) or customise one (cidr), with subnets to match.",
	"env-subnet-cidr":         "Subnet CIDRs must lie in the VPC, not overlap, and one per availability zone.",
	"env-private-subnets":     "http.private.subnets needs an imported VPC and must be among its subnets.",
	"env-sg-ports":            "Security group port ranges must be from-to with from at most to, up to 65535.",
	"env-ingress-conflict":    "The deprecated security_groups.ingress cannot be combined with ingress.",
	"env-deprecated-ingress":  "A deprecated ingress setting that has no effect where it is.",
	"env-cdn-ingress":         "Ingress limited to the CDN needs the CDN enabled.",
	"env-cdn-certificate":     "CDN certificates must be in us-east-1 and match the TLS settings.",
	"env-flow-logs-false":     "`flow_logs: false` does not turn flow logs off: Copilot creates them for any value.",
	// What render refuses (the same findings render and plan stop with).
	ruleRenderManifest:    "A value autopilot cannot render into a template, found by the renderer itself.",
	ruleRenderUnsupported: "A Copilot feature autopilot does not render yet: render and plan refuse the manifest, lint notes it.",
	ruleRenderExpress:     "How x-autopilot.runtime: ecs-express moves a Request-Driven Web Service to Amazon ECS Express Mode: what is mapped how, and what does not carry over.",
	// Addons.
	"addon-template":       "An addon must be a CloudFormation template with Resources.",
	"addon-parameters":     "Addons declare App, Env and Name; addons.parameters.yml may only set declared, non-reserved parameters.",
	"addon-reference":      "A Ref, GetAtt, Sub or condition names something the template does not define.",
	"aurora-serverless-v1": "Aurora Serverless v1 (EngineMode: serverless) is retired and will not deploy.",
}

// RuleHelp returns the description of every rule id lint can report.
func RuleHelp() map[string]string {
	out := make(map[string]string, len(ruleHelp))
	for k, v := range ruleHelp {
		out[k] = v
	}
	return out
}

// RuleUnknownKey is the id of a key Copilot does not know: a warning, which
// strict makes an error.
const RuleUnknownKey = "unknown-key"
