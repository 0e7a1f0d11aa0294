package manifest

import (
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// HTTP is an ECS service's `http`: false, or the listener rules of a Load
// Balanced Web Service (the internal ones of a Backend Service). The main
// rule's fields sit at the top level of the mapping.
type HTTP struct {
	Section `yaml:"-"`
	Enabled bool
	IsMap   bool // the map form, not `http: false`
	RoutingRule
	// ALB is `alb`: the name or ARN of an imported load balancer.
	ALB             *string
	AdditionalRules []RoutingRule
}

func (h *HTTP) UnmarshalYAML(n *yaml.Node) error {
	h.Section = newSection(n)
	h.Set = true
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&h.Enabled)
	}
	h.IsMap = true
	// A value that does not fit leaves its field unset and the rest read.
	if err := h.RoutingRule.UnmarshalYAML(n); err != nil {
		return err
	}
	var m struct {
		ALB             *string       `yaml:"alb"`
		AdditionalRules []RoutingRule `yaml:"additional_rules"`
	}
	merr := decode(n, &m)
	if _, ok := merr.(*yaml.TypeError); merr != nil && !ok {
		return merr
	}
	h.Enabled = len(n.Content) > 0
	if h.TargetContainer == nil && !h.Present("target_container") {
		h.TargetContainer = h.DeprecatedTargetContainer
	}
	h.ALB, h.AdditionalRules = m.ALB, m.AdditionalRules
	errs := []error{h.RoutingRule.err, merr}
	for _, r := range h.AdditionalRules {
		errs = append(errs, r.err)
	}
	return joinTypeErrors(errs)
}

// joinTypeErrors is the error of errs (nils and *yaml.TypeErrors, in
// decoding order): one *yaml.TypeError with all their items, or nil.
func joinTypeErrors(errs []error) error {
	var items []string
	for _, err := range errs {
		if te, ok := err.(*yaml.TypeError); ok {
			items = append(items, te.Errors...)
		}
	}
	if items == nil {
		return nil
	}
	return &yaml.TypeError{Errors: items}
}

// RoutingRule is one listener rule: the main one (`http`) or one of
// http.additional_rules.
type RoutingRule struct {
	Section             `yaml:"-"`
	Path                *string
	HealthCheck         TargetHealthCheck
	DeregistrationDelay *time.Duration
	Stickiness          *bool
	TargetContainer     *string
	// DeprecatedTargetContainer is targetContainer, the old spelling
	// (the main rule's TargetContainer falls back to it).
	DeprecatedTargetContainer *string
	TargetPort                *uint16
	AllowedSourceIPs          []string
	Version                   *string
	Alias                     Alias
	// HostedZone is the hosted zone of the aliases that do not name one.
	HostedZone      *string
	RedirectToHTTPS *bool
	err             error // of the values that did not fit
}

// UnmarshalYAML keeps a rule whose values do not all fit, which yaml.v3
// would leave out of additional_rules (lint names rules by their index):
// the error waits in err, and HTTP returns it.
func (r *RoutingRule) UnmarshalYAML(n *yaml.Node) error {
	err := r.read(n)
	if _, ok := err.(*yaml.TypeError); ok {
		r.err = err
		return nil
	}
	return err
}

func (r *RoutingRule) read(n *yaml.Node) error {
	r.Section = newSection(n)
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
		RedirectToHTTPS     *bool             `yaml:"redirect_to_https"`
	}
	// A value of the wrong type leaves its field unset and the rest read.
	err := decode(n, &m)
	if _, ok := err.(*yaml.TypeError); err != nil && !ok {
		return err
	}
	r.DeprecatedTargetContainer = m.TargetContainerOld
	r.Path, r.HealthCheck, r.Stickiness, r.TargetContainer, r.TargetPort, r.AllowedSourceIPs, r.Version = m.Path, m.HealthCheck, m.Stickiness, m.TargetContainer, m.TargetPort, m.AllowedSourceIPs, m.Version
	r.Alias, r.HostedZone, r.RedirectToHTTPS = m.Alias, m.HostedZone, m.RedirectToHTTPS
	if m.DeregistrationDelay != nil {
		d, perr := time.ParseDuration(*m.DeregistrationDelay)
		if perr != nil && err == nil {
			err = valueErrorf("line %d: http.deregistration_delay %q is not a duration such as 30s", n.Line, *m.DeregistrationDelay)
		}
		if perr == nil {
			r.DeregistrationDelay = &d
		}
	}
	return err
}

// Alias is a listener's domain names: a string, a list of strings, or a
// list of {name, hosted_zone}.
type Alias struct {
	Names []AliasName
}

// AliasName is one domain name of an Alias; Section has its position (and
// those of the {name, hosted_zone} form's keys).
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

// Strings are the alias names in order, each once.
func (a Alias) Strings() []string {
	var out []string
	for _, n := range a.Names {
		if !slices.Contains(out, n.Name) {
			out = append(out, n.Name)
		}
	}
	return out
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
