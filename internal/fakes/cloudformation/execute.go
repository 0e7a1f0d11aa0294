package cloudformation

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
)

// statuses a stack passes through for one kind of execution.
type lifecycle struct {
	start, cleanup, done                  string
	failVerb                              string
	rollback, rollbackCleanup, rolledBack string
}

var (
	createLifecycle = lifecycle{start: "CREATE_IN_PROGRESS", done: "CREATE_COMPLETE", failVerb: "create",
		rollback: "ROLLBACK_IN_PROGRESS", rolledBack: "ROLLBACK_COMPLETE"}
	updateLifecycle = lifecycle{start: "UPDATE_IN_PROGRESS", cleanup: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", done: "UPDATE_COMPLETE",
		failVerb: "update", rollback: "UPDATE_ROLLBACK_IN_PROGRESS", rollbackCleanup: "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
		rolledBack: "UPDATE_ROLLBACK_COMPLETE"}
)

func (s *Server) executeChangeSet(form url.Values) (any, *APIError) {
	cs, apiErr := s.findChangeSet(form)
	if apiErr != nil {
		return nil, apiErr
	}
	token := form.Get("ClientRequestToken")
	if token != "" && cs.token == token {
		return struct{}{}, nil // a retry of an execution already under way
	}
	if cs.status != "CREATE_COMPLETE" || cs.execStatus != "AVAILABLE" {
		state := cs.execStatus
		if cs.status == "FAILED" {
			state = cs.status
		}
		return nil, &APIError{Status: http.StatusBadRequest, Type: "Sender", Code: "InvalidChangeSetStatus",
			Message: fmt.Sprintf("ChangeSet [%s] cannot be executed in its current status of [%s]", cs.id, state)}
	}
	st := s.stacks[cs.stackName]
	if st == nil {
		return nil, validation("Stack [%s] does not exist", cs.stackName)
	}
	if isInProgress(st.status) && st.status != "REVIEW_IN_PROGRESS" {
		return nil, &APIError{Status: http.StatusBadRequest, Type: "Sender", Code: "InvalidChangeSetStatus",
			Message: fmt.Sprintf("ChangeSet [%s] cannot be executed in its current status of [%s]", cs.id, cs.execStatus)}
	}
	cs.token = token
	cs.execStatus = "EXECUTE_IN_PROGRESS"
	st.executions++
	// CloudFormation deletes the stack's other change sets on execution.
	for _, other := range s.changeSets {
		if other.stackName == st.name && other.parentID == "" && other.id != cs.id {
			s.removeChangeSet(other)
		}
	}
	life := updateLifecycle
	if cs.typ == "CREATE" {
		life = createLifecycle
	}
	failures := s.failRes[st.name]
	delete(s.failRes, st.name)

	now := time.Now()
	st.updated = now
	n := len(cs.changes)
	step := s.opts.execDelay / time.Duration(n+3)
	at := func(i int) time.Time { return now.Add(step * time.Duration(i)) }
	s.addEvent(st, now, st.name, st.id, "AWS::CloudFormation::Stack", life.start, "User Initiated")

	// Adds and modifications first, removals during cleanup, as CloudFormation orders them.
	ordered := append([]cfn.Change(nil), cs.changes...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].Action != "Remove" && ordered[j].Action == "Remove" })
	var done []cfn.Change
	failedAt := ""
	i := 1
	for _, c := range ordered {
		t := at(i)
		i++
		if c.Action == "Remove" {
			continue
		}
		verb := "UPDATE"
		if c.Action == "Add" {
			verb = "CREATE"
		}
		phys := physicalID(st.name, c.LogicalID)
		s.addEvent(st, t, c.LogicalID, phys, c.ResourceType, verb+"_IN_PROGRESS", "")
		if inner, reason, ok := nestedFailure(failures, c.LogicalID); ok && c.ResourceType == "AWS::CloudFormation::Stack" {
			child := s.changeSets[cs.nestedIDs[c.LogicalID]]
			if child != nil {
				s.failNested(st, child, t, inner, reason, verb)
				s.addEvent(st, t.Add(2*time.Millisecond), c.LogicalID, child.stackID, c.ResourceType, verb+"_FAILED",
					fmt.Sprintf("Embedded stack %s was not successfully %sd: The following resource(s) failed to %s: [%s]. ", child.stackID, strings.ToLower(verb), strings.ToLower(verb), inner))
				failedAt = c.LogicalID
				break
			}
		}
		if reason, ok := failures[c.LogicalID]; ok {
			s.addEvent(st, t.Add(time.Millisecond), c.LogicalID, phys, c.ResourceType, verb+"_FAILED", reason)
			failedAt = c.LogicalID
			break
		}
		s.addEvent(st, t.Add(time.Millisecond), c.LogicalID, phys, c.ResourceType, verb+"_COMPLETE", "")
		done = append(done, c)
	}
	end := now.Add(s.opts.execDelay)
	if failedAt != "" {
		t := at(i)
		s.addEvent(st, t, st.name, st.id, "AWS::CloudFormation::Stack", life.rollback,
			fmt.Sprintf("The following resource(s) failed to %s: [%s]. Rollback requested by user.", life.failVerb, failedAt))
		for k := len(done) - 1; k >= 0; k-- {
			c := done[k]
			status := "UPDATE_COMPLETE"
			if c.Action == "Add" {
				status = "DELETE_COMPLETE"
			}
			s.addEvent(st, t.Add(time.Duration(len(done)-k)*time.Millisecond), c.LogicalID, physicalID(st.name, c.LogicalID), c.ResourceType, status, "")
		}
		if life.rollbackCleanup != "" {
			s.addEvent(st, end.Add(-time.Millisecond), st.name, st.id, "AWS::CloudFormation::Stack", life.rollbackCleanup, "")
		}
		s.addEvent(st, end, st.name, st.id, "AWS::CloudFormation::Stack", life.rolledBack, "")
		st.pending = &pending{at: end, apply: func() {
			cs.execStatus = "EXECUTE_FAILED"
			s.removeChangeSet(cs)
			if cs.typ == "CREATE" {
				st.body, st.tmpl, st.params, st.tags = cs.body, cs.tmpl, cs.params, cs.tags
			}
		}}
		return struct{}{}, nil
	}
	if life.cleanup != "" {
		s.addEvent(st, at(i), st.name, st.id, "AWS::CloudFormation::Stack", life.cleanup, "")
	}
	for _, c := range ordered {
		if c.Action != "Remove" {
			continue
		}
		t := at(i)
		i++
		phys := physicalID(st.name, c.LogicalID)
		if c.PolicyAction == "Retain" {
			s.addEvent(st, t, c.LogicalID, phys, c.ResourceType, "DELETE_SKIPPED", "")
			continue
		}
		s.addEvent(st, t, c.LogicalID, phys, c.ResourceType, "DELETE_IN_PROGRESS", "")
		s.addEvent(st, t.Add(time.Millisecond), c.LogicalID, phys, c.ResourceType, "DELETE_COMPLETE", "")
	}
	s.addEvent(st, end, st.name, st.id, "AWS::CloudFormation::Stack", life.done, "")
	st.pending = &pending{at: end, apply: func() {
		cs.execStatus = "EXECUTE_COMPLETE"
		st.body, st.tmpl, st.params, st.tags = cs.body, cs.tmpl, cs.params, cs.tags
		s.applyNested(cs, st, end)
		// Executed change sets go with the others.
		s.removeChangeSet(cs)
	}}
	return struct{}{}, nil
}

// applyNested makes the nested stacks of an executed change set real.
func (s *Server) applyNested(cs *changeSet, st *stack, at time.Time) {
	for logicalID, childID := range cs.nestedIDs {
		child := s.changeSets[childID]
		if child == nil {
			continue
		}
		nested := s.stacks[child.stackName]
		if nested == nil {
			nested = s.newStack(child.stackName)
			nested.id = child.stackID
			nested.parentID = st.id
		}
		nested.body, nested.tmpl, nested.params = child.body, child.tmpl, child.params
		status := "UPDATE_COMPLETE"
		if child.typ == "CREATE" {
			status = "CREATE_COMPLETE"
		}
		nested.status = status
		s.addEvent(nested, at, nested.name, nested.id, "AWS::CloudFormation::Stack", status, "")
		st.nested[logicalID] = nested.name
		delete(s.changeSets, childID)
	}
	for id := range st.nested {
		if _, ok := cs.tmpl.Resources[id]; !ok {
			delete(s.stacks, st.nested[id])
			delete(st.nested, id)
		}
	}
}

// nestedFailure finds a failure injected for a resource inside the nested
// stack logicalID ("AddonsStack/demoDbDBCluster").
func nestedFailure(failures map[string]string, logicalID string) (inner, reason string, ok bool) {
	for key, reason := range failures {
		if parent, inner, found := strings.Cut(key, "/"); found && parent == logicalID {
			return inner, reason, true
		}
	}
	return "", "", false
}

// failNested records, in the nested stack's own events, the inner resource
// failing and the nested stack rolling back, as CloudFormation does.
func (s *Server) failNested(parent *stack, child *changeSet, at time.Time, inner, reason, verb string) {
	nested := s.stacks[child.stackName]
	if nested == nil {
		nested = s.newStack(child.stackName)
		nested.id = child.stackID
		nested.parentID = parent.id
	}
	innerType := "AWS::CloudFormation::CustomResource"
	if child.tmpl != nil {
		if r, found := child.tmpl.Resources[inner]; found {
			innerType = r.Type
		}
	}
	phys := physicalID(nested.name, inner)
	s.addEvent(nested, at, nested.name, nested.id, "AWS::CloudFormation::Stack", verb+"_IN_PROGRESS", "User Initiated")
	s.addEvent(nested, at.Add(time.Microsecond), inner, phys, innerType, verb+"_IN_PROGRESS", "")
	s.addEvent(nested, at.Add(2*time.Microsecond), inner, phys, innerType, verb+"_FAILED", reason)
	s.addEvent(nested, at.Add(3*time.Microsecond), nested.name, nested.id, "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS",
		fmt.Sprintf("The following resource(s) failed to %s: [%s]. ", strings.ToLower(verb), inner))
}
