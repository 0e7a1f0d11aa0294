package fakegithub

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxCommentBody is GitHub's limit on a comment body, in characters.
const MaxCommentBody = 65536

// Server is a fake GitHub: issue comments and labels, the pull requests of
// a commit, and the Actions OIDC token endpoint. It checks the token on
// every API request and records each request.
type Server struct {
	srv    *httptest.Server
	prefix string
	token  string

	oidcToken  string
	oidcClaims map[string]any

	mu       sync.Mutex
	nextID   int64
	comments map[string][]*Comment // "owner/repo#number" → comments, oldest first
	pulls    map[string][]PullRequest
	// labels are each repository's, by lower-case name; issueLabels are
	// the names on each "owner/repo#number".
	labels      map[string]map[string]*Label
	issueLabels map[string][]string
	requests    []Request
	failures    []failure
	mints       int
	now         func() time.Time
}

// Comment is a stored issue comment.
type Comment struct {
	ID        int64     `json:"id"`
	NodeID    string    `json:"node_id"`
	URL       string    `json:"url"`
	HTMLURL   string    `json:"html_url"`
	IssueURL  string    `json:"issue_url"`
	Body      string    `json:"body"`
	User      User      `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// User is a comment's author.
type User struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

// PullRequest is what the commit → pull requests lookup returns.
type PullRequest struct {
	Number   int        `json:"number"`
	State    string     `json:"state"` // "open" or "closed"
	MergedAt *time.Time `json:"merged_at"`
	HeadSHA  string     `json:"-"`
	HeadRef  string     `json:"-"`
	BaseRef  string     `json:"-"`
}

// Request is one recorded API request. The Authorization header is never
// kept; Authorized says whether it carried the expected token.
type Request struct {
	Method     string
	Path       string // as requested, with the server's prefix
	Query      url.Values
	Body       string
	Authorized bool
}

type failure struct {
	method string
	status int
	msg    string
}

// Option configures New.
type Option func(*Server)

// WithToken sets the API token requests must carry (default "test-token").
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithPathPrefix serves the API under a prefix, as GitHub Enterprise Server
// does under "/api/v3" (default: at the root, as api.github.com).
func WithPathPrefix(prefix string) Option {
	return func(s *Server) { s.prefix = "/" + strings.Trim(prefix, "/") }
}

// WithOIDCClaims adds or replaces claims of the OIDC tokens the fake mints.
func WithOIDCClaims(claims map[string]any) Option {
	return func(s *Server) {
		for k, v := range claims {
			s.oidcClaims[k] = v
		}
	}
}

// WithClock sets the time source for timestamps and token expiry (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New starts a fake GitHub; Close stops it.
func New(opts ...Option) *Server {
	s := &Server{
		token:     "test-token",
		oidcToken: "oidc-request-" + randomHex(8),
		oidcClaims: map[string]any{
			"iss": "https://token.actions.githubusercontent.com",
			"sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
		},
		nextID:      1000,
		comments:    map[string][]*Comment{},
		pulls:       map[string][]PullRequest{},
		labels:      map[string]map[string]*Label{},
		issueLabels: map[string][]string{},
		now:         time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	if s.prefix == "/" {
		s.prefix = ""
	}
	api := http.NewServeMux()
	// GET .../issues/{number}/comments and GET .../issues/comments/{id}
	// overlap as patterns, so one handler tells them apart.
	api.HandleFunc("GET /repos/{owner}/{repo}/issues/{a}/{b}", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.PathValue("a") == "comments":
			r.SetPathValue("id", r.PathValue("b"))
			s.getComment(w, r)
		case r.PathValue("b") == "comments":
			r.SetPathValue("number", r.PathValue("a"))
			s.listComments(w, r)
		case r.PathValue("b") == "labels":
			r.SetPathValue("number", r.PathValue("a"))
			s.listIssueLabels(w, r)
		default:
			writeError(w, http.StatusNotFound, "Not Found")
		}
	})
	api.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", s.createComment)
	api.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.updateComment)
	api.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/pulls", s.commitPulls)
	s.routeLabels(api)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, http.StatusNotFound, "Not Found") })

	root := http.NewServeMux()
	root.HandleFunc("GET /_services/token", s.mintOIDC)
	if s.prefix != "" {
		root.Handle(s.prefix+"/", s.checked(http.StripPrefix(s.prefix, api)))
	} else {
		root.Handle("/", s.checked(api))
	}
	s.srv = httptest.NewServer(root)
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// URL is the API base URL, the value GITHUB_API_URL would hold.
func (s *Server) URL() string { return s.srv.URL + s.prefix }

// Token is the API token the fake accepts.
func (s *Server) Token() string { return s.token }

// OIDCRequestURL and OIDCRequestToken are what the runner puts in
// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN.
func (s *Server) OIDCRequestURL() string   { return s.srv.URL + "/_services/token?api-version=2.0" }
func (s *Server) OIDCRequestToken() string { return s.oidcToken }

// Mints counts the OIDC tokens handed out.
func (s *Server) Mints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mints
}

// Requests returns the API requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// FailNext makes the next API request with the given method (any method
// when empty) fail with status and GitHub's error body carrying msg.
func (s *Server) FailNext(method string, status int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{method: method, status: status, msg: msg})
}

// AddComment stores a comment as if user had written it, and returns it.
func (s *Server) AddComment(repo string, issue int, user, body string) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, name, _ := strings.Cut(repo, "/")
	return *s.add(owner, name, issue, user, body)
}

// Comments returns an issue's comments, oldest first.
func (s *Server) Comments(repo string, issue int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments[fmt.Sprintf("%s#%d", repo, issue)] {
		out = append(out, *c)
	}
	return out
}

// AddPullRequest makes the pull request show up for its head commit and for
// each of the extra commits (a merge or squash commit on the base branch).
func (s *Server) AddPullRequest(repo string, pr PullRequest, commits ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sha := range append([]string{pr.HeadSHA}, commits...) {
		if sha != "" {
			s.pulls[repo+"@"+sha] = append(s.pulls[repo+"@"+sha], pr)
		}
	}
}

// checked records each API request, checks its token and injects failures.
func (s *Server) checked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		auth := r.Header.Get("Authorization")
		ok := s.token != "" && (auth == "Bearer "+s.token || auth == "token "+s.token)
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body), Authorized: ok})
		var fail *failure
		for i, f := range s.failures {
			if f.method == "" || f.method == r.Method {
				fail = &f
				s.failures = slices.Delete(s.failures, i, i+1)
				break
			}
		}
		s.mu.Unlock()
		switch {
		case !ok:
			writeError(w, http.StatusUnauthorized, "Bad credentials")
		case fail != nil:
			writeError(w, fail.status, fail.msg)
		default:
			w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
			next.ServeHTTP(w, r)
		}
	})
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	number, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	perPage := queryInt(r, "per_page", 30)
	perPage = min(max(perPage, 1), 100) // GitHub's bounds
	page := max(queryInt(r, "page", 1), 1)

	s.mu.Lock()
	all := s.comments[fmt.Sprintf("%s/%s#%d", owner, repo, number)]
	lastPage := max((len(all)+perPage-1)/perPage, 1)
	start := min((page-1)*perPage, len(all))
	end := min(start+perPage, len(all))
	out := make([]Comment, 0, end-start)
	for _, c := range all[start:end] {
		out = append(out, *c)
	}
	s.mu.Unlock()

	var links []string
	pageURL := func(p int) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: s.prefix + r.URL.Path} // r.URL.Path has lost the prefix
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = q.Encode()
		return u.String()
	}
	if page < lastPage {
		links = append(links, fmt.Sprintf("<%s>; rel=\"next\"", pageURL(page+1)), fmt.Sprintf("<%s>; rel=\"last\"", pageURL(lastPage)))
	}
	if page > 1 {
		links = append(links, fmt.Sprintf("<%s>; rel=\"prev\"", pageURL(page-1)), fmt.Sprintf("<%s>; rel=\"first\"", pageURL(1)))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	number, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	c := *s.add(owner, repo, number, "github-actions[bot]", body)
	s.mu.Unlock()
	w.Header().Set("Location", c.URL)
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) getComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.find(r.PathValue("owner"), r.PathValue("repo"), r.PathValue("id"))
	var out Comment
	if c != nil {
		out = *c
	}
	s.mu.Unlock()
	if c == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateComment(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	c := s.find(r.PathValue("owner"), r.PathValue("repo"), r.PathValue("id"))
	var out Comment
	if c != nil {
		c.Body = body
		c.UpdatedAt = s.now().UTC().Truncate(time.Second)
		out = *c
	}
	s.mu.Unlock()
	if c == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) commitPulls(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	s.mu.Lock()
	prs := slices.Clone(s.pulls[owner+"/"+repo+"@"+r.PathValue("sha")])
	s.mu.Unlock()
	out := make([]map[string]any, 0, len(prs))
	for _, pr := range prs {
		full := owner + "/" + repo
		out = append(out, map[string]any{
			"number":    pr.Number,
			"state":     pr.State,
			"merged_at": pr.MergedAt,
			"html_url":  fmt.Sprintf("https://github.com/%s/pull/%d", full, pr.Number),
			"head":      map[string]any{"sha": pr.HeadSHA, "ref": pr.HeadRef, "repo": map[string]any{"full_name": full}},
			"base":      map[string]any{"ref": pr.BaseRef, "repo": map[string]any{"full_name": full}},
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// mintOIDC serves the Actions ID token endpoint: the runner's request token
// as a bearer token, an optional audience, and {"value": "<jwt>"} back.
func (s *Server) mintOIDC(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.oidcToken {
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	now := s.now()
	claims := map[string]any{}
	s.mu.Lock()
	for k, v := range s.oidcClaims {
		claims[k] = v
	}
	s.mints++
	s.mu.Unlock()
	claims["aud"] = r.URL.Query().Get("audience")
	if claims["aud"] == "" {
		claims["aud"] = "https://github.com/octo-org"
	}
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = now.Add(5 * time.Minute).Unix()
	claims["jti"] = randomHex(16)
	writeJSON(w, http.StatusOK, map[string]string{"value": fakeJWT(claims)})
}

// fakeJWT builds a token with a JWT's shape and a signature nobody can check.
func fakeJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "fake"})
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString([]byte("fake-signature-"+randomHex(8)))
}

// add stores a comment; the caller holds s.mu.
func (s *Server) add(owner, repo string, issue int, user, body string) *Comment {
	s.nextID++
	now := s.now().UTC().Truncate(time.Second)
	c := &Comment{
		ID:        s.nextID,
		NodeID:    "IC_" + strconv.FormatInt(s.nextID, 36),
		URL:       fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", s.URL(), owner, repo, s.nextID),
		HTMLURL:   fmt.Sprintf("https://github.com/%s/%s/pull/%d#issuecomment-%d", owner, repo, issue, s.nextID),
		IssueURL:  fmt.Sprintf("%s/repos/%s/%s/issues/%d", s.URL(), owner, repo, issue),
		Body:      body,
		User:      User{Login: user, ID: int64(len(user)) * 7919, Type: userType(user)},
		CreatedAt: now,
		UpdatedAt: now,
	}
	key := fmt.Sprintf("%s/%s#%d", owner, repo, issue)
	s.comments[key] = append(s.comments[key], c)
	return c
}

// find looks a comment up by id within a repository; the caller holds s.mu.
func (s *Server) find(owner, repo, id string) *Comment {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	prefix := owner + "/" + repo + "#"
	for key, cs := range s.comments {
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		for _, c := range cs {
			if c.ID == n {
				return c
			}
		}
	}
	return nil
}

func userType(login string) string {
	if strings.HasSuffix(login, "[bot]") {
		return "Bot"
	}
	return "User"
}

// readBody decodes {"body": "..."} and enforces GitHub's validation.
func readBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return "", false
	}
	if in.Body == nil || *in.Body == "" {
		writeValidation(w, "missing_field", "body", "")
		return "", false
	}
	if n := len([]rune(*in.Body)); n > MaxCommentBody {
		writeValidation(w, "custom", "body", fmt.Sprintf("body is too long (maximum is %d characters)", MaxCommentBody))
		return "", false
	}
	return *in.Body, true
}

func writeValidation(w http.ResponseWriter, code, field, msg string) {
	e := map[string]string{"resource": "IssueComment", "code": code, "field": field}
	if msg != "" {
		e["message"] = msg
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []any{e},
		"documentation_url": "https://docs.github.com/rest/issues/comments",
		"status":            "422",
	})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{
		"message":           msg,
		"documentation_url": "https://docs.github.com/rest",
		"status":            strconv.Itoa(status),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func queryInt(r *http.Request, key string, def int) int {
	if n, err := strconv.Atoi(r.URL.Query().Get(key)); err == nil {
		return n
	}
	return def
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
