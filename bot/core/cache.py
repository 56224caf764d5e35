"""Read-through caches that store modules keep in front of their tables, and the one assumption they rely on.

The assumption: **one connection, one writer, statements run in order.** The bot has one aiosqlite
connection (`bot.core.db.Database`), and aiosqlite runs every statement of that connection, reads and
writes alike, one after another on its one thread, first in first out. So a store function that writes
a row and then drops (or replaces) the cache entry it changed, right after awaiting its statement, is
never overtaken by a read of the old row: a read that started before the write has already stored its
result, which the drop then removes; a read that starts after it sees the new row. Hence the rule every
user follows — change the cache *after* the statement (or the transaction) that changed the rows, never
before it — and the limit: a second connection, a thread pool, or another process writing the same file
would make these caches serve stale values. They are emptied when the connection closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

if TYPE_CHECKING:
    from bot.core.db import Database

K = TypeVar("K")
V = TypeVar("V")


class Cache(Generic[K, V]):
    """Values by key, for one connection (see the module docstring for why that is safe)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> V:
        """Store `value` (read from the database, or written there just before) and return it."""
        self._values[key] = value
        return value

    def drop(self, key: K) -> None:
        """Forget `key`, after the statement that changed its rows."""
        self._values.pop(key, None)

    def clear(self) -> None:
        """Forget everything, after a statement that changed rows of many keys."""
        self._values.clear()

    def __len__(self) -> int:
        return len(self._values)


class CacheSlot(Generic[K, V]):
    """The typed name of a cache a store module keeps on the database connection (one per connection,
    emptied when it closes): `SETTINGS: CacheSlot[int, GuildSettings] = CacheSlot("guild_settings")`,
    then `SETTINGS.on(db).get(guild_id)`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def on(self, db: Database) -> Cache[K, V]:
        found = db.caches.get(self.name)
        if found is None:
            found = db.caches[self.name] = Cache(self.name)
        return cast(Cache[K, V], found)


AnyCache = Cache[Any, Any]
