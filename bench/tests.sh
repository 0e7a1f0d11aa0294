#!/usr/bin/env bash
# Times the README's test command package by package, slowest first: CPU
# seconds (user+sys, child processes included: wall time is noisy on a
# shared machine) and wall seconds, then the slowest tests.
# Needs GNU time (apt-get install -y time) and jq.
# Usage: bench/tests.sh [packages]   (default ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
total=$(mktemp)
trap 'rm -f "$out" "$total"' EXIT
status=0
/usr/bin/time -o "$total" -f 'all: %U+%S s CPU, %e s wall, compiling included' \
  go test -race -count=1 -json -exec '/usr/bin/time -f "TIMES %U %S %e"' "${@:-./...}" >"$out" || status=$?
echo "per package:"
jq -r 'select(.Action == "output" and (.Output | startswith("TIMES "))) | "\(.Package) \(.Output | rtrimstr("\n"))"' "$out" |
  awk '{printf "%7.1f s CPU %7.1f s wall  %s\n", $3 + $4, $5, $1}' | sort -rn
echo "slowest tests:" # (sed, not head: head would stop sort early and fail the pipe)
jq -r 'select((.Action == "pass" or .Action == "fail") and .Test != null and (.Test | contains("/") | not)) |
  "\(.Elapsed) s  \(.Package | sub(".*/autopilot/"; ""))  \(.Test)"' "$out" | sort -rn | sed -n 1,10p
jq -r 'select(.Action == "fail" and .Test == null) | "FAIL \(.Package)"' "$out"
cat "$total"
exit "$status"
