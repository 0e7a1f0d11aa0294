package github

import (
	"bytes"
	"strings"
	"testing"
)

func TestMasker(t *testing.T) {
	var m Masker
	m.Add("AKIAIOSFODNN7EXAMPLE")
	m.Add("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	m.Add("wJalrXUtnFEMI") // a prefix of another secret
	m.Add("")
	m.Add("line-one-secret\nline-two-secret")
	tests := []struct{ in, want string }{
		{"key AKIAIOSFODNN7EXAMPLE used", "key *** used"},
		{"secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY;", "secret=***;"},
		{"only line-two-secret leaked", "only *** leaked"},
		{"nothing here", "nothing here"},
	}
	for _, tc := range tests {
		if got := m.Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskWriterSplitWrites(t *testing.T) {
	var m Masker
	m.Add("hunter2-secret")
	var out bytes.Buffer
	w := m.Writer(&out)
	for _, chunk := range []string{"pass: hun", "ter2-sec", "ret\nnext hunter2-", "secret"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "pass: ***\nnext ***" || strings.Contains(got, "hunter2") {
		t.Errorf("written %q", got)
	}
}

func TestRuntimeMaskCoversCommentBodies(t *testing.T) {
	r, _ := newTestRuntime(t, nil)
	if err := r.AddMask("ghs_token123"); err != nil {
		t.Fatal(err)
	}
	if got := r.Mask("body with ghs_token123"); got != "body with ***" {
		t.Errorf("Mask = %q", got)
	}
}
