package lint

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
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

// Every rule here reads the typed model (c.envm) and skips a manifest that
// does not decode: the schema reports why.

// checkEnvFlowLogsFalse: Copilot v1.33 creates flow logs for any value of
// flow_logs, `false` included, and autopilot renders the same so that a
// Copilot-made environment keeps them; the value reads as the opposite.
func checkEnvFlowLogsFalse(c *context) {
	if c.envm == nil {
		return
	}
	if fl := c.envm.Network.VPC.FlowLogs; fl.Off {
		c.reportAt(fl.Pos, diag.Warning, "`flow_logs: false` does not turn VPC flow logs off: Copilot creates them for any value (14 days' retention), and autopilot renders them too so a Copilot-made environment keeps them",
			"write `flow_logs: true` to say what is deployed; to turn flow logs off, remove the key (that deletes the flow log and its log group)")
	}
}

// checkEnvIngressConflict: the deprecated security_groups.ingress and its
// replacement ingress cannot be mixed.
func checkEnvIngressConflict(c *context) {
	if c.envm == nil {
		return
	}
	h := c.envm.HTTP
	for _, side := range []struct {
		name            string
		at              manifest.Section
		old, hasIngress bool
	}{
		{"public", h.Public.Section, h.Public.DeprecatedSG.Present("ingress"), h.Public.Present("ingress")},
		{"private", h.Private.Section, h.Private.DeprecatedSG.Present("ingress"), h.Private.Present("ingress")},
	} {
		if side.old && side.hasIngress {
			c.errorAt(side.at.KeyAt("security_groups"), fmt.Sprintf("move the settings to http.%s.ingress and remove http.%s.security_groups", side.name, side.name),
				"http.%s.security_groups.ingress (deprecated) and http.%s.ingress cannot both be set", side.name, side.name)
		}
	}
}

// checkEnvDeprecatedIngress ports the rules on the deprecated form: a public
// load balancer already allows VPC traffic, and a private one cannot be
// restricted to sources.
func checkEnvDeprecatedIngress(c *context) {
	if c.envm == nil {
		return
	}
	if in := c.envm.HTTP.Public.DeprecatedSG.Ingress; in.Present("from_vpc") {
		c.errorAt(in.At("from_vpc"), "remove from_vpc", "a public load balancer already allows ingress from the VPC")
	}
	if in := c.envm.HTTP.Private.DeprecatedSG.Ingress; in.Present("restrict_to") {
		c.errorAt(in.At("restrict_to"), "remove restrict_to; use http.private.ingress.vpc to allow traffic from the VPC",
			"an internal load balancer cannot restrict ingress to CloudFront or source IPs")
	}
}

func checkEnvCDNIngress(c *context) {
	if c.envm == nil || c.envm.CDNEnabled() {
		return
	}
	pub := c.envm.HTTP.Public
	for _, r := range []struct {
		on *bool
		at manifest.Pos
	}{{pub.Ingress.CDN, pub.Ingress.At("cdn")}, {pub.DeprecatedSG.Ingress.RestrictTo.CDN, pub.DeprecatedSG.Ingress.RestrictTo.At("cdn")}} {
		if r.on != nil && *r.on {
			c.errorAt(r.at, "add `cdn: true` to the environment, or remove the CDN restriction",
				"ingress is limited to CloudFront, but the environment has no CDN")
		}
	}
}

// checkEnvCDNCertificate: CloudFront takes certificates from us-east-1; a
// CDN certificate without load balancer certificates means CloudFront
// terminates TLS; load balancer certificates need a CDN certificate.
func checkEnvCDNCertificate(c *context) {
	if c.envm == nil {
		return
	}
	cdn := c.envm.CDN
	cert := cdn.Map.Certificate
	if cert != nil {
		if region, ok := certRegion(*cert); ok && region != "us-east-1" {
			c.errorAt(cdn.At("certificate"), "request or import the certificate in us-east-1", "CloudFront only uses certificates from us-east-1, but cdn.certificate is in %s", region)
		}
	}
	if !c.envm.CDNEnabled() {
		return
	}
	publicCerts := c.envm.HTTP.Public.Present("certificates")
	switch {
	case !publicCerts && cert != nil && (cdn.Map.TerminateTLS == nil || !*cdn.Map.TerminateTLS):
		c.errorAt(cdn.At("certificate"), "set `cdn.terminate_tls: true`, or add http.public.certificates",
			"cdn.certificate without http.public.certificates needs cdn.terminate_tls: true")
	case publicCerts && !cdn.Present("certificate"):
		c.errorAt(cdn.Pos, "add cdn.certificate: an ACM certificate in us-east-1 for the same domains",
			"with http.public.certificates and a CDN, cdn.certificate is required")
	}
}

func checkEnvPrivateSubnets(c *context) {
	if c.envm == nil || !c.envm.HTTP.Private.Present("subnets") {
		return
	}
	vpc := c.envm.Network.VPC
	if !vpc.Present("id") {
		c.errorAt(c.envm.HTTP.Private.At("subnets"), "import the VPC (network.vpc.id and subnets), or remove http.private.subnets",
			"http.private.subnets places the internal load balancer in imported subnets, but the VPC is not imported")
		return
	}
	imported := map[string]bool{}
	for _, s := range slices.Concat(vpc.Subnets.Public, vpc.Subnets.Private) {
		if s.ID != "" {
			imported[s.ID] = true
		}
	}
	for i, s := range c.envm.HTTP.Private.Subnets {
		if !imported[s.Value] {
			c.errorAt(s.Pos, "use the id of a subnet listed under network.vpc.subnets",
				"http.private.subnets[%d]: subnet %q is not one of the imported subnets", i, s.Value)
		}
	}
}

func checkEnvSecurityGroupPorts(c *context) {
	if c.envm == nil {
		return
	}
	sg := c.envm.Network.VPC.SecurityGroup
	for _, dir := range []struct {
		name  string
		rules []manifest.SGRule
	}{{"ingress", sg.Ingress}, {"egress", sg.Egress}} {
		for i, r := range dir.rules {
			p := r.Ports
			if !p.Scalar {
				continue
			}
			where := fmt.Sprintf("network.vpc.security_group.%s[%d].ports", dir.name, i)
			if v, err := strconv.Atoi(p.Value); p.Int && err == nil {
				if v < 0 || v > 65535 {
					c.errorAt(p.Pos, "use a port from 0 to 65535", "%s: port %d is out of range", where, v)
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
				c.errorAt(p.Pos, "write the lower port first, e.g. 80-443", "%s: range %q starts above its end", where, p.Value)
			case to > 65535:
				c.errorAt(p.Pos, "use ports from 0 to 65535", "%s: range %q goes beyond port 65535", where, p.Value)
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
	if c.envm == nil || !c.envm.Network.VPC.Set || c.envm.Network.VPC.Present("id") {
		return
	}
	vpc := c.envm.Network.VPC
	vpcCIDR := defaultVPCCIDR
	if vpc.CIDR != "" {
		vpcCIDR = vpc.CIDR
	}
	vpcNet, vpcErr := netip.ParsePrefix(vpcCIDR)
	type placed struct {
		net  netip.Prefix
		name string
	}
	var seen []placed
	counts := map[string][2]int{} // group -> CIDRs, AZs
	for _, group := range []struct {
		name string
		list []manifest.Subnet
	}{{"public", vpc.Subnets.Public}, {"private", vpc.Subnets.Private}} {
		cidrs, azs := map[string]bool{}, map[string]bool{}
		for i, s := range group.list {
			name := fmt.Sprintf("subnets.%s[%d]", group.name, i)
			if s.Present("id") {
				continue // env-vpc reports ids in a VPC Copilot creates
			}
			if s.AZ != "" {
				azs[s.AZ] = true
			}
			if !s.Present("cidr") {
				c.errorAt(s.Pos, "give the subnet a cidr, e.g. 10.0.0.0/24", "%s: a subnet of a VPC Copilot creates needs a cidr", name)
				continue
			}
			cidrs[s.CIDR] = true
			p, err := netip.ParsePrefix(s.CIDR)
			if err != nil {
				continue // the schema reports the format
			}
			if vpcErr == nil && (!vpcNet.Contains(p.Addr()) || p.Bits() < vpcNet.Bits()) {
				c.errorAt(s.At("cidr"), fmt.Sprintf("pick a block inside %s", vpcCIDR), "%s: cidr %s is outside the VPC's %s", name, s.CIDR, vpcCIDR)
				continue
			}
			for _, o := range seen {
				if o.net.Overlaps(p) {
					c.errorAt(s.At("cidr"), "give each subnet its own address block", "%s: cidr %s overlaps %s (%s)", name, s.CIDR, o.name, o.net)
					break
				}
			}
			seen = append(seen, placed{p, name})
		}
		counts[group.name] = [2]int{len(cidrs), len(azs)}
	}
	for _, group := range []string{"public", "private"} {
		n := counts[group]
		if n[1] >= 2 && n[0] != n[1] {
			c.errorAt(vpc.Subnets.At(group), "give one subnet per availability zone",
				"subnets.%s: %d CIDRs for %d availability zones; Copilot needs one subnet per zone", group, n[0], n[1])
		}
	}
}
