// Package deploy turns rendered stacks into CloudFormation change sets, reads
// them back as plans, and executes them in dependency order.
package deploy
