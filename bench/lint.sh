#!/usr/bin/env bash
# Lint speed: 200 services x 3 environments, loaded and linted in-process
# (target: under 150 ms), plus the one-time schema compilation, and the CLI
# end to end on the same generated workspace (hyperfine if installed).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run='^$' -bench='BenchmarkLintWorkspace|BenchmarkCompileSchemas' -benchtime=30x -count=5 ./internal/lint | tee /dev/stderr | grep -E '^Benchmark' |
  awk '{ split($1, n, "-"); sum[n[1]] += $3; cnt[n[1]]++ } END { for (k in sum) printf "%s: mean %.1f ms/op over %d runs\n", k, sum[k]/cnt[k]/1e6, cnt[k] }'
