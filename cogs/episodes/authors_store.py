"""An episode's authors: who they are, adding and removing them (with the history event).

An episode imported from the old forum may also have authors known only by their forum name
(`episode_forum_authors`); once a name is linked to a member, that member is an author here."""

from __future__ import annotations

from bot.clock import now_ts
from bot.core.db import Database, Tx
from cogs.episodes.posts_store import card_job_in
from cogs.episodes.store import record_event_in


async def authors(db: Database, episode_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT user_id FROM episode_authors WHERE episode_id = ? ORDER BY added_at, user_id", (episode_id,)
    )
    return [r[0] for r in rows]


# SQL condition on an episode `e`: it has an author known only by a forum name not linked to a member.
HAS_FORUM_AUTHOR = (
    "EXISTS (SELECT 1 FROM episode_forum_authors f JOIN forum_authors fa ON fa.id = f.forum_author_id "
    "WHERE f.episode_id = e.id AND fa.member_id IS NULL)"
)


async def forum_authors(db: Database, episode_id: int) -> list[str]:
    """The forum names of the episode's authors not linked to a member yet (imported from the forum)."""
    rows = await db.fetchall(
        "SELECT fa.username FROM episode_forum_authors f JOIN forum_authors fa ON fa.id = f.forum_author_id "
        "WHERE f.episode_id = ? AND fa.member_id IS NULL ORDER BY f.added_at, fa.id",
        (episode_id,),
    )
    return [r[0] for r in rows]


async def is_author(db: Database, episode_id: int, user_id: int) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM episode_authors WHERE episode_id = ? AND user_id = ?", (episode_id, user_id)
        )
    )


async def add_author(
    db: Database, episode_id: int, user_id: int, actor_id: int, note: str | None = None
) -> bool:
    """Add an author; False when they already were one (nothing changes then)."""
    async with db.transaction() as tx:
        return await add_author_in(tx, episode_id, user_id, actor_id, note)


async def add_author_in(
    tx: Tx, episode_id: int, user_id: int, actor_id: int, note: str | None = None
) -> bool:
    """`add_author` inside an open transaction (with the history event)."""
    added = await tx.execute(
        "INSERT OR IGNORE INTO episode_authors (episode_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?)",
        (episode_id, user_id, actor_id, now_ts()),
    )
    if added != 1:
        return False
    await record_event_in(tx, episode_id, "author_added", actor_id, subject_id=user_id, note=note)
    await card_job_in(tx, episode_id, now_ts())
    return True


async def remove_author(db: Database, episode_id: int, user_id: int, actor_id: int) -> bool:
    """Remove an author; False when they were not one."""
    async with db.transaction() as conn:
        removed = await conn.execute(
            "DELETE FROM episode_authors WHERE episode_id = ? AND user_id = ?", (episode_id, user_id)
        )
        if removed != 1:
            return False
        await record_event_in(conn, episode_id, "author_removed", actor_id, subject_id=user_id)
        await card_job_in(conn, episode_id, now_ts())
    return True
