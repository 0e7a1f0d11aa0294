package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/autopilot-dev/autopilot/internal/github"
)

func actionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "action",
		Short: "The GitHub Action: run what the event calls for, from INPUT_* variables",
		Long: `The GitHub Action's entrypoint. It reads the inputs from INPUT_* variables (INPUT_COMMAND,
INPUT_PATH, INPUT_AWS-REGION, ...; names upper-cased, hyphens kept) and the event from
GITHUB_EVENT_NAME and GITHUB_EVENT_PATH, runs what the event calls for, and writes the outputs to
GITHUB_OUTPUT (or, outside Actions, as one JSON object on standard output). See the README.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{"action takes no arguments: set the inputs as INPUT_* variables (INPUT_PATH for the workspace)"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return github.RunAction(cmd.Context(), os.Getenv, version)
		},
	}
}
