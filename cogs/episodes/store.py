"""Episode rows: create, get, edit, status moves and their history."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_ts, now_ts
from bot.core import jobs as job_store
from bot.core.cache import CacheSlot
from bot.core.db import Database, Reader, Tx
from bot.errors import Conflict
from cogs.episodes.posts_store import (
    NewNote,
    announce_in,
    card_job,
    card_job_in,
)
from cogs.episodes.rules import Status

EPISODE_COLS = (
    "id, guild_id, code, title, description, status, forum_id, thread_id, starter_message_id, "
    "created_by, created_at, updated_at, thanked_at, last_seen_message_id"
)


def episode_cols(alias: str, prefix: str) -> str:
    """The episode columns of table `alias`, each named `prefix` + its name: an episode read beside
    another row (`Episode.from_row(row, prefix)`)."""
    return ", ".join(f"{alias}.{c} AS {prefix}{c}" for c in (c.strip() for c in EPISODE_COLS.split(",")))


@dataclass(frozen=True, slots=True)
class Episode:
    id: int
    guild_id: int
    code: str
    title: str
    description: str | None
    status: Status
    forum_id: int | None
    thread_id: int | None
    starter_message_id: int | None
    created_by: int
    created_at: datetime
    updated_at: datetime
    thanked_at: datetime | None
    last_seen_message_id: int | None

    @classmethod
    def from_row(cls, row: sqlite3.Row, prefix: str = "") -> Episode:
        """From a row with EPISODE_COLS (named `prefix` + column, see `episode_cols`)."""
        p = prefix
        return cls(
            id=row[p + "id"],
            guild_id=row[p + "guild_id"],
            code=row[p + "code"],
            title=row[p + "title"],
            description=row[p + "description"],
            status=Status(row[p + "status"]),
            forum_id=row[p + "forum_id"],
            thread_id=row[p + "thread_id"],
            starter_message_id=row[p + "starter_message_id"],
            created_by=row[p + "created_by"],
            created_at=from_ts(row[p + "created_at"]),
            updated_at=from_ts(row[p + "updated_at"]),
            thanked_at=from_ts(row[p + "thanked_at"]),
            last_seen_message_id=row[p + "last_seen_message_id"],
        )


@dataclass(frozen=True, slots=True)
class EpisodeEvent:
    id: int
    episode_id: int
    kind: str
    actor_id: int | None
    subject_id: int | None
    from_value: str | None
    to_value: str | None
    note: str | None
    created_at: datetime


async def create(
    db: Database,
    *,
    guild_id: int,
    code: str,
    title: str,
    description: str | None,
    created_by: int,
    forum_id: int,
    thread_id: int,
    starter_message_id: int,
    intent_id: int | None = None,
) -> Episode:
    """Save a new episode with its post (and drop the post's intent, see `add_post_intent`)."""
    ts = now_ts()
    try:
        async with db.transaction() as tx:
            if intent_id is not None:
                await tx.execute("DELETE FROM post_intents WHERE id = ?", (intent_id,))
            rows = await tx.fetchall(
                "INSERT INTO episodes (guild_id, code, title, description, created_by, forum_id, thread_id, "
                "starter_message_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                f"RETURNING {EPISODE_COLS}",
                (
                    guild_id,
                    code,
                    title,
                    description,
                    created_by,
                    forum_id,
                    thread_id,
                    starter_message_id,
                    ts,
                    ts,
                ),
            )
            episode = Episode.from_row(rows[0])
            await tx.execute(
                "INSERT INTO episode_events (episode_id, kind, actor_id, to_value, created_at) "
                "VALUES (?, 'created', ?, ?, ?)",
                (episode.id, created_by, Status.IN_RESEARCH.value, ts),
            )
    except sqlite3.IntegrityError as exc:
        raise Conflict(f"An episode with the code `{code}` already exists in this server.") from exc
    _CODES.on(db).drop(guild_id)
    return episode


async def get(db: Reader, episode_id: int) -> Episode | None:
    row = await db.fetchone(f"SELECT {EPISODE_COLS} FROM episodes WHERE id = ?", (episode_id,))
    return Episode.from_row(row) if row else None


async def get_by_code(db: Database, guild_id: int, code: str) -> Episode | None:
    row = await db.fetchone(
        f"SELECT {EPISODE_COLS} FROM episodes WHERE guild_id = ? AND code = ?", (guild_id, code.strip())
    )
    return Episode.from_row(row) if row else None


async def get_by_thread(db: Database, thread_id: int) -> Episode | None:
    row = await db.fetchone(f"SELECT {EPISODE_COLS} FROM episodes WHERE thread_id = ?", (thread_id,))
    return Episode.from_row(row) if row else None


async def code_exists(db: Database, guild_id: int, code: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM episodes WHERE guild_id = ? AND code = ?", (guild_id, code)))


# Autocomplete reads every episode's (id, code, title) on each keystroke: kept in memory per server,
# dropped by `create` and by `edit` when a title changes (codes never change), after their writes
# (see bot.core.cache).
_CODES: CacheSlot[int, list[tuple[int, str, str]]] = CacheSlot("episode_codes")


def forget_codes(db: Database, guild_id: int) -> None:
    """After episodes were added or renamed elsewhere (an import from the old forum): autocomplete
    reads them again."""
    _CODES.on(db).drop(guild_id)


async def codes_and_titles(db: Database, guild_id: int) -> list[tuple[int, str, str]]:
    """(id, code, title) of every episode of a server, for autocomplete."""
    cached = _CODES.on(db).get(guild_id)
    if cached is None:
        rows = await db.fetchall("SELECT id, code, title FROM episodes WHERE guild_id = ?", (guild_id,))
        cached = _CODES.on(db).put(guild_id, [(r[0], r[1], r[2]) for r in rows])
    return cached


async def _set_status_in(
    tx: Tx,
    episode: Episode,
    status: Status,
    actor_id: int,
    note: str | None,
    ts: int,
    author_id: int | None = None,
) -> Episode | None:
    """Move the episode and record the move in its history; the episode as it is now. With
    `author_id`, only when that member is one of its authors (else None, and nothing changes)."""
    rows = await tx.fetchall(
        "UPDATE episodes SET status = ?, updated_at = ? WHERE id = ? AND (? IS NULL OR EXISTS "
        "(SELECT 1 FROM episode_authors a WHERE a.episode_id = episodes.id AND a.user_id = ?)) "
        f"RETURNING {EPISODE_COLS}",
        (status.value, ts, episode.id, author_id, author_id),
    )
    if not rows:
        return None
    await tx.execute(
        "INSERT INTO episode_events (episode_id, kind, actor_id, from_value, to_value, note, created_at) "
        "VALUES (?, 'status', ?, ?, ?, ?, ?)",
        (episode.id, actor_id, episode.status.value, status.value, note, ts),
    )
    return Episode.from_row(rows[0])


async def set_status(
    db: Database, episode: Episode, status: Status, actor_id: int, note: str | None
) -> Episode:
    async with db.transaction() as tx:
        moved = await _set_status_in(tx, episode, status, actor_id, note, now_ts())
    if moved is None:
        raise LookupError(f"episode {episode.id} vanished")
    return moved


async def set_status_announced(
    db: Database,
    episode: Episode,
    status: Status,
    actor_id: int,
    note: str | None,
    announcement: NewNote,
    *,
    author_id: int | None = None,
) -> tuple[Episode, int, list[job_store.NewJob]] | None:
    """`set_status` and the note announcing it in the thread (with its delivery job) and a card job,
    in one transaction: the move is never kept without its note and card. Returns the episode, the
    note id and the jobs added; None when `author_id` is given and that member is not one of its
    authors (nothing changes then). Four statements: the move (which checks the author and reads the
    episode back), its history, the note, and both jobs in one; one trip to the database thread."""
    ts = now_ts()

    async def move(tx: Tx) -> tuple[Episode, int, list[job_store.NewJob]] | None:
        moved = await _set_status_in(tx, episode, status, actor_id, note, ts, author_id)
        if moved is None:
            if author_id is None:
                raise LookupError(f"episode {episode.id} vanished")
            return None
        kept = await announce_in(
            tx, episode.id, episode.guild_id, announcement, ts, [card_job(episode.id, episode.guild_id, ts)]
        )
        return moved, kept.note_id or 0, kept.jobs

    return await db.run_transaction(move)


async def edit(
    db: Database, episode: Episode, *, title: str | None, description: str | None, actor_id: int
) -> Episode:
    """A new title and/or description (None: unchanged), their history and a card job, in one
    transaction of three statements; the episode as it is now."""
    ts = now_ts()
    events = []
    if title is not None:
        events.append((episode.id, "title", actor_id, None, episode.title, title, None, ts))
    if description is not None:
        events.append((episode.id, "description", actor_id, None, episode.description, description, None, ts))
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "UPDATE episodes SET title = COALESCE(?, title), description = COALESCE(?, description), "
            f"updated_at = ? WHERE id = ? RETURNING {EPISODE_COLS}",
            (title, description, ts, episode.id),
        )
        if not rows:
            raise LookupError(f"episode {episode.id} vanished")
        await tx.executemany(_EVENT_INSERT, events)
        await card_job_in(tx, episode.id, ts, episode.guild_id)
    if title is not None:
        _CODES.on(db).drop(episode.guild_id)
    return Episode.from_row(rows[0])


async def advance_last_seen_in(tx: Tx, episode_id: int, message_id: int) -> None:
    """Move the newest message seen in the episode's thread forward (never back), in an open transaction."""
    await tx.execute(
        "UPDATE episodes SET last_seen_message_id = ? WHERE id = ? AND COALESCE(last_seen_message_id, 0) < ?",
        (message_id, episode_id, message_id),
    )


async def advance_last_seen(db: Database, episode_id: int, message_id: int) -> None:
    await db.run_transaction(lambda tx: advance_last_seen_in(tx, episode_id, message_id))


async def with_threads(db: Database, guild_id: int | None = None) -> list[Episode]:
    sql = f"SELECT {EPISODE_COLS} FROM episodes WHERE thread_id IS NOT NULL"
    params: tuple = ()
    if guild_id is not None:
        sql += " AND guild_id = ?"
        params = (guild_id,)
    return [Episode.from_row(r) for r in await db.fetchall(sql, params)]


# -- history -----------------------------------------------------------------------------------------


_EVENT_INSERT = (
    "INSERT INTO episode_events (episode_id, kind, actor_id, subject_id, from_value, to_value, note, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


async def record_event_in(
    conn: Tx,
    episode_id: int,
    kind: str,
    actor_id: int | None,
    *,
    subject_id: int | None = None,
    from_value: str | None = None,
    to_value: str | None = None,
    note: str | None = None,
) -> None:
    """Append to an episode's history inside an open transaction."""
    await conn.execute(
        _EVENT_INSERT, (episode_id, kind, actor_id, subject_id, from_value, to_value, note, now_ts())
    )


async def history(db: Database, episode_id: int) -> list[EpisodeEvent]:
    rows = await db.fetchall(
        "SELECT id, episode_id, kind, actor_id, subject_id, from_value, to_value, note, created_at "
        "FROM episode_events WHERE episode_id = ? ORDER BY id",
        (episode_id,),
    )
    return [EpisodeEvent(*r[:8], created_at=from_ts(r[8])) for r in rows]


async def reload(db: Reader, episode_id: int) -> Episode:
    """The episode read again after a write; it must still exist."""
    episode = await get(db, episode_id)
    if episode is None:
        raise LookupError(f"episode {episode_id} vanished")
    return episode
