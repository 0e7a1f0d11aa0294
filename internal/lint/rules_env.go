package lint

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// The environment rules below port the checks of Copilot's
// internal/pkg/manifest/validate_env.go that JSON Schema cannot express
// (env-vpc in rules.go covers the VPC and subnet basics), plus the subnet
// CIDR constraints EC2 enforces when the stack deploys.

func init() {
	register(rule{id: "env-ingress-conflict", kinds: envKind, check: checkEnvIngressConflict})
	register(rule{id: "env-deprecated-ingress", kinds: envKind, check: checkEnvDeprecatedIngress})
	register(rule{id: "env-cdn-ingress", kinds: envKind, check: checkEnvCDNIngress})
	register(rule{id: "env-cdn-certificate", kinds: envKind, check: checkEnvCDNCertificate})
	register(rule{id: "env-private-subnets", kinds: envKind, check: checkEnvPrivateSubnets})
	register(rule{id: "env-sg-ports", kinds: envKind, check: checkEnvSecurityGroupPorts})
	register(rule{id: "env-subnet-cidr", kinds: envKind, check: checkEnvSubnetCIDRs})
	register(rule{id: "env-flow-logs-false", kinds: envKind, check: checkEnvFlowLogsFalse})
}

// checkEnvFlowLogsFalse: Copilot v1.33 creates flow logs for any value of
// flow_logs, `false` included, and autopilot renders the same so that a
// Copilot-made environment keeps them; the value reads as the opposite.
func checkEnvFlowLogsFalse(c *context) {
	n := c.get("network", "vpc", "flow_logs")
	if v, ok := boolValue(n); ok && !v {
		c.report(n, diag.Warning, "`flow_logs: false` does not turn VPC flow logs off: Copilot creates them for any value (14 days' retention), and autopilot renders them too so a Copilot-made environment keeps them",
			"write `flow_logs: true` to say what is deployed; to turn flow logs off, remove the key (that deletes the flow log and its log group)")
	}
}

// checkEnvIngressConflict: the deprecated security_groups.ingress and its
// replacement ingress cannot be mixed.
func checkEnvIngressConflict(c *context) {
	for _, side := range []string{"public", "private"} {
		old, cur := c.get("http", side, "security_groups", "ingress"), c.get("http", side, "ingress")
		if old != nil && cur != nil {
			c.errorf(keyNode(c.get("http", side), "security_groups"), fmt.Sprintf("move the settings to http.%s.ingress and remove http.%s.security_groups", side, side),
				"http.%s.security_groups.ingress (deprecated) and http.%s.ingress cannot both be set", side, side)
		}
	}
}

// checkEnvDeprecatedIngress ports the rules on the deprecated form: a public
// load balancer already allows VPC traffic, and a private one cannot be
// restricted to sources.
func checkEnvDeprecatedIngress(c *context) {
	if n := c.get("http", "public", "security_groups", "ingress", "from_vpc"); n != nil {
		c.errorf(n, "remove from_vpc", "a public load balancer already allows ingress from the VPC")
	}
	if n := c.get("http", "private", "security_groups", "ingress", "restrict_to"); n != nil {
		c.errorf(n, "remove restrict_to; use http.private.ingress.vpc to allow traffic from the VPC",
			"an internal load balancer cannot restrict ingress to CloudFront or source IPs")
	}
}

// cdnEnabled reports whether the environment has a CloudFront distribution.
func (c *context) cdnEnabled() bool { return enabled(c.get("cdn")) }

func checkEnvCDNIngress(c *context) {
	for _, n := range []*yaml.Node{c.get("http", "public", "ingress", "cdn"), c.get("http", "public", "security_groups", "ingress", "restrict_to", "cdn")} {
		if isTrue(n) && !c.cdnEnabled() {
			c.errorf(n, "add `cdn: true` to the environment, or remove the CDN restriction",
				"ingress is limited to CloudFront, but the environment has no CDN")
		}
	}
}

// checkEnvCDNCertificate: CloudFront takes certificates from us-east-1; a
// CDN certificate without load balancer certificates means CloudFront
// terminates TLS; load balancer certificates need a CDN certificate.
func checkEnvCDNCertificate(c *context) {
	cert := c.get("cdn", "certificate")
	if isScalar(cert) {
		if region, ok := certRegion(cert.Value); ok && region != "us-east-1" {
			c.errorf(cert, "request or import the certificate in us-east-1", "CloudFront only uses certificates from us-east-1, but cdn.certificate is in %s", region)
		}
	}
	if !c.cdnEnabled() {
		return
	}
	publicCerts := c.get("http", "public", "certificates")
	switch {
	case publicCerts == nil && cert != nil && !isTrue(c.get("cdn", "terminate_tls")):
		c.errorf(cert, "set `cdn.terminate_tls: true`, or add http.public.certificates",
			"cdn.certificate without http.public.certificates needs cdn.terminate_tls: true")
	case publicCerts != nil && cert == nil:
		c.errorf(c.get("cdn"), "add cdn.certificate: an ACM certificate in us-east-1 for the same domains",
			"with http.public.certificates and a CDN, cdn.certificate is required")
	}
}

func checkEnvPrivateSubnets(c *context) {
	subnets := c.get("http", "private", "subnets")
	if subnets == nil {
		return
	}
	vpc := c.get("network", "vpc")
	if get(vpc, "id") == nil {
		c.errorf(subnets, "import the VPC (network.vpc.id and subnets), or remove http.private.subnets",
			"http.private.subnets places the internal load balancer in imported subnets, but the VPC is not imported")
		return
	}
	imported := map[string]bool{}
	for _, group := range []string{"public", "private"} {
		for _, s := range items(get(vpc, "subnets", group)) {
			if id := scalar(get(s, "id")); id != "" {
				imported[id] = true
			}
		}
	}
	for i, s := range items(subnets) {
		if isScalar(s) && !imported[s.Value] {
			c.errorf(s, "use the id of a subnet listed under network.vpc.subnets",
				"http.private.subnets[%d]: subnet %q is not one of the imported subnets", i, s.Value)
		}
	}
}

func checkEnvSecurityGroupPorts(c *context) {
	for _, dir := range []string{"ingress", "egress"} {
		for i, r := range items(c.get("network", "vpc", "security_group", dir)) {
			p := get(r, "ports")
			if !isScalar(p) {
				continue
			}
			where := fmt.Sprintf("network.vpc.security_group.%s[%d].ports", dir, i)
			if v, ok := intValue(p); ok {
				if v < 0 || v > 65535 {
					c.errorf(p, "use a port from 0 to 65535", "%s: port %d is out of range", where, v)
				}
				continue
			}
			a, b, ok := strings.Cut(p.Value, "-")
			from, errA := strconv.Atoi(a)
			to, errB := strconv.Atoi(b)
			if !ok || errA != nil || errB != nil {
				continue // the schema reports the format
			}
			switch {
			case from > to:
				c.errorf(p, "write the lower port first, e.g. 80-443", "%s: range %q starts above its end", where, p.Value)
			case to > 65535:
				c.errorf(p, "use ports from 0 to 65535", "%s: range %q goes beyond port 65535", where, p.Value)
			}
		}
	}
}

// defaultVPCCIDR is the CIDR Copilot gives a VPC it creates.
const defaultVPCCIDR = "10.0.0.0/16"

// checkEnvSubnetCIDRs checks a customised VPC: every subnet needs a CIDR,
// AZs and CIDRs pair one to one (Copilot), and each CIDR lies inside the
// VPC's and overlaps no other (EC2).
func checkEnvSubnetCIDRs(c *context) {
	vpc := c.get("network", "vpc")
	if !isMap(vpc) || get(vpc, "id") != nil {
		return
	}
	vpcCIDR := defaultVPCCIDR
	if s := scalar(get(vpc, "cidr")); s != "" {
		vpcCIDR = s
	}
	vpcNet, vpcErr := netip.ParsePrefix(vpcCIDR)
	type placed struct {
		net  netip.Prefix
		name string
	}
	var seen []placed
	counts := map[string][2]int{} // group -> CIDRs, AZs
	for _, group := range []string{"public", "private"} {
		cidrs, azs := map[string]bool{}, map[string]bool{}
		for i, s := range items(get(vpc, "subnets", group)) {
			name := fmt.Sprintf("subnets.%s[%d]", group, i)
			if get(s, "id") != nil {
				continue // env-vpc reports ids in a VPC Copilot creates
			}
			cidr := get(s, "cidr")
			if az := scalar(get(s, "az")); az != "" {
				azs[az] = true
			}
			if cidr == nil {
				c.errorf(s, "give the subnet a cidr, e.g. 10.0.0.0/24", "%s: a subnet of a VPC Copilot creates needs a cidr", name)
				continue
			}
			cidrs[cidr.Value] = true
			p, err := netip.ParsePrefix(cidr.Value)
			if err != nil {
				continue // the schema reports the format
			}
			if vpcErr == nil && (!vpcNet.Contains(p.Addr()) || p.Bits() < vpcNet.Bits()) {
				c.errorf(cidr, fmt.Sprintf("pick a block inside %s", vpcCIDR), "%s: cidr %s is outside the VPC's %s", name, cidr.Value, vpcCIDR)
				continue
			}
			for _, o := range seen {
				if o.net.Overlaps(p) {
					c.errorf(cidr, "give each subnet its own address block", "%s: cidr %s overlaps %s (%s)", name, cidr.Value, o.name, o.net)
					break
				}
			}
			seen = append(seen, placed{p, name})
		}
		counts[group] = [2]int{len(cidrs), len(azs)}
	}
	for _, group := range []string{"public", "private"} {
		n := counts[group]
		if n[1] >= 2 && n[0] != n[1] {
			c.errorf(get(vpc, "subnets", group), "give one subnet per availability zone",
				"subnets.%s: %d CIDRs for %d availability zones; Copilot needs one subnet per zone", group, n[0], n[1])
		}
	}
}
