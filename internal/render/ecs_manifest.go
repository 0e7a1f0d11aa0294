package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/shlex"
	"gopkg.in/yaml.v3"
)

// ecsManifest is the part of an ECS workload manifest (Load Balanced Web,
// Backend, Worker Service, Scheduled Job) render reads. Keys render does
// not support yet are kept as nodes so they can be refused by name.
type ecsManifest struct {
	Name  string `yaml:"name"`
	Type  string `yaml:"type"`
	Image struct {
		Build       yaml.Node         `yaml:"build"`
		Location    string            `yaml:"location"`
		Port        *uint16           `yaml:"port"`
		HealthCheck yaml.Node         `yaml:"healthcheck"`
		Credentials *string           `yaml:"credentials"`
		Labels      map[string]string `yaml:"labels"`
		DependsOn   map[string]string `yaml:"depends_on"`
	} `yaml:"image"`
	CPU        *int                `yaml:"cpu"`
	Memory     *int                `yaml:"memory"`
	Platform   yaml.Node           `yaml:"platform"`
	Count      ecsCount            `yaml:"count"`
	Exec       *bool               `yaml:"exec"`
	Command    stringOrList        `yaml:"command"`
	EntryPoint stringOrList        `yaml:"entrypoint"`
	Variables  map[string]variable `yaml:"variables"`
	Secrets    map[string]secret   `yaml:"secrets"`
	Tags       map[string]string   `yaml:"tags"`
	Network    struct {
		VPC struct {
			Placement      placement `yaml:"placement"`
			SecurityGroups yaml.Node `yaml:"security_groups"`
		} `yaml:"vpc"`
		Connect yaml.Node `yaml:"connect"`
	} `yaml:"network"`
	Deployment struct {
		Rolling        *string   `yaml:"rolling"`
		RollbackAlarms yaml.Node `yaml:"rollback_alarms"`
	} `yaml:"deployment"`
	Publish struct {
		Topics []topic `yaml:"topics"`
	} `yaml:"publish"`
	HTTP lbHTTP `yaml:"http"`

	// Decoded and validated by parseTask into task.
	Sidecars yaml.Node `yaml:"sidecars"`
	Logging  yaml.Node `yaml:"logging"`
	Storage  yaml.Node `yaml:"storage"`

	// Refused until rendered: each needs more than a template change
	// (an S3 upload, a Lambda or an override engine).
	NLB             yaml.Node `yaml:"nlb"`
	EnvFile         yaml.Node `yaml:"env_file"`
	TaskdefOverride yaml.Node `yaml:"taskdef_overrides"`
	Observability   yaml.Node `yaml:"observability"`

	task ecsTask
}

// lbHTTP is `http: false` or the main listener rule of a Load Balanced Web
// Service (or the internal one of a Backend Service).
type lbHTTP struct {
	Set                 bool
	Enabled             bool
	Path                *string
	HealthCheck         targetHealthCheck
	DeregistrationDelay *time.Duration
	Stickiness          *bool
	TargetContainer     *string
	TargetPort          *uint16
	AllowedSourceIPs    []string
	Version             *string
	// Refused until rendered.
	Alias, HostedZone, ALB, AdditionalRules, RedirectToHTTPS yaml.Node
}

func (h *lbHTTP) UnmarshalYAML(n *yaml.Node) error {
	h.Set = true
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&h.Enabled)
	}
	var m struct {
		Path                *string           `yaml:"path"`
		HealthCheck         targetHealthCheck `yaml:"healthcheck"`
		DeregistrationDelay *string           `yaml:"deregistration_delay"`
		Stickiness          *bool             `yaml:"stickiness"`
		TargetContainer     *string           `yaml:"target_container"`
		TargetContainerOld  *string           `yaml:"targetContainer"`
		TargetPort          *uint16           `yaml:"target_port"`
		AllowedSourceIPs    []string          `yaml:"allowed_source_ips"`
		Version             *string           `yaml:"version"`
		Alias               yaml.Node         `yaml:"alias"`
		HostedZone          yaml.Node         `yaml:"hosted_zone"`
		ALB                 yaml.Node         `yaml:"alb"`
		AdditionalRules     yaml.Node         `yaml:"additional_rules"`
		RedirectToHTTPS     yaml.Node         `yaml:"redirect_to_https"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	h.Enabled = len(n.Content) > 0
	h.Path, h.HealthCheck, h.Stickiness, h.TargetPort, h.AllowedSourceIPs, h.Version = m.Path, m.HealthCheck, m.Stickiness, m.TargetPort, m.AllowedSourceIPs, m.Version
	h.TargetContainer = m.TargetContainer
	if h.TargetContainer == nil {
		h.TargetContainer = m.TargetContainerOld
	}
	if m.DeregistrationDelay != nil {
		d, err := time.ParseDuration(*m.DeregistrationDelay)
		if err != nil {
			return fmt.Errorf("line %d: http.deregistration_delay %q is not a duration such as 30s", n.Line, *m.DeregistrationDelay)
		}
		h.DeregistrationDelay = &d
	}
	h.Alias, h.HostedZone, h.ALB, h.AdditionalRules, h.RedirectToHTTPS = m.Alias, m.HostedZone, m.ALB, m.AdditionalRules, m.RedirectToHTTPS
	return nil
}

// targetHealthCheck is the target group's health check: a path or a map.
type targetHealthCheck struct {
	Path                                 *string
	Port                                 *int
	SuccessCodes                         *string
	HealthyThreshold, UnhealthyThreshold *int64
	Interval, Timeout, GracePeriod       *time.Duration
}

func (h *targetHealthCheck) UnmarshalYAML(n *yaml.Node) error {
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
	if err := n.Decode(&m); err != nil {
		return err
	}
	h.Path, h.Port, h.SuccessCodes, h.HealthyThreshold, h.UnhealthyThreshold = m.Path, m.Port, m.SuccessCodes, m.HealthyThreshold, m.UnhealthyThreshold
	for _, d := range []struct {
		in  *string
		out **time.Duration
		key string
	}{{m.Interval, &h.Interval, "interval"}, {m.Timeout, &h.Timeout, "timeout"}, {m.GracePeriod, &h.GracePeriod, "grace_period"}} {
		if d.in == nil {
			continue
		}
		v, err := time.ParseDuration(*d.in)
		if err != nil {
			return fmt.Errorf("line %d: http.healthcheck.%s %q is not a duration such as 10s", n.Line, d.key, *d.in)
		}
		*d.out = &v
	}
	return nil
}

// stringOrList is a command or entrypoint: a list, or a string split into
// words with shell quoting rules by the splitter Copilot uses
// (github.com/google/shlex), so `python -c "print('hi')"` is three words;
// quotes group and are dropped, a backslash escapes, `#` starts a comment.
type stringOrList []string

func (s *stringOrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		words, err := shlex.Split(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: split %q into words with shell quoting rules: %v; close the quote, or write the words as a list", n.Line, n.Value, err)
		}
		*s = words
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// ecsCount is `count: N` or the advanced map (range, spot, metrics).
type ecsCount struct {
	Value                   *int
	Spot                    *int
	Min, Max, SpotFrom      *int
	CPU, Memory             *scalingMetric
	Requests, ResponseTime  *scalingMetric
	QueueDelay              yaml.Node
	CooldownIn, CooldownOut *time.Duration
	Set                     bool
}

// scalingMetric is `metric: value` or `metric: {value, cooldown: {in, out}}`.
type scalingMetric struct {
	Value   float64
	In, Out *time.Duration
}

func parseCooldown(n *yaml.Node) (in, out *time.Duration, err error) {
	if n == nil {
		return nil, nil, nil
	}
	for key, dst := range map[string]**time.Duration{"in": &in, "out": &out} {
		v := get(n, key)
		if v == nil {
			continue
		}
		d, perr := time.ParseDuration(v.Value)
		if perr != nil {
			return nil, nil, fmt.Errorf("line %d: cooldown.%s %q is not a duration such as 30s", v.Line, key, v.Value)
		}
		*dst = &d
	}
	return in, out, nil
}

func parseMetric(n *yaml.Node, duration bool) (*scalingMetric, error) {
	if n == nil {
		return nil, nil
	}
	valueNode := n
	var m scalingMetric
	if n.Kind == yaml.MappingNode {
		valueNode = get(n, "value")
		if valueNode == nil {
			return nil, fmt.Errorf("line %d: a scaling metric given as a map needs value", n.Line)
		}
		in, out, err := parseCooldown(get(n, "cooldown"))
		if err != nil {
			return nil, err
		}
		m.In, m.Out = in, out
	}
	if duration {
		d, err := time.ParseDuration(valueNode.Value)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q is not a duration such as 2s", valueNode.Line, valueNode.Value)
		}
		m.Value = d.Seconds()
		return &m, nil
	}
	v, err := strconv.ParseFloat(valueNode.Value, 64)
	if err != nil {
		return nil, fmt.Errorf("line %d: %q is not a number", valueNode.Line, valueNode.Value)
	}
	m.Value = v
	return &m, nil
}

func (c *ecsCount) UnmarshalYAML(n *yaml.Node) error {
	c.Set = true
	if n.Kind == yaml.ScalarNode {
		var v int
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: count must be a number or a map", n.Line)
		}
		c.Value = &v
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: count must be a number or a map", n.Line)
	}
	if s := get(n, "spot"); s != nil {
		var v int
		if err := s.Decode(&v); err != nil {
			return fmt.Errorf("line %d: count.spot must be a number", s.Line)
		}
		c.Spot = &v
	}
	if r := get(n, "range"); r != nil {
		if r.Kind == yaml.ScalarNode {
			lo, hi, ok := strings.Cut(r.Value, "-")
			minV, err1 := strconv.Atoi(lo)
			maxV, err2 := strconv.Atoi(hi)
			if !ok || err1 != nil || err2 != nil {
				return fmt.Errorf("line %d: count.range %q must be min-max such as 1-10", r.Line, r.Value)
			}
			c.Min, c.Max = &minV, &maxV
		} else {
			var m struct {
				Min      *int `yaml:"min"`
				Max      *int `yaml:"max"`
				SpotFrom *int `yaml:"spot_from"`
			}
			if err := r.Decode(&m); err != nil {
				return err
			}
			if m.Min == nil || m.Max == nil {
				return fmt.Errorf("line %d: count.range needs min and max", r.Line)
			}
			c.Min, c.Max, c.SpotFrom = m.Min, m.Max, m.SpotFrom
		}
	}
	var err error
	if c.CPU, err = parseMetric(get(n, "cpu_percentage"), false); err != nil {
		return err
	}
	if c.Memory, err = parseMetric(get(n, "memory_percentage"), false); err != nil {
		return err
	}
	if c.Requests, err = parseMetric(get(n, "requests"), false); err != nil {
		return err
	}
	if c.ResponseTime, err = parseMetric(get(n, "response_time"), true); err != nil {
		return err
	}
	if q := get(n, "queue_delay"); q != nil {
		c.QueueDelay = *q
	}
	c.CooldownIn, c.CooldownOut, err = parseCooldown(get(n, "cooldown"))
	return err
}

// autoscaling reports whether count asks for a scalable target.
func (c ecsCount) autoscaling() bool { return c.Min != nil && c.Max != nil }

// desired is the TaskCount parameter, Copilot's Count.Desired: the plain
// value, the spot count, or the range minimum (1 when count is unset).
func (c ecsCount) desired() int {
	switch {
	case c.Value != nil:
		return *c.Value
	case c.Spot != nil:
		return *c.Spot
	case c.Min != nil:
		return *c.Min
	}
	return 1
}
