// Package plan benchmarks planning many independent stacks against the fake
// CloudFormation with a simulated change-set creation time.
package plan
