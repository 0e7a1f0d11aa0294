package render

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// envLBExports names the environment exports of one of its load balancers.
// Copilot's workload templates read these values as attributes of the
// env-controller custom resource; autopilot imports the same values from
// the environment stack's exports.
type envLBExports struct {
	dns, fullName, listener, httpsListener, hostedZone string
}

var (
	publicLB = envLBExports{dns: "PublicLoadBalancerDNS", fullName: "PublicLoadBalancerFullName", listener: "HTTPListenerArn",
		httpsListener: "HTTPSListenerArn", hostedZone: "CanonicalHostedZoneID"}
	internalLB = envLBExports{dns: "InternalLoadBalancerDNS", fullName: "InternalLoadBalancerFullName", listener: "InternalHTTPListenerArn",
		httpsListener: "InternalHTTPSListenerArn", hostedZone: "InternalLoadBalancerCanonicalHostedZoneID"}
)

// export imports the load balancer's "DNS", "FullName", "HTTPListenerArn",
// "HTTPSListenerArn" or "HostedZone" (its canonical hosted zone).
func (e envLBExports) export(what string) *yaml.Node {
	name := map[string]string{"DNS": e.dns, "FullName": e.fullName, "HTTPListenerArn": e.listener, "HTTPSListenerArn": e.httpsListener, "HostedZone": e.hostedZone}[what]
	return importValue(sub("${AppName}-${EnvName}-" + name))
}

// internalDNSAlias is the Backend Service's <svc>.<env>.<app>.internal
// record pointing at the internal load balancer.
func internalDNSAlias(in ecsInput) *yaml.Node {
	return kv(
		"Metadata", kv("aws:copilot:description", fmt.Sprintf("Alias for %s.%s.%s.internal to the internal load balancer", in.name, in.env, in.app)),
		"Type", "AWS::Route53::RecordSetGroup",
		"Properties", kv(
			"Comment", sub("Load balancer alias for service ${WorkloadName}"),
			"HostedZoneId", importValue(sub("${AppName}-${EnvName}-InternalWorkloadsHostedZoneID")),
			"RecordSets", seq(kv(
				"Type", "A",
				"AliasTarget", kv(
					"HostedZoneId", internalLB.export("HostedZone"),
					"DNSName", internalLB.export("DNS"),
				),
				"Name", join(".", seq(ref("WorkloadName"), importValue(sub("${AppName}-${EnvName}-InternalWorkloadsHostedZoneName")))),
			)),
		),
	)
}
