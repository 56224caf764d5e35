"""Reading the research record for members: list pages, full-text search, saved searches, choices."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.clock import from_ts, now_ts
from bot.core.db import Database
from cogs.research.likes_store import DEFAULT_KEYS, keys_param
from cogs.research.store import COLUMNS, HIT_END, HIT_START, Contribution, SearchHit, of_episode

SEARCH_CANDIDATES = 1000  # most recent matches ranked by a search


async def page_for_episode(
    db: Database,
    episode_id: int,
    *,
    offset: int,
    limit: int,
    author_id: int | None = None,
    like_keys: Collection[str] = DEFAULT_KEYS,
) -> tuple[int, list[Contribution]]:
    """One page of an episode's contributions, newest first, and how many there are in all; likes
    counted with `like_keys` (`LikeEmoji.keys`)."""
    where, params = of_episode(episode_id, author_id)
    total = await db.fetchval(f"SELECT COUNT(*) FROM contributions c WHERE {where}", params)
    if not total:
        return 0, []
    rows = await db.fetchall(
        f"SELECT {COLUMNS} FROM contributions c WHERE {where} "
        "ORDER BY c.created_at DESC, c.id DESC LIMIT ? OFFSET ?",
        [keys_param(like_keys), *params, limit, offset],
    )
    return int(total), [Contribution.from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ContributionChoice:
    """What a contribution's autocomplete choice shows."""

    id: int
    author_id: int | None  # None: a forum author not linked to a member yet
    author_name: str | None
    title: str | None
    body: str
    mark: str = "normal"


async def choices_for(
    db: Database, episode_id: int, user_id: int, typed: str, limit: int = 25
) -> list[ContributionChoice]:
    """Contributions of one episode whose number starts with `typed`: the member's own first, then
    the newest."""
    rows = await db.fetchall(
        "SELECT id, author_id, author_name, title, body, mark FROM contributions "
        "WHERE episode_id = ? AND (? = '' OR CAST(id AS TEXT) LIKE ? || '%') "
        "ORDER BY author_id IS NOT ?, created_at DESC, id DESC LIMIT ?",
        (episode_id, typed, typed, user_id, limit),
    )
    return [
        ContributionChoice(
            id=r["id"],
            author_id=r["author_id"],
            author_name=r["author_name"],
            title=r["title"],
            body=r["body"],
            mark=r["mark"],
        )
        for r in rows
    ]


def scoped_match(match: str, guild_id: int, episode_id: int | None = None) -> str:
    """The member's query limited to one server (or one episode) inside the index; the member's words
    only ever match the title, text and sources."""
    scope = f'"e{int(episode_id)}"' if episode_id is not None else f'"g{int(guild_id)}"'
    return f"scope : {scope} AND {{title body sources}} : ({match})"


@dataclass(frozen=True, slots=True)
class SavedSearch:
    id: int
    guild_id: int
    episode_id: int | None
    query: str


async def save_search(db: Database, guild_id: int, episode_id: int | None, query: str) -> int:
    """The id of a search (the same one for the same query again), for its page buttons."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT OR IGNORE INTO research_searches (guild_id, episode_id, query, created_at) VALUES (?, ?, ?, ?)",
            (guild_id, episode_id or 0, query, now_ts()),
        )
        row = await tx.fetchone(
            "SELECT id FROM research_searches WHERE guild_id = ? AND episode_id = ? AND query = ?",
            (guild_id, episode_id or 0, query),
        )
    assert row is not None
    return int(row[0])


async def saved_search(db: Database, guild_id: int, search_id: int) -> SavedSearch | None:
    row = await db.fetchone(
        "SELECT id, guild_id, episode_id, query FROM research_searches WHERE id = ? AND guild_id = ?",
        (search_id, guild_id),
    )
    if row is None:
        return None
    return SavedSearch(
        id=row["id"], guild_id=row["guild_id"], episode_id=row["episode_id"] or None, query=row["query"]
    )


async def _scoped_or_none(db: Database, guild_id: int, match: str, episode_id: int | None) -> str | None:
    """The scoped FTS expression, or None when the episode is not this server's."""
    if episode_id is not None:
        owner = await db.fetchval("SELECT guild_id FROM episodes WHERE id = ?", (episode_id,))
        if owner != guild_id:
            return None
    return scoped_match(match, guild_id, episode_id)


async def count_matches(db: Database, guild_id: int, match: str, *, episode_id: int | None = None) -> int:
    """How many contributions a search matches (what its pages hold in all)."""
    scoped = await _scoped_or_none(db, guild_id, match, episode_id)
    if scoped is None:
        return 0
    return int(
        await db.fetchval("SELECT COUNT(*) FROM contributions_fts WHERE contributions_fts MATCH ?", (scoped,))
        or 0
    )


async def _page_ids(db: Database, scoped: str, limit: int, offset: int, candidates: int) -> list[int]:
    """The ids of one page of matches: bm25-ranked among the `candidates` most recent, then older ones."""
    threshold = await db.fetchval(
        "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? ORDER BY rowid DESC "
        "LIMIT 1 OFFSET ?",
        (scoped, candidates - 1),
    )
    ids: list[int] = []
    if offset < candidates:
        ranked = await db.fetchall(
            "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? AND rowid >= ? "
            "ORDER BY bm25(contributions_fts, 4.0, 1.0, 2.0, 0.0), rowid DESC LIMIT ? OFFSET ?",
            (scoped, threshold or 0, limit, offset),
        )
        ids = [r[0] for r in ranked]
    if threshold is not None and len(ids) < limit:
        # Past the ranked candidates (exactly `candidates` of them): older matches, newest first.
        older = await db.fetchall(
            "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? AND rowid < ? "
            "ORDER BY rowid DESC LIMIT ? OFFSET ?",
            (scoped, threshold, limit - len(ids), max(offset - candidates, 0)),
        )
        ids += [r[0] for r in older]
    return ids


async def search(
    db: Database,
    guild_id: int,
    match: str,
    *,
    episode_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    candidates: int = SEARCH_CANDIDATES,
) -> list[SearchHit]:
    """One page of matches, best first, with a snippet. `match` must be a safe FTS5 expression
    (cogs.research.rules.build_fts_query).

    Ranking is bm25 (titles weigh most, then sources, then text) over the `candidates` most recent
    matches: a word found in nearly every contribution says little about relevance, and this keeps a
    search over a large server within milliseconds. Older matches follow, newest first, so paging
    with `offset` reaches every match."""
    scoped = await _scoped_or_none(db, guild_id, match, episode_id)
    if scoped is None:
        return []
    ids = await _page_ids(db, scoped, limit, offset, max(candidates, 1))
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = await db.fetchall(
        "SELECT c.id, e.code, c.author_id, c.author_name, c.created_at, c.jump_url, "
        f"snippet(contributions_fts, -1, '{HIT_START}', '{HIT_END}', '…', 16) AS snippet "
        "FROM contributions_fts CROSS JOIN contributions c ON c.id = contributions_fts.rowid "
        "JOIN episodes e ON e.id = c.episode_id "
        # One pass over the range that holds the best ids (`+rowid` keeps IN from driving the scan:
        # FTS5 would otherwise re-read the index for every id, which is slow for prefix queries).
        "WHERE contributions_fts MATCH ? AND contributions_fts.rowid BETWEEN ? AND ? "
        f"AND +contributions_fts.rowid IN ({marks}) AND c.guild_id = ?",
        (f"{{title body sources}} : ({match})", min(ids), max(ids), *ids, guild_id),
    )
    by_id = {
        r["id"]: SearchHit(
            id=r["id"],
            episode_code=r["code"],
            author_id=r["author_id"],
            author_name=r["author_name"],
            created_at=from_ts(r["created_at"]),
            jump_url=r["jump_url"],
            snippet=r["snippet"] or "",
        )
        for r in rows
    }
    return [by_id[i] for i in ids if i in by_id]
