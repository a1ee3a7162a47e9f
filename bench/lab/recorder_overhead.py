#!/usr/bin/env python3
"""The flight recorder's CPU cost on a real lab, recorder off vs on, in interleaved rounds (issue 14's bar: at most
5% of the agent's CPU at 1,000 writes/s; a figure, not a test).

  bench/lab/recorder_overhead.py --bin-dir build/agent [--kv-load build/bench/kv_load]
      [--lab star3] [--rounds 3] [--rate 1000] [--clients 64] [--seconds 20] [--warm 3] [--cap-bytes 16777216]
      [--cap-seconds 20] [--out DIR]

One lab (as root; namespaces $RAFTBGP_LAB_NS_PREFIX-<lab>-*, default ro), then --rounds pairs of rounds in the order
off, on, on, off, off, on, ... (ABBA, so a drift of the machine's load over the run falls on both alike). Each round:
every router's staged raftbgpd.yaml gets `recorder: {mode: off|on, max_bytes: 1 GiB}` and every router is restarted
(ExaBGP and raftbgpd, the runner's `restart`), a leader is awaited and every router caught up, kv_load puts 256-byte
values at the leader at --rate writes/s (--clients connections, each one put outstanding) for --warm seconds
unmeasured and then --seconds measured; over the measured window every raftbgpd's utime + stime is read from
/proc/PID/stat. Figures per round: writes/s reached, CPU per agent (cores) and the agents' CPU per write (us).
Summary: per role (leader, followers, all agents) the median over the rounds of each mode and on/off - 1. The same
writes reach the followers whoever leads, so the sum over agents is the steadiest figure. Compare at a --rate both
modes reach (writes/s equal): a cluster at its limit batches more entries per ready loop the more it is loaded, so
the CPU per write of two rounds at different rates differs for that reason alone (star3 on the 2-core development
machine tops out at ~850 writes/s with 64 clients).

Last, the cap: a round with recorder on and max_bytes --cap-bytes, long enough to pass it; each recorder.rec must
end at most max_bytes long, and the agent must log that the recording stopped (and after how many records: the
first record holds the node's starting state, its whole WAL, so a cap below that records nothing).

--perf SECONDS: one more round, recorder on, in which `perf record --call-graph dwarf` samples every raftbgpd for
SECONDS of the load; the figure is the share of the agents' CPU samples with a Recorder frame in their stack (each
sample once: Recorder::tick, step, propose, ready, advance, ... with everything they call, encoding, CRC, write(2);
split by the outermost Recorder frame), which a machine's drift in load and batching does not move as it moves the
A/B CPU per write.

Prints one line per round, the summary, and the JSON of every figure on the last line (also <out>/results.json).
The lab is brought down at the end, also on failure.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
from labkit import Lab, caught_up, say, wait_until  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
BIG_CAP = 1 << 30


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def staged_yaml(lab, node):
    return os.path.join(lab.run_dir, node, "files", "etc", "raftbgp", "raftbgpd.yaml")


def data_dir(lab, node):
    with open(staged_yaml(lab, node)) as f:
        return re.search(r"(?m)^data_dir:\s*(\S+)", f.read()).group(1)


def set_recorder(lab, mode, cap):
    """Every router's staged config: `recorder: {mode, max_bytes}` (replacing an earlier one), then a restart."""
    for n in sorted(lab.routers):
        path = staged_yaml(lab, n)
        with open(path) as f:
            text = re.sub(r"(?ms)^recorder:\n(?:  .*\n)*", "", f.read())
        with open(path, "w") as f:
            f.write(text.rstrip("\n") + "\nrecorder:\n  mode: %s\n  max_bytes: %d\n" % (mode, cap))
    for n in sorted(lab.routers):
        rec = os.path.join(data_dir(lab, n), "recorder.rec")
        if os.path.exists(rec):
            os.unlink(rec)  # a round's file is its own (an `off` round writes none)
        lab.clab("restart", lab.file, n)
    lab.wait_leader(timeout=60)
    wait_until("every router caught up", lambda: caught_up(lab), 60, every=0.2)


def kv_load(o, lab, node, seconds, tag):
    argv = [o.kv_load, "--socket", lab.sock(node), "--clients", str(o.clients), "--rate", str(o.rate),
            "--seconds", str(seconds), "--client-prefix", "ro-%s-%d" % (tag, os.getpid()), "--retry-ms", "200"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def one_round(o, lab, mode, k, cap=BIG_CAP):
    set_recorder(lab, mode, cap)
    leader = lab.leader()
    pids = {n: lab.pids(n, "raftbgpd")[0] for n in sorted(lab.routers)}
    p = kv_load(o, lab, leader, o.warm + o.seconds, "%s%d" % (mode, k))
    time.sleep(o.warm)
    t0, c0 = time.monotonic(), {n: cpu_ticks(pid) for n, pid in pids.items()}
    time.sleep(o.seconds)
    t1, c1 = time.monotonic(), {n: cpu_ticks(pid) for n, pid in pids.items()}
    out, err = p.communicate(timeout=60)
    if p.returncode != 0:
        raise RuntimeError("kv_load: %s" % err[-400:])
    load = json.loads(out)
    wall = t1 - t0
    cores = {n: (c1[n] - c0[n]) / HZ / wall for n in pids}
    rate = load["writes_per_s"]
    r = {"mode": mode, "leader": leader, "writes_per_s": rate, "p50_ms": load["p50_ms"], "p99_ms": load["p99_ms"],
         "errors": load["errors"], "cores": cores, "seconds": wall,
         "leader_cores": cores[leader], "follower_cores": sum(c for n, c in cores.items() if n != leader),
         "all_cores": sum(cores.values())}
    r["all_us_per_write"] = r["all_cores"] / rate * 1e6 if rate else float("nan")
    r["files"] = {}
    for n in sorted(lab.routers):
        rec = os.path.join(data_dir(lab, n), "recorder.rec")
        r["files"][n] = os.path.getsize(rec) if os.path.exists(rec) else None
    say("round %d %-3s leader %s: %6.0f writes/s (p50 %.1f ms, p99 %.1f ms), raftbgpd cores leader %.3f, "
        "followers %.3f, all %.3f = %.0f us/write; recorder.rec %s" %
        (k, mode, leader, rate, load["p50_ms"], load["p99_ms"], r["leader_cores"], r["follower_cores"],
         r["all_cores"], r["all_us_per_write"], r["files"]))
    return r


def cap_round(o, lab):
    """Recorder on with a small cap, --rate writes until every file has had the chance to pass it."""
    set_recorder(lab, "on", o.cap_bytes)
    leader = lab.leader()
    p = kv_load(o, lab, leader, o.cap_seconds, "cap")
    p.communicate(timeout=o.cap_seconds + 60)
    out = {}
    for n in sorted(lab.routers):
        rec = os.path.join(data_dir(lab, n), "recorder.rec")
        size = os.path.getsize(rec) if os.path.exists(rec) else None
        stopped, records = False, None  # the agent's log line when the recording stops at the cap (recorder.cc)
        for name in ("exabgp.out", "exabgp.log"):
            path = os.path.join(lab.run_dir, n, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    for m in re.finditer(r"reached its cap of %d bytes after (\d+) records" % o.cap_bytes, f.read()):
                        stopped, records = True, int(m.group(1))
        out[n] = {"bytes": size, "cap": o.cap_bytes, "within_cap": size is not None and size <= o.cap_bytes,
                  "stopped_logged": stopped, "records": records}
        say("cap round: %s recorder.rec %s bytes, cap %d: %s, stop at the cap logged: %s (after %s records)" % (
            n, size, o.cap_bytes, "ok" if out[n]["within_cap"] else "OVER THE CAP", stopped, records))
    return out


def recorder_share(data):
    """The share of the samples in `data` (perf.data) with a raftbgp::agent::Recorder frame anywhere in their stack, each
    sample counted once, and that share split by the outermost Recorder frame (the entry point the agent called, or
    the helper it tail-called: propose and read_index jump to write_bytes). Summing `perf report --children` per entry
    point would miss the tail-called helpers' samples and count twice a sample under two entry points."""
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, timeout=900).stdout
    total, parts = 0, {}
    for block in out.split("\n\n"):
        if not block.strip():
            continue
        total += 1
        frames = re.findall(r"raftbgp::agent::Recorder::(\w+)", block)
        if frames:
            parts[frames[-1]] = parts.get(frames[-1], 0) + 1
    pct = {k: 100.0 * v / total for k, v in parts.items()} if total else {}
    return sum(pct.values()), pct, total


def perf_round(o, lab):
    """Recorder on; perf samples the agents under load: the share of their samples inside Recorder's entry points."""
    set_recorder(lab, "on", BIG_CAP)
    leader = lab.leader()
    pids = [str(lab.pids(n, "raftbgpd")[0]) for n in sorted(lab.routers)]
    data = os.path.join(o.out, "perf.data")
    p = kv_load(o, lab, leader, o.warm + o.perf + 2, "perf")
    time.sleep(o.warm)
    subprocess.run(["perf", "record", "-q", "-F", "499", "--call-graph", "dwarf,16384", "-o", data, "-p", ",".join(pids),
                    "--", "sleep", str(o.perf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=o.perf + 120)
    out, _ = p.communicate(timeout=120)
    rate = json.loads(out)["writes_per_s"] if out else float("nan")
    share, parts, samples = recorder_share(data)
    say("perf round: %.0f writes/s, %.2f%% of the agents' %d CPU samples are in the recorder %s" %
        (rate, share, samples, {k: round(v, 2) for k, v in sorted(parts.items())}))
    return {"writes_per_s": rate, "recorder_share_pct": share, "by_entry_point_pct": parts}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", required=True, help="raftbgpd, raftbgpctl (build/agent)")
    ap.add_argument("--kv-load", help="the kv_load binary (default: <bin-dir>/../bench/kv_load)")
    ap.add_argument("--lab", default="star3")
    ap.add_argument("--rounds", type=int, default=3, help="pairs of rounds (off and on)")
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warm", type=float, default=3)
    ap.add_argument("--cap-bytes", type=int, default=16 << 20)
    ap.add_argument("--cap-seconds", type=float, default=20)
    ap.add_argument("--perf", type=float, default=0, help="seconds of perf sampling in an extra round (0: none)")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "lab", "out", "recorder-overhead"))
    o = ap.parse_args()
    o.bin_dir = os.path.abspath(o.bin_dir)
    o.kv_load = os.path.abspath(o.kv_load or os.path.join(os.path.dirname(o.bin_dir), "bench", "kv_load"))
    o.out = os.path.abspath(o.out)
    os.makedirs(o.out, exist_ok=True)
    lab = Lab(os.path.join(REPO, "lab", "%s.clab.yml" % o.lab), [o.bin_dir], run_root=os.path.join(o.out, "lab-run"),
              ns_prefix=os.environ.get("RAFTBGP_LAB_NS_PREFIX", "ro"), quiet=True)
    rounds, cap, perf = [], None, None
    try:
        lab.up(wait=90)
        lab.wait_leader(timeout=60)
        for k in range(o.rounds):
            order = ("off", "on") if k % 2 == 0 else ("on", "off")
            for mode in order:
                rounds.append(one_round(o, lab, mode, k))
        if o.perf > 0:
            perf = perf_round(o, lab)
        if o.cap_bytes > 0:
            cap = cap_round(o, lab)
    finally:
        lab.down()

    print("\nmachine: %s, %d CPUs, load average %s" % (os.uname().release, os.cpu_count(),
                                                      open("/proc/loadavg").read().split()[:3]))
    summary = {}
    print("%-22s %12s %12s %9s" % ("median over rounds", "off", "on", "on/off-1"))
    for key, what in () if not rounds else (("writes_per_s", "writes/s"), ("leader_cores", "leader cores"),
                      ("follower_cores", "followers cores"), ("all_cores", "all agents cores"),
                      ("all_us_per_write", "agents us/write")):
        off = statistics.median(r[key] for r in rounds if r["mode"] == "off")
        on = statistics.median(r[key] for r in rounds if r["mode"] == "on")
        summary[key] = {"off": off, "on": on, "ratio": on / off - 1 if off else float("nan")}
        print("%-22s %12.4f %12.4f %+8.1f%%" % (what, off, on, summary[key]["ratio"] * 100))
    # Pairwise: each on round against the off round next to it (the ABBA pairs).
    pairs = []
    for k in range(o.rounds if rounds else 0):
        a, b = rounds[2 * k], rounds[2 * k + 1]
        on, off = (a, b) if a["mode"] == "on" else (b, a)
        pairs.append(on["all_us_per_write"] / off["all_us_per_write"] - 1)
    summary["pairwise_us_per_write"] = pairs
    print("per pair, agents' CPU per write on/off - 1: %s" % " ".join("%+.1f%%" % (p * 100) for p in pairs))
    if cap:
        print("cap round (max_bytes %d): %s" % (o.cap_bytes, ", ".join(
            "%s %s bytes %s%s" % (n, c["bytes"], "ok" if c["within_cap"] else "OVER",
                                  ", stopped at the cap after %s records" % c["records"] if c["stopped_logged"] else "")
            for n, c in cap.items())))
    if perf:
        print("perf round: the recorder holds %.2f%% of the agents' CPU samples at %.0f writes/s" %
              (perf["recorder_share_pct"], perf["writes_per_s"]))
    doc = {"rounds": rounds, "summary": summary, "cap": cap, "perf": perf,
           "options": {k: v for k, v in vars(o).items() if k != "out"}}
    with open(os.path.join(o.out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    print(json.dumps(doc))
    return 0 if not cap or all(c["within_cap"] for c in cap.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
