#!/usr/bin/env python3
"""lab/metro-gen (no root needed): N = 32 reproduces the committed lab/metro32 (the generator is the source of
truth); N = 8 and 16 with --probes (bench/lab/scale_bench.py) give 5 voters one or two behind each transit, N/4
routers per transit, an observer `mon` with one link per transit, and only exec lines the runner accepts
(lab ranges, quickack on connected subnets); bad N is refused."""
import importlib.machinery
import importlib.util
import os
import shlex
import subprocess
import sys
import tempfile
import unittest

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GEN = os.path.join(REPO, "lab", "metro-gen")
PROBE = os.path.join(REPO, "bench", "lab", "exabgp_probe.py")
loader = importlib.machinery.SourceFileLoader("clab_netns", os.path.join(REPO, "lab", "clab-netns"))
spec = importlib.util.spec_from_loader("clab_netns", loader)
clab = importlib.util.module_from_spec(spec)
loader.exec_module(clab)


def gen(*args):
    return subprocess.run([sys.executable, GEN] + list(args), capture_output=True, text=True)


def read(path):
    with open(path) as f:
        return f.read()


class MetroGen(unittest.TestCase):
    def test_n32_reproduces_the_committed_metro32(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(gen("32", d).returncode, 0)
            committed = os.path.join(REPO, "lab", "metro32")
            for node in sorted(os.listdir(committed)):
                for name in os.listdir(os.path.join(committed, node)):
                    self.assertEqual(read(os.path.join(d, "metro32", node, name)),
                                     read(os.path.join(committed, node, name)), "%s/%s" % (node, name))
            # outside lab/ the shared star3 files are bound by absolute path; otherwise the same file
            yml = read(os.path.join(d, "metro32.clab.yml")).replace(os.path.join(REPO, "lab", "star3"), "star3")
            self.assertEqual(yml, read(os.path.join(REPO, "lab", "metro32.clab.yml")))
            self.assertFalse(os.path.exists(os.path.join(d, "metro32", "mon")), "no probes unless asked")

    def test_smaller_labs_with_probes_are_well_formed(self):
        for n in (8, 16):
            with tempfile.TemporaryDirectory() as d:
                self.assertEqual(gen(str(n), d, "--probes", PROBE).returncode, 0)
                topo = clab.Topology(os.path.join(d, "metro%d.clab.yml" % n))
                routers = [x for x in topo.nodes if x.startswith("r")]
                self.assertEqual(len(routers), n)
                self.assertEqual(sorted(topo.nodes["mon"].interfaces), ["eth1", "eth2", "eth3", "eth4"])
                for node in topo.nodes.values():
                    for line in node.exec_lines:
                        v = clab.check_exec(shlex.split(line), node)
                        self.assertFalse(v and v.startswith("refused"), "%s: %s: %s" % (node.name, line, v))
                conf = yaml.safe_load(read(os.path.join(d, "metro%d" % n, "r1", "raftbgpd.yaml")))
                per = n // 4
                self.assertEqual(conf["members"], [1, per + 1, 2 * per + 1, 3 * per + 1, 2])
                self.assertEqual(len(conf["learners"]), n - 5)
                self.assertEqual(conf["cluster_id"], n)
                exa = read(os.path.join(d, "metro%d" % n, "r%d" % n, "exabgp.conf"))
                self.assertIn("process inject", exa)
                self.assertIn("processes [ inject ]", exa)  # ExaBGP applies its commands only then
                t4 = read(os.path.join(d, "metro%d" % n, "t4", "bird.conf"))
                self.assertIn("add paths tx", t4)
                self.assertEqual(t4.count("protocol bgp r"), per)

    def test_bad_n_is_refused_and_writes_nothing(self):
        for n in ("6", "36", "10"):
            with tempfile.TemporaryDirectory() as d:
                p = gen(n, d)
                self.assertNotEqual(p.returncode, 0, n)
                self.assertIn("multiple of 4", p.stderr + p.stdout)
                self.assertEqual(os.listdir(d), [])


if __name__ == "__main__":
    unittest.main()
