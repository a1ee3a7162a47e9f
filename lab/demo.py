#!/usr/bin/env python3
"""The demo's lab part (lab/demo builds first, then runs this): star3, a policy written on a follower, a leader
kill, a second policy on the survivors. Every step prints the command a user would type and its output.

  lab/demo.py --bin-dir build/agent [--keep]
"""
import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labkit import Failed, Lab, wait_until  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FILE = os.path.join(REPO, "lab", "star3.clab.yml")
REL = os.path.relpath(FILE, os.getcwd()) if os.getcwd().startswith(REPO) else FILE
P1, P2 = "10.255.100.0/24", "10.255.101.0/24"
T0 = time.monotonic()


def banner(msg):
    print("\n=== [%5.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def show(lab, node, *cmd):
    print("$ lab/clab-netns exec %s %s %s" % (REL, node, " ".join(cmd)), flush=True)
    rc, out, err = lab.exec(node, *cmd)
    sys.stdout.write(out + err)
    if rc != 0:
        print("(exit %d)" % rc)
    return rc, out


def bird_paths(lab, prefix):
    return lab.rib_paths("t", prefix)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--keep", action="store_true")
    o = ap.parse_args()
    lab = Lab(FILE, [o.bin_dir], quiet=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ok = False
    try:
        banner("bringing up star3: r1, r2, r3 (ExaBGP + raftbgpd) around the BIRD transit t")
        print("$ lab/clab-netns up %s --bin-dir %s" % (REL, o.bin_dir))
        lab.up(wait=40)
        leader = lab.wait_leader(timeout=30)
        banner("leader elected: %s (the routers have no IP route to each other; Raft runs over BGP)" % leader)
        follower = next(n for n in sorted(lab.routers) if n != leader)

        banner("route policy written on the FOLLOWER %s: announce %s from every router" % (follower, P1))
        show(lab, follower, "raftbgpctl", "policy", "add", P1, "--community", "65000:100", "--med", "10")
        wait_until("BIRD to hold %s from all three routers" % P1, lambda: len(bird_paths(lab, P1)) >= 3, 20)
        for n in sorted(lab.routers):
            show(lab, n, "raftbgpctl", "status")
        banner("BIRD's table: %s announced by r1 (AS 65001), r2 (AS 65002) and r3 (AS 65003)" % P1)
        show(lab, "t", "birdc", "show", "route", "for", P1, "all")

        banner("killing the leader %s (ExaBGP and its raftbgpd)" % leader)
        print("$ lab/clab-netns kill %s %s" % (REL, leader))
        t_kill = time.monotonic()
        lab.clab("kill", FILE, leader)
        survivors = [n for n in sorted(lab.routers) if n != leader]
        new = lab.wait_leader(survivors, timeout=30)
        banner("new leader: %s, %.1f s after the kill" % (new, time.monotonic() - t_kill))
        for n in survivors:
            show(lab, n, "raftbgpctl", "status")

        writer = next(n for n in survivors if n != new)
        banner("second policy change on %s (a follower): announce %s" % (writer, P2))
        show(lab, writer, "raftbgpctl", "policy", "add", P2, "--community", "65000:101")
        wait_until("BIRD to hold %s from both survivors" % P2, lambda: len(bird_paths(lab, P2)) >= 2, 20)
        show(lab, new, "raftbgpctl", "policy", "show")
        banner("BIRD's table: %s from the two survivors; %s only from them now" % (P2, P1))
        show(lab, "t", "birdc", "show", "route", "for", P2)
        show(lab, "t", "birdc", "show", "route", "for", P1)
        ok = True
    except Failed as e:
        print("lab/demo: FAILED: %s (logs: %s)" % (e, lab.run_dir), file=sys.stderr)
    finally:
        if o.keep and ok:
            print("\nlab/demo: star3 is still up (%s is down): try `lab/clab-netns exec %s %s raftbgpctl status` "
                  "or `lab/clab-netns start %s %s`; stop it with `lab/clab-netns down %s`" %
                  (leader, REL, new, REL, leader, REL))
        else:
            banner("tearing down")
            lab.down()
    banner("done" if ok else "failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
