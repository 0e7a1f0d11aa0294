package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Event is the event that started the workflow run. Exactly one of
// PullRequest, Push and Dispatch is set for the events autopilot acts on;
// other events leave all three nil.
type Event struct {
	Name       string // GITHUB_EVENT_NAME
	Repository string // full name of the repository the workflow runs in
	// DefaultBranch is the repository's default branch, the one deploys
	// run from.
	DefaultBranch string
	PullRequest   *PullRequestEvent
	Push          *PushEvent
	Dispatch      *DispatchEvent
}

// PullRequestEvent is a pull_request or pull_request_target event.
type PullRequestEvent struct {
	Action   string // opened, synchronize, reopened, closed, ...
	Number   int
	HeadSHA  string
	HeadRef  string
	BaseRef  string
	HeadRepo string // full name; empty when the fork was deleted
	BaseRepo string
	Merged   bool
}

// Fork reports whether the pull request comes from another repository.
// Such runs get no secrets and a read-only token, so they lint only.
func (p *PullRequestEvent) Fork() bool {
	return p.HeadRepo == "" || !strings.EqualFold(p.HeadRepo, p.BaseRepo)
}

// PushEvent is a push event.
type PushEvent struct {
	Ref           string // refs/heads/main or refs/tags/v1
	Before, After string
	DefaultBranch string
	Created       bool
	Deleted       bool
}

// Branch is the pushed branch, empty for a tag push.
func (p *PushEvent) Branch() string {
	b, _ := strings.CutPrefix(p.Ref, "refs/heads/")
	if b == p.Ref {
		return ""
	}
	return b
}

// Tag is the pushed tag, empty for a branch push.
func (p *PushEvent) Tag() string {
	t, ok := strings.CutPrefix(p.Ref, "refs/tags/")
	if !ok {
		return ""
	}
	return t
}

// ToDefaultBranch reports whether this push put new commits on the
// repository's default branch, the push that deploys. Deleting a branch or
// pushing a tag never is.
func (p *PushEvent) ToDefaultBranch() bool {
	return !p.Deleted && p.Branch() != "" && p.Branch() == p.DefaultBranch
}

// DispatchEvent is a workflow_dispatch event.
type DispatchEvent struct {
	Ref    string
	Inputs map[string]string // booleans and numbers as the workflow wrote them
}

// maxEventSize bounds the payload read; GitHub's are far below it.
const maxEventSize = 25 << 20

// LoadEvent reads the event named by GITHUB_EVENT_NAME from GITHUB_EVENT_PATH.
func LoadEvent(env Env) (*Event, error) {
	if env.EventName == "" {
		return nil, errors.New("GITHUB_EVENT_NAME is not set: run inside GitHub Actions or set GITHUB_EVENT_NAME and GITHUB_EVENT_PATH")
	}
	if env.EventPath == "" {
		return nil, fmt.Errorf("GITHUB_EVENT_PATH is not set for the %s event", env.EventName)
	}
	f, err := os.Open(env.EventPath)
	if err != nil {
		return nil, fmt.Errorf("read %s event: %w", env.EventName, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxEventSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s event from %s: %w", env.EventName, env.EventPath, err)
	}
	if len(data) > maxEventSize {
		return nil, fmt.Errorf("event payload %s is over %d bytes", env.EventPath, maxEventSize)
	}
	return ParseEvent(env.EventName, data)
}

// payload is the subset of GitHub's webhook payloads autopilot reads.
type payload struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest *struct {
		Number int  `json:"number"`
		Merged bool `json:"merged"`
		Head   struct {
			SHA  string `json:"sha"`
			Ref  string `json:"ref"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"head"`
		Base struct {
			Ref  string `json:"ref"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
	Ref        string                     `json:"ref"`
	Before     string                     `json:"before"`
	After      string                     `json:"after"`
	Created    bool                       `json:"created"`
	Deleted    bool                       `json:"deleted"`
	Inputs     map[string]json.RawMessage `json:"inputs"`
	Repository *struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

// ParseEvent parses a webhook payload of the named event.
func ParseEvent(name string, data []byte) (*Event, error) {
	var p payload
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parse %s event: %w", name, err)
	}
	ev := &Event{Name: name}
	if p.Repository != nil {
		ev.Repository, ev.DefaultBranch = p.Repository.FullName, p.Repository.DefaultBranch
	}
	switch name {
	case "pull_request", "pull_request_target":
		if p.PullRequest == nil {
			return nil, fmt.Errorf("parse %s event: no pull_request object in the payload", name)
		}
		pr := &PullRequestEvent{
			Action:  p.Action,
			Number:  p.PullRequest.Number,
			HeadSHA: p.PullRequest.Head.SHA,
			HeadRef: p.PullRequest.Head.Ref,
			BaseRef: p.PullRequest.Base.Ref,
			Merged:  p.PullRequest.Merged,
		}
		if pr.Number == 0 {
			pr.Number = p.Number
		}
		if r := p.PullRequest.Head.Repo; r != nil {
			pr.HeadRepo = r.FullName
		}
		if r := p.PullRequest.Base.Repo; r != nil {
			pr.BaseRepo = r.FullName
		}
		if pr.Number <= 0 {
			return nil, fmt.Errorf("parse %s event: the pull request has no number", name)
		}
		ev.PullRequest = pr
	case "push":
		push := &PushEvent{Ref: p.Ref, Before: p.Before, After: p.After, Created: p.Created, Deleted: p.Deleted}
		if p.Repository != nil {
			push.DefaultBranch = p.Repository.DefaultBranch
		}
		if push.Ref == "" {
			return nil, errors.New("parse push event: no ref in the payload")
		}
		ev.Push = push
	case "workflow_dispatch":
		d := &DispatchEvent{Ref: p.Ref, Inputs: map[string]string{}}
		for k, raw := range p.Inputs {
			d.Inputs[k] = inputString(raw)
		}
		ev.Dispatch = d
	}
	return ev, nil
}

// inputString turns a dispatch input into the string a workflow sees:
// strings as they are, booleans and numbers as written.
func inputString(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return strconv.FormatBool(b)
	}
	return strings.TrimSpace(string(raw))
}
