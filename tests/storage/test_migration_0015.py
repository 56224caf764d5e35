"""Migration 0015 on a database made by the version before it (stored counts of 0014, contributions stored
row by row): nothing is recounted, the counts and the full-text index stay exact, and from then on both a
page written whole and a single row keep them exact; contributions are indexed by server alone."""

from __future__ import annotations

from bot.core.db import Database
from cogs.episodes import store as episode_store
from cogs.research import store
from cogs.research.store import NewContribution
from tests.storage.stored_counts_reference import assert_counts_exact, stored

GUILD, VELES, SPARTACUS, INDY = 1001, 11, 12, 13
TS = 1_700_000_000
TEXTS = (
    "Lenin died on 21 January 1924 at Gorki.",
    "Krupskaya, not Krupskaia: https://en.wikipedia.org/wiki/Nadezhda_Krupskaya",
    "Service, *Lenin: A Biography*, ISBN 978-0-330-49139-6",
    "Spartacus led the slaves' revolt.",
)


def post(episode_id, n, author=VELES) -> NewContribution:
    return NewContribution(
        guild_id=GUILD, episode_id=episode_id, author_id=author, origin="thread", body=TEXTS[n % len(TEXTS)],
        created_at=TS + n % 5, channel_id=5, message_id=1000 + n, author_name="Veles",
    )  # fmt: skip


async def test_upgrading_keeps_the_counts_and_pages_then_count_whole(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = Database(path)
    await db.open(target_version=14)
    try:
        ep = await episode_store.create(
            db, guild_id=GUILD, code="1924-01", title="Lenin's Death", description=None, created_by=INDY,
            forum_id=1, thread_id=5000, starter_message_id=1,
        )  # fmt: skip
        for n in range(12):
            await store.add(db, post(ep.id, n, (VELES, SPARTACUS)[n % 2]))
        await store.set_mark(db, ep.id, 3, "excluded", INDY)
        before = await stored(db)
    finally:
        await db.close()

    db = Database(path)
    await db.open()
    try:
        assert await db.user_version() >= 15
        assert await stored(db) == before
        await assert_counts_exact(db)
        await store.write_page(db, [post(ep.id, n, (INDY, SPARTACUS)[n % 2]) for n in range(10, 40)])
        await store.add(db, post(ep.id, 50, VELES))
        await assert_counts_exact(db)
        await db.execute("INSERT INTO contributions_fts (contributions_fts) VALUES ('integrity-check')")
        assert (
            await db.fetchval("SELECT contributions FROM episode_stats WHERE episode_id = ?", (ep.id,)) == 41
        )
        # The index by server and member gave way to one by server: `/research search` still finds at once
        # whether the database holds other servers.
        plan = await db.fetchall(
            "EXPLAIN QUERY PLAN SELECT EXISTS (SELECT 1 FROM contributions WHERE guild_id < ?)", (GUILD,)
        )
        assert "USING COVERING INDEX contributions_guild" in " ".join(r["detail"] for r in plan)
        names = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "contributions_author" not in names
    finally:
        await db.close()
