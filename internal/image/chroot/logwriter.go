package chroot

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

const tailLines = 20

// lineWriter prefixes each line of a step's output with its Dockerfile
// line, masks secret values and keeps the last lines for the error.
// stdout and stderr share it, so it locks. A carriage return ends a line
// as a newline does: the Actions runner (like a terminal) starts a new line
// there, and a "\r::error::…" would otherwise reach it as a line of its
// own, without the prefix, and be read as a workflow command.
type lineWriter struct {
	mu      sync.Mutex
	out     io.Writer
	prefix  string
	secrets []string
	buf     []byte
	tail    []string
}

func newLineWriter(out io.Writer, prefix string, secrets []string) *lineWriter {
	return &lineWriter{out: out, prefix: prefix, secrets: secrets}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexAny(w.buf, "\r\n")
		if i < 0 || (w.buf[i] == '\r' && i+1 == len(w.buf)) {
			break // a last \r waits: it may be the start of \r\n
		}
		w.emit(string(w.buf[:i]))
		if w.buf[i] == '\r' && w.buf[i+1] == '\n' {
			i++
		}
		w.buf = w.buf[i+1:]
	}
	// A very long line without a newline is written in pieces.
	if len(w.buf) > 64<<10 {
		w.emit(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// Flush writes a last line that had no newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 && string(w.buf) != "\r" {
		w.emit(string(w.buf))
	}
	w.buf = w.buf[:0]
}

func (w *lineWriter) emit(line string) {
	line = strings.ReplaceAll(line, "\r", "") // only a piece of an over-long line can hold one
	for _, s := range w.secrets {
		line = strings.ReplaceAll(line, s, "***")
	}
	// The log is best effort: a failing log writer must not fail the build.
	_, _ = io.WriteString(w.out, w.prefix+line+"\n")
	w.tail = append(w.tail, line)
	if len(w.tail) > tailLines {
		w.tail = w.tail[len(w.tail)-tailLines:]
	}
}

// Tail returns the last lines written.
func (w *lineWriter) Tail() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.tail...)
}
