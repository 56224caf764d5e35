"""`Database.run` / `run_transaction`: a whole transaction in one trip to the database thread, on a real
file: committed whole, or rolled back whole on any exception; the schema's triggers (0014's stored
counts, which call Python SQL functions) fire inside it. `Database.read`: a use case's reads in one trip."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.core import db as db_module
from bot.core.db import CHECKPOINTS, STATEMENTS, TRIPS, Database, Reader, Tx
from cogs.episodes import store

CONTRIBUTION = (
    "INSERT INTO contributions (guild_id, episode_id, author_id, author_name, origin, body, sources, links, "
    "created_at) VALUES (1, ?, 7, 'Veles', 'thread', 'Lenin died on 21 January 1924 at Gorki.', "
    "'Pipes, The Russian Revolution; ISBN 0-394-50241-5', '[]', 1000)"
)


async def _episode(db: Database) -> int:
    episode = await store.create(
        db, guild_id=1, code="1924-01", title="The Death of Lenin", description=None, created_by=7,
        forum_id=2, thread_id=3, starter_message_id=4,
    )  # fmt: skip
    return episode.id


async def _stats(db: Database, episode_id: int) -> tuple[int, int, int]:
    row = await db.fetchone(
        "SELECT contributions, credited, sources FROM episode_stats WHERE episode_id = ?", (episode_id,)
    )
    return (0, 0, 0) if row is None else tuple(row)


async def test_run_commits_what_it_wrote_and_the_triggers_keep_the_counts(db):
    episode_id = await _episode(db)
    before = db.metrics.counter(STATEMENTS)

    def add(conn: sqlite3.Connection) -> int:
        new = conn.execute(CONTRIBUTION, (episode_id,)).lastrowid
        row = conn.execute("SELECT body FROM contributions WHERE id = ?", (new,)).fetchone()
        assert row["body"].startswith("Lenin")  # rows are sqlite3.Row, as everywhere else
        return new

    new = await db.run(add)
    assert db.metrics.counter(STATEMENTS) - before == 1  # one trip (its statements are not seen one by one)
    assert await db.fetchval("SELECT episode_id FROM contributions WHERE id = ?", (new,)) == episode_id
    assert await _stats(db, episode_id) == (1, 1, 1)  # archivist_citations ran inside the transaction


async def test_run_rolls_back_everything_on_an_exception_and_reraises_it(db):
    episode_id = await _episode(db)

    def half(conn: sqlite3.Connection) -> None:
        conn.execute(CONTRIBUTION, (episode_id,))
        conn.execute("UPDATE episodes SET title = 'Krupskaya' WHERE id = ?", (episode_id,))
        raise ValueError("stop here")

    with pytest.raises(ValueError, match="stop here"):
        await db.run(half)
    assert await db.fetchval("SELECT COUNT(*) FROM contributions") == 0
    assert await db.fetchval("SELECT title FROM episodes WHERE id = ?", (episode_id,)) == "The Death of Lenin"
    assert await _stats(db, episode_id) == (0, 0, 0)
    # Nothing left open: the next transaction (either kind) writes as usual.
    await db.run(lambda conn: conn.execute(CONTRIBUTION, (episode_id,)))
    async with db.transaction() as tx:
        await tx.execute("UPDATE episodes SET title = 'Spartacus' WHERE id = ?", (episode_id,))
    assert await _stats(db, episode_id) == (1, 1, 1)


async def test_a_failing_statement_rolls_back_the_statements_before_it(db):
    episode_id = await _episode(db)

    def clash(conn: sqlite3.Connection) -> None:
        conn.execute(CONTRIBUTION, (episode_id,))
        conn.execute("INSERT INTO episodes (id, guild_id, code, title, created_by, created_at, updated_at) "
                     "VALUES (?, 1, 'x', 'x', 1, 1, 1)", (episode_id,))  # fmt: skip

    with pytest.raises(sqlite3.IntegrityError):
        await db.run(clash)
    assert await db.fetchval("SELECT COUNT(*) FROM contributions") == 0


async def test_run_transaction_runs_a_store_body_whole(db):
    episode_id = await _episode(db)

    async def body(tx: Tx) -> int | None:
        await store.record_event_in(tx, episode_id, "status", 7, from_value="in_research", to_value="writing")
        new = await tx.insert(CONTRIBUTION, (episode_id,))
        assert await tx.fetchone("SELECT id FROM contributions WHERE id = ?", (new,)) is not None
        return new

    before = db.metrics.counter(STATEMENTS)
    new = await db.run_transaction(body)
    assert new is not None
    assert db.metrics.counter(STATEMENTS) - before == 3  # each of its statements
    assert [e.kind for e in await store.history(db, episode_id)] == ["created", "status"]

    async def refused(tx: Tx) -> None:
        await tx.insert(CONTRIBUTION, (episode_id,))
        raise LookupError("episode vanished")

    with pytest.raises(LookupError):
        await db.run_transaction(refused)
    assert await db.fetchval("SELECT COUNT(*) FROM contributions") == 1


async def test_a_body_that_waits_on_anything_else_is_refused_and_writes_nothing(db):
    episode_id = await _episode(db)

    async def waits(tx: Tx) -> None:
        await tx.insert(CONTRIBUTION, (episode_id,))
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="awaited something other than its statements"):
        await db.run_transaction(waits)
    assert await db.fetchval("SELECT COUNT(*) FROM contributions") == 0


async def test_runs_and_transactions_take_turns(db):
    episode_id = await _episode(db)

    async def by_transaction() -> None:
        async with db.transaction() as tx:
            await tx.insert(CONTRIBUTION, (episode_id,))
            await asyncio.sleep(0)
            await tx.insert(CONTRIBUTION, (episode_id,))

    await asyncio.gather(
        by_transaction(), *(db.run(lambda conn: conn.execute(CONTRIBUTION, (episode_id,))) for _ in range(5))
    )
    assert await _stats(db, episode_id) == (7, 1, 1)


async def test_runs_count_towards_the_background_checkpoint(db, monkeypatch):
    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY_COMMITS", 2)
    episode_id = await _episode(db)  # one commit
    await db.run(lambda conn: conn.execute(CONTRIBUTION, (episode_id,)))  # the second
    await db.checkpoint()  # waits for the background one first
    assert db.metrics.counter(CHECKPOINTS) == 2


async def test_read_makes_one_trip_for_all_its_reads(db):
    episode_id = await _episode(db)
    await db.run(lambda conn: conn.execute(CONTRIBUTION, (episode_id,)))

    async def both(reader: Reader) -> tuple[str, int, list[str]]:
        title = await reader.fetchval("SELECT title FROM episodes WHERE id = ?", (episode_id,))
        row = await reader.fetchone(
            "SELECT contributions FROM episode_stats WHERE episode_id = ?", (episode_id,)
        )
        bodies = [r["body"] for r in await reader.fetchall("SELECT body FROM contributions")]
        return title, row["contributions"], bodies

    trips, statements = db.metrics.counter(TRIPS), db.metrics.counter(STATEMENTS)
    title, count, bodies = await db.read(both)
    assert (title, count, len(bodies)) == ("The Death of Lenin", 1, 1)
    assert bodies[0].startswith("Lenin died")
    assert db.metrics.counter(TRIPS) - trips == 1
    assert db.metrics.counter(STATEMENTS) - statements == 3
    assert await db.read(lambda reader: reader.fetchval("SELECT title FROM episodes WHERE id = 0")) is None


async def test_a_read_that_waits_on_anything_else_is_refused(db):
    async def waits(reader: Reader) -> None:
        await reader.fetchval("SELECT 1")
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="awaited something other than its statements"):
        await db.read(waits)
    assert await db.fetchval("SELECT 2") == 2  # the connection is fine afterwards


async def test_every_trip_is_counted_begin_and_commit_too(db):
    episode_id = await _episode(db)
    trips = db.metrics.counter(TRIPS)
    async with db.transaction() as tx:
        await tx.insert(CONTRIBUTION, (episode_id,))
        await tx.fetchval("SELECT COUNT(*) FROM contributions")
    assert db.metrics.counter(TRIPS) - trips == 4  # BEGIN, the insert, the read, COMMIT
    trips = db.metrics.counter(TRIPS)
    await db.run_transaction(lambda tx: tx.insert(CONTRIBUTION, (episode_id,)))
    await db.run(lambda conn: conn.execute(CONTRIBUTION, (episode_id,)))
    assert db.metrics.counter(TRIPS) - trips == 2
