// Package render turns a Copilot workspace into the CloudFormation templates,
// parameters and tags that Copilot itself would deploy for each stack.
package render
