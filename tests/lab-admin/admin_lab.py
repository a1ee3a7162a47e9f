#!/usr/bin/env python3
"""Membership changes, leadership transfer and catch-up by snapshot on lab/ring5-admin, label `lab`.

  admin_lab.py SCENARIO --bin-dir DIR [--run-root DIR] [--ns-prefix P] [--deadline S]

ring5-admin = ring5 (r1..r5 on a ring of BIRD/FRR/GoBGP transits) + r6 on t1, whose raftbgpd starts with
`joining: true` (no member), every router compacting its log after 50 entries. Each run brings the lab up under
a unique namespace prefix (ra<pid mod 10000>) and run dir, runs one scenario, and always brings it down (finally
+ SIGALRM/SIGTERM) within --deadline (default 170 s). Exit 77 (CTest SKIP) when not root or without `ip netns`.

Scenarios (assertions in the docstrings): membership, transfer, snapshot_catchup.
"""
import argparse
import base64
import json
import os
import re
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
from labkit import (Failed, Lab, agree, check, kv_items, lab_unavailable, must_put, put,  # noqa: E402
                    run_scenario, wait_until)

SKIP = 77
ORIG = ["r1", "r2", "r3", "r4", "r5"]


def ctl_retry(lab, node, *args, timeout=30):
    """raftbgpctl, retried while it exits 4 (conf_change_pending / not_ready / no_leader: nothing applied)."""
    deadline = time.monotonic() + timeout
    while True:
        rc, out, err = lab.ctl(node, *args, timeout=30)
        if rc != 4 or time.monotonic() > deadline:
            return rc, out, err
        time.sleep(0.5)


def members_json(lab, node):
    rc, out, err = lab.ctl(node, "members", "--json", timeout=30)
    if rc != 0:
        raise Failed("%s: raftbgpctl members --json exit %d: %s" % (node, rc, (out + err).strip()))
    return json.loads(out)


def conf(lab, node):
    s = lab.status(node)
    return (sorted(s["voters"]), sorted(s["learners"])) if s else None


# ---------------------------------------------------------------------------------------------- scenarios

def membership(lab):
    """r6 (joining) is no member; `members add 6 --learner` (on a follower) makes it a learner that gets the
    log; `members promote 6` makes it the sixth voter. Its vote counts: with the leader and one more of the
    original five stopped (4 of 6 voters alive, quorum 4), a new leader is elected and writes commit, which
    needs r6's vote and r6's acknowledgements; with a third stopped (3 of 6) a write does not commit. Then
    `members remove` one original: every remaining router's `members --json` drops it, the term stays the
    same while the removed router still runs (no disruption), and writes commit without it."""
    leader = lab.wait_leader(ORIG, timeout=40)
    m6 = members_json(lab, "r6")
    check(6 not in m6["voters"] and 6 not in m6["learners"] and m6["bootstrap"] == [1, 2, 3, 4, 5],
          "r6 starts as a non-member (voters %s, learners %s, bootstrap %s)" % (m6["voters"], m6["learners"],
                                                                               m6["bootstrap"]))
    for i in range(1, 6):
        must_put(lab, leader, "pre%d" % i, "v%d" % i, "mem", i, timeout=20)
    f = next(n for n in ORIG if n != leader)
    t0 = time.monotonic()
    rc, out, err = ctl_retry(lab, f, "members", "add", "6", "--learner")
    check(rc == 0, "raftbgpctl members add 6 --learner on follower %s: exit 0 (%s)" % (f, (out + err).strip()))
    wait_until("every router to see r6 as a learner",
               lambda: all(conf(lab, n) == ([1, 2, 3, 4, 5], [6]) for n in ORIG + ["r6"]), 20)
    check(True, "voters [1..5], learners [6] on r1..r6")

    def caught_up():
        ls, s6 = lab.status(leader), lab.status("r6")
        if not ls or not s6:
            return None
        m = next((x for x in ls["members"] if x["id"] == 6), None)
        return (m, s6) if m and m["match"] >= ls["commit"] - 1 and s6["applied"] >= ls["commit"] - 1 else None
    m, s6 = wait_until("r6 (learner) to get the log", caught_up, 30)
    check((kv_items(lab, "r6") or {}).get("pre5") == "v5",
          "learner r6 has the log %.1f s after add (match %d, applied %d; kv pre1..pre5 there)" %
          (time.monotonic() - t0, m["match"], s6["applied"]))
    rc, out, err = ctl_retry(lab, leader, "members", "promote", "6")
    check(rc == 0, "raftbgpctl members promote 6: exit 0 (%s)" % (out + err).strip())
    wait_until("every router to see six voters",
               lambda: all(conf(lab, n) == ([1, 2, 3, 4, 5, 6], []) for n in ORIG + ["r6"]), 20)
    mj = members_json(lab, "r3")
    check(sorted(mj["voters"]) == [1, 2, 3, 4, 5, 6], "members --json on r3: voters %s" % mj["voters"])

    # r6's vote: stop the leader and one more original. 4 of 6 voters remain; quorum is 4.
    other = next(n for n in ORIG if n not in (leader, f))
    down = [leader, other]
    for n in down:
        lab.kill(n)
    alive = [n for n in ORIG if n not in down] + ["r6"]
    t0 = time.monotonic()
    new = lab.wait_leader(alive, timeout=40)
    st = {n: lab.status(n) for n in alive}
    check(new != leader, "with %s stopped, %s elected by 4 of 6 voters in %.1f s (term %d): r6's vote was needed" %
          (",".join(down), new, time.monotonic() - t0, st[new]["term"]))
    for i, n in enumerate(alive):
        must_put(lab, n, "quorum4-%s" % n, str(i), "mem", 10 + i, timeout=20)
    s6 = lab.status("r6")
    check(s6["applied"] >= lab.status(new)["commit"] - 1,
          "writes on %s commit with 4 of 6 (r6 applied %d)" % (",".join(alive), s6["applied"]))
    # a third down: 3 of 6 voters, no quorum
    third = next(n for n in alive if n not in (new, "r6"))
    lab.kill(third)
    r = put(lab, new, "no-quorum", "x", "mem", 20, timeout_ms=4000)
    check(not r.get("ok"), "with %s also stopped (3 of 6 voters), a write on %s does not commit: %s" %
          (third, new, (r.get("error") or {}).get("code")))
    for n in down + [third]:
        lab.start(n)
    ldr = lab.wait_leader(ORIG + ["r6"], timeout=40)
    agree(lab, ORIG + ["r6"], timeout=40)

    # remove one original (a follower) while it keeps running
    gone = next(n for n in ORIG if n != ldr)
    gid = lab.routers[gone]
    rc, out, err = ctl_retry(lab, "r6", "members", "remove", str(gid))
    check(rc == 0, "raftbgpctl members remove %d on r6 (forwarded to leader %s): exit 0 (%s)" %
          (gid, ldr, (out + err).strip()))
    rest = [n for n in ORIG + ["r6"] if n != gone]
    want = sorted(lab.routers[n] for n in rest)
    wait_until("every remaining router to drop %s" % gone, lambda: all(
        (lambda m: sorted(m["voters"]) == want and gid not in m["learners"])(members_json(lab, n)) for n in rest), 20)
    check(True, "members --json on %s: voters %s, %d neither voter nor learner" % (",".join(rest), want, gid))
    term = lab.status(ldr)["term"]
    for i, n in enumerate(rest):
        must_put(lab, n, "after-remove-%s" % n, str(i), "mem", 30 + i, timeout=20)
    time.sleep(3)
    lt = lab.leader(rest)
    check(lt == ldr and lab.status(ldr)["term"] == term,
          "writes commit on %s without %s; leader %s, term %d unchanged while the removed %s runs" %
          (",".join(rest), gone, lt, term, gone))
    items = agree(lab, rest, timeout=30)
    g = kv_items(lab, gone)
    check(not g or "after-remove-r6" not in g,
          "the removed %s does not get the later writes (its kv.list: %s)" % (
              gone, "no answer" if g is None else "%d items" % len(g)))


def transfer(lab):
    """`raftbgpctl transfer-leader ID`, run on a third router (forwarded), moves leadership to ID: exit 0 and
    every router's status names ID, which is the only `leader`; writes on the old leader and the new commit.
    Done twice (two different targets, over different transits)."""
    lab.kill("r6")  # not used here: save the CPU
    seq = 1
    for rnd in range(2):
        old = lab.wait_leader(ORIG, timeout=40)
        target = next(n for n in ["r3", "r5", "r2", "r4", "r1"] if n != old and (rnd == 0 or n != "r3"))
        via = next(n for n in ORIG if n not in (old, target))
        t0 = time.monotonic()
        rc, out, err = ctl_retry(lab, via, "transfer-leader", str(lab.routers[target]))
        dt = time.monotonic() - t0
        check(rc == 0, "transfer-leader %d on %s (leader %s): exit 0 in %.2f s (%s)" %
              (lab.routers[target], via, old, dt, (out + err).strip()))
        st = wait_until("every router to name %s" % target, lambda: (lambda s: s if all(
            x and x["leader"] == lab.routers[target] for x in s.values()) else None)(
            {n: lab.status(n) for n in ORIG}), 10)
        roles = {n: s["role"] for n, s in st.items()}
        check([n for n, r in roles.items() if r == "leader"] == [target],
              "status on r1..r5: leader %d, terms %s, roles %s" % (lab.routers[target],
                                                                 sorted({s["term"] for s in st.values()}), roles))
        for n in (old, target):
            must_put(lab, n, "t%d-%s" % (rnd, n), "x", "tr", seq, timeout=20)
            seq += 1
        check(True, "writes on old leader %s and new leader %s commit" % (old, target))
    agree(lab, ORIG, timeout=30)


def snapshot_catchup(lab):
    """A follower is stopped (ExaBGP and agent: nothing respawns it); 120 writes of ~700 B compact the others'
    logs (status: snapshot.last_index > 0, first_index past the stopped node's last index); started again it
    catches up by the leader's snapshot: its status counts an installed snapshot, its kv store equals the
    leader's, and its transport counters show many more accepted frames than delivered messages (the
    snapshot's 16 KiB chunks travelled, compressed, as ~2.9 KB BGP fragments and were reassembled)."""
    lab.kill("r6")  # not used here: save the CPU
    leader = lab.wait_leader(ORIG, timeout=40)
    f = next(n for n in ["r4", "r2", "r3", "r5", "r1"] if n != leader)
    for i in range(5):
        must_put(lab, leader, "early%d" % i, "e%d" % i, "sc", i + 1, timeout=20)
    wait_until("%s to apply the early writes" % f,
               lambda: (lab.status(f) or {}).get("applied", 0) >= lab.status(leader)["commit"], 10)
    sf = lab.status(f)
    lab.kill(f)
    check(lab.status(f) is None, "%s stopped (ExaBGP + raftbgpd) at last index %d" % (f, sf["last_index"]))
    rest = [n for n in ORIG if n != leader and n != f]
    errors = []

    def writer(w):
        try:
            for j in range(15):
                # Random text: compression (frame v3) takes at most a quarter off, so the chunks stay multi-fragment.
                must_put(lab, leader, "bulk-%d-%02d" % (w, j),
                         ("%d.%d:" % (w, j)) + base64.b64encode(os.urandom(525)).decode(), "sc-w%d" % w, j + 1,
                         timeout=20)
        except Failed as e:
            errors.append(str(e))
    t0 = time.monotonic()
    ths = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(90)
    check(not errors, "120 writes of 700 B committed on %s in %.1f s" % (leader, time.monotonic() - t0))
    snaps = wait_until("the others' logs to be compacted past %s's last index" % f, lambda: (lambda s: s if all(
        x and x["snapshot"]["last_index"] > 0 and x["first_index"] > sf["last_index"] + 1 for x in s.values())
        else None)({n: lab.status(n) for n in [leader] + rest}), 20)
    check(True, "compacted: %s" % ", ".join("%s snapshot.last_index %d first_index %d taken %d" % (
        n, s["snapshot"]["last_index"], s["first_index"], s["snapshot"]["taken"]) for n, s in snaps.items()))
    t0 = time.monotonic()
    lab.start(f)
    target = lab.status(leader)["commit"]
    s = wait_until("%s to install a snapshot and apply index %d" % (f, target), lambda: (lambda x: x if x and
                   x["snapshot"]["installed"] >= 1 and x["applied"] >= target else None)(lab.status(f)), 90, every=0.5)
    check(True, "%s caught up in %.1f s: snapshot.installed %d, snapshot.last_index %d, applied %d >= %d" %
          (f, time.monotonic() - t0, s["snapshot"]["installed"], s["snapshot"]["last_index"], s["applied"], target))
    lk, fk = kv_items(lab, leader), kv_items(lab, f)
    check(lk is not None and lk == fk and len(lk) >= 125,
          "%s's kv store equals leader %s's (%d keys, values included)" % (f, leader, len(lk or {})))
    with open(os.path.join(lab.run_dir, f, "exabgp.out"), errors="replace") as fh:
        inst = [l.strip() for l in fh if "installed the leader's snapshot" in l]
    check(inst, "%s's log: %s" % (f, inst[-1] if inst else "no 'installed the leader's snapshot' line"))
    nbytes = int(re.search(r"\((\d+) bytes\)", inst[-1]).group(1))
    t = lab.status(f)["transport"]
    # Own echoes (FRR reflects our routes) are rejected before they count as received (transport.cc receive_frame).
    accepted = t["frames_received"] - (t["rejected_total"] - t["rejected"].get("own_echo", 0))
    extra = accepted - t["messages_delivered"] - t["fragment_duplicates"]
    need = nbytes // 8000  # a chunk deflated by up to half still needs this many continuation fragments
    check(nbytes > 3 * 2900 and extra >= need,
          "%s transport since restart: %d frames accepted (%d received, %d rejected %s), %d messages delivered, "
          "%d duplicates: %d continuation fragments >= %d for a %d-byte snapshot (> %d B budget per frame)" %
          (f, accepted, t["frames_received"], t["rejected_total"], {k: v for k, v in t["rejected"].items() if v},
           t["messages_delivered"], t["fragment_duplicates"], extra, need, nbytes, 2900))
    must_put(lab, f, "after-catchup", "1", "sc", 100, timeout=20)
    agree(lab, ORIG, timeout=30)


SCENARIOS = {"membership": membership, "transfer": transfer, "snapshot_catchup": snapshot_catchup}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--bin-dir", action="append", required=True)
    ap.add_argument("--run-root", default=None)
    ap.add_argument("--ns-prefix", default="ra%d" % (os.getpid() % 10000))
    ap.add_argument("--deadline", type=int, default=170)
    o = ap.parse_args()
    why = lab_unavailable(("exabgp", "bird", "gobgpd"))
    if why:
        print("SKIP: " + why)
        return SKIP
    run_root = os.path.join(os.path.abspath(o.run_root or os.path.join(REPO, "lab", "run")), "admin-" + o.scenario)
    lab = Lab(os.path.join(REPO, "lab", "ring5-admin.clab.yml"), o.bin_dir, run_root=run_root, ns_prefix=o.ns_prefix)
    return run_scenario(lab, o.scenario, SCENARIOS[o.scenario], o.deadline)


if __name__ == "__main__":
    sys.exit(main())
