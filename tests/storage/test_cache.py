"""The typed read-through cache store modules keep per connection, and its life with the connection."""

from __future__ import annotations

import asyncio

from bot.core.cache import Cache, CacheSlot
from bot.core.db import Database
from cogs.config import store as settings_store

SLOT: CacheSlot[int, str] = CacheSlot("test_values")


def test_get_put_drop_clear():
    cache: Cache[int, str] = Cache("values")
    assert cache.get(1) is None
    assert cache.put(1, "one") == "one"
    cache.put(2, "two")
    assert cache.get(1) == "one" and len(cache) == 2
    cache.drop(1)
    cache.drop(1)  # dropping what is absent is fine
    assert cache.get(1) is None and cache.get(2) == "two"
    cache.clear()
    assert len(cache) == 0


async def test_a_slot_is_one_cache_per_connection_emptied_at_close(tmp_path):
    first, second = Database(tmp_path / "a.sqlite3"), Database(tmp_path / "b.sqlite3")
    await first.open()
    await second.open()
    try:
        SLOT.on(first).put(1, "first")
        assert SLOT.on(first) is SLOT.on(first)
        assert SLOT.on(first).get(1) == "first" and SLOT.on(second).get(1) is None
    finally:
        await first.close()
        await second.close()
    assert SLOT.on(first).get(1) is None


async def test_a_write_then_drop_is_never_undone_by_a_read_in_flight(tmp_path):
    """The single-writer assumption at work: a read started before an update and stored after it
    lands before the update's drop (statements run in order), so the next read sees the new value."""
    db = Database(tmp_path / "c.sqlite3")
    await db.open()
    try:
        await settings_store.update(db, 5, timezone="Europe/Warsaw")
        settings_store._SETTINGS.on(db).clear()
        stale_read = asyncio.create_task(settings_store.get(db, 5))
        await asyncio.sleep(0)  # the read's statement is queued before the write's
        await settings_store.update(db, 5, timezone="Asia/Tokyo")
        await stale_read
        assert (await settings_store.get(db, 5)).timezone == "Asia/Tokyo"
    finally:
        await db.close()
