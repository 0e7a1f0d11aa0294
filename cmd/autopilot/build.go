package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/github"
	"github.com/autopilot-dev/autopilot/internal/run"
)

// keyValues is a repeatable KEY=VALUE flag.
type keyValues map[string]string

func (kv keyValues) String() string { return fmt.Sprint(map[string]string(kv)) }
func (kv keyValues) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" || val == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	kv[k] = val
	return nil
}

// buildFlags binds the flags of the image stage, shared by build, plan and
// deploy (which build first with --build).
func buildFlags(fs *flag.FlagSet, o *run.BuildOptions) {
	o.BaseImages = keyValues{}
	fs.StringVar(&o.Repository, "repository", "", "push to REGISTRY/NAME instead of Amazon ECR (with several services, REGISTRY/NAME/<service>)")
	fs.Var((*stringList)(&o.Tags), "tag", "extra image tag (repeatable); the git short SHA is always a tag")
	fs.BoolVar(&o.Latest, "latest", false, "also tag images latest (moves the tag: needs --mutable-tags)")
	fs.StringVar(&o.Platform, "platform", "", "target platform os/arch (default linux/amd64, what App Runner runs)")
	fs.Var(keyValues(o.BaseImages), "base-image", "use a local image for a base: REF=oci:DIR or REF=tar:FILE (repeatable; for air-gapped builds)")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "layer cache folder, which an Actions cache step can persist (default: the user cache dir)")
	fs.BoolVar(&o.MutableTags, "mutable-tags", false, "create ECR repositories with mutable tags, and let a push move an existing tag (default: a tag always names one image)")
	fs.BoolVar(&o.ScanOnPush, "scan-on-push", true, "create ECR repositories with scan on push")
	fs.StringVar(&o.CacheRepo, "cache-repo", "", "registry repository REGISTRY/NAME caching RUN layers between machines")
	fs.Var((*stringList)(&o.Secrets), "secret", "build secret for RUN --mount=type=secret: id=NAME,src=FILE or id=NAME,env=VAR (repeatable)")
}

func runBuild(ctx context.Context, args []string) error {
	fs := newFlagSet("build", "[--env NAME]... [--service NAME]... [--output oci:DIR|tar:FILE] [--repository REGISTRY/NAME] [--tag TAG]... [PATH]")
	var o run.BuildOptions
	addSelection(fs, &o.Selection)
	buildFlags(fs, &o)
	fs.StringVar(&o.Output, "output", "", "write images to oci:DIR (an OCI layout) or tar:FILE (for docker load) instead of pushing")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Output != "" && !strings.HasPrefix(o.Output, "oci:") && !strings.HasPrefix(o.Output, "tar:") {
		return usageError{"--output must be oci:DIR or tar:FILE"}
	}
	o.Paths = fs.Args()
	o.Progress = os.Stderr
	o.Version = version
	o.Secret = github.NewCLI(os.Getenv, os.Stderr).Mask
	built, err := run.Build(ctx, o)
	if err != nil {
		return err
	}
	return printImages(built)
}

// printImages writes the built images as JSON to standard output (machine
// output), one line per image on standard error for people.
func printImages(built []run.Built) error {
	images := make([]any, 0, len(built))
	for _, b := range built {
		fmt.Fprintf(os.Stderr, "built %s: %s\n", b.Workload, b.URI)
		images = append(images, b.Image)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(images)
}
