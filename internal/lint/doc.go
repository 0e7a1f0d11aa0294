// Package lint checks Copilot manifests and addon templates against the
// embedded JSON Schemas and the rules Copilot and AWS enforce, reporting
// every finding with its file, line and column.
package lint
