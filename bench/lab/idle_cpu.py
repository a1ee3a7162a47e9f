#!/usr/bin/env python3
"""CPU used by every process of a running lab, by program, over a window (a figure, not a test).

  bench/lab/idle_cpu.py NS_PREFIX [SECONDS]      # as root; NS_PREFIX e.g. m32-metro32 (RAFTBGP_LAB_NS_PREFIX-name)

Sums utime + stime (/proc/PID/stat) of every process in the namespaces whose name starts with NS_PREFIX, at the
start and the end of the window, and prints cores used per program (ExaBGP's python counted as `exabgp`) and the
total, as one JSON line. Used for issue 17's idle bar (the whole cluster: agents + ExaBGP + transits).
"""
import json
import os
import subprocess
import sys
import time
from collections import Counter


def namespaces(prefix):
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


def processes(nss):
    procs = {}
    for ns in nss:
        for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
            try:
                with open("/proc/%s/comm" % pid) as f:
                    comm = f.read().strip()
            except OSError:
                continue
            procs[pid] = "exabgp" if comm.startswith("python") or comm == "exabgp" else comm
    return procs


def cpu_ticks(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def measure(prefix, seconds=30.0, skip=None):
    """Cores used per program over `seconds` by the processes of namespaces named prefix*, as a dict
    {seconds, processes, cores: {program: cores}, total_cores}; None when no process is found. skip(pid, ns)
    -> True leaves a process out (e.g. a bench's own probes). Importable: bench/lab/scale_bench.py uses it."""
    procs = {}
    for ns in namespaces(prefix):
        procs.update({pid: name for pid, name in processes([ns]).items() if not (skip and skip(pid, ns))})
    if not procs:
        return None
    start = {pid: cpu_ticks(pid) for pid in procs}
    t0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    hz = os.sysconf("SC_CLK_TCK")
    cores = Counter()
    for pid, name in procs.items():
        end = cpu_ticks(pid)
        if end is not None and start[pid] is not None:
            cores[name] += (end - start[pid]) / hz / elapsed
    return {"seconds": round(elapsed, 1), "processes": len(procs),
            "cores": {k: round(v, 3) for k, v in sorted(cores.items())}, "total_cores": round(sum(cores.values()), 3)}


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().split("\n\n")[1])
        return 2
    prefix, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    r = measure(prefix, seconds)
    if r is None:
        print("no process in namespaces %s*" % prefix, file=sys.stderr)
        return 1
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
