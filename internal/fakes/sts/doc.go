// Package sts is an in-memory STS endpoint (GetCallerIdentity,
// AssumeRoleWithWebIdentity) speaking the AWS query protocol.
package sts
