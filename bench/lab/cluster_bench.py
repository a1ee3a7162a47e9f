#!/usr/bin/env python3
"""The agent's figures in a real lab, next to their physical floors (not a timed test).

  bench/lab/cluster_bench.py --bin-dir build/agent --ping-bin-dir build/bgp-transport [--kv-load build/bench/kv_load]
                             [--variants star3,star3-frr] [--puts 200] [--kills 5] [--clients 8,64]
                             [--seconds 10] [--out DIR]

For each variant (star3: BIRD transit; star3-frr: FRR transit), in one run:
  one-way   raw announcement latency ExaBGP process -> ExaBGP process through the same kind of transit
            (bench/lab/transport_latency.py on lab/transport-<bird|frr>.clab.yml: raftbgp-ping's raw mode,
            agent A stdout -> agent C stdin, 200 B), median;
  fsync     write(256 B) + fdatasync in the agent's data dir filesystem, median of 200;
  commit    `kv put` (256-byte values) at the leader and at a follower, one client, sequential, p50/p99:
            bench/kv_load (C++, one persistent control-socket connection; raftbgpctl via `clab-netns exec`
            costs ~0.3 s of process start-up per call);
  writes/s  kv_load with each --clients count at the leader, and the largest count spread over all three
            routers (followers forward to the leader): committed (ok) answers per second over --seconds,
            with the frame bytes the leader announced per committed write (its status counters);
  RSS       raftbgpd's VmRSS on every router after the load;
  election  leader killed (ExaBGP + agent, SIGKILL) -> the two survivors agree on a new leader, p50 over
            --kills kills (the old leader is started again and caught up between kills);
  no QA     commit latency again after `quickack 0` on every route: the lab's routers set `quickack 1` on
            their transit link (the topology's exec lines), since Nagle + delayed ACK on the BGP sessions
            costs up to ~40 ms per hop; this row shows what an operator loses without it.
Floors: commit = 2 one-way + 1 fsync (docs/architecture.md §7); election = the configured maximum election timeout
(2 x election_ticks x tick_ms) + 3 one-way; writes/s: the issue's goal of 3,000/s, and the ceiling the
leader's ExaBGP sets, ~1.5 MB/s of announced payload (docs/exabgp.md §3.3) / frame bytes announced per write.
Prints a table, writes <out>/results.json, commit-latency CDFs <out>/commit_<variant>.dat and the PNG
<out>/commit_latency.png (gnuplot).
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
from labkit import Lab, say, wait_until  # noqa: E402

TRANSIT = {"star3": "bird", "star3-frr": "frr"}


def pct(v, q):
    s = sorted(v)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else float("nan")


def fsync_ms(path, n=200):
    os.makedirs(path, exist_ok=True)
    f = os.path.join(path, "fsync-probe")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    out = []
    try:
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, b"x" * 256)
            os.fdatasync(fd)
            out.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        os.unlink(f)
    return statistics.median(out)


def oneway_ms(variant, ping_bin, env):
    p = subprocess.run([sys.executable, os.path.join(REPO, "bench", "lab", "transport_latency.py"), "--bin-dir",
                        ping_bin, "--variant", TRANSIT[variant], "--count", "100", "--sizes", "200",
                        "--interval-ms", "20", "--json"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    if p.returncode != 0:
        say("transport_latency failed: %s" % p.stderr[-500:])
        return float("nan")
    doc = json.loads(p.stdout)
    r = [x for x in doc["results"] if not x["raw_padded"]][0]
    return r["raw"][0]


def kv_load(o, sockets, clients, extra, lat_file=None):
    argv = [o.kv_load, "--clients", str(clients), "--client-prefix", "b%d" % os.getpid()] + extra
    for sock in sockets:
        argv += ["--socket", sock]
    if lat_file:
        argv += ["--latencies", lat_file]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode != 0:
        say("kv_load failed: %s" % p.stderr[-500:])
        return None
    return json.loads(p.stdout)


def puts(o, lab, node, n):
    """n sequential puts by one client at `node`: every latency (ms)."""
    f = os.path.join(o.out, "lat.tmp")
    r = kv_load(o, [lab.sock(node)], 1, ["--count", str(n)], f)
    with open(f) as fh:
        out = [float(x) for x in fh if x.strip()]
    os.unlink(f)
    if r is None or r["errors"]:
        say("puts at %s: %s" % (node, r))
    return out


def set_quickack(lab, on):
    """quickack on|off on every connected IPv4/IPv6 route inside the lab's own namespaces."""
    for n in lab.nodes:
        ns = lab.ns(n)
        for fam in ("-4", "-6"):
            p = subprocess.run(["ip", "-n", ns, fam, "route", "show", "proto", "kernel"], stdout=subprocess.PIPE,
                               text=True)
            for line in p.stdout.splitlines():
                w = line.split()
                if "quickack" in w:
                    del w[w.index("quickack"):w.index("quickack") + 2]
                if w and not w[0].startswith(("fe80", "multicast")):
                    subprocess.run(["ip", "-n", ns, fam, "route", "change"] + w + ["quickack", "1" if on else "0"],
                                   check=False, stderr=subprocess.DEVNULL)


def elections(lab, kills):
    out = []
    for k in range(kills):
        leader = lab.wait_leader(timeout=30)
        rest = [n for n in sorted(lab.routers) if n != leader]
        t = time.monotonic()
        lab.clab("kill", lab.file, leader)
        wait_until("a new leader", lambda: lab.leader(rest), 30, every=0.02)
        out.append((time.monotonic() - t) * 1000)
        lab.clab("start", lab.file, leader)
        wait_until("all three to agree", lambda: lab.leader() and all(
            (lab.status(n) or {}).get("applied", -1) >= (lab.status(lab.leader()) or {}).get("commit", 1 << 60)
            for n in lab.routers), 30, every=0.2)
    return out


def throughput(o, lab, leader, nodes, clients):
    """kv_load at `nodes`' sockets for --seconds: its result plus the leader's announced frame bytes per write."""
    before = lab.status(leader) or {}
    r = kv_load(o, [lab.sock(n) for n in nodes], clients, ["--seconds", str(o.seconds)]) or {"writes_per_s": 0}
    after = lab.status(leader) or {}
    try:
        writes = after["commit"] - before["commit"]
        r["frame_bytes_per_write"] = (after["transport"]["frame_bytes_sent"] -
                                      before["transport"]["frame_bytes_sent"]) / max(1, writes)
    except (KeyError, TypeError):
        r["frame_bytes_per_write"] = float("nan")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--ping-bin-dir", required=True)
    ap.add_argument("--variants", default="star3,star3-frr")
    ap.add_argument("--puts", type=int, default=200)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--clients", default="8,64", help="comma-separated client counts for writes/s")
    ap.add_argument("--kv-load", help="kv_load binary (default: <bin-dir>/../bench/kv_load)")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "lab", "out"))
    o = ap.parse_args()
    o.kv_load = o.kv_load or os.path.join(os.path.dirname(os.path.abspath(o.bin_dir)), "bench", "kv_load")
    o.out = os.path.abspath(o.out)
    counts = [int(c) for c in o.clients.split(",")]
    os.makedirs(o.out, exist_ok=True)
    run_root = os.path.join(os.path.abspath(o.out), "lab-run")
    env = dict(os.environ, RAFTBGP_LAB_RUN=run_root, RAFTBGP_LAB_NS_PREFIX="rb%d" % (os.getpid() % 10 ** 6))
    value = "v" * 256
    res = {}
    for v in o.variants.split(","):
        say("== %s" % v)
        r = {"oneway_ms": oneway_ms(v, o.ping_bin_dir, env)}
        lab = Lab(os.path.join(REPO, "lab", "%s.clab.yml" % v), [o.bin_dir], run_root=run_root,
                  ns_prefix=env["RAFTBGP_LAB_NS_PREFIX"], quiet=True)
        try:
            lab.up(wait=40)
            leader = lab.wait_leader(timeout=30)
            follower = next(n for n in sorted(lab.routers) if n != leader)
            r["fsync_ms"] = fsync_ms(os.path.join(lab.run_dir, leader, "data"))
            puts(o, lab, leader, 20)
            r["commit_leader"] = puts(o, lab, leader, o.puts)
            r["commit_follower"] = puts(o, lab, follower, o.puts)
            r["writes"] = {"leader %d" % c: throughput(o, lab, leader, [leader], c) for c in counts}
            r["writes"]["spread %d" % counts[-1]] = throughput(o, lab, leader, sorted(lab.routers), counts[-1])
            r["rss_kb"] = {n: lab.rss_kb(n) for n in sorted(lab.routers)}
            r["elections_ms"] = elections(lab, o.kills)
            # The same without TCP quick ACKs anywhere (see set_quickack()).
            leader = lab.wait_leader(timeout=30)
            follower = next(n for n in sorted(lab.routers) if n != leader)
            set_quickack(lab, False)
            r["commit_leader_noqa"] = puts(o, lab, leader, o.puts)
            r["commit_follower_noqa"] = puts(o, lab, follower, o.puts)
            cfg = {"tick_ms": 100, "election_ticks": 10}
            r["election_max_ms"] = 2 * cfg["election_ticks"] * cfg["tick_ms"]
        finally:
            lab.down()
        res[v] = r
        with open(os.path.join(o.out, "commit_%s.dat" % v), "w") as f:
            for name in ("commit_leader", "commit_follower", "commit_leader_noqa", "commit_follower_noqa"):
                s = sorted(r[name])
                f.write("# %s: latency_ms cumulative_fraction\n" % name)
                for i, x in enumerate(s):
                    f.write("%.3f %.4f\n" % (x, (i + 1) / len(s)))
                f.write("\n\n")
    with open(os.path.join(o.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    png = os.path.join(o.out, "commit_latency.png")
    plots = []
    for v in res:
        dat = os.path.join(o.out, "commit_%s.dat" % v)
        plots += ["'%s' index 0 with steps title '%s leader'" % (dat, v),
                  "'%s' index 1 with steps title '%s follower'" % (dat, v),
                  "'%s' index 2 with steps dt 2 title '%s leader, no quickack'" % (dat, v),
                  "'%s' index 3 with steps dt 2 title '%s follower, no quickack'" % (dat, v)]
    gp = ("set terminal png size 900,500; set output '%s'; set logscale x; set xlabel 'kv put commit latency (ms)';"
          " set ylabel 'fraction'; set key bottom right; set grid; set title 'raftbgp commit latency (CDF)';"
          " plot %s" % (png, ", ".join(plots)))
    subprocess.run(["gnuplot", "-e", gp], check=False)

    print("\nmachine: %s, %d CPUs, load average %s" % (os.uname().release, os.cpu_count(),
                                                      open("/proc/loadavg").read().split()[:3]))
    print("%-10s %-28s %12s %14s %8s" % ("variant", "figure", "measured", "floor", "ratio"))
    for v, r in res.items():
        ow, fs = r["oneway_ms"], r["fsync_ms"]
        floor_c = 2 * ow + fs
        rows = [("one-way (raw, ExaBGP->ExaBGP)", ow, ow),
                ("fsync 256 B", fs, fs),
                ("commit p50 at leader", pct(r["commit_leader"], 0.5), floor_c),
                ("commit p99 at leader", pct(r["commit_leader"], 0.99), floor_c),
                ("commit p50 at follower", pct(r["commit_follower"], 0.5), floor_c + 2 * ow),
                ("commit p99 at follower", pct(r["commit_follower"], 0.99), floor_c + 2 * ow),
                ("commit p50 leader, no QA", pct(r["commit_leader_noqa"], 0.5), floor_c),
                ("commit p99 leader, no QA", pct(r["commit_leader_noqa"], 0.99), floor_c),
                ("commit p50 follower, no QA", pct(r["commit_follower_noqa"], 0.5), floor_c + 2 * ow),
                ("election p50 (ms)", pct(r["elections_ms"], 0.5), r["election_max_ms"] + 3 * ow)]
        for name, m, fl in rows:
            print("%-10s %-28s %12.2f %14.2f %8.2f" % (v, name, m, fl, m / fl if fl else float("nan")))
        for name, w in r["writes"].items():
            ceiling = 1.5e6 / w["frame_bytes_per_write"] if w.get("frame_bytes_per_write") else float("nan")
            print("%-10s %-28s %12.0f %14s %8.2f   (p50 %.1f ms, %.0f B announced/write, ExaBGP ceiling %.0f/s)" %
                  (v, "writes/s, %s" % name, w["writes_per_s"], "3000 (goal)", w["writes_per_s"] / 3000,
                   w.get("p50_ms", float("nan")), w.get("frame_bytes_per_write", float("nan")), ceiling))
        print("%-10s %-28s %12s" % (v, "raftbgpd RSS (MiB)", "/".join("%.1f" % (x / 1024) for x in
                                                                     r["rss_kb"].values() if x)))
    print("follower floor: + 2 one-way (forward to the leader and back). PNG: %s" % png)


if __name__ == "__main__":
    main()
