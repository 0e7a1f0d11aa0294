package render

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// The goldens below pin what render produces, byte for byte, so a change in
// how render reads manifests cannot change a template unnoticed. -update
// rewrites them; a rewrite belongs in its own commit that says why.

// goldenWorkspaces are the workspaces on disk that render must keep
// rendering identically (every environment and workload of each), and the
// folder of each one's golden files.
var goldenWorkspaces = map[string]struct{ dir, golden string }{
	"examples-apprunner-vpc": {"../../examples/apprunner-vpc", "testdata/apprunner-vpc"},
	"render-ecs-sidecars":    {ecsSidecarsDir, ecsSidecarsDir + "/golden"},
	"render-ecs-web":         {ecsWebDir, ecsWebDir + "/golden"},
	"render-env-addons":      {envAddonsDir, envAddonsDir + "/golden"},
	"render-static-site":     {staticSiteDir, staticSiteDir + "/golden"},
	"render-domains":         {domainsDir, goldenDir + "/render-domains"},
	"render-env-edge":        {envEdgeDir, envEdgeDir + "/golden"},
	"run-broken":             {"../run/testdata/broken", goldenDir + "/run-broken"},
}

const goldenDir = "testdata/golden"

// TestWorkspaceGoldens renders every workspace of goldenWorkspaces (all
// environments and workloads: templates, parameters, addons and findings)
// and compares the files with its golden folder.
func TestWorkspaceGoldens(t *testing.T) {
	for name, w := range goldenWorkspaces {
		t.Run(name, func(t *testing.T) {
			ws, err := workspace.Load(w.dir)
			if err != nil {
				t.Fatalf("load %s: %v", w.dir, err)
			}
			files := renderedFiles(t, ws, w.dir)
			golden := w.golden
			if *update {
				writeGoldenDir(t, golden, files)
				return
			}
			for f, data := range files {
				want, err := os.ReadFile(filepath.Join(golden, f))
				if err != nil {
					t.Errorf("missing golden file (run go test -run TestWorkspaceGoldens -update): %v", err)
					continue
				}
				if string(want) != data {
					t.Errorf("%s/%s differs from its golden file; rerun with -update to see the diff in git", name, f)
				}
			}
			entries, _ := os.ReadDir(golden)
			for _, e := range entries {
				if _, ok := files[e.Name()]; !ok {
					t.Errorf("%s/%s is no longer rendered", name, e.Name())
				}
			}
		})
	}
}

// renderedFiles renders ws with seedOptions into the files WriteDir
// writes, plus findings.txt (one finding a line, paths relative to root).
func renderedFiles(t testing.TB, ws *workspace.Workspace, root string) map[string]string {
	t.Helper()
	stacks, diags, _ := Render(ws, nil, nil, seedOptions)
	out := t.TempDir()
	if err := WriteDir(out, stacks); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(data)
	}
	var findings strings.Builder
	for _, d := range diags {
		if rel, err := filepath.Rel(root, d.File); err == nil && d.File != "" {
			d.File = filepath.ToSlash(rel)
		}
		findings.WriteString(d.String() + "\n")
	}
	files["findings.txt"] = findings.String()
	return files
}

func writeGoldenDir(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, data := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The inline corpus: every workspace a render test builds with
// loadWorkspace is recorded, and after the tests TestMain renders each
// again with seedOptions and compares a digest of the output with
// testdata/golden/inline.sum. The digests cover the many feature manifests
// the tests hold without committing megabytes of templates;
// -corpus-dump DIR writes the full output to compare two versions.
var corpusDump = flag.String("corpus-dump", "", "write the rendered inline corpus under DIR")

var corpus struct {
	sync.Mutex
	files map[string]map[string]string // test key -> manifest files
	seen  map[string]int
}

// recordWorkspace adds a test's workspace files to the corpus.
func recordWorkspace(t testing.TB, files map[string]string) {
	corpus.Lock()
	defer corpus.Unlock()
	if corpus.files == nil {
		corpus.files, corpus.seen = map[string]map[string]string{}, map[string]int{}
	}
	corpus.seen[t.Name()]++
	key := fmt.Sprintf("%s#%d", t.Name(), corpus.seen[t.Name()])
	corpus.files[key] = maps.Clone(files)
}

const corpusSums = goldenDir + "/inline.sum"

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && len(corpus.files) > 0 {
		if err := checkCorpus(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL inline render corpus:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// checkCorpus renders the recorded workspaces and compares (or, with
// -update, merges) their digests with inline.sum.
func checkCorpus() error {
	want := map[string]string{}
	if data, err := os.ReadFile(corpusSums); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if sum, key, ok := strings.Cut(line, " "); ok {
				want[key] = sum
			}
		}
	}
	// A full -update run rewrites the file (dropping the digests of tests
	// that are gone); one with -run adds to it.
	fresh := want
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() == "" {
		fresh = map[string]string{}
	}
	tb := &corpusTB{}
	defer tb.cleanup()
	var problems []string
	for key, files := range corpus.files {
		root, err := os.MkdirTemp("", "corpus")
		if err != nil {
			return err
		}
		tb.dirs = append(tb.dirs, root)
		for name, body := range files {
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				return err
			}
		}
		ws, err := workspace.Load(root)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		out := renderedFiles(tb, ws, root)
		names := slices.Sorted(maps.Keys(out))
		h := sha256.New()
		var full strings.Builder
		for _, n := range names {
			fmt.Fprintf(&full, "==== %s\n%s", n, out[n])
		}
		h.Write([]byte(full.String()))
		sum := hex.EncodeToString(h.Sum(nil))[:24]
		if *corpusDump != "" {
			p := filepath.Join(*corpusDump, strings.NewReplacer("/", "__", " ", "_").Replace(key)+".txt")
			if err := os.MkdirAll(*corpusDump, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(full.String()), 0o644); err != nil {
				return err
			}
		}
		if *update {
			fresh[key] = sum
			continue
		}
		switch w, ok := want[key]; {
		case !ok:
			problems = append(problems, key+": not in "+corpusSums+" (run the render tests with -update)")
		case w != sum:
			problems = append(problems, key+": rendered output changed (compare with -corpus-dump DIR)")
		}
	}
	if *update {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(fresh)) {
			fmt.Fprintf(&b, "%s %s\n", fresh[k], k)
		}
		return os.WriteFile(corpusSums, []byte(b.String()), 0o644)
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("%d of %d workspaces:\n  %s", len(problems), len(corpus.files), strings.Join(problems, "\n  "))
	}
	return nil
}

// corpusTB is the testing.TB renderedFiles needs outside a test.
type corpusTB struct {
	testing.TB
	dirs []string
}

func (c *corpusTB) Helper() {}
func (c *corpusTB) TempDir() string {
	d, err := os.MkdirTemp("", "corpus-out")
	if err != nil {
		panic(err)
	}
	c.dirs = append(c.dirs, d)
	return d
}
func (c *corpusTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }
func (c *corpusTB) cleanup() {
	for _, d := range c.dirs {
		os.RemoveAll(d)
	}
}

// TestSchemaExamplesInCorpus adds the schema's valid example manifests to
// the inline corpus: each workload in an environment "test", and each
// environment manifest on its own.
func TestSchemaExamplesInCorpus(t *testing.T) {
	paths, err := filepath.Glob("../../schema/testdata/valid/*.yml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no schema examples: %v", err)
	}
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			files := map[string]string{"copilot/.workspace": "application: app\n"}
			if strings.HasPrefix(filepath.Base(p), "environment-") {
				files["copilot/environments/test/manifest.yml"] = string(body)
			} else {
				files["copilot/svc/manifest.yml"] = string(body)
				files["copilot/environments/test/manifest.yml"] = testEnvManifest
			}
			recordWorkspace(t, files)
		})
	}
}
