package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Label is a repository label, as the REST API shows it.
type Label struct {
	ID          int64  `json:"id"`
	NodeID      string `json:"node_id"`
	URL         string `json:"url"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Default     bool   `json:"default"`
	Description string `json:"description"`
}

// defaultLabelColor is the grey GitHub gives a label created without one.
const defaultLabelColor = "ededed"

var labelColor = regexp.MustCompile(`^[0-9a-fA-F]{6}$`)

func (s *Server) routeLabels(api *http.ServeMux) {
	api.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/labels", s.addIssueLabels)
	api.HandleFunc("DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}", s.removeIssueLabel)
	api.HandleFunc("GET /repos/{owner}/{repo}/labels/{name}", s.getLabel)
	api.HandleFunc("POST /repos/{owner}/{repo}/labels", s.createLabel)
}

// IssueLabels returns the names of an issue's labels, in the order added.
func (s *Server) IssueLabels(repo string, issue int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issueLabels[fmt.Sprintf("%s#%d", repo, issue)])
}

// RepoLabel returns a repository's label by name (case-insensitive).
func (s *Server) RepoLabel(repo, name string) (Label, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.labels[repo][strings.ToLower(name)]
	if l == nil {
		return Label{}, false
	}
	return *l, true
}

// AddIssueLabel puts a label on an issue, as a person would in the UI.
func (s *Server) AddIssueLabel(repo string, issue int, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, r, _ := strings.Cut(repo, "/")
	s.labelIssue(owner, r, issue, name)
}

// listIssueLabels serves GET /repos/{owner}/{repo}/issues/{number}/labels.
func (s *Server) listIssueLabels(w http.ResponseWriter, r *http.Request) {
	owner, repo, number, ok := issuePath(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	out := s.issueLabelList(owner, repo, number)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// addIssueLabels takes {"labels": [...]} or a bare array of names; a name
// the repository lacks becomes a new label, as on GitHub. It answers with
// every label the issue now has.
func (s *Server) addIssueLabels(w http.ResponseWriter, r *http.Request) {
	owner, repo, number, ok := issuePath(w, r)
	if !ok {
		return
	}
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	var names []string
	if json.Unmarshal(raw, &names) != nil {
		var obj struct {
			Labels []string `json:"labels"`
		}
		if json.Unmarshal(raw, &obj) != nil {
			writeLabelValidation(w, "invalid", "labels")
			return
		}
		names = obj.Labels
	}
	s.mu.Lock()
	for _, n := range names {
		s.labelIssue(owner, repo, number, n)
	}
	out := s.issueLabelList(owner, repo, number)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// removeIssueLabel answers with the labels left, or 404 when the issue
// does not have the label.
func (s *Server) removeIssueLabel(w http.ResponseWriter, r *http.Request) {
	owner, repo, number, ok := issuePath(w, r)
	if !ok {
		return
	}
	key := fmt.Sprintf("%s/%s#%d", owner, repo, number)
	s.mu.Lock()
	names := s.issueLabels[key]
	i := slices.IndexFunc(names, func(n string) bool { return strings.EqualFold(n, r.PathValue("name")) })
	if i >= 0 {
		s.issueLabels[key] = slices.Delete(names, i, i+1)
	}
	out := s.issueLabelList(owner, repo, number)
	s.mu.Unlock()
	if i < 0 {
		writeError(w, http.StatusNotFound, "Label does not exist")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getLabel(w http.ResponseWriter, r *http.Request) {
	l, ok := s.RepoLabel(r.PathValue("owner")+"/"+r.PathValue("repo"), r.PathValue("name"))
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) createLabel(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string  `json:"name"`
		Color       string  `json:"color"`
		Description *string `json:"description"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	switch {
	case in.Name == "":
		writeLabelValidation(w, "missing_field", "name")
		return
	case in.Color != "" && !labelColor.MatchString(strings.TrimPrefix(in.Color, "#")):
		writeLabelValidation(w, "invalid", "color")
		return
	case in.Description != nil && len([]rune(*in.Description)) > 100:
		writeLabelValidation(w, "invalid", "description")
		return
	}
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	s.mu.Lock()
	if s.labels[owner+"/"+repo][strings.ToLower(in.Name)] != nil {
		s.mu.Unlock()
		writeLabelValidation(w, "already_exists", "name")
		return
	}
	l := s.newLabel(owner, repo, in.Name)
	if in.Color != "" {
		l.Color = strings.ToLower(strings.TrimPrefix(in.Color, "#"))
	}
	if in.Description != nil {
		l.Description = *in.Description
	}
	out := *l
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// labelIssue puts a label on an issue, creating it in the repository when
// needed; the caller holds s.mu.
func (s *Server) labelIssue(owner, repo string, issue int, name string) {
	l := s.labels[owner+"/"+repo][strings.ToLower(name)]
	if l == nil {
		l = s.newLabel(owner, repo, name)
	}
	key := fmt.Sprintf("%s/%s#%d", owner, repo, issue)
	if !slices.ContainsFunc(s.issueLabels[key], func(n string) bool { return strings.EqualFold(n, name) }) {
		s.issueLabels[key] = append(s.issueLabels[key], l.Name)
	}
}

// newLabel stores a repository label; the caller holds s.mu.
func (s *Server) newLabel(owner, repo, name string) *Label {
	s.nextID++
	l := &Label{ID: s.nextID, NodeID: "LA_" + strconv.FormatInt(s.nextID, 36), Name: name, Color: defaultLabelColor,
		URL: fmt.Sprintf("%s/repos/%s/%s/labels/%s", s.URL(), owner, repo, name)}
	if s.labels[owner+"/"+repo] == nil {
		s.labels[owner+"/"+repo] = map[string]*Label{}
	}
	s.labels[owner+"/"+repo][strings.ToLower(name)] = l
	return l
}

// issueLabelList returns an issue's labels; the caller holds s.mu.
func (s *Server) issueLabelList(owner, repo string, issue int) []Label {
	out := []Label{}
	for _, n := range s.issueLabels[fmt.Sprintf("%s/%s#%d", owner, repo, issue)] {
		out = append(out, *s.labels[owner+"/"+repo][strings.ToLower(n)])
	}
	return out
}

func issuePath(w http.ResponseWriter, r *http.Request) (owner, repo string, number int, ok bool) {
	number, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return "", "", 0, false
	}
	return r.PathValue("owner"), r.PathValue("repo"), number, true
}

func writeLabelValidation(w http.ResponseWriter, code, field string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []any{map[string]string{"resource": "Label", "code": code, "field": field}},
		"documentation_url": "https://docs.github.com/rest/issues/labels",
		"status":            "422",
	})
}
