"""The one scheduler against a real temporary database: schedule, dedupe, cancel, retry, late, restart."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import now
from bot.core import jobs as job_store
from bot.core.db import STATEMENTS, TRIPS
from bot.core.scheduler import DONE, LATE_AFTER, Failed, Retry, Scheduler, backoff, is_late


def past(seconds: float = 1.0) -> float:
    return now().timestamp() - seconds


def future(seconds: float = 3600.0) -> float:
    return now().timestamp() + seconds


async def state(db, job_id):
    return await db.fetchval("SELECT state FROM jobs WHERE id = ?", (job_id,))


async def test_due_jobs_are_delivered_and_marked_done_future_ones_wait(db, scheduler):
    seen = []

    async def handler(jobs):
        seen.extend(j.payload["n"] for j in jobs)
        return {j.id: DONE for j in jobs}

    scheduler.register("t", handler)
    due = await scheduler.schedule("t", past(), {"n": 1}, guild_id=5)
    later = await scheduler.schedule("t", future(), {"n": 2})
    await scheduler.run_due_now()
    assert seen == [1]
    assert await state(db, due) == "done"
    assert await state(db, later) == "pending"
    await scheduler.run_due_now()
    assert seen == [1]  # done jobs are never delivered again
    job = await job_store.get(db, due)
    assert job.guild_id == 5
    assert job.attempts == 1


async def test_handlers_get_their_kinds_due_jobs_together_up_to_a_slice(db, scheduler):
    batches = []

    async def handler(jobs):
        batches.append(len(jobs))
        return {j.id: DONE for j in jobs}

    scheduler.register("t", handler)
    for n in range(7):
        await scheduler.schedule("t", past(n + 1), {"n": n})
    await scheduler.run_due_now()
    assert batches == [7]


async def test_dedupe_key_keeps_one_pending_job_and_replace_moves_it(db, scheduler):
    first = await scheduler.schedule("t", future(100), {"v": 1}, dedupe_key="k:1")
    same = await scheduler.schedule("t", future(50), {"v": 2}, dedupe_key="k:1")
    assert same == first
    job = await job_store.get(db, first)
    assert job.payload == {"v": 1}
    moved = await scheduler.schedule("t", future(10), {"v": 3}, dedupe_key="k:1", replace=True)
    assert moved == first
    job = await job_store.get(db, first)
    assert job.payload == {"v": 3}
    assert job.due_at == pytest.approx(future(10), abs=2)
    assert len(await job_store.pending(db)) == 1


async def test_a_done_job_frees_its_dedupe_key(db, scheduler):
    async def handler(jobs):
        return {j.id: DONE for j in jobs}

    scheduler.register("t", handler)
    first = await scheduler.schedule("t", past(), dedupe_key="once")
    await scheduler.run_due_now()
    second = await scheduler.schedule("t", future(), dedupe_key="once")
    assert second != first


async def test_cancel(db, scheduler):
    calls = []

    async def handler(jobs):
        calls.extend(jobs)
        return {j.id: DONE for j in jobs}

    scheduler.register("t", handler)
    job_id = await scheduler.schedule("t", past())
    assert await scheduler.cancel(job_id) is True
    assert await scheduler.cancel(job_id) is False
    assert await scheduler.cancel(999_999) is False
    await scheduler.run_due_now()
    assert calls == []
    assert await state(db, job_id) == "cancelled"


async def test_cancel_by_key_prefix_is_exact_about_its_prefix(db, scheduler):
    a = await scheduler.schedule("t", future(), dedupe_key="deadline:1:research:0")
    b = await scheduler.schedule("t", future(), dedupe_key="deadline:1:research:86400")
    c = await scheduler.schedule("t", future(), dedupe_key="deadline:11:research:0")
    d = await scheduler.schedule("t", future(), dedupe_key="deadline:1:script:0")
    assert await scheduler.cancel_by_key_prefix("deadline:1:research:") == 2
    assert [await state(db, i) for i in (a, b, c, d)] == ["cancelled", "cancelled", "pending", "pending"]


async def test_retry_failed_and_exceptions(db, scheduler):
    async def retry(jobs):
        return {j.id: Retry("busy") for j in jobs}

    async def retry_soon(jobs):
        return {j.id: Retry("429", after=7) for j in jobs}

    async def fail(jobs):
        return {j.id: Failed("gone") for j in jobs}

    async def boom(job):
        raise RuntimeError("kaput")

    async def silent(jobs):
        return {}

    scheduler.register("retry", retry)
    scheduler.register("soon", retry_soon)
    scheduler.register("fail", fail)
    scheduler.register_each("boom", boom)
    scheduler.register("silent", silent)
    ids = {
        kind: await scheduler.schedule(kind, past()) for kind in ("retry", "soon", "fail", "boom", "silent")
    }
    orphan = await scheduler.schedule("nobody", past())
    await scheduler.run_due_now()

    for kind in ("retry", "boom", "silent"):
        job = await job_store.get(db, ids[kind])
        assert await state(db, ids[kind]) == "pending", kind
        assert job.attempts == 1
        assert job.due_at == pytest.approx(now().timestamp() + backoff(0), abs=2)
    soon = await job_store.get(db, ids["soon"])
    assert soon.due_at == pytest.approx(now().timestamp() + 7, abs=2)
    assert await state(db, ids["fail"]) == "failed"
    assert await state(db, orphan) == "failed"
    assert "kaput" in await db.fetchval("SELECT last_error FROM jobs WHERE id = ?", (ids["boom"],))


def test_backoff_grows_and_is_capped():
    assert [backoff(n) for n in range(7)] == [30, 60, 120, 240, 480, 900, 900]


async def test_late_jobs(db, scheduler):
    late = await scheduler.schedule("t", past(LATE_AFTER + 120))
    fresh = await scheduler.schedule("t", past(1))
    assert is_late(await job_store.get(db, late))
    assert not is_late(await job_store.get(db, fresh))


async def test_register_twice_is_an_error_and_unregister_frees_the_kind(scheduler):
    async def handler(jobs):
        return {}

    scheduler.register("t", handler)
    with pytest.raises(ValueError, match="already registered"):
        scheduler.register("t", handler)
    scheduler.unregister("t")
    scheduler.register("t", handler)


async def test_sleeper_delivers_what_falls_due_and_sleeps_without_queries(db, scheduler):
    delivered = asyncio.Event()

    async def handler(jobs):
        delivered.set()
        return {j.id: DONE for j in jobs}

    scheduler.register("t", handler)
    far = await scheduler.schedule("t", future(7 * 86400))
    await scheduler.start()
    assert scheduler.next_due == pytest.approx(future(7 * 86400), abs=2)
    queries = db.metrics.counter(STATEMENTS)
    for _ in range(20):
        await asyncio.sleep(0)
    assert db.metrics.counter(STATEMENTS) == queries  # asleep: no polling
    assert scheduler.metrics.counter("scheduler.wakeups") == 0
    # Something sooner restarts the sleeper, which delivers it.
    soon = await scheduler.schedule("t", past())
    await asyncio.wait_for(delivered.wait(), 10)
    for _ in range(50):
        if await state(db, soon) == "done":
            break
        await asyncio.sleep(0.01)
    assert await state(db, soon) == "done"
    assert await state(db, far) == "pending"
    assert scheduler.metrics.counter("scheduler.wakeups") >= 1


async def test_cancelling_the_awaited_job_resleeps_on_the_next(db, scheduler):
    first = await scheduler.schedule("t", future(100))
    await scheduler.schedule("t", future(500))
    await scheduler.start()
    assert scheduler.next_due == pytest.approx(future(100), abs=2)
    await scheduler.cancel(first)
    assert scheduler.next_due == pytest.approx(future(500), abs=2)


async def test_a_new_scheduler_on_the_same_database_delivers_pending_jobs_once(db, tmp_path):
    first = Scheduler(db)
    job_id = await first.schedule("t", past(600))
    await first.stop()

    seen = []

    async def handler(jobs):
        seen.extend((j.id, is_late(j)) for j in jobs)
        return {j.id: DONE for j in jobs}

    second = Scheduler(db)
    second.register("t", handler)
    await second.run_due_now()
    await second.run_due_now()
    assert seen == [(job_id, True)]
    await second.stop()


async def refuse_finish_once(monkeypatch, *, on_call: int = 1) -> list[int]:
    """`finish` refuses its `on_call`-th write, as SQLite does when the file is locked."""
    import sqlite3

    real = job_store.finish
    calls: list[int] = []

    async def finish(*args, **kwargs):
        calls.append(1)
        if len(calls) == on_call:
            raise sqlite3.OperationalError("database is locked")
        return await real(*args, **kwargs)

    monkeypatch.setattr(job_store, "finish", finish)
    return calls


async def test_each_kinds_outcomes_are_recorded_before_the_next_kind_runs(db, scheduler, monkeypatch):
    runs = {"a": 0, "b": 0}

    def handler(kind):
        async def run(jobs):
            runs[kind] += 1
            return {j.id: DONE for j in jobs}

        return run

    scheduler.register("a", handler("a"))
    scheduler.register("b", handler("b"))
    a = await scheduler.schedule("a", past(2))
    b = await scheduler.schedule("b", past(1))
    await refuse_finish_once(monkeypatch, on_call=2)  # b's outcomes are refused
    with pytest.raises(Exception, match="locked"):
        await scheduler.run_due_now()
    assert await state(db, a) == "done"
    assert await state(db, b) == "pending"
    await scheduler.run_due_now()
    assert runs == {"a": 1, "b": 2}  # a never ran again
    assert await state(db, b) == "done"


async def test_one_at_a_time_handlers_record_each_job_as_it_is_handled(db, scheduler, monkeypatch):
    handled = []

    async def handler(job):
        handled.append(job.id)
        return DONE

    scheduler.register_each("t", handler)
    first = await scheduler.schedule("t", past(3))
    second = await scheduler.schedule("t", past(2))
    await refuse_finish_once(monkeypatch, on_call=2)  # the second job's outcome is refused
    with pytest.raises(Exception, match="locked"):
        await scheduler.run_due_now()
    await scheduler.run_due_now()
    assert handled == [first, second, second]  # the first was recorded and not handled again
    assert await state(db, first) == await state(db, second) == "done"


async def test_a_refused_finish_makes_the_sleeper_back_off_not_spin(db, scheduler, monkeypatch):
    handled = []

    async def handler(jobs):
        handled.extend(j.id for j in jobs)
        return {j.id: DONE for j in jobs}

    scheduler.register("t", handler)
    await refuse_finish_once(monkeypatch)
    await scheduler.schedule("t", past())
    await scheduler.start()
    # Wait (bounded) until the round has ended and the sleeper has settled on its next wake-up: a
    # spinning sleeper would hand the job over again and again meanwhile.
    for _ in range(500):
        if scheduler.next_due is not None and scheduler.next_due > now().timestamp() + 10:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert len(handled) == 1
    assert scheduler.next_due == pytest.approx(now().timestamp() + backoff(0), abs=2)


async def test_a_job_cancelled_while_it_was_delivered_stays_cancelled(db, scheduler):
    async def handler(jobs):
        for job in jobs:
            await job_store.cancel(db, job.id)
        return {j.id: DONE for j in jobs}

    scheduler.register("t", handler)
    job_id = await scheduler.schedule("t", past())
    await scheduler.run_due_now()
    assert await state(db, job_id) == "cancelled"


async def test_stop_lets_a_delivering_round_record_what_it_sent(db, scheduler):
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(jobs):
        started.set()
        await asyncio.wait_for(release.wait(), 10)
        return {j.id: DONE for j in jobs}

    scheduler.register("t", handler)
    job_id = await scheduler.schedule("t", past())
    await scheduler.start()
    await asyncio.wait_for(started.wait(), 10)
    stopping = asyncio.ensure_future(scheduler.stop())
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.wait_for(stopping, 10)
    assert await state(db, job_id) == "done"


async def test_replace_groups_changes_every_group_or_none(db, scheduler, monkeypatch):
    import sqlite3

    a = await scheduler.schedule("t", future(), dedupe_key="deadline:1:research:0")
    b = await scheduler.schedule("t", future(), dedupe_key="deadline:1:script:0")
    new = [
        ("deadline:1:research:", [job_store.NewJob("t", future(50), {}, None, "deadline:1:research:60")]),
        ("deadline:1:script:", [job_store.NewJob("t", future(50), {}, None, "deadline:1:script:0")]),
    ]
    real = job_store.replace_group_in
    calls = []

    async def second_refused(tx, prefix, jobs, created_at):
        calls.append(prefix)
        if len(calls) == 2:
            raise sqlite3.OperationalError("database is locked")
        return await real(tx, prefix, jobs, created_at)

    monkeypatch.setattr(job_store, "replace_group_in", second_refused)
    with pytest.raises(sqlite3.OperationalError):
        await scheduler.replace_groups(new)
    assert [await state(db, i) for i in (a, b)] == ["pending", "pending"]  # the first group was rolled back
    monkeypatch.undo()
    trips = db.metrics.counter(TRIPS)
    await scheduler.replace_groups(new)
    assert db.metrics.counter(TRIPS) - trips == 1  # both groups in one trip to the database
    assert [await state(db, i) for i in (a, b)] == ["cancelled", "cancelled"]
    [pending] = [j.id for j in await job_store.pending(db) if j.dedupe_key == "deadline:1:script:0"]
    trips = db.metrics.counter(TRIPS)
    again = await scheduler.schedule("t", future(90), dedupe_key="deadline:1:script:0")
    assert db.metrics.counter(TRIPS) - trips == 1 and again == pending  # kept: already pending
    assert sorted(j.dedupe_key for j in await job_store.pending(db)) == [
        "deadline:1:research:60",
        "deadline:1:script:0",
    ]


async def test_a_stop_lets_the_running_job_finish_and_starts_no_other(db, scheduler):
    started: list[int] = []
    release = asyncio.Event()

    async def one(job):
        started.append(job.payload["n"])
        await asyncio.wait_for(release.wait(), 5)
        return DONE

    scheduler.register_each("t", one)
    first = await scheduler.schedule("t", past(3), {"n": 1})
    second = await scheduler.schedule("t", past(2), {"n": 2})
    await scheduler.start()
    for _ in range(100):  # until the first job is being delivered
        if started:
            break
        await asyncio.sleep(0.01)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.05)
    release.set()
    await stopping
    assert started == [1]  # the second was not begun during the stop
    assert await state(db, first) == "done"  # what was running finished and was recorded
    assert await state(db, second) == "pending"  # delivered at the next start
