package main

import (
	"os"

	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/autopilot-dev/autopilot/internal/run"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// keyValues is a repeatable KEY=VALUE flag.
type keyValues map[string]string

func (kv keyValues) Type() string { return "KEY=VALUE" }
func (kv keyValues) String() string {
	pairs := make([]string, 0, len(kv))
	for k, v := range kv {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}
func (kv keyValues) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" || val == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	kv[k] = val
	return nil
}

// addSelection binds the flags that pick what a command works on.
func addSelection(cmd *cobra.Command, s *run.Selection) {
	fs := cmd.Flags()
	fs.StringArrayVar(&s.Envs, "env", nil, "work on environment `NAME` (repeatable; default: every environment)")
	fs.StringArrayVar(&s.Services, "service", nil, "work on service or job `NAME` (repeatable; default: all)")
	fs.StringVar(&s.App, "app", "", "application `NAME`, when PATH is a manifest outside a Copilot workspace")
	fs.StringVar(&s.AppDomain, "app-domain", os.Getenv("AUTOPILOT_APP_DOMAIN"), "the application's `DOMAIN` (copilot app init --domain): environments get their hosted zone, its delegation and a certificate (default $AUTOPILOT_APP_DOMAIN)")
	fs.StringVar(&s.CloudFrontPrefixList, "cloudfront-prefix-list", os.Getenv("AUTOPILOT_CLOUDFRONT_PREFIX_LIST"), "`ID` of the region's com.amazonaws.global.cloudfront.origin-facing prefix list, for http.public.ingress.cdn; plan and deploy look it up when empty (default $AUTOPILOT_CLOUDFRONT_PREFIX_LIST)")
	completeEnvs(cmd)
	_ = cmd.RegisterFlagCompletionFunc("service", completeFromWorkspace(func(ws *workspace.Workspace) []string {
		names := make([]string, 0, len(ws.Workloads))
		for _, m := range ws.Workloads {
			names = append(names, m.Name)
		}
		return names
	}))
}

// completeEnvs completes --env with the environments of the workspace the
// command line names.
func completeEnvs(cmd *cobra.Command) {
	_ = cmd.RegisterFlagCompletionFunc("env", completeFromWorkspace((*workspace.Workspace).EnvNames))
}

// completeFromWorkspace completes a flag with names read from the workspace
// at the command line's PATH (default: the current directory).
func completeFromWorkspace(names func(*workspace.Workspace) []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		ws, err := workspace.Load(args...)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return names(ws), cobra.ShellCompDirectiveNoFileComp
	}
}

// addStrict binds --strict: unknown keys are errors.
func addStrict(fs *pflag.FlagSet, strict *bool) {
	fs.BoolVar(strict, "strict", false, "treat unknown keys (typos Copilot ignores silently) as errors")
}

// buildFlags binds the flags of the image stage, shared by build, plan and
// deploy (which build first with --build).
func buildFlags(fs *pflag.FlagSet, o *run.BuildOptions) {
	o.BaseImages = keyValues{}
	fs.StringVar(&o.Repository, "repository", "", "push to `REGISTRY/NAME` instead of Amazon ECR (with several workloads, to REGISTRY/NAME/<workload>)")
	fs.StringArrayVar(&o.Tags, "tag", nil, "extra image `TAG` (repeatable); the git short SHA is always a tag")
	fs.BoolVar(&o.Latest, "latest", false, "also tag images latest (moves the tag: needs --mutable-tags)")
	fs.StringVar(&o.Platform, "platform", "", "target `OS/ARCH` (default linux/amd64, what App Runner runs)")
	fs.Var(keyValues(o.BaseImages), "base-image", "use a local image for a base: `REF=oci:DIR|REF=tar:FILE` (repeatable; for air-gapped builds)")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "layer cache `DIR`, which an Actions cache step can persist (default: the user cache dir)")
	fs.BoolVar(&o.MutableTags, "mutable-tags", false, "create ECR repositories with mutable tags, and let a push move an existing tag (default: a tag always names one image)")
	fs.BoolVar(&o.ScanOnPush, "scan-on-push", true, "create ECR repositories with scan on push")
	fs.StringVar(&o.CacheRepo, "cache-repo", "", "registry repository `REGISTRY/NAME` caching RUN layers between machines")
	fs.StringArrayVar(&o.Secrets, "secret", nil, "build secret for RUN --mount=type=secret: `id=NAME,src=FILE|id=NAME,env=VAR` (repeatable)")
}

// checkImageOutput refuses an --output or --build-output that is neither
// an OCI layout nor a tar file.
func checkImageOutput(flag, v string) error {
	if v != "" && !strings.HasPrefix(v, "oci:") && !strings.HasPrefix(v, "tar:") {
		return usageError{fmt.Sprintf("--%s %q: want oci:DIR or tar:FILE", flag, v)}
	}
	return nil
}
