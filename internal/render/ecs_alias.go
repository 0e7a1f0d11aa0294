package render

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// Aliases and HTTPS listener rules of load-balanced services, as Copilot's
// https-listener partial writes them. In an environment with an HTTPS
// listener (a Load Balanced Web Service: http.public.certificates or the
// application's domain; a Backend Service: http.private.certificates)
// each rule becomes two:
// HTTPListenerRuleWithDomain on the HTTP listener (a redirect to HTTPS,
// unless redirect_to_https is false) and HTTPSListenerRule on the HTTPS
// listener, both matching the rule's aliases as host headers. The main
// rule's aliases with a hosted zone get Route 53 alias records to the
// load balancer, one LoadBalancerDNSAlias<zone> record set group per zone;
// with the application's domain, a service without aliases gets Copilot's
// default LoadBalancerDNSAlias, <svc>.<env>.<app>.<domain>.

// envTLS is how an environment's load balancer serves HTTPS to a service.
type envTLS struct {
	// https: the listener has HTTPS, from imported certificates or the
	// application's domain.
	https bool
	// delegated: through the application's domain (its certificate for
	// <env>.<app>.<domain>), not imported certificates; a service without
	// an alias is then served as <svc>.<env>.<app>.<domain>.
	delegated bool
	// domain is <env>.<app>.<domain> when delegated.
	domain string
}

// environmentTLS is how the environment's public and internal load
// balancers serve HTTPS, as Copilot decides it: imported certificates win
// over the application's domain, which serves the public load balancer
// only (and names the internal services of an environment without
// imported public certificates).
func environmentTLS(em *workspace.Manifest, app, env string, vars workspace.Vars, appDomain string) (public, internal envTLS) {
	var publicCerts, privateCerts bool
	if em != nil {
		if doc, _ := resolve(em, env, vars); doc != nil {
			if m, err := manifest.DecodeEnvironment(doc); err == nil {
				publicCerts, privateCerts = len(m.HTTP.Public.Certificates) > 0, len(m.HTTP.Private.Certificates) > 0
			}
		}
	}
	delegated := appDomain != "" && !publicCerts
	domain := ""
	if delegated {
		domain = env + "." + app + "." + appDomain
	}
	return envTLS{https: publicCerts || appDomain != "", delegated: delegated, domain: domain},
		envTLS{https: privateCerts, delegated: delegated, domain: domain}
}

// maxRuleConditionValues is the listener rule limit Copilot enforces on
// aliases plus allowed source IPs.
const maxRuleConditionValues = 5

// checkAliases reports the alias settings Copilot refuses, and those
// autopilot cannot render in this environment, for the main rule.
func checkAliases(h manifest.HTTP, kind string, backend bool, tls envTLS, env string, fail failFunc) {
	if h.Enabled {
		checkRuleAliases(h.RoutingRule, "http", kind, backend, tls, env, fail)
	}
}

// checkRuleAliases checks one listener rule, name (http or
// http.additional_rules[N]) for messages.
func checkRuleAliases(r manifest.RoutingRule, name, kind string, backend bool, tls envTLS, env string, fail failFunc) {
	certs := "http.public.certificates"
	if backend {
		certs = "http.private.certificates"
	}
	if r.HostedZone != nil && len(r.Alias.Names) == 0 {
		fail(r.At("hosted_zone"), ruleManifest, fmt.Sprintf(`"%s.hosted_zone" needs "%s.alias": it is the hosted zone of the aliases`, name, name), "add the alias, or remove the hosted zone")
	}
	if n := len(r.Alias.Names) + len(r.AllowedSourceIPs); n >= maxRuleConditionValues {
		fail(r.At("alias"), ruleManifest, fmt.Sprintf("the listener rule of %s has %d aliases and allowed source IPs; a rule takes fewer than %d", name, n, maxRuleConditionValues),
			"move some aliases or source IPs to http.additional_rules with the same path")
	}
	if tls.https && tls.delegated && !backend {
		// Copilot's environment certificate covers <env>.<app>.<domain> and
		// its subdomains; other aliases get certificates and records from
		// Copilot's environment custom-domain Lambda, which is not rendered.
		for _, a := range r.Alias.Names {
			if !coveredBy(a.Name, tls.domain) {
				fail(a.Pos, ruleManifest, fmt.Sprintf("%s.alias %s is not covered by environment %s's certificate (%s, *.%s): Copilot adds certificates and records for other names with its environment custom-domain Lambda, which is not rendered",
					name, a.Name, env, tls.domain, tls.domain), fmt.Sprintf("use a name under %s, or import a certificate covering %s in the environment's http.public.certificates", tls.domain, a.Name))
			}
		}
		if r.HostedZone != nil || slices.ContainsFunc(r.Alias.Names, func(a manifest.AliasName) bool { return a.HostedZone != nil }) {
			fail(r.Pos, ruleManifest, fmt.Sprintf("alias hosted zones need certificates imported in environment %s (http.public.certificates): with the application's domain the records go in the environment's zone", env),
				"remove the hosted zone")
		}
		return
	}
	if tls.https {
		switch {
		case len(r.Alias.Names) == 0 && backend:
			fail(r.Pos, ruleUnsupported, fmt.Sprintf("rendering a Backend Service without %s.alias is not supported yet in environment %s, which imports certificates (%s): Copilot routes it by <service>.<env>.<app>.<domain>, the application's domain, which is not rendered", name, env, certs),
				"set "+name+".alias to the domain names the certificates cover")
		case len(r.Alias.Names) == 0:
			fail(r.Pos, ruleManifest, fmt.Sprintf("a %s in environment %s, which imports certificates (%s), needs %s.alias: its HTTPS listener routes by host name", kind, env, certs, name),
				"set "+name+".alias to the domain names the certificates cover")
		}
		return
	}
	if len(r.Alias.Names) > 0 {
		if backend {
			fail(r.At("alias"), ruleManifest, fmt.Sprintf("%s.alias of a Backend Service needs an internal HTTPS listener: environment %s has no http.private.certificates", name, env),
				"import a certificate covering the alias in the environment's http.private.certificates")
		} else {
			fail(r.At("alias"), ruleUnsupported, fmt.Sprintf("%s.alias needs HTTPS: environment %s imports no certificates and no application domain is given (Copilot's app init --domain)", name, env),
				"import a certificate covering the alias in the environment's http.public.certificates, or give the application's domain (--app-domain)")
		}
	}
	for _, a := range r.Alias.Names {
		if a.HostedZone != nil || r.HostedZone != nil {
			at := a.Pos
			if a.HostedZone == nil {
				at = r.At("hosted_zone")
			}
			fail(at, ruleManifest, fmt.Sprintf("alias hosted zones need certificates imported in environment %s (%s)", env, certs), "import the certificate in the environment manifest, or remove the hosted zone")
			break
		}
	}
	if r.RedirectToHTTPS != nil && !backend && !tls.https {
		fail(r.At("redirect_to_https"), ruleUnsupported, fmt.Sprintf("%s.redirect_to_https needs an HTTPS listener: environment %s imports no certificates and no application domain is given", name, env),
			"import a certificate in the environment's http.public.certificates, give the application's domain (--app-domain), or remove the redirect")
	}
}

// aliasRecordNotices warn that, with the application's domain, an alias's
// DNS record is not the service's: Copilot's environment custom-domain
// Lambda writes it from the environment's Aliases parameter. A Copilot-made
// environment keeps that resource and its Aliases (so the records it wrote
// stay), but autopilot creates none for an alias the environment has not
// served yet.
func aliasRecordNotices(h manifest.HTTP, in ecsInput) diag.List {
	var out diag.List
	for _, r := range append([]manifest.RoutingRule{h.RoutingRule}, h.AdditionalRules...) {
		for _, a := range r.Alias.Names {
			if coveredBy(a.Name, in.tls.domain) {
				out = append(out, diag.Diagnostic{File: in.file, Line: a.Pos.Line, Column: a.Pos.Column, Severity: diag.Warning, Rule: ruleManifest, Env: in.env,
					Message: fmt.Sprintf("alias %s gets its DNS record from the environment's custom-domain resources (Copilot's Lambda, from the Aliases parameter), which a Copilot-made environment keeps but autopilot does not create", a.Name),
					Fix:     fmt.Sprintf("on an environment Copilot did not serve %s from, add its A record (alias to the load balancer) in the zone of %s", a.Name, in.tls.domain)})
			}
		}
	}
	return out
}

// coveredBy reports whether a certificate for domain and *.domain covers
// name (a wildcard covers one label).
func coveredBy(name, domain string) bool {
	name, domain = strings.TrimSuffix(strings.ToLower(name), "."), strings.ToLower(domain)
	if name == domain {
		return true
	}
	label, rest, ok := strings.Cut(name, ".")
	return ok && label != "" && rest == domain
}

// defaultAliasRecord is Copilot's LoadBalancerDNSAlias for a service
// without aliases in an environment with the application's domain:
// <svc>.<env>.<app>.<domain> in the environment's zone.
func defaultAliasRecord(lb envLBExports) *yaml.Node {
	return kv(
		"Metadata", kv("aws:copilot:description", "The default alias record for the application load balancer"),
		"Type", "AWS::Route53::RecordSetGroup",
		"Properties", kv(
			"HostedZoneId", importValue(sub("${AppName}-${EnvName}-HostedZone")),
			"Comment", sub("LoadBalancer alias for service ${WorkloadName}"),
			"RecordSets", seq(kv(
				"Name", join(".", seq(ref("WorkloadName"), importValue(sub("${AppName}-${EnvName}-SubDomain")), "")),
				"Type", "A",
				"AliasTarget", kv("HostedZoneId", lb.export("HostedZone"), "DNSName", lb.export("DNS")),
			)),
		),
	)
}

// serviceHost is <svc>.<env>.<app>.<domain>, the host header of a rule
// without aliases in an environment with the application's domain.
func serviceHost() *yaml.Node {
	return seq(join(".", seq(ref("WorkloadName"), importValue(sub("${AppName}-${EnvName}-SubDomain")))))
}

// aliasZones groups the main rule's aliases by hosted zone (an alias's own,
// else the service's hosted_zone), zones sorted, each alias once per zone.
// Aliases without either get no record: their DNS is managed elsewhere.
func aliasZones(r manifest.RoutingRule) (zones []string, names map[string][]string) {
	names = map[string][]string{}
	for _, a := range r.Alias.Names {
		zone := a.HostedZone
		if zone == nil {
			zone = r.HostedZone
		}
		if zone == nil || slices.Contains(names[*zone], a.Name) {
			continue
		}
		names[*zone] = append(names[*zone], a.Name)
	}
	for z := range names {
		zones = append(zones, z)
	}
	slices.Sort(zones)
	return zones, names
}

// aliasRecordSets are the LoadBalancerDNSAlias<zone> resources.
func aliasRecordSets(r manifest.RoutingRule, lb envLBExports, add func(string, *yaml.Node)) {
	zones, names := aliasZones(r)
	for _, z := range zones {
		records := seq()
		for _, name := range names[z] {
			records.Content = append(records.Content, kv("Name", name, "Type", "A",
				"AliasTarget", kv("HostedZoneId", lb.export("HostedZone"), "DNSName", lb.export("DNS"))))
		}
		add("LoadBalancerDNSAlias"+logicalIDSafe(z), kv(
			"Metadata", kv("aws:copilot:description", "Alias records for the application load balancer in hosted zone "+z),
			"Type", "AWS::Route53::RecordSetGroup",
			"Properties", kv(
				"HostedZoneId", z,
				"Comment", sub("LoadBalancer aliases for service ${WorkloadName} in hosted zone "+z),
				"RecordSets", records,
			),
		))
	}
}

// httpsRules adds HTTPListenerRuleWithDomain<N> and HTTPSListenerRule<N>
// for one rule.
func httpsRules(r albRule, backend bool, lb envLBExports, add func(string, *yaml.Node)) {
	path := normalizePath(*r.Path)
	// A Backend Service always redirects; a Load Balanced Web Service
	// unless redirect_to_https is false.
	redirect := backend || r.RedirectToHTTPS == nil || *r.RedirectToHTTPS
	hosts := val(r.Alias.Strings())
	if len(r.Alias.Names) == 0 {
		hosts = serviceHost()
	}
	conds := ruleConditions(path, r.AllowedSourceIPs, hosts)
	httpDesc := fmt.Sprintf("An HTTP listener rule for path `%s` that forwards HTTP traffic to your tasks", path)
	httpAction := r.forward()
	if redirect {
		httpDesc = fmt.Sprintf("An HTTP listener rule for path `%s` that redirects HTTP to HTTPS", path)
		httpAction = kv("Type", "redirect", "RedirectConfig", kv(
			"Protocol", "HTTPS", "Port", 443, "Host", "#{host}", "Path", "/#{path}", "Query", "#{query}", "StatusCode", "HTTP_301"))
	}
	add("HTTPListenerRuleWithDomain"+r.suffix, ruleResource(httpDesc, httpAction, conds, lb.export("HTTPListenerArn"), r.priority))
	add("HTTPSListenerRule"+r.suffix, ruleResource(fmt.Sprintf("An HTTPS listener rule for path `%s` that forwards HTTPS traffic to your tasks", path),
		r.forward(), deepCopy(conds), lb.export("HTTPSListenerArn"), r.priority))
}
