"""Every module of the core and the features imports on its own, first, in a fresh interpreter state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import importlib, pkgutil, sys
names = []
for package in ("bot", "cogs"):
    root = __import__(package)
    names += [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")]
failed = []
for name in names:
    if name.endswith("__main__"):
        continue
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("bot", "cogs")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print(len(names))
print("\\n".join(failed))
"""


def test_every_module_imports_first():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    count, *failures = result.stdout.strip().splitlines()
    assert int(count) > 40
    assert [f for f in failures if f] == []
