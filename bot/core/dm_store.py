"""The DM channel the bot has with each member, remembered (the `dm_channels` table, migration 0013), so
that a DM needs no look-up of the user and no opening of the channel (see bot.core.dms)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.db import Database

_CHUNK = 500  # ids per statement (SQLite's variable limit is far above)


@dataclass(frozen=True, slots=True)
class DmChannel:
    user_id: int
    channel_id: int
    remembered_at: float  # UTC unix epoch seconds


async def get_many(db: Database, user_ids: Iterable[int]) -> dict[int, DmChannel]:
    """The remembered DM channels of those of `user_ids` that have one, by user id."""
    ids = list(dict.fromkeys(user_ids))
    found: dict[int, DmChannel] = {}
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        rows = await db.fetchall(
            "SELECT user_id, channel_id, remembered_at FROM dm_channels "
            f"WHERE user_id IN ({', '.join('?' for _ in part)})",
            part,
        )
        found.update((r[0], DmChannel(r[0], r[1], r[2])) for r in rows)
    return found


async def get(db: Database, user_id: int) -> DmChannel | None:
    return (await get_many(db, [user_id])).get(user_id)


async def remember_many(db: Database, channels: Iterable[tuple[int, int]], at: float) -> None:
    """Remember (user id, DM channel id) pairs, replacing what was remembered for those members."""
    await db.executemany(
        "INSERT INTO dm_channels (user_id, channel_id, remembered_at) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET channel_id = excluded.channel_id, "
        "remembered_at = excluded.remembered_at",
        [(user_id, channel_id, at) for user_id, channel_id in channels],
    )


async def remember(db: Database, user_id: int, channel_id: int, at: float) -> None:
    await remember_many(db, [(user_id, channel_id)], at)


async def forget(db: Database, user_id: int, channel_id: int) -> bool:
    """Forget a member's DM channel if it is still `channel_id` (a newer one stays); whether it was."""
    return (
        await db.execute(
            "DELETE FROM dm_channels WHERE user_id = ? AND channel_id = ?", (user_id, channel_id)
        )
        > 0
    )
