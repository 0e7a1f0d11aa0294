package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/autopilot-dev/autopilot/internal/report"
	"github.com/autopilot-dev/autopilot/internal/run"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func newFlagSet(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: autopilot %s %s\n\nflags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning a flag error into a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return usageError{err.Error()}
	}
	return nil
}

func runLint(ctx context.Context, args []string) error {
	fs := newFlagSet("lint", "[--env NAME]... [--strict] [--format text|json|github|sarif] [--output FILE] [PATH...]")
	var envs stringList
	fs.Var(&envs, "env", "lint for this environment (repeatable; default: every environment the workspace names)")
	strict := fs.Bool("strict", false, "fail on warnings too")
	format := fs.String("format", "", "report format: text, json, github or sarif (default: github under GitHub Actions, else text)")
	output := fs.String("output", "", "write the report to this file instead of standard output")
	if err := parse(fs, args); err != nil {
		return err
	}
	f, err := lintFormat(*format)
	if err != nil {
		return err
	}
	var out io.Writer = os.Stdout
	if *output != "" {
		file, err := os.Create(*output)
		if err != nil {
			return fmt.Errorf("%w: %v", run.ErrCannotRun, err)
		}
		defer file.Close()
		out = file
	}
	res, err := run.Lint(ctx, run.LintOptions{Paths: fs.Args(), Envs: envs, Strict: *strict, Format: f, Out: out, Version: version})
	if err != nil {
		return err
	}
	if res.Failed(*strict) {
		return errFailed
	}
	return nil
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
