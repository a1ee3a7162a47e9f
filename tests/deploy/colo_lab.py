#!/usr/bin/env python3
"""The co-located router lab, label `lab`: the shipped configs/ run beside FRR at three sites.

  colo_lab.py [--variant frr|bird] --bin-dir DIR [--bin-dir DIR] [--repo DIR] [--run-root DIR] [--keep]

Topology (lab/clab-netns, role `site` = FRR zebra + bgpd AND ExaBGP + raftbgpd in one namespace):

      isp (BIRD, AS 64496, outside the cluster)
       |  border session: configs/frr/frr.conf's BORDER peer group
      s1 (FRR 65001) ---- s2 (FRR 65002) ---- b (BIRD 65010, cluster transit) ---- s3 (FRR 65003)
      [ExaBGP 65101]      [ExaBGP 65102]                                           [ExaBGP 65103]

--variant bird: s3 runs BIRD as its production router with configs/bird/bird.conf instead (same checks through
birdc), and the ISP also peers with s3, so both border filters, FRR's and BIRD's, are tested.

Each site's frr.conf (bird.conf), exabgp.conf, exabgp.env and raftbgpd.yaml are generated from configs/frr/frr.conf,
configs/exabgp/exabgp.*, configs/cluster3/rN.yaml by substitution only: the documentation addresses and
ASNs become the lab's (10.255.0.0/16, fd00:255::/32), the neighbor lines are repeated per peer, and the
binary path points at the build. So the test proves the shipped files work. IP forwarding is off
everywhere: the agents reach each other only through BGP, over the routers' sessions.

Asserts, in order:
  1. every BGP session is up (clab-netns --wait), and every site's FRR holds the three sites' ordinary
     loopback routes (10.255.0.N/32, `network` statements);
  2. the cluster forms: all three agents agree on one leader and term, three voters;
  3. `raftbgpctl policy add` on s2 (IPv4 and IPv6 prefixes) is applied, and every site's FRR holds both
     policy routes from its LOCAL ExaBGP (as-path starting with that site's ExaBGP ASN), valid;
  4. the mailbox routes are in the sites' RIBs, tagged with the cluster community 64512:7, and each agent
     received no route outside its mailbox plan (FRR sends ExaBGP only mailbox routes);
  5. the border peer `isp` holds the ordinary routes of all three sites and the policy routes, but no
     mailbox prefix (10.200.0.0/16, fd72:6166::/32), no attribute 0xff (BIRD shows it as BGP.ff) and no
     cluster community.
Bounded (DEADLINE_S), the lab is brought down in every case (finally + SIGALRM/SIGTERM); exit 77 when not
root or a daemon is missing. Namespaces: rbgp-colo-<pid>-<node> (the lab is named colo-<pid>); leftovers of
a killed earlier run (its pid gone) are brought down first through their recorded state.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77
DEADLINE_S = 170
T0 = time.monotonic()

SITES = {1: "s1", 2: "s2", 3: "s3"}
CLUSTER_COMMUNITY = "64512:7"
POLICY4, POLICY6 = "10.255.200.0/24", "fd00:255:200::/48"
# links: (node a, if, addr a, node b, if, addr b, v4 /30 base, v6 /64 base)
LINKS = [("s1", "eth1", 1, "s2", "eth1", 2, "10.255.12.", "fd00:255:12::"),
         ("s2", "eth2", 1, "b", "eth1", 2, "10.255.24.", "fd00:255:24::"),
         ("b", "eth2", 1, "s3", "eth1", 2, "10.255.43.", "fd00:255:43::"),
         ("isp", "eth1", 1, "s1", "eth2", 2, "10.255.99.", "fd00:255:99::")]
ASN = {"s1": 65001, "s2": 65002, "s3": 65003, "b": 65010, "isp": 64496}
BORDER = {("s1", "isp")}
ROUTER = {"s1": "frr", "s2": "frr", "s3": "frr"}


def use_variant(variant):
    if variant == "bird":
        ROUTER["s3"] = "bird"
        LINKS.append(("isp", "eth2", 1, "s3", "eth2", 2, "10.255.98.", "fd00:255:98::"))
        BORDER.add(("s3", "isp"))


class Failed(Exception):
    pass


def say(msg):
    print("[%6.2fs] %s" % (time.monotonic() - T0, msg), flush=True)


def check(cond, msg):
    if not cond:
        raise Failed(msg)
    say("ok: " + msg)


def wait_until(what, pred, timeout, every=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(every)
    raise Failed("timed out after %ss waiting for %s" % (timeout, what))


# ------------------------------------------------------------------------------------------ rendering

def sub_tokens(text, table):
    """Replaces whole tokens (addresses, ASNs, names): 192.0.2.1 never matches inside 192.0.2.10."""
    if not table:
        return text
    keys = sorted(table, key=len, reverse=True)
    pat = re.compile(r"(?<![0-9A-Za-z:.])(" + "|".join(re.escape(k) for k in keys) + r")(?![0-9A-Za-z:])")
    return pat.sub(lambda m: table[m.group(1)], text)


def peers(node):
    """[(peer node, peer address as seen from node)] over the links."""
    out = []
    for a, _, ia, b, _, ib, v4, _ in LINKS:
        if a == node:
            out.append((b, v4 + str(ib)))
        elif b == node:
            out.append((a, v4 + str(ia)))
    return out


def site_table(n):
    return {"r1": "s%d" % n, "65001": str(65000 + n), "65101": str(65100 + n),
            "192.0.2.1": "10.255.0.%d" % n, "192.0.2.10": "10.255.0.%d" % (10 * n),
            "192.0.2.11": "10.255.0.%d" % (10 * n + 1), "2001:db8::1": "fd00:255::%d" % n,
            "2001:db8:0:1::10": "fd00:255:0:%d::10" % n, "2001:db8:0:1::11": "fd00:255:0:%d::11" % n,
            # this router's own mail (mailbox layout v2: destination bits first; node id n)
            "10.200.8.0/21": "10.200.%d.0/21" % (8 * n), "fd72:6166:10::/44": "fd72:6166:%x::/44" % (16 * n)}


def render_frr(template, n):
    """configs/frr/frr.conf (router r1) -> site n: tokens substituted, peer lines repeated per peer."""
    node = SITES[n]
    cluster = [(p, a) for p, a in peers(node) if (node, p) not in BORDER and (p, node) not in BORDER]
    border = [(p, a) for p, a in peers(node) if (node, p) in BORDER or (p, node) in BORDER]
    out = []
    for line in template.splitlines():
        if re.search(r"^\s*neighbor 198\.51\.100\.2 ", line):
            out += [sub_tokens(line, {"198.51.100.2": a, "65002": str(ASN[p])}) for p, a in cluster]
        elif re.search(r"^\s*neighbor 203\.0\.113\.1 ", line):
            out += [sub_tokens(line, {"203.0.113.1": a, "64496": str(ASN[p])}) for p, a in border]
        else:
            out.append(sub_tokens(line, site_table(n)))
    return "\n".join(out) + "\n"


def render_bird(template, n):
    """configs/bird/bird.conf (router r1) -> site n: tokens substituted, peer protocols repeated per peer."""
    node = SITES[n]
    cluster = [(p, a) for p, a in peers(node) if (node, p) not in BORDER and (p, node) not in BORDER]
    border = [(p, a) for p, a in peers(node) if (node, p) in BORDER or (p, node) in BORDER]
    out, block, kind = [], [], None
    for line in template.splitlines():
        if kind is None and re.match(r"^protocol bgp (r2 from raftbgp_cluster|isp from border) \{", line):
            kind, block = ("cluster" if "r2" in line else "border"), [line]
            continue
        if kind is not None:
            block.append(line)
            if line.strip() == "}":
                name, addr, asn = ("r2", "198.51.100.2", "65002") if kind == "cluster" else \
                    ("isp", "203.0.113.1", "64496")
                for p, a in (cluster if kind == "cluster" else border):
                    out += [sub_tokens(b, {name: p, addr: a, asn: str(ASN[p])}) for b in block]
                kind = None
            continue
        out.append(sub_tokens(line, site_table(n)))
    return "\n".join(out) + "\n"


def bird_conf(node):
    lines = ["# generated by tests/deploy/colo_lab.py: %s, %s" % (node, "a BIRD transit inside the cluster"
                                                                      if node == "b" else "an ISP outside it"),
             "log stderr all;", "router id %s;" % peers(node)[0][1].rsplit(".", 1)[0].replace("10.255", "10.255") +
             ".%d" % (1 if node == "b" else 1), "protocol device { }"]
    lines[2] = "router id 10.255.%d.%d;" % (250, 1 if node == "b" else 2)
    for p, addr in peers(node):
        local = [(v4 + str(ia if a == node else ib)) for a, _, ia, b, _, ib, v4, _ in LINKS
                 if node in (a, b) and p in (a, b)][0]
        imp, exp = ("all", "all") if node == "b" else ("all", "none")
        lines += ["protocol bgp %s {" % p,
                  "  local %s as %d; neighbor %s as %d; hold time 30;" % (local, ASN[node], addr, ASN[p]),
                  "  error wait time 1, 10;",
                  "  ipv4 { import %s; export %s; };" % (imp, exp),
                  "  ipv6 { import %s; export %s; };" % (imp, exp), "}"]
    return "\n".join(lines) + "\n"


def render(repo, src, bin_dirs, lab_name):
    """Writes <src>/colo.clab.yml and its per-node files; returns the clab file's path."""
    def read(*p):
        with open(os.path.join(repo, *p)) as f:
            return f.read()
    raftbgpd = next(os.path.join(d, "raftbgpd") for d in bin_dirs if os.access(os.path.join(d, "raftbgpd"), os.X_OK))
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    with open(os.path.join(src, "cluster.keys"), "w") as f:
        f.write("1 %s\n" % os.urandom(32).hex())
    frr_t, exa_t, env_t = read("configs", "frr", "frr.conf"), read("configs", "exabgp", "exabgp.conf"), \
        read("configs", "exabgp", "exabgp.env")
    nodes = {}
    ifaddr = {}
    for a, ia_name, ia, b, ib_name, ib, v4, v6 in LINKS:
        ifaddr.setdefault(a, []).append((ia_name, v4 + str(ia), v6 + str(ia)))
        ifaddr.setdefault(b, []).append((ib_name, v4 + str(ib), v6 + str(ib)))
    for n, node in SITES.items():
        d = os.path.join(src, node)
        os.makedirs(d)
        t = site_table(n)
        router_conf = ("frr.conf", render_frr(frr_t, n)) if ROUTER[node] == "frr" else \
            ("bird.conf", render_bird(read("configs", "bird", "bird.conf"), n))
        files = {router_conf[0]: router_conf[1],
                 "exabgp.conf": sub_tokens(exa_t, t).replace("/usr/local/bin/raftbgpd", raftbgpd),
                 "exabgp.env": env_t,
                 "raftbgpd.yaml": sub_tokens(read("configs", "cluster3", "r%d.yaml" % n),
                                             {"2001:db8:0:%d::11" % n: "fd00:255:0:%d::11" % n})}
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        execs = ["ip addr add 10.255.0.%d/32 dev lo" % n, "ip addr add 10.255.0.%d/31 dev lo" % (10 * n),
                 "ip -6 addr add fd00:255::%d/128 dev lo nodad" % n,
                 "ip -6 addr add fd00:255:0:%d::10/127 dev lo nodad" % n]
        nodes[node] = {"kind": "linux", "labels": {"raftbgp.role": "site"},
                       "binds": ["%s/%s:/etc/%s/%s:ro" % (node, router_conf[0], ROUTER[node], router_conf[0]),
                                 "%s/exabgp.conf:/etc/raftbgp/exabgp.conf:ro" % node,
                                 "%s/exabgp.env:/etc/raftbgp/exabgp.env:ro" % node,
                                 "%s/raftbgpd.yaml:/etc/raftbgp/raftbgpd.yaml:ro" % node,
                                 "cluster.keys:/etc/raftbgp/cluster.keys:ro"],
                       "exec": execs}
    for node in ("b", "isp"):
        d = os.path.join(src, node)
        os.makedirs(d)
        with open(os.path.join(d, "bird.conf"), "w") as f:
            f.write(bird_conf(node))
        nodes[node] = {"kind": "linux", "labels": {"raftbgp.role": "transit-bird"},
                       "binds": ["%s/bird.conf:/etc/bird/bird.conf:ro" % node], "exec": []}
    for node, ifs in ifaddr.items():
        for ifname, a4, a6 in ifs:
            nodes[node]["exec"] += ["ip addr add %s/30 dev %s" % (a4, ifname),
                                    "ip -6 addr add %s/64 dev %s nodad" % (a6, ifname)]
    doc = {"name": lab_name, "topology": {"nodes": nodes, "links": [
        {"endpoints": ["%s:%s" % (a, ia), "%s:%s" % (b, ib)]} for a, ia, _, b, ib, _, _, _ in LINKS]}}
    path = os.path.join(src, "colo.clab.yml")
    with open(path, "w") as f:
        f.write("# generated by tests/deploy/colo_lab.py from configs/ (see its docstring)\n")
        json.dump(doc, f, indent=1)  # JSON is YAML
    return path


# ------------------------------------------------------------------------------------------ the lab

class Lab:
    def __init__(self, repo, run_root, file, name, bin_dirs):
        self.clab = os.path.join(repo, "lab", "clab-netns")
        self.file = file
        self.run_dir = os.path.join(run_root, name)
        self.env = dict(os.environ, RAFTBGP_LAB_RUN=run_root)
        self.env.pop("RAFTBGP_LAB_NS_PREFIX", None)  # namespaces rbgp-<lab>-<node>
        self.bin_dirs = bin_dirs

    def cmd(self, *args, timeout=60, check=True, file=None, quiet=False):
        p = subprocess.run([sys.executable, self.clab] + [args[0], file or self.file] + list(args[1:]),
                           env=self.env, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if not quiet or p.returncode != 0:
            for line in p.stdout.splitlines()[-40:]:
                say("  | " + line)
        if check and p.returncode != 0:
            raise Failed("clab-netns %s failed (%d)" % (" ".join(args), p.returncode))
        return p

    def out(self, node, *cmd, timeout=15):
        return subprocess.run([sys.executable, self.clab, "exec", self.file, node] + list(cmd), env=self.env,
                              timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True).stdout

    def vtysh_json(self, node, command):
        try:
            return json.loads(self.out(node, "vtysh", "-c", command + " json") or "null")
        except ValueError:
            return None

    def ctl(self, node, *args, timeout=15):
        sock = os.path.join(self.run_dir, node, "run", "raftbgpd.sock")
        ctl = next(os.path.join(d, "raftbgpctl") for d in self.bin_dirs
                   if os.access(os.path.join(d, "raftbgpctl"), os.X_OK))
        return subprocess.run([ctl, "--socket", sock] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)

    def status(self, node):
        p = self.ctl(node, "status", "--json", "--timeout", "2000")
        try:
            return json.loads(p.stdout) if p.returncode == 0 else None
        except ValueError:
            return None


def cleanup_leftovers(lab, run_root):
    """Brings down colo-<pid> labs of earlier runs whose pid is gone (their state records what they made)."""
    if not os.path.isdir(run_root):
        return
    for name in os.listdir(run_root):
        m = re.match(r"^colo-(\d+)$", name)
        state = os.path.join(run_root, name, "state.json")
        if not m or int(m.group(1)) == os.getpid() or not os.path.exists(state):
            continue
        if os.path.exists("/proc/%s" % m.group(1)):
            continue  # a live run (another build dir's test?) owns it
        try:
            with open(state) as f:
                file = json.load(f)["file"]
        except (OSError, ValueError, KeyError):
            continue
        if os.path.exists(file):
            say("bringing down the leftover lab %s" % name)
            lab.cmd("down", file=file, check=False)


def rib_prefixes(doc):
    return set((doc or {}).get("routes", {}).keys())


def router_prefixes(lab, node, fam="ipv4"):
    """The prefixes in the site router's RIB (FRR: BGP table; BIRD: every route)."""
    if ROUTER[node] == "frr":
        return rib_prefixes(lab.vtysh_json(node, "show bgp %s unicast" % fam))
    return set(re.findall(r"^([0-9a-f:.]+/\d+)\s", lab.out(node, "birdc", "show", "route"), re.M))


def tagged_mailbox_routes(lab, node):
    if ROUTER[node] == "frr":
        doc = lab.vtysh_json(node, "show bgp ipv6 unicast community %s" % CLUSTER_COMMUNITY) or {}
        return len([p for p in rib_prefixes(doc) if p.startswith("fd72:6166:")])
    a, b = CLUSTER_COMMUNITY.split(":")
    text = lab.out(node, "birdc", "show route table master6 where net ~ [fd72:6166::/32+] && (%s,%s) ~ bgp_community "
                   "count" % (a, b))
    m = re.search(r"(\d+) of \d+ routes", text)
    return int(m.group(1)) if m else 0


def local_paths(lab, node, prefix, exa_asn):
    """Valid paths to prefix in node's router whose AS path starts with its local ExaBGP's ASN."""
    if ROUTER[node] == "bird":
        text = lab.out(node, "birdc", "show", "route", "for", prefix, "protocol", "raftbgp_exabgp", "all")
        m = re.search(r"BGP\.as_path: (\d+)", text)
        nh = re.search(r"BGP\.next_hop: (\S+)", text)
        return [{"aspath": {"string": m.group(1)}, "nexthops": [{"ip": nh.group(1) if nh else "?"}]}] \
            if m and m.group(1) == str(exa_asn) else []
    fam = "ipv6" if ":" in prefix else "ipv4"
    doc = lab.vtysh_json(node, "show bgp %s unicast %s" % (fam, prefix)) or {}
    return [p for p in doc.get("paths", []) if p.get("valid") and
            str((p.get("aspath") or {}).get("string", "")).split()[:1] == [str(exa_asn)]]


def scenario(lab):
    lab.cmd("up", "--bin-dir", lab.bin_dirs[0], "--wait", "60", timeout=110)
    say("lab up: all BGP sessions established (FRR<->ExaBGP on lo, FRR<->FRR, FRR<->BIRD, border)")

    # 1. Ordinary routes everywhere.
    loops = ["10.255.0.%d/32" % n for n in SITES]
    for node in SITES.values():
        have = wait_until("%s to hold the three sites' loopbacks" % node, lambda node=node: (
            lambda r: r if set(loops) <= r else None)(router_prefixes(lab, node)), 30)
        check(set(loops) <= have, "%s's %s holds the ordinary routes %s" % (node, ROUTER[node].upper(),
                                                                             ", ".join(loops)))

    # 2. The cluster forms over the routers' sessions.
    def agreed():
        st = {n: lab.status(n) for n in SITES.values()}
        if not all(st.values()):
            return None
        leaders = {s.get("leader") for s in st.values()}
        terms = {s.get("term") for s in st.values()}
        roles = sorted(s.get("role") for s in st.values())
        if len(leaders) == 1 and 0 not in leaders and None not in leaders and len(terms) == 1 and \
                roles.count("leader") == 1:
            return st
        return None
    t = time.monotonic()
    st = wait_until("the three agents to agree on a leader", agreed, 60, every=1)
    s = next(iter(st.values()))
    check(True, "cluster formed in %.1f s: leader %s, term %s (%s)" % (
        time.monotonic() - t, s["leader"], s["term"], ", ".join("%s %s" % (n, v["role"]) for n, v in st.items())))
    check(all(len([m for m in v.get("members", []) if m.get("voter", True)]) == 3 for v in st.values()),
          "three voters seen by every agent")

    # 3. A policy, agreed through the log, announced by every site's ExaBGP to its own FRR.
    for prefix in (POLICY4, POLICY6):
        p = lab.ctl("s2", "policy", "add", prefix, "--timeout", "20000", timeout=30)
        check(p.returncode == 0, "raftbgpctl policy add %s on s2: rc %d %s" % (prefix, p.returncode,
                                                                              (p.stdout + p.stderr).strip()))
    for n, node in SITES.items():
        for prefix in (POLICY4, POLICY6):
            paths = wait_until("%s's FRR to hold %s from its local ExaBGP" % (node, prefix),
                               lambda node=node, n=n, prefix=prefix: local_paths(lab, node, prefix, 65100 + n), 30)
            check(paths, "%s's router holds %s from its local ExaBGP (AS path %s, next hop %s)" % (
                node, prefix, paths[0]["aspath"]["string"],
                ",".join(h.get("ip", "?") for h in paths[0].get("nexthops", []))))

    # 4. Mailbox routes: tagged where they entered; each agent sees only mailbox routes.
    for node in SITES.values():
        mb = tagged_mailbox_routes(lab, node)
        check(mb > 0, "%s's %s holds %d mailbox routes tagged %s" % (node, ROUTER[node].upper(), mb,
                                                                    CLUSTER_COMMUNITY))
    for node in SITES.values():
        tr = (lab.status(node) or {}).get("transport", {})
        check(tr.get("not_mailbox", 0) == 0 and tr.get("frames_received", 0) > 0,
              "%s's agent: %d frames received, %d routes outside its mailbox plan (its router sends ExaBGP "
              "only mailbox routes), own echoes %s" % (node, tr.get("frames_received", 0), tr.get("not_mailbox", 0),
                                                 (tr.get("rejected") or {}).get("own_echo")))

    # 5. The border: ordinary and policy routes, nothing of the mailboxes.
    want = set(loops) | {POLICY4, POLICY6}
    def isp_rib():
        return lab.out("isp", "birdc", "show", "route", "all")
    text = wait_until("the ISP to receive the ordinary and policy routes",
                      lambda: (lambda t: t if all(p in t for p in want) else None)(isp_rib()), 30)
    time.sleep(2)  # mailbox traffic keeps flowing meanwhile: give a leak time to show
    text = isp_rib()
    check(all(p in text for p in want), "isp holds the ordinary routes and the policy routes: %s" %
          ", ".join(sorted(want)))
    nets = re.findall(r"^([0-9a-f:.]+/\d+)\s", text, re.M)
    leaked = [p for p in nets if p.startswith("fd72:6166:") or p.startswith("10.200.")]
    check(not leaked, "isp holds no mailbox prefix (%d routes in its RIB)" % len(nets))
    check("BGP.ff" not in text, "isp holds no route with the opaque attribute 0xff")
    check("(64512,7)" not in text, "isp holds no route tagged with the cluster community")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=["frr", "bird"], default="frr", help="bird: s3 runs BIRD, not FRR")
    ap.add_argument("--bin-dir", action="append", required=True, help="directories holding raftbgpd, raftbgpctl")
    ap.add_argument("--repo", default=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    ap.add_argument("--run-root", help="clab-netns run root (default: <first bin-dir>/../lab-run)")
    ap.add_argument("--keep", action="store_true", help="leave the lab up (bring it down with clab-netns down)")
    o = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: the lab needs root (network namespaces)")
        return SKIP
    for tool in ("ip", "exabgp", "bird", "birdc", "vtysh"):
        if not shutil.which(tool) and not os.access("/usr/sbin/" + tool, os.X_OK):
            print("SKIP: %s is not installed" % tool)
            return SKIP
    if not os.access("/usr/lib/frr/bgpd", os.X_OK):
        print("SKIP: FRR (bgpd, zebra) is not installed")
        return SKIP
    bin_dirs = [os.path.abspath(d) for d in o.bin_dir]
    use_variant(o.variant)
    for b in ("raftbgpd", "raftbgpctl"):
        if not any(os.access(os.path.join(d, b), os.X_OK) for d in bin_dirs):
            print("FAIL: %s is not built in %s" % (b, ":".join(bin_dirs)))
            return 1
    run_root = os.path.abspath(o.run_root or os.path.join(os.path.dirname(bin_dirs[0]), "lab-run"))
    name = "colo-%d" % os.getpid()
    src = os.path.join(run_root, name + "-src")
    file = render(o.repo, src, bin_dirs, name)
    lab = Lab(o.repo, run_root, file, name, bin_dirs)
    cleanup_leftovers(lab, run_root)

    def on_alarm(signum, _frame):
        raise Failed("test deadline (%d s) or signal %d" % (DEADLINE_S, signum))
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_alarm)
    signal.alarm(DEADLINE_S)
    ok = False
    try:
        scenario(lab)
        ok = True
    except (Failed, subprocess.TimeoutExpired) as e:
        say("FAIL: %s" % e)
        for node in SITES.values():
            for log in ("exabgp.out", "bgpd.log"):
                path = os.path.join(lab.run_dir, node, log)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        say("--- %s\n%s" % (path, "".join(f.readlines()[-8:])))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish the clean-up
        if o.keep:
            say("kept up: %s down %s" % (lab.clab, file))
        else:
            lab.cmd("down", check=False, timeout=60)
            shutil.rmtree(src, ignore_errors=True) if ok else None
        say("logs in %s" % lab.run_dir)
    say("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
