package manifest

import "gopkg.in/yaml.v3"

// Environment is an environment's manifest.
type Environment struct {
	Section `yaml:"-"`
	Network struct {
		VPC struct {
			Section `yaml:"-"`
			ID      string `yaml:"id"`
			CIDR    string `yaml:"cidr"`
			Subnets struct {
				Section `yaml:"-"`
				Public  []Subnet `yaml:"public"`
				Private []Subnet `yaml:"private"`
			} `yaml:"subnets"`
			SecurityGroup struct {
				Ingress []SGRule `yaml:"ingress"`
				Egress  []SGRule `yaml:"egress"`
			} `yaml:"security_group"`
			FlowLogs FlowLogs `yaml:"flow_logs"`
		} `yaml:"vpc"`
	} `yaml:"network"`
	Observability struct {
		ContainerInsights *bool `yaml:"container_insights"`
	} `yaml:"observability"`
	HTTP EnvHTTP        `yaml:"http"`
	CDN  BoolOrMap[CDN] `yaml:"cdn"`
}

// HasCDN reports that the manifest has the key `cdn`, with any value.
func (e Environment) HasCDN() bool { return e.Has("cdn") }

// CDNEnabled reports that the environment has a CloudFront distribution:
// `cdn: true` or a map.
func (e Environment) CDNEnabled() bool {
	return e.CDN.IsMap || e.CDN.IsBool && !e.CDN.Bad && e.CDN.Bool
}

// CDN is `cdn` as a map.
type CDN struct {
	Certificate  *string `yaml:"certificate"`
	TerminateTLS *bool   `yaml:"terminate_tls"`
	StaticAssets struct {
		Section  `yaml:"-"`
		Location string `yaml:"location"`
		Alias    string `yaml:"alias"`
		Path     string `yaml:"path"`
	} `yaml:"static_assets"`
}

// Subnet is one of network.vpc.subnets.public or .private.
type Subnet struct {
	Section `yaml:"-"`
	ID      string `yaml:"id"`
	CIDR    string `yaml:"cidr"`
	AZ      string `yaml:"az"`
}

// SGRule is one of network.vpc.security_group.ingress or .egress.
type SGRule struct {
	IPProtocol string    `yaml:"ip_protocol"`
	Ports      PortRange `yaml:"ports"`
	CIDR       string    `yaml:"cidr"`
}

// EnvHTTP is the environment's `http`: its two load balancers.
type EnvHTTP struct {
	Section `yaml:"-"`
	Public  struct {
		Section      `yaml:"-"`
		Certificates []string `yaml:"certificates"`
		SSLPolicy    *string  `yaml:"ssl_policy"`
		AccessLogs   BoolOrMap[struct {
			BucketName *string `yaml:"bucket_name"`
			Prefix     *string `yaml:"prefix"`
		}] `yaml:"access_logs"`
		Ingress struct {
			Section   `yaml:"-"`
			CDN       *bool     `yaml:"cdn"`
			SourceIPs []Located `yaml:"source_ips"`
		} `yaml:"ingress"`
		// DeprecatedSG is the deprecated form of ingress.
		DeprecatedSG struct {
			Section `yaml:"-"`
			Ingress struct {
				Section    `yaml:"-"`
				RestrictTo struct {
					Section `yaml:"-"`
					CDN     *bool `yaml:"cdn"`
				} `yaml:"restrict_to"`
			} `yaml:"ingress"`
		} `yaml:"security_groups"`
	} `yaml:"public"`
	Private struct {
		Section      `yaml:"-"`
		Certificates []string  `yaml:"certificates"`
		Subnets      []Located `yaml:"subnets"`
		SSLPolicy    *string   `yaml:"ssl_policy"`
		Ingress      struct {
			VPC *bool `yaml:"vpc"`
		} `yaml:"ingress"`
		DeprecatedSG struct {
			Section `yaml:"-"`
			Ingress struct {
				Section `yaml:"-"`
				FromVPC *bool `yaml:"from_vpc"`
			} `yaml:"ingress"`
		} `yaml:"security_groups"`
	} `yaml:"private"`
}

// Located is a string with its position, for list items a finding names.
type Located struct {
	Value string
	Pos   Pos
}

// Values are the strings of a list of Located, nil for none.
func Values(ls []Located) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Value)
	}
	return out
}

func (l *Located) UnmarshalYAML(n *yaml.Node) error {
	l.Pos = PosOf(n)
	return n.Decode(&l.Value)
}
