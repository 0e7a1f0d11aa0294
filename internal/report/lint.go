package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// Format names an output format for lint findings.
type Format string

// The formats `autopilot lint --format` accepts.
const (
	FormatText   Format = "text"
	FormatJSON   Format = "json"
	FormatGitHub Format = "github"
	FormatSARIF  Format = "sarif"
)

// Formats lists every lint format, in the order help text shows them.
var Formats = []Format{FormatText, FormatJSON, FormatGitHub, FormatSARIF}

// ParseFormat turns a --format value into a Format.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: use text, json, github or sarif", s)
}

// Option configures Lint.
type Option func(*options) error

type options struct {
	root     string
	version  string
	ruleHelp map[string]string
}

// WithRoot sets the folder finding paths are made relative to (SARIF's
// %SRCROOT% and the GitHub annotations' file=). Default: paths as given.
func WithRoot(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return errors.New("root folder must not be empty")
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("root folder %q: %w", dir, err)
		}
		o.root = abs
		return nil
	}
}

// WithVersion sets the tool version SARIF and JSON report (default "dev").
func WithVersion(v string) Option {
	return func(o *options) error {
		if v == "" {
			return errors.New("version must not be empty")
		}
		o.version = v
		return nil
	}
}

// WithRuleHelp gives a help text per rule id, shown as the rule's help in
// SARIF (default: none; a rule's first fix is used instead).
func WithRuleHelp(help map[string]string) Option {
	return func(o *options) error {
		o.ruleHelp = help
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{version: "dev"}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// relPath makes a finding's path relative to the root when it lies inside
// it, always with forward slashes so reports read the same on every OS.
func (o *options) relPath(p string) string {
	if p == "" || o.root == "" {
		return filepath.ToSlash(p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	rel, err := filepath.Rel(o.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}

// Lint writes findings to w in the given format. Findings are sorted and
// written in that order; the list itself is not modified.
func Lint(w io.Writer, findings diag.List, format Format, opts ...Option) error {
	o, err := makeOptions(opts)
	if err != nil {
		return fmt.Errorf("lint report: %w", err)
	}
	// Paths are made relative first, so the order is the one the reader sees.
	sorted := make(diag.List, len(findings))
	for i, d := range findings {
		d.File = o.relPath(d.File)
		sorted[i] = d
	}
	sorted.Sort()
	switch format {
	case FormatText:
		err = lintText(w, sorted, o)
	case FormatJSON:
		err = lintJSON(w, sorted, o)
	case FormatGitHub:
		err = lintGitHub(w, sorted, o)
	case FormatSARIF:
		err = lintSARIF(w, sorted, o)
	default:
		_, err = ParseFormat(string(format))
	}
	if err != nil {
		return fmt.Errorf("write %s lint report: %w", format, err)
	}
	return nil
}

// position renders "file:line:col", leaving out what is unknown (0).
func position(file string, line, col int) string {
	switch {
	case line <= 0:
		return file
	case col <= 0:
		return fmt.Sprintf("%s:%d", file, line)
	default:
		return fmt.Sprintf("%s:%d:%d", file, line, col)
	}
}

func lintText(w io.Writer, l diag.List, o *options) error {
	var b strings.Builder
	for _, d := range l {
		fmt.Fprintf(&b, "%s: %s: %s [%s]", position(d.File, d.Line, d.Column), d.Severity, oneLine(d.Message), d.Rule)
		if d.Env != "" {
			fmt.Fprintf(&b, " (environment %s)", d.Env)
		}
		b.WriteByte('\n')
		if d.Fix != "" {
			fmt.Fprintf(&b, "    fix: %s\n", oneLine(d.Fix))
		}
	}
	b.WriteString(countLine(l))
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// countLine is the closing line of the text report: "2 errors, 1 warning, 0 notices".
func countLine(l diag.List) string {
	return fmt.Sprintf("%s, %s, %s",
		plural(l.Count(diag.Error), "error", "errors"),
		plural(l.Count(diag.Warning), "warning", "warnings"),
		plural(l.Count(diag.Notice), "notice", "notices"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// oneLine keeps a message on its line, so one finding is one line of a
// compiler-like report whatever a message holds.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return lineBreaks.Replace(s)
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// JSONVersion is the version of the JSON lint report. It changes only when
// a field is removed or changes meaning; new fields may be added within a
// version.
const JSONVersion = 1

// JSONReport is the JSON lint format, written with two-space indentation:
//
//	{
//	  "version": 1,              // JSONVersion
//	  "tool": "autopilot",
//	  "toolVersion": "1.2.3",
//	  "findings": [              // sorted by file, line, column, rule; never null
//	    {
//	      "file": "copilot/api/manifest.yml",  // relative to the root when one is set
//	      "line": 12,            // 1-based; 0 when the finding is about the whole file
//	      "column": 3,           // 1-based; 0 when unknown
//	      "severity": "error",   // "error", "warning" or "notice"
//	      "rule": "unknown-key", // stable id, usable in ignore lists
//	      "message": "...",
//	      "fix": "...",          // omitted when no fix is known
//	      "environment": "prod"  // omitted when the finding holds for the base manifest
//	    }
//	  ],
//	  "counts": {"error": 1, "warning": 0, "notice": 0}
//	}
type JSONReport struct {
	Version     int               `json:"version"`
	Tool        string            `json:"tool"`
	ToolVersion string            `json:"toolVersion"`
	Findings    []diag.Diagnostic `json:"findings"`
	Counts      JSONCounts        `json:"counts"`
}

// JSONCounts tallies findings by severity.
type JSONCounts struct {
	Error   int `json:"error"`
	Warning int `json:"warning"`
	Notice  int `json:"notice"`
}

func lintJSON(w io.Writer, l diag.List, o *options) error {
	r := JSONReport{
		Version:     JSONVersion,
		Tool:        "autopilot",
		ToolVersion: o.version,
		Findings:    make([]diag.Diagnostic, 0, len(l)),
		Counts:      JSONCounts{Error: l.Count(diag.Error), Warning: l.Count(diag.Warning), Notice: l.Count(diag.Notice)},
	}
	r.Findings = append(r.Findings, l...)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
