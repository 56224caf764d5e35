"""Migration 0011 (the forum import) on a copy of a database made by the version before it: every
contribution, like, mark, removal and number kept, the full-text index still right and still kept up
to date, and the new rules (forum authors, the `forum` origin) enforced."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from bot.core.db import Database
from cogs.episodes import store as episode_store
from cogs.research import likes_store, store

GUILD, ALICE, BOB, HOST = 1001, 11, 12, 13
OLD_COLUMNS = (
    "id, guild_id, episode_id, author_id, origin, title, body, sources, attachments, links, channel_id, "
    "message_id, jump_url, reply_to_message_id, added_by, created_at, edited_at, author_name, mark"
)


def rows(path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def matches(path, query: str) -> list[int]:
    return [
        r[0]
        for r in rows(
            path,
            "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? ORDER BY rowid",
            (query,),
        )
    ]


async def make_old_database(path) -> None:
    """A database as the previous version leaves it: research of every origin, likes, marks, a removal."""
    db = Database(path)
    await db.open(target_version=10)
    try:
        first = await episode_store.create(
            db, guild_id=GUILD, code="1924-01", title="Lenin's Death", description=None, created_by=HOST,
            forum_id=1, thread_id=5000, starter_message_id=5001,
        )  # fmt: skip
        second = await episode_store.create(
            db, guild_id=GUILD, code="1925-10", title="Locarno", description=None, created_by=HOST,
            forum_id=1, thread_id=6000, starter_message_id=6001,
        )  # fmt: skip

        def thread(ep, message_id, body, author=ALICE, **kw):
            return store.NewContribution(
                guild_id=GUILD, episode_id=ep.id, author_id=author, origin="thread", body=body,
                created_at=1_700_000_000 + message_id, channel_id=ep.thread_id, message_id=message_id,
                author_name="veles" if author == ALICE else "spartacus", **kw,
            )  # fmt: skip

        await store.add(db, thread(first, 10, "Lenin died on 21 January 1924 at Gorki."))
        nitpick = await store.add(
            db,
            thread(first, 11, "Krupskaya is the correct spelling, not Krupska.", BOB, reply_to_message_id=10),
        )
        await store.add(
            db,
            store.NewContribution(
                guild_id=GUILD, episode_id=first.id, author_id=BOB, origin="form", title="Funeral",
                body="Moscow filed past the coffin for four days.", sources="Service, Lenin (2000)",
                created_at=1_700_000_100,
            ),
        )  # fmt: skip
        await store.add(
            db,
            store.NewContribution(
                guild_id=GUILD, episode_id=second.id, author_id=ALICE, origin="menu", added_by=HOST,
                body="Stresemann at Locarno, October 1925.", channel_id=77, message_id=78, created_at=1_700_000_200,
                attachments=(store.Attachment("map.png", "https://cdn.example/map.png"),),
            ),
        )  # fmt: skip
        gone = await store.add(db, thread(first, 12, "A typo I posted twice."))
        await db.execute("DELETE FROM contributions WHERE id = ?", (gone.id,))  # as /research remove did
        await db.execute(
            "INSERT INTO removed_messages (episode_id, message_id, removed_by, removed_at) VALUES (?, 12, ?, 1)",
            (first.id, HOST),
        )
        await store.set_mark(db, first.id, nitpick.id, "key", HOST)
        for user, emoji in [(BOB, "👍"), (HOST, "❤️"), (HOST, "🤔")]:
            await likes_store.add_like(db, 10, user, emoji)
        await likes_store.add_like(db, 11, ALICE, "👍")
    finally:
        await db.close()


async def test_migration_0011_keeps_everything_on_a_copy_of_an_older_database(tmp_path):
    old = tmp_path / "old.sqlite3"
    await make_old_database(old)
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(old, copy)
    before = rows(old, f"SELECT {OLD_COLUMNS} FROM contributions ORDER BY id")
    likes = rows(old, "SELECT * FROM contribution_likes ORDER BY 1, 2, 3")
    sequence = rows(old, "SELECT seq FROM sqlite_sequence WHERE name = 'contributions'")
    indexes = {
        r[0]
        for r in rows(
            old, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contributions'"
        )
    }
    searches = {q: matches(old, q) for q in ("krupskaya", "coffin", "stresemann", "typo", "service")}
    assert len(before) == 4 and sequence == [(5,)] and searches["krupskaya"] == [2]

    db = Database(copy)
    await db.open(target_version=11)
    try:
        assert await db.user_version() == 11
        assert rows(copy, f"SELECT {OLD_COLUMNS} FROM contributions ORDER BY id") == before
        assert rows(copy, "SELECT * FROM contribution_likes ORDER BY 1, 2, 3") == likes
        assert rows(copy, "SELECT seq FROM sqlite_sequence WHERE name = 'contributions'") == sequence
        assert {q: matches(copy, q) for q in searches} == searches
        assert (
            rows(copy, "SELECT forum_author_id, forum_likes, reply_to_id FROM contributions")
            == [(None, 0, None)] * 4
        )
        new_indexes = {
            r[0]
            for r in rows(
                copy, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contributions'"
            )
        }
        assert new_indexes == indexes | {"contributions_forum_author"}
        assert rows(copy, "PRAGMA foreign_key_check") == []
        assert rows(copy, "PRAGMA quick_check") == [("ok",)]
        await db.execute("INSERT INTO contributions_fts (contributions_fts) VALUES ('integrity-check')")
        # The stored research reads as before: likes, marks, replies, attachments.
        research = await store.for_episode(db, 1)
        assert [(c.id, c.likes, c.mark, c.reply_to_message_id) for c in research] == [
            (1, 2, "normal", None), (2, 1, "key", 10), (3, 0, "normal", None),
        ]  # fmt: skip
        [menu] = await store.for_episode(db, 2)
        assert (menu.added_by, menu.attachments[0].filename) == (HOST, "map.png")
    finally:
        await db.close()


async def test_the_migrated_table_keeps_its_index_and_rules_up_to_date(tmp_path):
    path = tmp_path / "old.sqlite3"
    await make_old_database(path)
    db = Database(path)
    await db.open()
    try:
        # A new number is never one given before (5 was removed).
        added = await store.add(
            db,
            store.NewContribution(
                guild_id=GUILD, episode_id=1, author_id=ALICE, origin="thread", body="Dzierżyński sided with Stalin.",
                created_at=1_700_000_300, channel_id=5000, message_id=13,
            ),
        )  # fmt: skip
        assert added.id == 6 and matches(path, "dzierzynski") == [6]
        await store.update_message(db, 13, body="Frunze died in 1925.", links=[], attachments=[], edited_at=1)
        assert matches(path, "dzierzynski") == [] and matches(path, "frunze") == [6]
        assert await store.delete_messages(db, [13]) == [1]
        assert matches(path, "frunze") == []
        # Deleting a contribution still takes its likes with it.
        await db.execute("DELETE FROM contributions WHERE id = 1")
        assert rows(path, "SELECT COUNT(*) FROM contribution_likes WHERE contribution_id = 1") == [(0,)]
        # A forum author: no member, a forum name, the `forum` origin.
        author = await db.insert(
            "INSERT INTO forum_authors (guild_id, forum, username, created_at) VALUES (?, 'https://f', 'Ardent', 1)",
            (GUILD,),
        )
        await db.execute(
            "INSERT INTO contributions (guild_id, episode_id, forum_author_id, author_name, origin, body, created_at) "
            "VALUES (?, 1, ?, 'Ardent', 'forum', 'Krupskaya, with a y.', 1)",
            (GUILD, author),
        )
        assert matches(path, "krupskaya") == [2, 7]
        with pytest.raises(sqlite3.IntegrityError):  # neither a member nor a forum name
            await db.execute(
                "INSERT INTO contributions (guild_id, episode_id, origin, body, created_at) VALUES (?, 1, 'forum', 'x', 1)",
                (GUILD,),
            )
        with pytest.raises(sqlite3.IntegrityError):
            await db.execute(
                "INSERT INTO contributions (guild_id, episode_id, author_id, origin, body, created_at) "
                "VALUES (?, 1, ?, 'mail', 'x', 1)",
                (GUILD, ALICE),
            )
        with pytest.raises(sqlite3.IntegrityError):  # forum names are per server and forum, any case
            await db.execute(
                "INSERT INTO forum_authors (guild_id, forum, username, created_at) VALUES (?, 'https://f', 'ARDENT', 1)",
                (GUILD,),
            )
    finally:
        await db.close()
