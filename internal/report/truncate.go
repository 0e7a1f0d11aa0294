package report

import (
	"regexp"
	"strings"
)

// GitHub's limits, in bytes (GitHub counts characters; a byte count is never
// smaller, so staying under it in bytes is safe).
const (
	// CommentLimit is the longest issue or pull-request comment body.
	CommentLimit = 65536
	// SummaryLimit is the most a step may write to GITHUB_STEP_SUMMARY.
	SummaryLimit = 1 << 20
)

// Truncate cuts markdown to at most limit bytes. It returns s unchanged when
// it fits. Otherwise it keeps the longest run of whole lines that fits
// together with what is needed to close every code fence and <details>
// element left open at the cut, then the note on its own paragraph, so the
// result renders with nothing swallowed by an open fence or a collapsed
// section. When even the note does not fit, it is left out.
func Truncate(s string, limit int, note string) string {
	if len(s) <= limit {
		return s
	}
	if limit <= 0 {
		return ""
	}
	if note != "" {
		if out, ok := cut(s, limit, "\n"+note+"\n"); ok {
			return out
		}
	}
	out, _ := cut(s, limit, "")
	return out
}

// cut keeps the longest prefix of whole lines that fits in limit with its
// closers and the tail; ok is false when not even the tail alone fits.
func cut(s string, limit int, tail string) (string, bool) {
	if len(tail) > limit {
		return "", false
	}
	best := 0
	bestState := mdState{}
	var st mdState
	for off := 0; off < len(s); {
		end := strings.IndexByte(s[off:], '\n')
		if end < 0 {
			break // the last line has no newline: keeping it means keeping all of s
		}
		off += end + 1
		st.line(s[off-end-1 : off])
		if off+st.closersLen()+len(tail) <= limit {
			best, bestState = off, st
		}
	}
	return s[:best] + bestState.closers() + tail, true
}

// mdState follows, line by line, what a markdown prefix leaves open: a fenced
// code block (CommonMark: up to three spaces, then three or more backticks or
// tildes) and the <details> elements outside fences.
type mdState struct {
	fence   string // the opening fence's run, e.g. "````"; empty outside a fence
	details int
}

var (
	detailsOpen  = regexp.MustCompile(`(?i)<details(?:\s[^>]*)?>|</details\s*>`)
	fenceLine    = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})(.*)$")
	closingFence = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})[ \t]*$")
)

func (st *mdState) line(l string) {
	l = strings.TrimRight(l, "\r\n")
	if st.fence != "" {
		if m := closingFence.FindStringSubmatch(l); m != nil && m[1][0] == st.fence[0] && len(m[1]) >= len(st.fence) {
			st.fence = ""
		}
		return
	}
	if m := fenceLine.FindStringSubmatch(l); m != nil {
		// A backtick fence's info string may not hold a backtick; such a line
		// is inline code, not a fence.
		if m[1][0] != '`' || !strings.Contains(m[2], "`") {
			st.fence = m[1]
			return
		}
	}
	for _, tag := range detailsOpen.FindAllString(withoutCodeSpans(l), -1) {
		if strings.HasPrefix(tag, "</") {
			if st.details > 0 {
				st.details--
			}
		} else {
			st.details++
		}
	}
}

func (st *mdState) closersLen() int {
	n := st.details * len("</details>\n")
	if st.fence != "" {
		n += len(st.fence) + 1
	}
	return n
}

// closers is the text that closes what is open, one item per line.
func (st *mdState) closers() string {
	var b strings.Builder
	if st.fence != "" {
		b.WriteString(st.fence + "\n")
	}
	for range st.details {
		b.WriteString("</details>\n")
	}
	return b.String()
}

// balanced reports whether markdown leaves no fence or <details> open.
func balanced(s string) bool {
	var st mdState
	for l := range strings.Lines(s) {
		st.line(l)
	}
	return st.fence == "" && st.details == 0
}

// withoutCodeSpans drops inline code spans from a line: a tag inside one is
// literal text, not an element to close.
func withoutCodeSpans(l string) string {
	if !strings.Contains(l, "`") {
		return l
	}
	var b strings.Builder
	for i := 0; i < len(l); {
		if l[i] != '`' {
			b.WriteByte(l[i])
			i++
			continue
		}
		n := runAt(l, i)
		closeAt := -1
		for j := i + n; j < len(l); {
			if l[j] != '`' {
				j++
				continue
			}
			m := runAt(l, j)
			if m == n {
				closeAt = j
				break
			}
			j += m
		}
		if closeAt < 0 {
			b.WriteString(l[i : i+n]) // an unmatched run is literal backticks
			i += n
			continue
		}
		i = closeAt + n
	}
	return b.String()
}

func runAt(s string, i int) int {
	n := 0
	for i+n < len(s) && s[i+n] == '`' {
		n++
	}
	return n
}
