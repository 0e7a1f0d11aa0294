package github

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sethvargo/go-githubactions"

	fakegithub "github.com/autopilot-dev/autopilot/internal/fakes/github"
	"github.com/autopilot-dev/autopilot/internal/report"
)

func newTestRuntime(t *testing.T, vars map[string]string) (*Runtime, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	r, err := NewRuntime(WithStdout(&out), WithGetenv(func(k string) string { return vars[k] }))
	if err != nil {
		t.Fatal(err)
	}
	return r, &out
}

// parseOutputFile reads GITHUB_OUTPUT the way the runner does: "name=value"
// lines, and "name<<DELIM" heredocs that end at a line equal to DELIM.
func parseOutputFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if name, delim, ok := strings.Cut(line, "<<"); ok && (!strings.Contains(line, "=") || strings.Index(line, "<<") < strings.Index(line, "=")) {
			var value []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				value = append(value, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("heredoc %s never ends", name)
			}
			out[name] = strings.Join(value, "\n")
			continue
		}
		if name, value, ok := strings.Cut(line, "="); ok {
			out[name] = value
			continue
		}
		t.Fatalf("runner would reject the line %q", line)
	}
	return out
}

var hostileValues = map[string]string{
	"plain":         "true",
	"service-urls":  `{"api":"https://api.example.com"}`,
	"multi_line":    "line one\nline two\r\nline three",
	"fixed-delim":   "x\n_GitHubActionsFileCommandDelimeter_\ninjected=owned\ntail<<_GitHubActionsFileCommandDelimeter_\nz",
	"guess-delim":   "a\nghadelimiter_00000000000000000000000000000000\nhas-changes=false",
	"empty":         "",
	"trailing-nl":   "ends with newline\n",
	"equals_in_val": "a=b<<c",
}

func TestSetOutputsCannotBeInjected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output")
	r, _ := newTestRuntime(t, map[string]string{"GITHUB_OUTPUT": path})
	if err := r.SetOutputs(hostileValues); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hostileValues, parseOutputFile(t, path)); diff != "" {
		t.Errorf("outputs the runner reads (-want +got):\n%s", diff)
	}
}

// Why SetOutputs does not use go-githubactions: its delimiter is fixed, so a
// value can end the heredoc and define another output.
func TestGoGitHubActionsSetOutputIsInjectable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output")
	a := githubactions.New(githubactions.WithGetenv(func(k string) string {
		if k == "GITHUB_OUTPUT" {
			return path
		}
		return ""
	}))
	a.SetOutput("note", hostileValues["fixed-delim"])
	got := parseOutputFile(t, path)
	if got["injected"] != "owned" {
		t.Skipf("go-githubactions no longer lets a value inject an output (got %v); SetOutputs could use it", got)
	}
}

func TestSetOutputsRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output")
	r, _ := newTestRuntime(t, map[string]string{"GITHUB_OUTPUT": path})
	for _, name := range []string{"", "a=b", "a<<b", "x\ny", "has space"} {
		if err := r.SetOutput(name, "v"); err == nil {
			t.Errorf("output name %q accepted", name)
		}
	}
	// A value that holds the delimiter picked for it is refused, whatever the odds.
	fixed, _ := NewRuntime(WithGetenv(func(k string) string { return path }), withRandom(bytes.NewReader(make([]byte, 64))))
	if err := fixed.SetOutput("x", "a\nghadelimiter_00000000000000000000000000000000\nb"); err == nil {
		t.Error("a value holding its delimiter was written")
	}
	none, _ := newTestRuntime(t, nil)
	if err := none.SetOutput("x", "y"); err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") {
		t.Errorf("without GITHUB_OUTPUT: %v", err)
	}
}

func TestAppendSummaryCapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary")
	r, _ := newTestRuntime(t, map[string]string{"GITHUB_STEP_SUMMARY": path})
	if err := r.AppendSummary("# first\n"); err != nil {
		t.Fatal(err)
	}
	big := "<details><summary>x</summary>\n\n```diff\n" + strings.Repeat("+ line of a long diff\n", 60000) + "```\n\n</details>\n"
	if err := r.AppendSummary(big); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if len(data) > report.SummaryLimit {
		t.Errorf("summary is %d bytes, over %d", len(data), report.SummaryLimit)
	}
	s := string(data)
	if !strings.HasPrefix(s, "# first\n") || !strings.Contains(s, "1 MiB") || !strings.HasSuffix(strings.TrimSpace(strings.Split(s, "> [!NOTE]")[0]), "</details>") {
		t.Errorf("summary does not close its sections before the note:\n%s", s[len(s)-300:])
	}
	// Whatever comes next, the file stays within the limit.
	_ = r.AppendSummary(strings.Repeat("more\n", 1000))
	if fi, _ := os.Stat(path); fi.Size() > report.SummaryLimit {
		t.Errorf("a later append grew the summary to %d bytes", fi.Size())
	}
	full := filepath.Join(t.TempDir(), "full")
	if err := os.WriteFile(full, bytes.Repeat([]byte("x"), report.SummaryLimit), 0o644); err != nil {
		t.Fatal(err)
	}
	r2, _ := newTestRuntime(t, map[string]string{"GITHUB_STEP_SUMMARY": full})
	if err := r2.AppendSummary("more"); err == nil || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("appending to a full summary: %v, want an error naming the limit", err)
	}
}

func TestAddMask(t *testing.T) {
	r, out := newTestRuntime(t, nil)
	for _, s := range []string{"AKIAEXAMPLE", "", "50%:off", "-----BEGIN KEY-----\nabc\n-----END KEY-----", `pa"ss<1>`} {
		if err := r.AddMask(s); err != nil {
			t.Fatal(err)
		}
	}
	// Escaped forms are masked too: JSON outputs and quoted log values
	// carry a secret that way.
	want := "::add-mask::AKIAEXAMPLE\n" +
		"::add-mask::50%25:off\n" +
		"::add-mask::-----BEGIN KEY-----%0Aabc%0A-----END KEY-----\n" +
		"::add-mask::-----BEGIN KEY-----\n::add-mask::abc\n::add-mask::-----END KEY-----\n" +
		"::add-mask::-----BEGIN KEY-----\\nabc\\n-----END KEY-----\n" +
		"::add-mask::pa\"ss<1>\n" +
		"::add-mask::pa\\\"ss\\u003c1\\u003e\n" +
		"::add-mask::pa\\\"ss<1>\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("mask commands (-want +got):\n%s", diff)
	}
}

// runnerCommands replays stdout through the runner's rules: a line starting
// with "::" is a command, except between ::stop-commands::TOKEN and ::TOKEN::.
func runnerCommands(stdout string) []string {
	var cmds []string
	stopToken := ""
	for _, line := range strings.Split(stdout, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if stopToken != "" {
			if line == "::"+stopToken+"::" {
				stopToken = ""
			}
			continue
		}
		if !strings.HasPrefix(line, "::") {
			continue
		}
		name, data, _ := strings.Cut(line[2:], "::")
		name, _, _ = strings.Cut(name, " ")
		if name == "stop-commands" {
			stopToken = data
			continue
		}
		cmds = append(cmds, name+":"+data)
	}
	return cmds
}

func TestUntrustedTextIssuesNoCommands(t *testing.T) {
	hostile := []string{
		"::add-mask::nothing-to-see\n::error file=x::forged annotation",
		"Resource handler returned message: \"::endgroup::\"\n::endgroup::",
		"::stop-commands::other\n::other::\n::warning::after resume?",
		"::00000000000000000000000000000000::\n::set-output name=x::y",
		"no newline at the end ::debug::x",
		"\r\n::notice::crlf\r\n",
		"",
	}
	for _, text := range hostile {
		r, out := newTestRuntime(t, nil)
		if err := r.Group("stack app-test"); err != nil {
			t.Fatal(err)
		}
		if err := r.Untrusted(text); err != nil {
			t.Fatal(err)
		}
		if err := r.EndGroup(); err != nil {
			t.Fatal(err)
		}
		got := runnerCommands(out.String())
		want := []string{"group:stack app-test", "endgroup:"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("text %q made the runner run (-want +got):\n%s\nstdout:\n%s", text, diff, out.String())
		}
		if !strings.Contains(out.String(), text) {
			t.Errorf("the text itself was not printed: %q", out.String())
		}
	}
}

func TestUntrustedTokensDiffer(t *testing.T) {
	r, out := newTestRuntime(t, nil)
	_ = r.Untrusted("a")
	_ = r.Untrusted("b")
	var tokens []string
	for _, l := range strings.Split(out.String(), "\n") {
		if tok, ok := strings.CutPrefix(l, "::stop-commands::"); ok {
			tokens = append(tokens, tok)
		}
	}
	if len(tokens) != 2 || tokens[0] == tokens[1] || len(tokens[0]) != 32 {
		t.Errorf("stop tokens %q: want two different 32-character tokens", tokens)
	}
}

// TestStopCommandsFenceStreamedOutput: output streamed between the lines
// StopCommands returns (a RUN step's) issues no command, and every stretch
// gets its own token.
func TestStopCommandsFenceStreamedOutput(t *testing.T) {
	var log strings.Builder
	var starts []string
	r, _ := newTestRuntime(t, nil)
	for range 2 {
		start, stop, err := r.StopCommands()
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, start)
		log.WriteString(start + "#3 ::add-mask::x\n#3 done\n::set-output name=a::b\n" + stop)
	}
	log.WriteString("::endgroup::\n")
	if diff := cmp.Diff([]string{"endgroup:"}, runnerCommands(log.String())); diff != "" {
		t.Errorf("commands run (-want +got):\n%s\n%s", diff, log.String())
	}
	if starts[0] == starts[1] {
		t.Errorf("both stretches use the token %q", starts[0])
	}
}

func TestGroupTitleIsOneCommand(t *testing.T) {
	r, out := newTestRuntime(t, nil)
	_ = r.Group("deploy\n::add-mask::x")
	if got := runnerCommands(out.String()); len(got) != 1 || !strings.HasPrefix(got[0], "group:") {
		t.Errorf("commands = %q", got)
	}
}

func TestBoolInput(t *testing.T) {
	r, _ := newTestRuntime(t, map[string]string{"INPUT_STRICT": " TRUE ", "INPUT_FAIL-ON-DESTRUCTIVE": "false", "INPUT_BAD": "yes"})
	tests := []struct {
		name    string
		def     bool
		want    bool
		wantErr bool
	}{
		{"strict", false, true, false},
		{"fail-on-destructive", true, false, false},
		{"unset", true, true, false},
		{"bad", false, false, true},
	}
	for _, tc := range tests {
		got, err := r.BoolInput(tc.name, tc.def)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("BoolInput(%s) = %v, %v", tc.name, got, err)
		}
	}
	if got := r.Input("strict"); got != "TRUE" {
		t.Errorf("Input(strict) = %q, want it trimmed", got)
	}
}

func TestIDTokenFromFake(t *testing.T) {
	fake := fakegithub.New(fakegithub.WithOIDCClaims(map[string]any{"sub": "repo:acme/shop:ref:refs/heads/main"}))
	defer fake.Close()
	vars := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": fake.OIDCRequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": fake.OIDCRequestToken()}
	r, out := newTestRuntime(t, vars)
	tok, err := r.IDToken(context.Background(), "sts.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["aud"] != "sts.amazonaws.com" || claims["sub"] != "repo:acme/shop:ref:refs/heads/main" {
		t.Errorf("claims = %v", claims)
	}
	if !strings.Contains(out.String(), "::add-mask::"+tok+"\n") {
		t.Error("the OIDC token was not masked")
	}

	wrong, _ := newTestRuntime(t, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": fake.OIDCRequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "stolen"})
	if _, err := wrong.IDToken(context.Background(), ""); err == nil {
		t.Error("a wrong request token got an OIDC token")
	}
	none, _ := newTestRuntime(t, nil)
	if _, err := none.IDToken(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "id-token: write") {
		t.Errorf("without the request URL: %v", err)
	}
}
