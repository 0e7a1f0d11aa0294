// Package report turns lint findings, change-set plans and deploy results
// into text, JSON, SARIF, GitHub workflow annotations and Markdown, as pure
// functions with no network and no knowledge of where the output goes.
package report
