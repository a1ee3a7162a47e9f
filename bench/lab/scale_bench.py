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
              next-hop self`; t0 just after the write; done when mon has the route from all four transits, i.e.
              it reached every transit and crossed one more BGP hop (transit -> mon, as transit -> router);
              (2) policy: `policy.add 10.255.242.k/32` on one learner over one persistent control-socket
              connection (labkit.Conn); t0 when the answer arrived; done when mon has, from every router j's own
              transit, the path with AS path [transit, j] (router j's ExaBGP announced it, one hop on). Both are
              observed the same way, event-driven: probe.py stamps each update with time.time() when ExaBGP hands
              it over (sub-millisecond; no polling in the figure). p50/p99 of each and the ratio of the p50s.
  load        kv_load --count --burst writes (--clients at the leader); the footprint sampled during the burst
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
from labkit import Conn, Failed, Lab, run_scenario, say, wait_until  # noqa: E402

PROBE = os.path.join(REPO, "bench", "lab", "exabgp_probe.py")
MON_AS = 65300


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


def propagation(lab, o, observed, writer):
    """o.changes rounds of (plain route, policy write); latencies in ms."""
    tas = {t: 65200 + int(t[1:]) for t in lab.transits}
    transit_of_router = {}
    for t in lab.transits:  # the generator's layout: N/4 routers behind t1, then t2, ...
        per = len(lab.routers) // 4
        for i in range((int(t[1:]) - 1) * per + 1, int(t[1:]) * per + 1):
            transit_of_router[lab.by_id[i]] = t
    want = {(transit_of_router[n], (tas[transit_of_router[n]], int(lab.asn[n]))) for n in lab.routers}
    conn = Conn(lab.sock(writer))
    plain, policy, commit = [], [], []
    routers = sorted(lab.routers, key=lambda n: lab.routers[n])
    try:
        for k in range(1, o.changes + 1):
            src = routers[(k - 1) % len(routers)]
            pfx = "10.255.241.%d/32" % k
            with open(os.path.join(lab.run_dir, src, "data", "inject.fifo"), "w") as f:
                f.write("announce route %s next-hop self\n" % pfx)
            t0 = time.time()
            t1 = observed.wait("plain %s from %s at every transit" % (pfx, src),
                               plain_done(pfx, int(lab.asn[src]), lab.transits))
            plain.append((t1 - t0) * 1000)
            time.sleep(o.gap)
            pfx = "10.255.242.%d/32" % k
            c0 = time.time()
            r = conn.call("policy.add", {"prefix": pfx}, client_id="scale%d" % os.getpid(), seq=k, timeout_ms=10000)
            t0 = time.time()
            if not r.get("ok"):
                raise Failed("policy.add %s on %s: %s" % (pfx, writer, r.get("error")))
            commit.append((t0 - c0) * 1000)
            t1 = observed.wait("policy %s announced by all %d routers" % (pfx, len(want)), policy_done(pfx, want))
            policy.append((t1 - t0) * 1000)
            say("change %d: plain %.1f ms (from %s), policy %.1f ms (add answered in %.1f ms at %s)" %
                (k, plain[-1], src, policy[-1], commit[-1], writer))
            time.sleep(o.gap)
    finally:
        conn.close()
    return plain, policy, commit


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
                          str(o.burst), "--client-prefix", "sb%d" % os.getpid()], stdout=subprocess.PIPE,
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
        # the burst before the probes' routes, so that the transits' memory figures hold mailbox routes only
        res["load"] = burst(lab, o, leader)
        say("burst: %s" % {k: v for k, v in res["load"].items() if k not in ("under_load", "kv_load")})
        res["rss_after_load"] = rss(lab)
        res["after_load"], _ = footprint(lab)
        leader = lab.wait_leader(timeout=60)  # the burst may have cost a leader: settle again before timing
        wait_until("every router to apply the commit index", lambda: caught_up(lab), 90, every=1)
        time.sleep(o.settle)
        st = lab.status(leader)
        learners = sorted(int(x) for x in st.get("learners", []))
        writer = lab.by_id[learners[-1]] if learners else leader
        peers = {"10.255.25%d.2" % int(t[1:]): t for t in lab.transits}
        observed = Observed(os.path.join(lab.run_dir, "mon", "data", "observed.jsonl"), peers)
        plain, policy, commit = propagation(lab, o, observed, writer)
        res["propagation"] = {
            "changes": len(plain), "policy_writer": writer, "leader": leader,
            "plain_ms": {"p50": round(pct(plain, 0.5), 1), "p99": round(pct(plain, 0.99), 1)},
            "policy_ms": {"p50": round(pct(policy, 0.5), 1), "p99": round(pct(policy, 0.99), 1)},
            "policy_add_answer_ms": {"p50": round(pct(commit, 0.5), 1), "p99": round(pct(commit, 0.99), 1)},
            "ratio_p50": round(pct(policy, 0.5) / pct(plain, 0.5), 2), "plain_all": plain, "policy_all": policy}
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


def table(results):
    rows = [("N", "policy p50/p99 ms", "plain p50/p99 ms", "ratio", "idle mbox/router (per transit)",
             "load mbox/router max", "burst ok/sent w/s", "recovery s", "idle CPU cores", "agent RSS MB", "ExaBGP RSS MB")]
    for r in results:
        if "propagation" not in r:
            rows.append((str(r["routers"]), "FAILED") + ("",) * 9)
            continue
        p, ld = r["propagation"], r["load"]
        mb = lambda d: "%.1f/%.1f" % (d["median_kB"] / 1024, d["max_kB"] / 1024) if d["max_kB"] else "-"  # noqa
        rows.append((str(r["routers"]), "%.1f/%.1f" % (p["policy_ms"]["p50"], p["policy_ms"]["p99"]),
                     "%.1f/%.1f" % (p["plain_ms"]["p50"], p["plain_ms"]["p99"]), "%.2f" % p["ratio_p50"],
                     " ".join("%s:%g" % (t, v["per_router"]) for t, v in sorted(r["idle"].items())),
                     "%g" % max(v["per_router"] for v in ld["under_load"].values()) if ld["under_load"] else "-",
                     burst_cell(ld),
                     "%s (poll %ss)" % (ld["recovery_s"], ld["recovery_poll_round_s"]),
                     "%.3f" % r["idle_cpu"]["total_cores"], mb(r["rss_after_load"]["agent"]),
                     mb(r["rss_after_load"]["exabgp"])))
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
        if "load" not in r:
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
