"""Deadlines of episodes: setting or moving one (with its reminder jobs), and reading them back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_ts, now_ts
from bot.core import jobs as job_store
from bot.core.db import Database
from cogs.episodes.posts_store import NewNote, insert_note_in, note_job
from cogs.episodes.rules import Milestone, Status


@dataclass(frozen=True, slots=True)
class DeadlineInfo:
    """A deadline with what a reminder or the digest needs to know about its episode."""

    episode_id: int
    guild_id: int
    code: str
    title: str
    status: Status
    thread_id: int | None
    milestone: Milestone
    due_at: datetime


_DEADLINE_INFO = (
    "SELECT d.episode_id, e.guild_id, e.code, e.title, e.status, e.thread_id, d.milestone, d.due_at "
    "FROM deadlines d JOIN episodes e ON e.id = d.episode_id "
)


def _info(row: sqlite3.Row) -> DeadlineInfo:
    return DeadlineInfo(
        row[0], row[1], row[2], row[3], Status(row[4]), row[5], Milestone(row[6]), from_ts(row[7])
    )


@dataclass(frozen=True, slots=True)
class DeadlineSaved:
    previous: datetime | None  # when it was due before (None: it is new)
    cancelled: list[float]  # due times of the reminder jobs replaced
    note_id: int | None  # the note for the episode's thread kept with it
    jobs: list[job_store.NewJob]  # the jobs added


async def set_deadline(
    db: Database,
    episode_id: int,
    milestone: Milestone,
    due_at: int,
    actor_id: int,
    *,
    jobs: list[job_store.NewJob] | None = None,
    job_prefix: str | None = None,
) -> tuple[datetime | None, list[float]]:
    """Set or move a deadline, record it in the episode's history and replace its reminder jobs (those
    whose key starts with `job_prefix`), all in one transaction.

    Returns the previous time and the due times of the jobs replaced."""
    saved = await set_deadline_announced(
        db, episode_id, milestone, due_at, actor_id, jobs=jobs, job_prefix=job_prefix
    )
    return saved.previous, saved.cancelled


async def set_deadline_announced(
    db: Database,
    episode_id: int,
    milestone: Milestone,
    due_at: int,
    actor_id: int,
    *,
    jobs: list[job_store.NewJob] | None = None,
    job_prefix: str | None = None,
    guild_id: int | None = None,
    note: Callable[[datetime | None], NewNote] | None = None,
) -> DeadlineSaved:
    """`set_deadline`, also keeping the note `note(previous time)` for the episode's thread (in the
    server `guild_id`) in the same transaction. Its history event is written first and reads the
    previous time back in the same statement."""
    ts = now_ts()
    async with db.transaction() as tx:
        event = await tx.fetchall(
            "INSERT INTO episode_events (episode_id, kind, actor_id, from_value, to_value, note, created_at) "
            "SELECT ?, 'deadline', ?, (SELECT due_at FROM deadlines WHERE episode_id = ? AND milestone = ?), "
            "?, ?, ? RETURNING from_value",
            (episode_id, actor_id, episode_id, milestone.value, str(due_at), milestone.value, ts),
        )
        old = event[0][0]
        previous = None if old is None else from_ts(float(old))
        await tx.execute(
            "INSERT INTO deadlines (episode_id, milestone, due_at, set_by, set_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (episode_id, milestone) DO UPDATE SET due_at = excluded.due_at, "
            "set_by = excluded.set_by, set_at = excluded.set_at",
            (episode_id, milestone.value, due_at, actor_id, ts),
        )
        added = list(jobs or []) if job_prefix is not None else []
        note_id = None
        if note is not None:
            kept = note(previous)
            note_id = await insert_note_in(tx, episode_id, kept, ts)
            added.append(note_job(note_id, kept, guild_id))
        cancelled = []
        if job_prefix is not None:  # the note's job joins the reminders (not of their group)
            cancelled = await job_store.replace_group_in(tx, job_prefix, added, ts)
        elif added:
            await job_store.add_in(tx, added[0], ts)
    return DeadlineSaved(previous, cancelled, note_id, added)


async def deadline_info(db: Database, episode_id: int, milestone: Milestone) -> DeadlineInfo | None:
    row = await db.fetchone(
        _DEADLINE_INFO + "WHERE d.episode_id = ? AND d.milestone = ?", (episode_id, milestone.value)
    )
    return None if row is None else _info(row)


async def deadlines_of(db: Database, episode_id: int) -> list[DeadlineInfo]:
    rows = await db.fetchall(_DEADLINE_INFO + "WHERE d.episode_id = ? ORDER BY d.due_at", (episode_id,))
    return [_info(r) for r in rows]


async def deadlines_between(db: Database, guild_id: int, start: int, end: int) -> list[DeadlineInfo]:
    """Deadlines of one server due in [start, end), soonest first."""
    rows = await db.fetchall(
        _DEADLINE_INFO + "WHERE e.guild_id = ? AND d.due_at >= ? AND d.due_at < ? ORDER BY d.due_at, e.code",
        (guild_id, start, end),
    )
    return [_info(r) for r in rows]


async def deadlines_after(db: Database, guild_id: int, after: int) -> list[DeadlineInfo]:
    """Deadlines of one server whose reminders or overdue note may still be ahead."""
    rows = await db.fetchall(
        _DEADLINE_INFO + "WHERE e.guild_id = ? AND d.due_at >= ? ORDER BY d.due_at", (guild_id, after)
    )
    return [_info(r) for r in rows]
