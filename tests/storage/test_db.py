"""The database layer: pragmas, migrations, transactions, upgrades in place."""

from __future__ import annotations

import pytest

from bot.storage import episodes as store
from bot.storage import settings as settings_store
from bot.storage.db import Database, _split_sql, migrations


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "t.sqlite3")
    await database.open()
    yield database
    await database.close()


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
    await settings_store.update(old, 7, timezone="Europe/Warsaw", host_role_id=42)
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
        "bot.storage.db.migrations",
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
        before = db.queries
        for _ in range(5):
            assert (await settings_store.get(db, 3)).timezone == "Europe/Warsaw"
        assert db.queries - before <= 1
        await settings_store.update(db, 3, timezone="Asia/Tokyo")
        assert (await settings_store.get(db, 3)).timezone == "Asia/Tokyo"
        assert (await settings_store.get(db, 4)).timezone == "UTC"  # a server with no settings yet
        await settings_store.update(db, 4, host_role_id=9)
        assert (await settings_store.get(db, 4)).host_role_id == 9
    finally:
        await db.close()


async def test_the_write_ahead_log_is_checkpointed_in_the_background(tmp_path):
    from bot.storage import db as db_module

    db = Database(tmp_path / "wal.sqlite3")
    await db.open()
    try:
        assert await db.fetchval("PRAGMA wal_autocheckpoint") == 0  # never inside a member's commit
        for i in range(db_module.CHECKPOINT_EVERY_COMMITS * 3):
            await settings_store.set_meta(db, f"key{i}", "x" * 2000)
        await db._checkpointing
        assert db.checkpoints >= 2
        # Everything written is there, and what remains in the log is less than one round of commits.
        assert await db.fetchval("SELECT COUNT(*) FROM meta WHERE key LIKE 'key%'") == 300
        # Once a background checkpoint has copied the log, the next write starts it over.
        await settings_store.set_meta(db, "one more", "y")
        busy, log_frames, _ = (await db.fetchall("PRAGMA wal_checkpoint(PASSIVE)"))[0]
        assert busy == 0 and log_frames < 10
    finally:
        await db.close()
    reopened = Database(tmp_path / "wal.sqlite3")
    await reopened.open()
    try:
        assert await reopened.fetchval("SELECT COUNT(*) FROM meta WHERE key LIKE 'key%'") == 300
        assert await reopened.fetchval("PRAGMA integrity_check") == "ok"
    finally:
        await reopened.close()
