// Package fakegithub is an in-memory GitHub REST API and Actions OIDC token
// endpoint over httptest, for driving the real go-github client in tests.
package fakegithub
