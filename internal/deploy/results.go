package deploy

import (
	"errors"
	"time"
)

// ErrNoChanges says a change set came out empty: the stack already matches.
// It counts as success; plans report it as StackPlan.NoChanges.
var ErrNoChanges = errors.New("no changes")

// ErrFingerprintMismatch says the stacks differ from the reviewed plan.
var ErrFingerprintMismatch = errors.New("plan differs from the reviewed plan")

// StackEvent is one CloudFormation stack event seen while deploying.
type StackEvent struct {
	Stack        string    `json:"stack"`
	Time         time.Time `json:"time"`
	LogicalID    string    `json:"logicalId"`
	ResourceType string    `json:"resourceType"`
	PhysicalID   string    `json:"physicalId,omitempty"`
	Status       string    `json:"status"`
	Reason       string    `json:"reason,omitempty"`
}

// Failed reports whether the event is a resource failing (not one cancelled
// because another failed).
func (e StackEvent) Failed() bool {
	return len(e.Status) > 7 && e.Status[len(e.Status)-7:] == "_FAILED" &&
		e.Reason != "Resource creation cancelled" && e.Reason != "Resource update cancelled"
}

// Result is what Deploy did.
type Result struct {
	Plan   *Plan         `json:"plan"`
	Stacks []StackResult `json:"stacks"`
}

// StackResult is the outcome for one stack.
type StackResult struct {
	StackName string `json:"stack"`
	// Status is the stack's CloudFormation status at the end ("" when it
	// does not exist).
	Status   string `json:"status,omitempty"`
	Executed bool   `json:"executed"`
	// NoChanges is set when there was nothing to execute.
	NoChanges bool `json:"noChanges"`
	// Error says why the stack failed or was skipped.
	Error string `json:"error,omitempty"`
	// RootCause is the first resource that failed, when one did.
	RootCause *StackEvent `json:"rootCause,omitempty"`
	// Outputs are the stack's outputs after a successful deploy, or of a
	// stack the deploy left unchanged.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Files, for a Static Site, are what the deploy put in and deleted
	// from its bucket.
	Files *FileChanges `json:"files,omitempty"`
}

// Succeeded reports whether every stack deployed or needed nothing.
func (r *Result) Succeeded() bool {
	for _, s := range r.Stacks {
		if s.Error != "" {
			return false
		}
	}
	return true
}
