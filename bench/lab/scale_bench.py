#!/usr/bin/env python3
"""What raftbgp costs at N routers, and policy propagation next to plain BGP (a figure, not a timed test).

  sudo bench/lab/scale_bench.py --bin-dir build/agent [--kv-load build/bench/kv_load] [--sizes 8,16,32]
                                [--changes 20] [--burst 3000] [--cpu-seconds 30] [--out DIR]

For each N in --sizes, one lab after the other: `lab/metro-gen N OUT/gen --probes` writes metroN (N/4 routers
behind each of four transits, BIRD/FRR/GoBGP/BIRD, 5 voters + N-5 learners, per-router mailbox filters) plus
the probes of bench/lab/exabgp_probe.py: a second API process in every router's ExaBGP (`inject`, lines written
to <run>/rI/data/inject.fifo become ExaBGP commands: plain routes through the same ExaBGP and transits, never
through Raft) and an observer node `mon` (ExaBGP, AS 65300) with an IPv4 session to every transit using
ADD-PATH, so it receives every path each transit holds, one per announcing router, and stamps each on arrival.
The lab runs under the namespace prefix sb<pid>n<N> (lab/labkit.py run_scenario: always torn down).

  idle        after the leader is agreed and every router applied its commit index, + --settle s: per transit,
              mailbox routes (both families, labkit.mailbox_prefixes), per router (/ N), and the daemon's own
              figures: BIRD `show memory` (route attributes, routing tables), FRR `show bgp memory` (BGP
              attributes, unknown attributes, routes), GoBGP `global rib summary` (destinations, paths); the
              transit daemon's RSS.
  idle CPU    bench/lab/idle_cpu.measure over --cpu-seconds: ExaBGP, raftbgpd and transit daemons (mon and the
              relay processes left out).
  RSS         raftbgpd and ExaBGP VmRSS on every router (median, max), idle and after the burst.
  propagation --changes rounds, each: (1) plain: router k's inject FIFO gets `announce route 10.255.241.k/32
              next-hop self`; t0 just after the write; (2) policy: `policy.add 10.255.242.k/32` on the k-th learner
              (each in turn: the writer's place against the leader moves the figure) over a persistent
              control-socket connection to it (labkit.Conn); t0 when the answer arrived. Each is
              timed at two points in the same round:
              wire (the figure): bench/lab/bgp_wire.py stamps, with the kernel's packet time on every router's
                links, when the plain route's UPDATE arrived at each other router from its transit (it reached
                that router's ExaBGP), and when each router's ExaBGP sent its policy UPDATE to its transit (it
                is in the transit's RIB): done at the last router;
              mon: the observer has the plain route from all four transits, and the policy path with AS path
                [transit, j] for every router j: one more BGP hop on (through each transit's output queue,
                FRR's ~50 ms, once more for the policy than for the plain route).
              p50/p99 of each and the ratio of the p50s. A policy write answered only after a retry (same
              client_id/seq) is counted, not timed. Afterwards every probe route is withdrawn again
              (policy.remove, `withdraw route`) and the lab settles.
  load        kv_load --count --burst writes (--clients at the leader; a client answered no_leader or timeout retries
              the same put after 100 ms for up to 10 s, as a real client rides out an election: kv_load
              --retry-ms); the footprint sampled during the burst
              (max per transit), then polled until every transit holds <= 4 mailbox routes per router: the time
              from the burst's end (resolution: one poll round of all transits, reported).

Prints a table; writes OUT/results.json (default OUT: lab/run/scale-<time>, git-ignored). Needs root.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import idle_cpu  # noqa: E402
from cluster_bench import pct  # noqa: E402
from bgp_wire import Wire  # noqa: E402
from labkit import Conn, Failed, Lab, run_scenario, say, wait_until  # noqa: E402

PROBE = os.path.join(REPO, "bench", "lab", "exabgp_probe.py")


def to_bytes(num, unit):
    return float(num) * {"B": 1, "bytes": 1, "kB": 1e3, "KiB": 1024, "MB": 1e6, "MiB": 1 << 20, "GB": 1e9}.get(unit, 1)


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None


# -- the transits --------------------------------------------------------------------------------------------

def transit_memory(lab, t):
    """The transit daemon's own memory figures (see the module doc) and its RSS (kB)."""
    role = lab.transits[t]
    out = {}
    if role == "transit-bird":
        _, text, _ = lab.exec(t, "birdc", "show", "memory")
        for key, label in (("route_attributes_B", "Route attributes:"), ("routing_tables_B", "Routing tables:")):
            m = re.search(re.escape(label) + r"\s+([\d.]+)\s+(\S+)", text)
            if m:
                out[key] = int(to_bytes(*m.groups()))
        daemons = ["bird"]
    elif role == "transit-frr":
        _, text, _ = lab.exec(t, "vtysh", "-c", "show bgp memory")
        for m in re.finditer(r"(\d+) (BGP routes|BGP attributes|RIB nodes), using ([\d.]+) (\S+)", text):
            key = m.group(2).lower().replace(" ", "_")
            out[key] = int(m.group(1))
            out[key + "_B"] = int(to_bytes(m.group(3), m.group(4)))
        m = re.search(r"(\d+) unknown attributes", text)
        out["unknown_attributes"] = int(m.group(1)) if m else 0
        daemons = ["bgpd"]
    else:
        for fam in ("ipv4", "ipv6"):
            _, text, _ = lab.exec(t, "gobgp", "global", "rib", "-a", fam, "summary")
            m = re.search(r"Destination: (\d+), Path: (\d+)", text)
            if m:
                out[fam + "_destinations"], out[fam + "_paths"] = int(m.group(1)), int(m.group(2))
        daemons = ["gobgpd"]
    out["rss_kB"] = sum(proc_rss_kb(p) or 0 for d in daemons for p in lab.pids(t, d))
    return out


def footprint(lab, memory=True):
    """{transit: {mailbox_routes, per_router, ...memory}} and how long the round took (s)."""
    t0 = time.monotonic()
    out = {}
    for t in sorted(lab.transits):
        n = len(lab.mailbox_prefixes(t))
        out[t] = {"kind": lab.transits[t][len("transit-"):], "mailbox_routes": n,
                  "per_router": round(n / len(lab.routers), 2)}
        if memory:
            out[t].update(transit_memory(lab, t))
    return out, time.monotonic() - t0


# -- the probes ----------------------------------------------------------------------------------------------

class Observed:
    """Reads mon's observed.jsonl as it grows: first arrival time of (prefix, transit, AS path)."""

    def __init__(self, path, transit_of_peer):
        self.path, self.pos, self.first = path, 0, {}
        self.transit_of_peer = transit_of_peer

    def poll(self):
        try:
            with open(self.path) as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return
        end = data.rfind("\n") + 1
        self.pos += len(data[:end].encode())
        for line in data[:end].splitlines():
            r = json.loads(line)
            if r["withdraw"]:
                continue
            key = (r["prefix"], self.transit_of_peer.get(r["peer"]), tuple(r["as_path"]))
            self.first.setdefault(key, r["t"])

    def wait(self, what, keys_done, timeout=30):
        """Waits until keys_done(first) returns the arrival time of the last needed path; returns it."""
        def done():
            self.poll()
            return keys_done(self.first)
        return wait_until(what, done, timeout, every=0.02)


def plain_done(prefix, origin_as, transits):
    def f(first):
        times = {}
        for (p, t, path), ts in first.items():
            if p == prefix and path and path[-1] == origin_as:
                times[t] = min(ts, times.get(t, ts))
        return max(times.values()) if set(times) >= set(transits) else None
    return f


def policy_done(prefix, want):
    """want: {(transit, (transit AS, router AS))}: every router's own announcement, one hop on."""
    def f(first):
        got = [first.get((prefix, t, path)) for t, path in want]
        return max(got) if all(got) else None
    return f


def inject(lab, node, line):
    """One ExaBGP command through node's inject relay (its FIFO); returns time.time() just after the write."""
    with open(os.path.join(lab.run_dir, node, "data", "inject.fifo"), "w") as f:
        f.write(line + "\n")
    return time.time()


def policy_write(conn, op, pfx, seq, timeout=60):
    """policy.add/remove, retrying the SAME (client_id, seq) on timeout/no_leader (applied at most once).
    Returns (sent, answered, attempts): time.time() of the last send and of the ok answer."""
    deadline, attempts = time.monotonic() + timeout, 0
    while True:
        attempts += 1
        sent = time.time()
        r = conn.call(op, {"prefix": pfx}, client_id="scale%d" % os.getpid(), seq=seq, timeout_ms=10000)
        if r.get("ok"):
            return sent, time.time(), attempts
        if time.monotonic() > deadline or (r.get("error") or {}).get("code") not in (
                "timeout", "no_leader", "no_answer", "unreachable", "busy"):
            raise Failed("%s %s: %s" % (op, pfx, r.get("error")))
        time.sleep(0.5)


def wire_done(wire, routers, direction, pfx, t0):
    """The latest first sighting of pfx in `direction` on every one of `routers`' links, in ms after t0."""
    def f():
        got = [wire.first(r, direction, pfx) for r in routers]
        return max((max(got) - t0) * 1000, 1e-6) if all(got) else None
    return f


def propagation(lab, o, observed, wire, writers):
    """o.changes rounds of (plain route, policy write), latencies in ms; then both withdrawn again. A policy
    write that needed a retry is left out of the figures (its answer time says nothing) and counted.

    Two observation points, the same rounds: `wire` (the issue's definition: a plain route has reached every
    other router's ExaBGP when the UPDATE arrived on each router's link from its transit; a policy has been
    announced by every router's ExaBGP when each router's UPDATE left for its transit, i.e. it is in the
    transit's Adj-RIB-In) and `mon` (one more BGP hop on, through each transit's output queue to the observer)."""
    tas = {t: 65200 + int(t[1:]) for t in lab.transits}
    per = len(lab.routers) // 4  # the generator's layout: N/4 routers behind t1, then t2, ...
    transit_of = {lab.by_id[i]: "t%d" % ((i - 1) // per + 1) for i in lab.by_id}
    want = {(transit_of[n], (tas[transit_of[n]], int(lab.asn[n]))) for n in lab.routers}
    conns = {}
    out = {k: [] for k in ("plain", "policy", "plain_mon", "policy_mon", "commit", "retried")}
    routers = sorted(lab.routers, key=lambda n: lab.routers[n])
    try:
        for k in range(1, o.changes + 1):
            src, pfx = routers[(k - 1) % len(routers)], "10.255.241.%d/32" % k
            t0 = inject(lab, src, "announce route %s next-hop self" % pfx)
            t1 = observed.wait("plain %s from %s at every transit" % (pfx, src),
                               plain_done(pfx, int(lab.asn[src]), lab.transits))
            out["plain_mon"].append((t1 - t0) * 1000)
            out["plain"].append(wait_until("plain %s on every router's link" % pfx, wire_done(
                wire, [r for r in routers if r != src], "in", pfx, t0), 30, every=0.02))
            time.sleep(o.gap)
            pfx = "10.255.242.%d/32" % k
            writer = writers[(k - 1) % len(writers)]
            if writer not in conns:  # one connection per writer, opened on its first change
                conns[writer] = Conn(lab.sock(writer))
            conn = conns[writer]
            c0, t0, attempts = policy_write(conn, "policy.add", pfx, k)
            t1 = observed.wait("policy %s announced by all %d routers" % (pfx, len(want)), policy_done(pfx, want))
            wired = wait_until("policy %s leaving every router" % pfx, wire_done(wire, routers, "out", pfx, t0),
                               30, every=0.02)
            if attempts > 1:
                out["retried"].append(k)
            else:
                out["commit"].append((t0 - c0) * 1000)
                out["policy"].append(wired)
                out["policy_mon"].append((t1 - t0) * 1000)
            say("change %d: plain %.1f ms (from %s; at mon %.1f), policy %.1f ms (at mon %.1f; add answered in "
                "%.1f ms at %s%s)" % (k, out["plain"][-1], src, out["plain_mon"][-1], wired, (t1 - t0) * 1000,
                                      (t0 - c0) * 1000, writer,
                                      ", after %d attempts: not counted" % attempts if attempts > 1 else ""))
            time.sleep(o.gap)
        for k in range(1, o.changes + 1):  # leave the RIBs as they were for the burst's memory figures
            inject(lab, routers[(k - 1) % len(routers)], "withdraw route 10.255.241.%d/32 next-hop self" % k)
            conn = conns[writers[(k - 1) % len(writers)]]
            policy_write(conn, "policy.remove", "10.255.242.%d/32" % k, o.changes + k)
    finally:
        for conn in conns.values():
            conn.close()
    return out


# -- processes -----------------------------------------------------------------------------------------------

def rss(lab):
    """{agent|exabgp: {median_kB, max_kB}} over the routers."""
    out = {}
    for key, comm in (("agent", "raftbgpd"), ("exabgp", "exabgp")):
        v = [x for x in (lab.rss_kb(n, comm) for n in lab.routers) if x]
        out[key] = {"median_kB": int(statistics.median(v)) if v else None, "max_kB": max(v) if v else None}
    return out


def idle_cores(lab, seconds):
    """idle_cpu.measure over the lab's namespaces, without mon and the inject relays (the bench's probes)."""
    def probe(pid, ns):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                return ns.endswith("-mon") or b"probe.py" in f.read()
        except OSError:
            return True
    return idle_cpu.measure(lab.ns(""), seconds, skip=probe)


# -- load ----------------------------------------------------------------------------------------------------

def burst(lab, o, leader):
    """o.burst writes by kv_load at the leader; the footprint sampled meanwhile, then the recovery time."""
    samples, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(footprint(lab, memory=True)[0])
            stop.wait(0.5)  # leave the CPU to the burst between rounds
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0, commit0 = time.monotonic(), (lab.status(leader) or {}).get("commit", 0)
    p = subprocess.Popen([o.kv_load, "--socket", lab.sock(leader), "--clients", str(o.clients), "--count",
                          str(o.burst), "--retry-ms", "100", "--timeout-ms", "10000",
                          "--client-prefix", "sb%d" % os.getpid()], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=o.burst_timeout)
        load = json.loads(out) if p.returncode == 0 else None
    except subprocess.TimeoutExpired:  # a slow cluster: stop our kv_load, count what committed
        p.kill()
        out, err = p.communicate()
        load = {"timed_out_after_s": o.burst_timeout}
    end = time.monotonic()
    stop.set()
    th.join()
    if load is None:
        raise Failed("kv_load: %s" % err[-500:])
    load["commit_index_advance"] = (lab.status(leader) or {}).get("commit", 0) - commit0
    peak = {}
    for s in samples:
        for t, v in s.items():
            if t not in peak or v["mailbox_routes"] > peak[t]["mailbox_routes"]:
                peak[t] = v
    bound = 4 * len(lab.routers)
    rounds, recovered = [], None
    while time.monotonic() - end < o.recovery_timeout:
        fp, took = footprint(lab, memory=False)
        rounds.append(took)
        if all(v["mailbox_routes"] <= bound for v in fp.values()):
            recovered = time.monotonic() - end
            break
    return {"writes": o.burst, "clients": o.clients, "seconds": round(end - t0, 2), "kv_load": load,
            "under_load": peak, "samples": len(samples), "recovery_s": round(recovered, 2) if recovered else None,
            "recovery_bound_routes_per_transit": bound,
            "recovery_poll_round_s": round(max(rounds), 2) if rounds else None}


# -- one lab -------------------------------------------------------------------------------------------------

def p50_p99(v):
    return {"p50": round(pct(v, 0.5), 1), "p99": round(pct(v, 0.99), 1), "n": len(v)}


def caught_up(lab):
    st = {n: lab.status(n) for n in lab.routers}
    if not all(st.values()):
        return None
    commit = max(s["commit"] for s in st.values())
    return all(s["applied"] >= commit for s in st.values())


def scenario(o, res):
    def run(lab):
        leader = lab.wait_leader(timeout=90)
        wait_until("every router to apply the commit index", lambda: caught_up(lab), 90, every=1)
        say("leader %s; settling %d s" % (leader, o.settle))
        time.sleep(o.settle)
        res["idle"], _ = footprint(lab)
        say("idle footprint: %s" % {t: v["mailbox_routes"] for t, v in res["idle"].items()})
        res["idle_cpu"] = idle_cores(lab, o.cpu_seconds)
        say("idle CPU: %s" % res["idle_cpu"])
        res["rss_idle"] = rss(lab)
        peers = {"10.255.25%d.2" % int(t[1:]): t for t in lab.transits}
        observed = Observed(os.path.join(lab.run_dir, "mon", "data", "observed.jsonl"), peers)
        learners = sorted(int(x) for x in (lab.status(leader) or {}).get("learners", []))
        # Each change is written at the next learner in turn: where the writer sits against the leader decides
        # when `policy add` returns there, and so the figure, by tens of ms (an answer through FRR's queue).
        writers = [lab.by_id[i] for i in learners] or [leader]
        wire = Wire({n: lab.ns(n) for n in lab.routers}, lambda p: p.startswith("10.255.24")).start()
        try:
            p = propagation(lab, o, observed, wire, writers)
        finally:
            wire.stop()
        res["propagation"] = {
            "changes": o.changes, "policy_writers": writers[:o.changes], "leader": leader, "policy_retried": p["retried"],
            "plain_ms": p50_p99(p["plain"]), "policy_ms": p50_p99(p["policy"]),
            "ratio_p50": round(pct(p["policy"], 0.5) / pct(p["plain"], 0.5), 2),
            "at_mon": {"plain_ms": p50_p99(p["plain_mon"]), "policy_ms": p50_p99(p["policy_mon"]),
                       "ratio_p50": round(pct(p["policy_mon"], 0.5) / pct(p["plain_mon"], 0.5), 2)},
            "policy_add_answer_ms": p50_p99(p["commit"]), "plain_all": p["plain"], "policy_all": p["policy"]}
        time.sleep(o.settle)  # the probe routes withdrawn: the RIBs hold mailbox routes (and the lab's own) only
        res["load"] = burst(lab, o, lab.wait_leader(timeout=60))
        say("burst: %s" % {k: v for k, v in res["load"].items() if k not in ("under_load", "kv_load")})
        res["rss_after_load"] = rss(lab)
        res["after_load"], _ = footprint(lab)
    return run


def one_size(o, n):
    gen = os.path.join(o.out, "gen")
    subprocess.run([sys.executable, os.path.join(REPO, "lab", "metro-gen"), str(n), gen, "--probes", PROBE],
                   check=True)
    lab = Lab(os.path.join(gen, "metro%d.clab.yml" % n), [o.bin_dir], run_root=os.path.join(o.out, "run"),
              ns_prefix="sb%dn%d" % (os.getpid(), n), quiet=True)
    lab.direct = True
    lab.routers.pop("mon", None)  # the observer is an ExaBGP without an agent
    lab.by_id = {i: m for m, i in lab.routers.items()}
    res = {"routers": n}
    rc = run_scenario(lab, "scale N=%d" % n, scenario(o, res), o.deadline)
    res["ok"] = rc == 0
    return res


# -- report --------------------------------------------------------------------------------------------------

def burst_cell(ld):
    k = ld["kv_load"]
    if "timed_out_after_s" in k:
        return "stopped at %ds, %d committed" % (k["timed_out_after_s"], k["commit_index_advance"])
    return "%d/%d %.0f" % (k["ok"], k["sent"], k["writes_per_s"])


def cell(fn):
    """fn() as a table cell, "-" where a failed lab left the figure out."""
    try:
        return fn()
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return "-"


def table(results):
    rows = [("N", "policy p50/p99 ms", "plain p50/p99 ms", "ratio", "at mon: policy, plain p50, ratio", "idle mbox/router (per transit)",
             "load mbox/router max", "burst ok/sent w/s", "recovery s", "idle CPU cores", "agent RSS MB",
             "ExaBGP RSS MB")]
    mb = lambda d: "%.1f/%.1f" % (d["median_kB"] / 1024, d["max_kB"] / 1024)  # noqa: E731
    for r in results:
        p, ld = r.get("propagation", {}), r.get("load", {})
        rows.append(tuple(cell(f) for f in (
            lambda: "%d%s" % (r["routers"], "" if r["ok"] else " (failed)"),
            lambda: "%.1f/%.1f" % (p["policy_ms"]["p50"], p["policy_ms"]["p99"]),
            lambda: "%.1f/%.1f" % (p["plain_ms"]["p50"], p["plain_ms"]["p99"]),
            lambda: "%.2f" % p["ratio_p50"],
            lambda: "%.1f, %.1f, %.2f" % (p["at_mon"]["policy_ms"]["p50"], p["at_mon"]["plain_ms"]["p50"],
                                          p["at_mon"]["ratio_p50"]),
            lambda: " ".join("%s:%g" % (t, v["per_router"]) for t, v in sorted(r["idle"].items())),
            lambda: "%g" % max(v["per_router"] for v in ld["under_load"].values()),
            lambda: burst_cell(ld),
            lambda: "%s (poll %ss)" % (ld["recovery_s"], ld["recovery_poll_round_s"]),
            lambda: "%.3f" % r["idle_cpu"]["total_cores"],
            lambda: mb(r.get("rss_after_load", r["rss_idle"])["agent"]),
            lambda: mb(r.get("rss_after_load", r["rss_idle"])["exabgp"]))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print("RSS: median/max over the routers after the burst. Idle CPU by program: " + "; ".join(
        "N=%d %s" % (r["routers"], r["idle_cpu"]["cores"]) for r in results if r.get("idle_cpu")))
    memory_table(results)


def attr_figure(v):
    """The transit's attribute memory (BIRD route attributes, FRR BGP attributes) or, for GoBGP, its IPv6 paths."""
    if "route_attributes_B" in v:
        return "%.1f kB attrs" % (v["route_attributes_B"] / 1e3)
    if "bgp_attributes_B" in v:
        return "%.1f kB attrs (%d unknown)" % (v["bgp_attributes_B"] / 1e3, v.get("unknown_attributes", 0))
    return "%s v6 paths" % v.get("ipv6_paths", "?")


def memory_table(results):
    """Per N and transit: mailbox routes per router and attribute memory, idle / peak under load / after."""
    rows = [("N", "transit", "mailbox routes/router idle, load, after", "attribute memory idle | load | after",
             "daemon RSS MB idle/load")]
    for r in results:
        if "after_load" not in r:
            continue
        for t in sorted(r["idle"]):
            i, ld, a = r["idle"][t], r["load"]["under_load"].get(t, {}), r["after_load"][t]
            rows.append((str(r["routers"]), "%s (%s)" % (t, i["kind"]), "%g, %g, %g" % (
                i["per_router"], ld.get("per_router", float("nan")), a["per_router"]),
                " | ".join(attr_figure(v) for v in (i, ld, a)),
                "%.1f/%.1f" % (i["rss_kB"] / 1024, ld.get("rss_kB", 0) / 1024)))
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    ap.add_argument("--bin-dir", default=os.path.join(REPO, "build", "agent"))
    ap.add_argument("--kv-load", default=os.path.join(REPO, "build", "bench", "kv_load"))
    ap.add_argument("--sizes", default="8,16,32")
    ap.add_argument("--changes", type=int, default=20, help="policy writes and plain routes (each)")
    ap.add_argument("--gap", type=float, default=0.3, help="pause between measured changes (s)")
    ap.add_argument("--burst", type=int, default=3000, help="kv writes in the load burst")
    ap.add_argument("--clients", type=int, default=32, help="kv_load clients during the burst")
    ap.add_argument("--burst-timeout", type=float, default=180, help="stop the burst after this (s)")
    ap.add_argument("--cpu-seconds", type=float, default=30)
    ap.add_argument("--settle", type=float, default=10, help="idle time before the idle figures (s)")
    ap.add_argument("--recovery-timeout", type=float, default=60)
    ap.add_argument("--deadline", type=int, default=900, help="per lab, then it is torn down (s)")
    ap.add_argument("--out", default=os.path.join(REPO, "lab", "run", time.strftime("scale-%Y%m%d-%H%M%S")))
    o = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("scale_bench: needs root (network namespaces)")
    o.out, o.bin_dir, o.kv_load = os.path.abspath(o.out), os.path.abspath(o.bin_dir), os.path.abspath(o.kv_load)
    os.makedirs(o.out, exist_ok=True)
    results = []
    for n in [int(x) for x in o.sizes.split(",")]:
        results.append(one_size(o, n))
        with open(os.path.join(o.out, "results.json"), "w") as f:
            json.dump({"argv": sys.argv, "results": results}, f, indent=1)
    table(results)
    print("results: %s" % os.path.join(o.out, "results.json"))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
