package github

import (
	"fmt"
	"strconv"
	"strings"
)

// Env is the part of the Actions environment autopilot reads.
type Env struct {
	Actions     bool   // GITHUB_ACTIONS=true: running in GitHub Actions
	APIURL      string // GITHUB_API_URL, e.g. https://ghe.example.com/api/v3 on GitHub Enterprise Server
	ServerURL   string // GITHUB_SERVER_URL
	EventName   string // GITHUB_EVENT_NAME
	EventPath   string // GITHUB_EVENT_PATH
	Repository  string // GITHUB_REPOSITORY, owner/name
	SHA         string // GITHUB_SHA
	RunID       string // GITHUB_RUN_ID
	Ref         string // GITHUB_REF, e.g. refs/heads/main or refs/pull/2/merge
	BaseRef     string // GITHUB_BASE_REF, set on pull_request events
	HeadRef     string // GITHUB_HEAD_REF, set on pull_request events
	OutputPath  string // GITHUB_OUTPUT
	SummaryPath string // GITHUB_STEP_SUMMARY
}

// ReadEnv reads the Actions environment through getenv (os.Getenv outside
// tests), filling GitHub.com's URLs where the runner left them unset.
func ReadEnv(getenv func(string) string) Env {
	e := Env{
		APIURL:      strings.TrimRight(getenv("GITHUB_API_URL"), "/"),
		ServerURL:   strings.TrimRight(getenv("GITHUB_SERVER_URL"), "/"),
		EventName:   getenv("GITHUB_EVENT_NAME"),
		EventPath:   getenv("GITHUB_EVENT_PATH"),
		Repository:  getenv("GITHUB_REPOSITORY"),
		SHA:         getenv("GITHUB_SHA"),
		RunID:       getenv("GITHUB_RUN_ID"),
		Ref:         getenv("GITHUB_REF"),
		BaseRef:     getenv("GITHUB_BASE_REF"),
		HeadRef:     getenv("GITHUB_HEAD_REF"),
		OutputPath:  getenv("GITHUB_OUTPUT"),
		SummaryPath: getenv("GITHUB_STEP_SUMMARY"),
	}
	e.Actions, _ = strconv.ParseBool(getenv("GITHUB_ACTIONS"))
	if e.APIURL == "" {
		e.APIURL = "https://api.github.com"
	}
	if e.ServerURL == "" {
		e.ServerURL = "https://github.com"
	}
	return e
}

// OwnerRepo splits GITHUB_REPOSITORY.
func (e Env) OwnerRepo() (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(e.Repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return "", "", fmt.Errorf("GITHUB_REPOSITORY is %q, want owner/name: run inside GitHub Actions or set it", e.Repository)
	}
	return owner, repo, nil
}

// RunURL links to the workflow run, whose page shows the job summary; empty
// when the run is unknown.
func (e Env) RunURL() string {
	if e.Repository == "" || e.RunID == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/actions/runs/%s", e.ServerURL, e.Repository, e.RunID)
}

// CommitURL links to a commit of the repository.
func (e Env) CommitURL(sha string) string {
	if e.Repository == "" || sha == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/commit/%s", e.ServerURL, e.Repository, sha)
}
