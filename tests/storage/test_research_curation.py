"""Curation and like emoji on a real SQLite file: migration 0010 over an existing database, marks, and
likes counted from the server's like emoji when read."""

from __future__ import annotations

import sqlite3

import pytest
import pytest_asyncio

from bot.core.db import Database
from cogs.config import store as config_store
from cogs.episodes import store as episode_store
from cogs.research import store

GUILD, ALICE, BOB, HOST = 1001, 11, 12, 13
THREAD = 5000


@pytest_asyncio.fixture
async def db(tmp_path):
    database = Database(tmp_path / "x.sqlite3")
    await database.open()
    yield database
    await database.close()


async def make_episode(db, code="1924-01"):
    return await episode_store.create(
        db, guild_id=GUILD, code=code, title="Lenin's Death", description=None, created_by=HOST,
        forum_id=1, thread_id=THREAD, starter_message_id=THREAD + 1,
    )  # fmt: skip


async def test_migration_0010_keeps_contributions_and_settings(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = Database(path)
    await old.open(target_version=9)
    ep = await make_episode(old)
    await old.execute(
        "INSERT INTO contributions (guild_id, episode_id, author_id, origin, body, created_at, message_id) "
        "VALUES (?, ?, ?, 'thread', 'Lenin died on 21 January 1924 in Gorki.', 1, 77)",
        (GUILD, ep.id, ALICE),
    )
    await old.execute(
        "INSERT INTO contribution_likes (contribution_id, user_id, emoji) VALUES (1, ?, '👍'), (1, ?, '🤔')",
        (BOB, HOST),
    )
    await old.execute(
        "INSERT INTO guild_settings (guild_id, timezone, updated_at) VALUES (?, 'Europe/Berlin', 1)", (GUILD,)
    )
    await old.close()

    new = Database(path)
    await new.open()
    try:
        [row] = await store.for_episode(new, ep.id)
        assert (row.id, row.mark, row.body) == (1, "normal", "Lenin died on 21 January 1924 in Gorki.")
        cfg = await config_store.get(new, GUILD)
        assert (cfg.timezone, cfg.like_emoji) == ("Europe/Berlin", None)
        with pytest.raises(sqlite3.IntegrityError):
            await new.execute("UPDATE contributions SET mark = 'important' WHERE id = 1")
    finally:
        await new.close()
