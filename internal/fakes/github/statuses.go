package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is a commit status as the API returns it. A status is never
// changed: a new one with the same context supersedes it.
type Status struct {
	ID          int64     `json:"id"`
	NodeID      string    `json:"node_id"`
	URL         string    `json:"url"`
	State       string    `json:"state"`
	Description string    `json:"description"`
	TargetURL   string    `json:"target_url"`
	Context     string    `json:"context"`
	Creator     User      `json:"creator"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Statuses returns the statuses of a commit, oldest first.
func (s *Server) Statuses(repo, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Status
	for _, st := range s.statuses[repo+"@"+sha] {
		out = append(out, *st)
	}
	return out
}

// SetBranch points branch at commit sha, as a push does.
func (s *Server) SetBranch(repo, branch, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.branches[repo+":"+branch] = sha
}

// createStatus is POST /repos/{owner}/{repo}/statuses/{sha}: it needs a
// full commit SHA, a known state and a description of at most 140
// characters; the creator is the token's identity.
func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	const docs = "https://docs.github.com/rest/commits/statuses#create-a-commit-status"
	owner, repo, sha := r.PathValue("owner"), r.PathValue("repo"), r.PathValue("sha")
	var in struct {
		State       string  `json:"state"`
		Description *string `json:"description"`
		TargetURL   *string `json:"target_url"`
		Context     *string `json:"context"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if !fullSHA.MatchString(sha) {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+sha)
		return
	}
	if !slices.Contains([]string{"error", "failure", "pending", "success"}, in.State) {
		writeInvalid(w, "Status", docs, "invalid", "state", "state is not included in the list")
		return
	}
	st := &Status{State: in.State, Context: "default"}
	if in.Description != nil {
		if utf8.RuneCountInString(*in.Description) > 140 {
			writeInvalid(w, "Status", docs, "custom", "description", "description is too long (maximum is 140 characters)")
			return
		}
		st.Description = *in.Description
	}
	if in.TargetURL != nil {
		st.TargetURL = *in.TargetURL
	}
	if in.Context != nil && strings.TrimSpace(*in.Context) != "" {
		st.Context = *in.Context
	}
	s.mu.Lock()
	s.nextID++
	st.ID = s.nextID
	st.NodeID = fmt.Sprintf("SC_%d", st.ID)
	st.URL = fmt.Sprintf("%s/repos/%s/%s/statuses/%s", s.URL(), owner, repo, sha)
	st.Creator = identityOf(r).user()
	st.CreatedAt = s.now().UTC().Truncate(time.Second)
	st.UpdatedAt = st.CreatedAt
	key := owner + "/" + repo + "@" + sha
	s.statuses[key] = append(s.statuses[key], st)
	out := *st
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// listStatuses is GET /repos/{owner}/{repo}/commits/{ref}/statuses: newest
// first, paginated. A branch name stands for its head commit.
func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	owner, repo, ref := r.PathValue("owner"), r.PathValue("repo"), r.PathValue("ref")
	s.mu.Lock()
	if sha, ok := s.branches[owner+"/"+repo+":"+ref]; ok {
		ref = sha
	}
	all := s.statuses[owner+"/"+repo+"@"+ref]
	newest := make([]Status, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		newest = append(newest, *all[i])
	}
	start, end := s.paginate(w, r, len(newest))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, newest[start:end])
}

// getBranch is GET /repos/{owner}/{repo}/branches/{branch}.
func (s *Server) getBranch(w http.ResponseWriter, r *http.Request) {
	owner, repo, branch := r.PathValue("owner"), r.PathValue("repo"), r.PathValue("branch")
	s.mu.Lock()
	sha, ok := s.branches[owner+"/"+repo+":"+branch]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Branch not found")
		return
	}
	api := fmt.Sprintf("%s/repos/%s/%s", s.URL(), owner, repo)
	writeJSON(w, http.StatusOK, map[string]any{
		"name":      branch,
		"commit":    map[string]any{"sha": sha, "url": api + "/commits/" + sha},
		"protected": true,
		"_links":    map[string]string{"self": api + "/branches/" + branch, "html": fmt.Sprintf("https://github.com/%s/%s/tree/%s", owner, repo, branch)},
	})
}
