"""Contributions storage against a real SQLite file: dedupe, edits, deletions, likes, removals and
the full-text index staying consistent with the table."""

from __future__ import annotations

import pytest

from bot.core.db import Database
from bot.errors import InvalidInput
from cogs.episodes import store as episode_store
from cogs.research import export, likes_store, search_store, store
from cogs.research.export import Person
from cogs.research.rules import build_fts_query
from cogs.research.store import Attachment, NewContribution

GUILD, OTHER_GUILD = 1001, 2002
ALICE, BOB, HOST = 11, 12, 13
THREAD = 5000


async def make_episode(db, code="1924-01", guild=GUILD, thread=THREAD):
    return await episode_store.create(
        db,
        guild_id=guild,
        code=code,
        title="Lenin's Death",
        description=None,
        created_by=HOST,
        forum_id=1,
        thread_id=thread,
        starter_message_id=thread + 1,
    )


def post(episode, message_id, body, author=ALICE, origin="thread", **kw) -> NewContribution:
    return NewContribution(
        guild_id=episode.guild_id,
        episode_id=episode.id,
        author_id=author,
        origin=origin,
        body=body,
        created_at=1_700_000_000 + message_id,
        channel_id=episode.thread_id,
        message_id=message_id,
        jump_url=f"https://discord.com/channels/{episode.guild_id}/{episode.thread_id}/{message_id}",
        **kw,
    )


async def found(db, text, guild=GUILD, episode_id=None) -> list[int]:
    return [h.id for h in await search_store.search(db, guild, build_fts_query(text), episode_id=episode_id)]


async def fts_consistent(db) -> None:
    # FTS5's own check: raises when the index and the content table disagree.
    await db.execute("INSERT INTO contributions_fts (contributions_fts, rank) VALUES ('integrity-check', 1)")


async def test_same_message_is_stored_once_and_last_seen_moves(db):
    ep = await make_episode(db)
    first = await store.add(db, post(ep, 10, "Lenin died in January 1924."), seen=True)
    again = await store.add(db, post(ep, 10, "Lenin died in January 1924."), seen=True)
    assert first.created and not again.created and again.id == first.id
    await store.add(db, post(ep, 8, "An older message"), seen=True)
    assert (await episode_store.get(db, ep.id)).last_seen_message_id == 10
    assert len(await store.for_episode(db, ep.id)) == 2


async def test_fts_follows_edits_deletes_and_removals(db):
    ep = await make_episode(db)
    a = await store.add(db, post(ep, 10, "Krupska was his widow."))
    b = await store.add(db, post(ep, 11, "Petrograd was renamed Leningrad.", author=BOB))
    assert await found(db, "krupska") == [a.id]

    changed = await store.update_message(
        db, 10, body="Krupskaya was his widow.", links=[], attachments=[], edited_at=1_700_000_100
    )
    assert changed == [ep.id]
    assert await found(db, "krupska") == []
    assert await found(db, "krupskaya") == [a.id]
    assert (await store.get(db, GUILD, a.id)).edited_at is not None

    assert await store.delete_messages(db, [11]) == [ep.id]
    assert await found(db, "leningrad") == []
    assert await store.get(db, GUILD, b.id) is None
    await fts_consistent(db)

    row = await store.get(db, GUILD, a.id)
    assert await store.remove(db, row, HOST)
    assert not await store.remove(db, row, HOST)
    assert await found(db, "krupskaya") == []
    await fts_consistent(db)


async def test_unchanged_edits_touch_nothing_and_forms_ignore_message_events(db):
    ep = await make_episode(db)
    await store.add(db, post(ep, 10, "Same text"))
    assert (
        await store.update_message(db, 10, body="Same text", links=[], attachments=[], edited_at=None) == []
    )
    form = await store.add(
        db, post(ep, 20, "Form body", origin="form", title="Mausoleum", sources="Service, Lenin")
    )
    assert await store.update_message(db, 20, body="", links=[], attachments=[], edited_at=None) == []
    assert await store.delete_messages(db, [20]) == []
    kept = await store.get(db, GUILD, form.id)
    assert kept.body == "Form body" and kept.title == "Mausoleum"
    assert await found(db, "mausoleum") == [form.id]  # titles are indexed
    assert await found(db, "service") == [form.id]  # and sources


async def test_attachment_changes_count_as_edits(db):
    ep = await make_episode(db)
    await store.add(db, post(ep, 10, "map", attachments=(Attachment("a.png", "https://cdn/a.png"),)))
    assert await store.update_message(db, 10, body="map", links=[], attachments=[], edited_at=None) == [ep.id]
    assert (await store.for_episode(db, ep.id))[0].attachments == ()


async def test_likes_count_members_once_and_unlike(db):
    ep = await make_episode(db)
    a = await store.add(db, post(ep, 10, "fact"))
    await likes_store.add_like(db, 10, BOB, "👍")
    await likes_store.add_like(db, 10, BOB, "❤️")
    await likes_store.add_like(db, 10, HOST, "👍")
    await likes_store.add_like(db, 10, HOST, "👍")  # same reaction twice: once
    assert (await store.get(db, GUILD, a.id)).likes == 2
    assert (await likes_store.likers(db, ep.id))[a.id] == sorted([BOB, HOST])
    await likes_store.remove_like(db, 10, BOB, "👍")
    assert (await store.get(db, GUILD, a.id)).likes == 2  # bob still ❤️
    await likes_store.remove_like(db, 10, BOB, "❤️")
    assert (await store.get(db, GUILD, a.id)).likes == 1
    assert await likes_store.like_counts(db, ep.id, THREAD) == {10: {"👍": 1}}
    await likes_store.replace_likes(db, 10, [(ALICE, "🔥"), (BOB, "🔥")])
    assert await likes_store.like_counts(db, ep.id, THREAD) == {10: {"🔥": 2}}
    await likes_store.clear_likes(db, 10, "🔥")
    assert (await store.get(db, GUILD, a.id)).likes == 0
    assert await likes_store.add_like(db, 999, BOB, "👍") == 0  # not research: nothing stored


async def test_removed_messages_are_not_collected_again_unless_added_on_purpose(db):
    ep = await make_episode(db)
    a = await store.add(db, post(ep, 10, "fact"))
    await store.remove(db, await store.get(db, GUILD, a.id), ALICE)
    assert await store.removed_message_ids(db, ep.id) == {10}
    skipped = await store.add(db, post(ep, 10, "fact"), respect_removals=True)
    assert skipped.id is None and not skipped.created
    again = await store.add(db, post(ep, 10, "fact", origin="menu", added_by=BOB))
    assert again.created
    assert await store.removed_message_ids(db, ep.id) == set()
    events = [e for e in await episode_store.history(db, ep.id) if e.kind == "contribution_removed"]
    assert [(e.actor_id, e.subject_id, e.from_value, e.note) for e in events] == [
        (ALICE, ALICE, str(a.id), "fact")
    ]


async def test_search_stays_in_its_server_and_episode(db):
    ep = await make_episode(db)
    ep2 = await make_episode(db, code="1925-01", thread=THREAD + 100)
    elsewhere = await make_episode(db, guild=OTHER_GUILD, thread=THREAD + 200)
    a = await store.add(db, post(ep, 10, "Lenin died in Gorki."))
    b = await store.add(db, post(ep2, 110, "Lenin's testament was read in May 1924."))
    c = await store.add(db, post(elsewhere, 210, "Lenin everywhere"))
    assert sorted(await found(db, "lenin")) == sorted([a.id, b.id])
    assert await found(db, "lenin", episode_id=ep2.id) == [b.id]
    assert await found(db, "lenin", guild=OTHER_GUILD) == [c.id]
    assert await store.get(db, OTHER_GUILD, a.id) is None
    hit = (await search_store.search(db, GUILD, build_fts_query("gorki")))[0]
    assert hit.episode_code == "1924-01"
    assert f"{store.HIT_START}Gorki{store.HIT_END}" in hit.snippet


async def test_search_ranks_titles_above_passing_mentions(db):
    ep = await make_episode(db)
    passing = await store.add(
        db, post(ep, 10, "Many things happened; the Cheka was one of them among many others.")
    )
    titled = await store.add(db, post(ep, 11, "Founded in 1917.", origin="form", title="The Cheka"))
    assert await found(db, "cheka") == [titled.id, passing.id]


@pytest.mark.parametrize(
    "text",
    ['"', '""', "AND OR", "*", "NEAR(", "NEAR(a b, 2)", "a:b", "^start", "(", ")", "-x", "+", "NOT",
     "Ленин", "Dzierżyński", "🙂 lenin", "x" * 300, "a\x00b", "'; DROP TABLE contributions; --", '"unbalanced phrase'],
)  # fmt: skip
async def test_any_text_is_a_valid_query(db, text):
    ep = await make_episode(db)
    await store.add(db, post(ep, 10, "Lenin and Dzierżyński, AND or OR: near the Cheka (Ленин)."))
    if not any(ch.isalnum() for ch in text):
        with pytest.raises(InvalidInput):  # a clear message, not an FTS5 syntax error
            build_fts_query(text)
        return
    await search_store.search(db, GUILD, build_fts_query(text))


async def test_contributors_in_order_of_first_contribution(db):
    ep = await make_episode(db)
    await store.add(db, post(ep, 10, "a", author=ALICE, author_name="Veles"))
    await store.add(db, post(ep, 11, "b", author=BOB, author_name="Spartacus"))
    await store.add(db, post(ep, 12, "c", author=BOB, author_name="Spartacus"))
    assert await store.contributor_ids(db, ep.id) == [ALICE, BOB]


async def test_bulk_seed_and_newest_first(db):
    ep = await make_episode(db)
    await store.add_many(db, [post(ep, i, f"fact {i}") for i in range(1, 51)])
    rows = await store.for_episode(db, ep.id, newest_first=True)
    assert len(rows) == 50 and rows[0].body == "fact 50"
    assert [r.body for r in await store.for_episode(db, ep.id, author_id=BOB)] == []
    await fts_consistent(db)


async def test_search_ranks_only_the_most_recent_candidates(db):
    ep = await make_episode(db)
    await store.add_many(db, [post(ep, i, f"Stalin note {i}") for i in range(1, 31)])
    hits = await search_store.search(db, GUILD, build_fts_query("stalin"), limit=50, candidates=10)
    assert len(hits) == 30  # every match: the ten ranked ones first, then the older ones
    by_age = [r.id for r in await store.for_episode(db, ep.id, newest_first=True)]
    assert {h.id for h in hits[:10]} == set(by_age[:10])
    assert [h.id for h in hits[10:]] == by_age[10:]


async def test_search_pages_reach_every_match_once(db):
    ep = await make_episode(db)
    await store.add_many(db, [post(ep, i, f"Stalin note {i}") for i in range(1, 32)])
    match = build_fts_query("stalin")
    assert await search_store.count_matches(db, GUILD, match) == 31
    assert await search_store.count_matches(db, GUILD, match, episode_id=ep.id) == 31
    assert await search_store.count_matches(db, GUILD + 1, match) == 0
    assert await search_store.count_matches(db, GUILD + 1, match, episode_id=ep.id) == 0
    for candidates in (1, 7, 10, 31, 100):
        seen = []
        for offset in range(0, 40, 6):
            seen += [
                h.id
                for h in await search_store.search(
                    db, GUILD, match, limit=6, offset=offset, candidates=candidates
                )
            ]
        assert len(seen) == len(set(seen)) == 31, candidates
    whole = [h.id for h in await search_store.search(db, GUILD, match, limit=100, candidates=10)]
    paged = [
        h.id
        for o in range(0, 31, 4)
        for h in await search_store.search(db, GUILD, match, limit=4, offset=o, candidates=10)
    ]
    assert paged == whole


async def test_dossier_entries_link_replies_and_likes(db):
    ep = await make_episode(db)
    first = await store.add(db, post(ep, 10, "Krupska was his widow."))
    await store.add(db, post(ep, 11, "Krupskaya, not Krupska.", author=BOB, reply_to_message_id=10))
    await store.add(
        db, post(ep, 12, "Answer to a message nobody collected", author=BOB, reply_to_message_id=3)
    )
    await likes_store.add_like(db, 10, BOB, "👍")
    await likes_store.add_like(db, 10, HOST, "👍")
    rows, liked = await store.for_episode(db, ep.id), await likes_store.likers(db, ep.id)
    entries = export.entries_of(rows, liked, lambda uid, name: Person(uid, name or f"m{uid}"))
    assert entries[0].body == "Krupska was his widow."
    assert entries[0].likes == 2 and entries[0].liked_by == (BOB, HOST)
    assert entries[1].reply_to_id == first.id and entries[1].author == Person(BOB, f"m{BOB}")
    assert entries[2].reply_to_id is None and entries[2].reply_to_message_id == 3


async def test_upgrading_an_existing_database_indexes_its_contributions(tmp_path):
    database = Database(tmp_path / "old.sqlite3")
    await database.open(target_version=2)
    try:
        ep = await make_episode(database)
        await database.execute(
            "INSERT INTO contributions (guild_id, episode_id, author_id, origin, body, created_at) "
            "VALUES (?, ?, ?, 'thread', 'Petrograd was renamed Leningrad.', 1)",
            (GUILD, ep.id, ALICE),
        )
        await database.migrate()
        assert len(await found(database, "leningrad")) == 1
        assert await found(database, "leningrad", guild=OTHER_GUILD) == []
        await fts_consistent(database)
    finally:
        await database.close()
