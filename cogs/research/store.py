"""Contributions: the research record's rows, their writes, and the reads that catching up and listing need.

Every write runs in one transaction. Thread messages are keyed by (episode, message id), so
collecting the same message twice (live and when catching up) never makes a duplicate.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_ts, now_ts
from bot.core import jobs as job_store
from bot.core.db import Database, Tx
from bot.core.jobs import NewJob
from cogs.episodes import store as episode_store
from cogs.episodes.posts_store import Announced, NewNote, announce_in
from cogs.episodes.store import record_event_in
from cogs.research import batch_store
from cogs.research.likes_store import DEFAULT_KEYS, is_like, keys_param
from cogs.research.rules import excerpt

ORIGINS = ("thread", "form", "menu")
MARKS = ("normal", "key", "excluded")  # `/research mark`
# Rows that mirror a Discord message (edits and deletions of that message apply to them). A form
# contribution is its form: the bot's post of it only shows it.
_MIRRORED = "origin IN ('thread', 'menu')"
COLUMNS = (
    "c.id, c.guild_id, c.episode_id, c.author_id, c.author_name, c.origin, c.title, c.body, c.sources, "
    "c.attachments, c.links, c.channel_id, c.message_id, c.jump_url, c.reply_to_message_id, c.added_by, "
    "c.created_at, c.edited_at, c.mark, c.forum_likes, c.reply_to_id, "
    f"(SELECT COUNT(DISTINCT l.user_id) FROM contribution_likes l WHERE l.contribution_id = c.id AND {is_like()}) "
    "+ c.forum_likes AS likes"
)  # its one parameter (the like emoji, `likes_store.keys_param`) comes before the query's others
# Likes are the members who reacted with a like emoji, plus, for a contribution imported from the old
# forum, the likes it had there (`forum_likes`).
HIT_START, HIT_END = "\x02", "\x03"  # snippet() markers, replaced by bold after escaping markdown


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    url: str


def _attachments_json(items: Iterable[Attachment]) -> str:
    return json.dumps([{"filename": a.filename, "url": a.url} for a in items], ensure_ascii=False)


def _links(text: str | None) -> tuple[str, ...]:
    return () if not text or text == "[]" else tuple(json.loads(text))


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

    def params(self) -> dict[str, object]:
        """The row's values by column name (attachments and links as JSON)."""
        return {
            "guild_id": self.guild_id,
            "episode_id": self.episode_id,
            "author_id": self.author_id,
            "author_name": self.author_name,
            "origin": self.origin,
            "title": self.title,
            "body": self.body,
            "sources": self.sources,
            "attachments": _attachments_json(self.attachments),
            "links": json.dumps(list(self.links), ensure_ascii=False),
            "channel_id": self.channel_id,
            "message_id": self.message_id,
            "jump_url": self.jump_url,
            "reply_to_message_id": self.reply_to_message_id,
            "added_by": self.added_by,
            "created_at": self.created_at,
            "edited_at": self.edited_at,
        }


_INSERT_COLUMNS = (
    "guild_id", "episode_id", "author_id", "author_name", "origin", "title", "body", "sources", "attachments",
    "links", "channel_id", "message_id", "jump_url", "reply_to_message_id", "added_by", "created_at", "edited_at",
)  # fmt: skip
_INSERT = (
    f"INSERT OR IGNORE INTO contributions ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _INSERT_COLUMNS)})"
)
# `_INSERT` for a message unless it was removed with `/research remove` (`add(..., respect_removals=True)`).
_INSERT_UNLESS_REMOVED = (
    f"INSERT OR IGNORE INTO contributions ({', '.join(_INSERT_COLUMNS)}) "
    f"SELECT {', '.join(':' + c for c in _INSERT_COLUMNS)} WHERE NOT EXISTS "
    "(SELECT 1 FROM removed_messages WHERE episode_id = :episode_id AND message_id = :message_id)"
)


@dataclass(frozen=True, slots=True)
class Contribution:
    id: int
    guild_id: int
    episode_id: int
    author_id: int | None  # None: a forum author not linked to a member yet (`author_name` is the forum name)
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
    likes: int  # reactions with a like emoji, plus the likes an imported forum post had there
    mark: str = "normal"  # one of MARKS: "normal", "key" (first in the dossier), "excluded" (left out)
    forum_likes: int = 0  # the likes an imported forum post had on the forum (part of `likes`)
    reply_to_id: int | None = None  # an imported reply: the contribution it answers

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Contribution:
        """From a row of `COLUMNS`, by column name."""
        return cls(
            id=row["id"],
            guild_id=row["guild_id"],
            episode_id=row["episode_id"],
            author_id=row["author_id"],
            author_name=row["author_name"],
            origin=row["origin"],
            title=row["title"],
            body=row["body"],
            sources=row["sources"],
            attachments=_attachments(row["attachments"]),
            links=_links(row["links"]),
            channel_id=row["channel_id"],
            message_id=row["message_id"],
            jump_url=row["jump_url"],
            reply_to_message_id=row["reply_to_message_id"],
            added_by=row["added_by"],
            created_at=from_ts(row["created_at"]),
            edited_at=from_ts(row["edited_at"]),
            likes=row["likes"],
            mark=row["mark"],
            forum_likes=row["forum_likes"],
            reply_to_id=row["reply_to_id"],
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
class PageState:
    """What the record holds for one page of a thread's history (`page_state`)."""

    stored: dict[int, StoredMessage]  # message id -> its contribution in the episode
    removed: frozenset[int]  # message ids removed with `/research remove`
    likes: dict[int, dict[str, int]]  # message id -> {emoji: members} (every reaction stored)


@dataclass(frozen=True, slots=True)
class MessageEdit:
    """A message's current text and attachments, for the contributions mirroring it."""

    message_id: int
    body: str
    links: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    edited_at: int | None
    author_name: str | None = None


@dataclass(frozen=True, slots=True)
class PageWritten:
    added: int  # contributions created (a removed or already stored message adds none)
    updated: int  # contributions whose text or attachments changed
    likes_replaced: int  # messages whose reactions were replaced


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    episode_code: str
    author_id: int | None  # None: a forum author not linked to a member yet
    created_at: datetime
    jump_url: str | None
    snippet: str  # with HIT_START / HIT_END around matches
    author_name: str | None = None


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
    contribution_id = await tx.insert(_INSERT, new.params())
    if contribution_id is not None:
        return Added(contribution_id, True)
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
        claimed = await tx.execute(
            "UPDATE episodes SET thanked_at = ? WHERE id = ? AND thanked_at IS NULL", (now_ts(), episode_id)
        )
        if claimed != 1:
            return None
        return await job_store.add_in(tx, job, created_at)


async def write_page(
    db: Database,
    rows: Sequence[NewContribution],
    *,
    edits: Sequence[MessageEdit] = (),
    likes: Mapping[int, Iterable[tuple[int, str]]] | None = None,
) -> PageWritten:
    """Pages of a thread's history (the catch-up writes up to ten pages of 100 messages at once) in one
    transaction, in one trip to the database thread:

    - `rows`: stored as `add(..., respect_removals=True)` stores each (a message removed with
      `/research remove` is skipped, one already stored is left as it is), inserted whole
      (`batch_store.insert_page_in`: the full-text index and the stored counts of the page at once);
    - `edits`: applied as `update_message` applies each;
    - `likes`: {message id: (user id, emoji) pairs}, each message's reactions replaced as
      `likes_store.replace_likes` does (after the rows, so a message added here gets its likes)."""
    if any(r.origin not in ORIGINS or r.message_id is None for r in rows):
        raise ValueError("a page holds messages: each row needs an origin and a message id")
    likes = likes or {}

    async def page(tx: Tx) -> PageWritten:
        added = (
            await batch_store.insert_page_in(tx, _INSERT_UNLESS_REMOVED, [r.params() for r in rows])
            if rows
            else 0
        )
        updated = 0
        if edits:
            updated = await tx.executemany(
                "UPDATE contributions SET body = :body, links = :links, attachments = :attachments, "
                "edited_at = COALESCE(:edited_at, edited_at), author_name = COALESCE(:author_name, author_name) "
                f"WHERE message_id = :message_id AND {_MIRRORED} AND (body != :body OR attachments != :attachments)",
                [_edit_params(e) for e in edits],
            )
        if likes:
            await tx.executemany(
                "DELETE FROM contribution_likes WHERE contribution_id IN "
                "(SELECT id FROM contributions WHERE message_id = ?)",
                [(message_id,) for message_id in likes],
            )
            pairs = [(user, emoji, mid) for mid, users in likes.items() for user, emoji in users]
            if pairs:
                await tx.executemany(
                    "INSERT OR IGNORE INTO contribution_likes (contribution_id, user_id, emoji) "
                    "SELECT id, ?, ? FROM contributions WHERE message_id = ?",
                    pairs,
                )
        return PageWritten(added=max(added, 0), updated=max(updated, 0), likes_replaced=len(likes))

    return await db.run_transaction(page)


def _edit_params(edit: MessageEdit) -> dict[str, object]:
    return {
        "message_id": edit.message_id,
        "body": edit.body,
        "links": json.dumps(list(edit.links), ensure_ascii=False),
        "attachments": _attachments_json(edit.attachments),
        "edited_at": edit.edited_at,
        "author_name": edit.author_name,
    }


async def add_many(db: Database, rows: Sequence[NewContribution]) -> None:
    """Bulk insert in one transaction (seeding, benchmarks)."""
    async with db.transaction() as tx:
        await tx.executemany(_INSERT, [r.params() for r in rows])


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
    """Delete it, remember the message so catching up does not bring it back, and record the removal in
    the episode's history. False when it was already gone."""
    async with db.transaction() as tx:
        return await remove_in(tx, contribution, actor_id)


async def remove_in(tx: Tx, contribution: Contribution, actor_id: int) -> bool:
    """`remove` inside an open transaction: two statements, three for a message."""
    deleted = await tx.execute("DELETE FROM contributions WHERE id = ?", (contribution.id,))
    if deleted != 1:
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


@dataclass(frozen=True, slots=True)
class Removal:
    """What `remove_announced` found and did. `found` None: the episode has no such contribution;
    `announced` None: nothing removed (the member may not remove it)."""

    found: Contribution | None
    announced: Announced | None = None


async def remove_announced(
    db: Database,
    guild_id: int,
    episode_id: int,
    number: int,
    actor_id: int,
    *,
    host: bool,
    note: Callable[[Contribution], NewNote],
) -> Removal:
    """`/research remove` in one trip to the database thread: read the contribution, and when it is the
    episode's and the member may remove it (its contributor, or `host`), `remove_in` it and keep the note
    `note(contribution)` for the thread with its delivery job, in the same transaction."""
    ts = now_ts()

    async def body(tx: Tx) -> Removal:
        row = await tx.fetchone(
            f"SELECT {COLUMNS} FROM contributions c WHERE c.guild_id = ? AND c.id = ?",
            (keys_param(DEFAULT_KEYS), guild_id, number),
        )
        found = Contribution.from_row(row) if row else None
        if found is None or found.episode_id != episode_id:
            return Removal(None)
        if found.author_id != actor_id and not host:
            return Removal(found)
        await remove_in(tx, found, actor_id)
        return Removal(found, await announce_in(tx, episode_id, guild_id, note(found), ts))

    return await db.run_transaction(body)


@dataclass(frozen=True, slots=True)
class Marked:
    """What `/research mark` changed."""

    id: int
    author_id: int | None
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


async def set_mark(
    db: Database, episode_id: int, contribution_id: int, mark: str, actor_id: int
) -> Marked | None:
    """`/research mark`: one conditional write (over the mark just read, in the same transaction),
    recorded in the episode's history when it changes anything. None when the episode has no such
    contribution."""
    if mark not in MARKS:
        raise ValueError(f"unknown mark {mark!r}")
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT mark, author_id, title, body FROM contributions WHERE id = ? AND episode_id = ?",
            (contribution_id, episode_id),
        )
        if row is None:
            return None
        marked = Marked(contribution_id, row["author_id"], row["mark"], mark)
        if not marked.changed:
            return marked
        await tx.execute(
            "UPDATE contributions SET mark = ? WHERE id = ? AND mark = ?", (mark, contribution_id, marked.old)
        )
        await record_event_in(
            tx,
            episode_id,
            "contribution_marked",
            actor_id,
            subject_id=marked.author_id,
            from_value=marked.old,
            to_value=mark,
            note=f"#{contribution_id}: {excerpt(row['title'] or row['body'], 200)}",
        )
    return marked


# -- reads ---------------------------------------------------------------------------------------------


async def get(
    db: Database, guild_id: int, contribution_id: int, like_keys: Collection[str] = DEFAULT_KEYS
) -> Contribution | None:
    """One contribution of a server, its likes counted with `like_keys` (`LikeEmoji.keys`)."""
    row = await db.fetchone(
        f"SELECT {COLUMNS} FROM contributions c WHERE c.guild_id = ? AND c.id = ?",
        (keys_param(like_keys), guild_id, contribution_id),
    )
    return Contribution.from_row(row) if row else None


async def get_by_message(
    db: Database, episode_id: int, message_id: int, like_keys: Collection[str] = DEFAULT_KEYS
) -> Contribution | None:
    row = await db.fetchone(
        f"SELECT {COLUMNS} FROM contributions c WHERE c.episode_id = ? AND c.message_id = ?",
        (keys_param(like_keys), episode_id, message_id),
    )
    return Contribution.from_row(row) if row else None


def of_episode(episode_id: int, author_id: int | None) -> tuple[str, list[int]]:
    """WHERE clause and parameters: one episode's contributions, optionally by one member."""
    if author_id is None:
        return "c.episode_id = ?", [episode_id]
    return "c.episode_id = ? AND c.author_id = ?", [episode_id, author_id]


async def for_episode(
    db: Database,
    episode_id: int,
    *,
    author_id: int | None = None,
    newest_first: bool = False,
    like_keys: Collection[str] = DEFAULT_KEYS,
) -> list[Contribution]:
    """Every contribution of one episode, oldest first (or newest first), optionally by one member;
    likes counted with `like_keys` (`LikeEmoji.keys`)."""
    where, params = of_episode(episode_id, author_id)
    order = "DESC" if newest_first else "ASC"
    rows = await db.fetchall(
        f"SELECT {COLUMNS} FROM contributions c WHERE {where} ORDER BY c.created_at {order}, c.id {order}",
        [keys_param(like_keys), *params],
    )
    return [Contribution.from_row(r) for r in rows]


def _marks(values: Collection[object]) -> str:
    return ", ".join("?" for _ in values)


async def page_state(db: Database, episode_id: int, message_ids: Collection[int]) -> PageState:
    """What the record holds for these messages of an episode's thread (one page: up to 100 ids)."""
    if not message_ids:
        return PageState({}, frozenset(), {})
    ids = list(message_ids)
    marks = _marks(ids)
    rows = await db.fetchall(
        "SELECT id, message_id, origin, body, attachments FROM contributions "
        f"WHERE episode_id = ? AND message_id IN ({marks})",
        (episode_id, *ids),
    )
    stored = {
        r["message_id"]: StoredMessage(
            id=r["id"],
            message_id=r["message_id"],
            origin=r["origin"],
            body=r["body"],
            attachments=_attachments(r["attachments"]),
        )
        for r in rows
    }
    removed = await db.fetchall(
        f"SELECT message_id FROM removed_messages WHERE episode_id = ? AND message_id IN ({marks})",
        (episode_id, *ids),
    )
    likes: dict[int, dict[str, int]] = {}
    if stored:
        counted = await db.fetchall(
            "SELECT c.message_id, l.emoji, COUNT(*) FROM contribution_likes l JOIN contributions c "
            f"ON c.id = l.contribution_id WHERE c.id IN ({_marks(stored)}) GROUP BY c.message_id, l.emoji",
            [s.id for s in stored.values()],
        )
        for message_id, emoji, count in counted:
            likes.setdefault(message_id, {})[emoji] = count
    return PageState(stored, frozenset(r[0] for r in removed), likes)


async def mirrored_ids_since(db: Database, episode_id: int, channel_id: int, since: int) -> list[int]:
    """Message ids of an episode's contributions that mirror messages of one channel (not forms' posts),
    from message `since` on: what a history read reaching back to `since` should show."""
    rows = await db.fetchall(
        "SELECT message_id FROM contributions WHERE episode_id = ? AND channel_id = ? "
        "AND message_id >= ? AND origin != 'form'",
        (episode_id, channel_id, since),
    )
    return [r[0] for r in rows]


async def removed_message_ids(db: Database, episode_id: int) -> set[int]:
    rows = await db.fetchall("SELECT message_id FROM removed_messages WHERE episode_id = ?", (episode_id,))
    return {r[0] for r in rows}


async def contributor_ids(db: Database, episode_id: int) -> list[int]:
    """Every contributor of one episode once, in order of their first contribution (members only: a
    forum name not linked to a member can't be mentioned)."""
    rows = await db.fetchall(
        "SELECT author_id FROM contributions WHERE episode_id = ? AND author_id IS NOT NULL "
        "GROUP BY author_id ORDER BY MIN(id)",
        (episode_id,),
    )
    return [r[0] for r in rows]
