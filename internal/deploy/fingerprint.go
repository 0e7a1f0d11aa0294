package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"path"
	"slices"
	"sort"
	"strings"
)

// Record is what a reviewer approves for one environment: for each of its
// stacks, digests of the inputs (template, parameters, tags, assets,
// images) and the effect CloudFormation computed (each resource change's
// action, logical ID, type, replacement and changed property paths; no
// physical IDs, values or timestamps). Its Fingerprint is what a deploy
// must match; the record itself lets a refused deploy name what differs.
type Record struct {
	Env    string        `json:"environment"`
	Stacks []StackRecord `json:"stacks"`
}

// StackRecord is one stack of a Record.
type StackRecord struct {
	Stack string `json:"stack"`
	// Digests (sha256, hex) of the inputs.
	Template   string `json:"template"`
	Parameters string `json:"parameters"`
	Tags       string `json:"tags"`
	Assets     string `json:"assets"`
	Images     string `json:"images"`
	// Files digests a Static Site's files (keys, content types, content).
	Files string `json:"files,omitempty"`
	// Objects digests the files uploaded on deploy (env files, addon
	// artifacts), when any.
	Objects string `json:"objects,omitempty"`
	// Deferred: its change set could only be made after a dependency
	// deploys (an import of an export the same run creates), so its effect
	// is known only then.
	Deferred bool `json:"deferred,omitempty"`
	// Failed: it could not be planned.
	Failed  bool           `json:"failed,omitempty"`
	Changes []ChangeRecord `json:"changes,omitempty"`
}

// ChangeRecord is one resource change, normalized.
type ChangeRecord struct {
	Action      Action      `json:"action"`
	Resource    string      `json:"resource"` // logical ID, under its nested stack's path
	Type        string      `json:"type"`
	Replacement Replacement `json:"replacement,omitempty"`
	Paths       []string    `json:"paths,omitempty"` // changed properties, sorted
}

// Fingerprint hashes the record's stacks. It does not depend on the order
// of stacks, parameters, images or changes.
func (r Record) Fingerprint() string { return fingerprint(r.Stacks) }

func fingerprint(stacks []StackRecord) string {
	sorted := slices.Clone(stacks)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Stack < sorted[j].Stack })
	h := sha256.New()
	for _, s := range sorted {
		field(h, "stack", s.Stack, s.Template, s.Parameters, s.Tags, s.Assets, s.Images, fmt.Sprint(s.Deferred, s.Failed))
		if s.Files != "" {
			field(h, "files", s.Files)
		}
		if s.Objects != "" {
			field(h, "objects", s.Objects)
		}
		changes := slices.Clone(s.Changes)
		sort.Slice(changes, func(i, j int) bool { return changes[i].key() < changes[j].key() })
		for _, c := range changes {
			field(h, append([]string{"change", string(c.Action), c.Resource, c.Type, string(c.Replacement)}, c.Paths...)...)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func (c ChangeRecord) key() string { return c.Resource + "\x00" + string(c.Action) }

// beyondPreview names each change of a deferred stack's final change set
// that its preview (what the gate, and the pull request, saw) did not
// show: a resource changed another way, or replaced where the preview
// said it is not.
func beyondPreview(preview, final []ResourceChange) []string {
	shown := map[string]ResourceChange{}
	for _, c := range preview {
		shown[c.NestedStack+"/"+c.LogicalID+"\x00"+string(c.Action)] = c
	}
	var out []string
	for _, c := range final {
		if c.Action == ActionDynamic {
			continue // re-evaluated values of an unchanged resource
		}
		p, ok := shown[c.NestedStack+"/"+c.LogicalID+"\x00"+string(c.Action)]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s (%s): %s", path.Join(c.NestedStack, c.LogicalID), c.ResourceType, c.Action))
		case c.Replacement == ReplacementTrue && p.Replacement != ReplacementTrue && p.Replacement != ReplacementConditional:
			out = append(out, fmt.Sprintf("%s (%s): replaced", path.Join(c.NestedStack, c.LogicalID), c.ResourceType))
		}
	}
	return out
}

// inputsOf returns the input digests of a stack.
func inputsOf(s Stack) StackRecord {
	images := make([]string, 0, len(s.Images))
	for _, img := range s.Images {
		images = append(images, img.Workload+"\x00"+img.Repository+"\x00"+img.Tag+"\x00"+img.Digest)
	}
	sort.Strings(images)
	files := ""
	if s.Site != nil {
		list := make([]string, 0, len(s.Site.Files))
		for _, f := range s.Site.Files {
			list = append(list, f.Key+"\x00"+f.ContentType+"\x00"+f.SHA256)
		}
		sort.Strings(list)
		files = listDigest(list)
	}
	var objects string
	if len(s.Objects) > 0 {
		objects = mapDigest(s.Objects, digest)
	}
	return StackRecord{
		Files:      files,
		Stack:      s.Name,
		Objects:    objects,
		Template:   digest(s.Template),
		Parameters: mapDigest(s.Parameters, func(v string) string { return v }),
		Tags:       mapDigest(s.Tags, func(v string) string { return v }),
		Assets:     mapDigest(s.Assets, digest),
		Images:     listDigest(images),
	}
}

func mapDigest[V any](m map[string]V, value func(V) string) string {
	h := sha256.New()
	for _, k := range sortedKeys(m) {
		field(h, k, value(m[k]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func listDigest(items []string) string {
	h := sha256.New()
	field(h, items...)
	return hex.EncodeToString(h.Sum(nil))
}

// record builds stack s's record from its plan.
func record(s Stack, sp StackPlan, deferred bool) StackRecord {
	r := inputsOf(s)
	r.Deferred, r.Failed = deferred, sp.Error != "" && !deferred
	// A deferred stack's changes are its preview from the live template:
	// what the pull request showed, so drift of its live stack between
	// review and merge changes the fingerprint too.
	if sp.Error != "" || sp.NoChanges {
		return r
	}
	for _, c := range sp.Changes {
		rc := ChangeRecord{Action: c.Action, Resource: c.LogicalID, Type: c.ResourceType, Replacement: c.Replacement}
		if c.NestedStack != "" {
			rc.Resource = c.NestedStack + "/" + c.LogicalID
		}
		for _, d := range c.Details {
			if !slices.Contains(rc.Paths, d.Path) {
				rc.Paths = append(rc.Paths, d.Path)
			}
		}
		sort.Strings(rc.Paths)
		r.Changes = append(r.Changes, rc)
	}
	return r
}

// seal fills the plan's records, one per environment in the order they
// appear, and its fingerprint over every stack. stacks are in the plan's
// order; deferred marks the stacks planned only after a dependency.
func seal(p *Plan, stacks []Stack, deferred []bool) {
	var all []StackRecord
	index := map[string]int{}
	p.Records = nil
	for i, sp := range p.Stacks {
		r := record(stacks[i], sp, deferred != nil && deferred[i])
		all = append(all, r)
		j, ok := index[sp.Env]
		if !ok {
			j = len(p.Records)
			index[sp.Env] = j
			p.Records = append(p.Records, Record{Env: sp.Env})
		}
		p.Records[j].Stacks = append(p.Records[j].Stacks, r)
	}
	p.Fingerprint = fingerprint(all)
}

// Record returns the plan's record of environment env.
func (p *Plan) Record(env string) (Record, bool) {
	for _, r := range p.Records {
		if r.Env == env {
			return r, true
		}
	}
	return Record{}, false
}

// Reviewed is what was reviewed for one environment: the fingerprint,
// from a place only autopilot writes, and the record it hashes, when one
// was found; a record that does not hash to Fingerprint is not used.
type Reviewed struct {
	Fingerprint string
	Record      *Record
	// Where says where the plan was reviewed ("pull request #7"), for
	// messages.
	Where string
}

// checkReviewed compares each environment of the plan with its reviewed
// plan and says, for each that differs, which stacks and resources do.
func checkReviewed(p *Plan, reviewed map[string]Reviewed) error {
	var problems []string
	for _, rec := range p.Records {
		rv, ok := reviewed[rec.Env]
		if !ok {
			envs := sortedKeys(reviewed)
			problems = append(problems, fmt.Sprintf("environment %s was not in the reviewed plan (it covered %s): deploy the environments that were planned, or plan %s too",
				rec.Env, strings.Join(envs, ", "), rec.Env))
			continue
		}
		fp := rec.Fingerprint()
		if fp == rv.Fingerprint {
			continue
		}
		msg := fmt.Sprintf("environment %s differs from the plan reviewed on %s (reviewed %s, now %s)", rec.Env, rv.Where, rv.Fingerprint, fp)
		if rv.Record == nil || rv.Record.Fingerprint() != rv.Fingerprint {
			problems = append(problems, msg+"; the reviewed record is not available to say where")
			continue
		}
		problems = append(problems, msg+":\n  - "+strings.Join(diffRecords(*rv.Record, rec), "\n  - "))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s\nNothing was executed: plan the change again on a pull request and review it", ErrFingerprintMismatch, strings.Join(problems, "\n"))
}

// diffRecords says what differs between the reviewed record and the new
// one, stack by stack and resource by resource.
func diffRecords(reviewed, now Record) []string {
	var out []string
	old := map[string]StackRecord{}
	for _, s := range reviewed.Stacks {
		old[s.Stack] = s
	}
	seen := map[string]bool{}
	for _, s := range now.Stacks {
		seen[s.Stack] = true
		r, ok := old[s.Stack]
		if !ok {
			out = append(out, fmt.Sprintf("stack %s is deployed now but was not in the reviewed plan: the selection (environments, services) differs", s.Stack))
			continue
		}
		out = append(out, diffStack(r, s)...)
	}
	for _, s := range reviewed.Stacks {
		if !seen[s.Stack] {
			out = append(out, fmt.Sprintf("stack %s was in the reviewed plan but is not deployed now: the selection (environments, services) differs", s.Stack))
		}
	}
	if len(out) == 0 {
		out = append(out, "the records hash differently but no stack differs")
	}
	if len(out) > maxDiffLines {
		out = append(out[:maxDiffLines], fmt.Sprintf("and %d more differences", len(out)-maxDiffLines))
	}
	return out
}

// maxDiffLines bounds what a refused deploy lists per environment.
const maxDiffLines = 20

func diffStack(r, s StackRecord) []string {
	var out []string
	for _, in := range []struct{ what, a, b string }{
		{"template", r.Template, s.Template}, {"parameters", r.Parameters, s.Parameters}, {"tags", r.Tags, s.Tags},
		{"assets (addons)", r.Assets, s.Assets}, {"images", r.Images, s.Images}, {"uploaded files (env files, addon artifacts)", r.Objects, s.Objects},
		{"site files", r.Files, s.Files},
	} {
		if in.a != in.b {
			out = append(out, fmt.Sprintf("stack %s: its %s changed after review", s.Stack, in.what))
		}
	}
	if r.Deferred != s.Deferred || r.Failed != s.Failed {
		out = append(out, fmt.Sprintf("stack %s: %s at review, %s now", s.Stack, stackState(r), stackState(s)))
		return out
	}
	const changed = "the live stack changed since review (another deploy, or drift)"
	if len(r.Changes) > 0 && len(s.Changes) == 0 {
		return append(out, fmt.Sprintf("stack %s: reviewed %d resource changes, now none: %s", s.Stack, len(r.Changes), changed))
	}
	before, after := map[string]ChangeRecord{}, map[string]ChangeRecord{}
	for _, c := range r.Changes {
		before[c.Resource] = c
	}
	for _, c := range s.Changes {
		after[c.Resource] = c
	}
	for _, id := range sortedKeys(mergeKeys(before, after)) {
		b, inB := before[id]
		a, inA := after[id]
		switch {
		case !inA:
			out = append(out, fmt.Sprintf("stack %s: resource %s (%s): reviewed %s, now no change: %s", s.Stack, id, b.Type, b.describe(), changed))
		case !inB:
			out = append(out, fmt.Sprintf("stack %s: resource %s (%s): not changed in the reviewed plan, now %s: %s", s.Stack, id, a.Type, a.describe(), changed))
		case b.describe() != a.describe() || b.Type != a.Type:
			out = append(out, fmt.Sprintf("stack %s: resource %s (%s): reviewed %s, now %s: %s", s.Stack, id, a.Type, b.describe(), a.describe(), changed))
		}
	}
	return out
}

func stackState(s StackRecord) string {
	switch {
	case s.Failed:
		return "not plannable"
	case s.Deferred:
		return "planned after its dependencies"
	}
	return "planned"
}

func (c ChangeRecord) describe() string {
	s := string(c.Action)
	if c.Replacement != "" && c.Replacement != ReplacementFalse {
		s += " (replacement " + string(c.Replacement) + ")"
	}
	if len(c.Paths) > 0 {
		s += " of " + strings.Join(c.Paths, ", ")
	}
	return s
}

func mergeKeys[V any](a, b map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// field writes length-prefixed parts so that no two inputs hash alike by
// shifting bytes between parts.
func field(h hash.Hash, parts ...string) {
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	h.Write([]byte{'\n'})
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
