#!/usr/bin/env python3
"""One-way latency of a sealed raftbgp message next to a raw announcement, in one run (a bench, not a test).

  bench/lab/transport_latency.py --bin-dir build/bgp-transport [--variant bird|frr] [--count 150]
                                 [--sizes 200,1000] [--interval-ms 50] [--json]

Brings up lab/transport-<variant>.clab.yml (ExaBGP A — transit — ExaBGP C) with lab/clab-netns, then for each
size has A's raftbgp-ping send `count` raw and `count` sealed pings to C, alternately (mode=both), so both kinds
see the same machine state; each size runs twice, with raw probes of the same application payload, then
padded to the sealed frame's length (pad), which isolates our codec's CPU from the extra bytes ExaBGP parses.
One-way = C's ping tool receiving the probe (after parsing, and for sealed after
opening and reassembly) minus A's CLOCK_REALTIME just before it sealed/formatted it: both run on this host,
so this is agent A stdout -> agent C stdin plus our own codec work, the figure of docs/architecture.md §7. RTT/2 from A's
pongs is printed next to it as a cross-check. Needs root; the lab is always brought down.
"""
import argparse
import errno
import json
import os
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def pct(v, q):
    if not v:
        return float("nan")
    s = sorted(v)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--variant", default="bird", choices=["bird", "frr"])
    ap.add_argument("--count", type=int, default=150, help="pings per kind and size")
    ap.add_argument("--sizes", default="200,1000")
    ap.add_argument("--interval-ms", type=int, default=50)
    ap.add_argument("--run-root", default=None)
    ap.add_argument("--json", action="store_true")
    o = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("transport_latency: needs root (network namespaces)")
    clab = os.path.join(REPO, "lab", "clab-netns")
    topo = os.path.join(REPO, "lab", "transport-%s.clab.yml" % o.variant)
    run_root = o.run_root or os.path.join(os.path.dirname(os.path.abspath(o.bin_dir)), "lab-run")
    env = dict(os.environ, RAFTBGP_LAB_RUN=run_root)
    data = lambda n: os.path.join(run_root, "transport-%s" % o.variant, n, "data")

    def clab_cmd(*a):
        subprocess.run([sys.executable, clab] + list(a), env=env, check=True, timeout=90)

    def js(n):
        with open(os.path.join(data(n), "ping.json")) as f:
            return json.load(f)

    def wait(pred, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if pred():
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise SystemExit("transport_latency: timed out waiting for " + what)

    def ctl(n, line):
        end = time.monotonic() + 10
        while True:
            try:
                fd = os.open(os.path.join(data(n), "ping.ctl"), os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as e:
                if e.errno not in (errno.ENXIO, errno.ENOENT) or time.monotonic() > end:
                    raise
                time.sleep(0.1)
        os.write(fd, (line + "\n").encode())
        os.close(fd)

    sizes = [int(s) for s in o.sizes.split(",")]
    results = []
    clab_cmd("down", topo)
    try:
        clab_cmd("up", topo, "--bin-dir", os.path.abspath(o.bin_dir), "--wait", "40")
        wait(lambda: js("a")["sessions_up"] and js("c")["sessions_up"], 20, "sessions")
        time.sleep(1)
        ctl("a", "ping to=2 count=20 size=200 interval=20 mode=both")  # warm-up, discarded
        wait(lambda: len(js("a")["runs"]) == 1 and js("a")["jobs_pending"] == 0, 30, "warm-up")

        def settled():  # C's results file (rewritten every second) shows every ping A sent
            a, c = js("a"), js("c")
            return (c["received"]["pings"] >= a["sent"]["pings"] and
                    c["received"]["raw_pings"] >= a["sent"]["raw_pings"])
        wait(settled, 10, "C's results after the warm-up")
        plan = [(size, pad) for size in sizes for pad in (0, 1)]
        for i, (size, pad) in enumerate(plan):
            c0, a0 = js("c"), js("a")
            ctl("a", "ping to=2 count=%d size=%d interval=%d mode=both pad=%d" % (2 * o.count, size, o.interval_ms,
                                                                                  pad))
            wait(lambda: len(js("a")["runs"]) == i + 2 and js("a")["jobs_pending"] == 0,
                 2 * o.count * o.interval_ms / 1000 + 30, "the run of %d B" % size)
            wait(settled, 10, "C's results")
            c1, a1 = js("c"), js("a")
            sealed = c1["oneway_ms"][len(c0["oneway_ms"]):]
            raw = c1["raw_oneway_ms"][len(c0["raw_oneway_ms"]):]
            rtt_s = [x / 2 for x in a1["rtt_ms"][len(a0["rtt_ms"]):]]
            rtt_r = [x / 2 for x in a1["raw_rtt_ms"][len(a0["raw_rtt_ms"]):]]
            results.append({"size": size, "raw_padded": bool(pad), "n_sealed": len(sealed), "n_raw": len(raw),
                            "raw": [pct(raw, q) for q in (0.5, 0.9, 0.99)],
                            "sealed": [pct(sealed, q) for q in (0.5, 0.9, 0.99)],
                            "raw_rtt_half": [pct(rtt_r, q) for q in (0.5, 0.9, 0.99)],
                            "sealed_rtt_half": [pct(rtt_s, q) for q in (0.5, 0.9, 0.99)],
                            "duplicates": c1["duplicates"]})
    finally:
        clab_cmd("down", topo)
    if o.json:
        print(json.dumps({"variant": o.variant, "interval_ms": o.interval_ms, "results": results}, indent=1))
        return 0
    print("A -> %s -> C one-way latency, ms (median / p90 / p99), %d pings per kind, %d ms apart, alternating"
          % (o.variant.upper(), o.count, o.interval_ms))
    print("raw: the same probe unsealed (pad: padded to the sealed frame's length, so only our CPU differs)")
    print("%6s  %-22s %-22s %-13s %-22s %s" % ("size", "raw", "sealed", "ratio(median)", "RTT/2 raw | sealed",
                                               "n raw/sealed"))
    for r in results:
        f = lambda v: "%.2f / %.2f / %.2f" % tuple(v)
        print("%6s  %-22s %-22s %-13s %-22s %d/%d" % ("%d%s" % (r["size"], "pad" if r["raw_padded"] else ""),
                                                     f(r["raw"]), f(r["sealed"]),
                                                     "%.3f" % (r["sealed"][0] / r["raw"][0]),
                                                     "%.2f | %.2f" % (r["raw_rtt_half"][0], r["sealed_rtt_half"][0]),
                                                     r["n_raw"], r["n_sealed"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
