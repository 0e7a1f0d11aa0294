package main

import (
	"context"
	"os"

	"github.com/autopilot-dev/autopilot/internal/github"
)

func runAction(ctx context.Context, args []string) error {
	fs := newFlagSet("action", "(reads the INPUT_* variables and the GitHub event; see the README)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"action takes no arguments: set the inputs as INPUT_* variables (INPUT_PATH for the workspace)"}
	}
	return github.RunAction(ctx, os.Getenv, version)
}
