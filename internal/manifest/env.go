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
	HTTP EnvHTTP `yaml:"http"`
}

// HasCDN reports that the manifest configures `cdn`.
func (e Environment) HasCDN() bool { return e.Has("cdn") }

// Subnet is one of network.vpc.subnets.public or .private.
type Subnet struct {
	ID   string `yaml:"id"`
	CIDR string `yaml:"cidr"`
	AZ   string `yaml:"az"`
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
			CDN       *bool     `yaml:"cdn"`
			SourceIPs []Located `yaml:"source_ips"`
		} `yaml:"ingress"`
		DeprecatedSG struct {
			Ingress struct {
				RestrictTo struct {
					CDN *bool `yaml:"cdn"`
				} `yaml:"restrict_to"`
			} `yaml:"ingress"`
		} `yaml:"security_groups"`
	} `yaml:"public"`
	Private struct {
		Section      `yaml:"-"`
		Certificates []string `yaml:"certificates"`
		Subnets      []string `yaml:"subnets"`
		SSLPolicy    *string  `yaml:"ssl_policy"`
		Ingress      struct {
			VPC *bool `yaml:"vpc"`
		} `yaml:"ingress"`
		DeprecatedSG struct {
			Ingress struct {
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

func (l *Located) UnmarshalYAML(n *yaml.Node) error {
	l.Pos = PosOf(n)
	return n.Decode(&l.Value)
}
