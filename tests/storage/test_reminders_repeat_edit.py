"""Storage of repeating and edited reminders on a real SQLite file: migration 0009 over an existing
database, the conditional writes that keep edits and deliveries from overwriting each other, the next
occurrence written with its job in the delivery's transaction, and snoozed occurrences."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import now_ts
from bot.core import jobs as job_store
from bot.core.db import Database
from cogs.reminders import store
from cogs.reminders.store import Change, Occurrence, Repetition

GUILD, USER, CHANNEL = 1, 10, 100
KIND = "reminder"


async def scheduled(db, text="Check the Krupskaya spelling", due=None, repetition=None):
    reminder, _ = await store.create_scheduled(
        db, guild_id=GUILD, user_id=USER, channel_id=CHANNEL, text=text, due_at=due or now_ts() + 3600,
        private=False, job_kind=KIND, repetition=repetition,
    )  # fmt: skip
    return reminder


DAILY = Repetition("daily", "2026-01-02T09:00:00", "Europe/Berlin")


async def test_migration_0009_keeps_existing_reminders_working(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = Database(path)
    await old.open(target_version=8)
    due = now_ts() + 3600
    await old.execute(
        "INSERT INTO reminders (guild_id, user_id, channel_id, text, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (GUILD, USER, CHANNEL, "Lenin died in January 1924", due, now_ts()),
    )
    await old.execute(
        "INSERT INTO reminders (guild_id, user_id, channel_id, text, due_at, created_at, state, message_id) "
        "VALUES (?, ?, ?, ?, ?, ?, 'delivered', 77)",
        (GUILD, USER, CHANNEL, "Spartacus, delivered before the upgrade", due - 7200, now_ts()),
    )
    await old.close()

    new = Database(path)
    await new.open()
    try:
        pending, delivered = (await store.get(new, 1)), (await store.get(new, 2))
        assert (pending.repeat, pending.rule, pending.revision, pending.sending_due) == (None, None, 0, None)
        assert pending.pending and not pending.in_dm
        assert [r.id for r in await store.in_message(new, 77)] == [delivered.id]
        # The old rows are delivered and snoozed like any other (a row without a job id takes any of its jobs).
        assert list(await store.claim_for_delivery(new, [(1, 4242)])) == [1]
        async with new.transaction() as tx:
            await store.delivered_once_in(
                tx, [1], due_at={1: due}, channel_id=CHANNEL, message_id=78, at=now_ts()
            )
        assert (await store.get(new, 1)).state == "delivered"
        [snoozed], _ = await store.snooze_scheduled(new, [2], now_ts() + 60, KIND)
        assert snoozed.pending and snoozed.snoozes == 1
    finally:
        await new.close()


async def test_an_edit_and_a_delivery_at_once_never_both_win(db):
    """Whichever of the two writes comes first, the other sees it: the delivery sends the edited text, or
    the edit is refused and the delivery sends the text that was set."""
    outcomes = set()
    for edit_first in (True, False):
        for _ in range(5):
            read = await scheduled(db, text="old text")
            change = Change("new text", read.due_ts, None)
            edit = store.edit_scheduled(db, read, change, KIND)
            claim = store.claim_for_delivery(db, [(read.id, read.job_id)])
            if edit_first:
                edited, claimed = await asyncio.gather(edit, claim)
            else:
                claimed, edited = await asyncio.gather(claim, edit)
            sent = claimed[read.id].text
            if edited is None:
                assert sent == "old text"
                assert (await store.get(db, read.id)).text == "old text"
            else:
                assert sent == "new text"
            outcomes.add(edited is None)
    assert outcomes == {True, False}  # both orders happened


async def test_an_edit_is_refused_from_the_claim_until_the_delivery_is_recorded(db):
    read = await scheduled(db, repetition=DAILY)
    await store.claim_for_delivery(db, [(read.id, read.job_id)])
    claimed = await store.get(db, read.id)
    assert claimed.sending_due == read.due_ts
    assert await store.edit_scheduled(db, claimed, Change("x", read.due_ts, None), KIND) is None
    next_due = read.due_ts + 86400
    async with db.transaction() as tx:
        job = await store.next_occurrence_in(
            tx, claimed, next_due, KIND, channel_id=CHANNEL, message_id=5, at=now_ts()
        )
    assert job is not None and job.dedupe_key == store.job_key(read.id, next_due)
    moved = await store.get(db, read.id)
    assert (moved.due_ts, moved.sending_due, moved.state, moved.message_id) == (next_due, None, "pending", 5)
    assert (await job_store.get(db, moved.job_id)).due_at == next_due
    assert [o.due_at for o in await store.occurrences_in(db, 5)] == [read.due_ts]
    # The edit now writes over the next occurrence.
    edited, _, _ = await store.edit_scheduled(db, moved, Change("x", next_due, None), KIND)
    assert edited.text == "x" and edited.revision == 1


async def test_a_stale_delivery_record_changes_nothing(db):
    one_off = await scheduled(db, text="one-off")
    repeating = await scheduled(db, text="repeating", repetition=DAILY)
    stale = {one_off.id: one_off.due_ts - 60, repeating.id: repeating.due_ts - 60}
    async with db.transaction() as tx:
        assert await store.pending_at_in(tx, stale) == []
        await store.delivered_once_in(
            tx, [one_off.id], due_at=stale, channel_id=CHANNEL, message_id=9, at=now_ts()
        )
        stale_read = await store.get(db, repeating.id)
    # An edit moved the repeating one meanwhile: the record of the occurrence that was read is void.
    await store.edit_scheduled(db, stale_read, Change("moved", repeating.due_ts + 600, None), KIND)
    async with db.transaction() as tx:
        assert (
            await store.next_occurrence_in(
                tx, stale_read, repeating.due_ts + 86400, KIND, channel_id=1, message_id=9, at=now_ts()
            )
            is None
        )
    assert (await store.get(db, one_off.id)).state == "pending"
    after = await store.get(db, repeating.id)
    assert after.due_ts == repeating.due_ts + 600
    assert await store.occurrences_in(db, 9) == []
    pending_keys = {j.dedupe_key for j in await job_store.pending(db, kind=KIND)}
    assert pending_keys == {
        store.job_key(one_off.id, one_off.due_ts),
        store.job_key(repeating.id, after.due_ts),
    }


async def test_the_next_occurrence_and_its_job_are_one_write(db):
    read = await scheduled(db, repetition=DAILY)

    async def record_that_fails() -> None:
        async with db.transaction() as tx:
            await store.next_occurrence_in(
                tx, read, read.due_ts + 86400, KIND, channel_id=1, message_id=3, at=now_ts()
            )
            raise RuntimeError("the send's record failed")

    with pytest.raises(RuntimeError):
        await record_that_fails()
    assert (await store.get(db, read.id)).due_ts == read.due_ts
    assert [j.dedupe_key for j in await job_store.pending(db, kind=KIND)] == [
        store.job_key(read.id, read.due_ts)
    ]
    assert await store.occurrences_in(db, 3) == []


async def test_an_edit_that_moves_the_time_replaces_the_job_in_the_same_write(db):
    read = await scheduled(db)
    later = read.due_ts + 7200
    edited, job, cancelled = await store.edit_scheduled(db, read, Change(read.text, later, DAILY), KIND)
    assert cancelled == [float(read.due_ts)]
    [pending] = await job_store.pending(db, kind=KIND)
    assert pending.id == edited.job_id and pending.due_at == later == job.due_at
    assert edited.repeat == "daily" and edited.repeat_zone == "Europe/Berlin"
    # A second edit from the same (now stale) read changes nothing.
    assert await store.edit_scheduled(db, read, Change("again", read.due_ts, None), KIND) is None


async def test_an_occurrence_is_snoozed_once_even_by_two_clicks_at_once(db):
    read = await scheduled(db, repetition=DAILY)
    async with db.transaction() as tx:
        await store.next_occurrence_in(
            tx, read, read.due_ts + 86400, KIND, channel_id=1, message_id=3, at=now_ts()
        )
    [occ] = await store.occurrences_in(db, 3)
    assert occ == Occurrence(read.id, read.due_ts, 1, 3, None)
    hour, day = await asyncio.gather(
        store.snooze_occurrences(db, [occ], now_ts() + 3600, KIND),
        store.snooze_occurrences(db, [occ], now_ts() + 86400, KIND),
    )
    assert sorted([len(hour[0]), len(day[0])]) == [0, 1]
    [copy] = hour[0] or day[0]
    assert copy.rule is None and copy.snoozes == 1 and copy.text == read.text and copy.pending
    [occ] = await store.occurrences_in(db, 3)
    assert occ.snooze_id == copy.id
    assert {r.id for r in await store.in_message(db, 3)} == {read.id}
    pending = {j.dedupe_key for j in await job_store.pending(db, kind=KIND)}
    assert store.job_key(copy.id, copy.due_ts) in pending
    assert store.job_key(read.id, read.due_ts + 86400) in pending  # the series goes on


async def test_dm_reminders_are_their_own_scope(db):
    reminder, job = await store.create_scheduled(
        db, guild_id=store.DM, user_id=USER, channel_id=555, text="in our DMs", due_at=now_ts() + 60,
        private=False, job_kind=KIND,
    )  # fmt: skip
    assert reminder.in_dm and job.guild_id is None
    assert [r.id for r in await store.pending_for(db, store.DM, USER)] == [reminder.id]
    assert await store.pending_for(db, GUILD, USER) == []
