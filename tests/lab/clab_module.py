"""lab/clab-netns (a script without .py) loaded as a module, for the runner's unit tests: `from clab_module import
clab, REPO`."""
import importlib.machinery
import importlib.util
import os

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_loader = importlib.machinery.SourceFileLoader("clab_netns", os.path.join(REPO, "lab", "clab-netns"))
clab = importlib.util.module_from_spec(importlib.util.spec_from_loader("clab_netns", _loader))
_loader.exec_module(clab)
