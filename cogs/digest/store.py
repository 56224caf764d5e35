"""What the weekly digest reads (episodes needing an author, research counts) and the weeks already sent."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import now_ts
from bot.core.db import Database
from cogs.episodes import lists_store
from cogs.episodes import store as episode_store
from cogs.episodes.rules import Status


@dataclass(frozen=True, slots=True)
class EpisodeCount:
    code: str
    title: str
    thread_id: int | None
    contributions: int
    contributors: int


async def research_counts(db: Database, guild_id: int) -> list[EpisodeCount]:
    """Episodes in research with their contribution and contributor counts, busiest first."""
    rows = await db.fetchall(
        "SELECT e.code, e.title, e.thread_id, COUNT(c.id), COUNT(DISTINCT c.author_id) "
        "FROM episodes e LEFT JOIN contributions c ON c.episode_id = e.id "
        "WHERE e.guild_id = ? AND e.status = 'in_research' "
        "GROUP BY e.id ORDER BY COUNT(c.id) DESC, e.code COLLATE NOCASE",
        (guild_id,),
    )
    return [EpisodeCount(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def needing_author(db: Database, guild_id: int) -> list[episode_store.Episode]:
    """Open episodes (not published or shelved) that have no author yet."""
    episodes = await lists_store.list_filtered(db, guild_id, needs_author=True)
    return [e for e in episodes if e.status not in (Status.PUBLISHED, Status.SHELVED)]


async def digest_sent(db: Database, guild_id: int, week: str) -> bool:
    return bool(
        await db.fetchval("SELECT 1 FROM digests_sent WHERE guild_id = ? AND week = ?", (guild_id, week))
    )


async def sent_weeks(db: Database, guild_id: int) -> set[str]:
    rows = await db.fetchall("SELECT week FROM digests_sent WHERE guild_id = ?", (guild_id,))
    return {r[0] for r in rows}


async def record_digest(
    db: Database, guild_id: int, week: str, *, channel_id: int | None, message_id: int | None
) -> bool:
    """Claim the digest of `week`; False when it was already recorded."""
    async with db.transaction() as tx:
        claimed = await tx.execute(
            "INSERT OR IGNORE INTO digests_sent (guild_id, week, sent_at, channel_id, message_id) "
            "VALUES (?, ?, ?, ?, ?)",
            (guild_id, week, now_ts(), channel_id, message_id),
        )
    return claimed == 1
