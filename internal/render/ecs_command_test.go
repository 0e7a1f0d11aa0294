package render

import (
	"slices"
	"strings"
	"testing"
)

// Copilot splits a string `command` or `entrypoint` of an ECS workload (and
// of a sidecar) into words with shell quoting rules (google/shlex); a list
// is taken as it is. The string cases restate Copilot's own tests:
// `read "some command"` is [read, some command], `-c read "some command"`
// is [-c, read, some command], `echo hello` is [echo, hello].
func TestStringCommandsSplitLikeCopilot(t *testing.T) {
	splits := []struct {
		value string
		want  []string
	}{
		{`echo hello`, []string{"echo", "hello"}},
		{`read "some command"`, []string{"read", "some command"}},
		{`-c read "some command"`, []string{"-c", "read", "some command"}},
		{`python -c "print('hello')"`, []string{"python", "-c", "print('hello')"}},
		{`'worker pool'`, []string{"worker pool"}},
		{`["/bin/sh", "-c"]`, []string{"/bin/sh", "-c"}},
	}
	heads := map[string]string{
		"Load Balanced Web Service": "image: {location: nginx, port: 80}\nhttp: {path: /}\n",
		"Backend Service":           "image: {location: nginx, port: 80}\n",
		"Worker Service":            "image: {location: nginx}\n",
		"Scheduled Job":             "image: {location: nginx}\non: {schedule: '@daily'}\n",
	}
	for kind, head := range heads {
		// The splitter is shared by every ECS type: each type checks the
		// quoting case, one checks them all.
		cases := splits[3:4]
		if kind == "Backend Service" {
			cases = splits
		}
		for _, sc := range cases {
			t.Run(kind+"/"+sc.value, func(t *testing.T) {
				v := yamlQuote(sc.value)
				manifest := "name: app\ntype: " + kind + "\n" + head + "command: " + v + "\nentrypoint: " + v + "\n" +
					"sidecars:\n  proxy:\n    image: envoy\n    command: " + v + "\n    entrypoint: " + v + "\n"
				_, root := renderOne(t, "demo", "app", manifest)
				for _, name := range []string{"main", "proxy"} {
					c := containerNamed(root, name)
					if c == nil {
						t.Fatalf("no %s container", name)
					}
					for _, field := range []string{"Command", "EntryPoint"} {
						var got []string
						if n := get(c, field); n != nil {
							for _, w := range n.Content {
								got = append(got, w.Value)
							}
						}
						if !slices.Equal(got, sc.want) {
							t.Errorf("%s %s = %q, want %q", name, field, got, sc.want)
						}
					}
				}
			})
		}
	}
}

// yamlQuote writes a manifest value: a flow list as it is, a string in
// YAML single quotes.
func yamlQuote(v string) string {
	if strings.HasPrefix(v, "[") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

// A string Copilot cannot split (an unclosed quote) fails Copilot's deploy;
// render refuses it with the manifest's line.
func TestUnsplittableCommandIsRefused(t *testing.T) {
	ws := loadWorkspace(t, "demo", map[string]string{
		"copilot/app/manifest.yml":               "name: app\ntype: Backend Service\nimage: {location: nginx}\ncommand: echo \"unclosed\n",
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	_, diags, err := Render(ws, nil, nil, seedOptions)
	if err == nil {
		t.Fatal("render accepted an unclosed quote")
	}
	var found bool
	for _, d := range diags {
		if d.Line == 4 && strings.Contains(d.Message, "quot") && strings.HasSuffix(d.File, "manifest.yml") {
			found = true
		}
	}
	if !found {
		t.Errorf("diagnostics %v do not name line 4 and the quote", diags)
	}
}
