"""The production install: `python3 tasks.py run` on a fresh copy of the project builds `.venv-run` with
the runtime dependencies only (no test tools, no simulator), and installs the `archivist` command.

Slow (pip installs the dependencies into a new virtual environment, from the package index pip is
configured with): about 15 s here, from a local package index. Deselect with `-m "not slow"` while iterating."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("pyproject.toml", "README.md", "tasks.py", "bot", "cogs")  # what a clone needs to install
NOT_AT_RUNTIME = ("pytest", "ruff", "simcord", "playwright", "psutil", "hypothesis", "pytest_asyncio")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A copy of the project (as a fresh clone has it) after the README's run command set it up."""
    folder = tmp_path_factory.mktemp("clone") / "archivist"
    folder.mkdir()
    for name in PROJECT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, folder / name)
    # `run` with arguments passes them on: `--help` sets everything up, then prints the usage and ends.
    result = subprocess.run(
        [sys.executable, "tasks.py", "run", "--help"],
        cwd=folder,
        env=environment(folder / "unused.sqlite3"),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Installing the bot and what it needs to run into .venv-run" in result.stdout
    assert not (folder / ".venv").exists()  # the development environment is not made for running
    return folder


def environment(database: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DISCORD_GUILD_ID", "VIRTUAL_ENV"}
    }
    env.update(DATABASE_PATH=str(database), LOG_DIR="")
    return env


def archivist(clone: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `archivist` command, run from an unrelated folder."""
    return subprocess.run(
        [str(clone / ".venv-run" / "bin" / "archivist"), *args],
        cwd=tmp_path,
        env=environment(tmp_path / "archivist.sqlite3"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_run_environment_holds_no_test_tools(clone):
    python = clone / ".venv-run" / "bin" / "python"
    probe = "import importlib.util, sys; print(*[m for m in sys.argv[1:] if importlib.util.find_spec(m)])"
    result = subprocess.run([str(python), "-c", probe, *NOT_AT_RUNTIME], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []
    result = subprocess.run([str(python), "-c", "import discord, aiosqlite, dateparser, jinja2, bot, cogs"])
    assert result.returncode == 0


def test_the_archivist_command(clone, tmp_path):
    result = archivist(clone, tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: archivist")
    for command in ("run", "backup", "check", "demo"):
        assert command in result.stdout

    result = archivist(clone, tmp_path, "check")
    assert result.returncode == 1 and "no database" in result.stderr
    import asyncio

    from bot.core.db import Database, latest_version

    async def make() -> None:
        db = Database(tmp_path / "archivist.sqlite3")
        await db.open()
        await db.close()

    asyncio.run(make())
    result = archivist(clone, tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert "integrity: ok" in result.stdout and f"of {latest_version()} (up to date)" in result.stdout
    result = archivist(clone, tmp_path, "backup", str(tmp_path / "copy.sqlite3"))
    assert result.returncode == 0 and (tmp_path / "copy.sqlite3").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [(("demo",), "archivist[demo]"), (("run",), "DISCORD_TOKEN is not set")],
)
def test_what_the_run_install_cannot_do_is_one_sentence(clone, tmp_path, args, expected):
    result = archivist(clone, tmp_path, *args)
    assert result.returncode == 1
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_the_run_command_sets_up_only_once(clone):
    result = subprocess.run(
        [sys.executable, "tasks.py", "run", "--help"], cwd=clone, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Installing" not in result.stdout and result.stdout.startswith("usage: python -m bot")
