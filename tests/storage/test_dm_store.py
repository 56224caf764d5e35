"""Remembered DM channels (migration 0013) on a real SQLite file: remembered, replaced, read in bulk,
forgotten only while still the same channel, and kept across reopening the file."""

from __future__ import annotations

from bot.core import dm_store
from bot.core.dm_store import DmChannel


async def test_a_remembered_channel_is_read_back_and_survives_reopening(db):
    assert await dm_store.get(db, 11) is None
    await dm_store.remember(db, 11, 9001, 1767225600.0)
    assert await dm_store.get(db, 11) == DmChannel(11, 9001, 1767225600.0)
    await db.close()
    await db.open()
    assert await dm_store.get(db, 11) == DmChannel(11, 9001, 1767225600.0)


async def test_remembering_again_replaces_the_channel(db):
    await dm_store.remember(db, 11, 9001, 1.0)
    await dm_store.remember(db, 11, 9002, 2.0)
    assert await dm_store.get(db, 11) == DmChannel(11, 9002, 2.0)
    assert await db.fetchval("SELECT COUNT(*) FROM dm_channels") == 1


async def test_many_are_read_in_bulk_and_members_without_one_are_left_out(db):
    await dm_store.remember_many(db, [(u, 5000 + u) for u in range(1, 1201)], 3.0)
    found = await dm_store.get_many(db, [*range(1, 1201), 99999, 5, 5])
    assert len(found) == 1200 and 99999 not in found
    assert found[700] == DmChannel(700, 5700, 3.0)
    assert await dm_store.get_many(db, []) == {}


async def test_forget_only_the_channel_that_is_still_remembered(db):
    await dm_store.remember(db, 11, 9002, 2.0)
    assert not await dm_store.forget(db, 11, 9001)  # an older one: the newer stays
    assert await dm_store.get(db, 11) == DmChannel(11, 9002, 2.0)
    assert await dm_store.forget(db, 11, 9002)
    assert await dm_store.get(db, 11) is None
    assert not await dm_store.forget(db, 11, 9002)
