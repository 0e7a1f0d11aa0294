package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// writeLargeWorkspace writes a workspace of services × environments with
// every service overriding something per environment.
func writeLargeWorkspace(b *testing.B, services, envs int) string {
	b.Helper()
	dir := b.TempDir()
	write := func(p, s string) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("copilot/.workspace", "application: bench\n")
	write("svc/Dockerfile", "FROM scratch\n")
	write("w/Dockerfile", "FROM scratch\n")
	for e := 0; e < envs; e++ {
		write(fmt.Sprintf("copilot/environments/env%d/manifest.yml", e), fmt.Sprintf("name: env%d\ntype: Environment\nobservability:\n  container_insights: true\n", e))
	}
	kinds := []string{
		"type: Load Balanced Web Service\nhttp:\n  path: /\n  healthcheck: {path: /health, interval: 10s}\nimage:\n  build: svc/Dockerfile\n  port: 8080\ncpu: 512\nmemory: 1024\ncount:\n  range: 1-10\n  cpu_percentage: 70\n",
		"type: Backend Service\nimage:\n  location: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1\n  port: 8080\ncpu: 256\nmemory: 512\npublish:\n  topics:\n    - name: orders\n",
		"type: Worker Service\nimage:\n  build: {context: ., dockerfile: w/Dockerfile}\nsubscribe:\n  topics:\n    - name: orders\n      service: svc1\n",
		"type: Request-Driven Web Service\nimage:\n  build: svc/Dockerfile\n  port: 8080\nnetwork:\n  vpc:\n    placement: private\n",
	}
	for s := 0; s < services; s++ {
		body := fmt.Sprintf("name: svc%d\n%svariables:\n  LOG_LEVEL: info\n  REGION: ${COPILOT_ENVIRONMENT_NAME}\nenvironments:\n", s, kinds[s%len(kinds)])
		for e := 0; e < envs; e++ {
			body += fmt.Sprintf("  env%d:\n    variables:\n      LOG_LEVEL: debug\n", e)
		}
		write(fmt.Sprintf("copilot/svc%d/manifest.yml", s), body)
	}
	return dir
}

// BenchmarkLintWorkspace loads and lints 200 services × 3 environments, the
// whole of `autopilot lint` but for printing. Target: under 150 ms.
func BenchmarkLintWorkspace(b *testing.B) {
	dir := writeLargeWorkspace(b, 200, 3)
	if _, err := schemas(); err != nil { // compiled once per process, as in the CLI
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ws, err := workspace.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		findings, err := Lint(ws, Options{Lookup: func(string) (string, bool) { return "", false }})
		if err != nil {
			b.Fatal(err)
		}
		if findings.HasErrors() {
			b.Fatalf("generated workspace has errors: %v", findings[:1])
		}
	}
}

// BenchmarkCompileSchemas measures the one-time schema compilation a run pays.
func BenchmarkCompileSchemas(b *testing.B) {
	for b.Loop() {
		if _, err := compileSchemas(); err != nil {
			b.Fatal(err)
		}
	}
}
