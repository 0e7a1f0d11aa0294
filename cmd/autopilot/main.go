// Command autopilot takes an AWS Copilot workspace from a pull request to
// running infrastructure: lint, render, build, plan and deploy.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"lint", "check manifests and addons against Copilot's schemas and rules", runLint},
		{"render", "write the CloudFormation templates and parameters Copilot would deploy", runRender},
		{"build", "build images from Dockerfiles without a Docker daemon and push them", runBuild},
		{"plan", "preview the change sets: terminal, JSON, job summary and a sticky PR comment", runPlan},
		{"deploy", "plan, then execute the change sets in order and wait", runDeploy},
		{"action", "the GitHub Action: run what the event calls for, from INPUT_* variables", runAction},
	}
}

func runMain(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Println("autopilot", version)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:])
		var ue usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, errFailed):
			return exitFailed
		case errors.As(err, &ue):
			fmt.Fprintf(os.Stderr, "autopilot %s: %s\nrun 'autopilot %s -h' for usage\n", c.name, ue.msg, c.name)
			return exitUsage
		case errors.As(err, new(*diag.Failure)):
			return exitFailed // its findings are already printed
		case errors.Is(err, run.ErrCannotRun):
			fmt.Fprintf(os.Stderr, "autopilot %s: %v\n", c.name, err)
			return exitUsage
		default:
			fmt.Fprintf(os.Stderr, "autopilot %s: %v\n", c.name, err)
			return exitFailed
		}
	}
	fmt.Fprintf(os.Stderr, "autopilot: unknown command %q\n", args[0])
	usage()
	return exitUsage
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: autopilot <command> [flags] [PATH...]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(os.Stderr, "\nrun 'autopilot <command> -h' for a command's flags")
}

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = "dev"
