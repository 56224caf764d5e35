"""Finding a note kept for an episode's thread (`thread_notes`), to amend it once what it announced is
settled (e.g. a volunteer's "would like to write" once the request is decided)."""

from __future__ import annotations

from bot.core.db import Database


async def find_note(db: Database, episode_id: int, content: str, since_ts: int) -> int | None:
    """The first note of the episode with exactly `content` kept at or after `since_ts` (unix seconds)."""
    return await db.fetchval(
        "SELECT id FROM thread_notes WHERE episode_id = ? AND content = ? AND created_at >= ? "
        "ORDER BY id LIMIT 1",
        (episode_id, content, since_ts),
    )
