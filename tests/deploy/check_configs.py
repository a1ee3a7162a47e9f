#!/usr/bin/env python3
"""Checks the shipped examples in configs/ with each daemon's own config checker, label `unit`.

  check_configs.py exabgp|agent|bird|frr|systemd --repo DIR --work DIR [--bin-dir DIR]

  exabgp   `exabgp --env <abs configs/exabgp/exabgp.env> --validate` and `--test` on configs/exabgp/*.conf, staged
           with the process path pointing at the built raftbgpd (ExaBGP checks the program exists);
  agent    `raftbgpd --check-config` on every configs/**/*.yaml, staged with key_file pointing at a generated
           key (mode 0600); plus the cluster files agree with each other (cluster_id, members, mailbox,
           attribute code, payload budget) and have distinct node ids and ExaBGP ASNs;
  bird     `bird -p -c` on configs/bird/*.conf;
  frr      `vtysh --dryrun --inputfile` on configs/frr/*.conf (FRR 8.4; `bgpd --dryrun` exits 0 even on an
           unknown command, vtysh exits 2);
  systemd  `systemd-analyze verify` on configs/systemd/*.service, staged with the built raftbgpd;
  install  `cmake --install BUILD --prefix WORK/prefix` lays out the binaries, units and examples, with the
           unit's and exabgp.conf's raftbgpd path rewritten to the prefix.
Exit 0 pass, 1 fail, 77 skip (the checker is not installed).
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

SKIP = 77


def need(tool):
    path = shutil.which(tool) or next((p for p in ("/usr/sbin/" + tool, "/usr/lib/frr/" + tool)
                                       if os.access(p, os.X_OK)), None)
    if not path:
        print("SKIP: %s is not installed" % tool)
        sys.exit(SKIP)
    return path


def run(argv, env=None, expect=0):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=60)
    ok = p.returncode == expect
    print("%s rc=%d: %s" % ("ok" if ok else "FAIL", p.returncode, " ".join(argv)))
    if not ok:
        print("  | " + "\n  | ".join(p.stdout.strip().splitlines()[-25:]))
    return ok


def stage(src, work, replacements):
    with open(src) as f:
        text = f.read()
    for a, b in replacements:
        text = text.replace(a, b)
    out = os.path.join(work, os.path.relpath(src, "/").replace("/", "_"))
    with open(out, "w") as f:
        f.write(text)
    return out


def check_exabgp(o):
    exabgp = need("exabgp")
    raftbgpd = os.path.join(o.bin_dir, "raftbgpd")
    env_file = os.path.join(o.repo, "configs", "exabgp", "exabgp.env")
    env = dict(os.environ)
    try:
        import pwd
        pwd.getpwnam("raftbgp")
    except KeyError:  # the env file names the service account; ExaBGP refuses an unknown user
        print("note: no user raftbgp here; overriding exabgp.daemon.user=root for the check")
        env["exabgp.daemon.user"] = "root"
    ok = True
    for conf in sorted(glob.glob(os.path.join(o.repo, "configs", "exabgp", "*.conf"))):
        staged = stage(conf, o.work, [("/usr/local/bin/raftbgpd", raftbgpd)])
        ok &= run([exabgp, "--env", env_file, "--validate", staged], env)
        ok &= run([exabgp, "--env", env_file, "--test", staged], env)
    with open(env_file) as f:
        text = f.read()
    for key, want in (("ack", "true"), ("cli", "false"), ("level", "WARNING")):
        m = re.search(r"^%s\s*=\s*(\S+)" % key, text, re.M)
        good = bool(m) and m.group(1) == want
        print("%s: exabgp.env %s = %s" % ("ok" if good else "FAIL", key, m.group(1) if m else "(missing)"))
        ok &= good
    good = not re.search(r"^enable\s*=\s*false", text, re.M)
    print("%s: exabgp.env does not set log enable = false (it crashes 4.2.21)" % ("ok" if good else "FAIL"))
    return ok and good


def check_agent(o):
    import yaml
    raftbgpd = os.path.join(o.bin_dir, "raftbgpd")
    key = os.path.join(o.work, "cluster.keys")
    with open(key, "w") as f:
        f.write("1 %s\n" % os.urandom(32).hex())
    os.chmod(key, 0o600)
    ok = True
    files = sorted(glob.glob(os.path.join(o.repo, "configs", "**", "*.yaml"), recursive=True))
    for path in files:
        with open(path) as f:
            doc = yaml.safe_load(f)
        staged = stage(path, o.work, [(doc["key_file"], key)])
        ok &= run([raftbgpd, "--check-config", staged])
    # A cluster's files must agree: each directory holding several agent configs is one cluster.
    by_dir = {}
    for path in files:
        by_dir.setdefault(os.path.dirname(path), []).append(path)
    for d, paths in by_dir.items():
        if len(paths) < 2:
            continue
        docs = {p: yaml.safe_load(open(p)) for p in paths}
        same = ("cluster_id", "members", "mailbox", "attribute_code", "payload_budget", "key_file", "active_key_id")
        for k in same:
            vals = {repr(doc.get(k)) for doc in docs.values()}
            good = len(vals) == 1
            print("%s: %s: %s identical in %d files" % ("ok" if good else "FAIL", os.path.relpath(d, o.repo), k,
                                                        len(docs)))
            ok &= good
        for k in ("node_id", "local_asn"):
            vals = [doc.get(k) for doc in docs.values()]
            good = len(set(vals)) == len(vals)
            print("%s: %s: %s distinct %s" % ("ok" if good else "FAIL", os.path.relpath(d, o.repo), k, vals))
            ok &= good
        ids = sorted(doc["node_id"] for doc in docs.values())
        members = next(iter(docs.values()))["members"]
        good = ids == sorted(members)
        print("%s: node ids %s are the members %s" % ("ok" if good else "FAIL", ids, members))
        ok &= good
    return ok


def check_bird(o):
    bird = need("bird")
    ok = True
    for conf in sorted(glob.glob(os.path.join(o.repo, "configs", "bird", "*.conf"))):
        ok &= run([bird, "-p", "-c", conf])
    return ok


def check_frr(o):
    vtysh = need("vtysh")
    ok = True
    for conf in sorted(glob.glob(os.path.join(o.repo, "configs", "frr", "*.conf"))):
        ok &= run([vtysh, "--dryrun", "--inputfile", conf])
    return ok


def check_systemd(o):
    sa = need("systemd-analyze")
    raftbgpd = os.path.join(o.bin_dir, "raftbgpd")
    ok = True
    for unit in sorted(glob.glob(os.path.join(o.repo, "configs", "systemd", "*.service"))):
        d = os.path.join(o.work, "units")
        os.makedirs(d, exist_ok=True)
        with open(unit) as f:
            text = f.read().replace("/usr/local/bin/raftbgpd", raftbgpd).replace(
                "/usr/local/bin/raftbgp-exabgp", os.path.join(o.bin_dir, "raftbgp-exabgp"))
        staged = os.path.join(d, os.path.basename(unit))
        with open(staged, "w") as f:
            f.write(text)
        ok &= run([sa, "verify", "--man=no", staged])
        ok &= check_exposure(sa, staged)
    return ok


# The unit's sandboxing, as systemd itself rates it (0 = locked down, 10 = exposed). Above this the
# hardening has regressed: a new directive removed, or a sandboxing option dropped.
MAX_EXPOSURE = 3.0


def check_exposure(sa, unit):
    p = subprocess.run([sa, "security", "--offline=yes", "--no-pager", unit], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
    if not m:
        print("systemd-analyze security gave no exposure level for %s:\n%s%s" % (unit, p.stdout, p.stderr))
        return False
    level = float(m.group(1))
    print("%s: exposure %.1f (at most %.1f)" % (os.path.basename(unit), level, MAX_EXPOSURE))
    return level <= MAX_EXPOSURE


def check_install(o):
    prefix = os.path.join(o.work, "prefix")
    ok = run([o.cmake, "--install", o.build, "--prefix", prefix])
    want = ["bin/raftbgpd", "bin/raftbgpctl", "bin/raftbgp-ping", "bin/raftbgp-exabgp", "bin/raftbgp-replay",
            "bin/raftbgp-predict",
            "lib/systemd/system/exabgp-raftbgp.service",
            "lib/sysusers.d/raftbgp.conf", "lib/tmpfiles.d/raftbgp.conf"]
    want += ["share/doc/raftbgp/examples/" + os.path.relpath(p, os.path.join(o.repo, "configs"))
             for p in glob.glob(os.path.join(o.repo, "configs", "**", "*"), recursive=True) if os.path.isfile(p)]
    want += ["share/raftbgp/topologies/" + os.path.basename(p)
             for p in glob.glob(os.path.join(o.repo, "predictor", "topologies", "*.yaml"))]
    for rel in want:
        good = os.path.isfile(os.path.join(prefix, rel))
        print("%s: %s" % ("ok" if good else "FAIL missing", rel))
        ok &= good
    for rel in ("lib/systemd/system/exabgp-raftbgp.service", "share/doc/raftbgp/examples/exabgp/exabgp.conf"):
        try:
            text = open(os.path.join(prefix, rel)).read()
        except OSError:
            continue
        good = (prefix + "/bin/raftbgpd") in text and "/usr/local/bin" not in text
        print("%s: %s runs %s/bin/raftbgpd" % ("ok" if good else "FAIL", rel, prefix))
        ok &= good
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["exabgp", "agent", "bird", "frr", "systemd", "install"])
    ap.add_argument("--cmake", default="cmake", help="install: the cmake to run")
    ap.add_argument("--build", help="install: the build tree")
    ap.add_argument("--repo", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin-dir", default="", help="directory holding the built raftbgpd")
    o = ap.parse_args()
    o.work = os.path.join(os.path.abspath(o.work), o.what)
    shutil.rmtree(o.work, ignore_errors=True)
    os.makedirs(o.work)
    if o.what in ("exabgp", "agent", "systemd") and not os.access(os.path.join(o.bin_dir, "raftbgpd"), os.X_OK):
        print("FAIL: %s/raftbgpd is not built" % o.bin_dir)
        return 1
    ok = globals()["check_" + o.what](o)
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
