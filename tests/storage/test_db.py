"""The database layer: pragmas, migrations, transactions, upgrades in place."""

from __future__ import annotations

import pytest

from bot.core.db import CHECKPOINTS, STATEMENTS, Database, _split_sql, migrations
from cogs.config import store as settings_store
from cogs.episodes import store


async def test_pragmas_and_version(db):
    assert (await db.fetchval("PRAGMA journal_mode")).lower() == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.user_version() == migrations()[-1][0]


async def test_reopening_applies_nothing(db, tmp_path):
    await db.close()
    await db.open()
    assert await db.migrate() == []


async def test_upgrade_from_first_migration_keeps_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = Database(path)
    await old.open(target_version=1)
    assert await old.user_version() == 1
    # Written as version 1 had it (today's settings store reads columns later migrations add).
    await old.execute(
        "INSERT INTO guild_settings (guild_id, timezone, host_role_id, updated_at) VALUES (7, 'Europe/Warsaw', 42, 1)"
    )
    await store.create(
        old, guild_id=7, code="1924-01", title="Lenin", description=None, created_by=1,
        forum_id=2, thread_id=3, starter_message_id=4,
    )  # fmt: skip
    await old.close()

    new = Database(path)
    await new.open()
    try:
        assert await new.user_version() == migrations()[-1][0]
        cfg = await settings_store.get(new, 7)
        assert (cfg.timezone, cfg.host_role_id) == ("Europe/Warsaw", 42)
        episode = await store.get_by_code(new, 7, "1924-01")
        assert episode is not None and episode.title == "Lenin"
    finally:
        await new.close()


async def test_failed_migration_rolls_back_everything(tmp_path, monkeypatch):
    path = tmp_path / "broken.sqlite3"
    good = migrations()
    monkeypatch.setattr(
        "bot.core.db.migrations",
        lambda: [*good, (999, "0999_broken.sql", "CREATE TABLE x (a);\nNOT SQL;")],
    )
    db = Database(path)
    with pytest.raises(Exception, match="syntax"):
        await db.open()
    await db.close()
    monkeypatch.undo()
    check = Database(path)
    await check.open(target_version=0)
    try:
        assert await check.user_version() == 0
        assert await check.fetchval("SELECT COUNT(*) FROM sqlite_master WHERE name = 'episodes'") == 0
    finally:
        await check.close()


async def test_transaction_rolls_back_on_error(db):
    async def insert_then_fail():
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO meta (key, value) VALUES ('a', 'b')")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await insert_then_fail()
    assert await db.fetchval("SELECT COUNT(*) FROM meta") == 0


async def test_codes_unique_per_guild_case_insensitive(db):
    kwargs = dict(title="t", description=None, created_by=1, forum_id=2, starter_message_id=4)
    await store.create(db, guild_id=1, code="ab-1", thread_id=10, **kwargs)
    await store.create(db, guild_id=2, code="AB-1", thread_id=11, **kwargs)
    from bot.errors import Conflict

    with pytest.raises(Conflict):
        await store.create(db, guild_id=1, code="AB-1", thread_id=12, **kwargs)
    assert (await store.get_by_code(db, 1, "AB-1")).guild_id == 1


def test_split_sql_keeps_triggers_whole():
    sql = "CREATE TABLE a (x);\n-- comment\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\n  SELECT 2;\nEND;\n"
    parts = _split_sql(sql)
    assert len(parts) == 2 and parts[1].endswith("END;")


async def test_backup_is_a_consistent_copy(db, tmp_path):
    await settings_store.update(db, 5, timezone="Asia/Tokyo")
    target = tmp_path / "backup" / "copy.sqlite3"
    await db.backup_to(target)
    copy = Database(target)
    await copy.open()
    try:
        assert (await settings_store.get(copy, 5)).timezone == "Asia/Tokyo"
        assert await copy.fetchval("PRAGMA integrity_check") == "ok"
    finally:
        await copy.close()


async def test_settings_are_read_once_and_every_update_is_seen(tmp_path):
    db = Database(tmp_path / "cache.sqlite3")
    await db.open()
    try:
        await settings_store.update(db, 3, timezone="Europe/Warsaw")
        before = db.metrics.counter(STATEMENTS)
        for _ in range(5):
            assert (await settings_store.get(db, 3)).timezone == "Europe/Warsaw"
        assert db.metrics.counter(STATEMENTS) - before <= 1
        await settings_store.update(db, 3, timezone="Asia/Tokyo")
        assert (await settings_store.get(db, 3)).timezone == "Asia/Tokyo"
        assert (await settings_store.get(db, 4)).timezone == "UTC"  # a server with no settings yet
        await settings_store.update(db, 4, host_role_id=9)
        assert (await settings_store.get(db, 4)).host_role_id == 9
    finally:
        await db.close()


async def _write_rounds(db, count, *, quiet, first=0):
    """`count` commits; with `quiet`, a running background checkpoint finishes before the next commit
    (a server between bursts), so which commit starts which checkpoint does not depend on timing."""
    for i in range(first, first + count):
        await settings_store.set_meta(db, f"key{i}", "x" * 2000)
        if quiet and db._checkpointing is not None:
            await db._checkpointing


async def _log_frames_after_one_more_write(db) -> int:
    """Frames in the log after one more small write: few when everything before it was copied back
    (the write then starts the log over), hundreds when earlier commits are still only in the log."""
    await settings_store.set_meta(db, "one more", "y")
    busy, log_frames, _ = (await db.fetchall("PRAGMA wal_checkpoint(PASSIVE)"))[0]
    assert busy == 0
    return log_frames


async def test_the_write_ahead_log_is_checkpointed_in_the_background(tmp_path):
    from bot.core import db as db_module

    db = Database(tmp_path / "wal.sqlite3")
    await db.open()
    try:
        assert await db.fetchval("PRAGMA wal_autocheckpoint") == 0  # never inside a member's commit
        written = 0
        # The migrations' commits count too: write up to the first round.
        while db.metrics.counter(CHECKPOINTS) == 0:
            await _write_rounds(db, 1, quiet=True, first=written)
            written += 1
        assert 0 < written <= db_module.CHECKPOINT_EVERY_COMMITS
        await _write_rounds(db, 2 * db_module.CHECKPOINT_EVERY_COMMITS, quiet=True, first=written)
        # One per round, each started by the commit that completed it.
        assert db.metrics.counter(CHECKPOINTS) == 3
        total = written + 2 * db_module.CHECKPOINT_EVERY_COMMITS
        assert await db.fetchval("SELECT COUNT(*) FROM meta WHERE key LIKE 'key%'") == total
        assert await _log_frames_after_one_more_write(db) < 10
    finally:
        await db.close()
    reopened = Database(tmp_path / "wal.sqlite3")
    await reopened.open()
    try:
        assert await reopened.fetchval("SELECT COUNT(*) FROM meta WHERE key LIKE 'key%'") == total
        assert await reopened.fetchval("PRAGMA integrity_check") == "ok"
    finally:
        await reopened.close()


async def test_a_round_committed_during_a_slow_checkpoint_is_checkpointed_when_it_ends(tmp_path, monkeypatch):
    """The race behind a flaky test: a checkpoint still running when the next round fell due was
    skipped, and nothing checkpointed that round until some later commit (perhaps hours later)."""
    import asyncio
    import threading

    from bot.core import db as db_module

    release = threading.Event()
    real = db_module._checkpoint

    def slow_checkpoint(path):
        release.wait(30)  # the first background checkpoint lasts until the test lets it go
        real(path)

    monkeypatch.setattr(db_module, "_checkpoint", slow_checkpoint)
    db = Database(tmp_path / "slow.sqlite3")
    await db.open()
    try:
        await _write_rounds(db, 2 * db_module.CHECKPOINT_EVERY_COMMITS + 50, quiet=False)
        running = db._checkpointing
        assert running is not None and not running.done() and db.metrics.counter(CHECKPOINTS) == 0
        release.set()
        await running
        # The slow one, then one for the commits that landed meanwhile.
        assert db.metrics.counter(CHECKPOINTS) == 2
        assert await _log_frames_after_one_more_write(db) < 10
    finally:
        release.set()
        await asyncio.wait_for(db.close(), 30)


async def test_execute_returns_rows_changed_and_insert_the_new_id(db):
    first = await db.insert("INSERT INTO meta (key, value) VALUES ('a', '1')")
    second = await db.insert("INSERT INTO meta (key, value) VALUES ('b', '2')")
    assert first is not None and second is not None and second != first
    assert await db.insert("INSERT OR IGNORE INTO meta (key, value) VALUES ('a', '3')") is None
    assert (
        await db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('c', '3')") == 1
    )  # rows, not an id
    assert await db.execute("UPDATE meta SET value = 'x'") == 3
    assert await db.execute("DELETE FROM meta WHERE key = 'zzz'") == 0
    async with db.transaction() as tx:
        assert await tx.insert("INSERT OR IGNORE INTO meta (key, value) VALUES ('a', '4')") is None
        new_id = await tx.insert("INSERT INTO meta (key, value) VALUES ('d', '4')")
        assert new_id is not None and new_id > second
        assert await tx.execute("DELETE FROM meta WHERE key IN ('c', 'd')") == 2
        assert await tx.executemany("UPDATE meta SET value = ? WHERE key = ?", [("y", "a"), ("y", "b")]) == 2
