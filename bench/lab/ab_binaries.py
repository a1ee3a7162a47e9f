#!/usr/bin/env python3
"""Throughput and commit latency A/B between raftbgpd builds on star3 (a figure, not a test; issues 13 and 17).

  bench/lab/ab_binaries.py [--rounds 3] [--kv-load build/bench/kv_load] [--lab star3] BIN_DIR [BIN_DIR...]  # root

Each BIN_DIR holds raftbgpd and raftbgpctl. In each round, each build in turn gets a fresh lab. Then
build/bench/kv_load runs against it with 256-byte values (--values: random text by default, see kv_load.cc):
- one client at the leader for 5 s: commit p50 and p99;
- 8 and 64 clients at the leader for 6 s: committed writes/s;
- 64 clients spread over every router for 6 s: followers forward to the leader.

During the 64-client run at the leader, the script also reads:
- announced frame bytes and announcements (frames) per committed write, summed over every router's transport
  counters (`status` before and after);
- the leader's ExaBGP CPU, as a share of one core, from /proc/PID/stat;
- the CPU of every process in the lab per committed write (µs), in all and for raftbgpd, exabgp and bird: the
  machine's cores are shared by all of them, so that total is what bounds writes/s here.

Taking the builds in turn within each round spreads the machine's drift over both, so compare the pairs (or the
per-build medians printed at the end), not single rows. ExaBGP runs through the BIN_DIR's raftbgp-exabgp when it
has one, else through this tree's (lab/clab-netns): the launcher's fast paths are half of ExaBGP's cost
(docs/exabgp.md §5.10), so put each build's own launcher into its BIN_DIR when comparing releases. Namespaces ab<pid>-*, state under /tmp/ab-run.
The lab is brought down after every round, also on failure. The last line is the JSON of every figure.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
from labkit import Lab, netns_pids, say, wait_until  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total / CLK_TCK


def kv_load(o, socks, clients, seconds):
    argv = [o.kv_load, "--clients", str(clients), "--seconds", str(seconds), "--value-bytes", "256",
            "--values", o.values]
    for s in socks:
        argv += ["--socket", s]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=seconds + 60)
    if p.returncode != 0:
        raise RuntimeError("kv_load failed (%d): %s" % (p.returncode, p.stderr.strip()))
    return json.loads(p.stdout)


def cpu_by_comm(lab):
    """CPU seconds so far of every process in the lab's namespaces, summed by /proc comm (raftbgpd, exabgp, bird)."""
    out = {}
    for node in lab.nodes:
        for pid in netns_pids(lab.ns(node)):
            try:
                with open("/proc/%d/comm" % pid) as f:
                    comm = f.read().strip()
            except OSError:
                continue
            out[comm] = out.get(comm, 0.0) + cpu_seconds([pid])
    return out


def sent(lab):
    frames = nbytes = 0
    for n in lab.routers:
        t = (lab.status(n) or {}).get("transport") or {}
        frames += t.get("frames_sent", 0)
        nbytes += t.get("frame_bytes_sent", 0)
    return frames, nbytes


def one_round(o, bin_dir, prefix):
    lab = Lab(os.path.join(REPO, "lab", "%s.clab.yml" % o.lab), [os.path.abspath(bin_dir)], run_root="/tmp/ab-run",
              ns_prefix=prefix, quiet=True)
    try:
        lab.up(wait=60)
        leader = wait_until("a leader", lambda: lab.leader(), 30)
        lsock = lab.sock(leader)
        kv_load(o, [lsock], 1, 1)  # warm-up
        one = kv_load(o, [lsock], 1, 5)
        w8 = kv_load(o, [lsock], 8, 6)
        exabgp = lab.pids(leader, "exabgp")
        f0, b0 = sent(lab)
        all0 = cpu_by_comm(lab)
        c0, t0 = cpu_seconds(exabgp), time.monotonic()
        w64 = kv_load(o, [lsock], 64, 6)
        c1, t1 = cpu_seconds(exabgp), time.monotonic()
        all1 = cpu_by_comm(lab)
        f1, b1 = sent(lab)
        spread = kv_load(o, [lab.sock(n) for n in sorted(lab.routers)], 64, 6)
        ok = max(1, w64["ok"])
        row = {"p50_ms": one["p50_ms"], "p99_ms": one["p99_ms"], "writes_s_8": w8["writes_per_s"],
               "writes_s_64": w64["writes_per_s"], "writes_s_64_spread": spread["writes_per_s"],
               "bytes_per_write_64": (b1 - b0) / ok, "frames_per_write_64": (f1 - f0) / ok,
               "leader_exabgp_cpu_64": (c1 - c0) / (t1 - t0)}
        # CPU of the whole lab per committed write, and the three biggest parts of it (the machine's two cores are
        # shared by all of them, so this, not one process's share, is what bounds writes/s here).
        used = {k: all1.get(k, 0.0) - all0.get(k, 0.0) for k in all1}
        row["lab_cpu_us_per_write_64"] = 1e6 * sum(used.values()) / ok
        for comm in ("exabgp", "raftbgpd", "bird"):
            row["%s_us_per_write_64" % comm] = 1e6 * used.get(comm, 0.0) / ok
        say("%s: %s" % (bin_dir, " ".join("%s=%.3g" % kv for kv in row.items())))
        return row
    finally:
        lab.down()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dirs", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--lab", default="star3")
    ap.add_argument("--values", choices=["random", "repeated"], default="random",
                    help="kv_load's values: random text (6 bits a byte, the default) or 'v' repeated, which "
                         "compresses to nothing (the figures before frame v3)")
    ap.add_argument("--kv-load", default=os.path.join(REPO, "build", "bench", "kv_load"))
    o = ap.parse_args()
    if not os.access(o.kv_load, os.X_OK):
        ap.error("no kv_load at %s (cmake --build build --target kv_load)" % o.kv_load)
    prefix = "ab%d" % (os.getpid() % 10 ** 5)
    res = {b: [] for b in o.bin_dirs}
    for r in range(o.rounds):
        for b in o.bin_dirs:
            res[b].append(one_round(o, b, prefix))
    keys = list(res[o.bin_dirs[0]][0].keys())
    print("\nmedians over %d rounds" % o.rounds)
    label = {b: "/".join(os.path.abspath(b).split("/")[-2:])[-15:] for b in o.bin_dirs}
    print("%-22s" % "figure" + "".join("%16s" % label[b] for b in o.bin_dirs))
    for k in keys:
        print("%-22s" % k + "".join("%16.3g" % statistics.median(x[k] for x in res[b]) for b in o.bin_dirs))
    if len(o.bin_dirs) >= 2:
        a = o.bin_dirs[0]
        for b in o.bin_dirs[1:]:
            print("ratios %s / %s: %s" % (b, a, " ".join(
                "%s=%.3f" % (k, statistics.median(x[k] for x in res[b]) / max(1e-9, statistics.median(
                    x[k] for x in res[a]))) for k in keys)))
    print(json.dumps({"lab": o.lab, "rounds": o.rounds, "results": res}))


if __name__ == "__main__":
    main()
