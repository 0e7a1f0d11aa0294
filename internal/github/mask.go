package github

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"sync"
)

// Masker hides secrets in text autopilot itself emits: comment bodies (the
// runner masks logs, not what the API receives) and logs of runs outside
// Actions. Runtime.AddMask feeds the Runtime's Masker too.
type Masker struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a secret containing another is hidden whole
}

// Add registers a secret; each line of a multi-line secret counts on its own
// too, as log lines are masked one at a time.
func (m *Masker) Add(secret string) {
	parts := []string{secret}
	if strings.ContainsAny(secret, "\r\n") {
		parts = append(parts, strings.FieldsFunc(secret, func(r rune) bool { return r == '\n' || r == '\r' })...)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range parts {
		if strings.TrimSpace(p) == "" || slices.Contains(m.secrets, p) {
			continue
		}
		m.secrets = append(m.secrets, p)
	}
	slices.SortFunc(m.secrets, func(a, b string) int { return len(b) - len(a) })
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
// two writes is still found.
func (m *Masker) Writer(w io.Writer) *MaskWriter { return &MaskWriter{m: m, w: w} }

// MaskWriter is Masker.Writer's line-buffered writer.
type MaskWriter struct {
	m   *Masker
	w   io.Writer
	mu  sync.Mutex
	buf []byte
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
	out := mw.m.Mask(string(mw.buf[:i+1]))
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
	out := mw.m.Mask(string(mw.buf))
	mw.buf = mw.buf[:0]
	_, err := io.WriteString(mw.w, out)
	return err
}
