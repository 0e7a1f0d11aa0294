package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/autopilot-dev/autopilot/internal/run"
)

// addSelection binds the flags that pick what a command works on.
func addSelection(fs *flag.FlagSet, s *run.Selection) {
	fs.Var((*stringList)(&s.Envs), "env", "environment to work on (repeatable; default: all)")
	fs.Var((*stringList)(&s.Services), "service", "service or job to work on (repeatable; default: all)")
	fs.StringVar(&s.App, "app", "", "application name, when PATH is a manifest outside a Copilot workspace")
	fs.StringVar(&s.AppDomain, "app-domain", os.Getenv("AUTOPILOT_APP_DOMAIN"), "the application's domain (copilot app init --domain): environments get their hosted zone, its delegation and a certificate (default $AUTOPILOT_APP_DOMAIN)")
	fs.StringVar(&s.CloudFrontPrefixList, "cloudfront-prefix-list", os.Getenv("AUTOPILOT_CLOUDFRONT_PREFIX_LIST"), "id of the region's com.amazonaws.global.cloudfront.origin-facing prefix list, for http.public.ingress.cdn (default $AUTOPILOT_CLOUDFRONT_PREFIX_LIST)")
}

func runRender(ctx context.Context, args []string) error {
	fs := newFlagSet("render", "[--app NAME] [--env NAME]... [--service NAME]... --out DIR [PATH...]")
	var o run.RenderOptions
	addSelection(fs, &o.Selection)
	fs.StringVar(&o.OutDir, "out", "", "write <stack>.template.yml, <stack>.params.json and addon templates here (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.OutDir == "" {
		return usageError{"--out DIR is required"}
	}
	o.Paths = fs.Args()
	o.Diagnostics = os.Stderr
	stacks, _, err := run.Render(ctx, o)
	if err != nil {
		return err
	}
	for _, s := range stacks {
		fmt.Fprintf(os.Stderr, "rendered %s\n", s.Name)
	}
	return nil
}
