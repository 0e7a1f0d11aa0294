package cloudformation

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
)

const (
	maxTemplateBody = 51200
	emptyReason     = "The submitted information didn't contain changes. Submit different information to create a change set."
)

type stack struct {
	id, name       string
	status, reason string
	body           []byte
	tmpl           *cfn.Template
	params, tags   map[string]string
	created        time.Time
	updated        time.Time
	events         []scheduled
	busyUntil      time.Time
	busyThen       string
	pending        *pending
	nested         map[string]string // logical ID -> nested stack name
	parentID       string
	executions     int
}

type scheduled struct {
	at time.Time
	ev xmlEvent
}

type pending struct {
	at    time.Time
	apply func()
}

type changeSet struct {
	id, name, description string
	stackName, stackID    string
	typ                   string
	status, execStatus    string
	reason                string
	created, readyAt      time.Time
	failReason            string
	body                  []byte
	tmpl                  *cfn.Template
	params, tags          map[string]string
	capabilities          []string
	includeNested         bool
	changes               []cfn.Change
	nestedIDs             map[string]string // logical ID -> child change set ID
	parentID, rootID      string
	empty                 bool
	token                 string
	oldTmpl               *cfn.Template
	oldParams             map[string]string
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Server) arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:%s/%s/%s", s.opts.region, s.opts.account, kind, name, randomID())
}

func (s *Server) newStack(name string) *stack {
	now := time.Now()
	st := &stack{id: s.arn("stack", name), name: name, created: now, params: map[string]string{}, tags: map[string]string{}, nested: map[string]string{}}
	s.stacks[name] = st
	return st
}

func (s *Server) findStack(nameOrID string) *stack {
	if st := s.stacks[nameOrID]; st != nil {
		return st
	}
	for _, st := range s.stacks {
		if st.id == nameOrID {
			return st
		}
	}
	return nil
}

func (s *Server) findChangeSet(form url.Values) (*changeSet, *APIError) {
	name := form.Get("ChangeSetName")
	if name == "" {
		return nil, validation("ChangeSetName is a required parameter.")
	}
	if cs := s.changeSets[name]; cs != nil {
		return cs, nil
	}
	stackName := form.Get("StackName")
	if !strings.HasPrefix(name, "arn:") && stackName == "" {
		return nil, validation("StackName must be specified if ChangeSetName is not specified as an ARN.")
	}
	for _, cs := range s.changeSets {
		if cs.name == name && cs.parentID == "" && (cs.stackName == stackName || cs.stackID == stackName) {
			return cs, nil
		}
	}
	return nil, &APIError{Status: http.StatusNotFound, Type: "Sender", Code: "ChangeSetNotFound", Message: fmt.Sprintf("ChangeSet [%s] does not exist", name)}
}

// settle moves every time-driven state forward to now.
func (s *Server) settle(now time.Time) {
	for _, cs := range s.changeSets {
		if cs.status != "CREATE_IN_PROGRESS" || now.Before(cs.readyAt) {
			continue
		}
		switch {
		case cs.failReason != "":
			cs.status, cs.execStatus, cs.reason = "FAILED", "UNAVAILABLE", cs.failReason
		case cs.empty:
			cs.status, cs.execStatus, cs.reason = "FAILED", "UNAVAILABLE", emptyReason
		default:
			cs.status, cs.execStatus = "CREATE_COMPLETE", "AVAILABLE"
		}
	}
	for _, st := range s.stacks {
		for _, e := range st.events {
			if !e.at.After(now) && e.ev.LogicalResourceID == st.name && e.ev.ResourceType == "AWS::CloudFormation::Stack" {
				st.status, st.reason = e.ev.ResourceStatus, e.ev.ResourceStatusReason
			}
		}
		if !st.busyUntil.IsZero() && !now.Before(st.busyUntil) {
			st.status, st.busyUntil = st.busyThen, time.Time{}
		}
	}
	for _, st := range s.stacks {
		if st.pending != nil && !now.Before(st.pending.at) {
			p := st.pending
			st.pending = nil
			p.apply()
		}
	}
}

type fetched struct {
	body []byte
	err  *APIError
}

func (s *Server) fetch(u string) fetched {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") {
		return fetched{err: validation("TemplateURL must be a supported URL.")}
	}
	resp, err := s.opts.client.Get(u)
	if err != nil {
		return fetched{err: validation("TemplateURL must be a supported URL.")}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fetched{err: validation("S3 error: Access Denied")}
	}
	return fetched{body: b}
}

func parseTemplate(body []byte) (*cfn.Template, *APIError) {
	t, err := cfn.Parse(body)
	if err != nil {
		if strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
			return nil, validation("Template format error: JSON not well-formed.")
		}
		return nil, validation("Template format error: YAML not well-formed.")
	}
	if len(t.Resources) == 0 {
		return nil, validation("Template format error: At least one Resources member must be defined.")
	}
	for id, r := range t.Resources {
		if r.Type == "" {
			return nil, validation("Template format error: [/Resources/%s] Every Resources object must contain a Type member.", id)
		}
	}
	return t, nil
}

// requiredCapabilities returns the capabilities a template needs.
func requiredCapabilities(t *cfn.Template) []string {
	var need []string
	iam, named := false, false
	for _, r := range t.Resources {
		if strings.HasPrefix(r.Type, "AWS::IAM::") {
			iam = true
			for _, p := range []string{"RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName"} {
				if _, ok := r.Properties[p]; ok {
					named = true
				}
			}
		}
	}
	if _, ok := t.Other["Transform"]; ok {
		need = append(need, "CAPABILITY_AUTO_EXPAND")
	}
	if named {
		need = append(need, "CAPABILITY_NAMED_IAM")
	} else if iam {
		need = append(need, "CAPABILITY_IAM")
	}
	return need
}

func (s *Server) createChangeSet(form url.Values) (any, *APIError) {
	stackName, csName := form.Get("StackName"), form.Get("ChangeSetName")
	if stackName == "" {
		return nil, validation("StackName is a required parameter.")
	}
	if csName == "" {
		return nil, validation("ChangeSetName is a required parameter.")
	}
	typ := form.Get("ChangeSetType")
	if typ == "" {
		typ = "UPDATE"
	}
	body := []byte(form.Get("TemplateBody"))
	switch {
	case len(body) > maxTemplateBody:
		return nil, validation("1 validation error detected: Value '%s' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to %d", body, maxTemplateBody)
	case len(body) == 0 && form.Get("TemplateURL") != "":
		f := s.fetch(form.Get("TemplateURL"))
		if f.err != nil {
			return nil, f.err
		}
		body = f.body
	case len(body) == 0 && form.Get("UsePreviousTemplate") != "true":
		return nil, validation("Either Template URL or Template Body must be specified.")
	}
	var tmpl *cfn.Template
	if len(body) > 0 {
		var apiErr *APIError
		if tmpl, apiErr = parseTemplate(body); apiErr != nil {
			return nil, apiErr
		}
	}

	s.mu.Lock()
	s.settle(time.Now())
	st := s.stacks[stackName]
	if tmpl == nil {
		if st == nil || st.tmpl == nil {
			s.mu.Unlock()
			return nil, validation("Stack [%s] does not exist", stackName)
		}
		body, tmpl = st.body, st.tmpl
	}
	params := map[string]string{}
	for _, m := range members(form, "Parameters") {
		if m["UsePreviousValue"] == "true" && st != nil {
			params[m["ParameterKey"]] = st.params[m["ParameterKey"]]
			continue
		}
		params[m["ParameterKey"]] = m["ParameterValue"]
	}
	s.mu.Unlock()

	for name := range params {
		if _, ok := tmpl.Parameters[name]; !ok {
			return nil, validation("Parameters: [%s] do not exist in the template", name)
		}
	}
	var missing []string
	for name, p := range tmpl.Parameters {
		if _, ok := params[name]; !ok && p.Default == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, validation("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	caps := capabilityList(form)
	for _, need := range requiredCapabilities(tmpl) {
		if !contains(caps, need) && !(need == "CAPABILITY_IAM" && contains(caps, "CAPABILITY_NAMED_IAM")) {
			return nil, &APIError{Status: http.StatusBadRequest, Type: "Sender", Code: "InsufficientCapabilitiesException", Message: fmt.Sprintf("Requires capabilities : [%s]", need)}
		}
	}
	includeNested := form.Get("IncludeNestedStacks") == "true"
	nestedBodies := map[string]fetched{}
	if includeNested {
		vals := tmpl.Effective(params)
		for id, r := range tmpl.Resources {
			if r.Type != "AWS::CloudFormation::Stack" {
				continue
			}
			u, _ := cfn.Resolve(r.Properties["TemplateURL"], vals, nil).(string)
			if u == "" {
				continue
			}
			f := s.fetch(u)
			if f.err != nil {
				return nil, validation("Nested stack %s: %s", id, f.err.Message)
			}
			nestedBodies[id] = f
		}
	}
	tags := map[string]string{}
	for _, m := range members(form, "Tags") {
		tags[m["Key"]] = m["Value"]
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(time.Now())
	st = s.stacks[stackName]
	switch typ {
	case "CREATE":
		if st != nil && st.status != "REVIEW_IN_PROGRESS" {
			return nil, validation("Stack [%s] already exists and cannot be created again with the changeSet [%s].", stackName, csName)
		}
		if st == nil {
			st = s.newStack(stackName)
			st.status = "REVIEW_IN_PROGRESS"
			st.reason = "User Initiated"
			s.addEvent(st, time.Now(), st.name, st.id, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS", "User Initiated")
		}
	case "UPDATE":
		if st == nil || st.status == "REVIEW_IN_PROGRESS" {
			return nil, validation("Stack [%s] does not exist", stackName)
		}
		if isInProgress(st.status) || st.status == "ROLLBACK_COMPLETE" || st.status == "ROLLBACK_FAILED" || st.status == "DELETE_FAILED" || st.status == "UPDATE_ROLLBACK_FAILED" {
			return nil, validation("Stack:%s is in %s state and can not be updated.", st.id, st.status)
		}
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [UPDATE, CREATE, IMPORT]", typ)
	}
	for _, cs := range s.changeSets {
		if cs.stackName == stackName && cs.name == csName && cs.parentID == "" {
			return nil, &APIError{Status: http.StatusBadRequest, Type: "Sender", Code: "AlreadyExistsException", Message: fmt.Sprintf("ChangeSet [%s] already exists", csName)}
		}
	}
	now := time.Now()
	cs := &changeSet{
		id: s.arn("changeSet", csName), name: csName, description: form.Get("Description"),
		stackName: stackName, stackID: st.id, typ: typ,
		status: "CREATE_IN_PROGRESS", execStatus: "UNAVAILABLE",
		created: now, readyAt: now.Add(s.opts.createDelay),
		body: body, tmpl: tmpl, params: params, tags: tags, capabilities: caps,
		includeNested: includeNested, nestedIDs: map[string]string{},
	}
	cs.rootID = cs.id
	if missing := s.missingImport(tmpl, params); missing != "" {
		cs.failReason = fmt.Sprintf("No export named %s found", missing)
	}
	if reason, ok := s.failCS[stackName]; ok {
		cs.failReason = reason
		delete(s.failCS, stackName)
	}
	var oldTmpl *cfn.Template
	var oldParams map[string]string
	if typ == "UPDATE" {
		oldTmpl, oldParams = st.tmpl, st.params
	}
	cs.oldTmpl, cs.oldParams = oldTmpl, oldParams
	cs.changes = cfn.Diff(oldTmpl, oldParams, tmpl, params)
	if includeNested {
		s.nestedChangeSets(cs, st, nestedBodies)
	}
	cs.empty = typ == "UPDATE" && len(cs.changes) == 0 && sameTemplate(oldTmpl, tmpl) &&
		equalMaps(oldTmpl.Effective(oldParams), tmpl.Effective(params)) && equalMaps(st.tags, tags)
	s.changeSets[cs.id] = cs
	return struct {
		ID      string `xml:"Id"`
		StackID string `xml:"StackId"`
	}{cs.id, st.id}, nil
}

func (s *Server) nestedChangeSets(root *changeSet, st *stack, bodies map[string]fetched) {
	vals := root.tmpl.Effective(root.params)
	ids := make([]string, 0, len(bodies))
	for id := range bodies {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		tmpl, apiErr := parseTemplate(bodies[id].body)
		if apiErr != nil {
			root.failReason = fmt.Sprintf("Nested stack %s: %s", id, apiErr.Message)
			continue
		}
		params := map[string]string{}
		if m, ok := root.tmpl.Resources[id].Properties["Parameters"].(map[string]any); ok {
			for k, v := range m {
				params[k] = cfn.Display(cfn.Resolve(v, vals, nil))
			}
		}
		nestedName := st.nested[id]
		var oldTmpl *cfn.Template
		var oldParams map[string]string
		typ := "CREATE"
		if old := s.stacks[nestedName]; old != nil && nestedName != "" {
			oldTmpl, oldParams, typ = old.tmpl, old.params, "UPDATE"
		} else {
			nestedName = fmt.Sprintf("%s-%s-%s", st.name, id, strings.ToUpper(randomID()[:12]))
		}
		child := &changeSet{
			id: s.arn("changeSet", root.name+"-"+id), name: root.name + "-" + id,
			stackName: nestedName, typ: typ, status: "CREATE_IN_PROGRESS", execStatus: "UNAVAILABLE",
			created: root.created, readyAt: root.readyAt, body: bodies[id].body, tmpl: tmpl, params: params,
			includeNested: true, parentID: root.id, rootID: root.id, nestedIDs: map[string]string{},
			oldTmpl: oldTmpl, oldParams: oldParams,
		}
		child.stackID = s.arn("stack", nestedName)
		if old := s.stacks[nestedName]; old != nil {
			child.stackID = old.id
		}
		child.changes = cfn.Diff(oldTmpl, oldParams, tmpl, params)
		s.changeSets[child.id] = child
		root.nestedIDs[id] = child.id
		found := false
		for i := range root.changes {
			if root.changes[i].LogicalID == id {
				found = true
			}
		}
		if !found && len(child.changes) > 0 {
			root.changes = append(root.changes, cfn.Change{Action: "Modify", LogicalID: id, ResourceType: "AWS::CloudFormation::Stack", Replacement: "False", Scope: []string{"Properties"}})
			sort.Slice(root.changes, func(i, j int) bool { return root.changes[i].LogicalID < root.changes[j].LogicalID })
		}
	}
}

func sameTemplate(a, b *cfn.Template) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func capabilityList(form url.Values) []string {
	var out []string
	for i := 1; ; i++ {
		v := form.Get("Capabilities.member." + strconv.Itoa(i))
		if v == "" {
			return out
		}
		out = append(out, v)
	}
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

func (s *Server) describeChangeSet(form url.Values) (any, *APIError) {
	cs, apiErr := s.findChangeSet(form)
	if apiErr != nil {
		return nil, apiErr
	}
	withValues := form.Get("IncludePropertyValues") == "true"
	start := 0
	if tok := form.Get("NextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(cs.changes) {
			return nil, validation("Invalid NextToken")
		}
		start = n
	}
	res := describeChangeSetResult{
		ChangeSetName: cs.name, ChangeSetID: cs.id, StackID: cs.stackID, StackName: cs.stackName,
		Description: cs.description, CreationTime: timestamp(cs.created),
		ExecutionStatus: cs.execStatus, Status: cs.status, StatusReason: cs.reason,
		Capabilities: cs.capabilities, IncludeNestedStacks: cs.includeNested,
	}
	if cs.parentID != "" {
		res.ParentChangeSetID, res.RootChangeSetID = cs.parentID, cs.rootID
	}
	secret := cs.tmpl.NoEcho()
	for _, k := range sortedKeys(cs.params) {
		v := cs.params[k]
		if secret[k] {
			v = cfn.Masked
		}
		res.Parameters = append(res.Parameters, xmlParameter{ParameterKey: k, ParameterValue: v})
	}
	for _, k := range sortedKeys(cs.tags) {
		res.Tags = append(res.Tags, xmlTag{Key: k, Value: cs.tags[k]})
	}
	if cs.status == "CREATE_COMPLETE" {
		end := min(start+s.opts.pageSize, len(cs.changes))
		for _, c := range cs.changes[start:end] {
			res.Changes = append(res.Changes, s.xmlChange(cs, c, withValues))
		}
		if end < len(cs.changes) {
			res.NextToken = strconv.Itoa(end)
		}
	}
	return res, nil
}

func (s *Server) xmlChange(cs *changeSet, c cfn.Change, withValues bool) xmlChange {
	rc := xmlResourceChange{
		Action: c.Action, LogicalResourceID: c.LogicalID, ResourceType: c.ResourceType,
		Replacement: c.Replacement, Scope: c.Scope, ChangeSetID: cs.nestedIDs[c.LogicalID],
	}
	if c.Action != "Add" {
		rc.PhysicalResourceID = physicalID(cs.stackName, c.LogicalID)
	}
	switch {
	case c.Action == "Remove":
		rc.PolicyAction = c.PolicyAction
	case c.Replacement == "True":
		rc.PolicyAction = "ReplaceAndDelete"
	}
	for _, d := range c.Details {
		t := xmlTarget{Attribute: d.Attribute, Name: d.Name, Path: d.Path, RequiresRecreation: d.RequiresRecreation, AttributeChangeType: d.ChangeType}
		if withValues {
			t.BeforeValue, t.AfterValue = d.Before, d.After
		}
		evaluation := "Static"
		rc.Details = append(rc.Details, xmlDetail{Target: t, Evaluation: evaluation, ChangeSource: d.ChangeSource, CausingEntity: d.CausingEntity})
	}
	if withValues {
		if r, ok := cs.tmpl.Resources[c.LogicalID]; ok && c.Action != "Remove" {
			rc.AfterContext = context(r.Properties, cs.tmpl.Effective(cs.params), cs.tmpl.NoEcho())
		}
		if cs.oldTmpl != nil {
			if r, ok := cs.oldTmpl.Resources[c.LogicalID]; ok && c.Action != "Add" {
				rc.BeforeContext = context(r.Properties, cs.oldTmpl.Effective(cs.oldParams), cs.oldTmpl.NoEcho())
			}
		}
	}
	return xmlChange{Type: "Resource", ResourceChange: rc}
}

func context(props map[string]any, vals map[string]string, secret map[string]bool) string {
	b, _ := json.Marshal(map[string]any{"Properties": cfn.Resolve(props, vals, secret)})
	return string(b)
}

func physicalID(stackName, logicalID string) string {
	return fmt.Sprintf("%s-%s", stackName, logicalID)
}

func (s *Server) deleteChangeSet(form url.Values) (any, *APIError) {
	cs, apiErr := s.findChangeSet(form)
	if apiErr != nil {
		return nil, apiErr
	}
	if cs.execStatus == "EXECUTE_IN_PROGRESS" {
		return nil, &APIError{Status: http.StatusBadRequest, Type: "Sender", Code: "InvalidChangeSetStatus",
			Message: fmt.Sprintf("Cannot delete ChangeSet in status %s", cs.execStatus)}
	}
	s.removeChangeSet(cs)
	return struct{}{}, nil
}

func (s *Server) removeChangeSet(cs *changeSet) {
	delete(s.changeSets, cs.id)
	for _, child := range cs.nestedIDs {
		if c := s.changeSets[child]; c != nil {
			s.removeChangeSet(c)
		}
	}
}

func (s *Server) listChangeSets(form url.Values) (any, *APIError) {
	st := s.findStack(form.Get("StackName"))
	if st == nil {
		return nil, validation("Stack [%s] does not exist", form.Get("StackName"))
	}
	var list []*changeSet
	for _, cs := range s.changeSets {
		if cs.stackName == st.name && cs.parentID == "" {
			list = append(list, cs)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].created.Before(list[j].created) })
	var out struct {
		Summaries []xmlChangeSetSummary `xml:"Summaries>member"`
	}
	for _, cs := range list {
		out.Summaries = append(out.Summaries, xmlChangeSetSummary{StackID: cs.stackID, StackName: cs.stackName,
			ChangeSetID: cs.id, ChangeSetName: cs.name, ExecutionStatus: cs.execStatus, Status: cs.status,
			StatusReason: cs.reason, CreationTime: timestamp(cs.created)})
	}
	return out, nil
}

func (s *Server) describeStacks(form url.Values) (any, *APIError) {
	var list []*stack
	if name := form.Get("StackName"); name != "" {
		st := s.findStack(name)
		if st == nil {
			return nil, validation("Stack with id %s does not exist", name)
		}
		list = append(list, st)
	} else {
		for _, st := range s.stacks {
			list = append(list, st)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	}
	var out struct {
		Stacks []xmlStack `xml:"Stacks>member"`
	}
	for _, st := range list {
		x := xmlStack{StackID: st.id, StackName: st.name, CreationTime: timestamp(st.created),
			StackStatus: st.status, StackStatusReason: st.reason, ParentID: st.parentID}
		if !st.updated.IsZero() {
			x.LastUpdatedTime = timestamp(st.updated)
		}
		secret := st.tmpl.NoEcho()
		for _, k := range sortedKeys(st.params) {
			v := st.params[k]
			if secret[k] {
				v = cfn.Masked
			}
			x.Parameters = append(x.Parameters, xmlParameter{ParameterKey: k, ParameterValue: v})
		}
		for _, k := range sortedKeys(st.tags) {
			x.Tags = append(x.Tags, xmlTag{Key: k, Value: st.tags[k]})
		}
		x.Outputs = s.outputs(st)
		out.Stacks = append(out.Stacks, x)
	}
	return out, nil
}

// describeStackResource reports one resource of a stack; a nested stack's
// physical ID is its stack ARN, as in CloudFormation.
func (s *Server) describeStackResource(form url.Values) (any, *APIError) {
	name, logicalID := form.Get("StackName"), form.Get("LogicalResourceId")
	st := s.findStack(name)
	if st == nil {
		return nil, validation("Stack '%s' does not exist", name)
	}
	res, ok := st.tmpl.Active(st.params)[logicalID]
	if !ok || st.status == "REVIEW_IN_PROGRESS" {
		return nil, validation("Resource %s does not exist for stack %s", logicalID, st.id)
	}
	physical := physicalID(st.name, logicalID)
	if child := s.findStack(st.nested[logicalID]); child != nil {
		physical = child.id
	}
	status := "CREATE_COMPLETE"
	if !st.updated.IsZero() {
		status = "UPDATE_COMPLETE"
	}
	var out struct {
		Detail struct {
			StackID            string `xml:"StackId"`
			StackName          string `xml:"StackName"`
			LogicalResourceID  string `xml:"LogicalResourceId"`
			PhysicalResourceID string `xml:"PhysicalResourceId"`
			ResourceType       string `xml:"ResourceType"`
			ResourceStatus     string `xml:"ResourceStatus"`
			LastUpdated        string `xml:"LastUpdatedTimestamp"`
		} `xml:"StackResourceDetail"`
	}
	d := &out.Detail
	d.StackID, d.StackName, d.LogicalResourceID, d.PhysicalResourceID = st.id, st.name, logicalID, physical
	d.ResourceType, d.ResourceStatus, d.LastUpdated = res.Type, status, timestamp(cmp.Or(st.updated, st.created))
	return out, nil
}

func (s *Server) describeStackEvents(form url.Values) (any, *APIError) {
	name := form.Get("StackName")
	st := s.findStack(name)
	if st == nil {
		return nil, validation("Stack [%s] does not exist", name)
	}
	now := time.Now()
	var visible []xmlEvent
	for i := len(st.events) - 1; i >= 0; i-- {
		if !st.events[i].at.After(now) {
			visible = append(visible, st.events[i].ev)
		}
	}
	start := 0
	if tok := form.Get("NextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(visible) {
			return nil, validation("Invalid NextToken")
		}
		start = n
	}
	end := min(start+s.opts.pageSize, len(visible))
	var out struct {
		StackEvents []xmlEvent `xml:"StackEvents>member"`
		NextToken   string     `xml:"NextToken,omitempty"`
	}
	out.StackEvents = visible[start:end]
	if end < len(visible) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}

func (s *Server) getTemplate(form url.Values) (any, *APIError) {
	var body []byte
	if form.Get("ChangeSetName") != "" {
		cs, apiErr := s.findChangeSet(form)
		if apiErr != nil {
			return nil, apiErr
		}
		body = cs.body
	} else {
		name := form.Get("StackName")
		st := s.findStack(name)
		if st == nil {
			return nil, validation("Stack with id %s does not exist", name)
		}
		body = st.body
	}
	return struct {
		TemplateBody    string   `xml:"TemplateBody"`
		StagesAvailable []string `xml:"StagesAvailable>member"`
	}{string(body), []string{"Original", "Processed"}}, nil
}

func (s *Server) addEvent(st *stack, at time.Time, logicalID, physicalID, resourceType, status, reason string) {
	st.events = append(st.events, scheduled{at: at, ev: xmlEvent{
		StackID: st.id, EventID: randomID(), StackName: st.name, LogicalResourceID: logicalID,
		PhysicalResourceID: physicalID, ResourceType: resourceType, Timestamp: timestamp(at),
		ResourceStatus: status, ResourceStatusReason: reason,
	}})
}

func (s *Server) deleteStack(form url.Values) (any, *APIError) {
	st := s.findStack(form.Get("StackName"))
	if st == nil {
		return struct{}{}, nil // deleting a missing stack succeeds
	}
	if st.status == "DELETE_IN_PROGRESS" {
		return struct{}{}, nil
	}
	now := time.Now()
	s.addEvent(st, now, st.name, st.id, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS", "User Initiated")
	st.status = "DELETE_IN_PROGRESS"
	done := now.Add(s.opts.execDelay)
	if st.tmpl == nil {
		done = now
	}
	s.addEvent(st, done, st.name, st.id, "AWS::CloudFormation::Stack", "DELETE_COMPLETE", "")
	st.pending = &pending{at: done, apply: func() {
		delete(s.stacks, st.name)
		for _, cs := range s.changeSets {
			if cs.stackName == st.name {
				delete(s.changeSets, cs.id)
			}
		}
	}}
	return struct{}{}, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// outputs evaluates the template's Outputs the simple way: parameters are
// substituted, a Ref to a resource gives its physical ID and a GetAtt
// gives "<physical ID>.<attribute>". As in AWS, each output carries its
// Description and ExportName when declared, and a NoEcho parameter's value
// is returned in clear (AWS masks NoEcho parameters, not outputs).
var subAttr = regexp.MustCompile(`\$\{([A-Za-z0-9]+)\.([A-Za-z0-9.]+)\}`)

func (s *Server) outputs(st *stack) []xmlOutput {
	if st.tmpl == nil || !strings.HasSuffix(st.status, "_COMPLETE") {
		return nil
	}
	decls, _ := st.tmpl.Other["Outputs"].(map[string]any)
	vals := s.pseudo(st.name, st.tmpl.Effective(st.params))
	for id := range st.tmpl.Resources {
		if _, isParam := vals[id]; !isParam {
			vals[id] = physicalID(st.name, id)
		}
	}
	var out []xmlOutput
	for _, key := range sortedAnyKeys(decls) {
		decl, _ := decls[key].(map[string]any)
		// ${Resource.Attribute} in a Sub takes the same stand-in value as
		// a GetAtt of it.
		for _, m := range subAttr.FindAllStringSubmatch(cfn.Display(decl["Value"]), -1) {
			if _, isResource := st.tmpl.Resources[m[1]]; isResource {
				vals[m[1]+"."+m[2]] = physicalID(st.name, m[1]) + "." + m[2]
			}
		}
		v := cfn.Resolve(decl["Value"], vals, nil)
		if m, ok := v.(map[string]any); ok {
			if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
				v = physicalID(st.name, cfn.Display(ga[0])) + "." + cfn.Display(ga[1])
			}
		}
		o := xmlOutput{OutputKey: key, OutputValue: cfn.Display(v)}
		o.Description, _ = decl["Description"].(string)
		if export, ok := decl["Export"].(map[string]any); ok {
			o.ExportName, _ = cfn.Resolve(export["Name"], vals, nil).(string)
		}
		out = append(out, o)
	}
	return out
}

// pseudo adds CloudFormation's pseudo parameters to a stack's values, so
// `!Sub ${AWS::StackName}-X` export names resolve as they do in AWS.
func (s *Server) pseudo(stackName string, vals map[string]string) map[string]string {
	vals["AWS::Region"] = s.opts.region
	vals["AWS::AccountId"] = s.opts.account
	vals["AWS::Partition"] = "aws"
	vals["AWS::URLSuffix"] = "amazonaws.com"
	if stackName != "" {
		vals["AWS::StackName"] = stackName
	}
	return vals
}

func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// exports returns the exported output values of every settled stack.
func (s *Server) exports() map[string]string {
	out := map[string]string{}
	for _, st := range s.stacks {
		if strings.Contains(st.status, "ROLLBACK") {
			continue
		}
		for _, o := range s.outputs(st) {
			if o.ExportName != "" {
				out[o.ExportName] = o.OutputValue
			}
		}
	}
	return out
}

// missingImport returns the first Fn::ImportValue name no stack exports.
func (s *Server) missingImport(t *cfn.Template, params map[string]string) string {
	exports := s.exports()
	vals := s.pseudo("", t.Effective(params))
	missing := ""
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if imp, ok := x["Fn::ImportValue"]; ok && len(x) == 1 {
				if name, ok := cfn.Resolve(imp, vals, nil).(string); ok {
					if _, found := exports[name]; !found && missing == "" {
						missing = name
					}
				}
			}
			for _, k := range sortedAnyKeys(x) {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, id := range sortedAnyKeys(resourcesAsAny(t)) {
		walk(t.Resources[id].Properties)
	}
	return missing
}

func resourcesAsAny(t *cfn.Template) map[string]any {
	out := make(map[string]any, len(t.Resources))
	for id := range t.Resources {
		out[id] = nil
	}
	return out
}
