"""What keeps an episode's forum post in step with the database: the `card_sync` job queued with every
change, notes kept for its thread until Discord takes them, and posts being created (post intents)."""

from __future__ import annotations

import json
import sqlite3
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


# A job whose dedupe key is pending already is not added again (the unique index `jobs_pending_dedupe`).
JOBS_INSERT = "INSERT INTO jobs (guild_id, kind, due_at, payload, dedupe_key, created_at) VALUES "
_JOB_VALUES = "(?, ?, ?, ?, ?, ?)"
_UNLESS_PENDING = " ON CONFLICT (dedupe_key) WHERE state = 'pending' AND dedupe_key IS NOT NULL DO NOTHING"


def _job_params(job: job_store.NewJob, ts: int) -> tuple[object, ...]:
    return (job.guild_id, job.kind, job.due_at, json.dumps(job.payload), job.dedupe_key, ts)


def card_job(episode_id: int, guild_id: int | None, ts: int) -> job_store.NewJob:
    return job_store.NewJob(
        CARD_JOB, ts + CARD_FOLLOW_SECONDS, {"episode_id": episode_id}, guild_id, card_key(episode_id)
    )


async def add_jobs_unless_pending_in(
    tx: Tx, jobs: list[job_store.NewJob], ts: int
) -> list[tuple[int, job_store.NewJob]]:
    """Inside a transaction, in one statement: add `jobs` (each with a dedupe key), except those whose
    key is pending already; (id, job) of each job added."""
    if not jobs:
        return []
    rows = await tx.fetchall(
        JOBS_INSERT + ", ".join([_JOB_VALUES] * len(jobs)) + _UNLESS_PENDING + " RETURNING dedupe_key, id",
        [value for job in jobs for value in _job_params(job, ts)],
    )
    ids = {row[0]: row[1] for row in rows}
    return [(ids[job.dedupe_key], job) for job in jobs if job.dedupe_key in ids]


async def card_job_in(
    tx: Tx, episode_id: int, ts: int, guild_id: int | None = None
) -> job_store.NewJob | None:
    """Inside a change's transaction: a `card_sync` job for the episode, unless one is pending; the job
    (for the scheduler to learn of) or None. One statement; without `guild_id` the job takes the
    episode's."""
    job = card_job(episode_id, guild_id, ts)
    guild = "?" if guild_id is not None else "(SELECT guild_id FROM episodes WHERE id = ?)"
    added = await tx.insert(
        JOBS_INSERT + f"({guild}, ?, ?, ?, ?, ?)" + _UNLESS_PENDING,
        (guild_id if guild_id is not None else episode_id, *_job_params(job, ts)[1:]),
    )
    return job if added is not None else None


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


def note_job(note_id: int, note: NewNote, guild_id: int | None) -> job_store.NewJob:
    return job_store.NewJob(NOTE_JOB, note.retry_at, {"note_id": note_id}, guild_id, f"note:{note_id}")


async def insert_note_in(tx: Tx, episode_id: int, note: NewNote, ts: int) -> int:
    """Keep a note for the thread, without its delivery job (`note_job`: the caller adds it in the same
    transaction); its id."""
    return int(
        await tx.insert(
            "INSERT INTO thread_notes (episode_id, content, ping, created_at) VALUES (?, ?, ?, ?)",
            (episode_id, note.content, json.dumps(list(note.ping)), ts),
        )
        or 0
    )


async def add_note_in(tx: Tx, episode: Episode, note: NewNote, ts: int) -> tuple[int, job_store.NewJob]:
    note_id = await insert_note_in(tx, episode.id, note, ts)
    job = note_job(note_id, note, episode.guild_id)
    await job_store.add_in(tx, job, ts)
    return note_id, job


async def add_note(db: Database, episode: Episode, note: NewNote) -> tuple[int, job_store.NewJob]:
    """Keep a note for the thread, with the job that delivers it; (note id, job)."""
    async with db.transaction() as tx:
        return await add_note_in(tx, episode, note, now_ts())


NOTE_COLS = "n.id, n.episode_id, n.content, n.ping, n.created_at, n.attempted_at, n.message_id"


def note_from_row(row: sqlite3.Row) -> ThreadNote:
    return ThreadNote(
        id=row[0],
        episode_id=row[1],
        content=row[2],
        ping=[int(u) for u in json.loads(row[3])],
        created_at=from_ts(row[4]),
        attempted_at=from_ts(row[5]),
        message_id=row[6],
    )


@dataclass(frozen=True, slots=True)
class Announced:
    """What a change kept for Discord in its own transaction: the note for the episode's thread (None
    without one) and the jobs added, for the scheduler to learn of."""

    note_id: int | None
    added: list[tuple[int, job_store.NewJob]]  # (id, job) of each job added

    @property
    def jobs(self) -> list[job_store.NewJob]:
        return [job for _, job in self.added]

    def job_id(self, dedupe_key: str) -> int | None:
        """The id of the job added with this key (None: one was pending already)."""
        return next((job_id for job_id, job in self.added if job.dedupe_key == dedupe_key), None)


async def announce_in(
    tx: Tx,
    episode_id: int,
    guild_id: int | None,
    note: NewNote | None,
    ts: int,
    jobs: list[job_store.NewJob] | None = None,
) -> Announced:
    """Inside a change's transaction: keep `note` for the thread (when given) and add its delivery job
    with `jobs` (those whose key is not pending already): two statements, one without a note."""
    wanted = list(jobs or [])
    note_id = None
    if note is not None:
        note_id = await insert_note_in(tx, episode_id, note, ts)
        wanted.insert(0, note_job(note_id, note, guild_id))
    return Announced(note_id, await add_jobs_unless_pending_in(tx, wanted, ts))


async def get_note(db: Database, note_id: int) -> ThreadNote | None:
    row = await db.fetchone(f"SELECT {NOTE_COLS} FROM thread_notes n WHERE n.id = ?", (note_id,))
    return None if row is None else note_from_row(row)


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
        await db.insert(
            "INSERT INTO post_intents (guild_id, forum_id, name, created_at) VALUES (?, ?, ?, ?)",
            (guild_id, forum_id, name, now_ts()),
        )
        or 0
    )


async def drop_post_intent(db: Database, intent_id: int) -> None:
    await db.execute("DELETE FROM post_intents WHERE id = ?", (intent_id,))


async def post_intents(db: Database) -> list[PostIntent]:
    rows = await db.fetchall("SELECT id, guild_id, forum_id, name FROM post_intents ORDER BY id")
    return [PostIntent(*r) for r in rows]
