#!/usr/bin/env python3
"""One entry point for every developer chore: set-up, run, test, lint, bench, demo.

Only the Python standard library is used here, so this works on a fresh machine with nothing but
Python 3.11+. `run` keeps its own virtual environment, `.venv-run`, holding only what the bot needs;
every other task uses `.venv`, which adds the test tools, the simulator and the benchmarks' helpers.
Each is created and filled on first use, and again only when pyproject.toml changes.

    python3 tasks.py run        # run the bot (reads .env); `run check`, `run backup PATH` too
    python3 tasks.py test       # lint + the whole test suite
    python3 tasks.py bench      # benchmarks, writes bench/results.json
    python3 tasks.py bench --size 1m  # 10k, 100k and 1M contributions: bench/results-scale.json
    python3 tasks.py demo       # a scripted community against the simulator, no token needed
    python3 tasks.py demo --browser   # the same community in your browser: try the real commands
    python3 tasks.py screenshots      # regenerate docs/screenshots/*.png (needs Debian's chromium)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Env:
    """A virtual environment with the project installed (editable) with `extras`."""

    folder: str
    extras: str  # "" = the runtime dependencies only
    purpose: str

    @property
    def path(self) -> Path:
        return ROOT / self.folder

    @property
    def python(self) -> Path:
        return (
            self.path
            / ("Scripts" if os.name == "nt" else "bin")
            / ("python.exe" if os.name == "nt" else "python")
        )


RUN = Env(".venv-run", "", "the bot and what it needs to run")
DEV = Env(".venv", "test,demo,bench", "Archivist, its tests and tools")


def ensure_env(env: Env) -> Path:
    """Create `env` and install into it when missing or when pyproject.toml changed; its python."""
    if sys.version_info < (3, 11):
        sys.exit(f"Archivist needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not env.python.exists():
        print(f"Creating the virtual environment in {env.folder} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(env.path)
    stamp = env.path / ".install-stamp"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + env.extras.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return env.python
    print(f"Installing {env.purpose} into {env.folder} …", flush=True)
    pip = [str(env.python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f".[{env.extras}]" if env.extras else "."], check=True, cwd=ROOT)
    stamp.write_text(digest)
    return env.python


def run(python: Path, *args: str) -> int:
    return subprocess.call([str(python), *args], cwd=ROOT)


def main(argv: list[str]) -> int:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task in {"help", "-h", "--help"}:
        print(__doc__)
        return 0
    if task == "run":
        return run(ensure_env(RUN), "-m", "bot", *rest)
    py = ensure_env(DEV)
    if task == "setup":
        return 0
    if task == "test":
        code = run(py, "-m", "ruff", "check", ".")
        code = run(py, "-m", "ruff", "format", "--check", ".") or code
        return run(py, "-m", "pytest", *rest) or code
    if task == "lint":
        return run(py, "-m", "ruff", "check", ".", *rest)
    if task == "format":
        return run(py, "-m", "ruff", "format", ".") or run(py, "-m", "ruff", "check", "--fix", ".")
    if task == "bench":
        # `--size 10k|100k|1m`: the scale benchmark (bench/scale.py); without it, the 100k run (bench/run.py)
        sized = any(a == "--size" or a.startswith("--size=") for a in rest)
        return run(py, "bench/scale.py" if sized else "bench/run.py", *rest)
    if task == "demo":
        return run(py, "-m", "bot", "demo", *rest)
    if task == "screenshots":
        return run(py, "scripts/screenshots.py", *rest)
    if task == "surface":
        return run(py, str(ROOT.parent / "shared" / "tools" / "check_surface.py"), *rest)
    print(f"Unknown task {task!r}.\n{__doc__}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
