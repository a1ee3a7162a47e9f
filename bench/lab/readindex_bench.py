#!/usr/bin/env python3
"""ReadIndex reads per second against log writes per second, in the lab. Not a test.

  bench/lab/readindex_bench.py --bin-dir build/agent [--concurrency 8] [--duration 8] [--run-root DIR]

Brings lab/ring5-admin up (r6 stopped: only the five voters r1..r5 on the BIRD/FRR/GoBGP ring), and drives the
control socket directly with a small newline-JSON client (one persistent connection per client thread, so no
process start-up cost): for 8 concurrent clients, `kv.get` (ReadIndex: one heartbeat round, nothing appended)
and `kv.put` (a log entry: replicate to a quorum + fsync + apply), at the leader and at a follower (which asks
the leader for a read index through the transport, or forwards the write through the transport). The old
"read through the log" path no longer exists; a log read costs exactly what a log write costs (one entry
committed by a quorum), so `kv.put` is the comparison. Prints ops/s, p50/p99 latency and errors, and checks that
the read phases left the leader's last log index unchanged. Always brings the lab down.
"""
import argparse
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
from labkit import Conn, Failed, Lab, say, wait_until  # noqa: E402

ORIG = ["r1", "r2", "r3", "r4", "r5"]


def phase(lab, node, op, conc, duration, tag):
    lats, errs, lock = [], {}, threading.Lock()
    stop = time.monotonic() + duration

    def client(c):
        conn = Conn(lab.sock(node), 10)
        seq = 0
        while time.monotonic() < stop:
            t0 = time.monotonic()
            if op == "get":
                r = conn.call("kv.get", {"key": "bench"}, timeout_ms=3000)
            else:
                seq += 1
                r = conn.call("kv.put", {"key": "w%d" % c, "value": str(seq)}, client_id="b-%s-%d" % (tag, c),
                              seq=seq, timeout_ms=3000)
            dt = time.monotonic() - t0
            with lock:
                if r.get("ok"):
                    lats.append(dt)
                else:
                    code = (r.get("error") or {}).get("code", "?")
                    errs[code] = errs.get(code, 0) + 1
        conn.close()
    t0 = time.monotonic()
    ths = [threading.Thread(target=client, args=(c,)) for c in range(conc)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(duration + 10)
    wall = time.monotonic() - t0
    lats.sort()
    q = (lambda p: lats[min(len(lats) - 1, int(p * len(lats)))] * 1000 if lats else float("nan"))
    return {"ops": len(lats), "rate": len(lats) / wall, "p50": q(0.5), "p99": q(0.99), "errs": errs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", action="append", required=True)
    ap.add_argument("--run-root", default=os.path.join(REPO, "lab", "run", "bench"))
    ap.add_argument("--ns-prefix", default="rb%d" % (os.getpid() % 10000))
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--duration", type=float, default=8)
    o = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    lab = Lab(os.path.join(REPO, "lab", "ring5-admin.clab.yml"), o.bin_dir, run_root=os.path.abspath(o.run_root),
              ns_prefix=o.ns_prefix)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(Failed("SIGTERM")))
    rows = []
    try:
        lab.up(wait=40)
        lab.kill("r6")
        leader = lab.wait_leader(ORIG, timeout=40)
        follower = next(n for n in ["r4", "r2", "r3", "r5", "r1"] if n != leader)
        wait_until("a first write", lambda: lab.call(leader, "kv.put", {"key": "bench", "value": "v"},
                                                     client_id="b-init", seq=1).get("ok"), 20)
        say("leader %s, follower %s; %d clients, %.0f s per phase" % (leader, follower, o.concurrency, o.duration))
        for node, role in ((leader, "leader"), (follower, "follower")):
            for op in ("get", "put"):
                before = lab.status(leader)["last_index"]
                r = phase(lab, node, op, o.concurrency, o.duration, "%s-%s" % (role, op))
                after = lab.status(leader)["last_index"]
                r.update(node=node, role=role, op=op, appended=after - before)
                say("%s %s %s: %s" % (role, node, op, r))
                rows.append(r)
        print()
        print("ring5-admin (5 voters, ring of BIRD/FRR/GoBGP), %d concurrent clients, %.0f s each, leader %s, "
              "follower %s" % (o.concurrency, o.duration, leader, follower))
        print("| at | operation | ops/s | p50 ms | p99 ms | errors | leader log entries appended |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            name = "kv get (ReadIndex)" if r["op"] == "get" else "kv put (log write = cost of a log read)"
            print("| %s %s | %s | %.1f | %.1f | %.1f | %s | %d |" % (r["role"], r["node"], name, r["rate"], r["p50"],
                                                                 r["p99"], r["errs"] or "-", r["appended"]))
        for role in ("leader", "follower"):
            g = next(r for r in rows if r["role"] == role and r["op"] == "get")
            p = next(r for r in rows if r["role"] == role and r["op"] == "put")
            print("%s: ReadIndex reads/s / log writes/s = %.2f" % (role, g["rate"] / p["rate"] if p["rate"] else 0))
    finally:
        lab.down()


if __name__ == "__main__":
    main()
