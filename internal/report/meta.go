package report

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

// Hidden metadata in comment bodies: HTML comments GitHub does not render.
//
//	<!-- autopilot:plan app=demo env=test account=123456789012 region=us-east-1 -->
//	<!-- autopilot:fingerprint sha256:0f1e... -->
//
//	<!-- autopilot:record H4sI... -->
//
// The plan marker identifies the one sticky comment per application,
// environment, account and region; the fingerprint is the environment's
// (the commit status autopilot sets is what require-reviewed-plan trusts);
// the record is what it hashes, to name what a refused deploy changes.
const (
	planMarkerPrefix  = "<!-- autopilot:plan "
	fingerprintPrefix = "<!-- autopilot:fingerprint "
	recordPrefix      = "<!-- autopilot:record "
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

// reviewLines are the hidden lines of environment env's comment: its
// fingerprint and the record it hashes, which lets a refused deploy say
// what differs. A record too large for the comment is left out.
func reviewLines(p *deploy.Plan, env string) string {
	rec, ok := p.Record(env)
	if !ok {
		return FingerprintLine(p.Fingerprint) + "\n"
	}
	lines := FingerprintLine(rec.Fingerprint()) + "\n"
	if line := RecordLine(rec); len(line) <= maxRecordLine {
		lines += line + "\n"
	}
	return lines
}

// maxRecordLine leaves most of a comment's 65,536 characters to the plan.
const maxRecordLine = 24 << 10

// RecordLine is the hidden line carrying an environment's reviewed record:
// its JSON, gzipped, in base64.
func RecordLine(r deploy.Record) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_ = json.NewEncoder(zw).Encode(r)
	_ = zw.Close()
	return recordPrefix + base64.RawURLEncoding.EncodeToString(buf.Bytes()) + metaSuffix
}

// ParseRecord returns the record a comment body carries.
func ParseRecord(body string) (deploy.Record, bool) {
	for line := range strings.Lines(body) {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), recordPrefix)
		if !ok {
			continue
		}
		rest, ok = strings.CutSuffix(rest, metaSuffix)
		b, err := base64.RawURLEncoding.DecodeString(rest)
		if !ok || err != nil {
			return deploy.Record{}, false
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return deploy.Record{}, false
		}
		var r deploy.Record
		if err := json.NewDecoder(io.LimitReader(zr, 4<<20)).Decode(&r); err != nil {
			return deploy.Record{}, false
		}
		return r, true
	}
	return deploy.Record{}, false
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
