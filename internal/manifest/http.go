package manifest

import (
	"time"

	"gopkg.in/yaml.v3"
)

// HTTP is an ECS service's `http`: false, or the main listener rule of a
// Load Balanced Web Service (the internal one of a Backend Service).
type HTTP struct {
	Section             `yaml:"-"`
	Enabled             bool
	IsMap               bool // the map form, not `http: false`
	Path                *string
	HealthCheck         TargetHealthCheck
	DeregistrationDelay *time.Duration
	Stickiness          *bool
	TargetContainer     *string
	// DeprecatedTargetContainer is targetContainer, the old spelling
	// (TargetContainer falls back to it).
	DeprecatedTargetContainer *string
	TargetPort                *uint16
	AllowedSourceIPs          []string
	Version                   *string
	// Alias, HostedZone and AdditionalRules are read by lint; render
	// refuses them (custom domains are not rendered yet).
	Alias           Alias
	HostedZone      *string
	AdditionalRules []HTTPRule
}

// HTTPRule is one of http.additional_rules, as far as lint reads it.
type HTTPRule struct {
	Section          `yaml:"-"`
	Path             *string           `yaml:"path"`
	HealthCheck      TargetHealthCheck `yaml:"healthcheck"`
	Alias            Alias             `yaml:"alias"`
	HostedZone       *string           `yaml:"hosted_zone"`
	AllowedSourceIPs []string          `yaml:"allowed_source_ips"`
	TargetContainer  *string           `yaml:"target_container"`
	// DeprecatedTargetContainer is targetContainer, the old spelling.
	DeprecatedTargetContainer *string `yaml:"targetContainer"`
	TargetPort                *int    `yaml:"target_port"`
	DeregistrationDelay       *string `yaml:"deregistration_delay"`
}

// Alias is a listener's domain names: a string, a list of strings, or a
// list of {name, hosted_zone}.
type Alias struct {
	Names []AliasName
}

// AliasName is one domain name of an Alias; Section has the positions of
// the {name, hosted_zone} form.
type AliasName struct {
	Section    `yaml:"-"`
	Name       string
	HostedZone *string
}

func (a *Alias) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		a.Names = []AliasName{{Section: newSection(n), Name: n.Value}}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return valueErrorf("line %d: an alias is a domain name, a list of names, or a list of {name, hosted_zone}", n.Line)
	}
	for _, item := range n.Content {
		name := AliasName{Section: newSection(item)}
		switch item.Kind {
		case yaml.ScalarNode:
			name.Name = item.Value
		case yaml.MappingNode:
			var m struct {
				Name       string  `yaml:"name"`
				HostedZone *string `yaml:"hosted_zone"`
			}
			if err := item.Decode(&m); err != nil {
				return err
			}
			name.Name, name.HostedZone = m.Name, m.HostedZone
		default:
			return valueErrorf("line %d: an alias is a domain name or {name, hosted_zone}", item.Line)
		}
		a.Names = append(a.Names, name)
	}
	return nil
}

func (h *HTTP) UnmarshalYAML(n *yaml.Node) error {
	h.Section = newSection(n)
	h.Set = true
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&h.Enabled)
	}
	h.IsMap = true
	var m struct {
		Path                *string           `yaml:"path"`
		HealthCheck         TargetHealthCheck `yaml:"healthcheck"`
		DeregistrationDelay *string           `yaml:"deregistration_delay"`
		Stickiness          *bool             `yaml:"stickiness"`
		TargetContainer     *string           `yaml:"target_container"`
		TargetContainerOld  *string           `yaml:"targetContainer"`
		TargetPort          *uint16           `yaml:"target_port"`
		AllowedSourceIPs    []string          `yaml:"allowed_source_ips"`
		Version             *string           `yaml:"version"`
		Alias               Alias             `yaml:"alias"`
		HostedZone          *string           `yaml:"hosted_zone"`
		AdditionalRules     []HTTPRule        `yaml:"additional_rules"`
	}
	// A value of the wrong type leaves its field unset and the rest read.
	err := decode(n, &m)
	if _, ok := err.(*yaml.TypeError); err != nil && !ok {
		return err
	}
	h.Alias, h.HostedZone, h.AdditionalRules = m.Alias, m.HostedZone, m.AdditionalRules
	h.Enabled = len(n.Content) > 0
	h.Path, h.HealthCheck, h.Stickiness, h.TargetPort, h.AllowedSourceIPs, h.Version = m.Path, m.HealthCheck, m.Stickiness, m.TargetPort, m.AllowedSourceIPs, m.Version
	h.TargetContainer, h.DeprecatedTargetContainer = m.TargetContainer, m.TargetContainerOld
	if h.TargetContainer == nil && !h.Present("target_container") {
		h.TargetContainer = m.TargetContainerOld
	}
	if m.DeregistrationDelay != nil {
		d, perr := time.ParseDuration(*m.DeregistrationDelay)
		if perr != nil && err == nil {
			return valueErrorf("line %d: http.deregistration_delay %q is not a duration such as 30s", n.Line, *m.DeregistrationDelay)
		}
		if perr == nil {
			h.DeregistrationDelay = &d
		}
	}
	return err
}

// TargetHealthCheck is a target group's health check: a path or a map.
type TargetHealthCheck struct {
	Section                              `yaml:"-"`
	Path                                 *string
	Port                                 *int
	SuccessCodes                         *string
	HealthyThreshold, UnhealthyThreshold *int64
	Interval, Timeout, GracePeriod       *time.Duration
}

func (h *TargetHealthCheck) UnmarshalYAML(n *yaml.Node) error {
	h.Section = newSection(n)
	if n.Kind == yaml.ScalarNode {
		p := n.Value
		h.Path = &p
		return nil
	}
	var m struct {
		Path               *string `yaml:"path"`
		Port               *int    `yaml:"port"`
		SuccessCodes       *string `yaml:"success_codes"`
		HealthyThreshold   *int64  `yaml:"healthy_threshold"`
		UnhealthyThreshold *int64  `yaml:"unhealthy_threshold"`
		Interval           *string `yaml:"interval"`
		Timeout            *string `yaml:"timeout"`
		GracePeriod        *string `yaml:"grace_period"`
	}
	// A value of the wrong type leaves its field unset and the rest read;
	// the error is the first one.
	err := decode(n, &m)
	if _, ok := err.(*yaml.TypeError); err != nil && !ok {
		return err
	}
	h.Path, h.Port, h.SuccessCodes, h.HealthyThreshold, h.UnhealthyThreshold = m.Path, m.Port, m.SuccessCodes, m.HealthyThreshold, m.UnhealthyThreshold
	for _, d := range []struct {
		dst  **time.Duration
		what string
		s    *string
	}{{&h.Interval, "interval", m.Interval}, {&h.Timeout, "timeout", m.Timeout}, {&h.GracePeriod, "grace_period", m.GracePeriod}} {
		v, perr := parseDuration(n, "http.healthcheck."+d.what, d.s)
		if perr != nil && err == nil {
			err = perr
		}
		*d.dst = v
	}
	return err
}
