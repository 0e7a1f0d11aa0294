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

// Server is a fake GitHub: issue comments and labels, commit statuses,
// branches, the pull requests of a commit, the authenticated user, and the
// Actions OIDC token endpoint. It checks the token on every API request,
// answers as the token's identity (with its permissions) and records each
// request.
type Server struct {
	srv    *httptest.Server
	prefix string
	token  string
	// identities maps each accepted token to whom it acts as.
	identities map[string]*Identity

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
	statuses    map[string][]*Status // "owner/repo@sha" → statuses, oldest first
	branches    map[string]string    // "owner/repo:branch" → head commit
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
	// App is set when a GitHub App's installation token wrote the comment.
	App *App `json:"performed_via_github_app"`
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
	ClosedAt *time.Time `json:"closed_at"` // default: MergedAt
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

// WithToken sets the workflow's token (default "test-token"): an
// installation token of the github-actions app, as GITHUB_TOKEN is.
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
		statuses:    map[string][]*Status{},
		branches:    map[string]string{},
		identities:  map[string]*Identity{},
		now:         time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	if _, ok := s.identities[s.token]; !ok {
		s.identities[s.token] = actionsBot()
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
	api.HandleFunc("POST /repos/{owner}/{repo}/statuses/{sha}", s.createStatus)
	api.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/statuses", s.listStatuses)
	api.HandleFunc("GET /repos/{owner}/{repo}/branches/{branch}", s.getBranch)
	api.HandleFunc("GET /user", s.getUser)
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

// AddComment stores a comment as if user had written it (through the
// web interface), and returns it.
func (s *Server) AddComment(repo string, issue int, user, body string) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, name, _ := strings.Cut(repo, "/")
	return *s.add(owner, name, issue, &Identity{Login: user}, body)
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
		token := r.Header.Get("Authorization")
		if t, found := strings.CutPrefix(token, "Bearer "); found {
			token = t
		} else {
			token, _ = strings.CutPrefix(token, "token ")
		}
		s.mu.Lock()
		id, ok := s.identities[token]
		var denied string
		if ok {
			denied = id.denied(r)
		}
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
		case denied != "":
			writeError(w, http.StatusForbidden, denied)
		case fail != nil:
			writeError(w, fail.status, fail.msg)
		default:
			w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
			next.ServeHTTP(w, r.WithContext(withIdentity(r.Context(), id)))
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
	s.mu.Lock()
	all := s.comments[fmt.Sprintf("%s/%s#%d", owner, repo, number)]
	start, end := s.paginate(w, r, len(all))
	out := make([]Comment, 0, end-start)
	for _, c := range all[start:end] {
		out = append(out, *c)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// paginate picks the page of a list of n items that r asks for (per_page
// within GitHub's bounds, page from 1) and sets the Link header GitHub
// sends, which go-github follows.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, n int) (start, end int) {
	perPage := min(max(queryInt(r, "per_page", 30), 1), 100) // GitHub's bounds
	page := max(queryInt(r, "page", 1), 1)
	lastPage := max((n+perPage-1)/perPage, 1)
	start = min((page-1)*perPage, n)
	end = min(start+perPage, n)
	pageURL := func(p int) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: s.prefix + r.URL.Path} // r.URL.Path has lost the prefix
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = q.Encode()
		return u.String()
	}
	var links []string
	if page < lastPage {
		links = append(links, fmt.Sprintf("<%s>; rel=\"next\"", pageURL(page+1)), fmt.Sprintf("<%s>; rel=\"last\"", pageURL(lastPage)))
	}
	if page > 1 {
		links = append(links, fmt.Sprintf("<%s>; rel=\"prev\"", pageURL(page-1)), fmt.Sprintf("<%s>; rel=\"first\"", pageURL(1)))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return start, end
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
	c := *s.add(owner, repo, number, identityOf(r), body)
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
		closed := pr.ClosedAt
		if closed == nil {
			closed = pr.MergedAt
		}
		out = append(out, map[string]any{
			"number":    pr.Number,
			"state":     pr.State,
			"merged_at": pr.MergedAt,
			"closed_at": closed,
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
func (s *Server) add(owner, repo string, issue int, author *Identity, body string) *Comment {
	s.nextID++
	now := s.now().UTC().Truncate(time.Second)
	c := &Comment{
		ID:        s.nextID,
		NodeID:    "IC_" + strconv.FormatInt(s.nextID, 36),
		URL:       fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", s.URL(), owner, repo, s.nextID),
		HTMLURL:   fmt.Sprintf("https://github.com/%s/%s/pull/%d#issuecomment-%d", owner, repo, issue, s.nextID),
		IssueURL:  fmt.Sprintf("%s/repos/%s/%s/issues/%d", s.URL(), owner, repo, issue),
		Body:      body,
		User:      author.user(),
		CreatedAt: now,
		UpdatedAt: now,
		App:       author.App,
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
	writeInvalid(w, "IssueComment", "https://docs.github.com/rest/issues/comments", code, field, msg)
}

func writeInvalid(w http.ResponseWriter, resource, docs, code, field, msg string) {
	e := map[string]string{"resource": resource, "code": code, "field": field}
	if msg != "" {
		e["message"] = msg
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []any{e},
		"documentation_url": docs,
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
