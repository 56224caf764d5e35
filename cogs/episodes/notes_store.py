"""The notes kept for an episode's thread (`thread_notes`): a note read with its episode, to post or
amend it, and the job that amends a note once what it announced is settled (e.g. a volunteer's "would
like to write" once the request is decided)."""

from __future__ import annotations

from bot.clock import now
from bot.core.db import Database
from cogs.episodes.posts_store import NOTE_COLS, ThreadNote, note_from_row
from cogs.episodes.store import Episode, episode_cols


async def note_and_episode(db: Database, note_id: int) -> tuple[ThreadNote | None, Episode | None]:
    """A kept note and its episode, read together (None for what is gone)."""
    row = await db.fetchone(
        f"SELECT {NOTE_COLS}, {episode_cols('e', 'e_')} FROM thread_notes n "
        "LEFT JOIN episodes e ON e.id = n.episode_id WHERE n.id = ?",
        (note_id,),
    )
    if row is None:
        return None, None
    return note_from_row(row), (Episode.from_row(row, "e_") if row["e_id"] is not None else None)


async def keep_note_edit(
    db: Database,
    kind: str,
    episode_id: int,
    content: str,
    since_ts: int,
    new_content: str,
    *,
    guild_id: int | None,
    due_at: float,
) -> tuple[int, int] | None:
    """The first note of the episode reading `content` (kept at or after `since_ts`) gets a job of
    `kind` that changes it to `new_content`, due at `due_at` (a pending one is moved there, with the
    new text), in one statement; (job id, note id), or None when there is no such note."""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "INSERT INTO jobs (guild_id, kind, due_at, payload, dedupe_key, created_at) "
            "SELECT ?, ?, ?, json_object('note_id', n.id, 'content', ?), 'note-edit:' || n.id, ? "
            "FROM thread_notes n WHERE n.episode_id = ? AND n.content = ? AND n.created_at >= ? "
            "ORDER BY n.id LIMIT 1 "
            "ON CONFLICT (dedupe_key) WHERE state = 'pending' AND dedupe_key IS NOT NULL "
            "DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload, attempts = 0 "
            "RETURNING id, json_extract(payload, '$.note_id')",
            (guild_id, kind, due_at, new_content, now().timestamp(), episode_id, content, since_ts),
        )
    return (rows[0][0], rows[0][1]) if rows else None


async def cancel_job(db: Database, job_id: int) -> None:
    """A note's edit job is no longer needed (the edit went through); one statement. The scheduler, if
    it waits for it, finds nothing due then."""
    await db.execute(
        "UPDATE jobs SET state = 'cancelled', finished_at = due_at WHERE id = ? AND state = 'pending'",
        (job_id,),
    )
