#!/usr/bin/env python3
"""ExaBGP API processes for bench/lab/scale_bench.py (`lab/metro-gen N OUTDIR --probes` wires them in).

  probe.py relay FIFO      in every router's ExaBGP, beside raftbgpd: each line written to FIFO (created if
                           missing) is copied to stdout, i.e. it is an ExaBGP command ("announce route ...").
                           Plain BGP routes through the router's own ExaBGP and its transit, never through Raft.
  probe.py observe FILE    in the observer's ExaBGP (node mon, ADD-PATH receive from every transit): appends one
                           JSON line per IPv4 route announced or withdrawn to FILE, stamped with time.time() when
                           the line arrived from ExaBGP: {"t", "peer", "prefix", "path_id", "as_path", "withdraw"}.

ExaBGP acknowledges each command on our stdin ("done"; api.ack is on in the labs): both modes drain stdin so
ExaBGP never blocks writing to us, and exit when ExaBGP closes it.
"""
import json
import os
import sys
import threading
import time


def drain_then_exit():
    for _ in sys.stdin:
        pass
    os._exit(0)


def relay(fifo):
    if not os.path.exists(fifo):
        os.mkfifo(fifo, 0o600)
    threading.Thread(target=drain_then_exit, daemon=True).start()
    fd = os.open(fifo, os.O_RDWR)  # our own writer end: never EOF when a writer closes
    buf = b""
    while True:
        buf += os.read(fd, 65536)
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line.strip():
                sys.stdout.write(line.decode() + "\n")
        sys.stdout.flush()


def updates(msg):
    """[(peer, prefix, path_id, as_path, withdraw)] of one ExaBGP JSON message."""
    if msg.get("type") != "update":
        return []
    peer = msg["neighbor"]["address"]["peer"]
    upd = msg["neighbor"].get("message", {}).get("update")  # no "update": an End-of-RIB marker
    if not upd:
        return []
    as_path = [int(a) for a in (upd.get("attribute") or {}).get("as-path") or []]
    out = []
    for kind, withdraw in (("announce", False), ("withdraw", True)):
        for family, v in (upd.get(kind) or {}).items():
            if family != "ipv4 unicast":
                continue
            nlris = [n for nh in v.values() for n in nh] if not withdraw else v
            for n in nlris:
                if isinstance(n, dict):
                    out.append((peer, n.get("nlri"), n.get("path-information"), as_path, withdraw))
    return out


def observe(path):
    with open(path, "a") as f:
        for line in sys.stdin:
            t = time.time()
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            for peer, prefix, pid, as_path, withdraw in updates(msg):
                f.write(json.dumps({"t": t, "peer": peer, "prefix": prefix, "path_id": pid, "as_path": as_path,
                                    "withdraw": withdraw}) + "\n")
            f.flush()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("relay", "observe"):
        sys.exit(__doc__.strip().split("\n\n")[0])
    (relay if sys.argv[1] == "relay" else observe)(sys.argv[2])
