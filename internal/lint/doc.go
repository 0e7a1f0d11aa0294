// Package lint checks Copilot manifests and addon templates against the
// embedded JSON Schemas and the rules Copilot and AWS enforce, reporting
// every finding with its file, line and column.
//
// The schema is the first gate (types, unknown keys, positions); the rules
// read the typed model of internal/manifest where they have been moved to
// it (environment rules, autoscaling, Windows, ARM Spot, Service Connect,
// FIFO queues, subscriptions, job timeout) and the resolved node elsewhere;
// once both pass, what render refuses (render.Check) is reported with
// render's rule id and position.
package lint
