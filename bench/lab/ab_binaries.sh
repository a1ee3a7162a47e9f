#!/bin/sh
# A/B of raftbgpd builds on star3 (not a test): for each round, for each BIN_DIR (holding raftbgpd and
# raftbgpctl), bring star3 up fresh, find the leader, and measure with build/bench/kv_load at the leader:
# one client's p50 (5 s), committed writes/s with 8 clients (5 s) and with 64 clients (8 s). Alternating
# the binaries round by round spreads the machine's drift over both; compare the pairs, not the columns.
#
#   bench/lab/ab_binaries.sh ROUNDS BIN_DIR [BIN_DIR...]      # as root, from the repository
#
# Used for the commit-only AppendEntries and in-flight window decisions (git log). Namespaces: ab-star3-*,
# state under /tmp/ab-run; the lab is brought down after every round, also when a step fails.
set -u
[ $# -ge 2 ] || { sed -n '2,9p' "$0"; exit 2; }
cd "$(dirname "$0")/../.." || exit 2
export RAFTBGP_LAB_RUN=/tmp/ab-run RAFTBGP_LAB_NS_PREFIX=ab
LAB=lab/star3.clab.yml
KV=build/bench/kv_load
rounds=$1
shift
trap 'lab/clab-netns down $LAB >/dev/null 2>&1' EXIT INT TERM
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print('%.${2}f' % d['$1'])"; }
r=1
while [ "$r" -le "$rounds" ]; do
  for bin in "$@"; do
    lab/clab-netns up $LAB --bin-dir "$bin" --wait 60 >/dev/null 2>&1 || { echo "$bin: lab did not come up"; exit 1; }
    s=/tmp/ab-run/star3
    leader=
    i=0
    while [ -z "$leader" ] && [ $i -lt 150 ]; do
      for n in r1 r2 r3; do
        "$bin/raftbgpctl" --socket $s/$n/run/raftbgpd.sock status 2>/dev/null | grep -q "role leader" && leader=$n
      done
      i=$((i + 1))
      [ -n "$leader" ] || sleep 0.2
    done
    [ -n "$leader" ] || { echo "$bin: no leader"; exit 1; }
    sock=$s/$leader/run/raftbgpd.sock
    $KV --socket "$sock" --clients 1 --count 100 >/dev/null
    p50=$($KV --socket "$sock" --clients 1 --seconds 5 | field p50_ms 2)
    w8=$($KV --socket "$sock" --clients 8 --seconds 5 | field writes_per_s 0)
    w64=$($KV --socket "$sock" --clients 64 --seconds 8 | field writes_per_s 0)
    echo "round $r $bin: p50_1client_ms=$p50 writes_s_8=$w8 writes_s_64=$w64"
    lab/clab-netns down $LAB >/dev/null 2>&1
  done
  r=$((r + 1))
done
