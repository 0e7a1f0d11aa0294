package github

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Masker hides secrets in text autopilot itself emits: comment bodies (the
// runner masks logs, not what the API receives) and logs of runs outside
// Actions. Runtime.AddMask feeds the Runtime's Masker too.
type Masker struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a secret containing another is hidden whole
}

// Add registers a secret; each line of a multi-line secret counts on its own
// too, as log lines are masked one at a time, and so do its escaped forms.
func (m *Masker) Add(secret string) {
	forms := maskForms(secret)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range forms {
		if !slices.Contains(m.secrets, f) {
			m.secrets = append(m.secrets, f)
		}
	}
	slices.SortFunc(m.secrets, func(a, b string) int { return len(b) - len(a) })
}

// maskForms lists what a secret looks like in what autopilot writes: as
// is, each of its lines, and escaped inside a JSON string (outputs, JSON
// reports) or a quoted Go string (log values).
func maskForms(secret string) []string {
	forms := []string{secret}
	if strings.ContainsAny(secret, "\r\n") {
		forms = append(forms, strings.FieldsFunc(secret, func(r rune) bool { return r == '\n' || r == '\r' })...)
	}
	quoted, _ := json.Marshal(secret)
	forms = append(forms, strings.Trim(string(quoted), `"`), strings.Trim(strconv.Quote(secret), `"`))
	var out []string
	for _, f := range forms {
		if strings.TrimSpace(f) != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Mask replaces every registered secret in s with "***".
func (m *Masker) Mask(s string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, sec := range m.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

// Writer returns a writer that masks whole lines before passing them to w.
// A partial line waits for its newline or Close, so a secret split across
// two writes is still found. What it writes is autopilot's log, never a
// workflow command: a line the runner would read as one (an error quoting
// a Dockerfile's or a manifest's text can hold "\n::warning::…", and the
// runner also breaks lines at "\r") is prefixed with "| ", except the
// guard lines registered with Guard.
func (m *Masker) Writer(w io.Writer) *MaskWriter { return &MaskWriter{m: m, w: w} }

// MaskWriter is Masker.Writer's line-buffered writer.
type MaskWriter struct {
	m      *Masker
	w      io.Writer
	mu     sync.Mutex
	buf    []byte
	guards map[string]bool
}

// Guard lets the given lines (::stop-commands::TOKEN and ::TOKEN::, whose
// random token nothing quoted in the log can know) through as commands.
func (mw *MaskWriter) Guard(lines ...string) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if mw.guards == nil {
		mw.guards = map[string]bool{}
	}
	for _, l := range lines {
		mw.guards[strings.TrimRight(l, "\n")] = true
	}
}

// Write implements io.Writer.
func (mw *MaskWriter) Write(p []byte) (int, error) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	mw.buf = append(mw.buf, p...)
	i := bytes.LastIndexByte(mw.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	out := mw.logLines(string(mw.buf[:i+1]))
	mw.buf = append(mw.buf[:0], mw.buf[i+1:]...)
	if _, err := io.WriteString(mw.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes what is left of a last, unterminated line.
func (mw *MaskWriter) Close() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if len(mw.buf) == 0 {
		return nil
	}
	out := mw.logLines(string(mw.buf))
	mw.buf = mw.buf[:0]
	_, err := io.WriteString(mw.w, out)
	return err
}

// logLines masks text and keeps each of its lines from being a workflow
// command; a carriage return becomes the line break the runner sees.
func (mw *MaskWriter) logLines(text string) string {
	text = strings.ReplaceAll(mw.m.Mask(text), "\r\n", "\n")
	lines := strings.Split(strings.ReplaceAll(text, "\r", "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimLeftFunc(l, unicode.IsSpace), "::") && !mw.guards[l] {
			lines[i] = "| " + l
		}
	}
	return strings.Join(lines, "\n")
}

// masked returns a copy of v (a report's data: findings, a plan, a deploy
// result) with every registered secret masked in every string it holds.
// Reports escape what they print (Markdown, JSON, SARIF), and an escaped
// secret no longer matches the secret: masking the data before rendering
// is what keeps it out.
func masked[T any](m *Masker, v T) T {
	return maskValue(m, reflect.ValueOf(&v).Elem()).Interface().(T)
}

func maskValue(m *Masker, v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.String:
		out.SetString(m.Mask(v.String()))
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return v
		}
		if v.Kind() == reflect.Interface {
			out.Set(maskValue(m, v.Elem()))
			break
		}
		out.Set(reflect.New(v.Type().Elem()))
		out.Elem().Set(maskValue(m, v.Elem()))
	case reflect.Struct:
		out.Set(v) // unexported fields stay as they are
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(maskValue(m, v.Field(i)))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
		for i := range v.Len() {
			out.Index(i).Set(maskValue(m, v.Index(i)))
		}
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
		for iter := v.MapRange(); iter.Next(); {
			out.SetMapIndex(maskValue(m, iter.Key()), maskValue(m, iter.Value()))
		}
	default:
		return v
	}
	return out
}
