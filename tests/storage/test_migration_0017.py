"""Migration 0017 on a database of the version before it: the index of each member's contributions per
episode now also holds their number and stored name, so the stored names the credits read come from it
alone; the triggers that name it keep working (a removal recounts the credits)."""

from __future__ import annotations

from bot.core.db import Database
from cogs.episodes import store as episode_store
from cogs.research import counts_store, store

GUILD, VELES, ARDENT, INDY = 1001, 11, 12, 13
TS = 1_700_000_000


async def test_upgrading_keeps_the_names_and_reads_them_from_the_index(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = Database(path)
    await db.open(target_version=16)
    try:
        ep = await episode_store.create(
            db, guild_id=GUILD, code="1924-01", title="Lenin's Death", description=None, created_by=INDY,
            forum_id=1, thread_id=5000, starter_message_id=1,
        )  # fmt: skip
        ids = []
        for n, (author, name) in enumerate(
            [(VELES, "Veles"), (ARDENT, "Ardent"), (VELES, "Veles the Elder")]
        ):
            added = await store.add(db, store.NewContribution(
                guild_id=GUILD, episode_id=ep.id, author_id=author, origin="thread", body=f"Gorki {n}",
                created_at=TS + n, channel_id=5, message_id=100 + n, author_name=name,
            ))  # fmt: skip
            ids.append(added.id)
    finally:
        await db.close()

    db = Database(path)
    await db.open()
    try:
        assert await db.user_version() >= 17
        assert await counts_store.stored_names(db, ep.id, [VELES, ARDENT]) == {
            VELES: "Veles",
            ARDENT: "Ardent",
        }
        plan = " ".join(
            str(tuple(r))
            for r in await db.fetchall(
                "EXPLAIN QUERY PLAN SELECT author_name FROM contributions INDEXED BY contributions_episode_author "
                "WHERE episode_id = ? AND author_id = ? ORDER BY created_at, id LIMIT 1",
                (ep.id, VELES),
            )
        )
        assert "COVERING INDEX contributions_episode_author" in plan
        first = await store.get(db, GUILD, ids[0])
        await store.remove(db, first, INDY)  # the 0014 triggers read the index by name
        assert await counts_store.stored_names(db, ep.id, [VELES]) == {VELES: "Veles the Elder"}
        total, rows = await counts_store.credit_rows(db, ep.id, 0, 10)
        assert total == 2 and [(r.member_id, r.credited) for r in rows] == [(ARDENT, 1), (VELES, 1)]
    finally:
        await db.close()
