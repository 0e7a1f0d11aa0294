package fakegithub

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func do(t *testing.T, method, url, token, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPaginationLinks(t *testing.T) {
	s := New()
	defer s.Close()
	for i := range 7 {
		s.AddComment("o/r", 1, "u", fmt.Sprint(i))
	}
	tests := []struct {
		query     string
		wantIDs   int
		wantLinks []string
	}{
		{"?per_page=3", 3, []string{`page=2&per_page=3>; rel="next"`, `page=3&per_page=3>; rel="last"`}},
		{"?per_page=3&page=3", 1, []string{`page=2&per_page=3>; rel="prev"`, `page=1&per_page=3>; rel="first"`}},
		{"?per_page=1000", 7, nil}, // capped at 100: everything on one page
		{"", 7, nil},               // GitHub's default of 30
	}
	for _, tc := range tests {
		resp, body := do(t, "GET", s.URL()+"/repos/o/r/issues/1/comments"+tc.query, s.Token(), "")
		var got []Comment
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != tc.wantIDs {
			t.Errorf("%s: %d comments (%v), want %d", tc.query, len(got), err, tc.wantIDs)
		}
		link := resp.Header.Get("Link")
		for _, want := range tc.wantLinks {
			if !strings.Contains(link, want) {
				t.Errorf("%s: Link %q lacks %q", tc.query, link, want)
			}
		}
		if tc.wantLinks == nil && link != "" {
			t.Errorf("%s: Link %q on the only page", tc.query, link)
		}
	}
}

func TestAuthAndValidation(t *testing.T) {
	s := New(WithToken("sekret"))
	defer s.Close()
	url := s.URL() + "/repos/o/r/issues/1/comments"
	tests := []struct {
		name, token, body string
		wantStatus        int
		wantBody          string
	}{
		{"no token", "", `{"body":"x"}`, 401, "Bad credentials"},
		{"wrong token", "nope", `{"body":"x"}`, 401, "Bad credentials"},
		{"created", "sekret", `{"body":"x"}`, 201, `"body":"x"`},
		{"empty body", "sekret", `{"body":""}`, 422, "missing_field"},
		{"too long", "sekret", `{"body":"` + strings.Repeat("a", MaxCommentBody+1) + `"}`, 422, "body is too long (maximum is 65536 characters)"},
		{"not JSON", "sekret", `{`, 400, "Problems parsing JSON"},
	}
	for _, tc := range tests {
		resp, body := do(t, "POST", url, tc.token, tc.body)
		if resp.StatusCode != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, resp.StatusCode, body, tc.wantStatus, tc.wantBody)
		}
	}
	for _, r := range s.Requests() {
		if strings.Contains(fmt.Sprint(r), "sekret") {
			t.Errorf("a recorded request holds the token: %+v", r)
		}
	}
	if got := len(s.Comments("o/r", 1)); got != 1 {
		t.Errorf("%d comments stored, want 1", got)
	}
}

func TestGetAndUpdateComment(t *testing.T) {
	s := New(WithPathPrefix("api/v3"))
	defer s.Close()
	c := s.AddComment("o/r", 2, "u", "old")
	if !strings.HasSuffix(s.URL(), "/api/v3") {
		t.Fatalf("URL() = %s", s.URL())
	}
	resp, _ := do(t, "PATCH", fmt.Sprintf("%s/repos/o/r/issues/comments/%d", s.URL(), c.ID), s.Token(), `{"body":"new"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH: %d", resp.StatusCode)
	}
	_, body := do(t, "GET", fmt.Sprintf("%s/repos/o/r/issues/comments/%d", s.URL(), c.ID), s.Token(), "")
	if !strings.Contains(body, `"body":"new"`) {
		t.Errorf("GET after PATCH: %s", body)
	}
	if resp, _ := do(t, "GET", fmt.Sprintf("%s/repos/other/r/issues/comments/%d", s.URL(), c.ID), s.Token(), ""); resp.StatusCode != 404 {
		t.Errorf("a comment was found in another repository: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", s.URL()+"/repos/o/r/issues/comments/abc", s.Token(), ""); resp.StatusCode != 404 {
		t.Errorf("a bad id: %d", resp.StatusCode)
	}
}

func TestOIDCToken(t *testing.T) {
	s := New()
	defer s.Close()
	resp, body := do(t, "GET", s.OIDCRequestURL()+"&audience=sts.amazonaws.com", s.OIDCRequestToken(), "")
	var out struct{ Value string }
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &out) != nil || strings.Count(out.Value, ".") != 2 {
		t.Errorf("token response %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", s.OIDCRequestURL(), "wrong", ""); resp.StatusCode != 401 {
		t.Errorf("a wrong request token got %d", resp.StatusCode)
	}
	if s.Mints() != 1 {
		t.Errorf("Mints() = %d, want 1", s.Mints())
	}
}

// TestIdentitiesAndPermissions: the workflow token is the github-actions
// app's installation token (no GET /user; its writes carry the app), a
// personal token is its user, and a permissions block limits the
// workflow token as GitHub does.
func TestIdentitiesAndPermissions(t *testing.T) {
	s := New(WithUser("pat", "mallory"))
	defer s.Close()
	const sha = "4444444ddddddddddddddddddddddddddddddddd"
	if resp, body := do(t, "GET", s.URL()+"/user", s.Token(), ""); resp.StatusCode != 403 || !strings.Contains(body, "Resource not accessible by integration") {
		t.Errorf("GET /user with the workflow token: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", s.URL()+"/user", "pat", ""); resp.StatusCode != 200 || !strings.Contains(body, `"login":"mallory"`) {
		t.Errorf("GET /user with a personal token: %d %s", resp.StatusCode, body)
	}
	_, body := do(t, "POST", s.URL()+"/repos/o/r/issues/1/comments", s.Token(), `{"body":"hi"}`)
	var c Comment
	if err := json.Unmarshal([]byte(body), &c); err != nil || c.User.Login != "github-actions[bot]" || c.User.Type != "Bot" || c.App == nil || c.App.Slug != "github-actions" {
		t.Errorf("comment by the workflow token: %s", body)
	}
	_, body = do(t, "POST", s.URL()+"/repos/o/r/statuses/"+sha, "pat", `{"state":"success","context":"ci","description":"ok"}`)
	if !strings.Contains(body, `"creator":{"login":"mallory"`) {
		t.Errorf("status by a personal token: %s", body)
	}
	if resp, _ := do(t, "POST", s.URL()+"/repos/o/r/statuses/"+sha, "pat", `{"state":"green"}`); resp.StatusCode != 422 {
		t.Errorf("a status with an unknown state: %d, want 422", resp.StatusCode)
	}
	if resp, _ := do(t, "POST", s.URL()+"/repos/o/r/statuses/main", "pat", `{"state":"success"}`); resp.StatusCode != 422 {
		t.Errorf("a status on a ref that is not a commit SHA: %d, want 422", resp.StatusCode)
	}
	s.SetBranch("o/r", "main", sha)
	if _, body := do(t, "GET", s.URL()+"/repos/o/r/commits/main/statuses", s.Token(), ""); !strings.Contains(body, `"context":"ci"`) {
		t.Errorf("statuses of a branch: %s", body)
	}
	if _, body := do(t, "GET", s.URL()+"/repos/o/r/branches/main", s.Token(), ""); !strings.Contains(body, `"sha":"`+sha+`"`) {
		t.Errorf("branch: %s", body)
	}

	s.SetPermissions(map[string]string{"contents": "read", "pull-requests": "write"})
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/repos/o/r/branches/main", "", 200},
		{"POST", "/repos/o/r/issues/1/comments", `{"body":"hi"}`, 201},
		{"GET", "/repos/o/r/commits/" + sha + "/statuses", "", 403},
		{"POST", "/repos/o/r/statuses/" + sha, `{"state":"success"}`, 403},
	} {
		if resp, body := do(t, tc.method, s.URL()+tc.path, s.Token(), tc.body); resp.StatusCode != tc.want {
			t.Errorf("%s %s with contents: read, pull-requests: write: %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.want)
		}
	}
}
