"""What lists and the status card read: filtered episode lists, list pages and card figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_ts
from bot.core.db import Database
from cogs.episodes.authors_store import HAS_FORUM_AUTHOR, authors, forum_authors
from cogs.episodes.rules import Milestone, Status
from cogs.episodes.store import EPISODE_COLS, Episode, reload


@dataclass(frozen=True, slots=True)
class Deadline:
    episode_id: int
    milestone: Milestone
    due_at: datetime
    set_by: int


# Who the card shows: a member id, or the forum name of someone imported from the old forum and not
# linked to a member yet.
Who = int | str


@dataclass(frozen=True, slots=True)
class CardData:
    """Everything the status card shows, read in one place."""

    episode: Episode
    authors: list[Who]  # members, then forum names not linked to a member
    deadlines: list[Deadline]
    contribution_count: int
    contributors: list[Who]  # most contributions first
    contributor_total: int


def _filters(
    guild_id: int, status: Status | None, author_id: int | None, needs_author: bool | None
) -> tuple[str, list[object]]:
    where, params = ["e.guild_id = ?"], [guild_id]
    if status is not None:
        where.append("e.status = ?")
        params.append(status.value)
    if author_id is not None:
        where.append("EXISTS (SELECT 1 FROM episode_authors a WHERE a.episode_id = e.id AND a.user_id = ?)")
        params.append(author_id)
    if needs_author is not None:
        where.append(
            ("NOT " if needs_author else "")
            + f"(EXISTS (SELECT 1 FROM episode_authors a WHERE a.episode_id = e.id) OR {HAS_FORUM_AUTHOR})"
        )
    return " AND ".join(where), params


async def list_filtered(
    db: Database,
    guild_id: int,
    *,
    status: Status | None = None,
    author_id: int | None = None,
    needs_author: bool | None = None,
) -> list[Episode]:
    where, params = _filters(guild_id, status, author_id, needs_author)
    rows = await db.fetchall(
        f"SELECT {', '.join('e.' + c.strip() for c in EPISODE_COLS.split(','))} FROM episodes e "
        f"WHERE {where} ORDER BY e.code COLLATE NOCASE",
        params,
    )
    return [Episode.from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class EpisodeLine:
    """What a line of `/episode list` shows."""

    code: str
    title: str
    status: Status
    thread_id: int | None


async def list_page(
    db: Database,
    guild_id: int,
    *,
    offset: int,
    limit: int,
    status: Status | None = None,
    author_id: int | None = None,
    needs_author: bool | None = None,
) -> tuple[int, list[EpisodeLine]]:
    """One page of the filtered episodes by code, and how many match in all (one query)."""
    where, params = _filters(guild_id, status, author_id, needs_author)
    rows = await db.fetchall(
        f"SELECT e.code, e.title, e.status, e.thread_id, COUNT(*) OVER () FROM episodes e WHERE {where} "
        "ORDER BY e.code COLLATE NOCASE LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    if not rows and offset:
        total = await db.fetchval(f"SELECT COUNT(*) FROM episodes e WHERE {where}", params)
        return int(total), []
    return (rows[0][4] if rows else 0), [EpisodeLine(r[0], r[1], Status(r[2]), r[3]) for r in rows]


async def card_data(db: Database, episode_id: int, contributor_limit: int = 15) -> CardData:
    episode = await reload(db, episode_id)
    deadline_rows = await db.fetchall(
        "SELECT episode_id, milestone, due_at, set_by FROM deadlines WHERE episode_id = ? ORDER BY due_at",
        (episode_id,),
    )
    # A forum author not linked to a member counts as one contributor, shown by their forum name.
    counts = await db.fetchall(
        "SELECT COALESCE(author_id, MIN(author_name)), COUNT(*) AS n FROM contributions WHERE episode_id = ? "
        "GROUP BY author_id, CASE WHEN author_id IS NULL THEN forum_author_id END ORDER BY n DESC, MIN(id)",
        (episode_id,),
    )
    return CardData(
        episode=episode,
        authors=[*await authors(db, episode_id), *await forum_authors(db, episode_id)],
        deadlines=[Deadline(r[0], Milestone(r[1]), from_ts(r[2]), r[3]) for r in deadline_rows],
        contribution_count=sum(r[1] for r in counts),
        contributors=[r[0] for r in counts[:contributor_limit]],
        contributor_total=len(counts),
    )
