// Package cfn parses CloudFormation templates (YAML short forms included) and
// diffs two of them resource by resource, the way a change set reports it.
package cfn
