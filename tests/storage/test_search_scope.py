"""`/research search` without the per-server scope term: a server that holds every contribution stored
searches the whole index, and finds the same matches in the same order as the scoped search did; servers
sharing a database stay apart; a count too long to make is bounded; words in very many contributions are
listed newest first."""

from __future__ import annotations

import random

import pytest

from cogs.episodes import store as episode_store
from cogs.research import search_store, store
from cogs.research.rules import build_fts_query
from cogs.research.store import NewContribution

GUILD, OTHER = 1001, 2002


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


WORDS = words(
    "Lenin died on 21 January 1924 at Gorki Krupskaya his widow Stalin general secretary Trotsky Zinoviev "
    "Kamenev Petrograd renamed Leningrad congress party testament mausoleum embalmed the of and a"
)
QUERIES = ["Lenin", "the", "Krupskaya widow", "Stalin OR Trotsky", '"general secretary"', "Len*", "Gorki the",
           "1924", "nothing"]  # fmt: skip


async def seed(db, guild=GUILD, n=120, seed=1924) -> list[int]:
    rng = random.Random(seed)
    episodes = []
    for i in range(3):
        ep = await episode_store.create(
            db, guild_id=guild, code=f"1924-0{i}", title="Lenin's Death", description=None, created_by=13,
            forum_id=1, thread_id=guild * 10 + i, starter_message_id=1,
        )  # fmt: skip
        episodes.append(ep.id)
    rows = [
        NewContribution(
            guild_id=guild, episode_id=episodes[k % 3], author_id=11 + k % 4, origin="form" if k % 7 == 0 else "thread",
            body=" ".join(rng.choices(WORDS, k=rng.randint(3, 40))), title=" ".join(rng.choices(WORDS, k=3)) if k % 7 == 0 else None,
            sources="Service, Lenin: A Biography" if k % 5 == 0 else None, created_at=1_700_000_000 + k,
            channel_id=5, message_id=guild * 100_000 + k,
        )
        for k in range(n)
    ]  # fmt: skip
    await store.add_many(db, rows)
    return episodes


async def scoped_search(
    db, guild, match, episode_id, limit, offset, candidates=search_store.SEARCH_CANDIDATES
):
    """The search as it was: a scope term for the server, bm25 over the most recent candidates."""
    scope = f'"e{episode_id}"' if episode_id else f'"g{guild}"'
    scoped = f"scope : {scope} AND {{title body sources}} : ({match})"
    total = await db.fetchval(
        "SELECT COUNT(*) FROM contributions_fts WHERE contributions_fts MATCH ?", (scoped,)
    )
    threshold = await db.fetchval(
        "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        (scoped, candidates - 1),
    )
    ids = []
    if offset < candidates:
        ids = [
            r[0]
            for r in await db.fetchall(
                "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? AND rowid >= ? "
                "ORDER BY bm25(contributions_fts, 4.0, 1.0, 2.0, 0.0), rowid DESC LIMIT ? OFFSET ?",
                (scoped, threshold or 0, limit, offset),
            )
        ]
    if threshold is not None and len(ids) < limit:
        ids += [
            r[0]
            for r in await db.fetchall(
                "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? AND rowid < ? "
                "ORDER BY rowid DESC LIMIT ? OFFSET ?",
                (scoped, threshold, limit - len(ids), max(offset - candidates, 0)),
            )
        ]
    return total, ids


async def assert_as_before(db, guild, episode_id=None, candidates=search_store.SEARCH_CANDIDATES):
    for query in QUERIES:
        match = build_fts_query(query)
        for offset, limit in ((0, 6), (6, 6), (30, 7), (0, 500)):
            page = await search_store.search_page(
                db, guild, match, episode_id=episode_id, limit=limit, offset=offset, candidates=candidates
            )
            total, ids = await scoped_search(db, guild, match, episode_id, limit, offset, candidates)
            assert (page.total, page.exact, [h.id for h in page.hits]) == (total, True, ids), (query, offset)


async def test_a_server_alone_in_the_database_finds_what_the_scoped_search_found(db):
    episodes = await seed(db)
    await assert_as_before(db, GUILD)
    await assert_as_before(db, GUILD, candidates=10)
    await assert_as_before(db, GUILD, episode_id=episodes[1])


async def test_servers_sharing_a_database_find_only_their_own(db):
    mine = await seed(db)
    theirs = await seed(db, OTHER, n=60, seed=1917)
    for guild, episodes in ((GUILD, mine), (OTHER, theirs)):
        await assert_as_before(db, guild)
        await assert_as_before(db, guild, episode_id=episodes[0])
        hits = await search_store.search(db, guild, build_fts_query("Lenin OR the"), limit=1000)
        owners = {r[0] for r in await db.fetchall(
            f"SELECT DISTINCT guild_id FROM contributions WHERE id IN ({','.join(str(h.id) for h in hits)})")}  # fmt: skip
        assert owners == {guild}
    other_episode = await search_store.search_page(db, GUILD, build_fts_query("Lenin"), episode_id=theirs[0])
    assert (other_episode.total, other_episode.hits) == (0, [])


async def test_words_that_look_like_the_scope_match_only_what_members_wrote(db):
    episodes = await seed(db, n=30)
    for word in (f"g{GUILD}", f"e{episodes[0]}", f"G{GUILD}", f"e{episodes[0]}*", "g10*"):
        page = await search_store.search_page(db, GUILD, build_fts_query(word))
        assert (page.total, page.hits) == (0, []), word
    written = await store.add(
        db,
        NewContribution(guild_id=GUILD, episode_id=episodes[0], author_id=11, origin="thread", created_at=1,
                        body=f"The archive shelf mark is g{GUILD}.", channel_id=5, message_id=9),
    )  # fmt: skip
    page = await search_store.search_page(db, GUILD, build_fts_query(f"g{GUILD}"))
    assert [h.id for h in page.hits] == [written.id] and page.total == 1


async def test_a_count_past_the_bound_reads_as_more_and_paging_still_reaches_every_match(db, monkeypatch):
    await seed(db)
    match = build_fts_query("the")
    every = (await search_store.search_page(db, GUILD, match, limit=1000)).total
    assert every > 30
    monkeypatch.setattr(search_store, "COUNT_MAX", 10)
    first = await search_store.search_page(db, GUILD, match, limit=6)
    assert (first.total, first.exact, len(first.hits)) == (10, False, 6)  # "10+"
    seen, offset = [], 0
    while True:
        page = await search_store.search_page(db, GUILD, match, limit=6, offset=offset)
        seen += [h.id for h in page.hits]
        offset += len(page.hits)
        if offset >= page.total:  # the pager's Next button
            break
    assert len(seen) == len(set(seen)) == every
    assert page.exact and page.total == every
    assert await search_store.count_matches(db, GUILD, match) == 11  # COUNT_MAX + 1: more than COUNT_MAX


@pytest.mark.parametrize("episode", [False, True])
async def test_words_found_in_very_many_contributions_are_listed_newest_first(db, monkeypatch, episode):
    episodes = await seed(db)
    episode_id = episodes[2] if episode else None
    match = build_fts_query("the")
    ranked = [h.id for h in await search_store.search(db, GUILD, match, episode_id=episode_id, limit=1000)]
    monkeypatch.setattr(search_store, "RANK_MAX_DOCS", 0)
    monkeypatch.setattr(search_store, "SEARCH_CANDIDATES", 5)  # 5 recent matches make a word common
    newest = [h.id for h in await search_store.search(db, GUILD, match, episode_id=episode_id, limit=1000)]
    assert newest == sorted(ranked, reverse=True) != ranked
    # A word in fewer contributions than that is still ranked, as before.
    for n, body in enumerate(["Ordzhonikidze", "Ordzhonikidze in Georgia, Ordzhonikidze again", "x"]):
        await store.add(db, NewContribution(
            guild_id=GUILD, episode_id=episodes[2], author_id=11, origin="thread", created_at=1_800_000_000 + n,
            body=body, channel_id=5, message_id=7_000_000 + n))  # fmt: skip
    rare = build_fts_query("Ordzhonikidze")
    hits = [h.id for h in await search_store.search(db, GUILD, rare, episode_id=episode_id, limit=10)]
    assert len(hits) == 2 and hits == (await scoped_search(db, GUILD, rare, episode_id, 10, 0))[1]
