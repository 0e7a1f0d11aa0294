package render

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// ruleLookup marks what an AWS look-up could not find: the manifest is
// fine, the account is not as it says.
const ruleLookup = "render/aws-lookup"

// Lookups answers what Copilot reads from AWS while it deploys. Plan and
// deploy pass one; an offline render and lint have none.
type Lookups interface {
	// SubnetsByTags returns the ids of the subnets of the VPC of the
	// environment deployed as envStack that carry tags (every key, with
	// one of its values; any value when a key lists none).
	SubnetsByTags(ctx context.Context, envStack string, tags map[string][]string) ([]string, error)
	// CloudFrontPrefixList returns the id of the region's
	// com.amazonaws.global.cloudfront.origin-facing prefix list.
	CloudFrontPrefixList(ctx context.Context) (string, error)
}

// SubnetsPlaceholder stands for the subnets placement.subnets.from_tags
// selects when render has no Lookups (offline); plan and deploy refuse a
// template holding it.
const SubnetsPlaceholder = "autopilot-unresolved-subnets-from-tags"

// resolveSubnetTags replaces a from_tags placement with the subnets it
// selects in the environment's VPC, as Copilot does before rendering, so
// the template lists their ids. Without Lookups it lists a placeholder
// and says so.
func resolveSubnetTags(p *manifest.Placement, app, env, file string, opts Options, diags *diag.List) {
	if p.FromTags == nil {
		return
	}
	if opts.Lookups == nil {
		*diags = append(*diags, diag.Diagnostic{File: file, Line: p.Pos.Line, Column: p.Pos.Column, Severity: diag.Notice, Rule: ruleLookup, Env: env,
			Message: fmt.Sprintf("the subnets tagged %s are looked up in AWS by plan and deploy; this template lists a placeholder", describeTags(p.FromTags)),
			Fix:     "plan or deploy with AWS credentials"})
		p.SubnetIDs = []string{SubnetsPlaceholder}
		return
	}
	ids, err := opts.Lookups.SubnetsByTags(opts.ctx(), stackName(app, env, ""), p.FromTags)
	if err == nil && len(ids) == 0 {
		err = errors.New("no subnet found")
	}
	if err != nil {
		failer(diags, file, env)(p.Pos, ruleLookup, fmt.Sprintf("placement.subnets.from_tags %s: %v", describeTags(p.FromTags), err),
			"tag the subnets the tasks should run in, or correct from_tags")
		return
	}
	p.SubnetIDs = ids
}

// describeTags writes tags as key=value, key=a|b or key=* (any value).
func describeTags(tags map[string][]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		v := strings.Join(tags[k], "|")
		if len(tags[k]) == 0 {
			v = "*"
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ", ")
}

// ctx is the render's context, for look-ups.
func (o Options) ctx() context.Context {
	if o.Context == nil {
		return context.Background()
	}
	return o.Context
}
