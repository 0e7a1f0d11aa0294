package render

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The typed views of the manifest fields render needs. They decode from the
// resolved (interpolated, env-merged) manifest node. Unknown keys are ignored,
// as Copilot ignores them.

type rdwsManifest struct {
	Name  string `yaml:"name"`
	Type  string `yaml:"type"`
	Image struct {
		Build    yaml.Node `yaml:"build"`
		Location string    `yaml:"location"`
		Port     *uint16   `yaml:"port"`
	} `yaml:"image"`
	CPU       *int                `yaml:"cpu"`
	Memory    *int                `yaml:"memory"`
	Command   *string             `yaml:"command"`
	Variables map[string]variable `yaml:"variables"`
	Secrets   map[string]secret   `yaml:"secrets"`
	Tags      map[string]string   `yaml:"tags"`
	HTTP      struct {
		HealthCheck healthCheck `yaml:"healthcheck"`
		Alias       *string     `yaml:"alias"`
		Private     privateHTTP `yaml:"private"`
	} `yaml:"http"`
	Publish struct {
		Topics []topic `yaml:"topics"`
	} `yaml:"publish"`
	Network struct {
		VPC struct {
			Placement placement `yaml:"placement"`
		} `yaml:"vpc"`
	} `yaml:"network"`
	Observability struct {
		Tracing string `yaml:"tracing"`
	} `yaml:"observability"`
	Count *string `yaml:"count"`
}

// variable is a scalar value or {from_cfn: export}.
type variable struct {
	Value   string
	FromCFN *string
}

func (v *variable) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m struct {
			FromCFN *string `yaml:"from_cfn"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		if m.FromCFN == nil {
			return fmt.Errorf("line %d: a variable given as a map needs from_cfn", n.Line)
		}
		v.FromCFN = m.FromCFN
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a variable must be a scalar or {from_cfn: export}", n.Line)
	}
	v.Value = n.Value
	return nil
}

// secret is an SSM name or ARN, {secretsmanager: name} or {from_cfn: export}.
type secret struct {
	Plain          string
	SecretsManager *string
	FromCFN        *string
}

func (s *secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m struct {
			SecretsManager *string `yaml:"secretsmanager"`
			FromCFN        *string `yaml:"from_cfn"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		if (m.SecretsManager == nil) == (m.FromCFN == nil) {
			return fmt.Errorf("line %d: a secret given as a map needs exactly one of secretsmanager and from_cfn", n.Line)
		}
		s.SecretsManager, s.FromCFN = m.SecretsManager, m.FromCFN
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a secret must be a string, {secretsmanager: name} or {from_cfn: export}", n.Line)
	}
	s.Plain = n.Value
	return nil
}

// healthCheck is a path or a map of HTTP health check arguments.
type healthCheck struct {
	Set                bool
	Path               *string
	HealthyThreshold   *int64
	UnhealthyThreshold *int64
	Interval, Timeout  *time.Duration
}

func (h *healthCheck) UnmarshalYAML(n *yaml.Node) error {
	// Copilot renders a health check for any non-empty healthcheck value.
	h.Set = n.Kind == yaml.ScalarNode && n.Value != "" || n.Kind == yaml.MappingNode && len(n.Content) > 0
	if n.Kind == yaml.ScalarNode {
		p := n.Value
		h.Path = &p
		return nil
	}
	var m struct {
		Path               *string `yaml:"path"`
		HealthyThreshold   *int64  `yaml:"healthy_threshold"`
		UnhealthyThreshold *int64  `yaml:"unhealthy_threshold"`
		Interval           *string `yaml:"interval"`
		Timeout            *string `yaml:"timeout"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	h.Path, h.HealthyThreshold, h.UnhealthyThreshold = m.Path, m.HealthyThreshold, m.UnhealthyThreshold
	for _, d := range []struct {
		in  *string
		out **time.Duration
		key string
	}{{m.Interval, &h.Interval, "interval"}, {m.Timeout, &h.Timeout, "timeout"}} {
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

// privateHTTP is `private: true` or `private: {endpoint: vpce-id}`.
type privateHTTP struct {
	Enabled  bool
	Endpoint *string
}

func (p *privateHTTP) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m struct {
			Endpoint *string `yaml:"endpoint"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		p.Endpoint = m.Endpoint
		p.Enabled = m.Endpoint != nil
		return nil
	}
	return n.Decode(&p.Enabled)
}

type topic struct {
	Name string   `yaml:"name"`
	FIFO fifoFlag `yaml:"fifo"`
}

// fifoFlag is `fifo: true` or `fifo: {content_based_deduplication: bool}`.
type fifoFlag struct {
	Enabled                   bool
	ContentBasedDeduplication *bool
}

func (f *fifoFlag) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m struct {
			CBD *bool `yaml:"content_based_deduplication"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		f.Enabled, f.ContentBasedDeduplication = true, m.CBD
		return nil
	}
	return n.Decode(&f.Enabled)
}

// placement is `public`/`private` or {subnets: [ids] | {from_tags: ...}}.
type placement struct {
	Kind      string // "public", "private" or "" for the subnets form
	SubnetIDs []string
	FromTags  bool
	Set       bool
}

func (p *placement) UnmarshalYAML(n *yaml.Node) error {
	p.Set = true
	if n.Kind == yaml.ScalarNode {
		p.Kind = n.Value
		return nil
	}
	var m struct {
		Subnets yaml.Node `yaml:"subnets"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	switch m.Subnets.Kind {
	case yaml.SequenceNode:
		return m.Subnets.Decode(&p.SubnetIDs)
	case yaml.MappingNode:
		p.FromTags = true
		return nil
	}
	return fmt.Errorf("line %d: placement needs subnets as a list of ids or {from_tags: ...}", n.Line)
}

type envManifest struct {
	Name    string `yaml:"name"`
	Network struct {
		VPC struct {
			ID      string `yaml:"id"`
			CIDR    string `yaml:"cidr"`
			Subnets struct {
				Public  []envSubnet `yaml:"public"`
				Private []envSubnet `yaml:"private"`
			} `yaml:"subnets"`
			SecurityGroup struct {
				Ingress []sgRule `yaml:"ingress"`
				Egress  []sgRule `yaml:"egress"`
			} `yaml:"security_group"`
			FlowLogs flowLogs `yaml:"flow_logs"`
		} `yaml:"vpc"`
	} `yaml:"network"`
	Observability struct {
		ContainerInsights *bool `yaml:"container_insights"`
	} `yaml:"observability"`
	HTTP yaml.Node `yaml:"http"`
	CDN  yaml.Node `yaml:"cdn"`
}

type envSubnet struct {
	ID   string `yaml:"id"`
	CIDR string `yaml:"cidr"`
	AZ   string `yaml:"az"`
}

type sgRule struct {
	IPProtocol string    `yaml:"ip_protocol"`
	Ports      yaml.Node `yaml:"ports"`
	CIDR       string    `yaml:"cidr"`
}

var portRange = regexp.MustCompile(`^(\d+)-(\d+)$`)

// portRange returns the rule's from and to ports: `ports: 80` or `ports: 1-100`.
func (r sgRule) portRange() (from, to int, err error) {
	v := strings.TrimSpace(r.Ports.Value)
	if r.Ports.Kind != yaml.ScalarNode || v == "" {
		return 0, 0, errors.New(`"ports" must be a port such as 80 or a range such as 8000-8080`)
	}
	if m := portRange.FindStringSubmatch(v); m != nil {
		from, _ = strconv.Atoi(m[1])
		to, _ = strconv.Atoi(m[2])
		return from, to, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid range value %s: valid format is ${from_port}-${to_port}", v)
	}
	return p, p, nil
}

// flowLogs is `flow_logs: <bool>` or `flow_logs: {retention: days}`.
// Copilot v1.33 switches flow logs on for any value the key has, `false`
// included (its bool-or-map union counts a set bool as non-zero), so
// environments it deployed with `flow_logs: false` have them; rendering
// the same keeps a first deploy from deleting them. Only a missing or
// null key leaves them out.
type flowLogs struct {
	Set       bool
	Retention *int
}

func (f *flowLogs) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m struct {
			Retention *int `yaml:"retention"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		f.Set, f.Retention = true, m.Retention
		return nil
	}
	var on bool
	if err := n.Decode(&on); err != nil {
		return err
	}
	f.Set = true
	return nil
}

var lineInError = regexp.MustCompile(`line (\d+)`)

// errorLine finds the manifest line a yaml.v3 decoding error names, or 0.
func errorLine(err error) int {
	if m := lineInError.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}
