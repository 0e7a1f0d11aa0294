// Package workspace loads a Copilot workspace: it finds the application,
// workload and environment manifests and their addons, interpolates ${VAR}
// references and applies per-environment overrides exactly as Copilot does,
// keeping every value's line and column.
package workspace
