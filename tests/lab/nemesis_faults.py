"""Seeded fault schedules and the nemesis that applies them to a running lab (tests/lab/nemesis.py).

  schedule = make_schedule(seed, topology_facts(lab), duration_s=60)   # a pure function of its arguments
  nem = Nemesis(lab, out_dir); nem.apply(event) ... nem.heal(event); nem.heal_all()

A schedule is a list of events {"id", "t" (s after the workload starts), "kind", "dur" (s; 0 = instantaneous),
"target" ("leader", a node name, or a group), "pick" (a float in [0, 1) that chooses among run-time
alternatives such as a BGP peer)}. "leader" is resolved when the event fires (the recorded events say to whom),
so a replayed seed repeats the schedule, not necessarily every target.

Faults (KINDS): SIGKILL / SIGTERM of raftbgpd and of ExaBGP separately; SIGSTOP + SIGCONT of a whole router,
of its ExaBGP only, of a transit's daemons; transit crash (SIGKILL) + restart; link cut + heal; partitions
(transit groups, isolated routers); BGP session resets from the transit side (`vtysh clear bgp`, `birdc
restart`, `gobgp neighbor ... reset`); a full disk under one router's data_dir (a small tmpfs mounted there
before the run, filled with one file). Links are reference counted, so overlapping cuts heal independently.
Every signal goes to PIDs inside this lab's own namespaces (labkit.netns_pids): processes this run started.
"""
import errno
import os
import random
import signal
import subprocess
import sys
import threading
import time

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab"))
from labkit import netns_pids, say  # noqa: E402

# kind -> (weight, min dur s, max dur s); dur 0: instantaneous (the agent or ExaBGP comes back by itself or
# at heal_all)
KINDS = {
    "agent_kill": (3, 0, 0), "agent_term": (2, 0, 0),
    "exabgp_kill": (2, 3, 10), "exabgp_term": (2, 3, 10),
    "router_stop": (3, 3, 12), "exabgp_stop": (2, 3, 12), "transit_stop": (2, 3, 10),
    "transit_restart": (2, 2, 8), "link_cut": (3, 3, 15), "partition": (3, 5, 15),
    "session_reset": (3, 0, 0), "disk_full": (1, 5, 15),
}
TRANSIT_COMMS = {"transit-bird": ("bird",), "transit-frr": ("bgpd", "zebra"), "transit-gobgp": ("gobgpd",)}
DISK_MB = 16


def topology_facts(lab):
    """What a schedule may name: routers, transits, links (pairs of node names), each router's transit."""
    with open(lab.file) as f:
        doc = yaml.safe_load(f)
    links = [tuple(e.split(":")[0] for e in l["endpoints"]) for l in doc["topology"].get("links", [])]
    home = {r: next((b for a, b in links if a == r), next((a for a, b in links if b == r), None)) for r in lab.routers}
    return {"routers": sorted(lab.routers), "transits": sorted(lab.transits), "links": links, "home": home}


def make_schedule(seed, facts, duration_s=60, n_events=None):
    """The fault schedule of `seed`: 5..8 events starting in [3, duration - 12] s, several overlapping."""
    rng = random.Random(seed)
    kinds = sorted(KINDS)
    weights = [KINDS[k][0] for k in kinds]
    n = n_events or rng.randint(5, 8)
    disk_router = rng.choice(facts["routers"])
    events = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        _, lo, hi = KINDS[kind]
        ev = {"id": i, "t": round(rng.uniform(3, max(4, duration_s - 12)), 1), "kind": kind,
              "dur": round(rng.uniform(lo, hi), 1) if hi else 0, "pick": round(rng.random(), 4)}
        if kind in ("agent_kill", "agent_term", "exabgp_kill", "exabgp_term", "router_stop", "exabgp_stop"):
            ev["target"] = "leader" if rng.random() < 0.5 else rng.choice(facts["routers"])
        elif kind in ("transit_stop", "transit_restart", "session_reset"):
            ev["target"] = rng.choice(facts["transits"])
        elif kind == "link_cut":
            ev["target"] = list(rng.choice(facts["links"]))
        elif kind == "partition":
            ev["target"] = partition_groups(rng, facts)
        elif kind == "disk_full":
            ev["target"] = disk_router
        events.append(ev)
    events.sort(key=lambda e: e["t"])
    for i, e in enumerate(events):
        e["id"] = i
    return {"seed": seed, "duration_s": duration_s, "disk_router": disk_router, "events": events}


def partition_groups(rng, facts):
    """Two groups of nodes: a set of transits with their routers vs the rest (a majority/minority or 2|2
    split, or a ring cut), or one or two routers alone (an isolated minority, a bridge when one is the leader)."""
    transits, routers = facts["transits"], facts["routers"]
    if len(transits) > 1 and rng.random() < 0.6:
        side = rng.sample(transits, rng.randint(1, len(transits) - 1))
        a = sorted(side + [r for r in routers if facts["home"][r] in side])
    else:
        a = sorted(rng.sample(routers, rng.randint(1, max(1, (len(routers) - 1) // 2))))
    everyone = sorted(set(routers) | set(transits))
    return [a, [x for x in everyone if x not in a]]


class Nemesis:
    """Applies and heals events on a labkit.Lab; appends what it did to <out>/events.jsonl."""

    def __init__(self, lab, out_dir, facts, log_event, latest):
        """latest(): the monitor's last sample {router: {role, term, ...} | None} (tests/lab/nemesis.py)."""
        self.lab, self.out, self.facts, self.log_event, self.latest = lab, out_dir, facts, log_event, latest
        self.lock = threading.Lock()
        self.cut_count = {}   # frozenset({a, b}) -> number of active faults cutting that link
        self.stopped = {}     # event id -> [(ns, pid)] SIGSTOPped by it
        self.disk_mount = None

    # -- helpers -----------------------------------------------------------------------------------------
    def pids(self, node, comms):
        return [(self.lab.ns(node), p) for c in comms for p in netns_pids(self.lab.ns(node), c)]

    def signal(self, pairs, sig):
        """Signals each pid only while it still lives in this lab's namespace (never a reused pid elsewhere)."""
        for ns, pid in pairs:
            if pid in netns_pids(ns):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass

    def resolve(self, target, pick):
        """A node name; "leader": the router the monitor last saw leading (highest term), else one by `pick`.
        Never waits on a router that does not answer (a frozen one would block the schedule)."""
        if target != "leader":
            return target
        row = self.latest() or {}
        leaders = sorted((v["term"], n) for n, v in row.items() if n in self.facts["routers"] and v and
                         v.get("role") == "leader")
        return leaders[-1][1] if leaders else self.facts["routers"][int(pick * len(self.facts["routers"]))]

    def clab(self, *args):
        try:
            self.lab.clab(*args, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            say("clab-netns %s timed out" % " ".join(args))

    def cut(self, a, b):
        k = frozenset((a, b))
        self.cut_count[k] = self.cut_count.get(k, 0) + 1
        if self.cut_count[k] == 1:
            self.clab("cut", self.lab.file, a, b)

    def uncut(self, a, b):
        k = frozenset((a, b))
        self.cut_count[k] = max(0, self.cut_count.get(k, 0) - 1)
        if self.cut_count[k] == 0:
            self.clab("heal", self.lab.file, a, b)

    def restart_router(self, node):
        """Starts the router's ExaBGP (and through it raftbgpd) once its previous agent is gone."""
        ns = self.lab.ns(node)
        deadline = time.monotonic() + 5
        while not netns_pids(ns, "exabgp") and netns_pids(ns, "raftbgpd") and time.monotonic() < deadline:
            time.sleep(0.2)  # the orphaned agent exits on stdin EOF
        if not netns_pids(ns, "exabgp"):
            self.signal(self.pids(node, ("raftbgpd",)), signal.SIGKILL)
        self.clab("start", self.lab.file, node, "--wait", "0")

    # -- events ------------------------------------------------------------------------------------------
    def apply(self, ev):
        with self.lock:
            kind = ev["kind"]
            target = self.resolve(ev["target"], ev["pick"]) if isinstance(ev["target"], str) else ev["target"]
            ev["resolved"] = target
            detail = ""
            if kind in ("agent_kill", "agent_term", "exabgp_kill", "exabgp_term"):
                comm = "raftbgpd" if kind.startswith("agent") else "exabgp"
                sig = signal.SIGKILL if kind.endswith("kill") else signal.SIGTERM
                pairs = self.pids(target, (comm,))
                self.signal(pairs, sig)
                detail = "%s %s pids %s" % (sig.name, comm, [p for _, p in pairs])
            elif kind in ("router_stop", "exabgp_stop", "transit_stop"):
                comms = {"router_stop": ("exabgp", "raftbgpd"), "exabgp_stop": ("exabgp",)}.get(kind) or \
                    TRANSIT_COMMS[self.lab.transits[target]]
                pairs = self.pids(target, comms)
                self.stopped[ev["id"]] = pairs
                self.signal(pairs, signal.SIGSTOP)
                detail = "SIGSTOP %s" % [p for _, p in pairs]
            elif kind == "transit_restart":
                self.clab("kill", self.lab.file, target)
            elif kind == "link_cut":
                self.cut(*target)
            elif kind == "partition":
                a, b = set(target[0]), set(target[1])
                links = [l for l in self.facts["links"] if (l[0] in a and l[1] in b) or (l[0] in b and l[1] in a)]
                ev["links"] = links
                for l in links:
                    self.cut(*l)
                detail = "cut %s" % links
            elif kind == "session_reset":
                detail = self.session_reset(target, ev["pick"])
            elif kind == "disk_full":
                detail = self.fill_disk(target)
            self.log_event({"event": ev["id"], "what": "apply", "kind": kind, "target": target, "detail": detail})

    def heal(self, ev):
        with self.lock:
            kind, target = ev["kind"], ev.get("resolved")
            if kind in ("exabgp_kill", "exabgp_term"):
                self.restart_router(target)
            elif kind in ("router_stop", "exabgp_stop", "transit_stop"):
                self.signal(self.stopped.pop(ev["id"], []), signal.SIGCONT)
            elif kind == "transit_restart":
                self.clab("start", self.lab.file, target, "--wait", "0")
            elif kind == "link_cut":
                self.uncut(*target)
            elif kind == "partition":
                for l in ev.get("links", []):
                    self.uncut(*l)
            elif kind == "disk_full":
                self.free_disk()
            else:
                return
            self.log_event({"event": ev["id"], "what": "heal", "kind": kind, "target": target})

    def heal_all(self):
        """Whatever is still broken: SIGCONT, every link healed, disk freed, every node's daemons running."""
        with self.lock:
            for pairs in self.stopped.values():
                self.signal(pairs, signal.SIGCONT)
            self.stopped.clear()
            self.cut_count.clear()
            self.clab("heal", self.lab.file, "--all")
            if self.disk_mount:
                self.free_disk()
        for n in self.facts["routers"]:
            if not netns_pids(self.lab.ns(n), "exabgp"):
                self.restart_router(n)
        for t in self.facts["transits"]:
            comms = TRANSIT_COMMS[self.lab.transits[t]]
            if not all(netns_pids(self.lab.ns(t), c) for c in comms):
                self.clab("start", self.lab.file, t, "--wait", "0")
        self.log_event({"what": "heal_all"})

    def exec(self, node, *cmd):
        """lab.exec, but a command that hangs (its daemon SIGSTOPped by another fault) is a result, not a crash."""
        try:
            return self.lab.exec(node, *cmd, timeout=10)
        except subprocess.TimeoutExpired:
            return 124, "", "timed out"

    def session_reset(self, transit, pick):
        role = self.lab.transits[transit]
        if role == "transit-frr":
            peers = [p for p, _s, _e in self.frr_peers(transit)]
            cmd = ["vtysh", "-c", "clear bgp %s" % (sorted(peers)[int(pick * len(peers))] if peers and pick < 0.7
                                                    else "*")]
        elif role == "transit-bird":
            rc, out, _ = self.exec(transit, "birdc", "show", "protocols")
            protos = sorted(l.split()[0] for l in out.splitlines() if " BGP " in l)
            cmd = ["birdc", "restart", sorted(protos)[int(pick * len(protos))] if protos and pick < 0.7 else "all"]
        else:
            import json
            rc, out, _ = self.exec(transit, "gobgp", "-j", "neighbor")
            try:
                peers = sorted(n["conf"]["neighbor_address"] for n in json.loads(out))
            except (ValueError, KeyError, TypeError):
                peers = []
            if not peers:
                return "no gobgp neighbors"
            cmd = ["gobgp", "neighbor", peers[int(pick * len(peers))], "reset"]
        rc, out, err = self.exec(transit, *cmd)
        return "%s -> %d %s" % (" ".join(cmd), rc, (out + err).strip()[-120:])

    def frr_peers(self, transit):
        import json
        rc, out, _ = self.exec(transit, "vtysh", "-c", "show bgp neighbors json")
        try:
            return [(p, v.get("bgpState"), None) for p, v in json.loads(out).items() if isinstance(v, dict)]
        except (ValueError, AttributeError):
            return []

    # -- the full disk -----------------------------------------------------------------------------------
    def data_dir(self, node):
        return os.path.join(self.lab.run_dir, node, "data")

    def mount_disk(self, node):
        """Before the workload: `node`'s data_dir moves onto a DISK_MB tmpfs (router stopped, files copied)."""
        d = self.data_dir(node)
        self.clab("kill", self.lab.file, node)
        keep = d + ".orig"
        os.rename(d, keep)
        os.makedirs(d, mode=0o700)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % DISK_MB, "tmpfs", d], check=True)
        self.disk_mount = d
        subprocess.run(["cp", "-a", keep + "/.", d], check=True)
        self.clab("start", self.lab.file, node, "--wait", "0")

    def fill_disk(self, node):
        if not self.disk_mount or self.disk_mount != self.data_dir(node):
            return "no tmpfs under %s's data_dir: skipped" % node  # never fill a real disk
        path = os.path.join(self.data_dir(node), "nemesis-filler")
        n = 0
        try:
            with open(path, "wb") as f:
                while True:
                    f.write(b"\0" * (1 << 20))
                    f.flush()
                    n += 1
        except OSError as e:
            if e.errno != errno.ENOSPC:
                return "fill failed: %s" % e
        return "filled %d MiB in %s" % (n, path)

    def free_disk(self):
        try:
            os.unlink(os.path.join(self.disk_mount, "nemesis-filler"))
        except (OSError, TypeError):
            pass


def _selftest():
    """seed -> schedule is a pure function; events are well formed and inside the run; seeds differ."""
    home = {"r1": "t1", "r2": "t2", "r3": "t3", "r4": "t2"}
    facts = {"routers": sorted(home), "transits": ["t1", "t2", "t3"], "home": home,
             "links": sorted(home.items()) + [("t1", "t2"), ("t2", "t3"), ("t3", "t1")]}
    for seed in range(200):
        a, b = make_schedule(seed, facts), make_schedule(seed, facts)
        assert a == b, seed
        assert 5 <= len(a["events"]) <= 8 and [e["t"] for e in a["events"]] == sorted(e["t"] for e in a["events"])
        for e in a["events"]:
            assert e["kind"] in KINDS and 3 <= e["t"] <= 48 and e["t"] + e["dur"] <= 48 + 15, e  # heals by ~63 s
            if e["kind"] == "partition":
                g1, g2 = e["target"]
                assert g1 and g2 and not set(g1) & set(g2) and set(g1) | set(g2) == set(facts["routers"]) | set(
                    facts["transits"]), e
    assert make_schedule(1, facts) != make_schedule(2, facts)
    kinds = {e["kind"] for s in range(200) for e in make_schedule(s, facts)["events"]}
    assert kinds == set(KINDS), set(KINDS) - kinds


if __name__ == "__main__":
    _selftest()
    print("selftest ok")
