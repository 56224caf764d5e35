#!/usr/bin/env python3
"""One entry point for every developer chore: set-up, run, test, lint, bench, demo.

Only the Python standard library is used here, so this works on a fresh machine with nothing but
Python 3.11+: it creates `.venv`, installs the project into it (again only when pyproject.toml changed),
then runs the requested task inside it.

    python3 tasks.py run        # run the bot (reads .env)
    python3 tasks.py test       # lint + the whole test suite
    python3 tasks.py bench      # benchmarks, writes bench/results.json
    python3 tasks.py demo       # a scripted community against the simulator, no token needed
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".install-stamp"
EXTRAS = "test,demo,bench"


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Archivist needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PY.exists():
        print("Creating the virtual environment in .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + EXTRAS.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("Installing Archivist and its dependencies into .venv …", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f".[{EXTRAS}]"], check=True, cwd=ROOT)
    STAMP.write_text(digest)


def run(*args: str) -> int:
    return subprocess.call([str(PY), *args], cwd=ROOT)


def main(argv: list[str]) -> int:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task in {"help", "-h", "--help"}:
        print(__doc__)
        return 0
    ensure_env()
    if task == "setup":
        return 0
    if task == "run":
        return run("-m", "bot", *rest)
    if task == "test":
        code = run("-m", "ruff", "check", ".")
        code = run("-m", "ruff", "format", "--check", ".") or code
        return run("-m", "pytest", *rest) or code
    if task == "lint":
        return run("-m", "ruff", "check", ".", *rest)
    if task == "format":
        return run("-m", "ruff", "format", ".") or run("-m", "ruff", "check", "--fix", ".")
    if task == "bench":
        return run("bench/run.py", *rest)
    if task == "demo":
        return run("-m", "bot", "demo", *rest)
    if task == "surface":
        return run(str(ROOT.parent / "shared" / "tools" / "check_surface.py"), *rest)
    print(f"Unknown task {task!r}.\n{__doc__}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
