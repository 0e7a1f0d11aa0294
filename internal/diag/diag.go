package diag

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity orders findings: an Error fails the command, a Warning fails it
// only under --strict, a Notice never does.
type Severity int

const (
	Notice Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "notice"
	}
}

// MarshalText makes severities read as words in JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts the words MarshalText writes.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	case "notice":
		*s = Notice
	default:
		return fmt.Errorf("unknown severity %q: want error, warning or notice", b)
	}
	return nil
}

// Diagnostic is one finding. Line and Column are 1-based; 0 means the whole file.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
	// Env names the environment whose override produced the finding; empty
	// when it holds for the base manifest.
	Env string `json:"environment,omitempty"`
}

// String renders the compiler-style line "file:line:col: severity: message [rule] (env)".
func (d Diagnostic) String() string {
	s := fmt.Sprintf("%s:%d:%d: %s: %s [%s]", d.File, d.Line, d.Column, d.Severity, d.Message, d.Rule)
	if d.Env != "" {
		s += fmt.Sprintf(" (environment %s)", d.Env)
	}
	if d.Fix != "" {
		s += "\n    fix: " + d.Fix
	}
	return s
}

// List is a set of findings.
type List []Diagnostic

// Count returns how many findings have severity s.
func (l List) Count(s Severity) int {
	n := 0
	for _, d := range l {
		if d.Severity == s {
			n++
		}
	}
	return n
}

// HasErrors reports whether any finding is an Error.
func (l List) HasErrors() bool { return l.Count(Error) > 0 }

// Sort orders findings by file, line, column, rule and message, so output is stable.
func (l List) Sort() {
	slices.SortStableFunc(l, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
			cmp.Compare(a.Env, b.Env),
		)
	})
}

// Dedup removes findings that repeat the same position, rule and message
// across environments, keeping the first. A finding that holds for every
// environment is reported once, for the base manifest.
func (l List) Dedup() List {
	type key struct {
		file, rule, msg string
		line, col       int
	}
	seen := map[key]bool{}
	out := l[:0:0]
	for _, d := range l {
		k := key{d.File, d.Rule, d.Message, d.Line, d.Column}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

// Failure is an error with one or more findings behind it, so a command can
// print them and exit with the right code.
type Failure struct {
	Op    string
	Diags List
}

func (e *Failure) Error() string {
	n := e.Diags.Count(Error)
	if n == 1 {
		for _, d := range e.Diags {
			if d.Severity == Error {
				return fmt.Sprintf("%s: %s", e.Op, d)
			}
		}
	}
	return fmt.Sprintf("%s: %d errors", e.Op, n)
}
