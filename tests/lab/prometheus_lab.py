#!/usr/bin/env python3
"""A real Prometheus server scrapes a running star3 cluster, label `lab`.

  prometheus_lab.py --bin-dir DIR [--bin-dir DIR] [--run-root DIR] [--ns-prefix P] [--deadline S]

Copies lab/star3 into the run directory with `metrics_listen` (the agent's YAML key, docs/operator-guide.md
"Health and monitoring") set to each router's address on its link to the transit, brings it up with
lab/clab-netns, and runs Debian's `prometheus` inside the transit's namespace (the one node with a route to
every router) with a scrape config for the three agents. It asserts that Prometheus reports every target
up == 1, that sum(raftbgp_server_has_leader) is 3, that after a write every node's
raftbgp_server_proposals_committed_total reaches the write's index, that every router is healthy
(`raftbgpctl health`, one BGP session up) and unhealthy with "no BGP session up" once the transit's BIRD is
stopped, and that `promtool check metrics` finds nothing wrong in
`raftbgpctl metrics` of every router. Always stops Prometheus (by its pid) and brings the
lab down (labkit.run_scenario), within --deadline. Exit 77 (CTest SKIP) when prometheus or promtool is not
installed (Debian package `prometheus`), when not root, or without the lab's daemons.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
from labkit import Failed, Lab, check, lab_unavailable, must_put, run_scenario, say, wait_until  # noqa: E402

SKIP = 77
METRICS_PORT = 9464
PROM_ADDR = "127.0.0.1:9090"
# Prometheus listens on the transit namespace's loopback: its HTTP API is fetched from inside that namespace.
FETCH = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())"


def stage_topology(dest):
    """lab/star3 copied under `dest`, each router's raftbgpd.yaml with metrics_listen on its link address.
    Returns the copied clab file and {router: "ADDRESS:PORT"}."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    shutil.copy(os.path.join(REPO, "lab", "star3.clab.yml"), dest)
    shutil.copytree(os.path.join(REPO, "lab", "star3"), os.path.join(dest, "star3"))
    import yaml
    targets = {}
    for r in ("r1", "r2", "r3"):
        path = os.path.join(dest, "star3", r, "raftbgpd.yaml")
        with open(path) as f:
            text = f.read()
        neighbor = yaml.safe_load(text)["neighbor"]  # the transit's end of the /30: the router is .1
        address = neighbor.rsplit(".", 1)[0] + ".1"
        targets[r] = "%s:%d" % (address, METRICS_PORT)
        with open(path, "w") as f:
            f.write(text + 'metrics_listen: "%s"\n' % targets[r])
    return os.path.join(dest, "star3.clab.yml"), targets


class Prometheus:
    """Debian's prometheus in namespace `ns`, scraping `targets` every second; stop() kills it by pid."""

    def __init__(self, lab, ns, targets, work):
        self.lab, self.ns, self.proc = lab, ns, None
        os.makedirs(work, exist_ok=True)
        self.config = os.path.join(work, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: raftbgp\n    static_configs:\n"
                    "      - targets: [%s]\n" % ", ".join('"%s"' % t for t in sorted(targets.values())))
        p = subprocess.run(["promtool", "check", "config", self.config], capture_output=True, text=True)
        check(p.returncode == 0, "promtool check config passes on the scrape config" +
              ("" if p.returncode == 0 else ": " + (p.stdout + p.stderr)[:300]))
        self.log = open(os.path.join(work, "prometheus.log"), "w")
        # `ip netns exec` execs prometheus itself: the pid is Prometheus's.
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, "prometheus", "--config.file=" + self.config,
                                      "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
                                      "--web.listen-address=" + PROM_ADDR], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        say("prometheus pid %d in namespace %s (log %s)" % (self.proc.pid, ns, self.log.name))

    def query(self, expr):
        """The instant vector of `expr` from the HTTP API, as [(labels, float)], or None (not answering)."""
        url = "http://%s/api/v1/query?%s" % (PROM_ADDR, urllib.parse.urlencode({"query": expr}))
        p = subprocess.run(["ip", "netns", "exec", self.ns, sys.executable, "-c", FETCH, url], capture_output=True,
                           text=True, timeout=10)
        if p.returncode != 0:
            return None
        body = json.loads(p.stdout)
        if body.get("status") != "success":
            raise Failed("prometheus refused %r: %s" % (expr, body))
        return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]

    def scalar(self, expr):
        r = self.query(expr)
        return r[0][1] if r else None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def scrape(lab, targets):
    """The scenario: see the module docstring."""
    leader = lab.wait_leader(timeout=30)
    prom = Prometheus(lab, lab.ns("t"), targets, os.path.join(lab.run_dir, "prometheus"))
    try:
        wait_until("Prometheus to report every agent target up == 1",
                   lambda: prom.scalar('sum(up{job="raftbgp"})') == 3.0, 40)
        check(True, "targets up: %s" % sorted(m["instance"] for m, v in prom.query("up") if v == 1.0))
        wait_until("sum(raftbgp_server_has_leader) == 3", lambda: prom.scalar("sum(raftbgp_server_has_leader)") == 3.0,
                   20)
        check(True, "sum(raftbgp_server_has_leader) == 3 (leader %s)" % leader)
        index = must_put(lab, leader, "prometheus", "scraped", "prom-lab", 1)
        wait_until("every node's raftbgp_server_proposals_committed_total >= %d" % index,
                   lambda: (prom.scalar("count(raftbgp_server_proposals_committed_total >= %d)" % index) or 0) == 3,
                   20)
        check(True, "the write at index %d is counted committed by all three nodes" % index)
        for r in sorted(lab.routers):
            rc, out, err = lab.ctl(r, "health")
            check(rc == 0, "%s: raftbgpctl health: %s" % (r, (out + err).strip()))
            up = prom.scalar('raftbgp_bgp_sessions_up{instance="%s"}' % targets[r])
            check(up == 1.0, "%s: raftbgp_bgp_sessions_up is 1 (its one session to the transit): %s" % (r, up))
            rc, text, err = lab.ctl(r, "metrics")
            check(rc == 0 and "raftbgp_server_has_leader" in text, "%s: raftbgpctl metrics (%s)" % (r, err.strip()))
            p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
            problems = (p.stdout + p.stderr).strip()
            check(p.returncode == 0 and not problems,
                  "%s: promtool check metrics passes with no finding%s" % (r, (": " + problems) if problems else ""))
        # The transit's BGP daemon stops: every router loses its only session, and health says so.
        lab.kill("t")

        def says_no_bgp(r):
            rc, out, _ = lab.ctl(r, "health")
            return rc == 6 and "no BGP session up" in out
        wait_until("raftbgpctl health on every router to exit 6 with `no BGP session up`",
                   lambda: all(says_no_bgp(r) for r in lab.routers), 30)
        check(True, "with the transit down every router is unhealthy: no BGP session up")
    finally:
        prom.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", action="append", required=True)
    ap.add_argument("--run-root", default=None)
    ap.add_argument("--ns-prefix", default="pm%d" % (os.getpid() % 10 ** 7))
    ap.add_argument("--deadline", type=int, default=150)
    o = ap.parse_args()
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            print("SKIP: %s not installed (Debian package prometheus)" % tool)
            return SKIP
    why = lab_unavailable(("exabgp", "bird"))
    if why:
        print("SKIP: " + why)
        return SKIP
    run_root = os.path.abspath(o.run_root or os.path.join(REPO, "lab", "run"))
    clab_file, targets = stage_topology(os.path.join(run_root, "prometheus-topology"))
    lab = Lab(clab_file, o.bin_dir, run_root=os.path.join(run_root, "prometheus-star3"), ns_prefix=o.ns_prefix)
    return run_scenario(lab, "prometheus", lambda l: scrape(l, targets), o.deadline)


if __name__ == "__main__":
    sys.exit(main())
