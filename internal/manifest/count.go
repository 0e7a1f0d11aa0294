package manifest

import (
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Count is `count: N` or the advanced map: a range (min-max or {min, max,
// spot_from}), spot, and scaling metrics.
type Count struct {
	// Section is count as a map (no keys for `count: N`).
	Section `yaml:"-"`
	// Range is count.range as a map (no keys for `range: 1-10`), and
	// RangeText the range as written in the `1-10` form.
	Range                   Section
	RangeText               string
	Value                   *int
	Spot                    *int
	Min, Max, SpotFrom      *int
	CPU, Memory             *ScalingMetric
	Requests, ResponseTime  *ScalingMetric
	QueueDelay              *QueueDelay
	CooldownIn, CooldownOut *time.Duration
}

// QueueDelay is a Worker Service's count.queue_delay: scale so that a
// message waits at most AcceptableLatency, each taking ProcessingTime.
type QueueDelay struct {
	Pos                               Pos
	AcceptableLatency, ProcessingTime time.Duration
	In, Out                           *time.Duration
}

// BacklogPerTask is how many messages one task may have waiting, as
// Copilot computes it: latency / processing time, rounded up.
func (q QueueDelay) BacklogPerTask() int {
	return int(math.Ceil(float64(q.AcceptableLatency) / float64(q.ProcessingTime)))
}

func parseQueueDelay(n *yaml.Node) (*QueueDelay, error) {
	q := &QueueDelay{Pos: PosOf(n)}
	if n.Kind != yaml.MappingNode {
		return nil, valueErrorf("line %d: count.queue_delay must be a map with acceptable_latency and msg_processing_time", n.Line)
	}
	for key, dst := range map[string]*time.Duration{"acceptable_latency": &q.AcceptableLatency, "msg_processing_time": &q.ProcessingTime} {
		v := valueOf(n, key)
		if v == nil {
			return nil, valueErrorf("line %d: count.queue_delay needs %s", n.Line, key)
		}
		d, err := time.ParseDuration(v.Value)
		if err != nil || d <= 0 {
			return nil, valueErrorf("line %d: count.queue_delay.%s %q must be a positive duration such as 10m or 250ms", v.Line, key, v.Value)
		}
		*dst = d
	}
	var err error
	q.In, q.Out, err = parseCooldown(valueOf(n, "cooldown"))
	return q, err
}

// ScalingMetric is `metric: value` or `metric: {value, cooldown: {in, out}}`.
type ScalingMetric struct {
	Value   float64
	In, Out *time.Duration
}

func parseCooldown(n *yaml.Node) (in, out *time.Duration, err error) {
	if n == nil {
		return nil, nil, nil
	}
	for key, dst := range map[string]**time.Duration{"in": &in, "out": &out} {
		v := valueOf(n, key)
		if v == nil {
			continue
		}
		d, perr := time.ParseDuration(v.Value)
		if perr != nil {
			return nil, nil, valueErrorf("line %d: cooldown.%s %q is not a duration such as 30s", v.Line, key, v.Value)
		}
		*dst = &d
	}
	return in, out, nil
}

func parseMetric(n *yaml.Node, duration bool) (*ScalingMetric, error) {
	if n == nil {
		return nil, nil
	}
	valueNode := n
	var m ScalingMetric
	if n.Kind == yaml.MappingNode {
		valueNode = valueOf(n, "value")
		if valueNode == nil {
			return nil, valueErrorf("line %d: a scaling metric given as a map needs value", n.Line)
		}
		in, out, err := parseCooldown(valueOf(n, "cooldown"))
		if err != nil {
			return nil, err
		}
		m.In, m.Out = in, out
	}
	if duration {
		d, err := time.ParseDuration(valueNode.Value)
		if err != nil {
			return nil, valueErrorf("line %d: %q is not a duration such as 2s", valueNode.Line, valueNode.Value)
		}
		m.Value = d.Seconds()
		return &m, nil
	}
	v, err := strconv.ParseFloat(valueNode.Value, 64)
	if err != nil {
		return nil, valueErrorf("line %d: %q is not a number", valueNode.Line, valueNode.Value)
	}
	m.Value = v
	return &m, nil
}

func (c *Count) UnmarshalYAML(n *yaml.Node) error {
	c.Section = newSection(n)
	if n.Kind == yaml.ScalarNode {
		var v int
		if err := n.Decode(&v); err != nil {
			return valueErrorf("line %d: count must be a number or a map", n.Line)
		}
		c.Value = &v
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return valueErrorf("line %d: count must be a number or a map", n.Line)
	}
	if s := valueOf(n, "spot"); s != nil {
		var v int
		if err := s.Decode(&v); err != nil {
			return valueErrorf("line %d: count.spot must be a number", s.Line)
		}
		c.Spot = &v
	}
	if r := valueOf(n, "range"); r != nil {
		c.Range = newSection(r)
		if r.Kind == yaml.ScalarNode {
			c.RangeText = r.Value
			lo, hi, ok := strings.Cut(r.Value, "-")
			minV, err1 := strconv.Atoi(lo)
			maxV, err2 := strconv.Atoi(hi)
			if !ok || err1 != nil || err2 != nil {
				return valueErrorf("line %d: count.range %q must be min-max such as 1-10", r.Line, r.Value)
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
				return valueErrorf("line %d: count.range needs min and max", r.Line)
			}
			c.Min, c.Max, c.SpotFrom = m.Min, m.Max, m.SpotFrom
		}
	}
	var err error
	if c.CPU, err = parseMetric(valueOf(n, "cpu_percentage"), false); err != nil {
		return err
	}
	if c.Memory, err = parseMetric(valueOf(n, "memory_percentage"), false); err != nil {
		return err
	}
	if c.Requests, err = parseMetric(valueOf(n, "requests"), false); err != nil {
		return err
	}
	if c.ResponseTime, err = parseMetric(valueOf(n, "response_time"), true); err != nil {
		return err
	}
	if q := valueOf(n, "queue_delay"); q != nil {
		if c.QueueDelay, err = parseQueueDelay(q); err != nil {
			return err
		}
	}
	c.CooldownIn, c.CooldownOut, err = parseCooldown(valueOf(n, "cooldown"))
	return err
}

// Autoscaling reports whether count asks for a scalable target.
func (c Count) Autoscaling() bool { return c.Min != nil && c.Max != nil }

// Desired is the task count Copilot deploys first: the plain value, the
// spot count, or the range minimum (1 when count is unset).
func (c Count) Desired() int {
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
