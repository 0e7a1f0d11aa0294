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
// stdout and stderr share it, so it locks.
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
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.buf[:i]))
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
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = w.buf[:0]
	}
}

func (w *lineWriter) emit(line string) {
	line = strings.TrimSuffix(line, "\r")
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
