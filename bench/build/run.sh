#!/usr/bin/env bash
# Compares `autopilot build` (internal/image) with buildah and crane on a
# generated ~50 MB / 2,000-file context, pushing to one local registry whose
# proxy counts the bytes uploaded. Three scenarios: cold, one small file
# changed, nothing changed. Prints medians of RUNS runs (default 3), with
# the bytes and requests the registry received. autopilot builds and
# pushes with image.BuildAndPush; `driver push -overlap=false` times Build
# then Push, `-trace` prints each registry request, `-cpuprofile` profiles.
#
#   bench/build/run.sh            # from the repository root
#
# Needs: docker-registry (apt), busybox-static (apt); optional: buildah
# (apt) and crane (go install github.com/google/go-containerregistry/cmd/crane@v0.22.1).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
WORK=$(mktemp -d)
trap 'kill "$SERVE_PID" 2>/dev/null || true; wait 2>/dev/null || true; chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

go build -o "$WORK/driver" ./bench/build
mkdir -p "$WORK/registry"
"$WORK/driver" serve -dir "$WORK/registry" -host-file "$WORK/host" -ctl-file "$WORK/ctl" &
SERVE_PID=$!
for _ in $(seq 100); do [ -s "$WORK/host" ] && [ -s "$WORK/ctl" ] && break; sleep 0.1; done
HOST=$(cat "$WORK/host"); CTL=$(cat "$WORK/ctl")

mkdir -p "$WORK/baseroot/bin"
cp /bin/busybox "$WORK/baseroot/bin/busybox"
ln -s busybox "$WORK/baseroot/bin/sh"
tar -C "$WORK/baseroot" -cf "$WORK/base.tar" .
BASE_TAR="$WORK/base.tar" "$WORK/driver" base -ref "$HOST/base:latest"
BASE="$HOST/base:latest" "$WORK/driver" gen -dir "$WORK/ctx"
echo "context: $(find "$WORK/ctx" -type f | wc -l) files, $(du -sm "$WORK/ctx" | cut -f1) MB; registry $HOST" >&2

reset() { curl -fsS -X POST "http://$CTL/reset" >/dev/null; }
bytes() { curl -fsS "http://$CTL/bytes"; }
requests() { curl -fsS "http://$CTL/requests"; }
now() { date +%s.%N; }
edit() { printf 'print("edit %s")\n' "$1" > "$WORK/ctx/src/mod07/file0007.py"; }
restore() { head -c 16384 /dev/urandom > "$WORK/ctx/src/mod07/file0007.py"; }

RESULTS="$WORK/results"
: > "$RESULTS"
record() { echo "$1 $2 $3 $4 $5" >> "$RESULTS"; } # tool scenario seconds bytes requests

# run TOOL SCENARIO CMD...: time a command and count the bytes it uploaded.
run() {
  local tool=$1 scen=$2; shift 2
  reset
  local t0; t0=$(now)
  "$@" >/dev/null 2>"$WORK/err" || { echo "$tool $scen failed:" >&2; cat "$WORK/err" >&2; return 1; }
  local t1; t1=$(now)
  record "$tool" "$scen" "$(echo "$t1 - $t0" | bc)" "$(bytes)" "$(requests)"
}

autopilot() { # autopilot NAME RUN SPLIT
  local repo="$HOST/$1-$2" cache="$WORK/cache-$1-$2"
  run "$1" cold "$WORK/driver" push -context "$WORK/ctx" -repo "$repo" -cache "$cache" -split="$3"
  edit "$2"
  run "$1" onefile "$WORK/driver" push -context "$WORK/ctx" -repo "$repo" -cache "$cache" -split="$3"
  run "$1" nochange "$WORK/driver" push -context "$WORK/ctx" -repo "$repo" -cache "$cache" -split="$3"
  restore
}

crane_run() { # tar the context and append it to the base as one layer
  tar -C "$WORK/ctx" --sort=name --mtime=@0 --owner=0 --group=0 -cf "$WORK/layer.tar" . &&
    crane append --platform linux/amd64 -b "$HOST/base:latest" -f "$WORK/layer.tar" -t "$1"
}
crane_bench() {
  local repo="$HOST/crane-$1:latest"
  run crane cold crane_run "$repo"
  edit "$1"
  run crane onefile crane_run "$repo"
  run crane nochange crane_run "$repo"
  restore
}

buildah_run() { # ROOT TAG
  buildah --root "$1" --runroot "$1.run" --storage-driver vfs bud --layers --isolation chroot --tls-verify=false \
    -t "bench:$2" -f "$WORK/ctx/Dockerfile" "$WORK/ctx" &&
    buildah --root "$1" --runroot "$1.run" --storage-driver vfs push --tls-verify=false "bench:$2" "docker://$HOST/buildah-$2:latest"
}
buildah_bench() {
  local root="$WORK/buildah-$1"
  run buildah cold buildah_run "$root" "$1"
  edit "$1"
  run buildah onefile buildah_run "$root" "$1"
  run buildah nochange buildah_run "$root" "$1"
  restore
}

export -f crane_run buildah_run
HAVE_CRANE=$(command -v crane || true)
HAVE_BUILDAH=$(command -v buildah || true)
for i in $(seq "$RUNS"); do
  autopilot autopilot-split "$i" true
  autopilot autopilot-onelayer "$i" false
  [ -n "$HAVE_CRANE" ] && crane_bench "$i"
  if [ -n "$HAVE_BUILDAH" ]; then buildah_bench "$i" || { echo "buildah could not run here; skipping it" >&2; HAVE_BUILDAH=; }; fi
done

python3 - "$RESULTS" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    tool, scen, secs, nbytes, nreq = line.split()
    rows[(tool, scen)].append((float(secs), int(nbytes), int(nreq)))
med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v), min(r[0] for r in v), statistics.median(r[2] for r in v)) for k, v in rows.items()}
tools = []
for tool, _ in rows:
    if tool not in tools:
        tools.append(tool)
print(f"{'tool':22} {'scenario':9} {'median s':>9} {'min s':>7} {'MB sent':>8} {'requests':>8} {'vs buildah':>10}")
for tool in tools:
    for scen in ("cold", "onefile", "nochange"):
        if (tool, scen) not in med:
            continue
        s, b, lo, nreq = med[(tool, scen)]
        ref = med.get(("buildah", scen))
        ratio = f"{s / ref[0]:.2f}x" if ref else "-"
        print(f"{tool:22} {scen:9} {s:9.3f} {lo:7.3f} {b / 1e6:8.2f} {nreq:8.0f} {ratio:>10}")
PY
