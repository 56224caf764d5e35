"""What keeps an episode's forum post in step with the database: the `card_sync` job queued with every
change, notes kept for its thread until Discord takes them, and posts being created (post intents)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.clock import from_ts, now_ts
from bot.core import jobs as job_store
from bot.core.db import Database, Tx

if TYPE_CHECKING:  # store.py imports this module (its changes queue a card job)
    from cogs.episodes.store import Episode


# -- the card follows every change, even when the bot stops right after one -------------------------

CARD_JOB = "card_sync"
CARD_FOLLOW_SECONDS = 30.0  # the command refreshes the card at once; this job makes sure of it


def card_key(episode_id: int) -> str:
    return f"card:{episode_id}"


async def card_job_in(tx: Tx, episode_id: int, ts: int) -> job_store.NewJob | None:
    """Inside a change's transaction: a `card_sync` job for the episode, unless one is pending; the job
    (for the scheduler to learn of) or None."""
    key = card_key(episode_id)
    if await tx.fetchone("SELECT 1 FROM jobs WHERE dedupe_key = ? AND state = 'pending'", (key,)):
        return None
    row = await tx.fetchone("SELECT guild_id FROM episodes WHERE id = ?", (episode_id,))
    job = job_store.NewJob(
        CARD_JOB, ts + CARD_FOLLOW_SECONDS, {"episode_id": episode_id}, row[0] if row else None, key
    )
    await job_store.add_in(tx, job, ts)
    return job


# -- notes in the thread (an outbox: kept until Discord took them) ------------------------------------

NOTE_JOB = "thread_note"


@dataclass(frozen=True, slots=True)
class NewNote:
    """A note to post in an episode's thread; `ping` are the only members it may notify; the job that
    delivers it is due at `retry_at` (unix seconds), the first retry when posting at once fails."""

    content: str
    retry_at: float
    ping: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ThreadNote:
    id: int
    episode_id: int
    content: str
    ping: list[int]
    created_at: datetime
    attempted_at: datetime | None
    message_id: int | None

    @property
    def posted(self) -> bool:
        return self.message_id is not None


async def add_note_in(tx: Tx, episode: Episode, note: NewNote, ts: int) -> tuple[int, job_store.NewJob]:
    note_id = await tx.insert(
        "INSERT INTO thread_notes (episode_id, content, ping, created_at) VALUES (?, ?, ?, ?)",
        (episode.id, note.content, json.dumps(list(note.ping)), ts),
    )
    job = job_store.NewJob(NOTE_JOB, note.retry_at, {"note_id": note_id}, episode.guild_id, f"note:{note_id}")
    await job_store.add_in(tx, job, ts)
    return note_id, job


async def add_note(db: Database, episode: Episode, note: NewNote) -> tuple[int, job_store.NewJob]:
    """Keep a note for the thread, with the job that delivers it; (note id, job)."""
    async with db.transaction() as tx:
        return await add_note_in(tx, episode, note, now_ts())


async def get_note(db: Database, note_id: int) -> ThreadNote | None:
    row = await db.fetchone(
        "SELECT id, episode_id, content, ping, created_at, attempted_at, message_id FROM thread_notes "
        "WHERE id = ?",
        (note_id,),
    )
    if row is None:
        return None
    return ThreadNote(
        id=row[0],
        episode_id=row[1],
        content=row[2],
        ping=[int(u) for u in json.loads(row[3])],
        created_at=from_ts(row[4]),
        attempted_at=from_ts(row[5]),
        message_id=row[6],
    )


async def note_attempted(db: Database, note_id: int) -> None:
    """Mark that a post of the note is about to be sent (its outcome may get lost)."""
    await db.execute(
        "UPDATE thread_notes SET attempted_at = COALESCE(attempted_at, ?) WHERE id = ?", (now_ts(), note_id)
    )


async def note_posted(db: Database, note_id: int, message_id: int) -> None:
    await db.execute(
        "UPDATE thread_notes SET message_id = ? WHERE id = ? AND message_id IS NULL", (message_id, note_id)
    )


# -- posts being created (see migration 0007) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostIntent:
    id: int
    guild_id: int
    forum_id: int
    name: str


async def add_post_intent(db: Database, guild_id: int, forum_id: int, name: str) -> int:
    return int(
        await db.execute(
            "INSERT INTO post_intents (guild_id, forum_id, name, created_at) VALUES (?, ?, ?, ?)",
            (guild_id, forum_id, name, now_ts()),
        )
    )


async def drop_post_intent(db: Database, intent_id: int) -> None:
    await db.execute("DELETE FROM post_intents WHERE id = ?", (intent_id,))


async def post_intents(db: Database) -> list[PostIntent]:
    rows = await db.fetchall("SELECT id, guild_id, forum_id, name FROM post_intents ORDER BY id")
    return [PostIntent(*r) for r in rows]
