#!/usr/bin/python3
"""Every lab/*.clab.yml validates against containerlab's own topology JSON schema (label `unit`), and every
router that runs raftbgpd has a `raftbgpctl health` healthcheck (containerlab and Docker show it as the node's
health).

The schema is containerlab's (schemas/clab.schema.json), kept as reference data beside this repository at
../shared/reference/containerlab/clab.schema.json (or $RAFTBGP_CLAB_SCHEMA); it is not part of the project. Without
it the test SKIPs (exit 77). Also checks that the validator rejects a broken file, so a pass means something.
Runs with Debian's python3 (python3-yaml, python3-jsonschema: tests/install-deps).
"""
import glob
import json
import os
import sys

import jsonschema
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = 77


def unhealthchecked_agents(doc):
    """Routers running raftbgpd (label raftbgp.node-id) whose healthcheck is not `raftbgpctl health`."""
    out = []
    for name, node in ((doc.get("topology") or {}).get("nodes") or {}).items():
        if "raftbgp.node-id" in ((node or {}).get("labels") or {}):
            test = ((node.get("healthcheck") or {}).get("test")) or []
            if "raftbgpctl" not in " ".join(test) or "health" not in test[-1:]:
                out.append(name)
    return out


def main():
    schema_path = os.environ.get("RAFTBGP_CLAB_SCHEMA") or os.path.join(
        REPO, "..", "shared", "reference", "containerlab", "clab.schema.json")
    if not os.path.exists(schema_path):
        print("SKIP: no containerlab schema at %s" % schema_path)
        return SKIP
    with open(schema_path) as f:
        validator = jsonschema.Draft7Validator(json.load(f))
    files = sorted(glob.glob(os.path.join(REPO, "lab", "*.clab.yml")))
    if not files:
        print("FAIL: no lab/*.clab.yml found")
        return 1
    failed = 0
    for path in files:
        with open(path) as f:
            doc = yaml.safe_load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors:
            print("FAIL %s: %s: %s" % (os.path.basename(path), "/".join(map(str, e.path)) or "(top)", e.message))
        missing = unhealthchecked_agents(doc)
        for node in missing:
            print("FAIL %s: router %s runs raftbgpd but has no `raftbgpctl health` healthcheck" %
                  (os.path.basename(path), node))
        failed += bool(errors) or bool(missing)
        if not errors and not missing:
            print("ok %s" % os.path.basename(path))
    # The validator must catch a broken topology, or a pass above says nothing.
    broken = {"name": "x", "topology": {"nodes": {"r1": {"kind": "linux", "binds": "not-a-list"}}}}
    if not list(validator.iter_errors(broken)):
        print("FAIL: the schema accepted a node whose binds is not a list")
        return 1
    print("%d passed, %d failed" % (len(files) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
