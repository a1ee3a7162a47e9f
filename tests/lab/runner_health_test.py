#!/usr/bin/env python3
"""lab/clab-netns --runtime docker: a node's containerlab `healthcheck` becomes `docker run`'s --health-* options
(containerlab's schema: test, interval, timeout, retries, start-period in seconds), so the image's health verb
really runs; a malformed one is refused before anything is created. No root, no Docker."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clab_module import REPO, clab  # noqa: E402


def node(healthcheck):
    spec = {"kind": "linux", "labels": {"raftbgp.role": "host"}}
    if healthcheck is not None:
        spec["healthcheck"] = healthcheck
    return clab.Node("r1", spec, REPO)


class HealthArgs(unittest.TestCase):
    def test_star3_routers_run_the_health_verb_with_every_timing(self):
        topo = clab.Topology(os.path.join(REPO, "lab", "star3.clab.yml"))
        for name in ("r1", "r2", "r3"):
            self.assertEqual(clab.health_args(topo.nodes[name]),
                             ["--health-cmd", "raftbgpctl health", "--health-interval", "10s",
                              "--health-timeout", "5s", "--health-start-period", "30s", "--health-retries", "3"])
        self.assertEqual(clab.health_args(topo.nodes["t"]), [], "no healthcheck, no options")

    def test_every_shipped_topology_builds_its_options(self):
        for f in sorted(os.listdir(os.path.join(REPO, "lab"))):
            if f.endswith(".clab.yml"):
                topo = clab.Topology(os.path.join(REPO, "lab", f))
                for n in topo.nodes.values():
                    args = clab.health_args(n)
                    if n.config_bind(("raftbgpd.yaml",)):  # a router running the agent
                        self.assertIn("--health-cmd", args, "%s %s" % (f, n.name))

    def test_cmd_arguments_are_shell_quoted_and_cmd_shell_is_passed_as_is(self):
        self.assertEqual(clab.health_args(node({"test": ["CMD", "raftbgpctl", "health", "--max-lag", "5 0"]})),
                         ["--health-cmd", "raftbgpctl health --max-lag '5 0'"])
        self.assertEqual(clab.health_args(node({"test": ["CMD-SHELL", "raftbgpctl health || exit 1"]})),
                         ["--health-cmd", "raftbgpctl health || exit 1"])
        self.assertEqual(clab.health_args(node({"test": ["NONE"]})), ["--no-healthcheck"])
        self.assertEqual(clab.health_args(node(None)), [])

    def test_malformed_healthchecks_are_refused_with_the_node_named(self):
        for hc, why in (([], "mapping"), ({"test": "raftbgpctl health"}, "list of strings"),
                        ({"test": []}, "list of strings"), ({"test": ["CMD"]}, "[CMD, prog"),
                        ({"test": ["CMD-SHELL", "a", "b"]}, "[CMD, prog"), ({"test": ["SH", "x"]}, "[CMD, prog"),
                        ({"test": ["CMD", "x"], "interval": "10s"}, "interval"),
                        ({"test": ["CMD", "x"], "retries": -1}, "retries"),
                        ({"test": ["CMD", "x"], "timeout": True}, "timeout"),
                        ({"test": ["CMD", "x"], "start_period": 3}, "unknown key")):
            with self.assertRaises(clab.LabError, msg=repr(hc)) as cm:
                clab.health_args(node(hc))
            self.assertIn("r1", str(cm.exception))
            self.assertIn(why, str(cm.exception), repr(hc))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=1)
