"""agent/exabgp/raftbgp-exabgp as a Python module, for the tests that drive its parts (it has no .py name)."""

import importlib.machinery
import importlib.util
import os

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "agent", "exabgp", "raftbgp-exabgp")


def load_launcher():
    loader = importlib.machinery.SourceFileLoader("raftbgp_exabgp", LAUNCHER)
    spec = importlib.util.spec_from_loader("raftbgp_exabgp", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
