#!/usr/bin/env bash
# One-off capture of the golden ExaBGP lines (not a test; needs root, exabgp 4.2.21 and bird2).
#   A (ExaBGP, AS 65001) — B (BIRD 2, AS 65002, no forwarding) — C (ExaBGP, AS 65003)
# A's helper forwards lines from a FIFO to ExaBGP and logs its stdin (acks); C's helper logs every stdin
# line verbatim. Usage: capture.sh BUILD_DIR   (BUILD_DIR holds bgp-transport/raftbgp_golden_commands)
# Everything is stopped by PID and the namespaces deleted on exit, also on failure.
set -euo pipefail
build=${1:?usage: capture.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
lab=$(mktemp -d /tmp/rbgp-gold.XXXXXX)
pids=()
ns=(rbgp-gold-a rbgp-gold-b rbgp-gold-c)
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for n in "${ns[@]}"; do ip netns del "$n" 2>/dev/null; done
  echo "lab left in $lab (logs); remove with rm -rf $lab"
}
trap cleanup EXIT

for n in "${ns[@]}"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add ab0 netns rbgp-gold-a type veth peer name ba0 netns rbgp-gold-b
ip link add bc0 netns rbgp-gold-b type veth peer name cb0 netns rbgp-gold-c
ip -n rbgp-gold-a addr add 10.255.2.1/30 dev ab0; ip -n rbgp-gold-a addr add fd00:255:2::1/64 dev ab0 nodad
ip -n rbgp-gold-b addr add 10.255.2.2/30 dev ba0; ip -n rbgp-gold-b addr add fd00:255:2::2/64 dev ba0 nodad
ip -n rbgp-gold-b addr add 10.255.3.1/30 dev bc0; ip -n rbgp-gold-b addr add fd00:255:3::1/64 dev bc0 nodad
ip -n rbgp-gold-c addr add 10.255.3.2/30 dev cb0; ip -n rbgp-gold-c addr add fd00:255:3::2/64 dev cb0 nodad
ip -n rbgp-gold-a link set ab0 up; ip -n rbgp-gold-b link set ba0 up
ip -n rbgp-gold-b link set bc0 up; ip -n rbgp-gold-c link set cb0 up
ip netns exec rbgp-gold-b sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0

cat > "$lab/helper.py" <<'PY'
#!/usr/bin/python3
# A: FIFO lines -> stdout (ExaBGP); every stdin line -> NAME.stdin.log verbatim. C: only the logging.
import os, sys, threading
name, lab = sys.argv[1], sys.argv[2]
log = open('%s/%s.stdin.log' % (lab, name), 'a', buffering=1)
out = open('%s/%s.stdout.log' % (lab, name), 'a', buffering=1)
def reader():
    for line in sys.stdin:
        log.write(line)
    os._exit(0)
threading.Thread(target=reader, daemon=True).start()
ctl = '%s/%s.ctl' % (lab, name)
if not os.path.exists(ctl): os.mkfifo(ctl)
while True:
    with open(ctl) as f:
        for line in f:
            line = line.rstrip('\n')
            if line:
                sys.stdout.write(line + '\n'); sys.stdout.flush(); out.write(line + '\n')
PY

exa_conf() {  # name local peer local_as peer_as
  cat > "$lab/$1.conf" <<CONF
process helper {
    run /usr/bin/python3 $lab/helper.py $1 $lab;
    encoder json;
}
neighbor $3 {
    router-id $2;
    local-address $2;
    local-as $4;
    peer-as $5;
    hold-time 30;
    family {
        ipv4 unicast;
        ipv6 unicast;
    }
    api {
        processes [ helper ];
        neighbor-changes;
        receive {
            parsed;
            update;
        }
    }
}
CONF
}
exa_conf a 10.255.2.1 10.255.2.2 65001 65002
exa_conf c 10.255.3.2 10.255.3.1 65003 65002
cat > "$lab/bird.conf" <<CONF
router id 10.255.2.2;
protocol device { }
protocol bgp peerA {
  local 10.255.2.2 as 65002; neighbor 10.255.2.1 as 65001; hold time 30;
  ipv4 { import all; export all; };
  ipv6 { import all; export all; };
}
protocol bgp peerC {
  local 10.255.3.1 as 65002; neighbor 10.255.3.2 as 65003; hold time 30;
  ipv4 { import all; export all; };
  ipv6 { import all; export all; };
}
CONF

start_exa() {
  ip netns exec "rbgp-gold-$1" env exabgp_daemon_user=root exabgp_api_cli=false exabgp_log_level=WARNING \
    exabgp_log_destination="$lab/$1.exabgp.log" /usr/sbin/exabgp "$lab/$1.conf" >"$lab/$1.out" 2>&1 &
  pids+=($!)
}
start_bird() {
  ip netns exec rbgp-gold-b /usr/sbin/bird -f -c "$lab/bird.conf" -s "$lab/bird.ctl" -P "$lab/bird.pid" \
    >"$lab/bird.out" 2>&1 &
  bird_pid=$!
  pids+=($bird_pid)
}
wait_for() {  # file pattern count timeout_s
  for _ in $(seq "$4"); do
    c=$(grep -c -- "$2" "$1" 2>/dev/null || true); [ "${c:-0}" -ge "$3" ] && return 0
    sleep 1
  done
  echo "timeout waiting for $2 in $1" >&2; return 1
}

start_bird; start_exa a; start_exa c
wait_for "$lab/a.stdin.log" '"state": "up"' 1 60
wait_for "$lab/c.stdin.log" '"state": "up"' 1 60
sleep 2

"$build/bgp-transport/raftbgp_golden_commands" fd00:255:2::1 > "$lab/commands.txt"
first=$(head -1 "$lab/commands.txt" | awk '{print $3}')
last=$(tail -1 "$lab/commands.txt" | awk '{print $3}')
{
  while IFS= read -r l; do echo "$l"; sleep 0.3; done < "$lab/commands.txt"
  echo 'announce route 10.200.8.129/32 next-hop self attribute [ 0xff 0xc0 0xzz ]'   # -> error
  echo 'bogus command'                                                                 # -> error
  sleep 0.3
  echo "withdraw route $first"
  echo "withdraw route $last"
} > "$lab/a.ctl"
n_cmds=$(( $(wc -l < "$lab/commands.txt") + 4 ))
wait_for "$lab/a.stdin.log" '^\(done\|error\)$' "$n_cmds" 30
sleep 3

# Session reset seen by C: restart the transit. C gets down (no withdrawals), connected, up, a full
# re-send of what A still announces, then one eor per family.
kill "$bird_pid"; wait "$bird_pid" 2>/dev/null || true
wait_for "$lab/c.stdin.log" '"state": "down"' 1 40
start_bird
wait_for "$lab/c.stdin.log" '"state": "up"' 2 90
wait_for "$lab/c.stdin.log" '"eor"' 4 60
sleep 3

# Shutdown of C's ExaBGP: state down (reason stop) + notification shutdown.
kill -TERM "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true
sleep 1

cp "$lab/commands.txt" "$here/commands.txt"
cp "$lab/a.stdout.log" "$here/a_commands_sent.txt"
cp "$lab/a.stdin.log" "$here/a_stdin.log"
cp "$lab/c.stdin.log" "$here/c_stdin.log"
echo "captured: $(wc -l < "$here/c_stdin.log") lines on C, $(wc -l < "$here/a_stdin.log") on A"
