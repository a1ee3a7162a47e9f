"""adminkit: the few lab helpers tests/lab-admin and bench/lab/readindex_bench.py need.

Copied (and trimmed) from lab/labkit.py, which another engineer owns, so these tests do not break when it
changes: the runner (lab/clab-netns) calls, the control socket's newline-JSON client (README "Agent"), the
leader as every router sees it. `Conn` keeps one control-socket connection open for many requests (the bench).
"""
import json
import os
import socket
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CLAB = os.path.join(REPO, "lab", "clab-netns")
T0 = time.monotonic()


class Failed(Exception):
    pass


def say(msg):
    print("[%6.2fs] %s" % (time.monotonic() - T0, msg), flush=True)


def wait_until(what, pred, timeout, every=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failed("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(every)


def check(cond, msg):
    if not cond:
        raise Failed(msg)
    say("ok: " + msg)


def request(sock_path, op, args=None, client_id=None, seq=None, timeout_ms=3000):
    """One request on a fresh connection; {"ok": False, "error": {"code": "unreachable"|"no_answer"}} when the
    socket cannot be reached (nothing sent) or gives no answer (outcome unknown)."""
    c = Conn(sock_path, timeout_ms / 1000 + 1.5)
    try:
        return c.call(op, args, client_id, seq, timeout_ms)
    finally:
        c.close()


class Conn:
    """A persistent control-socket connection: one JSON line out, one JSON line back, repeatedly."""

    def __init__(self, sock_path, timeout_s=10):
        self.path, self.timeout_s, self.s, self.buf, self.n = sock_path, timeout_s, None, b"", 0

    def close(self):
        if self.s:
            self.s.close()
        self.s, self.buf = None, b""

    def call(self, op, args=None, client_id=None, seq=None, timeout_ms=3000):
        self.n += 1
        req = {"id": self.n, "op": op, "args": args or {}, "timeout_ms": timeout_ms}
        if client_id is not None:
            req["client_id"], req["seq"] = client_id, seq
        if self.s is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout_s)
            try:
                s.connect(self.path)
            except OSError as e:
                s.close()
                return {"ok": False, "error": {"code": "unreachable", "message": str(e)}}
            self.s = s
        try:
            self.s.sendall((json.dumps(req) + "\n").encode())
            while b"\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    self.close()
                    return {"ok": False, "error": {"code": "no_answer", "message": "closed"}}
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            return json.loads(line)
        except (OSError, ValueError) as e:
            self.close()
            return {"ok": False, "error": {"code": "no_answer", "message": str(e)}}


class Lab:
    def __init__(self, file, bin_dirs, run_root=None, ns_prefix=None):
        import yaml
        self.file = os.path.abspath(file)
        with open(self.file) as f:
            doc = yaml.safe_load(f)
        self.name = doc["name"]
        nodes = doc["topology"]["nodes"]
        self.routers = {n: int((v.get("labels") or {}).get("raftbgp.node-id", 0))
                        for n, v in nodes.items() if (v.get("labels") or {}).get("raftbgp.role") == "router"}
        self.by_id = {i: n for n, i in self.routers.items()}
        self.env = dict(os.environ)
        if run_root:
            self.env["RAFTBGP_LAB_RUN"] = run_root
        if ns_prefix:
            self.env["RAFTBGP_LAB_NS_PREFIX"] = ns_prefix
        self.run_dir = os.path.join(self.env.get("RAFTBGP_LAB_RUN", os.path.join(REPO, "lab", "run")), self.name)
        self.bin_dirs = [os.path.abspath(d) for d in bin_dirs]

    def clab(self, *args, timeout=90, check=True, quiet=False):
        p = subprocess.run([sys.executable, CLAB] + list(args), env=self.env, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if not quiet:
            for line in p.stdout.splitlines():
                say("  | " + line)
        if check and p.returncode != 0:
            raise Failed("clab-netns %s failed (%d)" % (" ".join(args), p.returncode))
        return p

    def up(self, wait=40):
        self.clab("down", self.file, check=False, quiet=True)  # leftovers of a killed earlier run
        args = ["up", self.file, "--wait", str(wait)]
        for d in self.bin_dirs:
            args += ["--bin-dir", d]
        self.clab(*args, timeout=wait + 60)

    def down(self):
        return self.clab("down", self.file, timeout=60, check=False)

    def kill(self, node):
        """Stops the node's ExaBGP and raftbgpd (the runner's `kill`): ExaBGP cannot respawn the agent."""
        self.clab("kill", self.file, node)

    def start(self, node):
        self.clab("start", self.file, node)

    def ctl(self, node, *args, timeout=30):
        """The real raftbgpctl inside the node's namespace (`clab-netns exec NODE raftbgpctl ...`)."""
        p = subprocess.run([sys.executable, CLAB, "exec", self.file, node, "raftbgpctl"] + list(args),
                           env=self.env, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return p.returncode, p.stdout, p.stderr

    def sock(self, node):
        return os.path.join(self.run_dir, node, "run", "raftbgpd.sock")

    def call(self, node, op, args=None, client_id=None, seq=None, timeout_ms=3000):
        return request(self.sock(node), op, args, client_id, seq, timeout_ms)

    def status(self, node):
        r = self.call(node, "status", timeout_ms=1000)
        return r.get("result") if r.get("ok") else None

    def leader(self, nodes):
        """The leader's node name if every router in `nodes` names the same leader, itself in `nodes`."""
        seen = set()
        for n in nodes:
            s = self.status(n)
            if not s:
                return None
            seen.add(s.get("leader"))
        if len(seen) != 1:
            return None
        lid = seen.pop()
        if not lid or lid not in self.by_id or self.by_id[lid] not in nodes:
            return None
        s = self.status(self.by_id[lid])
        return self.by_id[lid] if s and s.get("role") == "leader" else None

    def wait_leader(self, nodes, timeout=30):
        return wait_until("one leader agreed by %s" % ",".join(nodes), lambda: self.leader(nodes), timeout)
