"""Reading the research record for members: list pages, full-text search, saved searches, choices."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from bot.clock import from_ts, now_ts
from bot.core.db import Database, Reader, Tx
from cogs.research.likes_store import DEFAULT_KEYS, keys_param
from cogs.research.store import COLUMNS, HIT_END, HIT_START, Contribution, SearchHit, of_episode

SEARCH_CANDIDATES = 1000  # most recent matches ranked by a search
COUNT_MAX = 10_000  # matches counted past the start of the page shown; more read "10,000+"
# bm25 weighs each term by reading all of its matches in the index (about 50 ns each): a search whose
# terms match more than this many contributions between them is listed newest first instead. 50,000 is
# about 2.5 ms of reading, which keeps the whole command within 15 x a bare ping; on a copy of the 100k
# benchmark's database, ranking a word found in 64,000–110,000 contributions took 3.3–5.2 ms.
RANK_MAX_DOCS = 50_000
# Pages of the full-text index merged per upkeep step (migration 0016). Each step also rereads the index's
# structure and finds its place in the segments it merges, so smaller steps cost more in all: on a copy of the
# million-contribution database, a second catch-up of 100,000 messages stored 4,579 messages/s with 16 pages
# a step (534 steps), 5,519–6,020/s with 64 (111 steps: 3.5 ms each at the median, 12 ms at most), against
# 4,289/s with FTS5 merging inside the writes. A command waits for one step at most.
MERGE_PAGES = 64


def merge_index_step(conn: sqlite3.Connection) -> bool:
    """One step of merging the full-text index's segments (the database's upkeep, migration 0016): about
    MERGE_PAGES pages of the levels holding the most segments. True when it merged something (there may be
    more); FTS5 changes at most one row when it finds nothing to merge."""
    before = conn.total_changes
    conn.execute(
        "INSERT INTO contributions_fts (contributions_fts, rank) VALUES ('merge', ?)", (MERGE_PAGES,)
    ).close()
    return conn.total_changes - before > 1


async def page_for_episode(
    db: Database,
    episode_id: int,
    *,
    offset: int,
    limit: int,
    author_id: int | None = None,
    like_keys: Collection[str] = DEFAULT_KEYS,
) -> tuple[int, list[Contribution]]:
    """One page of an episode's contributions, newest first, and how many there are in all (one read: the
    episode's count is stored, a member's is counted in their own rows); likes counted with `like_keys`
    (`LikeEmoji.keys`)."""
    where, params = of_episode(episode_id, author_id)
    if author_id is None:
        total_sql, total_params = "SELECT contributions FROM episode_stats WHERE episode_id = ?", [episode_id]
    else:
        total_sql, total_params = f"SELECT COUNT(*) FROM contributions c WHERE {where}", params
    rows = await db.fetchall(
        f"SELECT ({total_sql}) AS total, {COLUMNS} FROM contributions c WHERE {where} "
        "ORDER BY c.created_at DESC, c.id DESC LIMIT ? OFFSET ?",
        [*total_params, keys_param(like_keys), *params, limit, offset],
    )
    if not rows:  # past the end (or nothing yet): the count alone
        return int(await db.fetchval(total_sql, total_params) or 0), []
    return int(rows[0]["total"] or 0), [Contribution.from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ContributionChoice:
    """What a contribution's autocomplete choice shows."""

    id: int
    author_id: int | None  # None: a forum author not linked to a member yet
    author_name: str | None
    title: str | None
    body: str
    mark: str = "normal"


CHOICES_WINDOW = 5000  # an episode's newest contributions the autocomplete looks through for others' numbers


async def choices_for(
    db: Database, episode_id: int, user_id: int, typed: str, limit: int = 25
) -> list[ContributionChoice]:
    """Contributions of one episode whose number starts with `typed` (digits, or '' for any): the member's
    own first, then the newest. Read in time that does not grow with the episode: the member's own (any
    age), the other ones among the episode's CHOICES_WINDOW newest, and the contribution numbered `typed`
    exactly however old, each range of an index; only the `limit` chosen are read whole."""
    rows = await db.fetchall(
        "SELECT id, author_id, author_name, title, body, mark FROM contributions WHERE id IN ("
        "  SELECT id FROM (SELECT id FROM contributions INDEXED BY contributions_episode_author"
        "    WHERE episode_id = ?1 AND author_id = ?2 AND (?3 = '' OR CAST(id AS TEXT) LIKE ?3 || '%')"
        "    ORDER BY created_at DESC, id DESC LIMIT ?4)"
        "  UNION ALL SELECT id FROM (SELECT id FROM (SELECT id FROM contributions INDEXED BY contributions_episode"
        "    WHERE episode_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?5)"
        "    WHERE ?3 = '' OR CAST(id AS TEXT) LIKE ?3 || '%' LIMIT ?4 * 2)"
        "  UNION ALL SELECT id FROM contributions WHERE ?3 != '' AND id = CAST(?3 AS INTEGER) AND episode_id = ?1"
        ") ORDER BY author_id IS NOT ?2, created_at DESC, id DESC LIMIT ?4",
        (episode_id, user_id, typed, limit, CHOICES_WINDOW),
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


_PHRASE = re.compile(r'"((?:[^"]|"")*)"(\*?)')  # a quoted term or phrase of `build_fts_query`'s output
_SCOPE_TOKEN = re.compile(r"[ge]\d*")  # what the index's scope column holds: "g<server id> e<episode id>"


def _phrases(match: str) -> list[str]:
    """The terms and phrases of a `build_fts_query` expression, each as an expression of its own."""
    return [m.group(0) for m in _PHRASE.finditer(match)]


def _folded(text: str) -> str:
    """Lower case without diacritics, as the index's tokenizer (unicode61 remove_diacritics) folds it."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _member_words(match: str) -> str:
    """The member's words matched in the title, text and sources. The column filter costs about a third
    of a count, so it is left out when no word could match a scope token ("g123", "e45", or a prefix
    of one): the words then match those three columns only anyway."""
    words = [w for m in _PHRASE.finditer(match) for w in _folded(m.group(1).replace('""', '"')).split()]
    if any(_SCOPE_TOKEN.fullmatch(w) for w in words):
        return f"{{title body sources}} : ({match})"
    return f"({match})"


def scoped_match(match: str, guild_id: int, episode_id: int | None = None, *, sole: bool = False) -> str:
    """The member's query limited to one episode (or server) inside the index. `sole`: the server holds
    every contribution stored, and needs no scope term (one that matches every row of a large server
    made every search read a list of a million entries)."""
    return _Scope.of(guild_id, episode_id, sole).expression(match)


@dataclass(frozen=True, slots=True)
class _Scope:
    guild_id: int
    term: str | None  # 'scope : "e45"', 'scope : "g123"', or None for the whole index

    @classmethod
    def of(cls, guild_id: int, episode_id: int | None, sole: bool) -> _Scope:
        if episode_id is not None:
            return cls(guild_id, f'scope : "e{int(episode_id)}"')
        return cls(guild_id, None if sole else f'scope : "g{int(guild_id)}"')

    def expression(self, match: str) -> str:
        words = _member_words(match)
        return f"{self.term} AND {words}" if self.term else words

    def weighed(self, match: str) -> list[str]:
        """Each term bm25 weighs (by reading all of its matches in the index): the member's, and the scope's."""
        return [_member_words(t) for t in _phrases(match)] + ([self.term] if self.term else [])


@dataclass(frozen=True, slots=True)
class SavedSearch:
    id: int
    guild_id: int
    episode_id: int | None
    query: str


async def save_search(db: Database, guild_id: int, episode_id: int | None, query: str) -> int:
    """The id of a search (the same one for the same query again), for its page buttons. One trip."""

    async def save(tx: Tx) -> int:
        await tx.execute(
            "INSERT OR IGNORE INTO research_searches (guild_id, episode_id, query, created_at) VALUES (?, ?, ?, ?)",
            (guild_id, episode_id or 0, query, now_ts()),
        )
        return int(
            await tx.fetchval(
                "SELECT id FROM research_searches WHERE guild_id = ? AND episode_id = ? AND query = ?",
                (guild_id, episode_id or 0, query),
            )
        )

    return await db.run_transaction(save)


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


async def _scope(db: Reader, guild_id: int, episode_id: int | None) -> _Scope | None:
    """Where a search looks; None when the episode is not this server's."""
    if episode_id is not None:
        owner = await db.fetchval("SELECT guild_id FROM episodes WHERE id = ?", (episode_id,))
        return _Scope.of(guild_id, episode_id, False) if owner == guild_id else None
    others = await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM contributions WHERE guild_id < ?) "
        "OR EXISTS (SELECT 1 FROM contributions WHERE guild_id > ?)",
        (guild_id, guild_id),
    )
    return _Scope.of(guild_id, None, not others)


async def _nth_newest(db: Reader, expression: str, n: int) -> int | None:
    """The id of the `n`th most recent contribution `expression` matches (None: fewer match)."""
    return await db.fetchval(
        "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? ORDER BY rowid DESC "
        "LIMIT 1 OFFSET ?",
        (expression, n - 1),
    )


async def _weighable(db: Reader, scope: _Scope, match: str, known: dict[str, int | None]) -> bool:
    """Whether bm25 may rank this search. It reads every match of each term in the whole index to weigh
    it (40–60 ns a match), so a search with terms found in more than about RANK_MAX_DOCS contributions
    between them ("the") is listed newest first instead. Each term's count is estimated from how densely
    its SEARCH_CANDIDATES most recent matches lie (`known`: such edges already read, by expression)."""
    top = int(await db.fetchval("SELECT COALESCE(MAX(id), 0) FROM contributions") or 0)
    docs = 0.0
    for term in scope.weighed(match):
        if term not in known:
            known[term] = await _nth_newest(db, term, SEARCH_CANDIDATES)
        edge = known[term]
        if edge is not None:  # fewer than SEARCH_CANDIDATES matches weigh next to nothing
            docs += SEARCH_CANDIDATES * top / max(top - edge + 1, 1)
        if docs > RANK_MAX_DOCS:
            return False
    return True


async def _bounded_count(db: Reader, expression: str, limit: int) -> int:
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM (SELECT 1 FROM contributions_fts WHERE contributions_fts MATCH ? LIMIT ?)",
            (expression, limit),
        )
        or 0
    )


async def count_matches(db: Database, guild_id: int, match: str, *, episode_id: int | None = None) -> int:
    """How many contributions a search matches, exact up to COUNT_MAX (COUNT_MAX + 1: more than that)."""
    scope = await _scope(db, guild_id, episode_id)
    return 0 if scope is None else await _bounded_count(db, scope.expression(match), COUNT_MAX + 1)


async def _page_ids(
    db: Reader, expression: str, limit: int, offset: int, candidates: int, threshold: int | None
) -> list[int]:
    """The ids of one page of matches: bm25-ranked among the `candidates` most recent (those from
    `threshold`, the oldest of them), then older ones, newest first."""
    ids: list[int] = []
    if offset < candidates:
        ranked = await db.fetchall(
            "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? AND rowid >= ? "
            "ORDER BY bm25(contributions_fts, 4.0, 1.0, 2.0, 0.0), rowid DESC LIMIT ? OFFSET ?",
            (expression, threshold or 0, limit, offset),
        )
        ids = [r[0] for r in ranked]
    if threshold is not None and len(ids) < limit:
        # Past the ranked candidates (exactly `candidates` of them): older matches, newest first.
        older = await db.fetchall(
            "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? AND rowid < ? "
            "ORDER BY rowid DESC LIMIT ? OFFSET ?",
            (expression, threshold, limit - len(ids), max(offset - candidates, 0)),
        )
        ids += [r[0] for r in older]
    return ids


async def _newest_ids(db: Reader, expression: str, limit: int, offset: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT rowid FROM contributions_fts WHERE contributions_fts MATCH ? ORDER BY rowid DESC "
        "LIMIT ? OFFSET ?",
        (expression, limit, offset),
    )
    return [r[0] for r in rows]


async def _hits(db: Reader, guild_id: int, match: str, ids: list[int]) -> list[SearchHit]:
    """The hits of `ids`, in that order, with a snippet each (of the member's words only, so that it
    never shows the scope column)."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    if any(m.group(2) for m in _PHRASE.finditer(match)):
        # A prefix term: looking up each id would merge the lists of every word with that prefix again,
        # so one pass over the range that holds the ids (`+rowid` keeps IN from driving the scan).
        where, params = (
            f"contributions_fts.rowid BETWEEN ? AND ? AND +contributions_fts.rowid IN ({marks})",
            [
                min(ids),
                max(ids),
                *ids,
            ],
        )
    else:  # one look-up each: a pass over the range would read every match of a common word in it
        where, params = f"contributions_fts.rowid IN ({marks})", list(ids)
    rows = await db.fetchall(
        "SELECT c.id, e.code, c.author_id, c.author_name, c.created_at, c.jump_url, "
        f"snippet(contributions_fts, -1, '{HIT_START}', '{HIT_END}', '…', 16) AS snippet "
        "FROM contributions_fts CROSS JOIN contributions c ON c.id = contributions_fts.rowid "
        "JOIN episodes e ON e.id = c.episode_id "
        f"WHERE contributions_fts MATCH ? AND {where} AND c.guild_id = ?",
        (_member_words(match), *params, guild_id),
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


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a search. `total`: how many match in all when `exact`; otherwise more than `total`
    match (shown as "10,000+"): counting every match of a common word in a large archive takes too long."""

    total: int
    exact: bool
    hits: list[SearchHit]


async def search_page(
    db: Database,
    guild_id: int,
    match: str,
    *,
    episode_id: int | None = None,
    limit: int = 6,
    offset: int = 0,
    candidates: int = SEARCH_CANDIDATES,
) -> SearchPage:
    """One page of matches, best first, with a snippet each, and how many match in all (exact up to
    `offset + COUNT_MAX`). `match` must be a safe FTS5 expression (cogs.research.rules.build_fts_query).

    Ranking is bm25 (titles weigh most, then sources, then text) over the `candidates` most recent
    matches: a word found in nearly every contribution says little about relevance, and this keeps a
    search over a large server within milliseconds. Older matches follow, newest first, so paging
    with `offset` reaches every match. A search whose terms are found in very many contributions
    (see `_weighable`) lists every match newest first. Its reads make one trip to the database."""
    return await db.read(
        lambda reader: _search_page_in(reader, guild_id, match, episode_id, limit, offset, candidates)
    )


async def _search_page_in(
    db: Reader, guild_id: int, match: str, episode_id: int | None, limit: int, offset: int, candidates: int
) -> SearchPage:
    scope = await _scope(db, guild_id, episode_id)
    if scope is None:
        return SearchPage(0, True, [])
    expression = scope.expression(match)
    bound = offset + COUNT_MAX
    total = await _bounded_count(db, expression, bound + 1)
    if total <= offset:
        return SearchPage(total, True, [])
    candidates = max(candidates, 1)
    threshold = await _nth_newest(db, expression, candidates)
    known = {expression: threshold} if candidates == SEARCH_CANDIDATES else {}
    if await _weighable(db, scope, match, known):
        ids = await _page_ids(db, expression, limit, offset, candidates, threshold)
    else:
        ids = await _newest_ids(db, expression, limit, offset)
    return SearchPage(min(total, bound), total <= bound, await _hits(db, guild_id, match, ids))


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
    """The hits of `search_page` alone."""
    page = await search_page(
        db, guild_id, match, episode_id=episode_id, limit=limit, offset=offset, candidates=candidates
    )
    return page.hits
