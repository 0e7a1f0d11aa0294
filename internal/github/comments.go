package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v93/github"
)

// MaxCommentBody is GitHub's limit on a comment body, in characters.
const MaxCommentBody = 65536

// Publisher keeps one sticky comment per marker on a pull request. The
// marker is a hidden line (an HTML comment) that the body holds on a line of
// its own.
type Publisher interface {
	// UpsertComment updates the pull request's comment holding marker, or
	// creates it, and returns where it can be seen.
	UpsertComment(ctx context.Context, pr int, marker, body string) (url string, err error)
	// FindComment returns the body of the comment holding marker.
	FindComment(ctx context.Context, pr int, marker string) (body string, found bool, err error)
}

var (
	_ Publisher = (*Client)(nil)
	_ Publisher = (*FilePublisher)(nil)
)

// Client is the REST API of one repository, through go-github.
type Client struct {
	gh          *gh.Client
	owner, repo string
	// self is the login this token writes as, once a write has shown it:
	// UpsertComment then updates only its own comments, never one a
	// commenter wrote with the marker in it.
	self string
}

// ClientOption configures NewClient.
type ClientOption func(*clientOptions) error

type clientOptions struct {
	apiURL string
	http   *http.Client
}

// WithAPIURL sets the REST API root, GITHUB_API_URL (default
// https://api.github.com). A GitHub Enterprise Server URL ends in /api/v3.
func WithAPIURL(u string) ClientOption {
	return func(o *clientOptions) error {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return fmt.Errorf("API URL %q: want an http(s) URL such as https://api.github.com", u)
		}
		o.apiURL = strings.TrimRight(u, "/")
		return nil
	}
}

// WithAPIHTTPClient sets the HTTP client (default: one with a 30 s timeout).
func WithAPIHTTPClient(c *http.Client) ClientOption {
	return func(o *clientOptions) error {
		if c == nil {
			return errors.New("HTTP client must not be nil")
		}
		o.http = c
		return nil
	}
}

// NewClient returns a client for repository ("owner/name") authenticated
// with token (the workflow's GITHUB_TOKEN or a PAT).
func NewClient(token, repository string, opts ...ClientOption) (*Client, error) {
	o := clientOptions{apiURL: "https://api.github.com", http: &http.Client{Timeout: 30 * time.Second}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("GitHub client: %w", err)
		}
	}
	if token == "" {
		return nil, errors.New("GitHub client: no token; pass github-token (default ${{ github.token }}) or publish to a file")
	}
	owner, repo, err := Env{Repository: repository}.OwnerRepo()
	if err != nil {
		return nil, fmt.Errorf("GitHub client: %w", err)
	}
	ghOpts := []gh.ClientOptionsFunc{gh.WithHTTPClient(o.http), gh.WithAuthToken(token), gh.WithUserAgent("autopilot")}
	switch {
	case o.apiURL == "https://api.github.com":
	case strings.HasSuffix(o.apiURL, "/api/v3"):
		// GitHub Enterprise Server serves the API under /api/v3 and uploads beside it.
		upload := strings.TrimSuffix(o.apiURL, "/api/v3") + "/api/uploads"
		ghOpts = append(ghOpts, gh.WithEnterpriseURLs(o.apiURL, upload))
	default:
		// GHE.com (api.<tenant>.ghe.com) and test servers: the URL is the API root as given.
		ghOpts = append(ghOpts, gh.WithURLs(&o.apiURL, nil))
	}
	c, err := gh.NewClient(ghOpts...)
	if err != nil {
		return nil, fmt.Errorf("GitHub client for %s: %w", o.apiURL, err)
	}
	return &Client{gh: c, owner: owner, repo: repo}, nil
}

// UpsertComment implements Publisher. It reads every page of the pull
// request's comments, takes the newest one holding marker on a line of its
// own (among the client's own, once a write has shown who that is), and
// updates it when its body differs; with none, it creates one.
// The body gets the marker as its first line when it lacks it.
func (c *Client) UpsertComment(ctx context.Context, pr int, marker, body string) (string, error) {
	body, err := prepareBody(pr, marker, body)
	if err != nil {
		return "", err
	}
	existing, err := c.find(ctx, pr, marker, c.self)
	if err != nil {
		return "", err
	}
	if existing != nil {
		if existing.GetBody() == body {
			return existing.GetHTMLURL(), nil
		}
		updated, _, err := c.gh.Issues.UpdateComment(ctx, c.owner, c.repo, existing.GetID(), gh.IssueCommentRequest{Body: body})
		if err != nil {
			return "", c.explain(fmt.Sprintf("update comment %d on pull request #%d", existing.GetID(), pr), err)
		}
		return updated.GetHTMLURL(), nil
	}
	created, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, pr, gh.IssueCommentRequest{Body: body})
	if err != nil {
		return "", c.explain(fmt.Sprintf("comment on pull request #%d", pr), err)
	}
	c.self = created.GetUser().GetLogin()
	return created.GetHTMLURL(), nil
}

// FindComment implements Publisher.
func (c *Client) FindComment(ctx context.Context, pr int, marker string) (string, bool, error) {
	if err := checkMarker(marker); err != nil {
		return "", false, err
	}
	existing, err := c.find(ctx, pr, marker, "")
	if err != nil || existing == nil {
		return "", false, err
	}
	return existing.GetBody(), true, nil
}

// FindCommentBy is FindComment among the comments author wrote.
func (c *Client) FindCommentBy(ctx context.Context, pr int, marker, author string) (string, bool, error) {
	existing, err := c.find(ctx, pr, marker, author)
	if err != nil || existing == nil {
		return "", false, err
	}
	return existing.GetBody(), true, nil
}

// find returns the newest comment holding marker (written by author, when
// given), reading every page.
func (c *Client) find(ctx context.Context, pr int, marker, author string) (*gh.IssueComment, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	var found *gh.IssueComment
	for {
		page, resp, err := c.gh.Issues.ListComments(ctx, c.owner, c.repo, pr, opts)
		if err != nil {
			return nil, c.explain(fmt.Sprintf("list comments of pull request #%d", pr), err)
		}
		for _, cm := range page {
			if hasLine(cm.GetBody(), marker) && (author == "" || cm.GetUser().GetLogin() == author) {
				found = cm // comments come oldest first; the last match is the newest
			}
		}
		if resp.NextPage == 0 {
			return found, nil
		}
		opts.Page = resp.NextPage
	}
}

// explain wraps an API error with what to do about the usual causes.
func (c *Client) explain(op string, err error) error {
	var apiErr *gh.ErrorResponse
	if errors.As(err, &apiErr) && apiErr.Response != nil {
		switch apiErr.Response.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: the token was refused (401); check github-token: %w", op, err)
		case http.StatusForbidden:
			return fmt.Errorf("%s in %s/%s: permission denied (403); give the job `permissions: pull-requests: write` (fork pull requests get a read-only token): %w", op, c.owner, c.repo, err)
		case http.StatusNotFound:
			return fmt.Errorf("%s in %s/%s: not found (404); check the repository and that the token can see it: %w", op, c.owner, c.repo, err)
		}
	}
	return fmt.Errorf("%s in %s/%s: %w", op, c.owner, c.repo, err)
}

// FilePublisher writes each comment to a file in Dir, for runs without a
// token or outside GitHub: the same body a pull request would get.
type FilePublisher struct {
	Dir string
}

// UpsertComment implements Publisher; the URL is the file's path.
func (f *FilePublisher) UpsertComment(_ context.Context, pr int, marker, body string) (string, error) {
	body, err := prepareBody(max(pr, 1), marker, body)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return "", fmt.Errorf("comment folder: %w", err)
	}
	path := f.path(pr, marker)
	tmp, err := os.CreateTemp(f.Dir, ".comment-*")
	if err != nil {
		return "", fmt.Errorf("write comment: %w", err)
	}
	_, werr := tmp.WriteString(body)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write comment %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write comment %s: %w", path, err)
	}
	return path, nil
}

// FindComment implements Publisher.
func (f *FilePublisher) FindComment(_ context.Context, pr int, marker string) (string, bool, error) {
	if err := checkMarker(marker); err != nil {
		return "", false, err
	}
	b, err := os.ReadFile(f.path(pr, marker))
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read comment: %w", err)
	}
	return string(b), true, nil
}

// path names a comment's file after the pull request and a hash of the
// marker, which may hold any character.
func (f *FilePublisher) path(pr int, marker string) string {
	sum := sha256.Sum256([]byte(marker))
	return filepath.Join(f.Dir, fmt.Sprintf("pr-%d-%s.md", pr, hex.EncodeToString(sum[:6])))
}

// prepareBody checks the inputs of an upsert and puts the marker first when
// the body lacks it, so the comment can be found again.
func prepareBody(pr int, marker, body string) (string, error) {
	if pr <= 0 {
		return "", fmt.Errorf("pull request number %d: want a positive number", pr)
	}
	if err := checkMarker(marker); err != nil {
		return "", err
	}
	if !hasLine(body, marker) {
		body = marker + "\n" + body
	}
	if n := utf8.RuneCountInString(body); n > MaxCommentBody {
		return "", fmt.Errorf("comment body is %d characters, over GitHub's %d: trim it (report.Truncate) and put the rest in the job summary", n, MaxCommentBody)
	}
	return body, nil
}

func checkMarker(marker string) error {
	if strings.TrimSpace(marker) == "" || strings.ContainsAny(marker, "\r\n") {
		return fmt.Errorf("comment marker %q: want one non-empty line", marker)
	}
	return nil
}

// hasLine reports whether s holds line as a whole line.
func hasLine(s, line string) bool {
	for l := range strings.Lines(s) {
		if strings.TrimRight(l, "\r\n") == line {
			return true
		}
	}
	return false
}
