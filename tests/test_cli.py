"""`python -m bot`: one clear sentence instead of a traceback, and the operations commands."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

GOOD_SHAPE = "MTAxMjM0NTY3ODkwMTIzNDU2Nw.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


def run_bot(tmp_path, *args, token=None, timeout=60, log_dir=""):
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env.update(DATABASE_PATH=str(tmp_path / "cli.sqlite3"), LOG_DIR=log_dir)
    if token is not None:
        env["DISCORD_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("token", "expected"), [(None, "DISCORD_TOKEN is not set"), ("abc", "does not look like")]
)
def test_missing_or_malformed_token(tmp_path, token, expected):
    result = run_bot(tmp_path, token=token)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_or_refusing_discord_is_one_sentence(tmp_path):
    result = run_bot(tmp_path, token=GOOD_SHAPE)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "could not be reached" in result.stderr or "refused the token" in result.stderr
    assert GOOD_SHAPE not in result.stderr + result.stdout


def test_a_log_folder_that_cannot_be_created_is_one_sentence(tmp_path):
    (tmp_path / "blocker").write_text("a file where the log folder should be")
    result = run_bot(tmp_path, token=GOOD_SHAPE, log_dir=str(tmp_path / "blocker" / "logs"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "log folder" in result.stderr and "LOG_DIR" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_paths_may_start_with_the_home_folder():
    from bot.config import Settings

    settings = Settings.from_env({"DATABASE_PATH": "~/archivist/db.sqlite3", "LOG_DIR": "~/logs"})
    assert "~" not in str(settings.database_path) and "~" not in str(settings.log_dir)


def test_check_and_backup(tmp_path):
    result = run_bot(tmp_path, "check")
    assert result.returncode == 1 and "no database" in result.stderr
    import asyncio

    from bot.core.db import Database, migrations

    async def make():
        db = Database(tmp_path / "cli.sqlite3")
        await db.open()
        await db.close()

    asyncio.run(make())
    result = run_bot(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert "integrity: ok" in result.stdout and f"of {migrations()[-1][0]} (up to date)" in result.stdout
    result = run_bot(tmp_path, "backup", str(tmp_path / "b" / "copy.sqlite3"))
    assert result.returncode == 0 and (tmp_path / "b" / "copy.sqlite3").exists()


def test_gc_freeze_setting():
    from bot.config import ConfigError, Settings

    assert Settings.from_env({}).gc_freeze is True
    assert Settings.from_env({"GC_FREEZE": "0"}).gc_freeze is False
    with pytest.raises(ConfigError, match="GC_FREEZE"):
        Settings.from_env({"GC_FREEZE": "sometimes"})


def _has_open(pid: int, path) -> bool:
    fds = f"/proc/{pid}/fd"
    try:
        return any(os.path.realpath(os.path.join(fds, fd)) == str(path) for fd in os.listdir(fds))
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to see the bot open its database")
def test_sigterm_stops_the_bot_cleanly_with_exit_0(tmp_path):
    """A service manager's stop: the process ends by itself with 0 and the database closed, not killed
    by the signal. Here the bot is waiting for the database, locked by another writer, when it comes."""
    import signal
    import sqlite3
    import time

    from bot.core.db import Database

    path = (tmp_path / "cli.sqlite3").resolve()

    async def old_schema():
        db = Database(path)
        await db.open(target_version=1)  # the bot will want to migrate it, and wait for the lock
        await db.close()

    import asyncio

    asyncio.run(old_schema())
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env.update(DATABASE_PATH=str(path), LOG_DIR="", DISCORD_TOKEN=GOOD_SHAPE)
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    try:
        for _ in range(600):  # until the bot has its database open (the signal handler is set by then)
            if _has_open(bot.pid, path) or bot.poll() is not None:
                break
            time.sleep(0.05)
        assert bot.poll() is None, bot.stderr.read()
        bot.send_signal(signal.SIGTERM)
        _, err = bot.communicate(timeout=30)
    finally:
        if bot.poll() is None:
            bot.kill()
        other.execute("ROLLBACK")
        other.close()
    assert bot.returncode == 0, err
    assert "Traceback" not in err
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == 1  # nothing half-done
    finally:
        check.close()
