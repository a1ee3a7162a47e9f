#!/usr/bin/env python3
"""Leader failover A/B between raftbgpd builds on one lab (a figure, not a test; issue 17's failover bar).

  bench/lab/failover_ab.py [--lab star3] [--rounds 3] [--kills 5] [--idle 4] [--faults kill,stop] BIN_DIR...  # as root

For each round, for each BIN_DIR (holding raftbgpd and raftbgpctl) in turn, the lab comes up fresh; then --kills
times: wait until every router agrees on a leader and has applied its commit, leave the cluster idle for --idle
seconds (long enough for a quiescing build to go quiet: quiesce.after_ticks + one refresh), kill the leader router
(ExaBGP and raftbgpd, the runner's `kill`: its BGP session closes), and time until the surviving routers agree on
a new leader (status polled every 20 ms over the control sockets); the old leader is started again and caught up
before the next kill. --faults takes turns between failure kinds, one per kill: `kill` as above; `stop` freezes the
leader router's ExaBGP and raftbgpd with SIGSTOP (a hung router: its BGP sessions stay up until the transit's hold
timer expires, so its routes stay too) and resumes them with SIGCONT once the others agree on a new leader. Alternating the builds round by round spreads the machine's drift over both: compare the
medians per build. Prints one line per kill and a summary, and the JSON of every figure on the last line.
Namespaces fo<pid>-*, state under /tmp/failover-ab; the lab is brought down after every round, also on failure.
"""
import argparse
import json
import os
import signal
import statistics
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
from labkit import Lab, caught_up, say, wait_until  # noqa: E402


def one_round(o, bin_dir, run_root, prefix):
    lab = Lab(os.path.join(REPO, "lab", "%s.clab.yml" % o.lab), [os.path.abspath(bin_dir)], run_root=run_root,
              ns_prefix=prefix, quiet=True)
    out = []
    try:
        lab.up(wait=60)
        for i in range(o.kills):
            fault = o.faults[i % len(o.faults)]
            wait_until("every router caught up", lambda: caught_up(lab), 40, every=0.2)
            time.sleep(o.idle)
            leader = lab.leader()
            quiet = bool(((lab.status(leader) or {}).get("quiesce") or {}).get("quiet"))
            rest = [n for n in sorted(lab.routers) if n != leader]
            frozen = [p for comm in ("exabgp", "raftbgpd") for p in lab.pids(leader, comm)] if fault == "stop" else []
            t = time.monotonic()
            if fault == "stop":
                for p in frozen:
                    os.kill(p, signal.SIGSTOP)
            else:
                lab.kill(leader)
            try:
                wait_until("a new leader", lambda: lab.leader(rest), 60, every=0.02)
            finally:
                for p in frozen:
                    os.kill(p, signal.SIGCONT)
            ms = (time.monotonic() - t) * 1000
            say("%s: %s %s (quiet %s): new leader after %.0f ms" % (bin_dir, fault, leader, quiet, ms))
            out.append((fault, ms))
            if fault == "kill":
                lab.start(leader)
    finally:
        lab.down()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dirs", nargs="+")
    ap.add_argument("--lab", default="star3")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--idle", type=float, default=4.0)
    ap.add_argument("--faults", default="kill", help="comma-separated, taken in turn: kill, stop")
    o = ap.parse_args()
    o.faults = o.faults.split(",")
    if not o.faults or any(f not in ("kill", "stop") for f in o.faults):
        ap.error("--faults: kill and/or stop")
    run_root = "/tmp/failover-ab"
    prefix = "fo%d" % (os.getpid() % 10 ** 5)
    res = {b: [] for b in o.bin_dirs}
    for r in range(o.rounds):
        for b in o.bin_dirs:
            res[b] += one_round(o, b, run_root, prefix)
    print("\n%-40s %-5s %6s %8s %8s %8s" % ("build", "fault", "n", "p50 ms", "min", "max"))
    for b, v in res.items():
        for f in o.faults:
            ms = [x for k, x in v if k == f]
            if ms:
                print("%-40s %-5s %6d %8.0f %8.0f %8.0f" % (b, f, len(ms), statistics.median(ms), min(ms), max(ms)))
    if len(o.bin_dirs) == 2:
        for f in o.faults:
            a, b = (statistics.median([x for k, x in res[d] if k == f]) for d in o.bin_dirs)
            print("%s: ratio p50 (second / first): %.3f" % (f, b / a))
    print(json.dumps({"lab": o.lab, "idle_s": o.idle, "faults": o.faults, "failover_ms": res}))


if __name__ == "__main__":
    main()
