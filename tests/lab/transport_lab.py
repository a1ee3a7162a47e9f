#!/usr/bin/env python3
"""Real-stack integration test of bgp-transport (issue 3), label `lab`.

  transport_lab.py bird|frr --bin-dir DIR [--repo DIR] [--run-root DIR]

Brings up lab/transport-<variant>.clab.yml with lab/clab-netns: ExaBGP A (id 1) — BIRD or FRR transit T —
ExaBGP C (id 2), each ExaBGP running raftbgp-ping. Then, both ways (A->C and C->A), asserting on the JSON
results the ping tools write:
  1. small messages: 10 x 200 B pings delivered and answered, no duplicate;
  2. fragmentation: 2 x 20,000 B pings, each cut into >= 7 frames, reassembled, delivered and answered;
  3. wrong key: 3 pings sealed with a key the receiver lacks are rejected as bad_tag, none delivered;
  4. session reset: `clab-netns restart T`; the sessions go down and come back, ExaBGP re-sends its
     adj-rib-out, the receiver's Transport counts the re-sent frames as replay (the counter rises) and the
     application-level duplicate counter stays 0; then 5 more pings each way prove the path works again;
  6. replay after a receiver restart: C's raftbgp-ping gets SIGTERM (it saves its replay windows to
     <state-dir>/replay) and ExaBGP respawns it (epoch + 1, counters from 0); the transit restarts, so real
     ExaBGP re-sends C every frame A still announces (the labs' ping.conf keeps mailbox routes for 10 minutes),
     all delivered to the old process. The new process
     refuses them as replay (counted) and delivers none. Against a build without the persisted windows
     (e.g. --bin-dir of main's build) this step fails: the re-sent pings are delivered again.
The lab is brought down in every case (finally + SIGALRM/SIGTERM), and the whole run is bounded (110 s).
Exit 77 (CTest SKIP_RETURN_CODE) when not root or without `ip netns`.
"""
import argparse
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab"))
from labkit import netns_pids  # noqa: E402

SKIP = 77
DEADLINE_S = 110
IDS = {"a": 1, "c": 2}
PEER = {"a": "c", "c": "a"}


class Failed(Exception):
    pass


def say(msg):
    print("[%6.2fs] %s" % (time.monotonic() - T0, msg), flush=True)


T0 = time.monotonic()


class Lab:
    def __init__(self, repo, variant, bin_dir, run_root):
        self.clab = os.path.join(repo, "lab", "clab-netns")
        self.file = os.path.join(repo, "lab", "transport-%s.clab.yml" % variant)
        self.name = "transport-%s" % variant
        self.env = dict(os.environ, RAFTBGP_LAB_RUN=run_root)
        self.bin_dir = bin_dir
        self.run_dir = os.path.join(run_root, self.name)

    def cmd(self, *args, timeout=60, check=True):
        p = subprocess.run([sys.executable, self.clab] + list(args), env=self.env, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in p.stdout.splitlines():
            say("  | " + line)
        if check and p.returncode != 0:
            raise Failed("clab-netns %s failed (%d)" % (" ".join(args), p.returncode))
        return p

    def data(self, node):
        return os.path.join(self.run_dir, node, "data")

    def js(self, node):
        try:
            with open(os.path.join(self.data(node), "ping.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def ctl(self, node, line):
        """Writes one command to the node's ping control FIFO (bounded: the tool must be reading)."""
        path = os.path.join(self.data(node), "ping.ctl")
        deadline = time.monotonic() + 10
        while True:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as e:
                if e.errno not in (errno.ENXIO, errno.ENOENT) or time.monotonic() > deadline:
                    raise Failed("cannot open %s: %s" % (path, e))
                time.sleep(0.1)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        say("%s <- %s" % (node, line))


def wait_until(what, pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise Failed("timed out after %ss waiting for %s" % (timeout, what))


def check(cond, msg):
    if not cond:
        raise Failed(msg)
    say("ok: " + msg)


def runs_done(lab, node, n):
    j = lab.js(node)
    return j if j and len(j["runs"]) >= n and j["jobs_pending"] == 0 else None


def ping_both(lab, line_fmt, n_runs, timeout):
    for node in ("a", "c"):
        lab.ctl(node, line_fmt % IDS[PEER[node]])
    return {node: wait_until("%s to finish run %d" % (node, n_runs), lambda node=node: runs_done(lab, node, n_runs),
                             timeout) for node in ("a", "c")}


def rejected(j, reason):
    return j["transport"]["rejected"][reason]


def ns_pids(lab, node, comm):
    """PIDs of processes named `comm` in the node's namespace (the lab's own, by id)."""
    return netns_pids("%s-%s-%s" % (lab.env.get("RAFTBGP_LAB_NS_PREFIX", "rbgp"), lab.name, node), comm)


def replay_after_receiver_restart(lab):
    before = lab.js("c")
    pids = ns_pids(lab, "c", "raftbgp-ping")
    check(len(pids) == 1, "c runs one raftbgp-ping (pid %s)" % pids)
    os.kill(pids[0], signal.SIGTERM)
    j = wait_until("ExaBGP to respawn raftbgp-ping on c (epoch %d -> %d)" % (before["epoch"], before["epoch"] + 1),
                   lambda: (lambda j: j if j and j["epoch"] == before["epoch"] + 1 else None)(lab.js("c")), 20)
    check(j["delivered"] == 0 and rejected(j, "replay") == 0, "c's new process starts with empty counters")
    lab.cmd("restart", lab.file, "t", "--wait", "40", timeout=70)
    wait_until("c's new process to see the re-send (frames refused as replay, or delivered)",
               lambda: (lambda j: j and j["transport"]["peer_up"] >= 1 and
                        rejected(j, "replay") + j["delivered"] > 0)(lab.js("c")), 40)
    time.sleep(2)  # let the rest of the re-send arrive
    j = lab.js("c")
    # A re-announces what it still holds (mailbox_routes: slots are reused once acknowledged and aged, so a
    # handful, not one per frame ever sent); every one of those was delivered to the old process.
    held = lab.js("a")["transport"]["mailbox_routes"]
    check(rejected(j, "replay") >= max(3, held - 1),
          "c's new process refused %d re-sent frames as replay (a holds %d mailbox routes; windows loaded from "
          "its state dir)" % (rejected(j, "replay"), held))
    check(j["delivered"] == 0 and j["received"]["pings"] == 0,
          "c's new process delivered nothing the old one had delivered (delivered %d, pings %d)" %
          (j["delivered"], j["received"]["pings"]))


def scenario(lab, variant):
    slow = variant == "frr"  # FRR holds its route queue 50 ms per hop (docs/exabgp.md §3.2)
    lab.cmd("down", lab.file)  # leftovers of a killed earlier run (only what its state recorded)
    lab.cmd("up", lab.file, "--bin-dir", lab.bin_dir, "--wait", "40", timeout=70)
    for node in ("a", "c"):
        wait_until("%s's ping tool to see its session up" % node,
                   lambda node=node: (lab.js(node) or {}).get("sessions_up", 0) >= 1, 20)

    # 1. Small messages, both ways.
    r = ping_both(lab, "ping to=%d count=10 size=200 interval=50", 1, 30)
    for node in ("a", "c"):
        j, peer = r[node], r[PEER[node]]
        run = j["runs"][0]
        check(run["sent"] == 10 and run["answered"] == 10,
              "%s -> %s: 10 x 200 B delivered and answered (%s)" % (node, PEER[node], run["summary"]))
        check(peer["received"]["pings"] >= 10, "%s received %d pings" % (PEER[node], peer["received"]["pings"]))
    frames0 = {n: r[n]["transport"]["frames_sent"] for n in r}

    # 2. A 20 KB message, fragmented and reassembled, both ways.
    r = ping_both(lab, "ping to=%d count=2 size=20000 interval=500", 2, 40 if slow else 25)
    for node in ("a", "c"):
        j, peer = r[node], r[PEER[node]]
        run = j["runs"][1]
        frames = j["transport"]["frames_sent"] - frames0[node]
        check(run["answered"] == 2, "%s -> %s: 2 x 20,000 B answered (%s)" % (node, PEER[node], run["summary"]))
        check(frames >= 2 * 7 + 2, "%s sent %d frames for 2 x 20 KB + pongs (fragmented)" % (node, frames))
        check(peer["received"]["max_ping_bytes"] >= 20000 and peer["received"]["fragmented_pings"] >= 2,
              "%s reassembled %d fragmented pings of up to %d B" %
              (PEER[node], peer["received"]["fragmented_pings"], peer["received"]["max_ping_bytes"]))

    # 3. Sealed with the wrong key: rejected as bad_tag, never delivered.
    before = {n: lab.js(n) for n in ("a", "c")}
    for node in ("a", "c"):
        lab.ctl(node, "ping to=%d count=3 mode=wrong-key interval=100" % IDS[PEER[node]])
    for node in ("a", "c"):
        peer = PEER[node]
        j = wait_until("%s to reject 3 wrong-key frames" % peer,
                       lambda peer=peer: (lambda j: j if j and rejected(j, "bad_tag") + rejected(j, "unknown_key")
                                          >= rejected(before[peer], "bad_tag") + 3 else None)(lab.js(peer)),
                       15 if not slow else 25)
        check(rejected(j, "bad_tag") - rejected(before[peer], "bad_tag") == 3,
              "%s rejected the 3 wrong-key frames from %s as bad_tag" % (peer, node))
    time.sleep(1.5 if slow else 0.5)
    for node in ("a", "c"):
        j = lab.js(node)
        check(j["received"]["pings"] == before[node]["received"]["pings"] and
              j["delivered"] == before[node]["delivered"],
              "%s delivered nothing sealed with the wrong key (%d messages in all)" % (node, j["delivered"]))

    # 4. Session reset: restart the transit; ExaBGP re-sends its adj-rib-out; replays are absorbed.
    before = {n: lab.js(n) for n in ("a", "c")}
    t = time.monotonic()
    lab.cmd("restart", lab.file, "t", "--wait", "40", timeout=70)
    for node in ("a", "c"):
        b = before[node]
        wait_until("%s's session to reset and come back" % node,
                   lambda node=node, b=b: (lambda j: j and j["transport"]["peer_down"] > b["transport"]["peer_down"]
                                           and j["sessions_up"] >= 1)(lab.js(node)), 40)
        wait_until("%s to see the re-send (replay counter rising)" % node,
                   lambda node=node, b=b: (lambda j: j and rejected(j, "replay") > rejected(b, "replay"))(lab.js(node)),
                   30)
    say("sessions back and re-send seen %.1f s after the restart began" % (time.monotonic() - t))
    time.sleep(2)  # let the rest of the re-send arrive
    for node in ("a", "c"):
        j, b = lab.js(node), before[node]
        check(j["transport"]["peer_down"] > b["transport"]["peer_down"] and
              j["transport"]["peer_up"] > b["transport"]["peer_up"],
              "%s: session reset (down %d -> %d, up %d -> %d)" % (node, b["transport"]["peer_down"],
                                                                  j["transport"]["peer_down"],
                                                                  b["transport"]["peer_up"], j["transport"]["peer_up"]))
        check(rejected(j, "replay") > rejected(b, "replay"),
              "%s: Transport replay counter rose %d -> %d (re-sent frames absorbed)" %
              (node, rejected(b, "replay"), rejected(j, "replay")))
        check(j["duplicates"] == 0, "%s: application-level duplicate deliveries: 0" % node)
        check(j["delivered"] == b["delivered"], "%s: nothing re-delivered by the re-send" % node)

    # 5. The path works again after the reset.
    r = ping_both(lab, "ping to=%d count=5 size=200 interval=50", 4, 30)
    for node in ("a", "c"):
        run = r[node]["runs"][3]
        check(run["answered"] == 5, "%s -> %s after the reset: 5 answered (%s)" % (node, PEER[node], run["summary"]))
    for node in ("a", "c"):
        j = lab.js(node)
        t_ = j["transport"]
        check(j["duplicates"] == 0 and t_["acks_error"] == 0 and sum(t_["line_errors"].values()) == 0 and
              t_["send_refused"] == 0 and t_["queue_dropped"] == 0,
              "%s: end state: 0 duplicates, 0 acks_error, 0 line errors, 0 refused, 0 dropped "
              "(rejected %s)" % (node, {k: v for k, v in t_["rejected"].items() if v}))

    # 6. Replay after a receiver restart (see the module docstring).
    replay_after_receiver_restart(lab)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("variant", choices=["bird", "frr"])
    ap.add_argument("--bin-dir", required=True, help="directory holding raftbgp-ping")
    ap.add_argument("--repo", default=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    ap.add_argument("--run-root", help="clab-netns run root (default: <bin-dir>/../lab-run)")
    o = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: the lab needs root (network namespaces)")
        return SKIP
    if not shutil.which("ip") or subprocess.run(["ip", "netns", "list"], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL).returncode != 0:
        print("SKIP: `ip netns` is not available")
        return SKIP
    if not os.access(os.path.join(o.bin_dir, "raftbgp-ping"), os.X_OK):
        print("FAIL: %s/raftbgp-ping is not built" % o.bin_dir)
        return 1
    run_root = o.run_root or os.path.join(os.path.dirname(os.path.abspath(o.bin_dir)), "lab-run")
    lab = Lab(o.repo, o.variant, os.path.abspath(o.bin_dir), run_root)

    def on_alarm(signum, _frame):
        raise Failed("test deadline (%d s) or signal %d" % (DEADLINE_S, signum))
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_alarm)
    signal.alarm(DEADLINE_S)
    ok = False
    try:
        scenario(lab, o.variant)
        ok = True
    except Failed as e:
        say("FAIL: %s" % e)
        for node in ("a", "c"):
            log = os.path.join(lab.data(node), "ping.log")
            if os.path.exists(log):
                say("--- %s" % log)
                with open(log) as f:
                    sys.stdout.write("".join(f.readlines()[-15:]))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish the clean-up
        lab.cmd("down", lab.file, check=False)
        say("lab down; logs in %s" % lab.run_dir)
    say("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
