package ecr

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"
)

const targetPrefix = "AmazonEC2ContainerRegistry_V20150921."

// Repository is a repository the fake knows.
type Repository struct {
	Name         string
	Mutability   string // MUTABLE or IMMUTABLE
	ScanOnPush   bool
	Tags         map[string]string
	CreatedCount int
}

// Server is a fake ECR endpoint. Point the SDK at URL with BaseEndpoint.
type Server struct {
	*httptest.Server

	// AccountID is the registry id reported in ARNs and outputs.
	AccountID string
	// Endpoint is the registry address returned as proxyEndpoint, e.g.
	// "http://127.0.0.1:5000".
	Endpoint string
	// Username and Password are encoded into every authorization token.
	Username, Password string

	mu    sync.Mutex
	repos map[string]*Repository
	calls []string
}

// New starts a fake ECR API that hands out tokens for the registry at
// endpoint with the given basic-auth credentials. Close it when done.
func New(endpoint, username, password string) *Server {
	s := &Server{AccountID: "123456789012", Endpoint: endpoint, Username: username, Password: password, repos: map[string]*Repository{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddRepository makes a repository exist before the test runs.
func (s *Server) AddRepository(r Repository) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Mutability == "" {
		r.Mutability = "MUTABLE"
	}
	s.repos[r.Name] = &r
}

// Repository returns a copy of a repository's state, and whether it exists.
func (s *Server) Repository(name string) (Repository, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[name]
	if !ok {
		return Repository{}, false
	}
	return *r, true
}

// Calls lists the operations received, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

type apiError struct {
	status int
	code   string
	msg    string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || !strings.HasPrefix(target, targetPrefix) {
		writeError(w, apiError{http.StatusBadRequest, "UnknownOperationException", "expected a POST with X-Amz-Target " + targetPrefix + "<Operation>"})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		writeError(w, apiError{http.StatusBadRequest, "SerializationException", "Content-Type must be application/x-amz-json-1.1, got " + ct})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeError(w, apiError{http.StatusForbidden, "MissingAuthenticationTokenException", "request is not signed with SigV4"})
		return
	}
	op := strings.TrimPrefix(target, targetPrefix)
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, apiError{http.StatusBadRequest, "SerializationException", err.Error()})
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, op)
	s.mu.Unlock()

	var out any
	var aerr *apiError
	switch op {
	case "GetAuthorizationToken":
		out = s.getAuthorizationToken()
	case "DescribeRepositories":
		out, aerr = s.describeRepositories(in)
	case "CreateRepository":
		out, aerr = s.createRepository(in)
	case "PutImageTagMutability":
		out, aerr = s.putImageTagMutability(in)
	default:
		aerr = &apiError{http.StatusBadRequest, "UnknownOperationException", "the fake does not implement " + op}
	}
	if aerr != nil {
		writeError(w, *aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.msg})
}

func (s *Server) getAuthorizationToken() any {
	token := base64.StdEncoding.EncodeToString([]byte(s.Username + ":" + s.Password))
	return map[string]any{"authorizationData": []any{map[string]any{
		"authorizationToken": token,
		"expiresAt":          float64(time.Now().Add(12 * time.Hour).Unix()),
		"proxyEndpoint":      s.Endpoint,
	}}}
}

func (s *Server) repoJSON(r *Repository) map[string]any {
	host := strings.TrimPrefix(strings.TrimPrefix(s.Endpoint, "https://"), "http://")
	return map[string]any{
		"repositoryArn":              fmt.Sprintf("arn:aws:ecr:us-east-1:%s:repository/%s", s.AccountID, r.Name),
		"registryId":                 s.AccountID,
		"repositoryName":             r.Name,
		"repositoryUri":              host + "/" + r.Name,
		"createdAt":                  float64(1.7e9),
		"imageTagMutability":         r.Mutability,
		"imageScanningConfiguration": map[string]any{"scanOnPush": r.ScanOnPush},
	}
}

func (s *Server) describeRepositories(in map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := stringList(in["repositoryNames"])
	if len(names) == 0 {
		for n := range s.repos {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var out []any
	for _, n := range names {
		r, ok := s.repos[n]
		if !ok {
			return nil, &apiError{http.StatusBadRequest, "RepositoryNotFoundException",
				fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", n, s.AccountID)}
		}
		out = append(out, s.repoJSON(r))
	}
	return map[string]any{"repositories": out}, nil
}

func (s *Server) createRepository(in map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, _ := in["repositoryName"].(string)
	if name == "" {
		return nil, &apiError{http.StatusBadRequest, "InvalidParameterException", "repositoryName is required"}
	}
	if _, ok := s.repos[name]; ok {
		return nil, &apiError{http.StatusBadRequest, "RepositoryAlreadyExistsException",
			fmt.Sprintf("The repository with name '%s' already exists in the registry with id '%s'", name, s.AccountID)}
	}
	r := &Repository{Name: name, Mutability: "MUTABLE", Tags: map[string]string{}, CreatedCount: 1}
	if m, ok := in["imageTagMutability"].(string); ok && m != "" {
		r.Mutability = m
	}
	if sc, ok := in["imageScanningConfiguration"].(map[string]any); ok {
		r.ScanOnPush, _ = sc["scanOnPush"].(bool)
	}
	if tags, ok := in["tags"].([]any); ok {
		for _, t := range tags {
			if m, ok := t.(map[string]any); ok {
				k, _ := m["Key"].(string)
				v, _ := m["Value"].(string)
				r.Tags[k] = v
			}
		}
	}
	s.repos[name] = r
	return map[string]any{"repository": s.repoJSON(r)}, nil
}

func (s *Server) putImageTagMutability(in map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, _ := in["repositoryName"].(string)
	r, ok := s.repos[name]
	if !ok {
		return nil, &apiError{http.StatusBadRequest, "RepositoryNotFoundException", fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, s.AccountID)}
	}
	m, _ := in["imageTagMutability"].(string)
	r.Mutability = m
	return map[string]any{"registryId": s.AccountID, "repositoryName": name, "imageTagMutability": m}, nil
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
