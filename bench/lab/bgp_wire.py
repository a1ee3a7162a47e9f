#!/usr/bin/env python3
"""BGP UPDATEs on the wire of lab routers, stamped by the kernel (a measuring aid for bench/lab/scale_bench.py).

  wire = Wire({"r1": "ns-of-r1", ...}); wire.start()
  wire.first("r3", "out", "10.255.242.7/32")  # kernel time r3 sent its first announcement of the prefix, or None
  wire.stop()

One AF_PACKET socket per router namespace (opened there with setns(2), then the process returns to its own
namespace; a socket stays in the namespace it was made in) sees every TCP segment to or from port 179 on the
router's links, with the kernel's receive timestamp (SO_TIMESTAMPNS): the moment an UPDATE left the router's
ExaBGP for its transit ("out", i.e. it is in the transit's Adj-RIB-In) or arrived from the transit ("in", i.e.
it reached the router's ExaBGP). Segments are reassembled per TCP flow by sequence number; a gap resets the
flow's buffer and the parser finds the next BGP marker. Announced IPv4 unicast prefixes are taken from the
NLRI field and from MP_REACH_NLRI (AFI 1, SAFI 1); withdrawals are ignored. Only the first sighting of each
(router, direction, prefix) is kept. Needs root.
"""
import ctypes
import os
import select
import socket
import struct
import threading

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35
MARKER = b"\xff" * 16
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns %s" % path)
    finally:
        os.close(fd)


def packet_socket(netns):
    """An AF_PACKET socket in network namespace `netns` (a name under /run/netns)."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        _setns("/run/netns/" + netns)
        try:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setblocking(False)
    return s


def tcp_segment(frame):
    """(src, dst, sport, dport, seq, payload) of an Ethernet frame carrying TCP, else None."""
    if len(frame) < 14:
        return None
    ethertype, off = struct.unpack_from("!H", frame, 12)[0], 14
    if ethertype == 0x8100:  # one VLAN tag
        ethertype, off = struct.unpack_from("!H", frame, 16)[0], 18
    if ethertype == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, off + 2)[0]
        if frame[off + 9] != 6:
            return None
        src, dst, end, off = frame[off + 12:off + 16], frame[off + 16:off + 20], off + total, off + ihl
    elif ethertype == 0x86DD and len(frame) >= off + 40:
        plen = struct.unpack_from("!H", frame, off + 4)[0]
        if frame[off + 6] != 6:  # no extension headers on our links
            return None
        src, dst, end, off = frame[off + 8:off + 24], frame[off + 24:off + 40], off + 40 + plen, off + 40
    else:
        return None
    if len(frame) < off + 20:
        return None
    sport, dport, seq = struct.unpack_from("!HHI", frame, off)
    doff = (frame[off + 12] >> 4) * 4
    return src, dst, sport, dport, seq, frame[off + doff:end]


def prefixes(data):
    """IPv4 prefixes in a run of NLRI (RFC 4271 §4.3) as "a.b.c.d/len"; stops at malformed input."""
    out, i = [], 0
    while i < len(data):
        plen = data[i]
        n = (plen + 7) // 8
        if plen > 32 or i + 1 + n > len(data):
            break
        out.append("%s/%d" % (socket.inet_ntoa(bytes(data[i + 1:i + 1 + n]) + b"\0" * (4 - n)), plen))
        i += 1 + n
    return out


def announced(msg):
    """IPv4 unicast prefixes announced by one BGP UPDATE message (header included)."""
    body = msg[19:]
    if len(body) < 4:
        return []
    wlen = struct.unpack_from("!H", body, 0)[0]
    if 2 + wlen + 2 > len(body):
        return []
    alen = struct.unpack_from("!H", body, 2 + wlen)[0]
    attrs, nlri = body[4 + wlen:4 + wlen + alen], body[4 + wlen + alen:]
    out = prefixes(nlri)
    i = 0
    while i + 3 <= len(attrs):
        flags, code = attrs[i], attrs[i + 1]
        if flags & 0x10:
            if i + 4 > len(attrs):
                break
            ln, hdr = struct.unpack_from("!H", attrs, i + 2)[0], 4
        else:
            ln, hdr = attrs[i + 2], 3
        val = attrs[i + hdr:i + hdr + ln]
        if code == 14 and len(val) >= 5:  # MP_REACH_NLRI
            afi, safi, nhlen = struct.unpack_from("!HBB", val, 0)
            if afi == 1 and safi == 1 and 5 + nhlen <= len(val):
                out += prefixes(val[4 + nhlen + 1:])  # after the next hop, one reserved byte
        i += hdr + ln
    return out


class Flow:
    """One direction of one TCP connection: contiguous bytes not yet parsed."""

    def __init__(self):
        self.next_seq, self.buf = None, b""

    def feed(self, seq, payload):
        if not payload:
            return []
        if self.next_seq is not None and seq != self.next_seq:
            if (seq - self.next_seq) % (1 << 32) > (1 << 31):  # a retransmission of bytes already seen
                return []
            self.buf = b""  # a gap (a segment we did not see): resynchronise on the next marker
        self.next_seq = (seq + len(payload)) % (1 << 32)
        self.buf += payload
        msgs = []
        while True:
            at = self.buf.find(MARKER)
            if at < 0:
                self.buf = self.buf[-15:]
                return msgs
            if len(self.buf) < at + 19:
                self.buf = self.buf[at:]
                return msgs
            length, kind = struct.unpack_from("!HB", self.buf, at + 16)
            if length < 19 or length > 65535:
                self.buf = self.buf[at + 1:]
                continue
            if len(self.buf) < at + length:
                self.buf = self.buf[at:]
                return msgs
            if kind == 2:
                msgs.append(self.buf[at:at + length])
            self.buf = self.buf[at + length:]


class Wire:
    """Kernel-stamped first sightings of announced IPv4 prefixes on each router's BGP sessions."""

    def __init__(self, namespaces, interesting=None):
        """namespaces: {router: netns}; interesting(prefix) -> bool limits what is kept (default: all)."""
        self.namespaces, self.interesting = namespaces, interesting or (lambda p: True)
        self.socks, self.flows, self.seen = {}, {}, {}
        self.lock, self.stopping, self.thread = threading.Lock(), False, None
        self.segments = 0

    def start(self):
        # fd -> (router, socket): the socket objects stay referenced while the thread reads them
        for router, ns in self.namespaces.items():
            s = packet_socket(ns)
            self.socks[s.fileno()] = (router, s)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        if self.thread:
            self.thread.join(timeout=5)
        for _, s in self.socks.values():
            s.close()
        self.socks = {}

    def first(self, router, direction, prefix):
        with self.lock:
            return self.seen.get((router, direction, prefix))

    def _run(self):
        poller = select.poll()
        for fd in self.socks:
            poller.register(fd, select.POLLIN)
        while not self.stopping:
            for fd, _ in poller.poll(100):
                router, s = self.socks[fd]
                for _ in range(256):
                    try:
                        frame, anc, _flags, addr = s.recvmsg(65536, 64)
                    except BlockingIOError:
                        break
                    self._frame(router, frame, anc, addr)

    def _frame(self, router, frame, anc, addr):
        if addr[0] == "lo":
            return
        seg = tcp_segment(frame)
        if seg is None:
            return
        src, dst, sport, dport, seq, payload = seg
        if 179 not in (sport, dport) or not payload:
            return
        self.segments += 1
        stamp = None
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", data[:16])
                stamp = sec + nsec / 1e9
        direction = "out" if addr[2] == PACKET_OUTGOING else "in"
        flow = self.flows.setdefault((router, src, dst, sport, dport), Flow())
        for msg in flow.feed(seq, payload):
            for p in announced(msg):
                if self.interesting(p):
                    with self.lock:
                        self.seen.setdefault((router, direction, p), stamp)
