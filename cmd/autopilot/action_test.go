package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestActionOutsideActions(t *testing.T) {
	broken := writeFiles(t, map[string]string{
		"copilot/.workspace":       "application: shop\n",
		"copilot/api/manifest.yml": "name: api\ntype: Backend Service\nimage:\n  location: nginx\n  port: \"80\"\n",
	})
	misspelled := misspelledPlacement(t)
	cases := []struct {
		name     string
		inputs   []string
		wantCode int
		wantErr  string
		// noOutputs: refused while reading the inputs, before any output.
		noOutputs bool
	}{
		{"lint the example", []string{"INPUT_COMMAND=lint", "INPUT_PATH=../../examples/apprunner-vpc"}, exitOK, "", false},
		{"auto without an event lints", []string{"INPUT_PATH=../../examples/apprunner-vpc"}, exitOK, "lint ran", false},
		{"lint errors fail", []string{"INPUT_COMMAND=lint", "INPUT_PATH=" + broken}, exitFailed, "nothing else runs", false},
		{"unknown command", []string{"INPUT_COMMAND=destroy"}, exitUsage, "use one of", true},
		{"bad boolean", []string{"INPUT_COMMAND=lint", "INPUT_STRICT=yes"}, exitUsage, "input strict", true},
		{"a misspelled key fails by default", []string{"INPUT_COMMAND=plan", "INPUT_PATH=" + misspelled}, exitFailed, "unknown key \"placment\"", false},
		{"unless strict is off", []string{"INPUT_COMMAND=lint", "INPUT_STRICT=false", "INPUT_PATH=" + misspelled}, exitOK, "unknown key \"placment\"", false},
		{"deploy without credentials", []string{"INPUT_COMMAND=deploy", "INPUT_PATH=../../examples/apprunner-vpc"}, exitUsage, "needs AWS credentials", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, tc.inputs, "action")
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.wantCode, stderr)
			}
			if !strings.Contains(stdout+stderr, tc.wantErr) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tc.wantErr, stdout, stderr)
			}
			if tc.noOutputs {
				return
			}
			// The outputs close standard output as one JSON object.
			out := stdout
			var outputs map[string]string
			if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n{")+1:]), &outputs); err != nil {
				t.Fatalf("no outputs object at the end of standard output: %v\n%s", err, out)
			}
			if outputs["has-changes"] != "false" || outputs["images"] != "[]" {
				t.Errorf("outputs = %v", outputs)
			}
		})
	}
}
