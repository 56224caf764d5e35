"""What the weekly digest reads (episodes needing an author, research counts) and the weeks already sent."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import now_ts
from bot.core.db import Database
from cogs.digest.rules import NEEDS_AUTHOR_STATUSES
from cogs.episodes import store as episode_store
from cogs.episodes.authors_store import HAS_FORUM_AUTHOR
from cogs.episodes.store import EPISODE_COLS


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
        # The stored counts (migration 0014), not a count of the contributions: the same figures in a read
        # of one row per episode. A forum author not linked to a member is one contributor.
        "SELECT e.code, e.title, e.thread_id, COALESCE(s.contributions, 0), COALESCE(s.contributors, 0) "
        "FROM episodes e LEFT JOIN episode_stats s ON s.episode_id = e.id "
        "WHERE e.guild_id = ? AND e.status = 'in_research' "
        "ORDER BY COALESCE(s.contributions, 0) DESC, e.code COLLATE NOCASE",
        (guild_id,),
    )
    return [EpisodeCount(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def needing_author(db: Database, guild_id: int) -> list[episode_store.Episode]:
    """Episodes that still need an author: none yet, and in research or writing (a recorded, published
    or shelved episode is not going to be written: see `rules.NEEDS_AUTHOR_STATUSES`)."""
    statuses = [s.value for s in NEEDS_AUTHOR_STATUSES]
    rows = await db.fetchall(
        f"SELECT {EPISODE_COLS} FROM episodes e WHERE guild_id = ? "
        f"AND status IN ({', '.join('?' for _ in statuses)}) "
        "AND NOT EXISTS (SELECT 1 FROM episode_authors a WHERE a.episode_id = e.id) "
        f"AND NOT {HAS_FORUM_AUTHOR} "  # an author imported from the forum, not linked yet, is an author
        "ORDER BY code COLLATE NOCASE",
        (guild_id, *statuses),
    )
    return [episode_store.Episode.from_row(r) for r in rows]


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
