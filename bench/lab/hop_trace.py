#!/usr/bin/env python3
"""Where a write's time goes, hop by hop: the flight recordings of every agent of a lab under load, lined up on the
host's steady clock (a figure, not a test).

  bench/lab/hop_trace.py --bin-dir DIR [--kv-load build/bench/kv_load] [--lab star3] [--mode leader|spread|split]
      [--clients 64] [--rate W] [--seconds 6] [--warm 2] [--out DIR]

One lab (as root; namespaces $RAFTBGP_LAB_NS_PREFIX-<lab>-*, default ht). Every router's staged raftbgpd.yaml gets
`recorder: {mode: on}` and is restarted; a leader is awaited. kv_load then puts 256-byte values for --warm + --seconds
seconds (unpaced, or --rate writes/s in all): at the leader (--mode leader), over every router (spread), or as two kv_loads at once, a third of the
clients at the leader and the rest over the followers (split: both figures from one load). The recordings are read
with `raftbgp-replay --events` (BIN_DIR's; a torn last loop is ignored). Every record carries its agent's steady
clock in microseconds (CLOCK_MONOTONIC, which all agents of one host share), so a message can be followed from the
Ready that sent it to the step that received it.

Printed, over the entries the leader appended in the measured window (medians and p90, ms):
- the leader's own path: each proposal's wait for its Ready (the propose record to the Ready that appends it), the
  append to each follower receiving it (B), the follower's receipt to its acknowledging Ready, that Ready to the
  leader's receipt of the acknowledgement (C; the follower persists in between, and the time from its loop's end,
  `advance`, is printed too), the acknowledgement to the leader's commit, the commit to the end of that loop (where
  the leader's clients are answered);
- a follower's extra path: the leader's commit to the follower's first receipt of a commit index covering the entry
  (D), and that receipt to the end of the follower's loop that applied it (where its clients are answered);
- per message kind and direction: the one-way time from the sending Ready (for a leader's AppendEntries, which
  leave before its fsync, that is when they left) and from the end of the sender's loop (for everything a node sends
  after persisting). AppendEntries without entries (commit news, probes) are shown apart from those that carry
  entries.
The time a follower's forward takes to reach the leader is not in a recording (a forward never enters the Raft
core); the kv_load latencies of split mode hold it.
Prints the tables, then the JSON of every figure on the last line (also <out>/results.json). The lab is brought
down at the end, also on failure.
"""
import argparse
import bisect
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labkit import Lab, say  # noqa: E402
from recorder_overhead import data_dir, set_recorder  # noqa: E402


def events(replay_bin, path):
    """The recording at `path` as a list of event dicts; a torn last loop (the agent is still running) is dropped."""
    p = subprocess.run([replay_bin, "--events", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode not in (0, 2) or not p.stdout:
        raise RuntimeError("raftbgp-replay --events %s: %s" % (path, p.stderr.strip()))
    return [json.loads(line) for line in p.stdout.splitlines()]


class FirstReach:
    """Times at which a running maximum first reached each value: first(v) = earliest t with value(t) >= v."""

    def __init__(self, points):
        self.times, self.values = [], []
        best = -1
        for t, v in sorted(points):
            if v > best:
                best = v
                self.times.append(t)
                self.values.append(v)

    def first(self, v):
        k = bisect.bisect_left(self.values, v)
        return self.times[k] if k < len(self.values) else None


def loop_ends(ev):
    """For each Ready (by seq), the time of the `advance` that ended its loop."""
    out, pending = {}, None
    for e in ev:
        if e["kind"] == "ready":
            pending = e["seq"]
        elif e["kind"] == "advance" and pending is not None:
            out[pending] = e["at_us"]
            pending = None
    return out


def stats_ms(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    return {"n": len(xs), "p50": xs[len(xs) // 2] / 1000.0, "p90": xs[min(len(xs) - 1, int(len(xs) * 0.9))] / 1000.0,
            "mean": statistics.fmean(xs) / 1000.0}


def msg_key(m):
    return (m["type"], m["from"], m["to"], m["term"], m["log_term"], m["index"], m["commit"], m["n"], m["reject"])


def one_ways(timelines):
    """Per (kind, from, to): one-way times from the sending Ready and from the end of its loop to the receipt."""
    sent = {}  # key -> [(ready time, loop end)] in time order
    for node, ev in timelines.items():
        ends = loop_ends(ev)
        for e in ev:
            if e["kind"] == "ready":
                for m in e["send"]:
                    sent.setdefault(msg_key(m), []).append((e["at_us"], ends.get(e["seq"])))
    used = {k: 0 for k in sent}
    out = {}
    for node, ev in timelines.items():
        for e in ev:
            if e["kind"] != "step":
                continue
            k = msg_key(e["msg"])
            cands = sent.get(k)
            if not cands:
                continue
            # The earliest send of an identical message not yet matched and not after the receipt.
            i = used[k]
            if i >= len(cands) or cands[i][0] > e["at_us"]:
                continue
            used[k] = i + 1
            kind = e["msg"]["type"][4:]
            if kind == "APP" and e["msg"]["n"] == 0:
                kind = "APP(no entries)"  # commit news or a probe: it travels without the replication burst
            name = "%s %s->%s" % (kind, e["msg"]["from"], e["msg"]["to"])
            d = out.setdefault(name, {"from_ready": [], "from_loop_end": []})
            d["from_ready"].append(e["at_us"] - cands[i][0])
            if cands[i][1] is not None and cands[i][1] <= e["at_us"]:
                d["from_loop_end"].append(e["at_us"] - cands[i][1])
    return {k: {"from_ready": stats_ms(v["from_ready"]), "from_loop_end": stats_ms(v["from_loop_end"])}
            for k, v in sorted(out.items())}


def entry_phases(timelines, leader, window):
    lev = timelines[leader]
    lends = loop_ends(lev)
    appended, proposes, waits = {}, [], []
    commit_pts, commit_end = [], []
    ack_pts = {}
    for e in lev:
        if e["kind"] == "propose":
            proposes.append(e["at_us"])
        elif e["kind"] == "ready":
            if "persist" in e:
                a, b = e["persist"]
                for idx in range(a, b + 1):
                    appended.setdefault(idx, e["at_us"])
                if window[0] <= e["at_us"] <= window[1]:
                    waits += [e["at_us"] - t for t in proposes]
            proposes = []
            if "apply" in e:
                commit_pts.append((e["at_us"], e["apply"][1]))
                if e["seq"] in lends:
                    commit_end.append((lends[e["seq"]], e["apply"][1]))
        elif e["kind"] == "step" and e["msg"]["type"] == "MSG_APP_RESP" and not e["msg"]["reject"]:
            ack_pts.setdefault(e["msg"]["from"], []).append((e["at_us"], e["msg"]["index"]))
    commit = FirstReach(commit_pts)
    commit_done = FirstReach(commit_end)
    acks = {f: FirstReach(p) for f, p in ack_pts.items()}
    followers = sorted(n for n in timelines if n != leader)
    fol = {}
    for f in followers:
        fev = timelines[f]
        fends = loop_ends(fev)
        recv_pts, known_pts, ackready_pts, ackend_pts, apply_end = [], [], [], [], []
        for e in fev:
            if e["kind"] == "step" and e["msg"]["from"] == leader:
                m = e["msg"]
                if m["type"] == "MSG_APP" and m["n"] > 0 and not m["reject"]:
                    recv_pts.append((e["at_us"], m["last"]))
                if m["type"] in ("MSG_APP", "MSG_HEARTBEAT"):
                    known_pts.append((e["at_us"], m["commit"]))
            elif e["kind"] == "ready":
                for m in e["send"]:
                    if m["type"] == "MSG_APP_RESP" and not m["reject"] and m["to"] == leader:
                        ackready_pts.append((e["at_us"], m["index"]))
                        if e["seq"] in fends:
                            ackend_pts.append((fends[e["seq"]], m["index"]))
                if "apply" in e and e["seq"] in fends:
                    apply_end.append((fends[e["seq"]], e["apply"][1]))
        fol[f] = {"recv": FirstReach(recv_pts), "known": FirstReach(known_pts), "ackready": FirstReach(ackready_pts),
                  "ackend": FirstReach(ackend_pts), "apply": FirstReach(apply_end)}
    ph = {k: [] for k in ("append_to_commit_done", "commit_to_loop_end", "ack_to_commit")}
    per_f = {f: {k: [] for k in ("B_append_to_receipt", "receipt_to_ack_ready", "ack_ready_to_loop_end",
                                 "C_ack_ready_to_leader_receipt", "C_ack_loop_end_to_leader_receipt",
                                 "D_commit_to_commit_known", "known_to_applied_loop_end", "append_to_applied_loop_end")}
             for f in followers}
    first_ack = []
    for idx, ta in appended.items():
        if not window[0] <= ta <= window[1]:
            continue
        tc, tcd = commit.first(idx), commit_done.first(idx)
        if tc is None or tcd is None:
            continue
        ph["append_to_commit_done"].append(tcd - ta)
        ph["commit_to_loop_end"].append(tcd - tc)
        ack_times = [acks[f].first(idx) for f in followers if f in acks]
        ack_times = [t for t in ack_times if t is not None]
        if ack_times:
            first_ack.append(min(ack_times))
            ph["ack_to_commit"].append(tc - min(ack_times))
        for f in followers:
            d, F = per_f[f], fol[f]
            tr, tar, tae = F["recv"].first(idx), F["ackready"].first(idx), F["ackend"].first(idx)
            tk, tap = F["known"].first(idx), F["apply"].first(idx)
            tla = acks[f].first(idx) if f in acks else None
            pairs = (("B_append_to_receipt", ta, tr), ("receipt_to_ack_ready", tr, tar),
                     ("ack_ready_to_loop_end", tar, tae), ("C_ack_ready_to_leader_receipt", tar, tla),
                     ("C_ack_loop_end_to_leader_receipt", tae, tla), ("D_commit_to_commit_known", tc, tk),
                     ("known_to_applied_loop_end", tk, tap), ("append_to_applied_loop_end", ta, tap))
            for name, a, b in pairs:
                if a is not None and b is not None:
                    d[name].append(b - a)
    out = {"leader": {k: stats_ms(v) for k, v in ph.items()}, "propose_to_ready": stats_ms(waits),
           "followers": {f: {k: stats_ms(v) for k, v in d.items()} for f, d in per_f.items()},
           "entries": len(ph["append_to_commit_done"])}
    return out


def kv_load(o, socks, clients, seconds, tag):
    argv = [o.kv_load, "--clients", str(clients), "--seconds", str(seconds), "--value-bytes", "256",
            "--client-prefix", "ht-%s-%d" % (tag, os.getpid()), "--retry-ms", "200"]
    if o.rate:
        argv += ["--rate", str(o.rate * clients / o.clients)]  # split: each kv_load its share
    for s in socks:
        argv += ["--socket", s]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", required=True, help="raftbgpd, raftbgpctl, raftbgp-replay (build/agent and "
                    "build/recorder binaries in one directory, or build/agent with raftbgp-replay beside build/)")
    ap.add_argument("--replay", help="the raftbgp-replay binary (default: <bin-dir>/raftbgp-replay, else "
                    "<bin-dir>/../recorder/raftbgp-replay)")
    ap.add_argument("--kv-load", help="the kv_load binary (default: <bin-dir>/../bench/kv_load)")
    ap.add_argument("--lab", default="star3")
    ap.add_argument("--mode", choices=("leader", "spread", "split"), default="split")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--rate", type=float, default=0, help="writes/s in all (kv_load --rate; 0: unpaced)")
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--warm", type=float, default=2)
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "lab", "out", "hop-trace"))
    o = ap.parse_args()
    o.bin_dir = os.path.abspath(o.bin_dir)
    o.kv_load = os.path.abspath(o.kv_load or os.path.join(os.path.dirname(o.bin_dir), "bench", "kv_load"))
    o.replay = os.path.abspath(o.replay or next(
        (p for p in (os.path.join(o.bin_dir, "raftbgp-replay"),
                     os.path.join(os.path.dirname(o.bin_dir), "recorder", "raftbgp-replay")) if os.path.exists(p)),
        os.path.join(o.bin_dir, "raftbgp-replay")))
    o.out = os.path.abspath(o.out)
    os.makedirs(o.out, exist_ok=True)
    lab = Lab(os.path.join(REPO, "lab", "%s.clab.yml" % o.lab), [o.bin_dir], run_root=os.path.join(o.out, "lab-run"),
              ns_prefix=os.environ.get("RAFTBGP_LAB_NS_PREFIX", "ht"), quiet=True)
    try:
        lab.up(wait=90)
        lab.wait_leader(timeout=60)
        set_recorder(lab, "on", 1 << 30)
        leader = lab.leader()
        routers = sorted(lab.routers)
        followers = [n for n in routers if n != leader]
        if o.mode == "leader":
            loads = {"clients": kv_load(o, [lab.sock(leader)], o.clients, o.warm + o.seconds, "l")}
        elif o.mode == "spread":
            loads = {"clients": kv_load(o, [lab.sock(n) for n in routers], o.clients, o.warm + o.seconds, "s")}
        else:
            loads = {"leader_clients": kv_load(o, [lab.sock(leader)], o.clients // 3, o.warm + o.seconds, "sl"),
                     "follower_clients": kv_load(o, [lab.sock(n) for n in followers], o.clients - o.clients // 3,
                                                 o.warm + o.seconds, "sf")}
        time.sleep(o.warm)
        t0 = time.monotonic_ns() // 1000  # CLOCK_MONOTONIC, the agents' steady clock
        time.sleep(o.seconds)
        t1 = time.monotonic_ns() // 1000
        results = {"lab": o.lab, "mode": o.mode, "clients": o.clients, "leader": leader, "kv_load": {}}
        for name, p in loads.items():
            out, err = p.communicate(timeout=120)
            if p.returncode != 0:
                raise RuntimeError("kv_load: %s" % err[-400:])
            r = json.loads(out)
            results["kv_load"][name] = {k: r[k] for k in ("writes_per_s", "p50_ms", "p99_ms", "ok") if k in r}
        ids, timelines = {}, {}
        for n in routers:
            copy = os.path.join(o.out, "%s.rec" % n)
            with open(os.path.join(data_dir(lab, n), "recorder.rec"), "rb") as src, open(copy, "wb") as dst:
                dst.write(src.read())
            ev = events(o.replay, copy)
            ids[n] = ev[0]["node"]
            timelines[ids[n]] = ev
    finally:
        lab.down()

    lid = ids[leader]
    results["entries"] = entry_phases(timelines, lid, (t0, t1))
    results["one_way"] = one_ways(timelines)
    for name, r in results["kv_load"].items():
        print("%-17s %7.0f writes/s, p50 %5.1f ms, p99 %5.1f ms" % (name, r["writes_per_s"], r["p50_ms"], r["p99_ms"]))
    e = results["entries"]
    fmt = lambda s: "%6.2f %6.2f %6d" % (s["p50"], s["p90"], s["n"]) if s else "     -      -      -"  # noqa: E731
    print("\nentries appended by the leader (node %d) in the window: %d" % (lid, e["entries"]))
    print("%-42s %6s %6s %6s" % ("phase (ms)", "p50", "p90", "n"))
    print("%-42s %s" % ("propose -> leader's Ready", fmt(e["propose_to_ready"])))
    for k, s in e["leader"].items():
        print("%-42s %s" % ("leader: " + k.replace("_", " "), fmt(s)))
    for f, d in e["followers"].items():
        for k, s in d.items():
            print("%-42s %s" % ("node %d: %s" % (f, k.replace("_", " ")), fmt(s)))
    print("\n%-42s %20s %20s" % ("one-way (ms)", "from sending Ready", "from its loop's end"))
    for k, d in results["one_way"].items():
        print("%-42s %20s %20s" % (k, fmt(d["from_ready"]), fmt(d["from_loop_end"])))
    with open(os.path.join(o.out, "results.json"), "w") as f:
        json.dump(results, f)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
