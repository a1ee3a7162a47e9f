"""A Wing & Gong style linearizability checker for one read/write register (tests/lab/cluster_lab.py).

History: a list of {"op": "w"|"r", "value", "start", "end", "code"}. Writes carry unique values.
- code "ok": the operation took effect exactly once, somewhere in [start, end];
- a write with an UNKNOWN code (timeout, shutting_down, the connection lost after sending) may have taken
  effect at any time after its start, or never: it is optional and has no end;
- any other code (no_leader, not_leader, rejected, stale_sequence, nothing sent) did not take effect: dropped,
  as are reads that failed (a failed read constrains nothing).
The search linearizes one minimal operation at a time (one that started before every pending required
operation ended), memoizing (set of linearized operations, register value); it succeeds when every
required operation is placed.

  python3 tests/lab/linearizability.py history.json [--initial V]   # exit 0 linearizable, 1 not
"""
import json
import sys

UNKNOWN = ("timeout", "shutting_down", "no_answer")
INF = float("inf")


def check_register(history, initial=None, limit=2_000_000):
    ops = []
    for h in history:
        if h["code"] == "ok":
            ops.append((h["start"], h["end"], h["op"], h["value"], True))
        elif h["op"] == "w" and h["code"] in UNKNOWN:
            ops.append((h["start"], INF, "w", h["value"], False))
    ops.sort(key=lambda o: o[0])
    n = len(ops)
    required = sum(1 << i for i, o in enumerate(ops) if o[4])
    seen = set()
    budget = [limit]
    best = [0, None]

    def dfs(done, value):
        if done & required == required:
            return True
        if (done, value) in seen:
            return False
        seen.add((done, value))
        budget[0] -= 1
        if budget[0] < 0:
            raise RuntimeError("search budget exhausted")
        pending = [i for i in range(n) if not done >> i & 1]
        min_end = min((ops[i][1] for i in pending if ops[i][4]), default=INF)
        placed = bin(done & required).count("1")
        if placed > best[0]:
            best[0], best[1] = placed, (value, [ops[i] for i in pending if ops[i][4]][:3])
        for i in pending:
            start, end, kind, v, _req = ops[i]
            if start > min_end:
                break  # ops are sorted by start: no later one may go first
            if kind == "r":
                if v == value and dfs(done | 1 << i, value):
                    return True
            elif dfs(done | 1 << i, v):
                return True
        return False

    sys.setrecursionlimit(max(10000, 4 * n + 100))
    try:
        ok = dfs(0, initial)
    except RuntimeError as e:
        return False, str(e)
    if ok:
        return True, "%d operations, %d required, %d states searched" % (n, bin(required).count("1"), len(seen))
    value, stuck = best[1] or (initial, [])
    return False, "stuck after %d of %d required operations with register=%r; next: %s" % (
        best[0], bin(required).count("1"), value, stuck)


def _selftest():
    ok = [{"op": "w", "value": "a", "start": 0, "end": 1, "code": "ok"},
          {"op": "r", "value": "a", "start": 2, "end": 3, "code": "ok"}]
    assert check_register(ok)[0]
    stale = ok + [{"op": "r", "value": None, "start": 4, "end": 5, "code": "ok"}]
    assert not check_register(stale)[0]
    conc = [{"op": "w", "value": "a", "start": 0, "end": 10, "code": "ok"},
            {"op": "r", "value": "a", "start": 1, "end": 2, "code": "ok"},
            {"op": "r", "value": None, "start": 3, "end": 4, "code": "ok"}]
    assert not check_register(conc)[0]  # once seen, a write cannot be un-seen
    unk = [{"op": "w", "value": "a", "start": 0, "end": 1, "code": "timeout"},
           {"op": "r", "value": "a", "start": 5, "end": 6, "code": "ok"},
           {"op": "w", "value": "b", "start": 7, "end": 8, "code": "timeout"},
           {"op": "r", "value": "a", "start": 9, "end": 10, "code": "ok"}]
    assert check_register(unk)[0]  # unknown writes: possibly applied (a), possibly never (b)
    lost = [{"op": "w", "value": "a", "start": 0, "end": 1, "code": "not_leader"},
            {"op": "r", "value": "a", "start": 5, "end": 6, "code": "ok"}]
    assert not check_register(lost)[0]  # a definitely-not-applied write must never be read


if __name__ == "__main__":
    _selftest()
    if len(sys.argv) > 1:
        init = sys.argv[sys.argv.index("--initial") + 1] if "--initial" in sys.argv else None
        with open(sys.argv[1]) as f:
            good, why = check_register(json.load(f), initial=init)
        print(("linearizable: " if good else "NOT linearizable: ") + why)
        sys.exit(0 if good else 1)
    print("selftest ok")
