package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// Deployer plans stacks and then executes their change sets.
type Deployer struct {
	planner *Planner
	gate    func(*Plan) error
	gateMu  *sync.Mutex
}

// NewDeployer returns a Deployer over a CloudFormation client.
func NewDeployer(api CloudFormationAPI, opts ...Option) (*Deployer, error) {
	p, err := NewPlanner(api, opts...)
	if err != nil {
		return nil, err
	}
	return &Deployer{planner: p, gateMu: &sync.Mutex{}}, nil
}

// WithGate returns a copy of d that calls gate with the complete plan before
// executing anything; an error from gate stops the deploy (its change sets
// are deleted). A stack planned again once its dependencies deployed (see
// Deploy) is shown to gate again, alone, with the change set that would
// execute; an error then leaves that stack and its dependents unexecuted.
// Destructive changes are refused before gate is asked, unless allowed
// (AllowDestructive).
func (d *Deployer) WithGate(gate func(*Plan) error) *Deployer {
	c := *d
	c.gate = gate
	return &c
}

// Deploy plans every stack, then executes the change sets in dependency
// order (independent stacks in parallel) and waits for each, streaming
// stack events. When any stack cannot be planned, nothing executes. A stack
// whose dependency failed is skipped. On failure the error's headline is the
// first resource that failed. On cancellation it stops waiting, deletes the
// change sets it has not executed, and reports each stack's state.
func (d *Deployer) Deploy(ctx context.Context, stacks []Stack) (*Result, error) {
	o := d.planner.o
	r, err := d.planner.newRun(stacks, true)
	if err != nil {
		return nil, err
	}
	res := &Result{Plan: r.plan, Stacks: make([]StackResult, len(r.stacks))}
	for i, s := range r.stacks {
		res.Stacks[i].StackName = s.Name
	}
	if err := r.planAll(ctx); err != nil || ctx.Err() != nil {
		return r.cancelled(ctx, res)
	}
	// A stack whose change set failed while a dependency changes likely
	// imports something that dependency creates: it is planned again once
	// the dependency is deployed. Until then the gate sees a preview.
	late := r.deferred()
	var unplanned []string
	for i := range r.plan.Stacks {
		sp := &r.plan.Stacks[i]
		if late[i] {
			err := r.previewUntilDeployed(ctx, i, r.changingDep(i))
			if err == nil {
				continue
			}
			sp.Error += "; no preview either: " + err.Error()
		}
		if sp.Error != "" {
			res.Stacks[i].Error = sp.Error
			unplanned = append(unplanned, sp.StackName+": "+sp.Error)
		}
	}
	if len(unplanned) > 0 {
		r.cleanup()
		return res, fmt.Errorf("nothing was executed because %d stack(s) could not be planned: %s", len(unplanned), strings.Join(unplanned, "; "))
	}
	seal(r.plan, r.stacks, late)
	if err := o.checkReviewed(r.plan); err != nil {
		r.cleanup()
		return res, err
	}
	if err := d.check(r.plan); err != nil {
		r.cleanup()
		for i := range res.Stacks {
			res.Stacks[i].Error = "skipped: the deploy was refused before anything executed"
		}
		return res, fmt.Errorf("nothing was executed: %w", err)
	}
	if err := r.putObjects(ctx); err != nil {
		r.cleanup()
		return res, fmt.Errorf("nothing was executed: %w", err)
	}

	refused := make([]error, len(r.stacks))
	err = runOrdered(ctx, o.jobs, r.deps, true, func(ctx context.Context, i int) bool {
		if late[i] {
			sp := &r.plan.Stacks[i]
			preview := sp.Changes
			*sp = StackPlan{StackName: sp.StackName, Kind: sp.Kind, Env: sp.Env, Workload: sp.Workload, Images: sp.Images}
			r.planStack(ctx, r.stacks[i], sp)
			if sp.Error != "" {
				res.Stacks[i] = StackResult{StackName: sp.StackName, Error: sp.Error}
				return false
			}
			// What was reviewed, and gated, is the preview: a change set
			// that does more (the live stack changed meanwhile) executes
			// nothing.
			if beyond := beyondPreview(preview, sp.Changes); len(beyond) > 0 {
				r.forget(ctx, sp.StackName)
				refused[i] = fmt.Errorf("its change set does what its preview did not show (%s); plan it again on a pull request and review it", strings.Join(beyond, "; "))
				res.Stacks[i] = StackResult{StackName: sp.StackName, Error: "planned again once its dependencies deployed, and not executed: " + refused[i].Error()}
				return false
			}
			// The gate saw a preview; this change set is what executes.
			if err := d.check(&Plan{App: r.plan.App, Account: r.plan.Account, Region: r.plan.Region,
				Fingerprint: r.plan.Fingerprint, Stacks: []StackPlan{*sp}}); err != nil {
				r.forget(ctx, sp.StackName)
				refused[i] = err
				res.Stacks[i] = StackResult{StackName: sp.StackName, Error: "planned again once its dependencies deployed, and not executed: " + err.Error()}
				return false
			}
		}
		res.Stacks[i] = r.executeStack(ctx, r.stacks[i], r.plan.Stacks[i])
		if sr := &res.Stacks[i]; sr.Error == "" && r.stacks[i].Site != nil {
			var err error
			if sr.Files, err = r.syncSite(ctx, r.stacks[i]); err != nil {
				sr.Error = fmt.Sprintf("sync the site's files: %v", err)
			}
		}
		return res.Stacks[i].Error == ""
	}, func(i, dep int) {
		res.Stacks[i].Error = fmt.Sprintf("skipped: stack %s it depends on did not deploy", r.stacks[dep].Name)
	})
	if err != nil || ctx.Err() != nil {
		return r.cancelled(ctx, res)
	}
	for i, sr := range res.Stacks {
		switch {
		case sr.Error == "":
			continue
		case refused[i] != nil:
			return res, fmt.Errorf("stack %s was planned again once its dependencies deployed, and not executed: %w", sr.StackName, refused[i])
		}
		return res, errors.New(headline(sr))
	}
	return res, nil
}

// check refuses a plan with destructive changes the options do not allow,
// then asks the caller's gate. Calls never overlap.
func (d *Deployer) check(p *Plan) error {
	d.gateMu.Lock()
	defer d.gateMu.Unlock()
	if err := d.planner.o.refuseDestructive(p); err != nil {
		return err
	}
	if d.gate != nil {
		return d.gate(p)
	}
	return nil
}

// changingDep names a stack that stack i depends on, directly or not, and
// that this run changes; "" when there is none.
func (r *run) changingDep(i int) string {
	for _, d := range r.deps[i] {
		sp := r.plan.Stacks[d]
		if sp.Error == "" && !sp.NoChanges {
			return sp.StackName
		}
		if name := r.changingDep(d); name != "" {
			return name
		}
	}
	return ""
}

// headline is the one line that says why a stack failed.
func headline(sr StackResult) string {
	if c := sr.RootCause; c != nil {
		return fmt.Sprintf("stack %s: %s (%s) %s: %s", sr.StackName, c.LogicalID, c.ResourceType, c.Status, c.Reason)
	}
	return fmt.Sprintf("stack %s: %s", sr.StackName, sr.Error)
}

// executeStack executes one planned change set and waits for the stack.
func (r *run) executeStack(ctx context.Context, s Stack, sp StackPlan) StackResult {
	sr := StackResult{StackName: s.Name}
	r.mu.Lock()
	cs := r.created[s.Name]
	r.mu.Unlock()
	if sp.NoChanges || cs == nil {
		sr.NoChanges = true
		if st, err := r.describeStack(ctx, s.Name); err == nil && st != nil {
			sr.Status = string(st.StackStatus)
			sr.Outputs = outputValues(st)
		}
		return sr
	}
	marker, err := r.latestEvent(ctx, s.Name)
	if err != nil {
		sr.Error = err.Error()
		return sr
	}
	// The token makes a retried call (a lost response, a throttled
	// attempt) the same execution rather than a second one.
	_, err = r.api.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{
		ChangeSetName:      aws.String(cs.id),
		StackName:          aws.String(s.Name),
		ClientRequestToken: aws.String(clientToken(r.name, s.Name)),
	})
	if err != nil {
		sr.Error = fmt.Sprintf("execute change set: %v", err)
		return sr
	}
	r.mu.Lock()
	cs.executed = true
	r.mu.Unlock()
	sr.Executed = true
	r.o.log.Info("executing change set", "stack", s.Name, "changeSet", r.name)
	status, cause, err := r.waitStack(ctx, s.Name, marker, newMasker(s))
	sr.Status, sr.RootCause = status, cause
	if err != nil {
		sr.Error = err.Error()
		return sr
	}
	if !succeeded(status) {
		sr.Error = fmt.Sprintf("stack ended in %s", status)
		if status == string(types.StackStatusRollbackComplete) {
			sr.Error += "; fix the cause, then deploy again with --recreate-failed (CloudFormation cannot update a stack whose creation rolled back)"
		}
		return sr
	}
	if st, err := r.describeStack(ctx, s.Name); err == nil && st != nil {
		sr.Outputs = outputValues(st)
	}
	return sr
}

// outputValues are a stack's outputs by key; a stack unchanged by this deploy
// has them too, so a workflow can always read them.
func outputValues(st *types.Stack) map[string]string {
	out := map[string]string{}
	for _, o := range st.Outputs {
		out[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return out
}

func clientToken(changeSet, stack string) string {
	t := nameSafe.ReplaceAllString(changeSet+"-"+stack, "-")
	if len(t) > 128 {
		t = t[:64] + digest([]byte(t))[:64]
	}
	return t
}

func succeeded(status string) bool {
	return status == string(types.StackStatusCreateComplete) || status == string(types.StackStatusUpdateComplete) ||
		status == string(types.StackStatusImportComplete)
}

// latestEvent returns the ID of the newest event before execution, so only
// events after it are reported.
func (r *run) latestEvent(ctx context.Context, stack string) (string, error) {
	out, err := r.api.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stack)})
	if err != nil {
		return "", fmt.Errorf("read events of %s: %w", stack, err)
	}
	if len(out.StackEvents) == 0 {
		return "", nil
	}
	return aws.ToString(out.StackEvents[0].EventId), nil
}

// waitStack polls a stack's events until the stack itself reports a final
// status, emitting each event once, oldest first. It returns the final
// status and the first resource failure.
func (r *run) waitStack(ctx context.Context, stack, marker string, mask *masker) (string, *StackEvent, error) {
	deadline := r.o.now().Add(r.o.deployTimeout)
	seen := map[string]bool{}
	firstSeen := map[string]time.Time{} // logical ID -> its first event in this run
	var cause *StackEvent
	for {
		fresh, err := r.newEvents(ctx, stack, marker, seen)
		if err != nil {
			return "", cause, err
		}
		final := ""
		for _, e := range fresh {
			e.Reason = mask.text(e.Reason)
			r.emit(e)
			if _, ok := firstSeen[e.LogicalID]; !ok {
				firstSeen[e.LogicalID] = e.Time
			}
			if cause == nil && e.LogicalID != stack && e.Failed() {
				c := e
				cause = &c
			}
			if e.LogicalID == stack && e.ResourceType == "AWS::CloudFormation::Stack" && !strings.HasSuffix(e.Status, "_IN_PROGRESS") {
				final = e.Status
			}
		}
		if final != "" {
			if cause != nil && cause.ResourceType == "AWS::CloudFormation::Stack" {
				cause = r.nestedCause(ctx, *cause, firstSeen[cause.LogicalID], mask, 0)
			}
			return final, cause, nil
		}
		if r.o.now().After(deadline) {
			return "", cause, fmt.Errorf("stack %s did not finish within %s; it is still running in CloudFormation, check it in the console", stack, r.o.deployTimeout)
		}
		if err := sleep(ctx, r.o.poll); err != nil {
			return "", cause, err
		}
	}
}

// nestedCause follows a nested stack's failure ("Embedded stack ... was not
// successfully created") to the first resource inside it that failed since
// the parent started on it, so the headline names the real cause. It keeps
// the nested stack's own event when the nested events cannot be read.
func (r *run) nestedCause(ctx context.Context, failed StackEvent, since time.Time, mask *masker, depth int) *StackEvent {
	if depth >= 5 || !strings.HasPrefix(failed.PhysicalID, "arn:") {
		return &failed
	}
	pages := cloudformation.NewDescribeStackEventsPaginator(r.api, &cloudformation.DescribeStackEventsInput{StackName: aws.String(failed.PhysicalID)})
	var inner *StackEvent
read:
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return &failed
		}
		// Newest first: the last failure met is the earliest one.
		for _, e := range page.StackEvents {
			at := aws.ToTime(e.Timestamp)
			if at.Before(since) {
				break read
			}
			ev := StackEvent{Stack: failed.Stack, Time: at, LogicalID: failed.LogicalID + "/" + aws.ToString(e.LogicalResourceId),
				ResourceType: aws.ToString(e.ResourceType), Status: string(e.ResourceStatus),
				Reason: mask.text(aws.ToString(e.ResourceStatusReason)), PhysicalID: aws.ToString(e.PhysicalResourceId)}
			if ev.Failed() && ev.PhysicalID != failed.PhysicalID {
				inner = &ev
			}
		}
	}
	if inner == nil {
		return &failed
	}
	if inner.ResourceType == "AWS::CloudFormation::Stack" {
		return r.nestedCause(ctx, *inner, since, mask, depth+1)
	}
	return inner
}

// newEvents reads events newer than marker not seen yet, oldest first,
// reading as many pages as needed.
func (r *run) newEvents(ctx context.Context, stack, marker string, seen map[string]bool) ([]StackEvent, error) {
	var newestFirst []types.StackEvent
	pages := cloudformation.NewDescribeStackEventsPaginator(r.api, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stack)})
pages:
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read events of %s: %w", stack, err)
		}
		for _, e := range page.StackEvents {
			id := aws.ToString(e.EventId)
			if id == marker || seen[id] {
				break pages
			}
			newestFirst = append(newestFirst, e)
		}
	}
	out := make([]StackEvent, 0, len(newestFirst))
	for i := len(newestFirst) - 1; i >= 0; i-- {
		e := newestFirst[i]
		seen[aws.ToString(e.EventId)] = true
		out = append(out, StackEvent{
			Stack: stack, Time: aws.ToTime(e.Timestamp), LogicalID: aws.ToString(e.LogicalResourceId),
			ResourceType: aws.ToString(e.ResourceType), Status: string(e.ResourceStatus), Reason: aws.ToString(e.ResourceStatusReason),
			PhysicalID: aws.ToString(e.PhysicalResourceId),
		})
	}
	return out, nil
}

func (r *run) emit(e StackEvent) {
	r.o.log.Info("stack event", "stack", e.Stack, "resource", e.LogicalID, "type", e.ResourceType, "status", e.Status, "reason", e.Reason)
	if r.o.onEvent != nil {
		r.o.onEvent(e)
	}
}

// cancelled deletes the change sets not executed and reports where each
// stack stands, on a fresh context since ctx is done.
func (r *run) cancelled(ctx context.Context, res *Result) (*Result, error) {
	r.cleanup()
	fresh, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var states []string
	for i := range res.Stacks {
		sr := &res.Stacks[i]
		st, err := r.describeStack(fresh, sr.StackName)
		switch {
		case err != nil:
			sr.Status = "UNKNOWN"
		case st == nil:
			sr.Status = ""
		default:
			sr.Status = string(st.StackStatus)
		}
		if sr.Error == "" && !sr.NoChanges && !succeeded(sr.Status) {
			sr.Error = "cancelled"
		}
		state := sr.Status
		if state == "" {
			state = "does not exist"
		}
		states = append(states, sr.StackName+" "+state)
	}
	cause := context.Cause(ctx)
	if cause == nil {
		cause = context.Canceled
	}
	return res, fmt.Errorf("deploy cancelled; change sets not executed were deleted; stacks: %s: %w", strings.Join(states, ", "), cause)
}

// putObjects stores the stacks' objects (env files, addon artifacts) in the
// artifacts bucket before anything executes, so a task never starts without
// its file. Each is put even when its key is stored already: the key names
// the content's hash, but whoever else can write the bucket (the plan role
// of a pull request) could have stored other bytes there. Messages name
// keys only, never content.
func (r *run) putObjects(ctx context.Context) error {
	for _, s := range r.stacks {
		if len(s.Objects) == 0 {
			continue
		}
		if r.o.uploader == nil {
			return fmt.Errorf("stack %s has files to upload (env files, addon artifacts) and no artifacts bucket; pass --artifacts-bucket", s.Name)
		}
		for _, key := range sortedKeys(s.Objects) {
			if _, err := r.o.uploader.Upload(ctx, key, s.Objects[key]); err != nil {
				return fmt.Errorf("stack %s: %w", s.Name, err)
			}
			r.o.log.Info("uploaded", "stack", s.Name, "key", key, "bytes", len(s.Objects[key]))
		}
	}
	return nil
}
