"""Metrics: counters and timing samples by name, and the bot's parts recording into the one given them."""

from __future__ import annotations

from bot.core.db import STATEMENTS, Database
from bot.core.metrics import Metrics
from bot.core.scheduler import Scheduler


def test_counters_and_samples_by_name():
    metrics = Metrics(samples_kept=3)
    assert metrics.counter("x") == 0 and metrics.samples("t") == [] and metrics.total("t") == 0
    metrics.count("x")
    metrics.count("x", 4)
    for value in (1.0, 2.0, 3.0, 4.0):
        metrics.observe("t", value)
    assert metrics.counter("x") == 5
    assert metrics.samples("t") == [2.0, 3.0, 4.0]  # the most recent are kept
    assert metrics.total("t") == 10.0  # the total counts every value, kept or not
    metrics.clear("x")
    assert metrics.counter("x") == 0 and metrics.samples("t") == [2.0, 3.0, 4.0]
    metrics.clear()
    assert metrics.samples("t") == [] and metrics.total("t") == 0


async def test_the_database_and_scheduler_record_into_the_metrics_given(tmp_path):
    metrics = Metrics()
    db = Database(tmp_path / "m.sqlite3", metrics)
    await db.open()
    try:
        scheduler = Scheduler(db)
        assert scheduler.metrics is metrics  # the database's, when none is given
        before = metrics.counter(STATEMENTS)
        await db.fetchval("SELECT 1")
        await db.execute("INSERT INTO meta (key, value) VALUES ('a', 'b')")
        assert metrics.counter(STATEMENTS) == before + 2
    finally:
        await db.close()
