"""A page of contributions inserted whole (`store.write_page`, `batch_store.insert_page_in`, migration 0015): the
full-text index and the stored counts end exactly as the per-row triggers would have left them — checked
against a recount, through the edits, marks and removals that follow — the page goes into the index as one
segment, a page that fails leaves nothing behind, and every other write still counts row by row."""

from __future__ import annotations

import pytest

from cogs.episodes import store as episode_store
from cogs.research import batch_store, counting, search_store, store
from cogs.research.rules import build_fts_query
from cogs.research.store import MessageEdit, NewContribution
from tests.storage.stored_counts_reference import assert_counts_exact, stored

GUILD, VELES, SPARTACUS, INDY = 1001, 11, 12, 13
TS = 1_700_000_000
TEXTS = (
    "Lenin died on 21 January 1924 at Gorki.",
    "Krupskaya is the correct spelling: https://en.wikipedia.org/wiki/Nadezhda_Krupskaya",
    "Service, *Lenin: A Biography*, ISBN 978-0-330-49139-6",
    "Petrograd became Leningrad.\nSources:\n- doi:10.1017/S0020859000001234 https://example.org/paper",
    "https://doi.org/10.1017/s0020859000001234 says so",
    "Veles is the god of the underworld in the Slavic stories.",
)


async def episode(db, code="1924-01") -> int:
    ep = await episode_store.create(
        db, guild_id=GUILD, code=code, title="Lenin's Death", description=None, created_by=INDY,
        forum_id=1, thread_id=hash(code) % 10**9, starter_message_id=1,
    )  # fmt: skip
    return ep.id


def post(episode_id, n, body, author=VELES, **kw) -> NewContribution:
    return NewContribution(
        guild_id=GUILD, episode_id=episode_id, author_id=author, origin="thread", body=body,
        created_at=TS + n % 7, channel_id=5, message_id=1000 + n, author_name=f"name{author}", **kw,
    )  # fmt: skip


async def index_is_exact(db) -> None:
    """The full-text index holds exactly the contributions' texts (FTS5 compares it with its content)."""
    await db.execute("INSERT INTO contributions_fts (contributions_fts) VALUES ('integrity-check')")


async def nothing_open(db) -> None:
    assert await db.fetchval("SELECT COUNT(*) FROM page_write_open") == 0


async def test_a_page_keeps_the_index_and_the_counts_exact_through_what_follows(db):
    first, second = await episode(db), await episode(db, "1924-02")
    # Rows stored one by one before: the page's counts add to theirs (earlier and later firsts).
    await store.add(db, post(first, 3, TEXTS[1], author=SPARTACUS))
    gone = await store.add(db, post(first, 4, TEXTS[2]))
    assert await store.remove(db, await store.get(db, GUILD, gone.id), INDY)
    rows = [
        post(first, n, TEXTS[n % len(TEXTS)], author=(VELES, SPARTACUS, INDY)[n % 3],
             sources="Pipes, The Russian Revolution; ISBN 0-394-50241-5" if n % 4 == 0 else None,
             links=("https://example.org/paper",) if n % 5 == 0 else ())
        for n in range(1, 30)
    ]  # fmt: skip
    rows.append(post(second, 40, TEXTS[3]))
    written = await store.write_page(db, rows)
    assert written.added == len(rows) - 2  # message 3 was stored, message 4 removed
    await assert_counts_exact(db)
    await index_is_exact(db)
    await nothing_open(db)
    hits = await search_store.search(db, GUILD, build_fts_query("underworld"), episode_id=first)
    texts = {c.id: c.body for c in await store.for_episode(db, first)}
    assert sorted(h.id for h in hits) == sorted(i for i, body in texts.items() if "underworld" in body)
    assert len(hits) == 5

    # What follows the page counts row by row again, exactly.
    await store.write_page(
        db, [post(first, 50, TEXTS[4])], edits=[MessageEdit(1001, TEXTS[2], (), (), TS + 99)]
    )
    await assert_counts_exact(db)
    await store.update_message(db, 1002, body=TEXTS[0], links=(), attachments=(), edited_at=TS + 100)
    page_row = await store.get_by_message(db, first, 1008)
    await store.set_mark(db, first, page_row.id, "key", INDY)
    await store.set_mark(db, first, (await store.get_by_message(db, first, 1009)).id, "excluded", INDY)
    await assert_counts_exact(db)
    assert await store.remove(db, await store.get_by_message(db, first, 1010), INDY)
    await store.delete_messages(db, [1001, 1020, 1040])
    await store.add(db, post(second, 60, TEXTS[1], author=SPARTACUS))
    await assert_counts_exact(db)
    await index_is_exact(db)
    assert await search_store.search(db, GUILD, build_fts_query("1924"), episode_id=second) == []


async def test_forum_names_and_marks_in_a_page(db):
    """The page's writer takes any INSERT into contributions: forum names not linked to a member (credited
    by their name on one line), rows inserted already marked key or excluded."""
    ep = await episode(db)
    await db.execute(
        "INSERT INTO forum_authors (id, guild_id, forum, username, created_at) VALUES "
        "(1, ?, 'f', 'Ardent', 0), (2, ?, 'f', 'Zed', 0)",
        (GUILD, GUILD),
    )
    sql = (
        "INSERT INTO contributions (guild_id, episode_id, author_id, forum_author_id, author_name, origin, body, "
        "sources, links, created_at, mark) VALUES (:guild, :ep, :author, :forum, :name, 'forum', :body, "
        ":sources, :links, :at, :mark)"
    )
    people = (
        (None, 1, " Ardent "),
        (None, 1, "Ardent\n"),
        (None, 2, None),
        (VELES, 2, "Zed"),
        (SPARTACUS, None, "x"),
    )
    marks = ("normal", "key", "excluded", "normal", "key", "normal", "excluded")
    rows = [
        {"guild": GUILD, "ep": ep, "author": people[n % 5][0], "forum": people[n % 5][1], "name": people[n % 5][2],
         "body": TEXTS[n % len(TEXTS)], "sources": "https://example.org/paper" if n % 3 == 0 else None,
         "links": '["https://en.wikipedia.org/wiki/Nadezhda_Krupskaya"]' if n % 4 == 0 else "[]",
         "at": TS - n % 4, "mark": marks[n % len(marks)]}
        for n in range(40)
    ]  # fmt: skip
    assert await db.run_transaction(lambda tx: batch_store.insert_page_in(tx, sql, rows)) == 40
    await assert_counts_exact(db)
    await index_is_exact(db)
    assert await db.run_transaction(lambda tx: batch_store.insert_page_in(tx, sql, [])) == 0
    replacing = sql.replace("INSERT INTO", "INSERT OR REPLACE INTO")
    with pytest.raises(ValueError, match="not replace"):
        await db.run_transaction(lambda tx: batch_store.insert_page_in(tx, replacing, rows[:1]))
    await nothing_open(db)
    await db.execute("UPDATE contributions SET mark = 'normal' WHERE mark = 'excluded'")
    await db.execute("DELETE FROM contributions WHERE id % 3 = 0")
    await assert_counts_exact(db)


async def test_a_page_is_one_segment_of_the_index(db):
    """Row by row, the index wrote a segment for every row (SQLite writes its pending rows out at each
    statement); a page is one."""
    ep = await episode(db)
    before = await db.fetchval("SELECT COUNT(*) FROM contributions_fts_data")
    await store.write_page(db, [post(ep, n, f"Spartacus and the revolt, note {n}") for n in range(100)])
    assert await db.fetchval("SELECT COUNT(*) FROM contributions_fts_data") - before < 10


@pytest.mark.parametrize("where", ["a row", "its counts"])
async def test_a_page_that_fails_leaves_nothing(db, monkeypatch, where):
    ep = await episode(db)
    await store.write_page(db, [post(ep, n, TEXTS[n]) for n in range(3)])
    counts, rows = await stored(db), await db.fetchval("SELECT COUNT(*) FROM contributions")
    page = [post(ep, n, TEXTS[n % len(TEXTS)], author=SPARTACUS) for n in range(10, 20)]
    if where == "a row":  # the sixth row names an episode that does not exist: its INSERT fails
        page[5] = post(ep + 99, 15, TEXTS[1])
        failure = Exception
    else:  # every row is in; reading a page row's sources then fails

        def broken(body, sources, links):
            raise RuntimeError("parsing failed")

        monkeypatch.setattr(counting, "citations", broken)
        failure = RuntimeError
    with pytest.raises(failure):
        await store.write_page(db, page)
    monkeypatch.undo()
    assert await db.fetchval("SELECT COUNT(*) FROM contributions") == rows
    assert await stored(db) == counts
    await nothing_open(db)
    await index_is_exact(db)
    # The next writes count as ever, one by one and by page.
    await store.add(db, post(ep, 30, TEXTS[1], author=INDY))
    await store.write_page(db, page[:5])
    await assert_counts_exact(db)
    await index_is_exact(db)


async def test_a_page_stores_what_row_by_row_stores(db):
    """The same messages stored one by one in one episode and as a page in another: the same rows, index
    entries and counts, down to the text of each column."""
    by_row, by_page = await episode(db), await episode(db, "1924-02")
    texts = [
        *TEXTS,
        'Pipes, "The Russian Revolution" (ISBN 0-394-50241-5) and https://www.example.org/paper?utm_source=x',
        "Sources:\n- Service, Lenin: A Biography, ISBN 978-0-330-49139-6, https://example.org/lenin",
    ]
    for n, text in enumerate(texts):
        await store.add(db, post(by_row, n, text, sources=TEXTS[(n - 1) % len(TEXTS)] if n % 2 else None))
    await store.write_page(
        db,
        [
            post(by_page, n, text, sources=TEXTS[(n - 1) % len(TEXTS)] if n % 2 else None)
            for n, text in enumerate(texts)
        ],
    )

    async def rows(sql, episode_id):
        return [tuple(r) for r in await db.fetchall(sql, (episode_id,))]

    first = await db.fetchval("SELECT MIN(id) FROM contributions WHERE episode_id = ?", (by_page,))
    shift = first - await db.fetchval("SELECT MIN(id) FROM contributions WHERE episode_id = ?", (by_row,))
    citations = (
        "SELECT contribution_id - (SELECT MIN(id) FROM contributions WHERE episode_id = ?1), idx, key, other, "
        "created_at, kind, ident, words, link, aliases FROM contribution_citations WHERE episode_id = ?1 ORDER BY 1, 2"
    )
    assert await rows(citations, by_page) == await rows(citations, by_row)
    assert any(r[-1] and "," in r[-1] for r in await rows(citations, by_row))  # aliases written together
    sources = (
        "SELECT key, cites, first_other, first_at, first_id - (SELECT MIN(id) FROM contributions WHERE episode_id = ?1), "
        "first_idx FROM episode_sources WHERE episode_id = ?1 ORDER BY key"
    )
    assert await rows(sources, by_page) == await rows(sources, by_row)
    stats = "SELECT contributions, marked_excluded, contributors, credited, sources FROM episode_stats WHERE episode_id = ?"
    assert await rows(stats, by_page) == await rows(stats, by_row)
    index = (
        "SELECT rowid - (SELECT MIN(id) FROM contributions WHERE episode_id = ?1) FROM contributions_fts "
        "WHERE contributions_fts MATCH '\"e' || ?1 || '\"' ORDER BY rowid"
    )
    assert await rows(index, by_page) == await rows(index, by_row) == [(n,) for n in range(len(texts))]
    assert shift > 0
