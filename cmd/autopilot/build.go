package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/autopilot-dev/autopilot/internal/github"
	"github.com/autopilot-dev/autopilot/internal/run"
)

func buildCommand() *cobra.Command {
	var o run.BuildOptions
	cmd := &cobra.Command{
		Use:   "build [PATH...]",
		Short: "Build images from Dockerfiles without a Docker daemon and push them",
		Long: `Build every selected workload that has image.build from its Dockerfile, in-process, and push it to
Amazon ECR <app>/<workload> (created if missing), to --repository, or write it to --output. Standard
output is JSON: repository, tag and digest per image.`,
		Example: `  autopilot build --output oci:out/images examples/apprunner-vpc
  autopilot build --repository 127.0.0.1:5000/shop --tag v1 .`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkImageOutput("output", o.Output); err != nil {
				return err
			}
			o.Paths = args
			o.Progress, o.Diagnostics = os.Stderr, os.Stderr
			o.Version = version
			o.Secret = github.NewCLI(os.Getenv, os.Stderr).Mask
			built, err := run.Build(cmd.Context(), o)
			if err != nil {
				return err
			}
			return printImages(built)
		},
	}
	fs := cmd.Flags()
	addSelection(cmd, &o.Selection)
	buildFlags(fs, &o)
	fs.StringVar(&o.Output, "output", "", "write images to `oci:DIR|tar:FILE` (an OCI layout, or a tar for docker load) instead of pushing")
	return cmd
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
