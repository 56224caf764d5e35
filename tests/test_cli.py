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

    from bot.storage.db import Database, migrations

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
