"""Curation and like emoji on a real SQLite file: migration 0010 over an existing database, marks, and
likes counted from the server's like emoji when read."""

from __future__ import annotations

import sqlite3

import pytest

from bot.core.db import Database
from cogs.config import store as config_store
from cogs.episodes import store as episode_store
from cogs.research import likes_store, search_store, store
from cogs.research.rules import like_emoji, like_key

GUILD, ALICE, BOB, HOST = 1001, 11, 12, 13
THREAD = 5000


async def make_episode(db, code="1924-01", thread=THREAD):
    return await episode_store.create(
        db, guild_id=GUILD, code=code, title="Lenin's Death", description=None, created_by=HOST,
        forum_id=1, thread_id=thread, starter_message_id=thread + 1,
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


def thread_post(ep, message_id, body, author=ALICE) -> store.NewContribution:
    return store.NewContribution(
        guild_id=GUILD, episode_id=ep.id, author_id=author, origin="thread", body=body,
        created_at=1_700_000_000 + message_id, channel_id=THREAD, message_id=message_id,
    )  # fmt: skip


STORED_EMOJI = [
    "👍", "👍🏽", "❤️", "❤", "⭐", "🔥", "❌", "🤔", "📜", "1️⃣", "🇵🇱", "👩🏾‍🔬", "🏳️‍🌈",
    "<:archive:123456789012345678>", "<a:spin9:123456789012345679>", "<:x_1:42>",
]  # fmt: skip


async def test_sql_reads_an_emoji_the_way_the_rules_do(db):
    """Likes are filtered in SQL (`likes_store.emoji_key`) by keys made in Python (`rules.like_key`):
    the two must agree on every kind of emoji a reaction can carry."""
    for emoji in STORED_EMOJI:
        in_sql = await db.fetchval(f"SELECT {likes_store.emoji_key(':e')}", {"e": emoji})
        assert in_sql == like_key(emoji), emoji


async def test_likes_are_the_reactions_with_like_emoji_each_member_once(db):
    ep = await make_episode(db)
    first = (await store.add(db, thread_post(ep, 10, "Lenin died in 1924."))).id
    second = (await store.add(db, thread_post(ep, 11, "Petrograd became Leningrad."))).id
    for user, emoji in [(BOB, "👍"), (BOB, "❤️"), (HOST, "👍🏽"), (ALICE, "❌"), (HOST, "🤔")]:
        await likes_store.add_like(db, 10, user, emoji)
    await likes_store.add_like(db, 11, BOB, "📜")

    default = like_emoji(None).keys
    assert (await store.get(db, GUILD, first, default)).likes == 2
    assert await likes_store.likers(db, ep.id, default) == {first: [BOB, HOST]}
    _, page = await search_store.page_for_episode(db, ep.id, offset=0, limit=5, like_keys=default)
    assert [(c.id, c.likes) for c in page] == [(second, 0), (first, 2)]

    scroll = like_emoji("📜 🤔").keys
    assert [c.likes for c in await store.for_episode(db, ep.id, like_keys=scroll)] == [1, 1]
    assert await likes_store.likers(db, ep.id, scroll) == {first: [HOST], second: [BOB]}
    # Every reaction stays stored, likes or not.
    assert await likes_store.like_counts(db, ep.id, THREAD) == {
        10: {"👍": 1, "❤️": 1, "👍🏽": 1, "❌": 1, "🤔": 1},
        11: {"📜": 1},
    }


async def test_a_mark_is_one_conditional_write_recorded_in_the_history(db):
    ep = await make_episode(db)
    other = await make_episode(db, "1925-01", thread=THREAD + 10)
    number = (await store.add(db, thread_post(ep, 10, "ok thanks!", author=BOB))).id

    marked = await store.set_mark(db, ep.id, number, "excluded", HOST)
    assert (marked.old, marked.new, marked.changed, marked.author_id) == ("normal", "excluded", True, BOB)
    again = await store.set_mark(db, ep.id, number, "excluded", HOST)
    assert not again.changed
    assert await store.set_mark(db, other.id, number, "key", HOST) is None  # not that episode's
    assert await store.set_mark(db, ep.id, 999, "key", HOST) is None
    with pytest.raises(ValueError, match="unknown mark"):
        await store.set_mark(db, ep.id, number, "important", HOST)
    assert (await store.get(db, GUILD, number)).mark == "excluded"
    events = [e for e in await episode_store.history(db, ep.id) if e.kind == "contribution_marked"]
    assert [(e.actor_id, e.subject_id, e.from_value, e.to_value, e.note) for e in events] == [
        (HOST, BOB, "normal", "excluded", f"#{number}: ok thanks!")
    ]
