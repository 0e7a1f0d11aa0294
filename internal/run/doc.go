// Package run is the one place the stages meet: it runs workspace → lint →
// render → image → deploy → report for a command, and both the CLI and the
// GitHub Action call it.
package run

import "errors"

// ErrCannotRun marks errors that mean a command could not start: a bad
// path, an unknown environment or service, a missing application name.
var ErrCannotRun = errors.New("cannot run")

// ErrFailed marks a run that completed and found problems (lint errors, a
// failed deployment) whose report has already been written.
var ErrFailed = errors.New("failed")
