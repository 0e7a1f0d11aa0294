package github

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/autopilot-dev/autopilot/internal/report"
)

// Runtime talks to the Actions runner: inputs from INPUT_* variables,
// outputs and the step summary through the files the runner names, and
// workflow commands (masks, groups, stop-commands) on stdout.
type Runtime struct {
	out    io.Writer
	getenv func(string) string
	random io.Reader
	client *http.Client
	action *githubactions.Action
	masker Masker
}

// RuntimeOption configures NewRuntime.
type RuntimeOption func(*Runtime) error

// WithStdout sets where workflow commands are written (default os.Stdout,
// which the runner reads them from).
func WithStdout(w io.Writer) RuntimeOption {
	return func(r *Runtime) error {
		if w == nil {
			return errors.New("stdout writer must not be nil")
		}
		r.out = w
		return nil
	}
}

// WithGetenv sets how variables are read (default os.Getenv).
func WithGetenv(getenv func(string) string) RuntimeOption {
	return func(r *Runtime) error {
		if getenv == nil {
			return errors.New("getenv must not be nil")
		}
		r.getenv = getenv
		return nil
	}
}

// WithHTTPClient sets the client for the OIDC token request (default: one
// with a 10 s timeout).
func WithHTTPClient(c *http.Client) RuntimeOption {
	return func(r *Runtime) error {
		if c == nil {
			return errors.New("HTTP client must not be nil")
		}
		r.client = c
		return nil
	}
}

// withRandom replaces the source of delimiters and stop tokens in tests.
func withRandom(rd io.Reader) RuntimeOption {
	return func(r *Runtime) error { r.random = rd; return nil }
}

// NewRuntime returns a Runtime for the current step.
func NewRuntime(opts ...RuntimeOption) (*Runtime, error) {
	r := &Runtime{out: os.Stdout, getenv: os.Getenv, random: rand.Reader}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, fmt.Errorf("actions runtime: %w", err)
		}
	}
	aopts := []githubactions.Option{githubactions.WithGetenv(r.getenv), githubactions.WithWriter(io.Discard)}
	if r.client != nil {
		aopts = append(aopts, githubactions.WithHTTPClient(r.client))
	}
	r.action = githubactions.New(aopts...)
	return r, nil
}

// Input returns the action input name (INPUT_<NAME>), trimmed; empty when unset.
func (r *Runtime) Input(name string) string { return r.action.GetInput(name) }

// BoolInput reads a boolean input the way actions/toolkit's getBooleanInput
// does (true, True, TRUE, false, False, FALSE), with def when it is empty.
func (r *Runtime) BoolInput(name string, def bool) (bool, error) {
	switch v := r.Input(name); v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	default:
		return false, fmt.Errorf("input %s is %q: use true or false", name, v)
	}
}

var outputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// SetOutputs writes step outputs to GITHUB_OUTPUT, in name order.
//
// Each value is written between a fresh random delimiter, as actions/toolkit
// does. go-githubactions' SetOutput uses a fixed, public delimiter, so a
// value holding that delimiter on a line of its own could define any other
// output; with a random one a value cannot, and one that somehow holds the
// delimiter is refused.
func (r *Runtime) SetOutputs(outputs map[string]string) error {
	path := r.getenv("GITHUB_OUTPUT")
	if path == "" {
		return errors.New("GITHUB_OUTPUT is not set: outputs can only be written inside GitHub Actions")
	}
	names := make([]string, 0, len(outputs))
	for name := range outputs {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		if !outputName.MatchString(name) {
			return fmt.Errorf("output name %q: use letters, digits, '-' and '_'", name)
		}
		delim, err := r.token("ghadelimiter_")
		if err != nil {
			return err
		}
		value := outputs[name]
		if strings.Contains(value, delim) {
			return fmt.Errorf("output %s: the value contains the delimiter %s", name, delim)
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
	}
	if err := appendFile(path, b.String()); err != nil {
		return fmt.Errorf("write outputs to GITHUB_OUTPUT: %w", err)
	}
	return nil
}

// SetOutput writes one step output; see SetOutputs.
func (r *Runtime) SetOutput(name, value string) error {
	return r.SetOutputs(map[string]string{name: value})
}

// AppendSummary adds markdown to the job summary (GITHUB_STEP_SUMMARY). The
// runner refuses a step's summary above 1 MiB, so what would pass that is cut
// with fences and <details> closed and a note saying so.
func (r *Runtime) AppendSummary(markdown string) error {
	path := r.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return errors.New("GITHUB_STEP_SUMMARY is not set: the job summary exists only inside GitHub Actions")
	}
	var used int64
	if fi, err := os.Stat(path); err == nil {
		used = fi.Size()
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("job summary %s: %w", path, err)
	}
	room := report.SummaryLimit - int(used) - 1 // the newline appended below
	if room <= 0 {
		return fmt.Errorf("job summary %s is already at GitHub's 1 MiB limit; nothing more was added", path)
	}
	markdown = report.Truncate(markdown, room, "> [!NOTE]\n> Cut to fit the 1 MiB job summary limit.")
	if err := appendFile(path, markdown+"\n"); err != nil {
		return fmt.Errorf("write job summary: %w", err)
	}
	return nil
}

// AddMask asks the runner to hide secret in every later log line, and adds
// it to Mask. A multi-line secret is masked line by line too, because the
// runner matches masks within single lines, and so are its escaped forms.
func (r *Runtime) AddMask(secret string) error {
	r.masker.Add(secret)
	var b strings.Builder
	// maskForms leaves out empty and blank values: an empty mask would
	// hide nothing and confuse the runner.
	for _, v := range maskForms(secret) {
		b.WriteString("::add-mask::" + report.EscapeData(v) + "\n")
	}
	return r.write(b.String())
}

// Mask hides every secret given to AddMask in s; use it on text that leaves
// through another door than the log, such as a comment body.
func (r *Runtime) Mask(s string) string { return r.masker.Mask(s) }

// Group starts a collapsible log group; EndGroup ends it.
func (r *Runtime) Group(title string) error {
	return r.write("::group::" + report.EscapeData(title) + "\n")
}

// EndGroup ends the log group Group started.
func (r *Runtime) EndGroup() error { return r.write("::endgroup::\n") }

// Untrusted writes text the runner must not interpret: template content,
// CloudFormation messages, anything a user wrote. It is wrapped in
// ::stop-commands::<token> … ::<token>:: with a fresh random token, so no
// line of it can issue a workflow command (set a mask, end a group, forge an
// annotation).
func (r *Runtime) Untrusted(text string) error {
	var tok string
	for range 3 {
		t, err := r.token("")
		if err != nil {
			return err
		}
		if !strings.Contains(text, t) {
			tok = t
			break
		}
	}
	if tok == "" {
		return errors.New("could not pick a stop-commands token absent from the text")
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return r.write("::stop-commands::" + tok + "\n" + text + "::" + tok + "::\n")
}

// StopCommands returns the lines that open and close a stretch of output
// the runner must not read commands from, with a fresh random token, for
// output streamed by someone else (a Dockerfile's RUN steps): the token is
// never shown to them, so they cannot end the stretch early.
func (r *Runtime) StopCommands() (start, stop string, err error) {
	tok, err := r.token("")
	if err != nil {
		return "", "", err
	}
	return "::stop-commands::" + tok + "\n", "::" + tok + "::\n", nil
}

// IDToken requests the job's OIDC token for audience (ACTIONS_ID_TOKEN_REQUEST_URL
// and _TOKEN, present when the workflow grants id-token: write) and masks it.
func (r *Runtime) IDToken(ctx context.Context, audience string) (string, error) {
	if r.getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" {
		return "", errors.New("no OIDC token available: give the job `permissions: id-token: write`")
	}
	tok, err := r.action.GetIDToken(ctx, audience)
	if err != nil {
		return "", fmt.Errorf("request GitHub OIDC token: %w", err)
	}
	if tok == "" {
		return "", errors.New("request GitHub OIDC token: the response held no token")
	}
	if err := r.AddMask(tok); err != nil {
		return "", err
	}
	return tok, nil
}

// token returns prefix plus 32 random hex digits.
func (r *Runtime) token(prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r.random, b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

func (r *Runtime) write(s string) error {
	if _, err := io.WriteString(r.out, s); err != nil {
		return fmt.Errorf("write workflow command: %w", err)
	}
	return nil
}

func appendFile(path, s string) (err error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = f.WriteString(s)
	return err
}
