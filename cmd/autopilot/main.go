// Command autopilot takes an AWS Copilot workspace from a pull request to
// running infrastructure: lint, render, build, plan and deploy.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/run"
)

// Exit codes: 0 success, 1 findings or a failed deployment, 2 the command
// could not run (usage, unreadable path).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// errFailed signals a run that completed and found problems; its report has
// already been written.
var errFailed = run.ErrFailed

// usageError is a command-line mistake.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// version is set at release time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the build info (`go install …@v1.2.3`).
var version string

func init() { version = cmp.Or(version, buildInfoVersion(debug.ReadBuildInfo())) }

// buildInfoVersion is the module version the binary was built at, the
// commit for a build from a checkout, or "dev".
func buildInfoVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}

// newRoot builds the command tree. started is set once a command's flags
// and arguments are accepted, just before it runs: an error before that is
// a usage error.
func newRoot(started *bool) *cobra.Command {
	root := &cobra.Command{
		Use:   "autopilot",
		Short: "Ship AWS Copilot workspaces from CI without the Copilot CLI and without a Docker daemon",
		Long: `autopilot takes an AWS Copilot workspace (copilot/ manifests and addons) from a pull request to
running infrastructure: lint -> render -> build -> plan -> deploy.

Every command takes the workspace as PATH (the repository root, its copilot/ folder, or manifest
files; default: the current directory). Flags may come before or after PATH.

Exit codes: 0 success; 1 findings with errors (unknown keys under --strict), a failed or refused
deployment (destructive changes not allowed included), or destructive changes in a plan under
--fail-on-destructive; 2 the command could not run.`,
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRun: func(*cobra.Command, []string) {
			*started = true
		},
		// Without a command, say so: exit 2, like any other usage mistake.
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return usageError{"name a command"}
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return usageError{fmt.Sprintf("no help for %q: %v", strings.Join(args, " "), err)}
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	})
	root.AddCommand(lintCommand(), renderCommand(), buildCommand(), planCommand(), deployCommand(), actionCommand(),
		&cobra.Command{
			Use:   "version",
			Short: "Print autopilot's version",
			Args:  cobra.NoArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "autopilot version", version) },
		})
	return root
}

func runMain(ctx context.Context, args []string) int {
	started := false
	root := newRoot(&started)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	name := cmd.CommandPath()
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errFailed):
		return exitFailed
	case errors.As(err, &ue) || !started:
		fmt.Fprintf(os.Stderr, "%s: %v\nrun '%s --help' for usage\n", name, err, name)
		return exitUsage
	case errors.As(err, new(*diag.Failure)):
		return exitFailed // its findings are already printed
	case errors.Is(err, run.ErrCannotRun):
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return exitUsage
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return exitFailed
	}
}
