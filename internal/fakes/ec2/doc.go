// Package ec2 is an in-memory EC2 endpoint (DescribeSubnets,
// DescribeManagedPrefixLists) speaking EC2's query protocol: form-encoded
// requests, XML answers in EC2's namespace with <item> lists, and EC2's
// <Response><Errors><Error> error shape, for tests driven by the real SDK
// client.
package ec2
