"""Job kinds take turns in the one scheduler (plain handlers, a real temporary database): each kind's due
jobs go in slices, one slice per kind per turn, each slice recorded as it finishes; a kind's groups stay in
one slice; servers take turns within a kind; a stop finishes the slice it is in and starts nothing more."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.clock import now
from bot.core import jobs as job_store
from bot.core import scheduler as scheduler_module
from bot.core.jobs import Job
from bot.core.scheduler import DONE, SLICE, slices


def past(seconds: float) -> float:
    return now().timestamp() - seconds


async def state(db, job_id: int) -> str:
    return await db.fetchval("SELECT state FROM jobs WHERE id = ?", (job_id,))


class Calls(list):
    """Every handler call, in order: (kind, the `n` of each job it was given)."""

    def handler(self, kind: str, also=None):
        async def run(jobs: list[Job]):
            self.append((kind, [j.payload["n"] for j in jobs]))
            if also is not None:
                await also(jobs)
            return {j.id: DONE for j in jobs}

        return run

    def each(self, kind: str):
        async def run(job: Job):
            self.append((kind, [job.payload["n"]]))
            return DONE

        return run


async def burst(scheduler, kind: str, count: int, *, guild_id: int | None = 1, **payload) -> list[int]:
    """`count` jobs of `kind` due a while ago, the earliest first (they come before anything due later)."""
    return [
        await scheduler.schedule(kind, past(1000 - n / 100), {"n": n, **payload}, guild_id=guild_id)
        for n in range(count)
    ]


async def test_a_kind_due_with_a_burst_of_another_is_handled_after_one_slice_of_it(db, scheduler):
    calls = Calls()
    scheduler.register("reminder", calls.handler("reminder"))
    scheduler.register("deadline", calls.handler("deadline"))
    await burst(scheduler, "reminder", 100)
    await scheduler.schedule("deadline", past(1), {"n": 0}, guild_id=2)  # due last of all
    await scheduler.run_due_now()
    assert calls[0] == ("reminder", list(range(SLICE)))
    assert calls[1] == ("deadline", [0])
    assert calls[2:] == [
        ("reminder", list(range(SLICE, 2 * SLICE))),
        ("reminder", list(range(2 * SLICE, 100))),
    ]


async def test_a_one_at_a_time_kind_takes_turns_too(db, scheduler):
    calls = Calls()
    scheduler.register_each("card", calls.each("card"))
    scheduler.register("deadline", calls.handler("deadline"))
    await burst(scheduler, "card", 100)
    await scheduler.schedule("deadline", past(1), {"n": 0}, guild_id=2)
    await scheduler.run_due_now()
    first = calls.index(("deadline", [0]))
    assert 1 <= first <= SLICE  # at most a slice of the cards went before it
    assert [n for kind, ns in calls if kind == "card" for n in ns] == list(range(100))


async def test_servers_take_turns_within_a_kind(db, scheduler):
    calls = Calls()
    scheduler.register("reminder", calls.handler("reminder"))
    await burst(scheduler, "reminder", 100, guild_id=1)
    await scheduler.schedule("reminder", past(1), {"n": 1000}, guild_id=2)  # another server's, due last
    await scheduler.run_due_now()
    assert 1000 in calls[0][1] and len(calls[0][1]) == SLICE  # in the first slice, not after the hundred
    assert sorted(n for _, ns in calls for n in ns) == [*range(100), 1000]


async def test_a_burst_larger_than_one_read_does_not_crowd_another_server_out(db, scheduler, monkeypatch):
    monkeypatch.setattr(scheduler_module, "BATCH", 100)  # jobs read at once
    calls = Calls()
    scheduler.register("reminder", calls.handler("reminder"))
    await burst(scheduler, "reminder", 250, guild_id=1)
    await scheduler.schedule("reminder", past(1), {"n": 1000}, guild_id=2)  # due after all 250
    await scheduler.run_due_now()
    assert 1000 in calls[0][1]  # read with the first hundred, not after the 250
    assert sorted(n for _, ns in calls for n in ns) == [*range(250), 1000]


async def test_slices_keep_what_the_kind_groups_together(db, scheduler):
    calls = Calls()

    async def by_member(jobs: list[Job]):
        return {j.id: j.payload["member"] for j in jobs}

    scheduler.register("reminder", calls.handler("reminder"), together=by_member)
    # Forty-four members with one reminder each, then one member with three (they go as one DM): cut
    # every 45 jobs, the three would be split between two slices.
    for n in range(44):
        await scheduler.schedule("reminder", past(100 - n / 100), {"n": n, "member": n})
    for n in range(44, 47):
        await scheduler.schedule("reminder", past(50), {"n": n, "member": 99})
    await scheduler.run_due_now()
    assert [ns for _, ns in calls] == [list(range(44)), [44, 45, 46]]


def test_slicing_keeps_groups_whole_and_in_order():
    jobs = [Job(id=n, guild_id=1, kind="k", due_at=0.0) for n in range(10)]
    keys = {n: "big" for n in range(2, 8)}  # six jobs that stay together, more than a slice
    cut = slices(jobs, keys, size=4)
    assert [[j.id for j in s] for s in cut] == [[0, 1], [2, 3, 4, 5, 6, 7], [8, 9]]
    assert [[j.id for j in s] for s in slices(jobs, {}, size=4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    loose = {n: None for n in range(10)}  # None groups nothing
    assert [[j.id for j in s] for s in slices(jobs, loose, size=4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_each_slice_is_recorded_as_it_finishes(db, scheduler, monkeypatch):
    calls = Calls()
    scheduler.register("reminder", calls.handler("reminder"))
    ids = await burst(scheduler, "reminder", 100)
    real = job_store.finish
    finishes = []

    async def second_refused(*args, **kwargs):
        finishes.append(1)
        if len(finishes) == 2:
            raise sqlite3.OperationalError("database is locked")
        return await real(*args, **kwargs)

    monkeypatch.setattr(job_store, "finish", second_refused)
    with pytest.raises(sqlite3.OperationalError):
        await scheduler.run_due_now()
    assert [await state(db, i) for i in ids[:SLICE]] == ["done"] * SLICE  # the first slice stays recorded
    assert [await state(db, i) for i in ids[SLICE:]] == ["pending"] * (100 - SLICE)
    monkeypatch.undo()
    calls.clear()
    await scheduler.run_due_now()
    assert sorted(n for _, ns in calls for n in ns) == list(range(SLICE, 100))  # the first never again


async def test_a_kind_falling_due_during_a_round_joins_the_turns(db, scheduler):
    calls = Calls()

    async def meanwhile(jobs: list[Job]) -> None:
        if jobs[0].payload["n"] == 0:  # during the first slice, a card falls due
            await scheduler.schedule("card", past(0), {"n": 0}, guild_id=2)

    scheduler.register("reminder", calls.handler("reminder", also=meanwhile))
    scheduler.register_each("card", calls.each("card"))
    await burst(scheduler, "reminder", 100)
    await scheduler.run_due_now()
    assert [kind for kind, _ in calls] == ["reminder", "card", "reminder", "reminder"]


async def test_a_stop_mid_round_records_the_slice_it_is_in_and_starts_nothing_more(db, scheduler):
    calls = Calls()
    release = asyncio.Event()

    async def held(jobs: list[Job]) -> None:
        await asyncio.wait_for(release.wait(), 5)

    scheduler.register("reminder", calls.handler("reminder", also=held))
    scheduler.register("deadline", calls.handler("deadline"))
    ids = await burst(scheduler, "reminder", 100)
    deadline = await scheduler.schedule("deadline", past(1), {"n": 0}, guild_id=2)
    await scheduler.start()
    for _ in range(200):  # until the first slice is being delivered
        if calls:
            break
        await asyncio.sleep(0.01)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.wait_for(stopping, 10)
    assert calls == [("reminder", list(range(SLICE)))]  # nothing was begun during the stop
    assert [await state(db, i) for i in ids[:SLICE]] == ["done"] * SLICE  # the slice was recorded
    assert {await state(db, i) for i in [*ids[SLICE:], deadline]} == {"pending"}  # for the next start
