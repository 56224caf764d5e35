"""The forum import's SQL: imported topics and posts by their key on the forum, forum names and their
links to members, and the episodes and contributions an import writes (see migration 0011).

Every write takes the open transaction of the one topic being imported (`Tx`), so a topic is imported
whole or not at all; large batches go through `executemany`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core import jobs as job_store
from bot.core.db import Database, Tx
from cogs.episodes.posts_store import card_job_in
from cogs.episodes.store import record_event_in

IN_CHUNK = 500  # ids or names per `IN (…)` list (SQLite takes at most 32,766 parameters)
POST_JOB = "forum_import_post"  # opens the forum post of an imported episode until Discord takes it


def post_key(episode_id: int) -> str:
    """The post job's dedupe key (ends with ':' so that it is also its own unique prefix)."""
    return f"import-post:{episode_id}:"


def _chunks(items: Sequence, size: int = IN_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(items: Sequence) -> str:
    return ", ".join("?" for _ in items)


# -- topics and their episodes ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportedTopic:
    """A topic imported before, with what its episode is now."""

    episode_id: int
    code: str
    status: str
    thread_id: int | None
    fingerprint: str


async def imported_topic_in(tx: Tx, guild_id: int, forum: str, topic_id: int) -> ImportedTopic | None:
    row = await tx.fetchone(
        "SELECT e.id, e.code, e.status, e.thread_id, t.fingerprint FROM forum_topics t "
        "JOIN episodes e ON e.id = t.episode_id WHERE t.guild_id = ? AND t.forum = ? AND t.topic_id = ?",
        (guild_id, forum, topic_id),
    )
    return ImportedTopic(*row) if row else None


async def code_taken_in(tx: Tx, guild_id: int, code: str) -> bool:
    """Whether an episode of the server already has this code (any case)."""
    return bool(await tx.fetchone("SELECT 1 FROM episodes WHERE guild_id = ? AND code = ?", (guild_id, code)))


@dataclass(frozen=True, slots=True)
class EpisodeFields:
    """An episode as a topic's first post describes it."""

    code: str
    title: str
    description: str | None
    status: str  # an option value: in_research, writing, recorded, published, shelved
    created_at: int
    thanked: bool  # recorded or published: the thank-you the status machinery posts is claimed


@dataclass(frozen=True, slots=True)
class TopicRef:
    guild_id: int
    forum: str
    topic_id: int
    url: str
    fingerprint: str


async def create_episode_in(tx: Tx, topic: TopicRef, fields: EpisodeFields, actor_id: int, ts: int) -> int:
    """A new episode for a topic (without a forum post yet), its history's first event and the topic's
    key; its id."""
    episode_id = await tx.insert(
        "INSERT INTO episodes (guild_id, code, title, description, status, created_by, created_at, "
        "updated_at, thanked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (topic.guild_id, fields.code, fields.title, fields.description, fields.status, actor_id,
         fields.created_at, ts, ts if fields.thanked else None),
    )  # fmt: skip
    assert episode_id is not None
    await record_event_in(
        tx, episode_id, "created", actor_id, to_value=fields.status, note=f"imported from {topic.url}"[:500]
    )
    await tx.execute(
        "INSERT INTO forum_topics (guild_id, forum, topic_id, episode_id, url, fingerprint, imported_by, "
        "imported_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (topic.guild_id, topic.forum, topic.topic_id, episode_id, topic.url, topic.fingerprint, actor_id, ts, ts),
    )  # fmt: skip
    return episode_id


async def update_episode_in(
    tx: Tx, episode_id: int, topic: TopicRef, fields: EpisodeFields, actor_id: int, ts: int
) -> None:
    """The topic's first post changed since the last import: the episode follows it (title,
    description, status), each change in the episode's history. The code never changes."""
    row = await tx.fetchone("SELECT title, description, status FROM episodes WHERE id = ?", (episode_id,))
    assert row is not None
    note = "forum import"
    for column, kind in (("title", "title"), ("description", "description"), ("status", "status")):
        old, new = row[column], getattr(fields, column)
        if old != new:
            await record_event_in(tx, episode_id, kind, actor_id, from_value=old, to_value=new, note=note)
    await tx.execute(
        "UPDATE episodes SET title = ?, description = ?, status = ?, updated_at = ?, "
        "thanked_at = CASE WHEN ? THEN COALESCE(thanked_at, ?) ELSE thanked_at END WHERE id = ?",
        (fields.title, fields.description, fields.status, ts, fields.thanked, ts, episode_id),
    )
    await tx.execute(
        "UPDATE forum_topics SET url = ?, fingerprint = ?, updated_at = ? "
        "WHERE guild_id = ? AND forum = ? AND topic_id = ?",
        (topic.url, topic.fingerprint, ts, topic.guild_id, topic.forum, topic.topic_id),
    )


async def topic_url(db: Database, episode_id: int) -> str | None:
    """The address of the forum topic an episode was imported from."""
    return await db.fetchval("SELECT url FROM forum_topics WHERE episode_id = ?", (episode_id,))


# -- forum names -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForumAuthor:
    id: int
    username: str
    member_id: int | None


async def forum_authors_in(
    tx: Tx, guild_id: int, forum: str, people: Sequence[tuple[str, str | None]], ts: int
) -> dict[str, ForumAuthor]:
    """The forum names (username, display name) of one forum, added when new; by lower-cased username."""
    await tx.executemany(
        "INSERT OR IGNORE INTO forum_authors (guild_id, forum, username, name, created_at) VALUES (?, ?, ?, ?, ?)",
        [(guild_id, forum, username, name, ts) for username, name in people],
    )
    found: dict[str, ForumAuthor] = {}
    names = [username for username, _ in people]
    for part in _chunks(names):
        rows = await tx.fetchall(
            f"SELECT id, username, member_id FROM forum_authors WHERE guild_id = ? AND forum = ? "
            f"AND username IN ({_marks(part)})",
            (guild_id, forum, *part),
        )
        for r in rows:
            found[r[1].lower()] = ForumAuthor(r[0], r[1], r[2])
    return found


async def named(db: Database | Tx, guild_id: int, name: str) -> list[ForumAuthor]:
    """Every forum name of the server spelled `name` (any case), on any forum imported."""
    rows = await db.fetchall(
        "SELECT id, username, member_id FROM forum_authors WHERE guild_id = ? AND username = ? ORDER BY id",
        (guild_id, name.strip()),
    )
    return [ForumAuthor(*r) for r in rows]


async def unlinked(db: Database, guild_id: int) -> list[tuple[str, int]]:
    """Forum names not linked to a member, with their contributions and authorships: most first."""
    rows = await db.fetchall(
        "SELECT MIN(fa.username), "
        "SUM((SELECT COUNT(*) FROM contributions c WHERE c.forum_author_id = fa.id AND c.author_id IS NULL) "
        "  + (SELECT COUNT(*) FROM episode_forum_authors f WHERE f.forum_author_id = fa.id)) AS n "
        "FROM forum_authors fa WHERE fa.guild_id = ? AND fa.member_id IS NULL "
        "GROUP BY fa.username ORDER BY n DESC, MIN(fa.username) COLLATE NOCASE",
        (guild_id,),
    )
    return [(r[0], int(r[1] or 0)) for r in rows]


async def names_starting(db: Database, guild_id: int, prefix: str, limit: int = 25) -> list[str]:
    """Forum names starting with `prefix` (any case): those waiting for a link first."""
    rows = await db.fetchall(
        "SELECT MIN(username) FROM forum_authors WHERE guild_id = ? AND username LIKE ? ESCAPE '\\' "
        "GROUP BY username ORDER BY MIN(member_id IS NOT NULL), username COLLATE NOCASE LIMIT ?",
        (guild_id, _like_prefix(prefix), limit),
    )
    return [r[0] for r in rows]


def _like_prefix(prefix: str) -> str:
    escaped = prefix.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


@dataclass(frozen=True, slots=True)
class Linked:
    """What linking forum names to a member changed."""

    contributions: int
    authorships: int
    episodes: tuple[int, ...]  # every episode whose contributions or authors changed
    jobs: tuple[job_store.NewJob, ...]  # card jobs of those with a forum post


async def link_in(tx: Tx, authors: Sequence[ForumAuthor], member_id: int, actor_id: int, ts: int) -> Linked:
    """Link forum names (not linked yet) to a member: their contributions become the member's and the
    member becomes an author of the episodes the names were authors of, each in the episode's history;
    the card of every episode touched follows (a `card_sync` job)."""
    ids = [a.id for a in authors]
    if not ids:
        return Linked(0, 0, (), ())
    marks = _marks(ids)
    await tx.execute(
        f"UPDATE forum_authors SET member_id = ?, linked_by = ?, linked_at = ? WHERE id IN ({marks}) "
        "AND member_id IS NULL",
        (member_id, actor_id, ts, *ids),
    )
    changed = await tx.fetchall(
        f"UPDATE contributions SET author_id = ? WHERE forum_author_id IN ({marks}) AND author_id IS NULL "
        "RETURNING episode_id",
        (member_id, *ids),
    )
    episodes = {r[0] for r in changed}
    names = {a.id: a.username for a in authors}
    authored = await tx.fetchall(
        f"SELECT episode_id, forum_author_id FROM episode_forum_authors WHERE forum_author_id IN ({marks}) "
        "ORDER BY episode_id",
        ids,
    )
    authorships = 0
    for episode_id, forum_author_id in authored:
        added = await tx.execute(
            "INSERT OR IGNORE INTO episode_authors (episode_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?)",
            (episode_id, member_id, actor_id, ts),
        )
        if added:
            authorships += 1
            episodes.add(episode_id)
            await record_event_in(
                tx, episode_id, "author_added", actor_id, subject_id=member_id,
                note=f"linked from the forum name {names[forum_author_id]}",
            )  # fmt: skip
    jobs = await card_jobs_in(tx, sorted(episodes), ts)
    return Linked(len(changed), authorships, tuple(sorted(episodes)), tuple(jobs))


async def card_jobs_in(tx: Tx, episode_ids: Sequence[int], ts: int) -> list[job_store.NewJob]:
    """`card_sync` jobs for those of the episodes that have a forum post (the others have no card)."""
    jobs = []
    for part in _chunks(list(episode_ids)):
        rows = await tx.fetchall(
            f"SELECT id FROM episodes WHERE id IN ({_marks(part)}) AND thread_id IS NOT NULL", part
        )
        for r in rows:
            job = await card_job_in(tx, r[0], ts)
            if job is not None:
                jobs.append(job)
    return jobs


async def set_episode_authors_in(
    tx: Tx, episode_id: int, authors: Sequence[ForumAuthor], actor_id: int, ts: int
) -> bool:
    """The authors a topic's first post names. Each name is kept with the episode; a name linked to a
    member makes the member an author the first time the topic names it (a member a host removed later
    is not added back by a re-run); names no longer named and not linked are dropped. True when the
    episode's authors changed."""
    keep = [a.id for a in authors if a.member_id is None]
    removed = await tx.execute(
        f"DELETE FROM episode_forum_authors WHERE episode_id = ? AND forum_author_id NOT IN ({_marks(keep)}) "
        "AND forum_author_id IN (SELECT id FROM forum_authors WHERE member_id IS NULL)",
        (episode_id, *keep),
    )
    changed = removed > 0
    for author in authors:
        named_now = await tx.execute(
            "INSERT OR IGNORE INTO episode_forum_authors (episode_id, forum_author_id, added_at) VALUES (?, ?, ?)",
            (episode_id, author.id, ts),
        )
        if not named_now:
            continue
        if author.member_id is None:
            changed = True
            continue
        added = await tx.execute(
            "INSERT OR IGNORE INTO episode_authors (episode_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?)",
            (episode_id, author.member_id, actor_id, ts),
        )
        if added:
            changed = True
            await record_event_in(
                tx, episode_id, "author_added", actor_id, subject_id=author.member_id,
                note=f"named in the forum topic as {author.username}",
            )  # fmt: skip
    return changed


# -- posts -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A forum post imported before and what its contribution holds now (`contribution_id` None: it was
    removed from the research record, and stays out)."""

    post_id: int
    number: int
    contribution_id: int | None
    body: str | None
    attachments: str | None
    jump_url: str | None
    edited_at: int | None
    forum_likes: int | None
    reply_to_id: int | None


async def stored_posts_in(
    tx: Tx, guild_id: int, forum: str, post_ids: Sequence[int]
) -> dict[int, StoredPost]:
    found: dict[int, StoredPost] = {}
    for part in _chunks(list(post_ids)):
        rows = await tx.fetchall(
            "SELECT p.post_id, p.post_number, p.contribution_id, c.body, c.attachments, c.jump_url, c.edited_at, "
            "c.forum_likes, c.reply_to_id FROM forum_posts p LEFT JOIN contributions c ON c.id = p.contribution_id "
            f"WHERE p.guild_id = ? AND p.forum = ? AND p.post_id IN ({_marks(part)})",
            (guild_id, forum, *part),
        )
        for r in rows:
            found[r[0]] = StoredPost(*r)
    return found


async def post_numbers_in(tx: Tx, guild_id: int, forum: str, topic_id: int) -> dict[int, int]:
    """{post number: contribution id} of a topic's imported posts still in the research record."""
    rows = await tx.fetchall(
        "SELECT post_number, contribution_id FROM forum_posts WHERE guild_id = ? AND forum = ? AND topic_id = ? "
        "AND contribution_id IS NOT NULL",
        (guild_id, forum, topic_id),
    )
    return {r[0]: r[1] for r in rows}


@dataclass(frozen=True, slots=True)
class PostRow:
    """A forum post as a contribution, with its key on the forum."""

    post_id: int
    number: int
    author_id: int | None
    forum_author_id: int
    author_name: str
    body: str
    attachments: str  # JSON, as `cogs.research.store` writes it
    links: str  # JSON
    jump_url: str
    created_at: int
    edited_at: int | None
    forum_likes: int


async def add_posts_in(
    tx: Tx, guild_id: int, episode_id: int, forum: str, topic_id: int, rows: Sequence[PostRow], ts: int
) -> list[int]:
    """New contributions for forum posts (origin `forum`), with their keys; their ids, in order.

    The ids are chosen here, under the transaction's write lock, after the highest ever given (the
    table's AUTOINCREMENT counter), so one `executemany` writes them all and no read-back is needed."""
    if not rows:
        return []
    last = await tx.fetchone(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'contributions'), 0), "
        "COALESCE((SELECT MAX(id) FROM contributions), 0))"
    )
    first = int(last[0] if last else 0) + 1
    ids = list(range(first, first + len(rows)))
    await tx.executemany(
        "INSERT INTO contributions (id, guild_id, episode_id, author_id, forum_author_id, author_name, origin, "
        "body, attachments, links, jump_url, created_at, edited_at, forum_likes) "
        "VALUES (?, ?, ?, ?, ?, ?, 'forum', ?, ?, ?, ?, ?, ?, ?)",
        [
            (cid, guild_id, episode_id, r.author_id, r.forum_author_id, r.author_name, r.body, r.attachments,
             r.links, r.jump_url, r.created_at, r.edited_at, r.forum_likes)
            for cid, r in zip(ids, rows, strict=True)
        ],
    )  # fmt: skip
    await tx.executemany(
        "INSERT INTO forum_posts (guild_id, forum, post_id, topic_id, post_number, contribution_id, imported_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(guild_id, forum, r.post_id, topic_id, r.number, cid, ts) for cid, r in zip(ids, rows, strict=True)],
    )
    return ids


async def update_posts_in(tx: Tx, rows: Sequence[tuple[int, PostRow]]) -> None:
    """(contribution id, post) of posts edited or liked on the forum since the last import."""
    await tx.executemany(
        "UPDATE contributions SET body = ?, attachments = ?, links = ?, jump_url = ?, edited_at = ?, "
        "forum_likes = ? WHERE id = ?",
        [(r.body, r.attachments, r.links, r.jump_url, r.edited_at, r.forum_likes, cid) for cid, r in rows],
    )


async def set_replies_in(tx: Tx, replies: Sequence[tuple[int | None, int]]) -> None:
    """(contribution answered or None, contribution id) of imported replies."""
    await tx.executemany("UPDATE contributions SET reply_to_id = ? WHERE id = ?", replies)


# -- the forum post of an imported episode -----------------------------------------------------------------


async def post_job_in(tx: Tx, guild_id: int, episode_id: int, due: float, ts: int) -> job_store.NewJob | None:
    """The job that opens an imported episode's forum post until Discord takes it, unless one is pending."""
    key = post_key(episode_id)
    if await tx.fetchone("SELECT 1 FROM jobs WHERE dedupe_key = ? AND state = 'pending'", (key,)):
        return None
    job = job_store.NewJob(POST_JOB, due, {"episode_id": episode_id}, guild_id, key)
    await job_store.add_in(tx, job, ts)
    return job


async def set_post(
    db: Database, episode_id: int, *, forum_id: int, thread_id: int, starter_message_id: int, intent_id: int
) -> bool:
    """Save the forum post made for an imported episode (and drop the post's intent, see
    `posts_store.add_post_intent`); False when the episode has one already (or is gone)."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM post_intents WHERE id = ?", (intent_id,))
        saved = await tx.execute(
            "UPDATE episodes SET forum_id = ?, thread_id = ?, starter_message_id = ? "
            "WHERE id = ? AND thread_id IS NULL",
            (forum_id, thread_id, starter_message_id, episode_id),
        )
    return saved == 1


def attachments_json(urls: Iterable[str]) -> str:
    """Images of a forum post as `cogs.research.store` keeps attachments."""
    items = [
        {"filename": url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "image", "url": url} for url in urls
    ]
    return json.dumps(items, ensure_ascii=False)
