#!/usr/bin/env python3
"""bench/lab/bgp_wire.py's parsing (no root needed): the scale bench's propagation figure rests on it, so a wrong
parse would time the wrong UPDATE. Built frames: IPv4 and IPv6 Ethernet/TCP, UPDATEs announcing in the NLRI field
and in MP_REACH_NLRI, withdrawals (ignored), a message split over segments, two in one segment, a retransmitted
segment (ignored), a lost segment (resynchronised on the next marker), and malformed input (never an exception)."""
import os
import socket
import struct
import sys
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "lab"))
import bgp_wire  # noqa: E402

ORIGIN_ASPATH = bytes([0x40, 1, 1, 0]) + bytes([0x40, 2, 0])


def nlri(*prefixes):
    out = b""
    for p in prefixes:
        addr, plen = p.split("/")
        plen = int(plen)
        out += bytes([plen]) + socket.inet_aton(addr)[:(plen + 7) // 8]
    return out


def update(announce=(), withdraw=(), attrs=ORIGIN_ASPATH):
    w = nlri(*withdraw)
    body = struct.pack("!H", len(w)) + w + struct.pack("!H", len(attrs)) + attrs + nlri(*announce)
    return bgp_wire.MARKER + struct.pack("!HB", 19 + len(body), 2) + body


def mp_reach(*prefixes):
    val = struct.pack("!HBB", 1, 1, 4) + socket.inet_aton("192.0.2.1") + b"\0" + nlri(*prefixes)
    return ORIGIN_ASPATH + bytes([0x90, 14]) + struct.pack("!H", len(val)) + val  # extended length


def keepalive():
    return bgp_wire.MARKER + struct.pack("!HB", 19, 4)


def frame(payload, seq=1000, v6=False, sport=40000, dport=179):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x18, 65535, 0, 0)
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, len(tcp) + len(payload), 6, 64) + b"\x20\x01" + b"\0" * 14 + \
            b"\x20\x01" + b"\0" * 13 + b"\x02"
        eth = b"\0" * 12 + struct.pack("!H", 0x86DD)
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                         socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2"))
        eth = b"\0" * 12 + struct.pack("!H", 0x0800)
    return eth + ip + tcp + payload + b"\0" * 4  # Ethernet padding after the IP packet is not payload


class Parse(unittest.TestCase):
    def test_nlri_and_mp_reach_announcements_withdrawals_ignored(self):
        self.assertEqual(bgp_wire.announced(update(["10.255.242.7/32", "10.1.0.0/16"])),
                         ["10.255.242.7/32", "10.1.0.0/16"])
        self.assertEqual(bgp_wire.announced(update(withdraw=["10.255.242.7/32"])), [])
        self.assertEqual(bgp_wire.announced(update(attrs=mp_reach("10.255.241.3/32"))), ["10.255.241.3/32"])

    def test_malformed_updates_yield_what_parses_and_never_raise(self):
        good = update(["10.0.0.0/8"])
        for bad in (good[:20], good[:-1], bgp_wire.MARKER + struct.pack("!HB", 23, 2) + b"\xff\xff\0\0",
                    update(["10.0.0.0/8"]) [:-2] + bytes([40, 1])):
            self.assertIsInstance(bgp_wire.announced(bad), list)
        self.assertEqual(bgp_wire.prefixes(bytes([33, 1, 2, 3, 4, 5])), [], "a /33 is not IPv4")

    def test_tcp_segment_of_ipv4_and_ipv6_frames(self):
        for v6 in (False, True):
            seg = bgp_wire.tcp_segment(frame(b"abc", seq=7, v6=v6))
            self.assertEqual(seg[2:], (40000, 179, 7, b"abc"), "v6" if v6 else "v4")
        self.assertIsNone(bgp_wire.tcp_segment(b"\0" * 10))


class Reassembly(unittest.TestCase):
    def test_split_joined_retransmitted_and_lost_segments(self):
        a, b = update(["10.0.0.1/32"]), update(["10.0.0.2/32"])
        f = bgp_wire.Flow()
        self.assertEqual(f.feed(100, a[:10]), [])
        self.assertEqual(f.feed(110, a[10:] + keepalive() + b), [a, b], "completed, then a keepalive skipped")
        n = 110 + len(a) - 10 + 19 + len(b)
        self.assertEqual(f.feed(100, a), [], "a retransmission of bytes already seen")
        c, d = update(["10.0.0.3/32"]), update(["10.0.0.4/32"])
        self.assertEqual(f.feed(n + 5, c[5:] + d), [d], "after a lost segment: resynchronised on the next marker")


if __name__ == "__main__":
    unittest.main()
