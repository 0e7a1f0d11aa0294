package report_test

import (
	"fmt"
	"os"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/report"
)

func ExampleTruncate() {
	md := "<details><summary>diff</summary>\n\n```diff\n- old\n+ new\n- old2\n+ new2\n```\n\n</details>\n"
	fmt.Print(report.Truncate(md, 74, "_trimmed_"))
	// Output:
	// <details><summary>diff</summary>
	//
	// ```diff
	// - old
	// ```
	// </details>
	//
	// _trimmed_
}

func ExampleTarget_Marker() {
	t := report.Target{App: "demo", Env: "test", Account: "123456789012", Region: "us-east-1"}
	fmt.Println(t.Marker())
	back, ok := report.ParseMarker("text\n" + t.Marker() + "\n")
	fmt.Println(back == t, ok)
	// Output:
	// <!-- autopilot:plan app=demo env=test account=123456789012 region=us-east-1 -->
	// true true
}

func ExampleLint() {
	findings := diag.List{{File: "copilot/api/manifest.yml", Line: 4, Column: 9, Severity: diag.Error, Rule: "type",
		Message: `port must be an integer, got "80"`, Fix: "write port: 80"}}
	_ = report.Lint(os.Stdout, findings, report.FormatGitHub)
	// Output:
	// ::error file=copilot/api/manifest.yml,line=4,col=9,title=autopilot type::port must be an integer, got "80"%0AFix: write port: 80
}
