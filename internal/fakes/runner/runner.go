// Package runner reads a step's log the way the GitHub Actions runner does,
// to tell which lines it would run as workflow commands.
package runner

import (
	"regexp"
	"strings"
)

var lineBreak = regexp.MustCompile(`\r\n|\r|\n`)

// Commands returns the lines of log the runner would run as workflow
// commands: it splits at \n, \r\n and \r (as .NET's line reader does),
// trims leading whitespace, and skips what lies between
// ::stop-commands::TOKEN and ::TOKEN::.
func Commands(log string) []string {
	var cmds []string
	stop := ""
	for _, line := range lineBreak.Split(log, -1) {
		line = strings.TrimLeft(line, " \t")
		switch {
		case stop != "":
			if line == "::"+stop+"::" {
				stop = ""
			}
		case strings.HasPrefix(line, "::stop-commands::"):
			stop = strings.TrimPrefix(line, "::stop-commands::")
		case strings.HasPrefix(line, "::"):
			cmds = append(cmds, line)
		}
	}
	return cmds
}
