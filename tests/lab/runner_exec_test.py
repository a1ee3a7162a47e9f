#!/usr/bin/env python3
"""lab/clab-netns's exec-line policy (no root needed): which containerlab `exec:` lines the netns runner runs.

Addresses inside the lab ranges and forwarding-off sysctls run; a route change that only sets attributes of
the node's own connected subnet (quickack) runs after the links are up; anything that could give a router a
path to another (a route with a gateway, a new route, another node's subnet, forwarding on) is refused, and
`up` fails before it creates anything."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clab_module import REPO, clab  # noqa: E402


def node(lines):
    n = clab.Node("r1", {"kind": "linux", "labels": {"raftbgp.role": "host"}, "exec": lines}, REPO)
    n.interfaces = ["eth1"]
    return n


ADDRS = ["ip addr add 10.255.11.1/30 dev eth1", "ip -6 addr add fd00:255:11::1/64 dev eth1 nodad"]


class ExecPolicy(unittest.TestCase):
    def verdict(self, line):
        return clab.check_exec(line.split(), node(ADDRS + [line]))

    def test_addresses_and_forwarding_off_run(self):
        for line in ADDRS + ["sysctl -w net.ipv4.ip_forward=0"]:
            self.assertIsNone(self.verdict(line), line)
            self.assertFalse(clab.is_route_change(line.split()), line)

    def test_quickack_on_own_connected_subnet_runs_after_links_are_up(self):
        for line in ("ip route change 10.255.11.0/30 dev eth1 proto kernel scope link src 10.255.11.1 quickack 1",
                     "ip -6 route change fd00:255:11::/64 dev eth1 proto kernel metric 256 quickack 1",
                     "ip route replace 10.255.11.0/30 dev eth1 quickack 1"):
            self.assertIsNone(self.verdict(line), line)
            self.assertTrue(clab.is_route_change(line.split()), line)

    def test_anything_that_could_reach_another_router_is_refused(self):
        for line, why in (("ip route change 10.255.12.0/30 dev eth1 quickack 1", "not a connected subnet"),
                          ("ip route change 10.255.11.0/30 via 10.255.11.2 dev eth1", "routes are not allowed"),
                          ("ip route change 10.255.11.0/30 dev eth9 quickack 1", "no interface"),
                          ("ip route change 10.255.0.0/16 dev eth1 quickack 1", "not a connected subnet"),
                          ("ip route change default dev eth1", "needs a prefix"),
                          ("ip route add 10.255.12.0/30 dev eth1", "routes are not allowed"),
                          ("ip addr add 192.0.2.1/24 dev eth1", "outside the lab ranges"),
                          ("sysctl -w net.ipv4.ip_forward=1", "forwarding stays off")):
            v = self.verdict(line)
            self.assertIsNotNone(v, line)
            self.assertTrue(v.startswith("refused") and why in v, "%s: %s" % (line, v))

    def test_the_shipped_topologies_pass(self):
        for name in ("star3", "star3-frr", "ring5", "ring5-admin"):
            topo = clab.Topology(os.path.join(REPO, "lab", "%s.clab.yml" % name))
            changes = 0
            for n in topo.nodes.values():
                for line in n.exec_lines:
                    v = clab.check_exec(line.split(), n)
                    self.assertFalse(v and v.startswith("refused"), "%s %s: %s: %s" % (name, n.name, line, v))
                    changes += clab.is_route_change(line.split())
            # quickack, IPv4 and IPv6, on both ends of every router's transit link
            self.assertEqual(changes, 4 * len([n for n in topo.nodes.values() if n.role == "router"]), name)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=1)
