"""The stored research counts (migration 0014) stay exact through every way a contribution is written: added,
edited, removed, marked key or excluded, moved, credited to a forum name and linked to a member — checked
against the counts recomputed from the contributions after every step, and after upgrading a database
that had contributions already."""

from __future__ import annotations

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.db import TRIPS, Database
from cogs.episodes import lists_store
from cogs.episodes import store as episode_store
from cogs.forum_import import store as forum_store
from cogs.research import batch_store, counting, search_store, store
from cogs.research.store import NewContribution
from tests.storage.stored_counts_reference import assert_counts_exact

GUILD, VELES, SPARTACUS, INDY, ARDENT_MEMBER = 1001, 11, 12, 13, 14
FORUM = "https://forum.example.org"
TS = 1_700_000_000

# Texts that cite the same sources in different forms, so that sources merge (a DOI with a URL on its
# line, a book beside its ISBN) in an order that depends on which contribution is read first.
BODIES = (
    "Lenin died on 21 January 1924 at Gorki.",
    "Krupskaya is the correct spelling: https://en.wikipedia.org/wiki/Nadezhda_Krupskaya",
    "See https://en.m.wikipedia.org/wiki/Nadezhda_Krupskaya#Life and https://example.org/paper",
    "Service, *Lenin: A Biography*, ISBN 978-0-330-49139-6",
    "Source: Service, Lenin: A Biography (2000)",
    "Petrograd was renamed Leningrad after his death.\nSources:\n- doi:10.1017/S0020859000001234 https://example.org/paper",
    "https://doi.org/10.1017/s0020859000001234 says so",
    "",
)
SOURCES = (
    None,
    "Pipes, The Russian Revolution; ISBN 0-394-50241-5",
    "https://example.org/paper",
    "Service, Lenin: A Biography\nhttps://en.wikipedia.org/wiki/Nadezhda_Krupskaya",
)


async def episode(db, code="1924-01", guild=GUILD) -> int:
    ep = await episode_store.create(
        db, guild_id=guild, code=code, title="Lenin's Death", description=None, created_by=INDY,
        forum_id=1, thread_id=hash(code) % 10**9, starter_message_id=1,
    )  # fmt: skip
    return ep.id


def member_post(episode_id, n, body, author=VELES, **kw) -> NewContribution:
    return NewContribution(
        guild_id=GUILD, episode_id=episode_id, author_id=author, origin="thread", body=body,
        created_at=TS + n, channel_id=5, message_id=1000 + n, author_name=f"name{author}", **kw,
    )  # fmt: skip


async def forum_posts(db, episode_id, posts) -> tuple[list[int], dict[str, forum_store.ForumAuthor]]:
    """Imported posts [(number, username, body)] of one topic."""
    async with db.transaction() as tx:
        names = await forum_store.forum_authors_in(
            tx, GUILD, FORUM, [(u, None) for u in sorted({u for _, u, _ in posts})], TS
        )
        rows = [
            forum_store.PostRow(
                post_id=n, number=n, author_id=names[u.lower()].member_id, forum_author_id=names[u.lower()].id,
                author_name=u, body=body, attachments="[]", links="[]", jump_url=f"{FORUM}/t/1/{n}",
                created_at=TS - 1000 + n, edited_at=None, forum_likes=0,
            )
            for n, u, body in posts
        ]  # fmt: skip
        ids = await forum_store.add_posts_in(tx, GUILD, episode_id, FORUM, 1, rows, TS)
    return ids, names


async def test_every_write_keeps_the_counts_exact(db):
    first, second = await episode(db), await episode(db, "1924-02")
    await assert_counts_exact(db)
    a = await store.add(db, member_post(first, 1, BODIES[1]))
    b = await store.add(db, member_post(first, 2, BODIES[3], author=SPARTACUS))
    c = await store.add(db, member_post(first, 3, BODIES[2], author=SPARTACUS))
    await store.add(db, member_post(second, 4, BODIES[5]))
    await assert_counts_exact(db)
    # The same message again changes nothing; a row replaced whole counts once.
    await store.add(db, member_post(first, 1, BODIES[1]))
    await assert_counts_exact(db)
    await db.execute(
        "INSERT OR REPLACE INTO contributions (id, guild_id, episode_id, author_id, origin, body, created_at, mark) "
        "VALUES (?, ?, ?, ?, 'thread', ?, ?, 'key')",
        (c.id, GUILD, first, INDY, BODIES[4], TS),
    )
    await assert_counts_exact(db)
    # An edit: other sources.
    await db.execute("UPDATE contributions SET body = ?, links = ? WHERE id = ?", (BODIES[6], "[]", a.id))
    await assert_counts_exact(db)
    # Marks: key research is read first; excluded counts on the card only.
    await store.set_mark(db, first, c.id, "key", INDY)
    await assert_counts_exact(db)
    await store.set_mark(db, first, b.id, "excluded", INDY)
    await assert_counts_exact(db)
    await store.set_mark(db, first, b.id, "normal", INDY)
    await assert_counts_exact(db)
    # Removed, and deleted in Discord.
    removed = await store.get(db, GUILD, c.id)
    assert await store.remove(db, removed, INDY)
    await store.delete_messages(db, [1001])
    await assert_counts_exact(db)
    # Dates and episodes change only by hand, but the counts follow them too.
    await db.execute("UPDATE contributions SET created_at = created_at - 100")
    await db.execute("UPDATE contributions SET episode_id = ? WHERE episode_id = ?", (second, first))
    await assert_counts_exact(db)
    figures = await db.fetchone(
        "SELECT contributions, contributors FROM episode_stats WHERE episode_id = ?", (first,)
    )
    assert tuple(figures) == (0, 0)


async def test_forum_names_are_credited_until_linked_then_count_as_the_member(db):
    ep = await episode(db)
    await store.add(db, member_post(ep, 50, BODIES[0], author=VELES))
    ids, names = await forum_posts(
        db, ep,
        [(2, "Ardent", BODIES[1]), (3, "Ardent", BODIES[3]), (4, "Veles", BODIES[4]), (5, " Ardent ", "x")],
    )  # fmt: skip
    await assert_counts_exact(db)
    trips = db.metrics.counter(TRIPS)
    card = await lists_store.card_data(db, ep)
    assert db.metrics.counter(TRIPS) - trips == 1  # the card's reads together
    # The member Veles, and three forum names (" Ardent " is a name of its own on the card; the credits
    # print it as "Ardent", and count it with Ardent).
    assert card.contribution_count == 5 and card.contributor_total == 4
    assert {r[0] for r in await db.fetchall("SELECT who FROM episode_credits")} == {
        f"m{VELES}",
        "fArdent",
        "fVeles",
    }
    async with db.transaction() as tx:
        await forum_store.link_in(tx, [names["veles"]], VELES, INDY, TS)
    await assert_counts_exact(db)
    card = await lists_store.card_data(db, ep)
    assert card.contributors[0] == VELES and card.contributor_total == 3
    await store.set_mark(db, ep, ids[0], "excluded", INDY)
    async with db.transaction() as tx:
        await forum_store.link_in(tx, [names["ardent"]], ARDENT_MEMBER, INDY, TS)
    await assert_counts_exact(db)
    async with db.transaction() as tx:
        await forum_store.update_posts_in(tx, [(ids[1], forum_store.PostRow(
            post_id=3, number=3, author_id=None, forum_author_id=names["ardent"].id, author_name="Ardent",
            body=BODIES[6], attachments="[]", links="[]", jump_url="x", created_at=TS, edited_at=TS, forum_likes=3,
        ))])  # fmt: skip
    await assert_counts_exact(db)


async def test_when_a_first_contribution_goes_the_next_one_is_first(db):
    """Ties in the card and the credits go to whoever contributed first: that first is found again when it
    goes, is excluded, or moves away."""
    ep, other = await episode(db), await episode(db, "1924-02")
    ids, _ = await forum_posts(
        db, ep, [(5, "Ardent", "a"), (1, "Ardent", "b"), (9, "Ardent", "c"), (3, " Ardent", "d")]
    )
    members = [await store.add(db, member_post(ep, n, "e", author=VELES)) for n in (7, 2, 8, 4)]
    await store.set_mark(db, ep, members[1].id, "excluded", INDY)  # the earliest, excluded: never first
    await assert_counts_exact(db)
    await db.execute("DELETE FROM contributions WHERE id = ?", (ids[1],))  # the forum name's first
    await store.set_mark(db, ep, members[3].id, "excluded", INDY)  # the member's first counted
    await assert_counts_exact(db)
    moved = await store.add(db, member_post(other, 0, "f", author=VELES))
    await db.execute(
        "UPDATE contributions SET episode_id = ? WHERE id = ?", (ep, moved.id)
    )  # the earliest now
    await db.execute("UPDATE contributions SET episode_id = ? WHERE id = ?", (other, members[0].id))
    await assert_counts_exact(db)


async def test_the_card_reads_what_counting_the_rows_gave(db):
    ep = await episode(db)
    for n, author in enumerate([VELES, SPARTACUS, SPARTACUS, INDY, VELES, SPARTACUS], 1):
        await store.add(db, member_post(ep, n, BODIES[n % len(BODIES)], author=author))
    await forum_posts(db, ep, [(2, "Ardent", "a"), (3, "Ardent", "b"), (4, "Zed", "c")])
    counted = await db.fetchall(
        "SELECT COALESCE(author_id, MIN(author_name)), COUNT(*) AS n FROM contributions WHERE episode_id = ? "
        "GROUP BY author_id, CASE WHEN author_id IS NULL THEN forum_author_id END ORDER BY n DESC, MIN(id)",
        (ep,),
    )  # the card's query before the counts were stored
    for limit in (0, 2, 15):
        card = await lists_store.card_data(db, ep, contributor_limit=limit)
        assert card.contributors == [r[0] for r in counted[:limit]]
        assert (card.contribution_count, card.contributor_total) == (sum(r[1] for r in counted), len(counted))
    empty = await lists_store.card_data(db, await episode(db, "1924-03"))
    assert (empty.contribution_count, empty.contributor_total, empty.contributors) == (0, 0, [])


async def test_research_list_pages_count_from_the_stored_figures(db):
    ep = await episode(db)
    assert await search_store.page_for_episode(db, ep, offset=0, limit=3) == (0, [])
    for n, author in enumerate([VELES, SPARTACUS, VELES, VELES, SPARTACUS]):
        await store.add(db, member_post(ep, n, BODIES[n], author=author))
    await store.set_mark(db, ep, 1, "excluded", INDY)  # listed all the same
    total, page = await search_store.page_for_episode(db, ep, offset=0, limit=3)
    assert total == 5 and [c.id for c in page] == [5, 4, 3]
    total, page = await search_store.page_for_episode(db, ep, offset=3, limit=3, author_id=VELES)
    assert total == 3 and page == []  # past the end: the count alone
    total, page = await search_store.page_for_episode(db, ep, offset=1, limit=3, author_id=SPARTACUS)
    assert total == 2 and [c.id for c in page] == [2]


async def test_upgrading_counts_what_was_there(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = Database(path)
    await db.open(target_version=13)
    try:
        ep = await episode(db)
        for n in range(12):
            await store.add(db, member_post(ep, n, BODIES[n % len(BODIES)], author=[VELES, SPARTACUS][n % 2],
                                            sources=SOURCES[n % len(SOURCES)]))  # fmt: skip
        await db.execute("UPDATE contributions SET mark = 'excluded' WHERE id % 5 = 0")
        await db.execute("UPDATE contributions SET mark = 'key' WHERE id % 5 = 1")
        await forum_posts(db, ep, [(2, "Ardent", BODIES[3]), (3, "Ardent", BODIES[5])])
    finally:
        await db.close()
    db = Database(path)
    await db.open()
    try:
        assert await db.user_version() >= 14
        await assert_counts_exact(db)
        assert (await lists_store.card_data(db, ep)).contribution_count == 14
    finally:
        await db.close()


def test_the_sources_function_agrees_with_the_bibliography():
    """Texts the quick check skips cite nothing; the rest are parsed whole."""
    for body in (*BODIES, "plain words only, 1924", "a - b", "x"):
        for sources in SOURCES:
            found = json.loads(counting.citations_json(body, sources, "[]"))
            from cogs.research import bibliography

            assert [f[0] for f in found] == [c.key for c in bibliography.citations_in(body, sources, ())]


# -- any sequence of writes --------------------------------------------------------------------------------

FORUM_NAMES = (
    "Ardent",
    " Ardent",
    "Ardent\n",
    "Zed",
    "",
    None,
)  # as the credits print them: Ardent, Zed, a forum member
WRITES = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 1), st.integers(0, 3), st.integers(0, len(BODIES) - 1),
                  st.integers(0, len(SOURCES) - 1), st.integers(0, 12)),
        st.tuples(st.just("edit"), st.integers(0, 30), st.integers(0, len(BODIES) - 1), st.integers(0, len(SOURCES) - 1)),
        st.tuples(st.just("mark"), st.integers(0, 30), st.sampled_from(["normal", "key", "excluded"])),
        st.tuples(st.just("delete"), st.integers(0, 30)),
        st.tuples(st.just("date"), st.integers(0, 30), st.integers(0, 12)),
        st.tuples(st.just("move"), st.integers(0, 30), st.integers(0, 1)),
        st.tuples(st.just("rename"), st.integers(0, 30), st.sampled_from(FORUM_NAMES)),
        st.tuples(st.just("link"), st.integers(0, 1)),
        st.tuples(st.just("page"), st.integers(0, 1), st.lists(
            st.tuples(st.integers(0, 3), st.integers(0, len(BODIES) - 1), st.integers(0, len(SOURCES) - 1),
                      st.integers(0, 12), st.sampled_from(["normal", "normal", "key", "excluded"])),
            max_size=6,
        )),
    ),
    max_size=40,
)  # fmt: skip


PAGE_INSERT = (
    "INSERT INTO contributions (guild_id, episode_id, author_id, forum_author_id, author_name, origin, body, "
    "sources, links, created_at, mark) VALUES (:guild, :ep, :author, :forum, :name, :origin, :body, :sources, "
    ":links, :at, :mark)"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=WRITES)
def test_any_writes_keep_the_counts_exact(writes):
    asyncio.run(_apply(writes))


async def _apply(writes) -> None:
    db = Database(":memory:")
    await db.open()
    try:
        episodes = [await episode(db, f"E{i}") for i in range(2)]
        async with db.transaction() as tx:
            forum = await forum_store.forum_authors_in(
                tx, GUILD, FORUM, [("Ardent", None), ("Zed", None)], TS
            )
        people = [("m", VELES), ("m", SPARTACUS), ("f", forum["ardent"]), ("f", forum["zed"])]
        ids: list[int] = []
        for write in writes:
            kind, *args = write
            target = ids[args[0] % len(ids)] if ids and kind not in ("add", "link") else None
            if kind == "add":
                ep, who, body, sources, at = args
                form, person = people[who]
                links = json.dumps(["https://example.org/paper"] if body % 3 == 0 else [])
                new = await db.insert(
                    "INSERT INTO contributions (guild_id, episode_id, author_id, forum_author_id, author_name, "
                    "origin, body, sources, links, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (GUILD, episodes[ep], person if form == "m" else person.member_id,
                     person.id if form == "f" else None, FORUM_NAMES[at % len(FORUM_NAMES)] if form == "f" else "Veles",
                     "forum" if form == "f" else "thread", BODIES[body], SOURCES[sources], links, TS + at),
                )  # fmt: skip
                ids.append(new)
            elif kind == "page":  # several rows inserted whole (catching up's pages, `batch_store`)
                ep, page = args
                rows = [
                    {"guild": GUILD, "ep": episodes[ep], "author": person if form == "m" else person.member_id,
                     "forum": person.id if form == "f" else None,
                     "name": FORUM_NAMES[at % len(FORUM_NAMES)] if form == "f" else "Veles",
                     "origin": "forum" if form == "f" else "thread", "body": BODIES[body], "sources": SOURCES[sources],
                     "links": json.dumps(["https://example.org/paper"] if body % 3 == 0 else []), "at": TS + at,
                     "mark": mark}
                    for (form, person), body, sources, at, mark in ((people[w], b, s, a, m) for w, b, s, a, m in page)
                ]  # fmt: skip
                since = await db.fetchval("SELECT COALESCE(MAX(id), 0) FROM contributions")
                await db.run_transaction(
                    lambda tx, rows=rows: batch_store.insert_page_in(tx, PAGE_INSERT, rows)
                )
                ids.extend(
                    r[0] for r in await db.fetchall("SELECT id FROM contributions WHERE id > ?", (since,))
                )
            elif kind == "link":
                async with db.transaction() as tx:
                    await forum_store.link_in(
                        tx, [forum[["ardent", "zed"][args[0]]]], VELES + args[0], INDY, TS
                    )
            elif target is None:
                continue
            elif kind == "edit":
                await db.execute(
                    "UPDATE contributions SET body = ?, sources = ? WHERE id = ?",
                    (BODIES[args[1]], SOURCES[args[2]], target),
                )
            elif kind == "mark":
                await db.execute("UPDATE contributions SET mark = ? WHERE id = ?", (args[1], target))
            elif kind == "delete":
                await db.execute("DELETE FROM contributions WHERE id = ?", (target,))
                ids.remove(target)
            elif kind == "date":
                await db.execute(
                    "UPDATE contributions SET created_at = ? WHERE id = ?", (TS + args[1], target)
                )
            elif kind == "move":
                await db.execute(
                    "UPDATE contributions SET episode_id = ? WHERE id = ?", (episodes[args[1]], target)
                )
            elif kind == "rename":
                await db.execute("UPDATE contributions SET author_name = ? WHERE id = ?", (args[1], target))
            await assert_counts_exact(db)
    finally:
        await db.close()
