#!/usr/bin/env bash
# Addon merge speed. First the in-process merge of two addon files of n
# resources each (BenchmarkMergeAddons): ns/resource must stay flat as n
# grows (linear merge; above 500 resources the merge ends in the limit's
# refusal). Then the CLI end to end: `autopilot plan --offline` on the seed
# example with FILES addon files of RESOURCES resources each, which must be
# refused (CloudFormation holds 500 resources per stack) in seconds.
#
#   bench/addons.sh            # from anywhere; FILES="2 8" RESOURCES=27000
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench BenchmarkMergeAddons -benchtime "${BENCHTIME:-3x}" ./internal/render | grep -E '^Benchmark'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/autopilot" ./cmd/autopilot
n=${RESOURCES:-27000}
for files in ${FILES:-2 8}; do
  ws="$work/ws$files"
  cp -r examples/apprunner-vpc "$ws"
  rm -f "$ws"/copilot/demo-service/addons/*
  for ((i = 0; i < files; i++)); do
    {
      printf 'Parameters:\n  App: {Type: String}\n  Env: {Type: String}\n  Name: {Type: String}\nResources:\n'
      awk -v i="$i" -v n="$n" 'BEGIN { for (j = 0; j < n; j++) printf "  Queue%dx%d:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub \"${App}-${Env}-q%d-%d\"\n", i, j, i, j }'
    } > "$ws/copilot/demo-service/addons/part$i.yml"
  done
  start=$(date +%s.%N)
  if "$work/autopilot" plan --offline "$ws" > "$work/out" 2>&1; then
    echo "plan of $files x $n resources was not refused" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  grep -q "over CloudFormation's limit of 500 per stack" "$work/out" || { cat "$work/out" >&2; exit 1; }
  awk -v f="$files" -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "plan --offline, %d files x %d resources: refused in %.2f s\n", f, n, e - s }'
done
