"""What lists and the status card read: filtered episode lists, list pages and card figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_ts
from bot.core.db import Database, Reader
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
    """What the status card shows; its reads make one trip to the database."""
    return await db.read(lambda reader: _card_data_in(reader, episode_id, contributor_limit))


async def _card_data_in(db: Reader, episode_id: int, contributor_limit: int) -> CardData:
    episode = await reload(db, episode_id)
    deadline_rows = await db.fetchall(
        "SELECT episode_id, milestone, due_at, set_by FROM deadlines WHERE episode_id = ? ORDER BY due_at",
        (episode_id,),
    )
    counts, contributors = await contributor_figures(db, episode_id, contributor_limit)
    return CardData(
        episode=episode,
        authors=[*await authors(db, episode_id), *await forum_authors(db, episode_id)],
        deadlines=[Deadline(r[0], Milestone(r[1]), from_ts(r[2]), r[3]) for r in deadline_rows],
        contribution_count=counts[0],
        contributors=contributors,
        contributor_total=counts[1],
    )


async def contributor_figures(db: Reader, episode_id: int, limit: int) -> tuple[tuple[int, int], list[Who]]:
    """((contributions, contributors), the `limit` contributors with the most contributions, then the
    earliest) of an episode, from the counts stored with it (migration 0014): one read, whatever the
    episode's size. A forum author not linked to a member counts as one contributor, shown by their forum
    name (the least of the names stored with their contributions)."""
    rows = await db.fetchall(
        "SELECT s.contributions, s.contributors, c.who, CASE WHEN c.who < 0 THEN ("
        "  SELECT MIN(x.author_name) FROM contributions x INDEXED BY contributions_forum_author "
        "  WHERE x.forum_author_id = -c.who AND x.author_id IS NULL AND x.episode_id = c.episode_id) END "
        "FROM episode_stats s LEFT JOIN ("
        "  SELECT episode_id, who, contributions, first_id FROM episode_contributors WHERE episode_id = ?1 "
        "  ORDER BY contributions DESC, first_id LIMIT ?2"
        ") c ON c.episode_id = s.episode_id WHERE s.episode_id = ?1",
        (episode_id, limit),
    )
    if not rows:
        return (0, 0), []
    return (rows[0][0], rows[0][1]), [r[2] if r[2] > 0 else r[3] for r in rows if r[2] is not None]
