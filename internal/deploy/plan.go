package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
)

// maxTemplateBody is the largest template CloudFormation takes inline;
// larger ones go through S3 as a TemplateURL.
const maxTemplateBody = 51200

var capabilities = []types.Capability{types.CapabilityCapabilityIam, types.CapabilityCapabilityNamedIam, types.CapabilityCapabilityAutoExpand}

// Planner creates change sets and reads them back as a Plan.
type Planner struct {
	api CloudFormationAPI
	o   *options
}

// NewPlanner returns a Planner over a CloudFormation client.
func NewPlanner(api CloudFormationAPI, opts ...Option) (*Planner, error) {
	if api == nil {
		return nil, errors.New("CloudFormation client is nil")
	}
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Planner{api: api, o: o}, nil
}

// Plan creates a change set for every stack (dependency order, independent
// stacks in parallel), reads every change including nested stacks', and
// deletes the change sets again unless WithKeepChangeSets is set. A stack
// that cannot be planned carries its Error; the others are still planned.
// The error is non-nil only when planning could not run at all (bad input,
// cancellation).
func (p *Planner) Plan(ctx context.Context, stacks []Stack) (*Plan, error) {
	r, err := p.newRun(stacks, false)
	if err != nil {
		return nil, err
	}
	err = r.planAll(ctx)
	late := r.deferred()
	for i := range r.plan.Stacks {
		if late[i] {
			// Keep the refusal as the error when not even a preview can be had.
			_ = r.previewUntilDeployed(ctx, i, r.changingDep(i))
		}
	}
	seal(r.plan, r.stacks, late)
	if !p.o.keepChangeSets || ctx.Err() != nil {
		r.cleanup()
	}
	if err != nil {
		return r.plan, fmt.Errorf("plan cancelled: %w", err)
	}
	return r.plan, nil
}

// previewUntilDeployed fills the plan of stack i, whose change set
// CloudFormation refused while dep, a stack this run changes, has yet to
// deploy (an import of an export dep creates): the changes come from the
// templates, the deployed one for an existing stack, so the plan and the
// destructive gate see what the stack will do.
func (r *run) previewUntilDeployed(ctx context.Context, i int, dep string) error {
	sp, s := &r.plan.Stacks[i], r.stacks[i]
	var old *cfn.Template
	oldParams := map[string]string{}
	live, err := r.describeStack(ctx, s.Name)
	if err != nil {
		return err
	}
	if msg := liveMissing(s, live); msg != "" {
		return errors.New(msg)
	}
	if live != nil && live.StackStatus != types.StackStatusReviewInProgress {
		deployed, err := r.deployedTemplate(ctx, s.Name)
		if err != nil {
			return err
		}
		if old, err = cfn.Parse(deployed); err != nil {
			return fmt.Errorf("parse deployed template of %s: %w", s.Name, err)
		}
		if err := requireLive(deployed, s.Live); err != nil {
			return fmt.Errorf("stack %s: %w", s.Name, err)
		}
		if s.Template, _, err = carryCustomResources(deployed, s.Template); err != nil {
			return fmt.Errorf("stack %s: keep Copilot's custom resources: %w", s.Name, err)
		}
		for _, p := range live.Parameters {
			oldParams[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
		}
		// Parameters not given, or kept, keep their deployed value.
		params := maps.Clone(oldParams)
		for k, v := range s.Parameters {
			if _, kept := oldParams[k]; !kept || !slices.Contains(s.KeepPrevious, k) {
				params[k] = v
			}
		}
		s.Parameters = params
	}
	// Asset parameters get the URLs the change set will pass, so the
	// conditions on them (Copilot's HasAddons) hold as they will then.
	s.Parameters = maps.Clone(s.Parameters)
	for name, body := range s.Assets {
		if s.Parameters == nil {
			s.Parameters = map[string]string{}
		}
		url, _, err := r.artifactURL(ctx, "assets", body)
		if err != nil {
			return fmt.Errorf("stack %s: asset %s: %w", s.Name, name, err)
		}
		s.Parameters[name] = url
	}
	changes, err := offlineChanges(s, old, oldParams, newMasker(s))
	if err != nil {
		return err
	}
	nested, err := offlineNested(s, func(id string, _ map[string]string) (*cfn.Template, map[string]string, error) {
		if res, ok := old.Active(oldParams)[id]; !ok || res.Type != "AWS::CloudFormation::Stack" {
			return nil, nil, nil
		}
		return r.deployedNested(ctx, s.Name, id)
	})
	if err != nil {
		return err
	}
	changes = append(changes, nested...)
	*sp = StackPlan{StackName: sp.StackName, Kind: sp.Kind, Env: sp.Env, Workload: sp.Workload, Images: sp.Images,
		ChangeSetType: sp.ChangeSetType, Preview: true, Changes: changes,
		StatusReason: fmt.Sprintf("CloudFormation can plan this stack only after %s deploys (%s); shown: a preview from the templates. "+
			"Deploy plans it again then, and checks that change set for destructive changes before executing it", dep, sp.Error)}
	return nil
}

// deployedNested reads the template and parameters of the nested stack a
// deployed stack holds as logicalID.
func (r *run) deployedNested(ctx context.Context, stack, logicalID string) (*cfn.Template, map[string]string, error) {
	out, err := r.api.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{
		StackName: aws.String(stack), LogicalResourceId: aws.String(logicalID),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("find nested stack %s of %s: %w", logicalID, stack, err)
	}
	if out.StackResourceDetail == nil {
		return nil, nil, fmt.Errorf("find nested stack %s of %s: CloudFormation returned no resource", logicalID, stack)
	}
	id := aws.ToString(out.StackResourceDetail.PhysicalResourceId)
	live, err := r.describeStack(ctx, id)
	if err != nil || live == nil {
		return nil, nil, err
	}
	body, err := r.deployedTemplate(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	t, err := cfn.Parse(body)
	if err != nil {
		return nil, nil, fmt.Errorf("parse deployed template of nested stack %s of %s: %w", logicalID, stack, err)
	}
	params := map[string]string{}
	for _, p := range live.Parameters {
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	return t, params, nil
}

// run is one Plan or Deploy: the stacks in order and the change sets made.
type run struct {
	*Planner
	execute bool
	stacks  []Stack
	deps    [][]int
	plan    *Plan
	name    string

	// csFailed[i] is set when CloudFormation refused stack i's change set.
	csFailed []bool

	mu      sync.Mutex
	created map[string]*createdSet // by stack name
}

type createdSet struct {
	stack, id string
	newStack  bool // the change set created the (REVIEW_IN_PROGRESS) stack
	executed  bool
}

func (p *Planner) newRun(stacks []Stack, execute bool) (*run, error) {
	sorted, deps, err := order(stacks)
	if err != nil {
		return nil, err
	}
	// Plans and deploys name their change sets apart, so the cleanup of a
	// closed pull request's plans never touches a running deploy's.
	kind := "autopilot-plan-"
	if execute {
		kind = "autopilot-deploy-"
	}
	name := kind + "local-" + strconv.FormatInt(p.o.now().Unix(), 10)
	if p.o.sha != "" {
		name = kind + p.o.sha
		if p.o.runID != "" {
			name += "-" + p.o.runID
		}
	}
	if len(name) > 128 {
		name = name[:128]
	}
	plan := &Plan{App: p.o.app, Account: p.o.account, Region: p.o.region, Stacks: make([]StackPlan, len(sorted))}
	for i, s := range sorted {
		plan.Stacks[i] = StackPlan{StackName: s.Name, Kind: s.Kind, Env: s.Env, Workload: s.Workload, Images: s.Images}
	}
	return &run{Planner: p, execute: execute, stacks: sorted, deps: deps, plan: plan, name: name,
		csFailed: make([]bool, len(sorted)), created: map[string]*createdSet{}}, nil
}

// deferred marks the stacks whose change set CloudFormation refused while
// a dependency of theirs changes in the same run: they are planned again
// once it has deployed.
func (r *run) deferred() []bool {
	out := make([]bool, len(r.stacks))
	for i, sp := range r.plan.Stacks {
		out[i] = sp.Error != "" && r.csFailed[i] && r.changingDep(i) != ""
	}
	return out
}

func (r *run) planAll(ctx context.Context) error {
	return runOrdered(ctx, r.o.jobs, r.deps, false, func(ctx context.Context, i int) bool {
		sp := &r.plan.Stacks[i]
		r.csFailed[i] = r.planStack(ctx, r.stacks[i], sp)
		if sp.Error == "" && r.stacks[i].Site != nil {
			r.planSite(ctx, r.stacks[i], sp)
		}
		r.o.log.Info("planned stack", "stack", sp.StackName, "type", sp.ChangeSetType, "changes", len(sp.Changes), "noChanges", sp.NoChanges, "error", sp.Error)
		return sp.Error == ""
	}, nil)
}

// planStack fills sp; failures go to sp.Error. It reports whether the
// failure was CloudFormation refusing the change set itself (as when it
// imports an export a dependency has yet to create).
func (r *run) planStack(ctx context.Context, s Stack, sp *StackPlan) (changeSetFailed bool) {
	fail := func(format string, args ...any) {
		sp.Error = fmt.Sprintf(format, args...)
	}
	live, err := r.describeStack(ctx, s.Name)
	if err != nil {
		fail("%v", err)
		return
	}
	if live != nil && isBusy(live.StackStatus) {
		if live, err = r.waitNotBusy(ctx, s.Name); err != nil {
			fail("%v", err)
			return
		}
	}
	mask := newMasker(s)
	typ := types.ChangeSetTypeUpdate
	if live == nil || live.StackStatus == types.StackStatusReviewInProgress {
		typ = types.ChangeSetTypeCreate
	}
	sp.ChangeSetType = string(typ)
	if live != nil && needsRecreate(live.StackStatus) {
		status := string(live.StackStatus)
		if !r.o.recreateFailed {
			fail("stack %s is in %s: its creation failed and CloudFormation cannot update it. "+
				"Fix the cause shown in its events, then delete it (aws cloudformation delete-stack --stack-name %s) "+
				"or deploy with --recreate-failed to let autopilot delete and recreate it", s.Name, status, s.Name)
			sp.Status = status
			return
		}
		sp.ChangeSetType = string(types.ChangeSetTypeCreate)
		if !r.execute {
			// Nothing can be previewed against a stack that will be
			// deleted: show the creation from scratch.
			sp.StatusReason = fmt.Sprintf("stack is in %s; deploy deletes and recreates it", status)
			if sp.Changes, err = offlineChanges(s, nil, nil, mask); err != nil {
				fail("%v", err)
			}
			return
		}
		if err := r.deleteAndWait(ctx, s.Name); err != nil {
			fail("%v", err)
			return
		}
		typ = types.ChangeSetTypeCreate
		live = nil
	}

	if live != nil && live.StackStatus == types.StackStatusUpdateRollbackFailed {
		fail("stack %s is in UPDATE_ROLLBACK_FAILED: CloudFormation cannot update it until its rollback is finished. "+
			"Fix what blocked the rollback (see its events), then run aws cloudformation continue-update-rollback --stack-name %s and retry",
			s.Name, s.Name)
		sp.Status = string(live.StackStatus)
		return
	}
	if typ == types.ChangeSetTypeCreate {
		if msg := liveMissing(s, nil); msg != "" {
			fail("%s", msg)
			return
		}
	}
	if typ == types.ChangeSetTypeUpdate {
		if msg := unrenderedInUse(s, live); msg != "" {
			fail("%s", msg)
			return
		}
	}
	body, extra := s.Template, []string(nil)
	if typ == types.ChangeSetTypeUpdate {
		if body, extra, err = r.adopt(ctx, s, live); err != nil {
			fail("%v", err)
			return
		}
	}
	in := &cloudformation.CreateChangeSetInput{
		StackName:           aws.String(s.Name),
		ChangeSetName:       aws.String(r.name),
		ChangeSetType:       typ,
		Capabilities:        capabilities,
		IncludeNestedStacks: aws.Bool(true),
		Description:         aws.String("autopilot " + r.name),
	}
	params := map[string]string{}
	for k, v := range s.Parameters {
		params[k] = v
	}
	for _, name := range sortedKeys(s.Assets) {
		url, err := r.upload(ctx, s.Name, "assets", s.Assets[name])
		if err != nil {
			fail("asset %s: %v", name, err)
			return
		}
		params[name] = url
	}
	if typ == types.ChangeSetTypeUpdate {
		mergeLists(s, live, params)
		extra = append(extra, keepPrevious(s, body, live, params)...)
	}
	for _, k := range sortedKeys(params) {
		in.Parameters = append(in.Parameters, types.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(params[k])})
	}
	for _, k := range extra {
		in.Parameters = append(in.Parameters, types.Parameter{ParameterKey: aws.String(k), UsePreviousValue: aws.Bool(true)})
	}
	for _, k := range sortedKeys(s.Tags) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(s.Tags[k])})
	}
	if len(body) > maxTemplateBody {
		url, err := r.upload(ctx, s.Name, "templates/"+s.Name, body)
		if err != nil {
			fail("template is %d bytes, over CloudFormation's %d-byte inline limit: %v", len(body), maxTemplateBody, err)
			return
		}
		in.TemplateURL = aws.String(url)
	} else {
		in.TemplateBody = aws.String(string(body))
	}

	out, err := r.api.CreateChangeSet(ctx, in)
	var exists *types.AlreadyExistsException
	if errors.As(err, &exists) {
		// A re-run of the same CI run: the change set of that name is ours
		// and was never executed; replace it.
		if _, derr := r.api.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: in.ChangeSetName, StackName: in.StackName}); derr == nil {
			out, err = r.api.CreateChangeSet(ctx, in)
		}
	}
	if err != nil {
		if errors.Is(changeSetError(errorMessage(err)), ErrNoChanges) {
			sp.NoChanges = true
			return
		}
		fail("create change set: %s", mask.text(errorMessage(err)))
		return true
	}
	id := aws.ToString(out.Id)
	sp.ChangeSetName, sp.ChangeSetID = r.name, id
	r.mu.Lock()
	r.created[s.Name] = &createdSet{stack: s.Name, id: id, newStack: live == nil}
	r.mu.Unlock()

	desc, err := r.waitCreated(ctx, id, s.Name)
	if err != nil {
		fail("%v", err)
		return
	}
	sp.Status, sp.StatusReason = string(desc.Status), mask.text(aws.ToString(desc.StatusReason))
	if desc.Status == types.ChangeSetStatusFailed {
		r.forget(ctx, s.Name)
		err := changeSetError(sp.StatusReason)
		if errors.Is(err, ErrNoChanges) {
			sp.NoChanges = true
			return false
		}
		fail("%v", err)
		return true
	}
	changes, err := r.readChanges(ctx, desc, "", mask)
	if err != nil {
		fail("%v", err)
		return
	}
	sp.Changes = changes
	if msg := replacedInOneStep(changes); msg != "" {
		fail("%s", msg)
	}
	return false
}

// liveMissing says why a stack that keeps resources of its deployed stack
// (Stack.Live) cannot be created: there is no deployed stack to keep them
// from. live is the deployed stack, nil or in review for a new one.
func liveMissing(s Stack, live *types.Stack) string {
	if live != nil && live.StackStatus != types.StackStatusReviewInProgress {
		return ""
	}
	i := slices.IndexFunc(s.Live, func(l LiveResource) bool { return !l.Optional })
	if i < 0 {
		return ""
	}
	l := s.Live[i]
	return fmt.Sprintf("stack %s: %s needs Copilot's resource %s, which autopilot cannot create (its Lambda code is Copilot's): "+
		"create the stack with Copilot first, or remove the setting", s.Name, l.For, l.ID)
}

// unrenderedInUse says why a deployed stack must not be updated: it uses a
// feature (a parameter with a value) the new template does not hold, or a
// Fixed parameter would change.
func unrenderedInUse(s Stack, live *types.Stack) string {
	var uses []string
	for _, p := range live.Parameters {
		name, value := aws.ToString(p.ParameterKey), aws.ToString(p.ParameterValue)
		if todo, ok := s.Fixed[name]; ok && value != "" && value != s.Parameters[name] {
			return fmt.Sprintf("stack %s was deployed with %s=%q, but this plan has %q: the resources it names would be replaced, so nothing is planned for it. %s",
				s.Name, name, value, s.Parameters[name], todo)
		}
		if what, ok := s.Unrendered[name]; ok && value != "" {
			uses = append(uses, fmt.Sprintf("%s (%s=%q)", what, name, value))
		}
	}
	if len(uses) == 0 {
		return ""
	}
	sort.Strings(uses)
	return fmt.Sprintf("stack %s uses %s, which autopilot does not render yet: deploying would remove those resources, so nothing is planned for it. "+
		"Keep deploying this stack with the tool that created it until autopilot supports it", s.Name, strings.Join(uses, ", "))
}

// mergeLists unions each of the stack's mergeable lists with its deployed
// value, sorted and comma-joined, in params.
func mergeLists(s Stack, live *types.Stack, params map[string]string) {
	for _, p := range live.Parameters {
		name := aws.ToString(p.ParameterKey)
		if !slices.Contains(s.MergeLists, name) {
			continue
		}
		set := map[string]bool{}
		for _, v := range append(strings.Split(aws.ToString(p.ParameterValue), ","), strings.Split(params[name], ",")...) {
			if v = strings.TrimSpace(v); v != "" {
				set[v] = true
			}
		}
		params[name] = strings.Join(sortedKeys(set), ",")
	}
}

// keepPrevious returns the parameters an update passes as UsePreviousValue:
// those the stack asks to keep and those the template declares without a
// value given, when the deployed stack has them. It removes them from
// params.
func keepPrevious(s Stack, body []byte, live *types.Stack, params map[string]string) []string {
	deployed := map[string]bool{}
	for _, p := range live.Parameters {
		deployed[aws.ToString(p.ParameterKey)] = true
	}
	keep := map[string]bool{}
	for _, k := range s.KeepPrevious {
		if deployed[k] {
			keep[k] = true
		}
	}
	if t, err := cfn.Parse(body); err == nil {
		for k := range t.Parameters {
			if _, given := params[k]; !given && deployed[k] {
				keep[k] = true
			}
		}
	}
	for k := range keep {
		delete(params, k)
	}
	return sortedKeys(keep)
}

// errorMessage is the message of an AWS API error, or the error's text.
func errorMessage(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return err.Error()
}

// changeSetError turns the reason CloudFormation gives for a failed change
// set (or a refused CreateChangeSet) into an error: ErrNoChanges when it
// says the change set is empty, which counts as success.
func changeSetError(reason string) error {
	if isNoChanges(reason) {
		return ErrNoChanges
	}
	return fmt.Errorf("change set failed: %s", reason)
}

// isNoChanges recognises CloudFormation's ways of saying a change set or an
// update is empty. Every such match lives here.
func isNoChanges(reason string) bool {
	return strings.Contains(reason, "The submitted information didn't contain changes") ||
		strings.Contains(reason, "No updates are to be performed")
}

func isBusy(s types.StackStatus) bool {
	return strings.HasSuffix(string(s), "_IN_PROGRESS") && s != types.StackStatusReviewInProgress
}

func needsRecreate(s types.StackStatus) bool {
	return s == types.StackStatusRollbackComplete || s == types.StackStatusRollbackFailed
}

func isNotExist(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationError" && strings.Contains(apiErr.ErrorMessage(), "does not exist")
}

// describeStack returns the stack, or nil when it does not exist.
func (r *run) describeStack(ctx context.Context, name string) (*types.Stack, error) {
	out, err := r.api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("describe stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 || out.Stacks[0].StackStatus == types.StackStatusDeleteComplete {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

// waitNotBusy waits, with backoff and bounded, for another operation on the
// stack to finish.
func (r *run) waitNotBusy(ctx context.Context, name string) (*types.Stack, error) {
	deadline := r.o.now().Add(r.o.busyTimeout)
	delay := r.o.minDelay
	for {
		st, err := r.describeStack(ctx, name)
		if err != nil || st == nil || !isBusy(st.StackStatus) {
			return st, err
		}
		if r.o.now().After(deadline) {
			return nil, fmt.Errorf("stack %s is still %s after %s: another operation is running on it; "+
				"wait for it to finish, or stop it (aws cloudformation cancel-update-stack --stack-name %s), then retry",
				name, st.StackStatus, r.o.busyTimeout, name)
		}
		r.o.log.Info("stack busy, waiting", "stack", name, "status", st.StackStatus)
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(delay*2, r.o.maxDelay)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *run) deleteAndWait(ctx context.Context, name string) error {
	r.o.log.Info("deleting failed stack to recreate it", "stack", name)
	if _, err := r.api.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(name)}); err != nil {
		return fmt.Errorf("delete stack %s to recreate it: %w", name, err)
	}
	w := cloudformation.NewStackDeleteCompleteWaiter(r.api, func(o *cloudformation.StackDeleteCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = r.o.minDelay, r.o.maxDelay
	})
	if err := w.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)}, r.o.busyTimeout); err != nil {
		return fmt.Errorf("wait for stack %s to be deleted: %w", name, err)
	}
	return nil
}

func (r *run) upload(ctx context.Context, stack, prefix string, body []byte) (string, error) {
	if r.o.uploader == nil {
		return "", fmt.Errorf("stack %s needs an artifacts bucket to upload to; configure one (deploy.WithUploader)", stack)
	}
	url, stored, err := r.artifactURL(ctx, prefix, body)
	if err != nil || stored {
		return url, err
	}
	return r.o.uploader.Upload(ctx, r.objectKey(prefix, body), body)
}

// Deploys and plans store artifacts under their own prefixes, which the
// deploy role and the plan role (a pull request's) may write respectively:
// a plan cannot put an object where a deploy reads one.
const (
	deployArtifacts = "autopilot/deploy/"
	planArtifacts   = "autopilot/plan/"
)

// objectKey is the content-addressed key this run stores body at.
func (r *run) objectKey(prefix string, body []byte) string {
	root := planArtifacts
	if r.execute {
		root = deployArtifacts
	}
	return contentKey(root, prefix, body)
}

func contentKey(root, prefix string, body []byte) string {
	sum := sha256.Sum256(body)
	return root + prefix + "/" + hex.EncodeToString(sum[:])
}

// artifactURL is the URL the change set passes for body, and whether it is
// stored there already. A deploy always puts its own bytes. A plan names
// the deploy's object when one exists, so an unchanged addon template
// plans as no change: only the deploy role writes under its prefix and the
// key is the content's hash, so the object there is body.
func (r *run) artifactURL(ctx context.Context, prefix string, body []byte) (string, bool, error) {
	if !r.execute {
		if s, ok := r.o.uploader.(interface {
			Exists(context.Context, string) (bool, error)
		}); ok {
			key := contentKey(deployArtifacts, prefix, body)
			found, err := s.Exists(ctx, key)
			if err != nil {
				return "", false, err
			}
			if found {
				return r.urlOf(key), true, nil
			}
		}
	}
	return r.urlOf(r.objectKey(prefix, body)), false, nil
}

func (r *run) urlOf(key string) string {
	if u, ok := r.o.uploader.(interface{ URL(string) string }); ok {
		return u.URL(key)
	}
	return "https://artifacts.invalid/" + key
}

// waitCreated waits for a change set to leave CREATE_PENDING and
// CREATE_IN_PROGRESS, with the SDK's waiter, and returns its first page.
func (r *run) waitCreated(ctx context.Context, id, stack string) (*cloudformation.DescribeChangeSetOutput, error) {
	// Property values come with every poll so the last one is already the
	// first page of the change set.
	in := &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(id), StackName: aws.String(stack), IncludePropertyValues: aws.Bool(true)}
	w := cloudformation.NewChangeSetCreateCompleteWaiter(r.api, func(o *cloudformation.ChangeSetCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = r.o.minDelay, r.o.maxDelay
	})
	out, err := w.WaitForOutput(ctx, in, r.o.createTimeout)
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// The waiter fails on a FAILED change set; read its reason.
	out, derr := r.api.DescribeChangeSet(ctx, in)
	if derr != nil {
		return nil, fmt.Errorf("wait for change set of %s: %w", stack, errors.Join(err, derr))
	}
	if out.Status != types.ChangeSetStatusFailed {
		return nil, fmt.Errorf("change set of %s still %s after %s: %w", stack, out.Status, r.o.createTimeout, err)
	}
	return out, nil
}

// readChanges reads every page of a change set, starting from the first
// page already read, and, recursively, the change sets of its nested stacks.
func (r *run) readChanges(ctx context.Context, first *cloudformation.DescribeChangeSetOutput, nested string, mask *masker) ([]ResourceChange, error) {
	var out []ResourceChange
	id := aws.ToString(first.ChangeSetId)
	page := first
	for {
		for _, c := range page.Changes {
			rc := c.ResourceChange
			if rc == nil {
				continue
			}
			change := convertChange(rc, nested, mask)
			out = append(out, change)
			if child := aws.ToString(rc.ChangeSetId); child != "" {
				path := change.LogicalID
				if nested != "" {
					path = nested + "/" + path
				}
				childPage, err := r.api.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{
					ChangeSetName: aws.String(child), IncludePropertyValues: aws.Bool(true),
				})
				if err != nil {
					return nil, fmt.Errorf("read nested change set %s of %s: %w", path, id, err)
				}
				inner, err := r.readChanges(ctx, childPage, path, mask)
				if err != nil {
					return nil, err
				}
				out = append(out, inner...)
			}
		}
		token := aws.ToString(page.NextToken)
		if token == "" {
			return out, nil
		}
		next, err := r.api.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{
			ChangeSetName: aws.String(id), IncludePropertyValues: aws.Bool(true), NextToken: aws.String(token),
		})
		if err != nil {
			return nil, fmt.Errorf("read change set %s: %w", id, err)
		}
		if aws.ToString(next.NextToken) == token {
			return nil, fmt.Errorf("read change set %s: the service repeated page token %q", id, token)
		}
		page = next
	}
}

func convertChange(rc *types.ResourceChange, nested string, mask *masker) ResourceChange {
	c := ResourceChange{
		Action:       Action(rc.Action),
		LogicalID:    aws.ToString(rc.LogicalResourceId),
		PhysicalID:   aws.ToString(rc.PhysicalResourceId),
		ResourceType: aws.ToString(rc.ResourceType),
		Replacement:  Replacement(rc.Replacement),
		NestedStack:  nested,
	}
	if c.Action == ActionAdd || c.Action == ActionRemove {
		c.Replacement = ""
	}
	seen := map[string]bool{}
	for _, d := range rc.Details {
		t := d.Target
		if t == nil {
			continue
		}
		path := strings.ReplaceAll(strings.Trim(aws.ToString(t.Path), "/"), "/", ".")
		if path == "" {
			path = string(t.Attribute)
			if n := aws.ToString(t.Name); n != "" {
				path += "." + n
			}
		}
		pc := PropertyChange{
			Path:               path,
			Before:             mask.text(aws.ToString(t.BeforeValue)),
			After:              mask.text(aws.ToString(t.AfterValue)),
			RequiresRecreation: string(t.RequiresRecreation),
			ChangeSource:       string(d.ChangeSource),
		}
		key := pc.Path + "\x00" + pc.Before + "\x00" + pc.After
		if seen[key] {
			continue
		}
		seen[key] = true
		c.Details = append(c.Details, pc)
	}
	c.Destructive = isDestructive(c, rc.PolicyAction == types.PolicyActionRetain)
	return c
}

// forget deletes a change set nobody will execute.
func (r *run) forget(ctx context.Context, stack string) {
	r.mu.Lock()
	cs := r.created[stack]
	delete(r.created, stack)
	r.mu.Unlock()
	if cs != nil {
		r.deleteCreated(ctx, cs)
	}
}

func (r *run) deleteCreated(ctx context.Context, cs *createdSet) {
	_, err := r.api.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: aws.String(cs.id), StackName: aws.String(cs.stack)})
	var nf *types.ChangeSetNotFoundException
	if err != nil && !errors.As(err, &nf) {
		r.o.log.Warn("could not delete change set", "stack", cs.stack, "changeSet", cs.id, "error", err)
	}
	if cs.newStack {
		// The change set made an empty REVIEW_IN_PROGRESS stack; remove it
		// too so nothing of ours is left behind.
		st, err := r.describeStack(ctx, cs.stack)
		if err == nil && st != nil && st.StackStatus == types.StackStatusReviewInProgress {
			if _, err := r.api.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(cs.stack)}); err != nil {
				r.o.log.Warn("could not delete empty stack", "stack", cs.stack, "error", err)
			}
		}
	}
}

// cleanup deletes every change set of this run that was not executed. It
// runs even after cancellation, on a fresh bounded context.
func (r *run) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r.mu.Lock()
	var todo []*createdSet
	for _, cs := range r.created {
		if !cs.executed {
			todo = append(todo, cs)
		}
	}
	r.created = map[string]*createdSet{}
	r.mu.Unlock()
	sort.Slice(todo, func(i, j int) bool { return todo[i].stack < todo[j].stack })
	for _, cs := range todo {
		r.deleteCreated(ctx, cs)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
