"""Contributions: the research record, its likes, full-text search, credits and the export rows.

Every write runs in one transaction. Thread messages are keyed by (episode, message id), so
collecting the same message twice (live and when catching up) never makes a duplicate.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_ts, now_ts
from bot.core import jobs as job_store
from bot.core.db import Database, Tx
from bot.core.jobs import NewJob
from cogs.episodes import store as episode_store
from cogs.episodes.store import record_event_in
from cogs.research.rules import DossierEntry, Person, excerpt

ORIGINS = ("thread", "form", "menu")
# Rows that mirror a Discord message (edits and deletions of that message apply to them). A form
# contribution is its form: the bot's post of it only shows it.
_MIRRORED = "origin IN ('thread', 'menu')"
_COLS = (
    "c.id, c.guild_id, c.episode_id, c.author_id, c.author_name, c.origin, c.title, c.body, c.sources, "
    "c.attachments, c.links, c.channel_id, c.message_id, c.jump_url, c.reply_to_message_id, c.added_by, "
    "c.created_at, c.edited_at, "
    "(SELECT COUNT(DISTINCT l.user_id) FROM contribution_likes l WHERE l.contribution_id = c.id) AS likes"
)
HIT_START, HIT_END = "\x02", "\x03"  # snippet() markers, replaced by bold after escaping markdown
SEARCH_CANDIDATES = 1000  # most recent matches ranked by a search


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    url: str


def _attachments_json(items: Iterable[Attachment]) -> str:
    return json.dumps([{"filename": a.filename, "url": a.url} for a in items], ensure_ascii=False)


def _attachments(text: str | None) -> tuple[Attachment, ...]:
    if not text or text == "[]":
        return ()
    return tuple(Attachment(a.get("filename", ""), a.get("url", "")) for a in json.loads(text or "[]"))


@dataclass(frozen=True, slots=True)
class NewContribution:
    guild_id: int
    episode_id: int
    author_id: int
    origin: str
    body: str
    created_at: int  # epoch seconds
    title: str | None = None
    sources: str | None = None
    attachments: tuple[Attachment, ...] = ()
    links: tuple[str, ...] = ()
    channel_id: int | None = None
    message_id: int | None = None
    jump_url: str | None = None
    reply_to_message_id: int | None = None
    added_by: int | None = None
    edited_at: int | None = None
    author_name: str | None = None

    def params(self) -> tuple:
        return (
            self.guild_id,
            self.episode_id,
            self.author_id,
            self.author_name,
            self.origin,
            self.title,
            self.body,
            self.sources,
            _attachments_json(self.attachments),
            json.dumps(list(self.links), ensure_ascii=False),
            self.channel_id,
            self.message_id,
            self.jump_url,
            self.reply_to_message_id,
            self.added_by,
            self.created_at,
            self.edited_at,
        )


_INSERT_COLS = (
    "guild_id, episode_id, author_id, author_name, origin, title, body, sources, attachments, links, "
    "channel_id, message_id, jump_url, reply_to_message_id, added_by, created_at, edited_at"
)
_INSERT = f"INSERT OR IGNORE INTO contributions ({_INSERT_COLS}) VALUES ({', '.join('?' * 17)})"


@dataclass(frozen=True, slots=True)
class Contribution:
    id: int
    guild_id: int
    episode_id: int
    author_id: int
    author_name: str | None
    origin: str
    title: str | None
    body: str
    sources: str | None
    attachments: tuple[Attachment, ...]
    links: tuple[str, ...]
    channel_id: int | None
    message_id: int | None
    jump_url: str | None
    reply_to_message_id: int | None
    added_by: int | None
    created_at: datetime
    edited_at: datetime | None
    likes: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Contribution:
        """From a row of `_COLS` (by position: exports read thousands of rows)."""
        links = row[10]
        return cls(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            _attachments(row[9]),
            () if links == "[]" or not links else tuple(json.loads(links)),
            row[11],
            row[12],
            row[13],
            row[14],
            row[15],
            from_ts(row[16]),
            from_ts(row[17]),
            row[18],
        )


@dataclass(frozen=True, slots=True)
class Added:
    id: int | None  # None: not stored (it was removed from the record before)
    created: bool  # False: it was already there


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """What catching up compares with a thread's history."""

    id: int
    message_id: int
    origin: str
    body: str
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True, slots=True)
class Contributor:
    author_id: int
    author_name: str | None
    contributions: int


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    episode_code: str
    author_id: int
    created_at: datetime
    jump_url: str | None
    snippet: str  # with HIT_START / HIT_END around matches


# -- writes --------------------------------------------------------------------------------------------


async def add(
    db: Database, new: NewContribution, *, seen: bool = False, respect_removals: bool = False
) -> Added:
    """Store a contribution; for a message already stored, nothing changes.

    `seen` also moves the episode's last seen message id forward (same transaction);
    `respect_removals` skips a message that was removed with `/research remove`; an explicit add
    (origin 'menu') clears that removal instead."""
    if new.origin not in ORIGINS:
        raise ValueError(f"unknown origin {new.origin!r}")
    async with db.transaction() as tx:
        return await _add_in(tx, new, seen=seen, respect_removals=respect_removals)


async def _add_in(tx: Tx, new: NewContribution, *, seen: bool, respect_removals: bool) -> Added:
    if seen and new.message_id is not None:
        await episode_store.advance_last_seen_in(tx, new.episode_id, new.message_id)
    if new.message_id is not None:
        if respect_removals:
            removed = await tx.fetchone(
                "SELECT 1 FROM removed_messages WHERE episode_id = ? AND message_id = ?",
                (new.episode_id, new.message_id),
            )
            if removed is not None:
                return Added(None, False)
        elif new.origin == "menu":
            await tx.execute(
                "DELETE FROM removed_messages WHERE episode_id = ? AND message_id = ?",
                (new.episode_id, new.message_id),
            )
    cur = await tx.execute(_INSERT, new.params())
    if cur.rowcount == 1:
        return Added(cur.lastrowid, True)
    row = await tx.fetchone(
        "SELECT id FROM contributions WHERE episode_id = ? AND message_id = ?",
        (new.episode_id, new.message_id),
    )
    return Added(row[0] if row else None, False)


async def add_with_job(
    db: Database, new: NewContribution, job: Callable[[int], NewJob], created_at: float
) -> tuple[int, int]:
    """Store a new contribution together with the job that will post it (`job(contribution id)`),
    in one transaction: a crash right after can't leave it saved but never posted.
    Returns (contribution id, job id)."""
    async with db.transaction() as tx:
        added = await _add_in(tx, new, seen=False, respect_removals=False)
        assert added.id is not None
        return added.id, await job_store.add_in(tx, job(added.id), created_at)


async def claim_thanks(db: Database, episode_id: int, job: NewJob, created_at: float) -> int | None:
    """Claim an episode's one-time thank-you and store the job that posts it, in one transaction:
    the claim is never made without the thank-you to deliver. The job's id; None when it was
    claimed before."""
    async with db.transaction() as tx:
        cur = await tx.execute(
            "UPDATE episodes SET thanked_at = ? WHERE id = ? AND thanked_at IS NULL", (now_ts(), episode_id)
        )
        if cur.rowcount != 1:
            return None
        return await job_store.add_in(tx, job, created_at)


async def add_many(db: Database, rows: Sequence[NewContribution]) -> None:
    """Bulk insert in one transaction (seeding, benchmarks)."""
    async with db.transaction() as tx:
        await tx.executemany(_INSERT, [r.params() for r in rows])


async def add_likes_many(db: Database, rows: Iterable[tuple[int, int, str]]) -> None:
    """Bulk insert (contribution id, user id, emoji) likes in one transaction (seeding, benchmarks)."""
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT OR IGNORE INTO contribution_likes (contribution_id, user_id, emoji) VALUES (?, ?, ?)",
            rows,
        )


async def set_message(
    db: Database, contribution_id: int, *, channel_id: int, message_id: int, jump_url: str
) -> None:
    """Link a form contribution to the bot's post of it (so that post is never collected again)."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE contributions SET channel_id = ?, message_id = ?, jump_url = ? WHERE id = ?",
            (channel_id, message_id, jump_url, contribution_id),
        )


async def update_message(
    db: Database,
    message_id: int,
    *,
    body: str,
    links: Sequence[str],
    attachments: Sequence[Attachment],
    edited_at: int | None,
    author_name: str | None = None,
) -> list[int]:
    """Apply an edit of a message to every contribution mirroring it; returns the episodes changed.

    Rows whose text and attachments did not change are left alone (embeds unfurling count as edits)."""
    links_json = json.dumps(list(links), ensure_ascii=False)
    att_json = _attachments_json(attachments)
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "UPDATE contributions SET body = ?, links = ?, attachments = ?, edited_at = COALESCE(?, edited_at), "
            "author_name = COALESCE(?, author_name) "
            f"WHERE message_id = ? AND {_MIRRORED} AND (body != ? OR attachments != ?) RETURNING episode_id",
            (body, links_json, att_json, edited_at, author_name, message_id, body, att_json),
        )
    return sorted({r[0] for r in rows})


async def is_stored(db: Database, message_id: int) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM contributions WHERE message_id = ? LIMIT 1", (message_id,)))


async def delete_messages(db: Database, message_ids: Sequence[int]) -> list[int]:
    """The messages were deleted: drop the contributions mirroring them; returns the episodes changed."""
    if not message_ids:
        return []
    episodes: set[int] = set()
    async with db.transaction() as tx:
        for start in range(0, len(message_ids), 500):
            part = list(message_ids[start : start + 500])
            marks = ", ".join("?" for _ in part)
            rows = await tx.fetchall(
                f"DELETE FROM contributions WHERE message_id IN ({marks}) AND {_MIRRORED} RETURNING episode_id",
                part,
            )
            episodes.update(r[0] for r in rows)
    return sorted(episodes)


async def remove(db: Database, contribution: Contribution, actor_id: int) -> bool:
    """`/research remove`: delete it, remember the message so catching up does not bring it back, and
    record the removal in the episode's history. False when it was already gone."""
    async with db.transaction() as tx:
        cur = await tx.execute("DELETE FROM contributions WHERE id = ?", (contribution.id,))
        if cur.rowcount != 1:
            return False
        if contribution.message_id is not None and contribution.origin != "form":
            await tx.execute(
                "INSERT OR REPLACE INTO removed_messages (episode_id, message_id, removed_by, removed_at) "
                "VALUES (?, ?, ?, ?)",
                (contribution.episode_id, contribution.message_id, actor_id, now_ts()),
            )
        await record_event_in(
            tx,
            contribution.episode_id,
            "contribution_removed",
            actor_id,
            subject_id=contribution.author_id,
            from_value=str(contribution.id),
            note=excerpt(contribution.title or contribution.body, 200),
        )
    return True


# -- likes ---------------------------------------------------------------------------------------------


async def add_like(db: Database, message_id: int, user_id: int, emoji: str) -> int:
    async with db.transaction() as tx:
        cur = await tx.execute(
            "INSERT OR IGNORE INTO contribution_likes (contribution_id, user_id, emoji) "
            "SELECT id, ?, ? FROM contributions WHERE message_id = ?",
            (user_id, emoji, message_id),
        )
    return cur.rowcount


async def remove_like(db: Database, message_id: int, user_id: int, emoji: str) -> int:
    async with db.transaction() as tx:
        cur = await tx.execute(
            "DELETE FROM contribution_likes WHERE user_id = ? AND emoji = ? "
            "AND contribution_id IN (SELECT id FROM contributions WHERE message_id = ?)",
            (user_id, emoji, message_id),
        )
    return cur.rowcount


async def clear_likes(db: Database, message_id: int, emoji: str | None = None) -> int:
    sql = "DELETE FROM contribution_likes WHERE contribution_id IN (SELECT id FROM contributions WHERE message_id = ?)"
    params: tuple = (message_id,)
    if emoji is not None:
        sql += " AND emoji = ?"
        params = (message_id, emoji)
    async with db.transaction() as tx:
        cur = await tx.execute(sql, params)
    return cur.rowcount


async def like_counts(db: Database, episode_id: int, channel_id: int) -> dict[int, dict[str, int]]:
    """{message id: {emoji: members}} of the contributions mirroring messages of one channel."""
    rows = await db.fetchall(
        "SELECT c.message_id, l.emoji, COUNT(*) FROM contribution_likes l JOIN contributions c "
        "ON c.id = l.contribution_id WHERE c.episode_id = ? AND c.channel_id = ? GROUP BY c.message_id, l.emoji",
        (episode_id, channel_id),
    )
    out: dict[int, dict[str, int]] = {}
    for message_id, emoji, count in rows:
        out.setdefault(message_id, {})[emoji] = count
    return out


async def replace_likes(db: Database, message_id: int, likes: Iterable[tuple[int, str]]) -> None:
    """Set the likes of a message's contributions to exactly (user id, emoji) pairs (catching up)."""
    likes = list(likes)
    async with db.transaction() as tx:
        ids = [
            r[0]
            for r in await tx.fetchall("SELECT id FROM contributions WHERE message_id = ?", (message_id,))
        ]
        for cid in ids:
            await tx.execute("DELETE FROM contribution_likes WHERE contribution_id = ?", (cid,))
            await tx.executemany(
                "INSERT OR IGNORE INTO contribution_likes (contribution_id, user_id, emoji) VALUES (?, ?, ?)",
                [(cid, user, emoji) for user, emoji in likes],
            )


async def likers(db: Database, episode_id: int) -> dict[int, list[int]]:
    """{contribution id: members who liked it} for one episode."""
    rows = await db.fetchall(
        "SELECT l.contribution_id, l.user_id FROM contribution_likes l JOIN contributions c "
        "ON c.id = l.contribution_id WHERE c.episode_id = ? GROUP BY l.contribution_id, l.user_id "
        "ORDER BY l.contribution_id, l.user_id",
        (episode_id,),
    )
    out: dict[int, list[int]] = {}
    for cid, user in rows:
        out.setdefault(cid, []).append(user)
    return out


# -- reads ---------------------------------------------------------------------------------------------


async def get(db: Database, guild_id: int, contribution_id: int) -> Contribution | None:
    row = await db.fetchone(
        f"SELECT {_COLS} FROM contributions c WHERE c.guild_id = ? AND c.id = ?", (guild_id, contribution_id)
    )
    return Contribution.from_row(row) if row else None


async def get_by_message(db: Database, episode_id: int, message_id: int) -> Contribution | None:
    row = await db.fetchone(
        f"SELECT {_COLS} FROM contributions c WHERE c.episode_id = ? AND c.message_id = ?",
        (episode_id, message_id),
    )
    return Contribution.from_row(row) if row else None


def _of_episode(episode_id: int, author_id: int | None) -> tuple[str, list[int]]:
    """WHERE clause and parameters: one episode's contributions, optionally by one member."""
    if author_id is None:
        return "c.episode_id = ?", [episode_id]
    return "c.episode_id = ? AND c.author_id = ?", [episode_id, author_id]


async def for_episode(
    db: Database, episode_id: int, *, author_id: int | None = None, newest_first: bool = False
) -> list[Contribution]:
    """Every contribution of one episode, oldest first (or newest first), optionally by one member."""
    where, params = _of_episode(episode_id, author_id)
    order = "DESC" if newest_first else "ASC"
    rows = await db.fetchall(
        f"SELECT {_COLS} FROM contributions c WHERE {where} ORDER BY c.created_at {order}, c.id {order}",
        params,
    )
    return [Contribution.from_row(r) for r in rows]


async def page_for_episode(
    db: Database, episode_id: int, *, offset: int, limit: int, author_id: int | None = None
) -> tuple[int, list[Contribution]]:
    """One page of an episode's contributions, newest first, and how many there are in all."""
    where, params = _of_episode(episode_id, author_id)
    total = await db.fetchval(f"SELECT COUNT(*) FROM contributions c WHERE {where}", params)
    if not total:
        return 0, []
    rows = await db.fetchall(
        f"SELECT {_COLS} FROM contributions c WHERE {where} "
        "ORDER BY c.created_at DESC, c.id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return int(total), [Contribution.from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ContributionChoice:
    """What a contribution's autocomplete choice shows."""

    id: int
    author_id: int
    author_name: str | None
    title: str | None
    body: str


async def choices_for(
    db: Database, episode_id: int, user_id: int, typed: str, limit: int = 25
) -> list[ContributionChoice]:
    """Contributions of one episode whose number starts with `typed`: the member's own first, then
    the newest."""
    rows = await db.fetchall(
        "SELECT id, author_id, author_name, title, body FROM contributions "
        "WHERE episode_id = ? AND (? = '' OR CAST(id AS TEXT) LIKE ? || '%') "
        "ORDER BY author_id != ?, created_at DESC, id DESC LIMIT ?",
        (episode_id, typed, typed, user_id, limit),
    )
    return [ContributionChoice(*r) for r in rows]


async def dossier_entries(
    db: Database, episode_id: int, person: Callable[[int, str | None], Person]
) -> list[DossierEntry]:
    """Every contribution of one episode as dossier entries, oldest first, with who liked each and
    the contribution each reply answers. `person(user id, stored name)` names the members.

    Built straight from the rows (no intermediate objects): exports read thousands of them."""
    liked = await likers(db, episode_id)
    rows = await db.fetchall(
        "SELECT id, author_id, author_name, origin, title, body, sources, attachments, links, message_id, "
        "jump_url, reply_to_message_id, added_by, created_at, edited_at FROM contributions "
        "WHERE episode_id = ? ORDER BY created_at, id",
        (episode_id,),
    )
    by_message = {r[9]: r[0] for r in rows if r[9] is not None}
    entries = []
    for (
        cid,
        author,
        name,
        origin,
        title,
        body,
        sources,
        atts,
        links,
        _,
        url,
        reply,
        added,
        at,
        edited,
    ) in rows:
        who_liked = liked.get(cid, ())
        entries.append(
            DossierEntry(
                cid,
                person(author, name),
                origin,
                title,
                body,
                sources,
                from_ts(at),
                from_ts(edited),
                url,
                len(who_liked),
                tuple(who_liked),
                tuple((a.filename, a.url) for a in _attachments(atts)),
                () if links == "[]" or not links else tuple(json.loads(links)),
                reply,
                by_message.get(reply) if reply else None,
                person(added, None) if added is not None else None,
            )
        )
    return entries


async def stored_in_channel(db: Database, episode_id: int, channel_id: int) -> list[StoredMessage]:
    rows = await db.fetchall(
        "SELECT id, message_id, origin, body, attachments FROM contributions "
        "WHERE episode_id = ? AND channel_id = ? AND message_id IS NOT NULL",
        (episode_id, channel_id),
    )
    return [StoredMessage(r[0], r[1], r[2], r[3], _attachments(r[4])) for r in rows]


async def removed_message_ids(db: Database, episode_id: int) -> set[int]:
    rows = await db.fetchall("SELECT message_id FROM removed_messages WHERE episode_id = ?", (episode_id,))
    return {r[0] for r in rows}


# Grouped through the contributions_episode_author index (migration 0005), with each member's latest name.
CONTRIBUTORS_SQL = (
    "SELECT author_id, (SELECT c2.author_name FROM contributions c2 WHERE c2.episode_id = ? AND "
    "c2.author_id = c.author_id AND c2.author_name IS NOT NULL ORDER BY c2.id DESC LIMIT 1), COUNT(*) AS n "
    "FROM contributions c WHERE episode_id = ? GROUP BY author_id ORDER BY n DESC, MIN(id)"
)


async def contributors(db: Database, episode_id: int) -> list[Contributor]:
    """Who contributed, most contributions first, then by first contribution."""
    rows = await db.fetchall(CONTRIBUTORS_SQL, (episode_id, episode_id))
    return [Contributor(r[0], r[1], r[2]) for r in rows]


async def contributor_ids(db: Database, episode_id: int) -> list[int]:
    """Every contributor of one episode once, in order of their first contribution."""
    rows = await db.fetchall(
        "SELECT author_id FROM contributions WHERE episode_id = ? GROUP BY author_id ORDER BY MIN(id)",
        (episode_id,),
    )
    return [r[0] for r in rows]


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
    return SavedSearch(row[0], row[1], row[2] or None, row[3]) if row else None


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
    candidates = max(candidates, 1)
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
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = await db.fetchall(
        "SELECT c.id, e.code, c.author_id, c.created_at, c.jump_url, "
        f"snippet(contributions_fts, -1, '{HIT_START}', '{HIT_END}', '…', 16) "
        "FROM contributions_fts CROSS JOIN contributions c ON c.id = contributions_fts.rowid "
        "JOIN episodes e ON e.id = c.episode_id "
        # One pass over the range that holds the best ids (`+rowid` keeps IN from driving the scan:
        # FTS5 would otherwise re-read the index for every id, which is slow for prefix queries).
        "WHERE contributions_fts MATCH ? AND contributions_fts.rowid BETWEEN ? AND ? "
        f"AND +contributions_fts.rowid IN ({marks}) AND c.guild_id = ?",
        (f"{{title body sources}} : ({match})", min(ids), max(ids), *ids, guild_id),
    )
    by_id = {r[0]: SearchHit(r[0], r[1], r[2], from_ts(r[3]), r[4], r[5] or "") for r in rows}
    return [by_id[i] for i in ids if i in by_id]
