// Package run is the one place the stages meet: it runs workspace → lint →
// render → image → deploy → report for a command, and both the CLI and the
// GitHub Action call it.
package run
