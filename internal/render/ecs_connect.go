package render

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// network.connect: ECS Service Connect, as Copilot's
// service-base-properties partial writes it. Every connected service is a
// client of the environment's namespace; a Load Balanced Web or Backend
// Service with a TCP target port also serves it, under its name (or
// connect.alias) on the port named "target".

// serviceConnect is network.connect when enabled.
type serviceConnect struct {
	alias string
}

// parseConnect decodes network.connect: true/false or {alias: name}.
func parseConnect(in ecsInput, n yaml.Node, fail func(n *yaml.Node, rule, msg, fix string)) *serviceConnect {
	if n.IsZero() {
		return nil
	}
	var sc serviceConnect
	switch n.Kind {
	case yaml.ScalarNode:
		var on bool
		if err := n.Decode(&on); err != nil {
			fail(&n, ruleManifest, "network.connect must be true, false or {alias: name}", "")
			return nil
		}
		if !on {
			return nil
		}
	case yaml.MappingNode:
		var m struct {
			Alias *string `yaml:"alias"`
		}
		if err := n.Decode(&m); err != nil {
			fail(&n, ruleManifest, fmt.Sprintf("decode network.connect: %v", err), "")
			return nil
		}
		if m.Alias != nil {
			sc.alias = *m.Alias
		}
	default:
		fail(&n, ruleManifest, "network.connect must be true, false or {alias: name}", "")
		return nil
	}
	if in.kind == workspace.ScheduledJob {
		fail(&n, ruleManifest, "a Scheduled Job has no network.connect", "")
		return nil
	}
	if sc.alias != "" && !servesTarget(in.kind) {
		fail(&n, ruleManifest, fmt.Sprintf("network.connect.alias needs a service that serves traffic; a %s is only a client", in.kind), "set network.connect: true")
		return nil
	}
	return &sc
}

// serviceConnectConfig is the service's ServiceConnectConfiguration.
func serviceConnectConfig(in ecsInput, sc *serviceConnect, tp taskPorts) *yaml.Node {
	if sc == nil {
		return ifFn("IsGovCloud", noValue(), kv("Enabled", false))
	}
	c := kv(
		"Enabled", true,
		"Namespace", serviceDiscoveryEndpoint(in.app, in.env),
		"LogConfiguration", awslogsConfig(),
	)
	if servesTarget(in.kind) && tp.targetPort > 0 && tp.targetIsTCP() {
		dns := any(ref("WorkloadName"))
		if sc.alias != "" {
			dns = sc.alias
		}
		set(c, "Services", seq(kv(
			"PortName", "target",
			"DiscoveryName", join("-", fn("", ref("WorkloadName"), "sc")),
			"ClientAliases", seq(kv("Port", ref("TargetPort"), "DnsName", dns)),
		)))
	}
	return c
}

// targetIsTCP reports whether the target port is exposed over TCP (Service
// Connect cannot serve UDP).
func (tp taskPorts) targetIsTCP() bool {
	for _, p := range tp.byContainer[tp.targetContainer] {
		if p.port == tp.targetPort {
			return p.protocol == "tcp"
		}
	}
	return true
}
