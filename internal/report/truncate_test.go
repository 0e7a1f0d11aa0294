package report

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTruncate(t *testing.T) {
	const note = "_cut_"
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{name: "fits", in: "a\nb\n", limit: 4, want: "a\nb\n"},
		{name: "whole lines only", in: "aaa\nbbb\nccc\n", limit: 10, want: "\n_cut_\n"},
		{name: "keeps what fits with the note", in: "aaa\nbbb\nccc\n", limit: 11, want: "aaa\n\n_cut_\n"},
		{
			name:  "closes an open fence",
			in:    "intro\n```diff\n- a\n+ b\n- c\n+ d\n```\nafter\n",
			limit: 33,
			want:  "intro\n```diff\n- a\n+ b\n```\n\n_cut_\n",
		},
		{
			name:  "closes a longer tilde fence with its own run",
			in:    "~~~~\n~~~\nxxxxxxxxxxxxxxxxxxxx\n~~~~\n",
			limit: 21,
			want:  "~~~~\n~~~\n~~~~\n\n_cut_\n",
		},
		{
			name:  "closes nested details",
			in:    "<details><summary>a</summary>\n\n<DETAILS open>\nxx\n</details>\n</details>\ntail\n",
			limit: 75,
			want:  "<details><summary>a</summary>\n\n<DETAILS open>\n</details>\n</details>\n\n_cut_\n",
		},
		{
			name:  "a details tag inside a fence is text",
			in:    "```\n<details>\n```\nmore text here\n",
			limit: 25,
			want:  "```\n<details>\n```\n\n_cut_\n",
		},
		{
			name:  "an inline triple backtick with backticks after it is no fence",
			in:    "```a`b```\nline two\nline three\n",
			limit: 26,
			want:  "```a`b```\nline two\n\n_cut_\n",
		},
		{name: "note dropped when it cannot fit", in: "aaaa\nbbbb\n", limit: 6, want: "aaaa\n"},
		{name: "nothing fits", in: "aaaaaaaa\n", limit: 3, want: ""},
		{name: "zero limit", in: "a\n", limit: 0, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Truncate(tc.in, tc.limit, note)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Truncate(%q, %d) (-want +got):\n%s", tc.in, tc.limit, diff)
			}
			if len(got) > max(tc.limit, 0) {
				t.Errorf("len %d > limit %d", len(got), tc.limit)
			}
			if len(tc.in) > tc.limit && !balanced(got) {
				t.Errorf("result leaves a fence or <details> open:\n%s", got)
			}
		})
	}
}

func FuzzTruncate(f *testing.F) {
	f.Add("# t\n\n<details><summary>x</summary>\n\n```diff\n- a\n+ b\n```\n\n</details>\n", 40)
	f.Add("````\n```\n````\n~~~\n<details>\n", 12)
	f.Add("<details>\n<details>\n<details>\n</details>\n", 30)
	f.Add("   ```go\ncode\n    ```\nmore\n```\n", 20)
	f.Add(strings.Repeat("| a | b |\n", 100), 333)
	f.Add("\r\n```\r\n<details>\r\n", 9)
	f.Fuzz(func(t *testing.T, in string, limit int) {
		limit = limit % (2 * (len(in) + 1))
		const note = "> [!NOTE]\n> trimmed"
		got := Truncate(in, limit, note)
		if len(in) <= limit {
			if got != in {
				t.Fatalf("input that fits was changed")
			}
			return
		}
		if len(got) > max(limit, 0) {
			t.Fatalf("len %d exceeds limit %d", len(got), limit)
		}
		if !balanced(got) {
			t.Fatalf("unbalanced result for limit %d:\n%q\nfrom\n%q", limit, got, in)
		}
		// Everything before the closers and the note is the input's own text.
		kept, _ := strings.CutSuffix(got, "\n"+note+"\n")
		if n := commonPrefix(in, kept); !onlyClosers(kept[n:]) {
			t.Fatalf("result adds %q, which is not a closer", kept[n:])
		}
	})
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func onlyClosers(s string) bool {
	for l := range strings.Lines(s) {
		l = strings.TrimSuffix(l, "\n")
		if l != "</details>" && strings.Trim(l, "`") != "" && strings.Trim(l, "~") != "" {
			return false
		}
	}
	return true
}
