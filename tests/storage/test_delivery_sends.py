"""The record of each message a delivery sends: intent before, message id after, settled on retry."""

from __future__ import annotations

from bot.clock import now, now_ts
from bot.core import outbox_store
from cogs.reminders import store


async def begin(db, items, nonce="n1", channel=7, at=None):
    return await outbox_store.begin_send(
        db,
        nonce=nonce,
        channel_id=channel,
        fingerprint="text",
        items=items,
        created_at=at or now().timestamp(),
    )


async def test_an_intent_is_unknown_until_recorded_and_carries_its_items(db):
    send_id = await begin(db, ["job:1", "job:2"])
    [send] = await outbox_store.open_sends(db, ["job:2"])
    assert (send.id, send.state, send.nonce, send.channel_id) == (send_id, "unknown", "n1", 7)
    assert sorted(send.items) == ["job:1", "job:2"]
    await outbox_store.record_sent(db, send_id, 555, now().timestamp())
    [send] = await outbox_store.open_sends(db, ["job:1"])
    assert (send.state, send.message_id) == ("sent", 555)
    assert await outbox_store.open_sends(db, ["job:3"]) == []


async def test_absent_sends_are_not_open_and_a_sent_one_is_never_made_absent(db):
    refused = await begin(db, ["job:1"], nonce="a")
    sent = await begin(db, ["job:1"], nonce="b")
    await outbox_store.record_sent(db, sent, 9, now().timestamp())
    await outbox_store.record_absent(db, [refused, sent], now().timestamp())
    [left] = await outbox_store.open_sends(db, ["job:1"])
    assert (left.id, left.state) == (sent, "sent")


async def test_every_attempt_at_the_same_items_is_recorded_with_its_own_row(db):
    first = await begin(db, ["job:1"], nonce="same")
    second = await begin(db, ["job:1"], nonce="same")
    assert first != second
    await outbox_store.record_absent(db, [first], now().timestamp())
    assert [s.id for s in await outbox_store.open_sends(db, ["job:1"])] == [second]


def test_the_nonce_depends_on_the_items_only_and_fits_discord():
    from bot.core.outbox_store import nonce_for

    assert nonce_for(["job:1", "job:2"]) == nonce_for(["job:2", "job:1"])
    assert nonce_for(["job:1"]) != nonce_for(["job:2"])
    assert len(nonce_for([f"reminder:{n}:1767225600" for n in range(40)])) <= 25


async def test_record_delivery_marks_the_send_and_its_reminders_in_one_write(db):
    reminder = await store.create(
        db, guild_id=1, user_id=2, channel_id=7, text="x", due_at=int(now().timestamp()), private=False
    )
    send_id = await begin(db, [store.job_key(reminder.id, int(reminder.due_at.timestamp()))])
    at = now_ts()
    await outbox_store.record_delivery(
        db,
        send_id,
        42,
        at=at,
        also=[lambda tx: store.mark_delivered_in(tx, [reminder.id], channel_id=7, message_id=42, at=at)],
    )
    delivered = await store.get(db, reminder.id)
    assert (delivered.state, delivered.message_id, delivered.delivered_channel_id) == ("delivered", 42, 7)
    [send] = await outbox_store.open_sends(db, [f"reminder:{reminder.id}:{int(reminder.due_at.timestamp())}"])
    assert send.message_id == 42


async def test_prune_forgets_only_resolved_sends_older_than_the_cut(db):
    old = await begin(db, ["job:1"], nonce="old")
    await outbox_store.record_sent(db, old, 1, now().timestamp() - 100)
    unknown = await begin(db, ["job:2"], nonce="unknown", at=now().timestamp() - 1000)
    recent = await begin(db, ["job:3"], nonce="recent")
    await outbox_store.record_sent(db, recent, 3, now().timestamp())
    assert await outbox_store.prune_sends(db, now().timestamp() - 50) == 1
    left = await outbox_store.open_sends(db, ["job:1", "job:2", "job:3"])
    assert [s.id for s in left] == [unknown, recent]
    assert await db.fetchval("SELECT COUNT(*) FROM send_items WHERE item = 'job:1'") == 0
