package render

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
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

// parseConnect reads network.connect: true/false or {alias: name}.
func parseConnect(in ecsInput, c manifest.BoolOrMap[struct {
	Alias *string `yaml:"alias"`
}], fail failFunc) *serviceConnect {
	if !c.Written() {
		return nil
	}
	var sc serviceConnect
	switch {
	case c.IsMap && c.Err != nil:
		fail(c.Pos, ruleManifest, fmt.Sprintf("decode network.connect: %v", c.Err), "")
		return nil
	case c.Bad:
		fail(c.Pos, ruleManifest, "network.connect must be true, false or {alias: name}", "")
		return nil
	case c.IsBool && !c.Bool:
		return nil
	case c.IsMap && c.Map.Alias != nil:
		sc.alias = *c.Map.Alias
	}
	if in.kind == workspace.ScheduledJob {
		fail(c.Pos, ruleManifest, "a Scheduled Job has no network.connect", "")
		return nil
	}
	if sc.alias != "" && !servesTarget(in.kind) {
		fail(c.Pos, ruleManifest, fmt.Sprintf("network.connect.alias needs a service that serves traffic; a %s is only a client", in.kind), "set network.connect: true")
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
