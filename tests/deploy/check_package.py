#!/usr/bin/env python3
"""The Debian package (cmake/Package.cmake), label `lab` (slow: cpack re-runs the build's install).

  check_package.py --build DIR --work DIR [--cpack PATH]

Builds the .deb with `cpack -G DEB -B WORK/pkg` from the build directory (the build's own tree is not written),
then checks it without touching the real system:
  - `dpkg-deb -c`: the binaries (raftbgp-replay and raftbgp-predict included), unit, sysusers/tmpfiles files,
    examples, predictor topologies and guide at their FHS paths under /usr,
    owned by root, binaries 0755, nothing under /etc or /usr/local;
  - `dpkg-deb -f`: Package raftbgp, Depends on exabgp and on the shared libraries the binaries link;
  - `dpkg-deb -x` into WORK/root: the installed raftbgpd prints its version, the unit runs /usr/bin/raftbgpd, and
    the installed raftbgpd --check-config accepts the installed example config (key_file pointed at a key made
    by the installed raftbgpctl keygen); the installed raftbgp-replay and raftbgp-predict run --help, and
    raftbgp-predict predicts from an installed topology.
Exit 0 pass, 1 fail, 77 skip (dpkg-deb or cpack missing).
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cpack", default=shutil.which("cpack"))
    ap.add_argument("--repo", default=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    a = ap.parse_args()
    a.work, a.build = os.path.abspath(a.work), os.path.abspath(a.build)
    if not a.cpack or not shutil.which("dpkg-deb"):
        print("SKIP: cpack or dpkg-deb missing")
        return 77
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    pkg_dir = os.path.join(a.work, "pkg")
    shutil.rmtree(pkg_dir, ignore_errors=True)
    os.makedirs(pkg_dir)
    p = run([a.cpack, "-G", "DEB", "-B", pkg_dir], cwd=a.build)
    debs = glob.glob(os.path.join(pkg_dir, "raftbgp_*.deb"))
    if p.returncode != 0 or len(debs) != 1:
        print(p.stdout)
        print("FAIL cpack -G DEB produced %s" % debs)
        return 1
    deb = debs[0]
    print("package " + os.path.basename(deb))
    print("Depends: " + run(["dpkg-deb", "-f", deb, "Depends"]).stdout.strip())

    listing = run(["dpkg-deb", "-c", deb]).stdout.splitlines()
    entries = {}
    for line in listing:
        f = line.split()
        entries[f[5].lstrip(".")] = (f[0], f[1])
    tools = ["/usr/bin/raftbgp-replay", "/usr/bin/raftbgp-predict"]  # issue 14: replay and predictor
    topologies = sorted("/usr/share/raftbgp/topologies/" + os.path.basename(t) for t in
                        glob.glob(os.path.join(a.repo, "predictor", "topologies", "*.yaml")))
    check(len(topologies) > 0, "the repository has predictor topologies to ship")
    for path in tools + topologies + ["/usr/bin/raftbgpd", "/usr/bin/raftbgpctl", "/usr/bin/raftbgp-ping",
                                      "/usr/bin/raftbgp-exabgp",
                 "/usr/lib/systemd/system/exabgp-raftbgp.service", "/usr/lib/sysusers.d/raftbgp.conf",
                 "/usr/lib/tmpfiles.d/raftbgp.conf", "/usr/share/doc/raftbgp/operator-guide.md",
                 "/usr/share/doc/raftbgp/examples/raftbgpd.example.yaml",
                 "/usr/share/doc/raftbgp/examples/exabgp/exabgp.conf", "/usr/share/man/man8/raftbgpd.8",
                 "/usr/share/man/man8/raftbgpctl.8", "/usr/share/bash-completion/completions/raftbgpctl"]:
        check(path in entries, "contains " + path)
    for b in tools + ["/usr/bin/raftbgpd", "/usr/bin/raftbgpctl", "/usr/bin/raftbgp-ping", "/usr/bin/raftbgp-exabgp"]:
        check(entries.get(b, ("", ""))[0] == "-rwxr-xr-x", b + " is 0755")
    check(all(owner == "root/root" for _, owner in entries.values()), "every file owned by root/root")
    check(not any(e.startswith(("/etc/", "/usr/local/")) for e in entries), "nothing under /etc or /usr/local")

    fields = {k: run(["dpkg-deb", "-f", deb, k]).stdout.strip() for k in ("Package", "Depends", "Architecture")}
    check(fields["Package"] == "raftbgp", "Package: raftbgp")
    depends = [d.strip().split(" ")[0] for d in fields["Depends"].split(",")]
    for lib in ["exabgp", "libprotobuf32", "libssl3", "libyaml-cpp0.7", "libprometheus-cpp-pull1.0", "libc6"]:
        check(lib in depends, "Depends: " + lib)

    root = os.path.join(a.work, "root")
    shutil.rmtree(root, ignore_errors=True)
    check(run(["dpkg-deb", "-x", deb, root]).returncode == 0, "dpkg-deb -x into a scratch root")
    v = run([root + "/usr/bin/raftbgpd", "--version"])
    check(v.returncode == 0 and re.match(r"raftbgpd \d+\.\d+\.\d+ \(git ", v.stdout) is not None,
          "installed raftbgpd --version: " + v.stdout.strip())
    unit = open(root + "/usr/lib/systemd/system/exabgp-raftbgp.service").read()
    check("/usr/bin/raftbgpd --check-config" in unit, "the unit's pre-start check runs /usr/bin/raftbgpd")
    key = os.path.join(a.work, "cluster.keys")
    if os.path.exists(key):
        os.unlink(key)
    k = run([root + "/usr/bin/raftbgpctl", "keygen", "--out", key])
    check(k.returncode == 0, "installed raftbgpctl keygen: " + k.stdout.strip())
    example = open(root + "/usr/share/doc/raftbgp/examples/raftbgpd.example.yaml").read()
    staged = os.path.join(a.work, "example.yaml")
    with open(staged, "w") as f:
        f.write(re.sub(r"(?m)^key_file:.*$", "key_file: " + key, example))
    c = run([root + "/usr/bin/raftbgpd", "--check-config", staged])
    check(c.returncode == 0, "installed raftbgpd --check-config on the installed example: " + c.stdout.strip())

    for b in tools:
        h = run([root + b, "--help"])
        check(h.returncode == 0 and "Usage" in h.stdout, "installed %s --help" % os.path.basename(b))
    # The shipped topology, as the operator guide runs it: a quick prediction (1,000 writes, no elections).
    if topologies:
        pr = run([root + "/usr/bin/raftbgp-predict", "--topology", root + topologies[0], "--trials", "1000",
                  "--no-election"])
        check(pr.returncode == 0, "installed raftbgp-predict --topology on the installed %s" % topologies[0])
        if pr.returncode != 0:
            print(pr.stdout)

    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
