#!/usr/bin/env bash
# The Raft core's CPU cost per committed entry beside etcd-raft 3.4's, measured in one session, rounds
# interleaved (this machine is noisy: never compare figures from different runs).
#
#   bench/etcd/compare.sh [-r ROUNDS] [-t SECONDS] [RAFT_BENCH ...]
#
# RAFT_BENCH: one or more build/bench/raft_bench binaries (default: build/bench/raft_bench); give an old
# and a new one for an A/B of the core. Each round runs every binary and then etcd-raft, at 1, 8, 64 and
# 256 proposals per round (bench/raft_bench.cc's shape: three nodes in one process, 256-byte entries,
# MemoryStorage compacted every 4096 entries, no fsync). etcd-raft runs in two modes: "batch" (the
# round's proposals in one MsgProp, so one MsgApp per follower, as our core coalesces them) and "each"
# (one Propose() per entry, as etcd's server proposes). Printed: the median CPU µs/entry over the rounds,
# every round's figure, and the ratio of each binary to etcd-raft batch (< 1: cheaper than etcd-raft).
#
# Needs Debian's golang-go and golang-etcd-server-dev (etcd 3.4 sources in /usr/share/gocode); builds
# bench/etcd/raft_bench_etcd.go offline in GOPATH mode into $OUT (default build/bench/etcd).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rounds=3
min_time=1
while getopts "r:t:" opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    t) min_time=$OPTARG ;;
    *) sed -n 2,16p "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=("$root/build/bench/raft_bench")
for b in "${binaries[@]}"; do
  [ -x "$b" ] || { echo "compare.sh: $b is not an executable (cmake --build build --target raft_bench)" >&2; exit 2; }
done
[ -d /usr/share/gocode/src/go.etcd.io/etcd/raft ] || {
  echo "compare.sh: etcd-raft sources missing: apt-get install golang-go golang-etcd-server-dev" >&2
  exit 2
}
out=${OUT:-$root/build/bench/etcd}
mkdir -p "$out"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$out/gocache" \
  go build -o "$out/raft_bench_etcd" "$root/bench/etcd/raft_bench_etcd.go"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
# One line per measurement: <label> <batch> <µs/entry>.
for ((r = 1; r <= rounds; r++)); do
  for i in "${!binaries[@]}"; do
    "${binaries[$i]}" --benchmark_min_time="$min_time" 2>/dev/null |
      sed -n 's|^BM_CommitThreeNodes/\([0-9]*\) .*cpu_per_entry=\([0-9.]*\)\([mun]*\)s.*|\1 \2 \3|p' |
      awk -v label="raftbgp#$((i + 1))" '{ v = $2; if ($3 == "n") v /= 1000; if ($3 == "m") v *= 1000; print label, $1, v }' \
        >>"$results"
  done
  for mode in batch each; do
    "$out/raft_bench_etcd" -mode "$mode" -min_time "${min_time}s" |
      awk -v label="etcd-$mode" '{ print label, $2, $6 }' >>"$results"
  done
done

for i in "${!binaries[@]}"; do echo "raftbgp#$((i + 1)) = ${binaries[$i]}"; done
echo "CPU µs per committed entry, median of $rounds interleaved rounds (every round in brackets)"
python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
labels = []
for line in open(sys.argv[1]):
    label, batch, us = line.split()
    if label not in labels:
        labels.append(label)
    runs[(label, int(batch))].append(float(us))
batches = sorted({b for (_, b) in runs})
print(f"{'':14}" + "".join(f"{b:>30}" for b in batches))
for label in labels:
    cells = []
    for b in batches:
        v = runs.get((label, b), [])
        cells.append(f"{statistics.median(v):7.2f} [{' '.join(f'{x:.2f}' for x in v)}]" if v else "-")
    print(f"{label:14}" + "".join(f"{c:>30}" for c in cells))
for label in labels:
    if not label.startswith("raftbgp"):
        continue
    ratios = []
    for b in batches:
        ours, theirs = runs.get((label, b)), runs.get(("etcd-batch", b))
        ratios.append(f"{statistics.median(ours) / statistics.median(theirs):.2f}x" if ours and theirs else "-")
    print(f"{label + '/etcd':14}" + "".join(f"{r:>30}" for r in ratios))
PY
