package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/autopilot-dev/autopilot/internal/run"
)

func renderCommand() *cobra.Command {
	var o run.RenderOptions
	cmd := &cobra.Command{
		Use:   "render --out DIR [PATH...]",
		Short: "Write the CloudFormation templates and parameters Copilot would deploy",
		Long: `Lint the workspace, then write per stack DIR/<stack>.template.yml, DIR/<stack>.params.json and
DIR/<stack>.addons.template.yml, byte-identical on every run. Lint errors stop it with the same findings.
Before a build, image parameters hold a placeholder that deploy refuses.`,
		Example: `  autopilot render --out out/stacks examples/apprunner-vpc
  autopilot render --app shop --out out/stacks copilot/api/manifest.yml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.OutDir == "" {
				return usageError{"--out DIR is required"}
			}
			o.Paths = args
			o.Diagnostics = os.Stderr
			stacks, _, err := run.Render(cmd.Context(), o)
			if err != nil {
				return err
			}
			for _, s := range stacks {
				fmt.Fprintf(os.Stderr, "rendered %s\n", s.Name)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	addSelection(cmd, &o.Selection)
	addStrict(fs, &o.Strict)
	fs.StringVar(&o.OutDir, "out", "", "write <stack>.template.yml, <stack>.params.json and addon templates to `DIR` (required)")
	return cmd
}
