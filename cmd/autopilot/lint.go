package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/autopilot-dev/autopilot/internal/report"
	"github.com/autopilot-dev/autopilot/internal/run"
)

func lintCommand() *cobra.Command {
	var (
		o              run.LintOptions
		format, output string
	)
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Check manifests and addons against Copilot's schemas and rules",
		Long: `Check every manifest and addon against Copilot's JSON Schemas and rules, for every environment the
workspace names (after ${VAR} interpolation and the environments: overrides), with file:line:column
findings. Exit 1 on errors; under --strict unknown keys are errors.`,
		Example: `  autopilot lint examples/apprunner-vpc
  autopilot lint --strict --env test .
  autopilot lint --format sarif --output autopilot.sarif .`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := lintFormat(format)
			if err != nil {
				return err
			}
			var out io.Writer = os.Stdout
			if output != "" {
				file, err := os.Create(output)
				if err != nil {
					return fmt.Errorf("%w: %v", run.ErrCannotRun, err)
				}
				defer file.Close()
				out = file
			}
			o.Paths, o.Format, o.Out, o.Version = args, f, out, version
			res, err := run.Lint(cmd.Context(), o)
			if err != nil {
				return err
			}
			if res.Failed() {
				return errFailed
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&o.Envs, "env", nil, "lint for environment `NAME` (repeatable; default: every environment the workspace names)")
	completeEnvs(cmd)
	addStrict(fs, &o.Strict)
	fs.StringVar(&format, "format", "", "report `FORMAT`: text, json, github or sarif (default: github under GitHub Actions, else text)")
	fs.StringVar(&output, "output", "", "write the report to `FILE` instead of standard output")
	fs.StringVar(&o.AppDomain, "app-domain", os.Getenv("AUTOPILOT_APP_DOMAIN"), "the application's `DOMAIN` (copilot app init --domain), as render takes it (default $AUTOPILOT_APP_DOMAIN)")
	return cmd
}

func lintFormat(name string) (report.Format, error) {
	if name == "" {
		if os.Getenv("GITHUB_ACTIONS") == "true" {
			return report.FormatGitHub, nil
		}
		return report.FormatText, nil
	}
	f, err := report.ParseFormat(name)
	if err != nil {
		return "", usageError{err.Error()}
	}
	return f, nil
}
