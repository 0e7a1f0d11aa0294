package report

import (
	"net/url"
	"strings"
)

// Hidden metadata in comment bodies: HTML comments GitHub does not render.
//
//	<!-- autopilot:plan app=demo env=test account=123456789012 region=us-east-1 -->
//	<!-- autopilot:fingerprint sha256:0f1e... -->
//
// The plan marker identifies the one sticky comment per application,
// environment, account and region; the fingerprint is what
// --require-reviewed-plan compares with on merge.
const (
	planMarkerPrefix  = "<!-- autopilot:plan "
	fingerprintPrefix = "<!-- autopilot:fingerprint "
	metaSuffix        = " -->"
)

// Target is what one plan comment is about.
type Target struct {
	App, Env, Account, Region string
}

// Marker is the hidden line that finds a target's comment again.
func (t Target) Marker() string {
	return planMarkerPrefix + "app=" + metaEscape(t.App) + " env=" + metaEscape(t.Env) +
		" account=" + metaEscape(t.Account) + " region=" + metaEscape(t.Region) + metaSuffix
}

// ParseMarker reads the target from the first plan marker line in body.
func ParseMarker(body string) (Target, bool) {
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, "\r\n")
		rest, ok := strings.CutPrefix(line, planMarkerPrefix)
		if !ok {
			continue
		}
		rest, ok = strings.CutSuffix(rest, metaSuffix)
		if !ok {
			continue
		}
		var t Target
		fields := map[string]*string{"app": &t.App, "env": &t.Env, "account": &t.Account, "region": &t.Region}
		valid := true
		for _, kv := range strings.Split(rest, " ") {
			k, v, _ := strings.Cut(kv, "=")
			dst, known := fields[k]
			if !known {
				valid = false
				break
			}
			if *dst, ok = metaUnescape(v); !ok {
				valid = false
				break
			}
			delete(fields, k)
		}
		if valid && len(fields) == 0 {
			return t, true
		}
	}
	return Target{}, false
}

// FingerprintLine is the hidden line carrying a plan's fingerprint.
func FingerprintLine(fp string) string {
	return fingerprintPrefix + metaEscape(fp) + metaSuffix
}

// ParseFingerprint returns the fingerprint a comment body carries, so that a
// deploy can check it runs the plan that was reviewed.
func ParseFingerprint(body string) (string, bool) {
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, "\r\n")
		if rest, ok := strings.CutPrefix(line, fingerprintPrefix); ok {
			if v, ok := strings.CutSuffix(rest, metaSuffix); ok && !strings.Contains(v, " ") {
				return metaUnescape(v)
			}
		}
	}
	return "", false
}

// metaEscape percent-encodes everything but letters, digits, '.', '_', ':'
// and '-', so a value can hold neither a space (the field separator) nor
// '>' (the end of the HTML comment).
func metaEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':' {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func metaUnescape(s string) (string, bool) {
	v, err := url.PathUnescape(s)
	return v, err == nil
}
