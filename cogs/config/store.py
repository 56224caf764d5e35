"""Per-server settings (`/config`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from bot.clock import now_ts
from bot.core.cache import CacheSlot
from bot.core.db import Database


@dataclass(frozen=True, slots=True)
class GuildSettings:
    guild_id: int
    research_forum_id: int | None = None
    review_channel_id: int | None = None
    announcements_channel_id: int | None = None
    host_role_id: int | None = None
    timezone: str = "UTC"
    reminder_offsets: str = "3d,1d,0"
    digest_day: int = 0
    digest_time: str = "09:00"
    like_emoji: str | None = (
        None  # space-separated, as given to `/config research likes`; None: the default set
    )


_COLUMNS = [f.name for f in fields(GuildSettings)]
_EDITABLE = set(_COLUMNS) - {"guild_id"}


# Settings are read by nearly every command and written only through `update`: they are kept in memory
# per connection, and `update` drops the entry it changed after its write (see bot.core.cache).
_SETTINGS: CacheSlot[int, GuildSettings] = CacheSlot("guild_settings")


async def get(db: Database, guild_id: int) -> GuildSettings:
    cached = _SETTINGS.on(db).get(guild_id)
    if cached is not None:
        return cached
    row = await db.fetchone(
        f"SELECT {', '.join(_COLUMNS)} FROM guild_settings WHERE guild_id = ?", (guild_id,)
    )
    found = GuildSettings(**dict(row)) if row else GuildSettings(guild_id=guild_id)
    return _SETTINGS.on(db).put(guild_id, found)


async def update(db: Database, guild_id: int, **changes: object) -> GuildSettings:
    """Set the given columns (others keep their value), creating the row on first use."""
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    if changes:
        cols = sorted(changes)
        assignments = ", ".join(f"{c} = excluded.{c}" for c in cols)
        await db.execute(
            f"INSERT INTO guild_settings (guild_id, updated_at, {', '.join(cols)}) "
            f"VALUES (?, ?, {', '.join('?' for _ in cols)}) "
            f"ON CONFLICT (guild_id) DO UPDATE SET updated_at = excluded.updated_at, {assignments}",
            (guild_id, now_ts(), *(changes[c] for c in cols)),
        )
        _SETTINGS.on(db).drop(guild_id)  # after the write: a read that raced it cannot leave the old value
    return await get(db, guild_id)


async def all_guild_ids(db: Database) -> list[int]:
    return [r[0] for r in await db.fetchall("SELECT guild_id FROM guild_settings")]


async def get_meta(db: Database, key: str) -> str | None:
    return await db.fetchval("SELECT value FROM meta WHERE key = ?", (key,))


async def set_meta(db: Database, key: str, value: str) -> None:
    await db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _welcome_key(guild_id: int) -> str:
    return f"welcomed:{guild_id}"


async def welcomed_at(db: Database, guild_id: int) -> str | None:
    """When (ISO time) the bot last posted its set-up steps to this server, if it ever did."""
    return await get_meta(db, _welcome_key(guild_id))


async def set_welcomed(db: Database, guild_id: int, when: str) -> None:
    await set_meta(db, _welcome_key(guild_id), when)


async def has_settings(db: Database, guild_id: int) -> bool:
    return await db.fetchval("SELECT 1 FROM guild_settings WHERE guild_id = ?", (guild_id,)) is not None
