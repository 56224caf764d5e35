"""The full-text index merges its segments in the background (migration 0016), not inside members' writes:
`Database.upkeep` steps run before each background checkpoint until nothing is left, and a search finds the
same contributions before and after."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from bot.core import db as db_module
from bot.core.db import CHECKPOINTS, UPKEEP_STEPS, Database
from cogs.research import search_store
from cogs.research.rules import build_fts_query
from tests.storage.test_db_run import _episode

CONTRIBUTION = (
    "INSERT INTO contributions (guild_id, episode_id, author_id, author_name, origin, title, body, sources, "
    "links, created_at) VALUES (1, ?, ?, 'Veles', 'thread', ?, ?, 'Izvestia, 22 January 1924', '[]', ?)"
)
BODIES = (
    "Lenin died at Gorki on 21 January 1924; the congress of soviets heard it the next morning.",
    "Trotsky was on his way to Sukhumi and did not come back for the funeral.",
    "The body lay in state in the Hall of Columns; crowds queued in forty degrees of frost.",
    "Petrograd was renamed Leningrad within the week.",
)


async def _write_one_by_one(db: Database, episode_id: int, count: int) -> None:
    """`count` contributions, each in a transaction of its own (as members write them): a segment each."""
    for i in range(count):
        body = f"{BODIES[i % len(BODIES)]} Note {i}."
        await db.execute(CONTRIBUTION, (episode_id, 100 + i % 7, f"Note {i}", body, 1000 + i))


def merge_left(conn: sqlite3.Connection) -> bool:
    """Whether one merge step still finds work, without keeping it (inside `Database.run`'s transaction,
    rolled back to a savepoint)."""
    conn.execute("SAVEPOINT probe")
    try:
        return search_store.merge_index_step(conn)
    finally:
        conn.execute("ROLLBACK TO probe")
        conn.execute("RELEASE probe")


async def _found(db: Database, words: str) -> list[int]:
    hits = await search_store.search(db, 1, build_fts_query(words), limit=500)
    return sorted(hit.id for hit in hits)


async def test_writes_leave_the_merging_to_the_upkeep(db):
    assert await db.fetchval("SELECT v FROM contributions_fts_config WHERE k = 'automerge'") == 0
    episode_id = await _episode(db)
    await _write_one_by_one(db, episode_id, 60)
    assert await db.run(merge_left) is True
    funeral, frost = await _found(db, "funeral"), await _found(db, "frost")
    assert len(funeral) == 15 and len(frost) == 15

    db.upkeep(search_store.merge_index_step)  # as the composition root does (bot.wiring)
    steps = await db.run_upkeep()

    assert steps >= 2  # at least one step merged, and the last found nothing left
    assert db.metrics.counter(UPKEEP_STEPS) == steps
    assert await db.run(merge_left) is False
    assert await _found(db, "funeral") == funeral and await _found(db, "frost") == frost
    assert await db.run_upkeep() == 1  # nothing left: one step that finds so


async def test_upkeep_runs_before_each_background_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY_COMMITS", 20)
    db = Database(tmp_path / "archivist.sqlite3")
    await db.open()
    calls: list[int] = []

    def step(conn: sqlite3.Connection) -> bool:
        calls.append(db.metrics.counter(CHECKPOINTS))
        return len(calls) % 3 != 0  # three steps a round: two with more left, then done

    db.upkeep(step)
    try:
        episode_id = await _episode(db)
        await _write_one_by_one(db, episode_id, 19)  # the 20th commit
        await db.checkpoint()  # waits for the background round
        assert calls == [0, 0, 0]  # all three steps, before the checkpoint
        assert db.metrics.counter(CHECKPOINTS) == 2
    finally:
        await db.close()


async def test_a_failing_step_is_logged_and_writes_go_on(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY_COMMITS", 5)
    db = Database(tmp_path / "archivist.sqlite3")
    await db.open()

    def broken(conn: sqlite3.Connection) -> bool:
        conn.execute("INSERT INTO no_such_table VALUES (1)")
        return False

    db.upkeep(broken)
    try:
        episode_id = await _episode(db)
        with caplog.at_level(logging.WARNING, logger="bot.core.db"):
            await _write_one_by_one(db, episode_id, 12)
            await db.checkpoint()
        assert "background upkeep or checkpoint" in caplog.text and "no_such_table" in caplog.text
        assert (
            await db.fetchval("SELECT contributions FROM episode_stats WHERE episode_id = ?", (episode_id,))
            == 12
        )
    finally:
        await db.close()


async def test_closing_stops_the_upkeep_between_steps(tmp_path):
    db = Database(tmp_path / "archivist.sqlite3")
    await db.open()
    loop, third = asyncio.get_running_loop(), asyncio.Event()
    steps = 0

    def endless(conn: sqlite3.Connection) -> bool:  # on the database thread
        nonlocal steps
        steps += 1
        if steps == 3:
            loop.call_soon_threadsafe(third.set)
        return True

    db.upkeep(endless)
    task = asyncio.ensure_future(db.run_upkeep())
    await asyncio.wait_for(third.wait(), 5)
    await db.close()
    ran = await asyncio.wait_for(task, 5)
    assert ran >= 3
    assert steps == ran  # none after the close


async def test_upkeep_runs_again_once_the_database_is_opened_again(tmp_path):
    db = Database(tmp_path / "archivist.sqlite3")
    await db.open()
    ran: list[int] = []
    db.upkeep(lambda conn: bool(ran.append(1)))  # one step, nothing left after it
    await db.close()
    await db.open()
    try:
        assert await db.run_upkeep() == 1 and ran == [1]
    finally:
        await db.close()
