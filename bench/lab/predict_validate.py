#!/usr/bin/env python3
"""raftbgp-predict against the lab: predicted vs measured, side by side (issue 14 item 5; a figure, not a test).

  bench/lab/predict_validate.py --bin-dir build/agent --predict build/predictor/raftbgp-predict \\
      [--variants star3,star3-frr,ring5] [--calibrate 200] [--puts 300] [--min-seconds 4] [--kills 15]
      [--trials 100000] [--out DIR]
  bench/lab/predict_validate.py --predict build/predictor/raftbgp-predict --again DIR   # no lab: re-predict DIR's run

For each lab (as root; namespaces $RAFTBGP_LAB_NS_PREFIX-<lab>-*, default p14):
  1. calibrate  the lab comes up; --calibrate sequential kv puts at the leader and as many at a follower (the lowest-id
                one, as cluster_bench.py) give the agents traffic to measure; every router's model file is dumped
                (debug.model, the same as `raftbgpctl debug model`) into <out>/<lab>/model-<tag>-rN.json before them
                (start), between them (cal-l) and after them (before), and raftbgp-predict runs on them (--leader,
                --follower as in the lab). The prediction sees nothing of what is measured next.
                Each figure is predicted from the models of the writes of its own kind (window = what the agents
                observed between two dumps, histogram by histogram): the commit at the leader and the propagation
                from cal-l - start, the commit at a follower from before - cal-l, elections from everything before.
                A link's delay depends on where the writes come from: on star3 an AppendEntries round trip took 3.0-
                3.15 ms p50 while one client wrote at the leader and 2.5 ms while it wrote at a follower, in the same
                minute (its next write waits for two more trips, so the pipeline is quieter; flight recordings,
                docs/architecture.md §7). One model of both kinds of write under-predicted the first and
                over-predicted the second.
  (On a fast lab both counts grow so that each phase lasts --min-seconds, up to 2,000 writes: star3 writes ~1,000.)
  2. measure    commit    --puts sequential puts (256 B values, one client, persistent control connection) at the
                          leader, then at the follower: the client's time from request to answer;
                propagation  a kv.watch on every router, then --puts puts at the leader one after another: for each,
                          the time from the leader's watch line to the last router's (the time until every router has
                          applied it: policy entries take the same log path; announcing the routes to ExaBGP after the
                          apply is not included), and per follower the delay (PBS t-visibility);
                election  --kills times (star3 and star3-frr only, see --election-variants): a put, then at once the
                          leader router's ExaBGP and agent get SIGKILL (its BGP session closes) and the survivors' status
                          is polled every 20 ms until they name one live leader; the old leader is started again and
                          caught up. The put keeps the leader from quiescing, which the predictor does not model.
  3. predicts again from what the agents observed during the measured phases alone, each figure from its own phase
                (dumps after each: m-l, m-f, after; <out>/<lab>/model-during-<window>-rN.json). The
                machine's load drifts (on the shared development machine an fsync went from 0.2 to 4 ms between
                two phases), so this is the test of the model itself in the measurement's conditions, and `before` the
                test of a prediction made ahead. The predictor never reads the figures it predicts, only per-hop
                observations.
  4. prints     both predictions vs measured p50 and p99 with the relative error, and writes <out>/results.json. The
                predictor times a write from its arrival in the agent; the commit rows add the control socket's round
                trip (p50 of a cheap local op, measured) to compare with what the client sees.
Errors are reported as they are; nothing is fitted to the measurement.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
from labkit import Conn, Lab, caught_up, say, wait_until  # noqa: E402

VALUE = "v" * 256


def pct(v, q):
    s = sorted(v)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else float("nan")


def puts(lab, node, n, tag):
    """n sequential puts at `node` on one connection: every latency (ms)."""
    c = Conn(lab.sock(node), 10)
    out = []
    cid = "pv-%s-%d" % (tag, os.getpid())
    try:
        for i in range(n):
            t = time.perf_counter()
            r = c.call("kv.put", {"key": "%s/%d" % (tag, i), "value": VALUE}, client_id=cid, seq=i + 1,
                       timeout_ms=5000)
            ms = (time.perf_counter() - t) * 1000
            if r.get("ok"):
                out.append(ms)
            else:
                say("put at %s: %s" % (node, r.get("error")))
    finally:
        c.close()
    return out


class Watcher(threading.Thread):
    """A kv.watch on one router: the arrival time (perf_counter) of each key's change line."""

    def __init__(self, sock_path, prefix):
        super().__init__(daemon=True)
        self.seen, self.ready = {}, threading.Event()
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(sock_path)
        req = {"id": 1, "op": "kv.watch", "args": {"prefix": prefix}, "timeout_ms": 5000}
        self.s.sendall((json.dumps(req) + "\n").encode())

    def run(self):
        buf = b""
        first = True
        while True:
            try:
                chunk = self.s.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            t = time.perf_counter()
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if first:
                    first = False
                    self.ready.set()
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                key = (ev.get("event") or {}).get("key")  # {"id", "event": {"index", "key", ...}} (control.h)
                if key and key not in self.seen:
                    self.seen[key] = t

    def close(self):
        try:
            self.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.s.close()


def socket_overhead(lab, node, n=200):
    """The control-socket round trip of a cheap local op (members) on one connection, p50 (ms): what the client's
    commit figure holds besides the agent's arrival -> apply, added to the prediction."""
    c = Conn(lab.sock(node), 10)
    out = []
    try:
        for _ in range(n):
            t = time.perf_counter()
            c.call("members")
            out.append((time.perf_counter() - t) * 1000)
    finally:
        c.close()
    return pct(out, 0.5)


def propagation(lab, leader, n):
    """n puts at the leader; per put: last router's watch line - the leader's, and each follower's delay (ms)."""
    tag = "pg%d" % int(time.time())
    watchers = {r: Watcher(lab.sock(r), tag + "/") for r in lab.routers}
    for w in watchers.values():
        w.start()
        w.ready.wait(5)
    puts(lab, leader, n, tag)
    time.sleep(1.0)
    for w in watchers.values():
        w.close()
    prop, delays = [], []
    for i in range(n):
        key = "%s/%d" % (tag, i)
        t_lead = watchers[leader].seen.get(key)
        ts = [w.seen.get(key) for r, w in watchers.items() if r != leader]
        if t_lead is None or any(t is None for t in ts):
            continue
        prop.append((max(ts) - t_lead) * 1000)
        delays += [(t - t_lead) * 1000 for t in ts]
    return prop, delays


def elections(lab, kills):
    out = []
    for k in range(kills):
        wait_until("every router caught up", lambda: caught_up(lab), 60, every=0.2)
        leader = lab.leader()
        rest = [n for n in sorted(lab.routers) if n != leader]
        lab.call(leader, "kv.put", {"key": "el/%d" % k, "value": "x"}, client_id="pv-el-%d" % os.getpid(), seq=k + 1)
        # SIGKILL the leader router's ExaBGP and agent here (the runner's `kill` would add its own start-up, ~0.2 s
        # of Python, to the figure); the runner's kill afterwards only finds them gone.
        pids = [p for comm in ("raftbgpd", "exabgp") for p in lab.pids(leader, comm)]
        for p in pids:
            os.kill(p, signal.SIGKILL)
        t = time.monotonic()
        wait_until("a new leader", lambda: lab.leader(rest), 60, every=0.02)
        ms = (time.monotonic() - t) * 1000
        say("killed %s (%d processes): new leader after %.0f ms" % (leader, len(pids), ms))
        out.append(ms)
        lab.kill(leader)
        lab.start(leader)
    wait_until("every router caught up", lambda: caught_up(lab), 60, every=0.2)
    return out


def dump_models(lab, out_dir, tag):
    """Every router's model file (debug.model) into <out_dir>/model-<tag>-<router>.json; their paths."""
    files = []
    for n in sorted(lab.routers):
        m = lab.call(n, "debug.model", timeout_ms=3000)
        if not m.get("ok"):
            say("debug.model at %s: %s" % (n, m.get("error")))
            continue
        f = os.path.join(out_dir, "model-%s-%s.json" % (tag, n))
        with open(f, "w") as fh:
            json.dump(m["result"], fh, indent=1)
        files.append(f)
    return files


def minus(after, before):
    """A model file's histograms and rtt_co_move sums less an earlier dump's (the observations in between); other
    fields from `after`."""
    if isinstance(after, dict) and "pairs" in after and "gap_upper_seconds" in after:  # rtt_co_move: sums per bin
        if not isinstance(before, dict) or before.get("gap_upper_seconds") != after["gap_upper_seconds"]:
            return after
        return {k: ([a - b for a, b in zip(v, before[k])] if k != "gap_upper_seconds" else v)
                for k, v in after.items()}
    if isinstance(after, dict) and "bounds" in after and "counts" in after:
        if not isinstance(before, dict) or before.get("bounds") != after["bounds"]:
            return after
        return dict(after, counts=[a - b for a, b in zip(after["counts"], before["counts"])],
                    count=after["count"] - before["count"], sum=after["sum"] - before["sum"])
    if isinstance(after, dict):
        return {k: minus(v, (before or {}).get(k) if isinstance(before, dict) else None) for k, v in after.items()}
    return after


def window_models(out_dir, to_tag, from_tag, name):
    """model-<name>-rN.json = model-<to_tag>-rN.json less model-<from_tag>-rN.json (what the agents observed between
    the two dumps), for each router dumped both times; the files' paths. from_tag None: the <to_tag> dumps as they are
    (everything since the agents started)."""
    if from_tag is None:
        return sorted(os.path.join(out_dir, f) for f in os.listdir(out_dir) if f.startswith("model-%s-r" % to_tag))
    files = []
    for f in sorted(os.listdir(out_dir)):
        if not f.startswith("model-%s-r" % to_tag):
            continue
        b = os.path.join(out_dir, f.replace("model-%s-" % to_tag, "model-%s-" % from_tag))
        if not os.path.exists(b):
            continue
        with open(os.path.join(out_dir, f)) as fa, open(b) as fb:
            doc = minus(json.load(fa), json.load(fb))
        out = os.path.join(out_dir, f.replace("model-%s-" % to_tag, "model-%s-" % name))
        with open(out, "w") as fh:
            json.dump(doc, fh, indent=1)
        files.append(out)
    return files


# Which dumps each prediction's figures come from: (to_tag, from_tag) per window, see the module's docstring. A run
# kept from before the windows (dumps "before" and "after" only) is predicted again as it was: one window per column.
WINDOWS = {
    "before": {"leader": ("cal-l", "start"), "follower": ("before", "cal-l"), "propagation": ("cal-l", "start"),
               "election": ("before", None)},
    "during": {"leader": ("m-l", "before"), "follower": ("m-f", "m-l"), "propagation": ("after", "m-f"),
               "election": ("after", "before")},
}
OLD_WINDOWS = {"before": ("before", None), "during": ("after", "before")}
# The figures each window gives (election_ms only with elections).
FIGURES = {"leader": ("commit_leader_ms",), "follower": ("commit_follower_ms",),
           "propagation": ("propagation_ms", "follower_delay_ms", "visibility"), "election": ("election_ms",)}


def predict_column(o, out_dir, column, leader_id, follower_id, with_election):
    """One column's prediction: every figure from the models of its own window (WINDOWS), merged into one doc."""
    has_windows = any(f.startswith("model-cal-l-") for f in os.listdir(out_dir))
    windows = WINDOWS[column] if has_windows else {w: OLD_WINDOWS[column] for w in FIGURES}
    doc, done = {"windows": {}}, {}
    for w, figures in FIGURES.items():
        if w == "election" and not with_election:
            continue
        to_tag, from_tag = windows[w]
        name = "%s-%s" % (column, w) if from_tag else to_tag
        key = (to_tag, from_tag, w == "election")
        if key not in done:
            files = window_models(out_dir, to_tag, from_tag, name)
            done[key] = predict(o, files, leader_id, follower_id, w == "election")
        one = done[key]
        for k in figures:
            if k in one:
                doc[k] = one[k]
        doc["windows"][w] = "%s - %s" % (to_tag, from_tag) if from_tag else to_tag
        for k in ("leader", "follower", "voters"):
            doc[k] = one[k]
        doc.setdefault("notes", {})[w] = one["notes"]
        t = doc.setdefault("timing", {"commit_seconds": 0, "election_seconds": 0})
        t["commit_seconds"] += one["timing"].get("commit_seconds", 0) if w != "election" else 0
        t["election_seconds"] += one["timing"].get("election_seconds", 0)
    return doc


def predict(o, files, leader_id, follower_id, with_election):
    argv = [o.predict, "--json", "--trials", str(o.trials), "--election-trials", str(o.election_trials),
            "--leader", str(leader_id), "--follower", str(follower_id), "--visibility", o.visibility]
    for f in files:
        argv += ["--model", f]
    if not with_election:
        argv.append("--no-election")
    if o.co_move:
        argv += ["--co-move", o.co_move]
    t = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError("raftbgp-predict failed: %s" % p.stderr)
    doc = json.loads(p.stdout)
    doc["wall_seconds"] = time.monotonic() - t
    return doc


def run_variant(o, v, run_root):
    lab = Lab(os.path.join(REPO, "lab", "%s.clab.yml" % v), [o.bin_dir], run_root=run_root,
              ns_prefix=o.ns_prefix, quiet=True)
    out_dir = os.path.join(o.out, v)
    os.makedirs(out_dir, exist_ok=True)
    r = {}
    try:
        lab.up(wait=90)
        leader = lab.wait_leader(timeout=60)
        follower = next(n for n in sorted(lab.routers, key=lambda n: lab.routers[n]) if n != leader)
        say("%s: leader %s, follower %s" % (v, leader, follower))
        warm = puts(lab, leader, 20, "warm")
        ids = (lab.routers[leader], lab.routers[follower])
        # Fast labs write more: each phase lasts at least --min-seconds (star3's commits take a few ms, and a p99 of 300
        # writes is their third slowest), up to 2,000 writes.
        n_cal, n_puts = (max(n, min(2000, int(o.min_seconds * 1000 / max(pct(warm, 0.5), 0.1))))
                         for n in (o.calibrate, o.puts))
        say("%s: %d calibration writes and %d measured writes per phase" % (v, n_cal, n_puts))
        r["writes_per_phase"] = {"calibrate": n_cal, "measure": n_puts}
        with_election = v in o.election_variants.split(",")
        # 1. calibrate (a dump after each kind of write), predict
        dump_models(lab, out_dir, "start")
        cal_l = puts(lab, leader, n_cal, "cal-l")
        dump_models(lab, out_dir, "cal-l")
        cal_f = puts(lab, follower, n_cal, "cal-f")
        # What the clients saw while calibrating: how far the machine moved before the measurement (printed).
        r["calibration"] = {"commit_leader": cal_l, "commit_follower": cal_f}
        dump_models(lab, out_dir, "before")
        r["predicted"] = predict_column(o, out_dir, "before", *ids, with_election)
        # 2. measure (a dump after each phase)
        r["socket_ms"] = socket_overhead(lab, leader)
        r["commit_leader"] = puts(lab, leader, n_puts, "m-l")
        dump_models(lab, out_dir, "m-l")
        r["commit_follower"] = puts(lab, follower, n_puts, "m-f")
        dump_models(lab, out_dir, "m-f")
        r["propagation"], r["follower_delay"] = propagation(lab, leader, n_puts)
        dump_models(lab, out_dir, "after")
        # 3. the same from what the agents observed during each measured phase (kept as "predicted_after")
        r["predicted_after"] = predict_column(o, out_dir, "during", *ids, with_election)
        if with_election and o.kills > 0:
            r["elections"] = elections(lab, o.kills)
        r["leader"], r["follower"] = leader, follower
    finally:
        lab.down()
    with open(os.path.join(out_dir, "measured.json"), "w") as fh:
        json.dump(r, fh, indent=1)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", help="raftbgpd, raftbgpctl, raftbgp-exabgp (build/agent)")
    ap.add_argument("--predict", required=True, help="the raftbgp-predict binary")
    ap.add_argument("--variants", default="star3,star3-frr,ring5")
    ap.add_argument("--election-variants", default="star3,star3-frr")
    ap.add_argument("--calibrate", type=int, default=200)
    ap.add_argument("--puts", type=int, default=300)
    ap.add_argument("--min-seconds", type=float, default=4,
                    help="more calibration and measured writes on a fast lab: each phase at least this long (by the "
                         "warm-up writes' p50), up to 2,000 writes")
    ap.add_argument("--kills", type=int, default=15)
    ap.add_argument("--trials", type=int, default=100000)
    ap.add_argument("--election-trials", type=int, default=2000)
    ap.add_argument("--visibility", default="1,2,5,10,20,50,100,200")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "lab", "out", "predict"))
    ap.add_argument("--co-move", metavar="RHO,TAU_MS",
                    help="raftbgp-predict --co-move: how link delays move together, instead of what the agents "
                         "measured (0,0: independent draws)")
    ap.add_argument("--again", metavar="DIR",
                    help="no lab: predict again from an earlier run's model files and compare with its measurements "
                         "(DIR/<lab>/measured.json; e.g. with a newer raftbgp-predict); the table is printed as usual")
    o = ap.parse_args()
    o.predict, o.out = os.path.abspath(o.predict), os.path.abspath(o.out)
    o.ns_prefix = os.environ.get("RAFTBGP_LAB_NS_PREFIX", "p14")
    res = {}
    if o.again:
        for v in o.variants.split(","):
            d = os.path.join(o.again, v)
            with open(os.path.join(d, "measured.json")) as fh:
                r = json.load(fh)
            with_election = "elections" in r
            for column, key in (("before", "predicted"), ("during", "predicted_after")):
                r[key] = predict_column(o, d, column, int(r[key]["leader"]), int(r[key]["follower"]), with_election)
            res[v] = r
        o.out = os.path.abspath(o.again)
    else:
        if not o.bin_dir:
            ap.error("--bin-dir is required (unless --again)")
        o.bin_dir = os.path.abspath(o.bin_dir)
        os.makedirs(o.out, exist_ok=True)
        run_root = os.path.join(o.out, "lab-run")
        for v in o.variants.split(","):
            say("== %s" % v)
            res[v] = run_variant(o, v, run_root)
    with open(os.path.join(o.out, "results-again.json" if o.again else "results.json"), "w") as f:
        json.dump(res, f, indent=1)

    print("\nmachine: %s, %d CPUs, load average %s" % (os.uname().release, os.cpu_count(),
                                                      open("/proc/loadavg").read().split()[:3]))
    print("%-10s %-30s %s | %8s %8s %7s %8s | %8s %8s %7s %8s" % (
        "lab", "figure (ms)", "                ", "before", "err", "during", "err", "before", "err", "during", "err"))
    print("%-10s %-30s %s | %-34s | %-34s" % ("", "", "measured p50/p99", "p50: predicted from models dumped",
                                                "p99: predicted from models dumped"))

    def err(p, m):
        return "%+6.1f%%" % ((p - m) / m * 100) if m else "    n/a"

    for v, r in res.items():
        sock = r["socket_ms"]
        rows = [("commit at leader " + r["leader"], "commit_leader_ms", r["commit_leader"], sock),
                ("commit at follower " + r["follower"], "commit_follower_ms", r["commit_follower"], sock),
                ("propagation to every router", "propagation_ms", r["propagation"], 0),
                ("follower applied after leader", "follower_delay_ms", r["follower_delay"], 0)]
        if "elections" in r and "election_ms" in r["predicted"]:
            rows.append(("election after leader kill", "election_ms", r["elections"], 0))
        for name, key, meas, add in rows:
            cells = []
            for q, qn in ((0.5, "p50"), (0.99, "p99")):
                m = pct(meas, q)
                b, a = r["predicted"][key][qn] + add, r["predicted_after"][key][qn] + add
                cells.append("%8.2f %8s %7.2f %8s" % (b, err(b, m), a, err(a, m)))
            print("%-10s %-30s %s | %s | %s   n=%d" % (v, name, "%.1f/%.1f" % (pct(meas, 0.5), pct(meas, 0.99)),
                                                  cells[0], cells[1], len(meas)))
        print("%-10s (commit rows add the control socket's round trip to the prediction: %.2f ms, measured on `members`)"
              % (v, sock))
        if "calibration" in r:
            print("%-10s the same writes while calibrating, p50/p99 (ms): at the leader %.1f/%.1f, at the follower "
                  "%.1f/%.1f (how far the machine moved before the measurement: what `before` cannot know)" %
                  (v, pct(r["calibration"]["commit_leader"], 0.5), pct(r["calibration"]["commit_leader"], 0.99),
                   pct(r["calibration"]["commit_follower"], 0.5), pct(r["calibration"]["commit_follower"], 0.99)))
        p = r["predicted"]
        vis = " ".join("P(%g ms)=%.2f/%.2f" % (x["t_ms"], x["p"],
                                               sum(1 for d in r["follower_delay"] if d <= x["t_ms"]) /
                                               max(1, len(r["follower_delay"]))) for x in p["visibility"])
        print("%-10s PBS t-visibility predicted (before)/measured: %s" % (v, vis))
        t = p["timing"]
        print("%-10s predictor: %d writes x 2 per window in %.1f s, %s elections in %.1f s; windows (models dumped "
              "after - before): %s" %
              (v, p["commit_leader_ms"]["n"], t["commit_seconds"], p.get("election_ms", {}).get("n", 0),
               t.get("election_seconds", 0),
               "; ".join("%s %s / %s" % (w, p.get("windows", {}).get(w), r["predicted_after"].get("windows", {}).get(w))
                         for w in ("leader", "follower", "propagation", "election") if w in p.get("windows", {}))))
    print("models and measurements: %s/<lab>/" % o.out)


if __name__ == "__main__":
    main()
