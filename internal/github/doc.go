// Package github is autopilot's one adapter to GitHub: it reads the Actions
// environment and event payload, writes outputs, the step summary and
// workflow commands, and keeps sticky pull-request comments through the REST
// API. No other package knows about GitHub.
package github
