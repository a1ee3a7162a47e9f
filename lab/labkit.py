"""labkit: drive a raftbgp lab (lab/clab-netns) from Python: lab/demo, tests/lab, tests/lab-admin, bench/lab.

  lab = Lab("lab/star3.clab.yml", bin_dirs=[...], run_root=..., ns_prefix=...)
  lab.up(); lab.wait_leader(); lab.call("r1", "kv.put", {"key": "k", "value": "v"}, client_id="c", seq=1)

`call` speaks the control socket's newline JSON (README "Agent") directly; the socket is a file in the run
dir, reachable from the host namespace. `ctl` runs the real raftbgpctl through `clab-netns exec`.
"""
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
CLAB = os.path.join(HERE, "clab-netns")
T0 = time.monotonic()


class Failed(Exception):
    pass


def say(msg):
    print("[%6.2fs] %s" % (time.monotonic() - T0, msg), flush=True)


def netns_pids(ns, comm=None):
    """PIDs of the processes named `comm` (their /proc comm) in network namespace `ns`; every one without comm."""
    p = subprocess.run(["ip", "netns", "pids", ns], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if comm is None:
        return [int(x) for x in p.stdout.split() if x.isdigit()]
    out = []
    for pid in p.stdout.split():
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() == comm:
                    out.append(int(pid))
        except OSError:
            pass
    return out


def wait_until(what, pred, timeout, every=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failed("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(every)


def check(cond, msg):
    if not cond:
        raise Failed(msg)
    say("ok: " + msg)


def request(sock_path, op, args=None, client_id=None, seq=None, timeout_ms=3000):
    """One request on a fresh connection; returns the response dict, or {"ok": False, "error": {"code":
    "unreachable"|"no_answer"}} (unreachable: nothing sent, like exit 4; no_answer: outcome unknown, like
    exit 5)."""
    c = Conn(sock_path, timeout_ms / 1000 + 1.5)
    try:
        return c.call(op, args, client_id, seq, timeout_ms)
    finally:
        c.close()


class Conn:
    """A persistent control-socket connection: one JSON line out, one JSON line back, repeatedly."""

    def __init__(self, sock_path, timeout_s=10):
        self.path, self.timeout_s, self.s, self.buf, self.n = sock_path, timeout_s, None, b"", 0

    def close(self):
        if self.s:
            self.s.close()
        self.s, self.buf = None, b""

    def call(self, op, args=None, client_id=None, seq=None, timeout_ms=3000):
        self.n += 1
        req = {"id": self.n, "op": op, "args": args or {}, "timeout_ms": timeout_ms}
        if client_id is not None:
            req["client_id"], req["seq"] = client_id, seq
        if self.s is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout_s)
            try:
                s.connect(self.path)
            except OSError as e:
                s.close()
                return {"ok": False, "error": {"code": "unreachable", "message": str(e)}}
            self.s = s
        try:
            self.s.sendall((json.dumps(req) + "\n").encode())
            while b"\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    self.close()
                    return {"ok": False, "error": {"code": "no_answer", "message": "closed"}}
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            return json.loads(line)
        except (OSError, ValueError) as e:
            self.close()
            return {"ok": False, "error": {"code": "no_answer", "message": str(e)}}


# -- scenario helpers shared by tests/lab and tests/lab-admin ---------------------------------------------

def put(lab, node, key, value, cid, seq, timeout_ms=3000):
    return lab.call(node, "kv.put", {"key": key, "value": value}, client_id=cid, seq=seq, timeout_ms=timeout_ms)


def must_put(lab, node, key, value, cid, seq, timeout=15):
    """Retries the SAME (cid, seq) until applied (at most once, by the agent's session table)."""
    deadline = time.monotonic() + timeout
    while True:
        r = put(lab, node, key, value, cid, seq)
        if r.get("ok"):
            return r["result"]["index"]
        if time.monotonic() > deadline:
            raise Failed("%s: kv put %s (%s/%d) never applied: %s" % (node, key, cid, seq, r.get("error")))
        time.sleep(0.3)


def kv_items(lab, node):
    r = lab.call(node, "kv.list", timeout_ms=3000)
    return r["result"]["items"] if r.get("ok") else None


def agree(lab, nodes, timeout=20):
    """Every node in `nodes` reads the same kv store (ReadIndex on each); returns it."""
    def same():
        views = [kv_items(lab, n) for n in nodes]
        return views[0] if None not in views and all(v == views[0] for v in views) else None
    items = wait_until("%s to agree on the kv store" % ",".join(nodes), same, timeout, every=0.5)
    check(True, "%s read the same kv store (%d items)" % (",".join(nodes), len(items)))
    return items


def caught_up(lab):
    """Every router has applied the leader's commit index (False while there is no leader)."""
    lead = lab.leader()
    if not lead:
        return False
    commit = (lab.status(lead) or {}).get("commit", 1 << 60)
    return all((lab.status(n) or {}).get("applied", -1) >= commit for n in lab.routers)


def lab_unavailable(tools):
    """Why this machine cannot run a lab test (CTest SKIP), or None: root, `ip netns`, the daemons."""
    if os.geteuid() != 0 or not shutil.which("ip") or subprocess.run(["ip", "netns", "list"],
                                                                      capture_output=True).returncode != 0:
        return "needs root and `ip netns`"
    for tool in tools:
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            return "%s not installed" % tool
    return None


def run_scenario(lab, name, scenario, deadline):
    """Brings the lab up, runs scenario(lab), and always brings it down: on return, on Failed, at SIGALRM after
    `deadline` seconds and on SIGTERM. Returns 0 on a pass, 1 otherwise (also when `down` left anything)."""
    def bail(signum, _frame):
        raise Failed("deadline of %d s reached" % deadline if signum == signal.SIGALRM else "signal %d" % signum)
    signal.signal(signal.SIGALRM, bail)
    signal.signal(signal.SIGTERM, bail)
    signal.alarm(deadline)
    rc = 1
    t0 = time.monotonic()
    try:
        say("%s on %s (namespaces %s-%s-*, run dir %s)" % (name, lab.name, lab.env.get("RAFTBGP_LAB_NS_PREFIX",
                                                                                        "rbgp"), lab.name, lab.run_dir))
        lab.up(wait=40)
        scenario(lab)
        say("PASS %s on %s (%.0f s)" % (name, lab.name, time.monotonic() - t0))
        rc = 0
    except Failed as e:
        say("FAIL: %s (logs: %s)" % (e, lab.run_dir))
        for n in lab.routers:
            try:
                with open(os.path.join(lab.run_dir, n, "exabgp.out"), errors="replace") as f:
                    say("--- %s exabgp.out (tail)\n%s" % (n, "".join(f.readlines()[-8:])))
            except OSError:
                pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        if lab.down().returncode != 0:
            say("FAIL: down did not clean up")
            rc = 1
    return rc


class Lab:
    def __init__(self, file, bin_dirs, run_root=None, ns_prefix=None, quiet=False, runtime="netns"):
        self.file = os.path.abspath(file)
        self.runtime = runtime  # clab-netns --runtime: netns, or docker (one container per node)
        import yaml
        with open(self.file) as f:
            doc = yaml.safe_load(f)
        self.name = doc["name"]
        self.nodes = doc["topology"]["nodes"]
        self.routers = {n: int((v.get("labels") or {}).get("raftbgp.node-id", 0))
                        for n, v in self.nodes.items() if (v.get("labels") or {}).get("raftbgp.role") == "router"}
        self.by_id = {i: n for n, i in self.routers.items()}
        self.asn = {}  # router -> local_asn of its raftbgpd.yaml
        for n in self.routers:
            for b in self.nodes[n].get("binds") or []:
                src = str(b).split(":")[0]
                if src.endswith("raftbgpd.yaml"):
                    with open(os.path.join(os.path.dirname(self.file), src)) as f:
                        self.asn[n] = str(yaml.safe_load(f).get("local_asn"))
        self.transits = {n: (v.get("labels") or {}).get("raftbgp.role") for n, v in self.nodes.items()
                         if str((v.get("labels") or {}).get("raftbgp.role", "")).startswith("transit-")}
        self.env = dict(os.environ)
        if run_root:
            self.env["RAFTBGP_LAB_RUN"] = run_root
        if ns_prefix:
            self.env["RAFTBGP_LAB_NS_PREFIX"] = ns_prefix
        self.run_dir = os.path.join(self.env.get("RAFTBGP_LAB_RUN", os.path.join(HERE, "run")), self.name)
        self.bin_dirs = [os.path.abspath(d) for d in bin_dirs]
        self.quiet = quiet

    # -- the runner ----------------------------------------------------------------------------------
    def clab(self, *args, timeout=90, check=True):
        p = subprocess.run([sys.executable, CLAB] + list(args), env=self.env, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if not self.quiet:
            for line in p.stdout.splitlines():
                say("  | " + line)
        if check and p.returncode != 0:
            raise Failed("clab-netns %s failed (%d)" % (" ".join(args), p.returncode))
        return p

    def up(self, wait=40):
        self.clab("down", self.file, check=False)  # leftovers of a killed earlier run (only what it recorded)
        args = ["up", self.file, "--wait", str(wait), "--runtime", self.runtime]
        for d in self.bin_dirs:
            args += ["--bin-dir", d]
        self.clab(*args, timeout=wait + 60)

    def down(self):
        return self.clab("down", self.file, timeout=60, check=False)

    def exec(self, node, *cmd, timeout=20):
        argv = self.direct_argv(node, list(cmd)) if self.direct else None
        argv = argv or [sys.executable, CLAB, "exec", self.file, node] + list(cmd)
        p = subprocess.run(argv, env=self.env, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        return p.returncode, p.stdout, p.stderr

    # Set `direct = True` to run birdc, vtysh and gobgp straight in the node's namespace (netns runtime only), as
    # `clab-netns exec` would, without its Python start-up per call (~0.2 s, more on big labs): for benches
    # that poll the transits' RIBs.
    direct = False

    def direct_argv(self, node, cmd):
        """`ip netns exec` argv for cmd with the sockets `clab-netns exec` adds, or None (anything else)."""
        d = os.path.join(self.run_dir, node)
        if self.runtime != "netns" or not cmd:
            return None
        if cmd[0] == "birdc":
            cmd = ["birdc", "-s", os.path.join(d, "run", "bird.ctl")] + cmd[1:]
        elif cmd[0] == "vtysh":
            cmd = ["vtysh", "--vty_socket", os.path.join(d, "frr")] + cmd[1:]
        elif cmd[0] != "gobgp":
            return None
        return ["ip", "netns", "exec", self.ns(node)] + cmd

    def ctl(self, node, *args, timeout=20):
        """raftbgpctl through `clab-netns exec NODE raftbgpctl ...` (the socket is added by the runner)."""
        return self.exec(node, "raftbgpctl", *args, timeout=timeout)

    def kill(self, node):
        """Stops the node's daemons (the runner's `kill`; for a router: ExaBGP and raftbgpd)."""
        self.clab("kill", self.file, node)

    def start(self, node):
        self.clab("start", self.file, node)

    def ns(self, node):
        return "%s-%s-%s" % (self.env.get("RAFTBGP_LAB_NS_PREFIX", "rbgp"), self.name, node)

    # -- the control socket --------------------------------------------------------------------------
    def sock(self, node):
        return os.path.join(self.run_dir, node, "run", "raftbgpd.sock")

    def call(self, node, op, args=None, client_id=None, seq=None, timeout_ms=3000):
        """One request on a fresh connection (see request())."""
        return request(self.sock(node), op, args, client_id, seq, timeout_ms)

    def status(self, node):
        r = self.call(node, "status", timeout_ms=1000)
        return r.get("result") if r.get("ok") else None

    def leader(self, nodes=None):
        """The leader's node name if every reachable router in `nodes` names the same live leader."""
        nodes = nodes or list(self.routers)
        seen = set()
        for n in nodes:
            s = self.status(n)
            if not s:
                return None
            seen.add(s.get("leader"))
        if len(seen) != 1:
            return None
        lid = seen.pop()
        if not lid or lid not in self.by_id or self.by_id[lid] not in nodes:
            return None
        s = self.status(self.by_id[lid])
        return self.by_id[lid] if s and s.get("role") == "leader" else None

    def wait_leader(self, nodes=None, timeout=30):
        return wait_until("one leader agreed by %s" % ",".join(nodes or self.routers), lambda: self.leader(nodes),
                          timeout)

    # -- processes -------------------------------------------------------------------------------------
    def pids(self, node, comm):
        return netns_pids(self.ns(node), comm)

    def rss_kb(self, node, comm="raftbgpd"):
        for pid in self.pids(node, comm):
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        return None

    # -- transit RIBs ----------------------------------------------------------------------------------
    def rib_paths(self, transit, prefix):
        """The origin AS (last AS of the path) of every path the transit holds for `prefix`."""
        return [p[-1] for p in self.rib_as_paths(transit, prefix) if p]

    def rib_as_paths(self, transit, prefix):
        """The AS path (a list of ASN strings) of every path the transit holds for `prefix`."""
        role = self.transits[transit]
        if role == "transit-bird":
            rc, out, _ = self.exec(transit, "birdc", "show", "route", "all", "for", prefix)
            paths = [line.split(":", 1)[1].split() for line in out.splitlines() if "BGP.as_path:" in line
                     and line.split(":", 1)[1].split()]
            # `for PREFIX` returns the best match; make sure it is this prefix
            return paths if prefix.split("/")[0] in out else []
        if role == "transit-frr":
            rc, out, _ = self.exec(transit, "vtysh", "-c", "show bgp ipv4 unicast %s json" % prefix)
            try:
                doc = json.loads(out)
            except ValueError:
                return []
            return [str(p["aspath"]["string"]).split() for p in doc.get("paths", [])
                    if p.get("aspath", {}).get("string")]
        if role == "transit-gobgp":
            rc, out, _ = self.exec(transit, "gobgp", "-j", "global", "rib", "-a", "ipv4", prefix)
            try:
                doc = json.loads(out)
            except ValueError:
                return []
            out = []
            for paths in (doc.values() if isinstance(doc, dict) else []):
                for p in paths:
                    for a in p.get("attrs", []):
                        if a.get("type") == 2:
                            asns = [str(x) for seg in (a.get("as_paths") or []) for x in (seg.get("asns") or [])]
                            if asns:
                                out.append(asns)
            return out
        return []

    MAILBOX_RANGES = ("10.200.0.0/16", "fd72:6166::/32")  # the default mailbox.ipv4/ipv6 bases

    def mailbox_prefixes(self, transit):
        """The mailbox prefixes (networks, not paths) in the transit's RIB, both families: raftbgp's footprint on
        that router."""
        role = self.transits[transit]
        nets = set()
        if role == "transit-bird":
            for table, rng in (("master4", self.MAILBOX_RANGES[0]), ("master6", self.MAILBOX_RANGES[1])):
                rc, out, _ = self.exec(transit, "birdc", "show", "route", "table", table, "where",
                                       "net ~ [ %s+ ]" % rng)
                nets |= {line.split()[0] for line in out.splitlines() if line[:1] in "0123456789abcdef"
                         and "/" in line.split()[0]}
        elif role == "transit-frr":
            for fam in ("ipv4", "ipv6"):
                rc, out, _ = self.exec(transit, "vtysh", "-c", "show bgp %s unicast json" % fam)
                try:
                    nets |= set((json.loads(out).get("routes") or {}).keys())
                except ValueError:
                    pass
        elif role == "transit-gobgp":
            for fam in ("ipv4", "ipv6"):
                rc, out, _ = self.exec(transit, "gobgp", "-j", "global", "rib", "-a", fam)
                try:
                    doc = json.loads(out)
                except ValueError:
                    continue
                nets |= set(doc.keys()) if isinstance(doc, dict) else set()
        ranges = [ipaddress.ip_network(r) for r in self.MAILBOX_RANGES]
        return {n for n in nets if any(ipaddress.ip_network(n, strict=False).subnet_of(r) for r in ranges
                                       if ipaddress.ip_network(n, strict=False).version == r.version)}

    def gobgp_asns(self):
        """The ASNs of the lab's GoBGP transits (from their bound gobgpd.conf, TOML)."""
        out = set()
        for n, role in self.transits.items():
            if role != "transit-gobgp":
                continue
            for b in self.nodes[n].get("binds") or []:
                src = str(b).split(":")[0]
                if src.endswith("gobgpd.conf"):
                    with open(os.path.join(os.path.dirname(self.file), src), "rb") as f:
                        out.add(str(tomllib.load(f)["global"]["config"]["as"]))
        return out
