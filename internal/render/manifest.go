package render

import (
	"regexp"
	"strconv"
)

var lineInError = regexp.MustCompile(`line (\d+)`)

// errorLine finds the manifest line a yaml.v3 decoding error names, or 0.
func errorLine(err error) int {
	if m := lineInError.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}
