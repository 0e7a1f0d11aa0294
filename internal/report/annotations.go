package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// EscapeData escapes a workflow command's message the way the Actions
// runner decodes it: '%', CR and LF become %25, %0D and %0A, so a message can
// neither end the command line nor start another command.
func EscapeData(s string) string {
	return dataEscaper.Replace(s)
}

// EscapeProperty escapes a workflow command's property value: as EscapeData,
// plus ':' (%3A), which would end the properties, and ',' (%2C), which would
// start another property.
func EscapeProperty(s string) string {
	return propertyEscaper.Replace(s)
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// annotationCommand maps a severity onto the workflow command that shows it.
func annotationCommand(s diag.Severity) string {
	switch s {
	case diag.Error:
		return "error"
	case diag.Warning:
		return "warning"
	default:
		return "notice"
	}
}

// lintGitHub writes one workflow command per finding, e.g.
// "::error file=copilot/api/manifest.yml,line=3,col=7,title=unknown-key::message",
// which the runner turns into an annotation on that line of the pull request.
func lintGitHub(w io.Writer, l diag.List, o *options) error {
	var b strings.Builder
	for _, d := range l {
		props := []string{"file=" + EscapeProperty(d.File)}
		if d.Line > 0 {
			props = append(props, "line="+strconv.Itoa(d.Line))
			if d.Column > 0 {
				props = append(props, "col="+strconv.Itoa(d.Column))
			}
		}
		title := "autopilot " + d.Rule
		if d.Env != "" {
			title += " (environment " + d.Env + ")"
		}
		props = append(props, "title="+EscapeProperty(title))
		msg := d.Message
		if d.Fix != "" {
			msg += "\nFix: " + d.Fix
		}
		fmt.Fprintf(&b, "::%s %s::%s\n", annotationCommand(d.Severity), strings.Join(props, ","), EscapeData(msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
