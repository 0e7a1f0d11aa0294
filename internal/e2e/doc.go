// Package e2e runs the built autopilot binary the way the Actions runner
// runs the container action, against fake AWS and GitHub endpoints and a
// real registry.
package e2e
