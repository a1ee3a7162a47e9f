#!/usr/bin/env python3
"""bench/lab/predict_validate.py's windows (no root, no lab): which model dumps each predicted figure comes from, and
the subtraction of two dumps (histograms and rtt_co_move sums). A wrong window would predict one kind of write from
the models of another, which the bench exists to rule out. raftbgp-predict is replaced by a script that reports the
files it was given."""
import json
import os
import stat
import sys
import tempfile
import types
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "lab"))
import predict_validate as pv  # noqa: E402

# The fake predictor: every figure's p50 is the fsync count of the first model file it got (one per window below),
# so the test can tell which window a figure came from; elections only without --no-election.
FAKE = r'''#!/usr/bin/env python3
import json, sys
a = sys.argv[1:]
files = [a[i + 1] for i, x in enumerate(a) if x == "--model"]
n = json.load(open(files[0]))["fsync_seconds"]["count"]
fig = {"p50": n, "p99": n, "n": 1}
doc = {"leader": 1, "follower": 2, "voters": [1, 2, 3], "notes": [f for f in files],
       "timing": {"commit_seconds": 1.0}, "commit_leader_ms": fig, "commit_follower_ms": fig,
       "propagation_ms": fig, "follower_delay_ms": fig, "visibility": [{"t_ms": 1, "p": n}]}
if "--no-election" not in a:
    doc["election_ms"] = fig
    doc["timing"]["election_seconds"] = 2.0
print(json.dumps(doc))
'''

# Cumulative fsync counts at each dump: each window's difference is distinct.
COUNTS = {"start": 10, "cal-l": 110, "before": 310, "m-l": 1310, "m-f": 3310, "after": 7310}


def hist(count):
    return {"bounds": [0.001, 0.002], "counts": [count // 2, count], "count": count, "sum": count * 0.0015}


def co(pairs):
    return {"gap_upper_seconds": [0.0005, 0.002], "pairs": [pairs, pairs, 0], "sum_x": [1.0, 2.0, 0.0],
            "sum_y": [0.0, 0.0, 0.0], "sum_xx": [pairs, pairs, 0], "sum_yy": [pairs, pairs, 0],
            "sum_xy": [pairs * 0.5, 0.0, 0.0]}


def model(count, role="leader"):
    return {"format": "raftbgp-latency-model/1", "node_id": 1, "role": role, "fsync_seconds": hist(count),
            "peers": {"2": {"append_rtt_seconds": hist(count)}}, "rtt_co_move": co(count), "queued_answers": count}


class Windows(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        fake = os.path.join(self.dir, "fake-predict")
        with open(fake, "w") as f:
            f.write(FAKE)
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IXUSR)
        self.o = types.SimpleNamespace(predict=fake, trials=10, election_trials=10, visibility="1", co_move=None)

    def tearDown(self):
        self.tmp.cleanup()

    def dump(self, tags):
        for t in tags:
            with open(os.path.join(self.dir, "model-%s-r1.json" % t), "w") as f:
                json.dump(model(COUNTS[t]), f)

    def test_minus_subtracts_histograms_and_co_move_sums_and_keeps_the_rest(self):
        d = pv.minus(model(310), model(110))
        self.assertEqual(d["fsync_seconds"]["count"], 200)
        self.assertEqual(d["fsync_seconds"]["counts"], [100, 200])
        self.assertAlmostEqual(d["fsync_seconds"]["sum"], 0.3)
        self.assertEqual(d["peers"]["2"]["append_rtt_seconds"]["count"], 200)
        self.assertEqual(d["rtt_co_move"]["pairs"], [200, 200, 0])
        self.assertEqual(d["rtt_co_move"]["sum_xy"], [100.0, 0.0, 0.0])
        self.assertEqual(d["rtt_co_move"]["gap_upper_seconds"], [0.0005, 0.002])  # bounds, not sums
        self.assertEqual(d["queued_answers"], 310)  # not a histogram: as dumped last
        self.assertEqual(d["role"], "leader")
        # Bins that do not line up (another agent version): the later dump whole, not a wrong difference.
        other = model(110)
        other["rtt_co_move"]["gap_upper_seconds"] = [0.001]
        self.assertEqual(pv.minus(model(310), other)["rtt_co_move"]["pairs"], [310, 310, 0])

    def test_each_figure_comes_from_the_writes_of_its_own_kind(self):
        self.dump(COUNTS)
        before = pv.predict_column(self.o, self.dir, "before", 1, 2, True)
        self.assertEqual(before["commit_leader_ms"]["p50"], 100)      # cal-l - start
        self.assertEqual(before["commit_follower_ms"]["p50"], 200)    # before - cal-l
        self.assertEqual(before["propagation_ms"]["p50"], 100)        # cal-l - start
        self.assertEqual(before["visibility"][0]["p"], 100)
        self.assertEqual(before["election_ms"]["p50"], 310)           # everything before
        during = pv.predict_column(self.o, self.dir, "during", 1, 2, True)
        self.assertEqual(during["commit_leader_ms"]["p50"], 1000)     # m-l - before
        self.assertEqual(during["commit_follower_ms"]["p50"], 2000)   # m-f - m-l
        self.assertEqual(during["propagation_ms"]["p50"], 4000)       # after - m-f
        self.assertEqual(during["election_ms"]["p50"], 7000)          # after - before
        self.assertEqual(during["windows"]["follower"], "m-f - m-l")
        # The difference files are kept beside the dumps, named by column and window.
        self.assertTrue(os.path.exists(os.path.join(self.dir, "model-during-follower-r1.json")))
        # Without elections no election figure, and no election run.
        self.assertNotIn("election_ms", pv.predict_column(self.o, self.dir, "during", 1, 2, False))

    def test_a_run_kept_from_before_the_windows_is_predicted_as_it_was(self):
        self.dump(["before", "after"])
        before = pv.predict_column(self.o, self.dir, "before", 1, 2, True)
        during = pv.predict_column(self.o, self.dir, "during", 1, 2, True)
        for k in ("commit_leader_ms", "commit_follower_ms", "propagation_ms", "election_ms"):
            self.assertEqual(before[k]["p50"], 310, k)
            self.assertEqual(during[k]["p50"], 7000, k)


if __name__ == "__main__":
    unittest.main()
