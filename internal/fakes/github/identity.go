package fakegithub

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Identity is whom a token acts as: a user's personal token, or a GitHub
// App's installation token (GITHUB_TOKEN is one, of the github-actions app).
type Identity struct {
	Login string
	ID    int64
	// App is set for an installation token: GET /user is closed to it,
	// and what it writes carries the app (performed_via_github_app).
	App *App
	// Permissions, when set, are the only ones the token has, as a
	// workflow's `permissions:` block grants them: "statuses" → "write".
	// Unset, the token may do anything.
	Permissions map[string]string
}

// App is a GitHub App as the API shows it.
type App struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// actionsBot is the identity of the workflow's GITHUB_TOKEN.
func actionsBot() *Identity {
	return &Identity{Login: "github-actions[bot]", ID: 41898282, App: &App{ID: 15368, Slug: "github-actions", Name: "GitHub Actions"}}
}

// WithUser accepts token as a personal access token of login, a user who
// can write to the repository (a collaborator, or an attacker with push
// access).
func WithUser(token, login string) Option {
	return func(s *Server) { s.identities[token] = &Identity{Login: login, ID: int64(len(login)) * 7919} }
}

// SetPermissions restricts the workflow token to perms, the job's
// `permissions:` block ("contents" → "read", ...); nil lifts the limits.
func (s *Server) SetPermissions(perms map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities[s.token].Permissions = perms
}

func (id *Identity) user() User {
	typ := "User"
	if id.App != nil || strings.HasSuffix(id.Login, "[bot]") {
		typ = "Bot"
	}
	n := id.ID
	if n == 0 {
		n = int64(len(id.Login)) * 7919
	}
	return User{Login: id.Login, ID: n, Type: typ}
}

// permission is what a request needs: any one of scopes at level ("read"
// or "write"). Endpoints the fake does not list need nothing.
func permission(r *http.Request) (scopes []string, level string) {
	path := r.URL.Path
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	level = "read"
	if write {
		level = "write"
	}
	switch {
	case strings.Contains(path, "/issues/"):
		return []string{"issues", "pull-requests"}, level
	case strings.Contains(path, "/statuses"):
		return []string{"statuses"}, level
	case strings.HasSuffix(path, "/pulls"):
		return []string{"pull-requests"}, level
	case strings.Contains(path, "/branches/"):
		return []string{"contents"}, level
	}
	return nil, ""
}

// denied says why the identity may not make request r, "" when it may.
func (id *Identity) denied(r *http.Request) string {
	if id.Permissions == nil {
		return ""
	}
	scopes, level := permission(r)
	for _, scope := range scopes {
		switch id.Permissions[scope] {
		case "write":
			return ""
		case "read":
			if level == "read" {
				return ""
			}
		}
	}
	if scopes == nil {
		return ""
	}
	return "Resource not accessible by integration"
}

type identityKey struct{}

func withIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

func identityOf(r *http.Request) *Identity {
	id, _ := r.Context().Value(identityKey{}).(*Identity)
	return id
}

// getUser is GET /user: the token's user; an installation token has none.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	if id.App != nil {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	u := id.user()
	writeJSON(w, http.StatusOK, map[string]any{"login": u.Login, "id": u.ID, "type": u.Type,
		"html_url": fmt.Sprintf("https://github.com/%s", u.Login)})
}

// AddUser is WithUser on a running server.
func (s *Server) AddUser(token, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	WithUser(token, login)(s)
}
