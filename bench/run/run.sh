#!/usr/bin/env bash
# Compares daemonless RUN (internal/image/chroot through internal/image)
# with `buildah bud --layers --isolation chroot` (vfs storage) on a
# Dockerfile with two RUN steps and a COPY: cold build, warm rebuild after a
# source change behind the RUN steps, and no change. Prints each time and
# its ratio to buildah's.
#
#   sudo bench/run/run.sh           # from the repository root; COUNT=3 runs
#
# Needs: root, busybox-static (apt); buildah (apt) for the comparison.
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-3}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
go test -run '^$' -bench BenchmarkRun -benchtime "${BENCHTIME:-3x}" -count "$COUNT" ./bench/run/ | tee "$OUT" >&2
python3 - "$OUT" <<'PY'
import re, statistics, sys, collections
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"BenchmarkRun/(\w+)/(\w+)-\d+\s+\d+\s+([\d.]+) ns/op", line)
    if m:
        times[(m[1], m[2])].append(float(m[3]) / 1e9)
print(f"{'scenario':9} {'autopilot s':>12} {'buildah s':>10} {'ratio':>8}")
for scen in ("cold", "warm", "nochange"):
    ours = statistics.median(times[("autopilot", scen)]) if times[("autopilot", scen)] else None
    theirs = statistics.median(times[("buildah", scen)]) if times[("buildah", scen)] else None
    ratio = f"{ours / theirs:.3f}x" if ours and theirs else "-"
    fmt = lambda v: f"{v:.3f}" if v is not None else "-"
    print(f"{scen:9} {fmt(ours):>12} {fmt(theirs):>10} {ratio:>8}")
PY
