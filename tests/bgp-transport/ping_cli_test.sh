#!/usr/bin/env bash
# raftbgp-ping start-up errors (no ExaBGP needed): each must be a config error (exit 2) with a message
# naming the cause, never a crash.
#  1. --key-id not in the key file (used to dereference a null key: SIGSEGV, exit 139);
#  2. a second process on the same state dir (the boot counter is locked: two processes must never seal
#     with one counter).
# And one stdin check: an over-long line from ExaBGP is dropped whole and counted in the results file, the
# line after it still arrives, and a line cut by EOF is counted as truncated (transport/line_splitter.h).
set -u
ping=${1:?usage: ping_cli_test.sh PATH/raftbgp-ping}
dir=$(mktemp -d /tmp/raftbgp-ping-cli.XXXXXX)
holder=""
cleanup() { [ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
printf '1 %s\n' "$(printf 'ab%.0s' $(seq 32))" > "$dir/keys"
chmod 600 "$dir/keys"
common=(--cluster-id 7 --id 1 --key-file "$dir/keys" --next-hop fd00::1 --state-dir "$dir")

"$ping" "${common[@]}" --key-id 9 < /dev/null > /dev/null 2> "$dir/err"
rc=$?
[ "$rc" = 2 ] || fail "--key-id 9: exit $rc, want 2 ($(cat "$dir/err"))"
grep -q -- "--key-id 9: not in $dir/keys" "$dir/err" || fail "--key-id 9: message: $(cat "$dir/err")"

# A first process holds the counter while its stdin stays open (a FIFO we keep a writer on).
mkfifo "$dir/in"
"$ping" "${common[@]}" < "$dir/in" > /dev/null 2> "$dir/first.err" &
holder=$!
exec 3> "$dir/in"
for _ in $(seq 50); do grep -q started "$dir/first.err" 2>/dev/null && break; sleep 0.1; done
grep -q "epoch 1 " "$dir/first.err" || fail "first process did not start with epoch 1: $(cat "$dir/first.err")"
"$ping" "${common[@]}" < /dev/null > /dev/null 2> "$dir/err"
rc=$?
[ "$rc" = 2 ] || fail "second process: exit $rc, want 2 ($(cat "$dir/err"))"
grep -q "in use by another process" "$dir/err" || fail "second process: message: $(cat "$dir/err")"
[ "$(cat "$dir/epoch")" = 1 ] || fail "the refused process bumped the counter: $(cat "$dir/epoch")"
exec 3>&-
wait "$holder"
holder=""
"$ping" "${common[@]}" < /dev/null > /dev/null 2> "$dir/err" || fail "third start: $(cat "$dir/err")"
[ "$(cat "$dir/epoch")" = 2 ] || fail "epoch after the third start: $(cat "$dir/epoch")"

{ head -c 300000 /dev/zero | tr '\0' x; printf '\ndone\nerr'; } | "$ping" "${common[@]}" > /dev/null 2> "$dir/err" ||
  fail "over-long line: $(cat "$dir/err")"
python3 - "$dir/ping.json" <<'PY' || fail "results after an over-long line: $(cat "$dir/ping.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["stdin"] == {"overlong_lines": 1, "truncated_at_eof": 1}, j["stdin"]
assert j["transport"]["acks_unexpected"] == 1, j["transport"]  # the `done` after the long line
PY
echo "ok"
