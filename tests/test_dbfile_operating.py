"""The database file outside Discord: every unusable file stops `run`, `check` and `backup` with one
sentence and a non-zero exit, promptly (a hang fails the test), leaving the file byte for byte as it was."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading

import discord
import pytest

from bot.core.db import Database, DatabaseFileError, latest_version

GOOD_SHAPE = "MTAxMjM0NTY3ODkwMTIzNDU2Nw.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
COMMANDS = (("check",), ("backup", "copy/backup.sqlite3"), ("run",))


def _env(database_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DISCORD_GUILD_ID"}}
    # A token of the right shape gets `run` past its token check: the database must stop it before
    # Discord is contacted (the test machine has no network, which would be another sentence).
    env.update(DATABASE_PATH=str(database_path), LOG_DIR="", DISCORD_TOKEN=GOOD_SHAPE)
    return env


def cli_all(cwd, database_path, commands, timeout=60):
    """Run each command as `python -m bot …`, all at once; a command still running after `timeout`
    seconds fails the test (`check` and `backup` used to hang forever on a bad file)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env=_env(database_path),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    for args, proc in zip(commands, procs, strict=True):
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in procs:
                other.kill()
            pytest.fail(f"`python -m bot {' '.join(args)}` did not end within {timeout} s")
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def cli(cwd, database_path, *args):
    return cli_all(cwd, database_path, [args])[0]


def snapshot(folder):
    """Every file under `folder` with the hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


def good_database(path, rows=200):
    """A real Archivist database (all migrations) of some size; the bytes of its file."""

    async def make():
        db = Database(path)
        await db.open()
        rows_ = [(f"k{i}", "x" * 3000) for i in range(rows)]
        await db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows_)
        await db.close()

    thread = threading.Thread(target=asyncio.run, args=(make(),))  # callable from async tests too
    thread.start()
    thread.join()
    return path.read_bytes()


def garbage(path):
    data = good_database(path)
    path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(len(data))))


def truncated(path):
    data = good_database(path)
    path.write_bytes(data[: len(data) // 2])


def zeroed_header(path):
    data = good_database(path)
    path.write_bytes(bytes(100) + data[100:])


def damaged_inside(path):
    """The header and the schema intact, pages in the middle overwritten (a bad disk sector)."""
    data = bytearray(good_database(path))
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 3 * 4096] = bytes((i * 31 + 7) % 256 for i in range(3 * 4096))
    path.write_bytes(bytes(data))


def newer_schema(path):
    good_database(path, rows=1)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()


BAD_FILES = {
    "garbage": (garbage, "not an Archivist database"),
    "truncated": (truncated, "truncated"),
    "zeroed header": (zeroed_header, "not an Archivist database"),
    "damaged inside": (damaged_inside, "is damaged"),
    "newer schema": (newer_schema, "schema version 99, newer than this Archivist knows"),
}


def assert_one_sentence(result, expected):
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Discord" not in lines[0]


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_file_stops_every_command_and_is_left_as_it_was(tmp_path, kind):
    make, expected = BAD_FILES[kind]
    data = tmp_path / "data"
    data.mkdir()
    path = data / "archivist.sqlite3"
    make(path)
    before = snapshot(tmp_path)
    for result in cli_all(tmp_path, path, COMMANDS):
        assert_one_sentence(result, expected)
    assert snapshot(tmp_path) == before  # not a byte written, no -wal/-shm beside it, no backup made


def _make_read_only(path):
    """A file this process can't write. Root ignores mode bits, so there the file is made immutable."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return lambda: path.chmod(0o644)
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: a read-only file can't be made here")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"running as root and chattr +i is refused here ({made.stderr.decode().strip()})")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=False)


def test_a_read_only_file_stops_every_command_and_is_left_as_it_was(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    path = data / "archivist.sqlite3"
    good_database(path, rows=5)
    undo = _make_read_only(path)
    try:
        before = snapshot(tmp_path)
        for result in cli_all(tmp_path, path, COMMANDS):
            assert_one_sentence(result, "is read-only")
        assert snapshot(tmp_path) == before
    finally:
        undo()


def test_a_path_that_is_a_folder_stops_every_command(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for result in cli_all(tmp_path, folder, COMMANDS):
        assert_one_sentence(result, "is a folder, not a database file")
    assert list(folder.iterdir()) == []


def test_a_folder_that_cannot_be_created_is_said_as_such_not_as_discord(tmp_path):
    (tmp_path / "blocker").write_text("a file where the folder should be")
    path = tmp_path / "blocker" / "data" / "archivist.sqlite3"
    run, *others = cli_all(tmp_path, path, [("run",), *COMMANDS[:2]])
    assert_one_sentence(run, "can't be created")
    for result in others:  # nothing to check or back up there
        assert_one_sentence(result, "there is no database")
    assert (tmp_path / "blocker").read_text() == "a file where the folder should be"


def test_check_is_read_only_and_a_backup_never_overwrites(tmp_path):
    path = tmp_path / "archivist.sqlite3"
    good_database(path, rows=3)
    before = snapshot(tmp_path)
    result = cli(tmp_path, path, "check")
    assert result.returncode == 0, result.stderr
    assert f"schema version: {latest_version()} of {latest_version()} (up to date)" in result.stdout
    assert snapshot(tmp_path) == before
    (tmp_path / "old-backup.sqlite3").write_bytes(b"yesterday's backup")
    assert_one_sentence(cli(tmp_path, path, "backup", "old-backup.sqlite3"), "never overwrites")
    assert (tmp_path / "old-backup.sqlite3").read_bytes() == b"yesterday's backup"
    assert_one_sentence(cli(tmp_path, path, "backup", str(tmp_path)), "is a folder")
    assert snapshot(tmp_path) == {**before, "old-backup.sqlite3": snapshot(tmp_path)["old-backup.sqlite3"]}


def _database_threads():
    return [
        t for t in threading.enumerate() if "_connection_worker_thread" in repr(getattr(t, "_target", ""))
    ]


async def test_a_failed_open_leaves_no_connection_thread_behind(tmp_path):
    path = tmp_path / "bad.sqlite3"
    zeroed_header(path)
    before = len(_database_threads())
    db = Database(path)
    with pytest.raises(DatabaseFileError, match="not an Archivist database"):
        await db.open()
    assert not db.is_open and len(_database_threads()) == before


@pytest.mark.simcord(check_errors=False)
async def test_a_start_that_fails_in_setup_hook_closes_the_database(simcord_env, bots, tmp_path, monkeypatch):
    """Nothing closes a bot whose start failed: its database thread alone kept the process alive."""
    await simcord_env.bot.close()
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "fresh.sqlite3"))  # a new file: commands get synced
    simcord_env.inject_error("PUT", "/applications/*/commands", status=500, times=5)
    bot = bots()
    with pytest.raises(discord.HTTPException):
        await simcord_env.restart_bot(bot)
    assert not bot.services.db.is_open


def test_a_database_left_by_a_killed_process_is_not_taken_for_a_damaged_one(tmp_path):
    """After a crash the last commits are only in the write-ahead log beside the file: `check` and
    `backup` read them, and nothing is refused."""
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path / "archivist.sqlite3")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "written"
    finally:
        writer.kill()
        writer.wait()
    assert (tmp_path / "archivist.sqlite3-wal").stat().st_size > 0
    check, backup = cli_all(tmp_path, tmp_path / "archivist.sqlite3", COMMANDS[:2])
    assert check.returncode == 0 and "integrity: ok" in check.stdout, check.stderr
    assert backup.returncode == 0, backup.stderr
    copy = sqlite3.connect(tmp_path / "copy" / "backup.sqlite3")
    try:
        assert copy.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'").fetchone()[0] == 50
    finally:
        copy.close()


KILLED_WRITER = """
import asyncio, sys
from bot.core.db import Database

async def main():
    db = Database(sys.argv[1])
    await db.open()
    for i in range(50):
        await db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{i}", "x" * 3000))
    print("written", flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""
