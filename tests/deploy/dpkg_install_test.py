#!/usr/bin/env python3
"""The Debian package installs with dpkg in a clean Debian 12 root, label `lab`.

  dpkg_install_test.py --build DIR --work DIR [--cpack PATH] [--mirror URL] [--deadline S]

Builds the .deb with `cpack -G DEB` (as check_package.py), makes a fresh Debian 12 root with
`debootstrap --variant=minbase bookworm` from Debian's archive (cached as WORK/bookworm-minbase.tar, so a
second run skips the download), and in a chroot of it: `apt-get install ./raftbgp_*.deb`, which runs dpkg -i and
resolves the Depends (exabgp, the shared libraries) from the archive; then the installed `raftbgpctl --version`,
`raftbgp-replay --help`, `raftbgp-predict --help`, `raftbgpctl keygen` and `raftbgpd --check-config` on the
installed example config (key_file pointed at the new key), and `dpkg -s raftbgp` says installed. The chroot's
/proc and /dev mounts are always unmounted and the root removed. Exit 0 pass, 1 fail, 77 skip: not root, no
debootstrap/cpack/chroot, or the archive is unreachable.
"""
import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request

SKIP = 77
SUITE = "bookworm"


class Failed(Exception):
    pass


def say(msg):
    print("[%6.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def run(argv, timeout=300, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, **kw)


def check(ok, what, detail=""):
    say(("ok: " if ok else "FAIL: ") + what + ("" if ok or not detail else "\n" + detail[-2000:]))
    if not ok:
        raise Failed(what)


def archive_reachable(mirror):
    try:
        with urllib.request.urlopen("%s/dists/%s/Release" % (mirror, SUITE), timeout=10) as r:
            return r.status == 200
    except OSError:
        return False


def build_deb(a):
    pkg_dir = os.path.join(a.work, "pkg")
    shutil.rmtree(pkg_dir, ignore_errors=True)
    os.makedirs(pkg_dir)
    p = run([a.cpack, "-G", "DEB", "-B", pkg_dir], cwd=a.build, timeout=600)
    debs = glob.glob(os.path.join(pkg_dir, "raftbgp_*.deb"))
    check(p.returncode == 0 and len(debs) == 1, "cpack -G DEB made one raftbgp_*.deb", p.stdout)
    return debs[0]


def make_root(a, root):
    """A fresh minbase root at `root`, from the cached tarball or debootstrap (which then fills the cache)."""
    cache = os.path.join(a.work, "%s-minbase.tar" % SUITE)
    if os.path.exists(cache):
        with tarfile.open(cache) as t:
            t.extractall(root, numeric_owner=True)
        say("root from the cached %s" % cache)
        return
    p = run(["debootstrap", "--variant=minbase", SUITE, root, a.mirror], timeout=600)
    check(p.returncode == 0, "debootstrap --variant=minbase %s from %s" % (SUITE, a.mirror), p.stdout)
    with tarfile.open(cache + ".tmp", "w") as t:
        t.add(root, arcname=".")
    os.replace(cache + ".tmp", cache)


def in_root(root, *cmd, timeout=300):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
    return subprocess.run(["chroot", root] + list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, env=env)


def install_and_check(root, deb, mirror):
    with open(os.path.join(root, "etc/apt/sources.list"), "w") as f:
        f.write("deb %s %s main\n" % (mirror, SUITE))
    shutil.copy("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
    # No service may start inside the chroot (exabgp's postinst would try): policy-rc.d says no.
    with open(os.path.join(root, "usr/sbin/policy-rc.d"), "w") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod(os.path.join(root, "usr/sbin/policy-rc.d"), 0o755)
    shutil.copy(deb, os.path.join(root, "tmp"))
    inside = "/tmp/" + os.path.basename(deb)
    p = in_root(root, "apt-get", "update", "-qq")
    check(p.returncode == 0, "apt-get update in the clean root", p.stdout)
    p = in_root(root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", inside, timeout=400)
    check(p.returncode == 0, "apt-get install %s (dpkg -i, Depends from the archive)" % inside, p.stdout)
    p = in_root(root, "dpkg", "-s", "raftbgp")
    check(p.returncode == 0 and "Status: install ok installed" in p.stdout, "dpkg -s raftbgp: install ok installed",
          p.stdout)
    p = in_root(root, "dpkg-query", "-W", "-f", "${Status}", "exabgp", "libprotobuf32", "libprometheus-cpp-pull1.0")
    check(p.returncode == 0 and p.stdout.count("install ok installed") == 3,
          "the Depends came from the archive: exabgp, libprotobuf32, libprometheus-cpp-pull1.0 installed", p.stdout)
    p = in_root(root, "raftbgpctl", "--version")
    check(p.returncode == 0 and re.match(r"raftbgpctl \d+\.\d+\.\d+ \(git ", p.stdout) is not None,
          "installed raftbgpctl --version: " + p.stdout.strip(), p.stdout)
    for tool in ("raftbgp-replay", "raftbgp-predict"):
        p = in_root(root, tool, "--help")
        check(p.returncode == 0 and "Usage" in p.stdout, "installed %s --help" % tool, p.stdout)
    p = in_root(root, "raftbgpctl", "keygen", "--out", "/tmp/cluster.keys")
    check(p.returncode == 0, "installed raftbgpctl keygen", p.stdout)
    example = "usr/share/doc/raftbgp/examples/raftbgpd.example.yaml"
    with open(os.path.join(root, example)) as f:
        text = f.read()
    with open(os.path.join(root, "tmp/raftbgpd.yaml"), "w") as f:
        f.write(re.sub(r"(?m)^key_file:.*$", "key_file: /tmp/cluster.keys", text))
    p = in_root(root, "raftbgpd", "--check-config", "/tmp/raftbgpd.yaml")
    check(p.returncode == 0, "installed raftbgpd --check-config on the installed example (/%s)" % example, p.stdout)


def main():
    global T0
    T0 = time.monotonic()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cpack", default=shutil.which("cpack"))
    ap.add_argument("--mirror", default="http://deb.debian.org/debian")
    ap.add_argument("--deadline", type=int, default=280)
    a = ap.parse_args()
    a.work, a.build = os.path.abspath(a.work), os.path.abspath(a.build)
    if os.geteuid() != 0 or not shutil.which("debootstrap") or not shutil.which("chroot") or not a.cpack:
        print("SKIP: needs root, debootstrap, chroot and cpack")
        return SKIP
    if not archive_reachable(a.mirror):
        print("SKIP: %s is unreachable" % a.mirror)
        return SKIP
    os.makedirs(a.work, exist_ok=True)
    root = os.path.join(a.work, "root-%d" % os.getpid())
    mounts = []

    def bail(signum, _frame):
        raise Failed("deadline of %d s reached" % a.deadline if signum == signal.SIGALRM else "signal %d" % signum)
    signal.signal(signal.SIGALRM, bail)
    signal.signal(signal.SIGTERM, bail)
    signal.alarm(a.deadline)
    rc = 1
    try:
        deb = build_deb(a)
        os.makedirs(root)
        make_root(a, root)
        for what, args in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
            target = os.path.join(root, what)
            check(run(["mount"] + args + [target]).returncode == 0, "mount /%s in the root" % what)
            mounts.append(target)
        install_and_check(root, deb, a.mirror)
        say("PASS")
        rc = 0
    except (Failed, subprocess.TimeoutExpired) as e:
        say("FAIL: %s" % e)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for target in reversed(mounts):
            if run(["umount", "-l", target]).returncode != 0:
                say("FAIL: could not unmount %s" % target)
                rc = 1
        if not any(os.path.ismount(m) for m in mounts):
            shutil.rmtree(root, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
