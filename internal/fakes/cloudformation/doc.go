// Package cloudformation is an in-memory CloudFormation endpoint speaking the
// AWS query protocol, with a stack and change-set state machine and
// injectable failures, for tests driven by the real SDK client.
package cloudformation
