#!/usr/bin/env python3
"""Jepsen-style nemesis runs (issue 18): a seeded, randomized fault schedule over a real lab while clients
read and write, then the checks. Label `lab`; exit 77 without root/netns.

  nemesis.py --bin-dir build/agent --seed 7                   # one schedule (re-run a failing seed)
  nemesis.py --bin-dir build/agent --seeds 1:100 --out DIR    # soak: seeds 1..100 unattended
  nemesis.py --bin-dir build/agent --seed 7 --print-schedule  # the schedule only, no lab

Per seed: the schedule (tests/lab/nemesis_faults.py; seed -> schedule, printed and saved) runs over the
topology (default lab/nemesis4.clab.yml) for about a minute while 8 clients, spread over every router's control
socket, put/get/delete 5 keys and add/remove policy routes. After the last fault everything is healed, and:
  - every key's history is linearizable (tests/lab/linearizability.py, one register per key);
  - a single leader known by every voter within 2 election timeouts + the BGP hold time + the transits'
    reconnect wait (`bound_s` in summary.json) after the last heal;
  - every router serves a write and a read again within that bound;
  - nobody stays behind: every router reaches the leader's term and commit, and applies it;
  - every router reads the same kv store and policy table;
  - unavailability per fault type (longest gap between successful writes from a fault's start to its heal +
    the bound) is reported, as are ExaBGP's "route family is not configured" lines.
Everything goes to <out>/seed-<N>/: schedule.json, events.jsonl, history.json, monitor.jsonl (every router's
role/term/leader/commit every 0.5 s), timeline.txt (the agents' `role ... term ... leader ...` lines), status/
(status + debug.dump of each router at the end), dumps/ (debug.dump of each router every 2 s while no majority
names a leader for > 4 s), sessions.jsonl (BGP sessions down, links cut, every 3 s), lab/ (every daemon's log),
summary.json. `--timeline SEED_DIR` prints monitor, sessions and faults side by side.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labkit import Conn, Failed, Lab, agree, lab_unavailable, run_scenario, say  # noqa: E402
import linearizability  # noqa: E402
from nemesis_faults import Nemesis, make_schedule, topology_facts  # noqa: E402

SKIP = 77
KEYS = ["k%d" % i for i in range(5)]
N_CLIENTS = 8
RECONNECT_S = 10  # the transits' longest retry wait after a session error (BIRD `error wait time 1, 10`)
FAMILY_ERR = "route family is not configured"
STALL_DUMP_S = 4  # no majority leader for this long: debug.dump of every router every 2 s (dumps/)


class Workload:
    """N_CLIENTS threads, client i on router i mod n: put (unique values), get, delete on KEYS; clients 0 and 1
    also add/remove their own policy route. Each operation is one history record (times: s since t0)."""

    def __init__(self, lab, seed, t0):
        self.lab, self.seed, self.t0 = lab, seed, t0
        self.hist, self.lock, self.stop = [], threading.Lock(), threading.Event()
        self.threads = []

    def start(self):
        routers = sorted(self.lab.routers)
        for i in range(N_CLIENTS):
            t = threading.Thread(target=self.client, args=(i, routers[i % len(routers)]), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(10)

    def client(self, i, node):
        rng, cid = random.Random(self.seed * 1000 + i), "nem%d-c%d" % (self.seed, i)
        conn, seq, pfx, policy_on = Conn(self.lab.sock(node), 4), 0, "10.255.%d.0/24" % (200 + i), False
        while not self.stop.is_set():
            x = rng.random()
            key = rng.choice(KEYS)
            if x < 0.1 and i < 2:
                seq += 1
                op = "policy.remove" if policy_on else "policy.add"
                args = {"prefix": pfx} if policy_on else {"prefix": pfx, "communities": ["65000:%d" % (100 + i)]}
                rec = self.call(conn, node, cid, "p", pfx, op, args, seq)
                if rec["code"] == "ok":
                    policy_on = not policy_on
            elif x < 0.45:
                seq += 1
                val = "%s-%d" % (cid, seq)
                rec = self.call(conn, node, cid, "w", key, "kv.put", {"key": key, "value": val}, seq, val)
            elif x < 0.55:
                seq += 1
                rec = self.call(conn, node, cid, "w", key, "kv.delete", {"key": key}, seq, None)
            else:
                rec = self.call(conn, node, cid, "r", key, "kv.get", {"key": key})
            time.sleep(0.5 if rec["code"] == "unreachable" else rng.uniform(0.05, 0.25))
        conn.close()

    def call(self, conn, node, cid, kind, key, op, args, seq=None, value=None):
        t0 = time.monotonic() - self.t0
        r = conn.call(op, args, cid if seq else None, seq, timeout_ms=2000)
        t1 = time.monotonic() - self.t0
        code = "ok" if r.get("ok") else (r.get("error") or {}).get("code")
        if code == "not_found" and "index" in (r.get("result") or {}):
            code = "ok"  # a get or delete of a missing key: applied/read at that index, value None
        if kind == "r" and code == "ok":
            value = (r.get("result") or {}).get("value")
        rec = {"client": cid, "node": node, "op": kind, "ctl": op, "key": key, "value": value, "start": t0,
               "end": t1, "code": code}
        with self.lock:
            self.hist.append(rec)
        return rec


class Monitor:
    """Every 0.5 s: each router's role, term, leader, commit, applied, epoch (None when it does not answer)."""

    def __init__(self, lab, t0, path):
        self.lab, self.t0, self.path = lab, t0, path
        self.samples, self.stop = [], threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(len(lab.routers))
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.sthread = threading.Thread(target=self.sessions, daemon=True)

    def run(self):
        last_leader, last_dump = 0.0, 0.0
        with open(self.path, "w") as f:
            while not self.stop.is_set():
                t = time.monotonic() - self.t0
                row = {"t": round(t, 2)}
                # in parallel: a frozen router (SIGSTOP) takes its full timeout and must not delay the others
                for n, s in zip(sorted(self.lab.routers), self.pool.map(self.lab.status, sorted(self.lab.routers))):
                    row[n] = {k: s.get(k) for k in ("role", "term", "leader", "commit", "applied", "epoch")} \
                        if s else None
                self.samples.append(row)
                f.write(json.dumps(row) + "\n")
                f.flush()
                if self.majority_leader(row):
                    last_leader = t
                elif t - last_leader > STALL_DUMP_S and t - last_dump >= 2:
                    last_dump = t
                    self.dump_all("dumps/t%06.1f-" % t)
                self.stop.wait(0.5)

    def dump_all(self, prefix):
        """debug.dump of every router that answers, to <seed dir>/<prefix><node>.json (while leaderless)."""
        base = os.path.join(os.path.dirname(self.path), prefix)
        os.makedirs(os.path.dirname(base), exist_ok=True)
        for n in sorted(self.lab.routers):
            r = self.lab.call(n, "debug.dump", timeout_ms=1000)
            if r.get("ok"):
                with open(base + n + ".json", "w") as f:
                    json.dump(r["result"], f)

    def sessions(self, every=3.0):
        """Every `every` s: the BGP sessions each transit sees (clab-netns status), to sessions.jsonl: whether
        a leaderless stretch had every session up."""
        with open(os.path.join(os.path.dirname(self.path), "sessions.jsonl"), "w") as f:
            while not self.stop.is_set():
                t = round(time.monotonic() - self.t0, 2)
                try:
                    doc = json.loads(self.lab.clab("status", self.lab.file, "--json", check=False, timeout=20).stdout)
                    row = {"t": t, "down": sorted("%s:%s" % (n, x["peer"]) for n, v in doc["nodes"].items()
                                                  for x in v.get("sessions") or [] if not x["established"]),
                           "cut": sorted("%s-%s" % (l["a"], l["b"]) for l in doc.get("links", []) if l.get("cut"))}
                except (ValueError, KeyError, OSError, subprocess.TimeoutExpired) as e:
                    row = {"t": t, "error": str(e)}
                f.write(json.dumps(row) + "\n")
                f.flush()
                self.stop.wait(every)

    def majority_leader(self, row):
        """A leader that a majority of the voters (itself included) names in its own term, or None: the
        cluster can commit."""
        for n in sorted(self.lab.routers):
            v = row.get(n)
            if v and v["role"] == "leader":
                lid = self.lab.routers[n]
                followers = sum(1 for m in self.lab.routers if row.get(m) and row[m]["leader"] == lid and
                                row[m]["term"] == v["term"])
                if followers > len(self.lab.routers) // 2:
                    return n
        return None

    def agreed_leader(self, row):
        """The leader every router names in one sample (same term, the named one says `leader`), or None."""
        views = [row[n] for n in sorted(self.lab.routers)]
        if any(v is None for v in views):
            return None
        leaders, terms = {v["leader"] for v in views}, {v["term"] for v in views}
        if len(leaders) != 1 or len(terms) != 1:
            return None
        lid = leaders.pop()
        node = self.lab.by_id.get(lid)
        return node if node and row[node]["role"] == "leader" else None


def timing(lab):
    """(2 election timeouts, BGP hold time) in s from the routers' files: election_ticks * tick_ms, randomized up
    to twice that; the largest ExaBGP hold-time."""
    import yaml
    et, hold = 0.0, 0
    for n in lab.routers:
        for b in lab.nodes[n].get("binds") or []:
            src = os.path.join(os.path.dirname(lab.file), str(b).split(":")[0])
            if src.endswith("raftbgpd.yaml"):
                with open(src) as f:
                    c = yaml.safe_load(f)
                et = max(et, 2 * c.get("election_ticks", 10) * c.get("tick_ms", 100) / 1000)
            elif src.endswith("exabgp.conf"):
                with open(src) as f:
                    hold = max([hold] + [int(x) for x in re.findall(r"hold-time (\d+)", f.read())])
    return 2 * et, hold


def unavailability(hist, events, heal_at, bound):
    """Per fault kind: how often, and the longest gap between successful writes from its start to its heal (or
    start, when instantaneous) + bound."""
    oks = sorted(h["end"] for h in hist if h["op"] == "w" and h["code"] == "ok")
    out = {}
    for ev in events:
        s = ev.get("fired_at")
        if s is None:
            continue
        e = (ev.get("healed_at") or heal_at if ev["dur"] else s) + bound
        pts = [s] + [x for x in oks if s < x < e] + [min(e, heal_at + bound)]
        gap = max(b - a for a, b in zip(pts, pts[1:])) if len(pts) > 1 else 0
        k = out.setdefault(ev["kind"], {"count": 0, "max_gap_s": 0.0, "gaps_s": []})
        k["count"] += 1
        k["gaps_s"].append(round(gap, 2))
        k["max_gap_s"] = round(max(k["max_gap_s"], gap), 2)
    return out


def stretches(samples, agreed_leader, majority_leader, routers):
    """From the monitor: the longest stretch without a leader that a majority names (no commits possible), the
    longest without one leader every router names, and per router the longest stretch in which it answered
    with a term below the highest term any router answered with (stuck in an old term)."""
    def longest(flags):
        best, start = (0.0, None), None
        for t, bad in flags:
            if bad and start is None:
                start = t
            if not bad and start is not None:
                best, start = max(best, (round(t - start, 2), start)), None
        if start is not None and flags:
            best = max(best, (round(flags[-1][0] - start, 2), start))
        return {"s": best[0], "from_t": best[1]}
    out = {"no_majority_leader": longest([(r["t"], majority_leader(r) is None) for r in samples]),
           "not_all_agree": longest([(r["t"], agreed_leader(r) is None) for r in samples]), "old_term": {}}
    for n in routers:
        flags = []
        for r in samples:
            terms = [r[m]["term"] for m in routers if r.get(m)]
            flags.append((r["t"], bool(r.get(n)) and r[n]["term"] < max(terms)))
        out["old_term"][n] = longest(flags)
    return out


def all_up_stall(mon, routers):
    """The issue's stall: the longest stretch without a majority leader while every router answers, no link
    is cut and every BGP session is established (sessions.jsonl, sampled every 3 s)."""
    try:
        with open(os.path.join(os.path.dirname(mon.path), "sessions.jsonl")) as f:
            sess = [json.loads(line) for line in f]
    except OSError:
        return None
    best, start, last = 0.0, None, None
    for r in mon.samples:
        s = ([x for x in sess if x["t"] <= r["t"]] or [{"error": "none yet"}])[-1]
        bad = "error" not in s and not s["down"] and not s["cut"] and all(r.get(n) for n in routers) and \
            mon.majority_leader(r) is None
        if bad and start is None:
            start = r["t"]
        if not bad and start is not None:
            best, start = max(best, r["t"] - start), None
        last = r["t"]
    if start is not None:
        best = max(best, last - start)
    return round(best, 2)


def dump_evidence(lab, d):
    os.makedirs(os.path.join(d, "status"), exist_ok=True)
    for n in sorted(lab.routers):
        r = lab.call(n, "debug.dump", timeout_ms=2000)
        with open(os.path.join(d, "status", n + ".json"), "w") as f:
            json.dump(r, f, indent=1)
    lines = []
    for n in sorted(lab.routers):
        for path in glob.glob(os.path.join(lab.run_dir, n, "exabgp.out")):
            with open(path, errors="replace") as f:
                lines += ["%s %s %s" % (l.split()[0], n, l.split(" ", 1)[1].strip()) for l in f
                          if " role " in l and l[:4].isdigit()]
    with open(os.path.join(d, "timeline.txt"), "w") as f:
        f.write("\n".join(sorted(lines)) + "\n")


def family_errors(lab):
    out = {}
    for n in sorted(lab.routers):
        c = 0
        for path in glob.glob(os.path.join(lab.run_dir, n, "exabgp.*")):
            with open(path, errors="replace") as f:
                c += sum(FAMILY_ERR in l for l in f)
        out[n] = c
    return out


def run_seed(o, seed):
    d = os.path.join(o.out, "seed-%d" % seed)
    unmount_under(d)
    shutil.rmtree(d, ignore_errors=True)  # an earlier run of this seed
    os.makedirs(d)
    lab = Lab(os.path.join(REPO, "lab", "%s.clab.yml" % o.topology), o.bin_dir, run_root=os.path.join(d, "lab"),
              ns_prefix="%ss%d" % (o.ns_prefix, seed), quiet=True)
    facts = topology_facts(lab)
    if o.schedule:  # a saved or hand-written schedule (a regression case); its "seed" names the run
        with open(o.schedule) as f:
            sched = json.load(f)
    else:
        sched = make_schedule(seed, facts, o.duration)
    with open(os.path.join(d, "schedule.json"), "w") as f:
        json.dump(sched, f, indent=1)
    say("seed %d schedule (%s):\n%s" % (seed, os.path.join(d, "schedule.json"), "\n".join(
        "  t=%5.1fs %-15s %-5s target=%s" % (e["t"], e["kind"], "%.1fs" % e["dur"] if e["dur"] else "", e["target"])
        for e in sched["events"])))
    two_et, hold = timing(lab)
    bound = two_et + hold + RECONNECT_S
    summary = {"seed": seed, "topology": o.topology, "bound_s": bound, "checks": {}, "dir": d}
    evf = open(os.path.join(d, "events.jsonl"), "w")
    t0 = time.monotonic()

    def log_event(rec):
        rec["t"] = round(time.monotonic() - t0, 2)
        evf.write(json.dumps(rec) + "\n")
        evf.flush()
        say("  nemesis: %s" % json.dumps(rec))

    def check(name, ok, detail):
        summary["checks"][name] = {"ok": bool(ok), "detail": detail}
        say("%s %s: %s" % ("ok:" if ok else "FAILED:", name, detail))

    def scenario(lab):
        nonlocal t0
        work = mon = heal_at = None
        nem = Nemesis(lab, d, facts, log_event, lambda: mon.samples[-1] if mon and mon.samples else None)
        try:
            if any(e["kind"] == "disk_full" for e in sched["events"]):
                nem.mount_disk(sched.get("disk_router") or next(e["target"] for e in sched["events"]
                                                                if e["kind"] == "disk_full"))
            lab.wait_leader(timeout=40)
            t0 = time.monotonic()
            work, mon = Workload(lab, seed, t0), Monitor(lab, t0, os.path.join(d, "monitor.jsonl"))
            mon.thread.start()
            mon.sthread.start()
            work.start()
            actions = sorted([(e["t"], 0, e) for e in sched["events"]] +
                             [(e["t"] + e["dur"], 1, e) for e in sched["events"] if e["dur"]], key=lambda a: a[:2])
            for at, heal, ev in actions:
                time.sleep(max(0, at - (time.monotonic() - t0)))
                if heal:
                    nem.heal(ev)
                    ev["healed_at"] = time.monotonic() - t0
                else:
                    ev["fired_at"] = time.monotonic() - t0
                    nem.apply(ev)
            time.sleep(max(0, sched.get("duration_s", o.duration) - (time.monotonic() - t0)))
            nem.heal_all()
            heal_at = time.monotonic() - t0
            summary["last_heal_s"] = round(heal_at, 2)
            conv = wait_converged(mon, heal_at, bound + o.stall_watch)
            summary["leader_after_heal_s"] = conv
            check("single_leader_within_bound", conv is not None and conv <= bound,
                  "every voter named one leader %s s after the last heal (bound %.0f s = 2 election timeouts %.0f "
                  "+ hold %d + reconnect %d)" % (conv, bound, two_et, hold, RECONNECT_S))
            serv = wait_served(work, lab.routers, heal_at, bound + o.stall_watch)
            summary["service_after_heal_s"] = serv
            check("service_within_bound", serv is not None and serv <= bound,
                  "every router served a write and a read %s s after the last heal (bound %.0f s)" % (serv, bound))
            time.sleep(1)
        finally:
            if work:
                work.finish()
            nem.heal_all()
            if mon:
                mon.stop.set()
                mon.thread.join(5)
                mon.pool.shutdown(wait=False)
                mon.sthread.join(25)
            with open(os.path.join(d, "history.json"), "w") as f:
                json.dump(work.hist if work else [], f)
        dump_evidence(lab, d)
        checks_after(lab, work, mon, summary, check, sched, bound, heal_at)
        summary["family_errors"] = family_errors(lab)
        check("no_family_errors", not any(summary["family_errors"].values()),
              "ExaBGP lines \"%s\" per router: %s" % (FAMILY_ERR, summary["family_errors"]))
        failed = [k for k, v in summary["checks"].items() if not v["ok"]]
        if failed and o.hold_on_failure:
            say("holding the failed lab for %d s (namespaces %s-*) for inspection" % (o.hold_on_failure,
                                                                                 lab.ns("")[:-1]))
            signal.alarm(o.hold_on_failure + 120)  # the deadline moves with the hold
            time.sleep(o.hold_on_failure)
        if failed:
            raise Failed("seed %d: %s" % (seed, ", ".join(failed)))

    try:
        rc = run_scenario(lab, "nemesis seed %d" % seed, scenario, o.deadline)
    finally:
        evf.close()
        unmount_under(d)
    summary["pass"] = rc == 0
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def unmount_under(d):
    """The disk_full tmpfs (a router's data dir) of a seed's lab, lazily unmounted (after `down`)."""
    for m in glob.glob(os.path.join(d, "lab", "*", "*", "data")):
        if os.path.ismount(m):
            subprocess.run(["umount", "-l", m], check=False)


def wait_served(work, routers, heal_at, limit):
    """Seconds from heal_at until a write and a read started after it succeeded through every router's socket
    (the workload keeps running); None within `limit`."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with work.lock:
            done = {}
            for h in work.hist:
                if h["start"] >= heal_at and h["code"] == "ok" and h["op"] in ("w", "r"):
                    done.setdefault(h["node"], {})[h["op"]] = min(h["end"], done.get(h["node"], {}).get(h["op"], 1e9))
        if all(len(done.get(n, {})) == 2 for n in routers):
            return round(max(t for v in done.values() for t in v.values()) - heal_at, 2)
        time.sleep(0.25)
    return None


def wait_converged(mon, heal_at, limit):
    """Seconds from heal_at to the first monitor sample with one agreed leader; None within `limit`."""
    deadline = time.monotonic() + limit
    seen = 0
    while time.monotonic() < deadline:
        rows = mon.samples[seen:]
        seen += len(rows)
        for row in rows:
            if row["t"] >= heal_at and mon.agreed_leader(row):
                return round(row["t"] - heal_at, 2)
        time.sleep(0.25)
    return None


def checks_after(lab, work, mon, summary, check, sched, bound, heal_at):
    routers = sorted(lab.routers)
    # nobody stays behind: the workload has stopped, so every router reaches one term, one commit, applied
    st = {}

    def level():
        st.update({n: lab.status(n) for n in routers})
        v = list(st.values())
        return None not in v and len({(s["term"], s["commit"]) for s in v}) == 1 and \
            all(s["applied"] == s["commit"] for s in v)
    t = time.monotonic()
    while not level() and time.monotonic() - t < 20:
        time.sleep(0.5)
    check("nobody_behind", level(), {n: s and "%s term %d commit %d applied %d" % (s["role"], s["term"], s["commit"],
                                                                               s["applied"]) for n, s in st.items()})
    try:
        items = agree(lab, routers, timeout=20)
        check("kv_converged", True, "%d keys on every router" % len(items))
    except Failed as e:  # what each router answers, for the evidence
        views = {n: lab.call(n, "kv.list", timeout_ms=3000) for n in routers}
        check("kv_converged", False, "%s: %s" % (e, {n: (r.get("result") or {}).get("items") if r.get("ok") else
                                                     r.get("error") for n, r in views.items()}))
    pol = {n: lab.call(n, "policy.show", timeout_ms=3000) for n in routers}
    pol = {n: sorted(x["prefix"] for x in ((r.get("result") or {}).get("routes") or [])) if r.get("ok") else None
           for n, r in pol.items()}
    check("policy_converged", None not in pol.values() and len({tuple(v) for v in pol.values()}) == 1, pol)
    hist = work.hist
    for key in KEYS:
        hk = [h for h in hist if h["key"] == key]
        ok, why = linearizability.check_register(hk, initial=None)
        check("linearizable_%s" % key, ok or "budget" in why, ("inconclusive: " if not ok else "") + why)
    n_ok = sum(h["code"] == "ok" for h in hist)
    summary["ops"] = {"total": len(hist), "ok": n_ok,
                      "unknown": sum(h["code"] in linearizability.UNKNOWN for h in hist)}
    summary["unavailability"] = unavailability(hist, sched["events"], heal_at, bound)
    summary["stretches"] = st = stretches(mon.samples, mon.agreed_leader, mon.majority_leader, routers)
    st["no_majority_leader_all_up"] = all_up_stall(mon, routers)
    say("longest stretch without a majority leader %.1f s (from t=%s; %s s of it with every router, link and "
        "session up), without an agreed leader %.1f s" % (st["no_majority_leader"]["s"],
                                                          st["no_majority_leader"]["from_t"],
                                                          st["no_majority_leader_all_up"], st["not_all_agree"]["s"]))
    say("unavailability per fault kind: %s" % json.dumps({k: v["max_gap_s"] for k, v in
                                                          summary["unavailability"].items()}))


def print_timeline(seed_dir, t_from=0.0, t_to=1e9):
    """A seed's monitor samples beside the BGP sessions down and links cut at that time, and the faults."""
    with open(os.path.join(seed_dir, "sessions.jsonl")) as f:
        sess = [json.loads(line) for line in f]
    with open(os.path.join(seed_dir, "events.jsonl")) as f:
        evs = [json.loads(line) for line in f]
    with open(os.path.join(seed_dir, "monitor.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            if not t_from <= row["t"] <= t_to:
                continue
            for e in [e for e in evs if row["t"] - 0.5 < e["t"] <= row["t"]]:
                print("%7.2f   nemesis %s %s %s" % (e["t"], e["what"], e.get("kind", ""), e.get("target", "")))
            s = ([x for x in sess if x["t"] <= row["t"]] or [{}])[-1]
            print("%7.2f %s | down %s cut %s" % (row["t"], " | ".join(
                "%s %-5.5s t%-3s L%-2s c%-5s" % (n, v["role"], v["term"], v["leader"], v["commit"]) if v else n + " -"
                for n, v in sorted((k, v) for k, v in row.items() if k != "t")), s.get("down"), s.get("cut")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", action="append", required=True)
    ap.add_argument("--topology", default="nemesis4")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--seed", type=int, action="append", help="a seed (repeatable)")
    g.add_argument("--seeds", help="A:B: every seed from A to B (both included), unattended")
    ap.add_argument("--duration", type=int, default=60, help="seconds of faults per schedule")
    ap.add_argument("--out", default=os.path.join(REPO, "lab", "run", "nemesis"))
    ap.add_argument("--ns-prefix", default="nm%d" % (os.getpid() % 10 ** 4),
                    help="namespace prefix; the seed is appended ([a-z][a-z0-9]{0,15} in all)")
    ap.add_argument("--deadline", type=int, default=300, help="per seed: the lab is brought down after this")
    ap.add_argument("--stall-watch", type=int, default=30, help="keep watching a stall this long past the bound")
    ap.add_argument("--hold-on-failure", type=int, default=0, metavar="S",
                    help="keep a failed seed's lab up S seconds before bringing it down (inspect it by hand)")
    ap.add_argument("--print-schedule", action="store_true")
    ap.add_argument("--schedule", help="run this schedule.json (a seed dir's, or written by hand) instead of the "
                    "seed's; its events: t, kind, dur, target, pick (tests/lab/nemesis_faults.py)")
    ap.add_argument("--timeline", metavar="SEED_DIR", help="print a finished seed's monitor/sessions/faults timeline")
    o = ap.parse_args()
    if o.timeline:
        print_timeline(o.timeline)
        return 0
    if o.seeds:
        a, b = (int(x) for x in o.seeds.split(":"))
        seeds = list(range(a, b + 1))
    elif o.schedule:
        with open(o.schedule) as f:
            seeds = [json.load(f)["seed"]]
    else:
        seeds = o.seed or [1]
    if o.print_schedule:
        lab = Lab(os.path.join(REPO, "lab", "%s.clab.yml" % o.topology), o.bin_dir)
        for s in seeds:
            print(json.dumps(make_schedule(s, topology_facts(lab), o.duration), indent=1))
        return 0
    why = lab_unavailable(("exabgp", "bird", "gobgpd", "vtysh"))
    if why:
        print("SKIP: " + why)
        return SKIP
    o.out = os.path.abspath(o.out)
    results = []
    for s in seeds:
        try:
            r = run_seed(o, s)
        except Exception as e:  # a harness bug: the seed's lab is already down (run_scenario's finally)
            say("seed %d: harness error %r" % (s, e))
            r = {"seed": s, "topology": o.topology, "pass": False, "checks": {"harness": {"ok": False,
                                                                                      "detail": repr(e)}}}
        results.append(r)
        with open(os.path.join(o.out, "soak.jsonl"), "a") as f:
            f.write(json.dumps({k: r.get(k) for k in ("seed", "topology", "pass", "leader_after_heal_s",
                                                      "service_after_heal_s", "family_errors", "ops", "stretches")} |
                               {"failed": [k for k, v in r["checks"].items() if not v["ok"]]}) + "\n")
    bad = [r["seed"] for r in results if not r["pass"]]
    say("%d seeds, %d failed%s" % (len(results), len(bad), (": " + " ".join(map(str, bad))) if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
