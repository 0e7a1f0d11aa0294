package report

import (
	"fmt"
	"html"
	"strings"
)

// Helpers that make untrusted text (names, CloudFormation messages, property
// values) safe to place in GitHub-flavoured markdown: it can neither break a
// table, open a fence or an HTML element, nor render as a link or mention.

// code renders s as an inline code span that is safe in a table cell.
func code(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(oneLine(s), "|", `\|`) // GFM splits table cells before code spans
	longest := longestRun(s, '`')
	if longest == 0 {
		return "`" + s + "`"
	}
	delim := strings.Repeat("`", longest+1)
	return delim + " " + s + " " + delim
}

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`,
	"~", `\~`, "#", `\#`, "@", "@\u200b", // a zero-width space keeps @team from pinging anyone
	"<", "&lt;", ">", "&gt;", "&", "&amp;",
)

// text renders s as plain text on one line, with markdown and HTML inert.
func text(s string) string {
	return mdEscaper.Replace(oneLine(s))
}

// htmlText renders s inside an HTML element such as <summary>.
func htmlText(s string) string {
	return html.EscapeString(oneLine(s))
}

// fence returns a backtick fence longer than any backtick run in body, so the
// body cannot close it.
func fence(body string) string {
	return strings.Repeat("`", max(3, longestRun(body, '`')+1))
}

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// link renders a markdown link when url is set and the label alone otherwise.
// Only http(s) URLs are linked; anything else could be a javascript: trap.
func link(label, url string) string {
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return label
	}
	url = strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "\n", "", "\r", "").Replace(url)
	return fmt.Sprintf("[%s](%s)", label, url)
}

// clip shortens a long value for display, saying how much was left out.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d more bytes)", len(s)-cut)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
