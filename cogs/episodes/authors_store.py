"""An episode's authors: who they are, adding and removing them (with the history event).

An episode imported from the old forum may also have authors known only by their forum name
(`episode_forum_authors`); once a name is linked to a member, that member is an author here."""

from __future__ import annotations

from bot.clock import now_ts
from bot.core.db import Database, Reader, Tx
from cogs.episodes.posts_store import Announced, NewNote, announce_in, card_job, card_job_in
from cogs.episodes.store import record_event_in


async def authors(db: Reader, episode_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT user_id FROM episode_authors WHERE episode_id = ? ORDER BY added_at, user_id", (episode_id,)
    )
    return [r[0] for r in rows]


# SQL condition on an episode `e`: it has an author known only by a forum name not linked to a member.
HAS_FORUM_AUTHOR = (
    "EXISTS (SELECT 1 FROM episode_forum_authors f JOIN forum_authors fa ON fa.id = f.forum_author_id "
    "WHERE f.episode_id = e.id AND fa.member_id IS NULL)"
)


async def forum_authors(db: Reader, episode_id: int) -> list[str]:
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


# Adds nothing when the member is an author already (then a RETURNING clause returns no row).
AUTHOR_INSERT = (
    "INSERT OR IGNORE INTO episode_authors (episode_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?)"
)


async def add_author_in(
    tx: Tx, episode_id: int, user_id: int, actor_id: int, note: str | None = None, *, card: bool = True
) -> bool:
    """`add_author` inside an open transaction (with the history event and, with `card`, a card job)."""
    ts = now_ts()
    added = await tx.execute(AUTHOR_INSERT, (episode_id, user_id, actor_id, ts))
    if added != 1:
        return False
    await record_event_in(tx, episode_id, "author_added", actor_id, subject_id=user_id, note=note)
    if card:
        await card_job_in(tx, episode_id, ts)
    return True


async def remove_author(
    db: Database,
    episode_id: int,
    user_id: int,
    actor_id: int,
    *,
    note: NewNote | None = None,
    guild_id: int | None = None,
) -> Announced | None:
    """Remove an author, with the history event, a card job and `note` for the episode's thread, in one
    transaction; None when they were not one (nothing changes then). Give the episode's `guild_id` with
    a `note` (its jobs are the server's); without it the note is not kept."""
    ts = now_ts()
    async with db.transaction() as tx:
        removed = await tx.execute(
            "DELETE FROM episode_authors WHERE episode_id = ? AND user_id = ?", (episode_id, user_id)
        )
        if removed != 1:
            return None
        await record_event_in(tx, episode_id, "author_removed", actor_id, subject_id=user_id)
        if guild_id is None:
            job = await card_job_in(tx, episode_id, ts)
            return Announced(None, [(0, job)] if job else [])
        return await announce_in(tx, episode_id, guild_id, note, ts, [card_job(episode_id, guild_id, ts)])
