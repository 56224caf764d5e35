"""Reminder storage: personal reminders, members' zones, deadlines, digests — per server, typed rows."""

from __future__ import annotations

import sqlite3

import pytest

from bot.clock import now_ts
from bot.core import jobs as job_store
from bot.core.db import STATEMENTS
from cogs.deadlines import store as deadline_store
from cogs.digest import store as digest_store
from cogs.episodes import authors_store, lists_store
from cogs.episodes import store as episode_store
from cogs.episodes.rules import Milestone, Status
from cogs.reminders import store
from cogs.reminders.store import Reminder


async def make(db, guild=1, user=10, due=None, text="call Krupskaya", private=False) -> Reminder:
    return await store.create(
        db,
        guild_id=guild,
        user_id=user,
        channel_id=100,
        text=text,
        due_at=due or now_ts() + 60,
        private=private,
    )


async def episode(db, guild=1, code="1924-01", thread=500):
    return await episode_store.create(
        db, guild_id=guild, code=code, title="Lenin", description=None, created_by=1,
        forum_id=2, thread_id=thread, starter_message_id=thread + 1,
    )  # fmt: skip


async def test_create_get_and_typed_row(db):
    r = await make(db, text="  verbatim *text* @everyone  ", private=True)
    assert isinstance(r, Reminder)
    assert r.text == "  verbatim *text* @everyone  "
    assert r.private is True
    assert r.pending
    assert r.due_at.tzinfo is not None
    assert (await store.get(db, r.id)) == r
    assert await store.get(db, 999) is None


async def test_pending_count_and_list_are_per_member_and_server(db):
    a = await make(db, due=now_ts() + 200)
    b = await make(db, due=now_ts() + 100)
    await make(db, user=11)
    await make(db, guild=2)
    assert await store.count_pending(db, 1, 10) == 2
    assert [r.id for r in await store.pending_for(db, 1, 10)] == [b.id, a.id]
    assert await store.cancel(db, a.id)
    assert not await store.cancel(db, a.id)
    assert await store.count_pending(db, 1, 10) == 1
    assert await store.count_pending(db, 2, 10) == 1


async def test_delivered_snoozed_and_found_by_message(db):
    a, b = await make(db), await make(db, user=11)
    await store.mark_delivered(db, [a.id, b.id], channel_id=100, message_id=777)
    delivered = await store.get(db, a.id)
    assert delivered.state == "delivered"
    assert delivered.message_id == 777
    assert [r.id for r in await store.in_message(db, 777)] == [a.id, b.id]
    due = now_ts() + 3600
    [snoozed], [job] = await store.snooze_scheduled(db, [a.id], due, "reminder")
    assert await store.snooze_scheduled(db, [a.id], now_ts() + 7200, "reminder") == ([], [])  # not twice
    again = await store.get(db, a.id)
    assert again == snoozed
    assert again.pending
    assert again.snoozes == 1
    assert job.dedupe_key == store.job_key(a.id, due)
    assert (await job_store.get(db, again.job_id)).due_at == due  # saved with its job


async def test_reminders_without_a_pending_job(db):
    r = await make(db)
    assert [x.id for x in await store.without_job(db)] == [r.id]
    due = int(r.due_at.timestamp())
    await job_store.add_many(db, [(1, "reminder", due, {"reminder_id": r.id}, store.job_key(r.id, due), 0)])
    assert await store.without_job(db) == []
    await db.execute("UPDATE jobs SET state = 'done'")
    assert [x.id for x in await store.without_job(db)] == [r.id]


async def test_create_many(db):
    rows = [store.NewReminder(1, 10 + n, 100, f"r{n}", now_ts() + n) for n in range(3)]
    created = await store.create_many(db, rows)
    assert [r.text for r in created] == ["r0", "r1", "r2"]
    assert await store.count_pending(db, 1, 11) == 1


async def test_member_time_zones(db):
    assert await store.get_timezone(db, 1, 10) is None
    await store.set_timezone(db, 1, 10, "Europe/Berlin")
    await store.set_timezone(db, 1, 10, "Asia/Tokyo")
    assert await store.get_timezone(db, 1, 10) == "Asia/Tokyo"
    assert await store.get_timezone(db, 2, 10) is None


async def test_set_and_move_deadline_records_history(db):
    ep = await episode(db)
    due = now_ts() + 86400
    assert await deadline_store.set_deadline(db, ep.id, Milestone.RESEARCH, due, actor_id=1) == (None, [])
    previous, _ = await deadline_store.set_deadline(db, ep.id, Milestone.RESEARCH, due + 3600, actor_id=2)
    assert int(previous.timestamp()) == due
    info = await deadline_store.deadline_info(db, ep.id, Milestone.RESEARCH)
    assert int(info.due_at.timestamp()) == due + 3600
    assert info.status is Status.IN_RESEARCH
    assert info.thread_id == 500
    events = [e for e in await episode_store.history(db, ep.id) if e.kind == "deadline"]
    assert [(e.from_value, e.to_value, e.note) for e in events] == [
        (None, str(due), "research"),
        (str(due), str(due + 3600), "research"),
    ]
    card = await lists_store.card_data(db, ep.id)
    assert [d.milestone for d in card.deadlines] == [Milestone.RESEARCH]


async def test_moving_a_deadline_replaces_its_reminder_jobs_in_the_same_transaction(db):
    ep = await episode(db)
    due = now_ts() + 5 * 86400
    prefix = f"deadline:{ep.id}:script:"

    def jobs_for(at: int) -> list[job_store.NewJob]:
        return [
            job_store.NewJob("deadline", at - offset, {"offset": offset}, 1, f"{prefix}{offset}")
            for offset in (86400, 0)
        ]

    other = job_store.NewJob("deadline", due, {}, 1, f"deadline:{ep.id}:research:0")
    await job_store.replace_group(db, f"deadline:{ep.id}:research:", [other], now_ts())
    _, cancelled = await deadline_store.set_deadline(
        db, ep.id, Milestone.SCRIPT, due, 1, jobs=jobs_for(due), job_prefix=prefix
    )
    assert cancelled == []
    _, cancelled = await deadline_store.set_deadline(
        db, ep.id, Milestone.SCRIPT, due + 3600, 1, jobs=jobs_for(due + 3600), job_prefix=prefix
    )
    assert sorted(cancelled) == [due - 86400, due]
    pending = await job_store.pending(db)
    assert sorted((j.dedupe_key, j.due_at) for j in pending) == [
        (f"deadline:{ep.id}:research:0", due),  # another milestone's job is left alone
        (f"{prefix}0", due + 3600),
        (f"{prefix}86400", due + 3600 - 86400),
    ]

    # A failure inside the transaction leaves both the deadline and its jobs as they were.
    clash = [*jobs_for(due + 7200), jobs_for(due + 7200)[0]]  # the same pending key twice
    with pytest.raises(sqlite3.IntegrityError):
        await deadline_store.set_deadline(
            db, ep.id, Milestone.SCRIPT, due + 7200, 1, jobs=clash, job_prefix=prefix
        )
    info = await deadline_store.deadline_info(db, ep.id, Milestone.SCRIPT)
    assert int(info.due_at.timestamp()) == due + 3600
    assert len(await job_store.pending(db)) == 3


async def test_deadlines_between_is_per_server(db):
    ours, theirs = await episode(db), await episode(db, guild=2, code="X", thread=600)
    start = now_ts()
    await deadline_store.set_deadline(db, ours.id, Milestone.SCRIPT, start + 100, 1)
    await deadline_store.set_deadline(db, ours.id, Milestone.PUBLISH, start + 30 * 86400, 1)
    await deadline_store.set_deadline(db, theirs.id, Milestone.SCRIPT, start + 100, 1)
    soon = await deadline_store.deadlines_between(db, 1, start, start + 14 * 86400)
    assert [(d.code, d.milestone) for d in soon] == [("1924-01", Milestone.SCRIPT)]
    assert len(await deadline_store.deadlines_after(db, 1, start)) == 2
    assert len(await deadline_store.deadlines_of(db, ours.id)) == 2


async def test_digest_is_recorded_once_per_week(db):
    assert not await digest_store.digest_sent(db, 1, "2026-W02")
    assert await digest_store.record_digest(db, 1, "2026-W02", channel_id=5, message_id=6)
    assert not await digest_store.record_digest(db, 1, "2026-W02", channel_id=5, message_id=7)
    assert await digest_store.digest_sent(db, 1, "2026-W02")
    assert not await digest_store.digest_sent(db, 2, "2026-W02")
    assert await digest_store.sent_weeks(db, 1) == {"2026-W02"}


async def test_digest_figures(db):
    a = await episode(db, code="A", thread=501)
    b = await episode(db, code="B", thread=502)
    await episode(db, guild=2, code="C", thread=503)
    await authors_store.add_author(db, b.id, 42, actor_id=1)
    for author in (7, 7, 8):
        await db.execute(
            "INSERT INTO contributions (guild_id, episode_id, author_id, origin, body, created_at) "
            "VALUES (1, ?, ?, 'thread', 'text', ?)",
            (b.id, author, now_ts()),
        )
    counts = await digest_store.research_counts(db, 1)
    assert [(c.code, c.contributions, c.contributors) for c in counts] == [("B", 3, 2), ("A", 0, 0)]
    assert [e.code for e in await digest_store.needing_author(db, 1)] == ["A"]
    await episode_store.set_status(db, a, Status.SHELVED, 1, None)
    assert await digest_store.needing_author(db, 1) == []


async def test_a_reminder_is_stored_with_its_delivery_job(db):
    due = now_ts() + 3600
    reminder, job = await store.create_scheduled(
        db, guild_id=1, user_id=10, channel_id=5, text="Check the 1924 congress dates", due_at=due,
        private=False, job_kind="reminder",
    )  # fmt: skip
    [pending] = await job_store.pending(db)
    assert reminder.job_id == pending.id
    assert pending.payload == {"reminder_id": reminder.id} == job.payload
    assert pending.due_at == due and pending.dedupe_key == store.job_key(reminder.id, due)
    assert await store.without_job(db) == []


async def test_pending_reminders_are_read_once_and_every_change_is_seen(db):
    def make(text: str, offset: int):
        return store.create_scheduled(
            db, guild_id=1, user_id=10, channel_id=5, text=text, due_at=now_ts() + offset, private=False,
            job_kind="reminder",
        )  # fmt: skip

    first, _ = await make("Read the testament", 3600)
    assert [r.id for r in await store.pending_for(db, 1, 10)] == [first.id]
    before = db.metrics.counter(STATEMENTS)
    assert [r.id for r in await store.pending_for(db, 1, 10)] == [first.id]
    assert db.metrics.counter(STATEMENTS) == before  # served from memory
    other, _ = await store.create_scheduled(
        db, guild_id=1, user_id=11, channel_id=5, text="Someone else's", due_at=now_ts() + 60, private=False,
        job_kind="reminder",
    )  # fmt: skip
    assert [r.id for r in await store.pending_for(db, 1, 11)] == [other.id]
    before = db.metrics.counter(STATEMENTS)
    assert [r.id for r in await store.pending_for(db, 1, 10)] == [first.id]
    # Another member's reminder leaves this one's list in memory.
    assert db.metrics.counter(STATEMENTS) == before
    second, _ = await make("Check the congress dates", 7200)
    assert [r.id for r in await store.pending_for(db, 1, 10)] == [first.id, second.id]
    await store.cancel(db, first.id)
    assert [r.id for r in await store.pending_for(db, 1, 10)] == [second.id]
    await store.mark_delivered(db, [second.id], channel_id=5, message_id=99)
    assert await store.pending_for(db, 1, 10) == []
    await store.snooze_scheduled(db, [second.id], now_ts() + 60, "reminder")
    assert [r.id for r in await store.pending_for(db, 1, 10)] == [second.id]
    await store.mark_failed(db, [second.id])
    assert await store.pending_for(db, 1, 10) == []


async def test_the_pending_limit_is_checked_inside_the_transaction(db):
    async def make(user_id: int):
        return await store.create_scheduled(
            db, guild_id=1, user_id=user_id, channel_id=5, text="x", due_at=now_ts() + 3600, private=False,
            job_kind="reminder", max_pending=2,
        )  # fmt: skip

    assert await make(10) is not None and await make(10) is not None
    jobs_before = len(await job_store.pending(db))
    assert await make(10) is None  # refused: nothing stored, no job
    assert await store.count_pending(db, 1, 10) == 2
    assert len(await job_store.pending(db)) == jobs_before
    assert await make(11) is not None  # another member's limit is their own


async def test_a_servers_zones_are_read_once(db):
    await store.set_timezone(db, 1, 10, "Europe/Warsaw")
    await store.set_timezone(db, 2, 10, "Asia/Tokyo")
    before = db.metrics.counter(STATEMENTS)
    assert await store.get_timezone(db, 1, 10) == "Europe/Warsaw"
    assert [await store.get_timezone(db, 1, u) for u in range(11, 40)] == [None] * 29
    assert db.metrics.counter(STATEMENTS) - before == 1  # one read for the whole server
    await store.set_timezone(db, 1, 12, "America/New_York")
    assert await store.get_timezone(db, 1, 12) == "America/New_York"
    assert await store.get_timezone(db, 2, 10) == "Asia/Tokyo"


async def test_two_snoozes_at_once_only_one_changes_the_reminder(db):
    import asyncio

    r = await make(db)
    await store.mark_delivered(db, [r.id], channel_id=100, message_id=5)
    hour, day = await asyncio.gather(
        store.snooze_scheduled(db, [r.id], now_ts() + 3600, "reminder"),
        store.snooze_scheduled(db, [r.id], now_ts() + 86400, "reminder"),
    )
    assert sorted([len(hour[0]), len(day[0])]) == [0, 1]
    stored = await store.get(db, r.id)
    winner = hour[0] or day[0]
    assert stored == winner[0]
    assert len(await job_store.pending(db, kind="reminder")) == 1
