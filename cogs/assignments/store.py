"""Author requests ("intent to write"): recorded, decided exactly once, and linked to their review message;
authors added with the job that tells them.

Every decision is a conditional UPDATE (`… WHERE id = ? AND status = 'pending'`): whoever changes
the row first wins, every later or concurrent attempt gets None back and changes nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.clock import from_ts, now_ts
from bot.core import jobs as job_store
from bot.core.db import Database, Tx
from bot.errors import Conflict
from cogs.episodes.authors_store import add_author_in
from cogs.episodes.posts_store import NewNote, add_note_in
from cogs.episodes.store import Episode, record_event_in

# Tells a member of a decision on their request (payload `request_id`) or that a host assigned them an
# episode (payload `episode_id`, `user_id`, `assigned_by`): by DM, else a mention in the thread.
TELL_JOB = "request_outcome"
TELL_RETRY_SECONDS = 30.0
REVIEW_JOB = "review_sync"  # brings a request's review message up to date (posts it when missing)
REVIEW_FOLLOW_SECONDS = 60.0  # the click shows the decision at once; this job makes sure of it


def review_key(request_id: int) -> str:
    return f"review:{request_id}"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return self.value.capitalize()


_COLS = (
    "id, guild_id, episode_id, user_id, pitch, status, created_at, decided_by, decided_at, reason, "
    "review_channel_id, review_message_id, told_at, told_by_dm, tell_attempted_at"
)


@dataclass(frozen=True, slots=True)
class AuthorRequest:
    id: int
    guild_id: int
    episode_id: int
    user_id: int
    pitch: str | None
    status: RequestStatus
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    reason: str | None
    review_channel_id: int | None
    review_message_id: int | None
    told_at: datetime | None = None
    told_by_dm: bool | None = None
    tell_attempted_at: datetime | None = None

    @property
    def is_pending(self) -> bool:
        return self.status is RequestStatus.PENDING

    @property
    def review_posted(self) -> bool:
        return self.review_message_id is not None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> AuthorRequest:
        return cls(
            id=row["id"],
            guild_id=row["guild_id"],
            episode_id=row["episode_id"],
            user_id=row["user_id"],
            pitch=row["pitch"],
            status=RequestStatus(row["status"]),
            created_at=from_ts(row["created_at"]),
            decided_by=row["decided_by"],
            decided_at=from_ts(row["decided_at"]),
            reason=row["reason"],
            review_channel_id=row["review_channel_id"],
            review_message_id=row["review_message_id"],
            told_at=from_ts(row["told_at"]),
            told_by_dm=None if row["told_by_dm"] is None else bool(row["told_by_dm"]),
            tell_attempted_at=from_ts(row["tell_attempted_at"]),
        )


async def create(
    db: Database, *, guild_id: int, episode_id: int, user_id: int, pitch: str | None
) -> AuthorRequest:
    """Record a pending request; Conflict when the member already has one pending for the episode."""
    ts = now_ts()
    try:
        async with db.transaction() as tx:
            request_id = int(
                await tx.insert(
                    "INSERT INTO author_requests (guild_id, episode_id, user_id, pitch, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (guild_id, episode_id, user_id, pitch, ts),
                )
                or 0
            )
            await record_event_in(tx, episode_id, "author_requested", user_id, subject_id=user_id)
    except sqlite3.IntegrityError as exc:
        raise Conflict("You already have a pending request to write this episode.") from exc
    created = await get(db, request_id)
    assert created is not None
    return created


async def get(db: Database, request_id: int, guild_id: int | None = None) -> AuthorRequest | None:
    """One request; with `guild_id`, only when it belongs to that server."""
    if guild_id is None:
        row = await db.fetchone(f"SELECT {_COLS} FROM author_requests WHERE id = ?", (request_id,))
    else:
        row = await db.fetchone(
            f"SELECT {_COLS} FROM author_requests WHERE id = ? AND guild_id = ?", (request_id, guild_id)
        )
    return AuthorRequest.from_row(row) if row else None


async def pending_for(db: Database, episode_id: int, user_id: int) -> AuthorRequest | None:
    row = await db.fetchone(
        f"SELECT {_COLS} FROM author_requests WHERE episode_id = ? AND user_id = ? AND status = 'pending'",
        (episode_id, user_id),
    )
    return AuthorRequest.from_row(row) if row else None


def _pending_where(guild_id: int, episode_id: int | None) -> tuple[str, tuple[int, ...]]:
    if episode_id is None:
        return "guild_id = ? AND status = 'pending'", (guild_id,)
    return "guild_id = ? AND episode_id = ? AND status = 'pending'", (guild_id, episode_id)


async def list_pending(
    db: Database, guild_id: int, episode_id: int | None = None, *, offset: int = 0, limit: int = -1
) -> list[AuthorRequest]:
    """Pending requests of a server (optionally of one episode), oldest first; a page of them with
    `offset` and `limit`."""
    where, params = _pending_where(guild_id, episode_id)
    rows = await db.fetchall(
        f"SELECT {_COLS} FROM author_requests WHERE {where} ORDER BY created_at, id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [AuthorRequest.from_row(r) for r in rows]


async def count_pending(db: Database, guild_id: int, episode_id: int | None = None) -> int:
    where, params = _pending_where(guild_id, episode_id)
    return int(await db.fetchval(f"SELECT COUNT(*) FROM author_requests WHERE {where}", params))


async def pending_not_in(db: Database, guild_id: int, channel_id: int) -> list[AuthorRequest]:
    """Pending requests of a server whose review message is not in `channel_id` (never posted, or
    posted in another channel), oldest first."""
    rows = await db.fetchall(
        f"SELECT {_COLS} FROM author_requests WHERE guild_id = ? AND status = 'pending' "
        "AND (review_message_id IS NULL OR review_channel_id IS NOT ?) ORDER BY created_at, id",
        (guild_id, channel_id),
    )
    return [AuthorRequest.from_row(r) for r in rows]


async def pending_with_review_message(
    db: Database, channel_id: int, message_ids: set[int]
) -> list[AuthorRequest]:
    """Pending requests whose review message is one of `message_ids` in `channel_id`."""
    if not message_ids:
        return []
    marks = ", ".join("?" * len(message_ids))
    rows = await db.fetchall(
        f"SELECT {_COLS} FROM author_requests WHERE status = 'pending' AND review_channel_id = ? "
        f"AND review_message_id IN ({marks}) ORDER BY id",
        (channel_id, *sorted(message_ids)),
    )
    return [AuthorRequest.from_row(r) for r in rows]


async def set_review_message(db: Database, request_id: int, channel_id: int, message_id: int) -> None:
    await db.execute(
        "UPDATE author_requests SET review_channel_id = ?, review_message_id = ? WHERE id = ?",
        (channel_id, message_id, request_id),
    )


async def _decide(
    tx: Tx,
    request_id: int,
    status: RequestStatus,
    decided_by: int,
    reason: str | None,
    ts: int,
    *,
    tell: bool = True,
) -> sqlite3.Row | None:
    """The conditional UPDATE every decision goes through; the row when this call won, else None.
    With `tell`, a job that tells the member of a host's decision is stored with it."""
    decided = await tx.execute(
        "UPDATE author_requests SET status = ?, decided_by = ?, decided_at = ?, reason = ? "
        "WHERE id = ? AND status = 'pending'",
        (status.value, decided_by, ts, reason, request_id),
    )
    if decided != 1:
        return None
    row = await tx.fetchone(
        "SELECT guild_id, review_message_id FROM author_requests WHERE id = ?", (request_id,)
    )
    if tell and status is not RequestStatus.WITHDRAWN:  # the member is told, even if the bot stops now
        job = job_store.NewJob(
            TELL_JOB, ts + TELL_RETRY_SECONDS, {"request_id": request_id}, row[0], f"tell:{request_id}"
        )
        await job_store.add_in(tx, job, ts)
    key = review_key(request_id)
    if row[1] is not None and not await tx.fetchone(
        "SELECT 1 FROM jobs WHERE dedupe_key = ? AND state = 'pending'", (key,)
    ):  # the review message shows the decision, even if the bot stops right now
        job = job_store.NewJob(
            REVIEW_JOB, ts + REVIEW_FOLLOW_SECONDS, {"request_id": request_id}, row[0], key
        )
        await job_store.add_in(tx, job, ts)
    return await tx.fetchone(f"SELECT {_COLS} FROM author_requests WHERE id = ?", (request_id,))


async def approve(db: Database, request_id: int, decided_by: int) -> AuthorRequest | None:
    """Approve and add the member as an author, in one transaction. None when it was already decided."""
    ts = now_ts()
    async with db.transaction() as tx:
        row = await _decide(tx, request_id, RequestStatus.APPROVED, decided_by, None, ts)
        if row is None:
            return None
        request = AuthorRequest.from_row(row)
        await add_author_in(
            tx, request.episode_id, request.user_id, decided_by, note=f"request #{request.id} approved"
        )
    return request


async def decline(db: Database, request_id: int, decided_by: int, reason: str | None) -> AuthorRequest | None:
    """Decline with an optional reason. None when it was already decided."""
    async with db.transaction() as tx:
        row = await _decide(tx, request_id, RequestStatus.DECLINED, decided_by, reason, now_ts())
        if row is None:
            return None
        request = AuthorRequest.from_row(row)
        await record_event_in(
            tx,
            request.episode_id,
            "author_request_declined",
            decided_by,
            subject_id=request.user_id,
            note=reason,
        )
    return request


async def withdraw(db: Database, request_id: int, user_id: int) -> AuthorRequest | None:
    """The member takes back their own pending request. None when it was already decided (or not theirs)."""
    async with db.transaction() as tx:
        owner = await tx.fetchone("SELECT user_id FROM author_requests WHERE id = ?", (request_id,))
        if owner is None or owner[0] != user_id:
            return None
        row = await _decide(tx, request_id, RequestStatus.WITHDRAWN, user_id, None, now_ts())
        if row is None:
            return None
        request = AuthorRequest.from_row(row)
        await record_event_in(tx, request.episode_id, "author_request_withdrawn", user_id, subject_id=user_id)
    return request


@dataclass(frozen=True, slots=True)
class Added:
    """A member just made an author (`add_author`)."""

    settled: AuthorRequest | None  # their pending request, now counted as approved
    tell: (
        tuple[int, job_store.NewJob] | None
    )  # the job that tells them (its id), when someone else added them
    cancelled: list[float]  # due times of an earlier telling of theirs for the episode, replaced


def tell_assigned_key(episode_id: int, user_id: int) -> str:
    """The dedupe key of the job telling a member they were assigned an episode (it ends with `:` so
    that, as a prefix, it matches no other member's)."""
    return f"tell-assign:{episode_id}:{user_id}:"


async def add_author(
    db: Database, episode: Episode, user_id: int, actor_id: int, *, tell: dict[str, object] | None = None
) -> Added | None:
    """Make a member an author, settle their pending request (approved by `actor_id`: no message of its
    own) and, with `tell` (the job's payload), keep the job that tells them, in one transaction: the
    member is told even if the bot stops right after. None when they already were an author."""
    ts = now_ts()
    async with db.transaction() as tx:
        if not await add_author_in(tx, episode.id, user_id, actor_id):
            return None
        settled = await _settle_in(tx, episode.id, user_id, actor_id, ts)
        if tell is None:
            return Added(settled, None, [])
        key = tell_assigned_key(episode.id, user_id)
        job = job_store.NewJob(TELL_JOB, ts + TELL_RETRY_SECONDS, tell, episode.guild_id, key)
        # Assigned, removed and assigned again before they were told: one telling, the latest.
        cancelled = await job_store.replace_group_in(tx, key, [], ts)
        return Added(settled, (await job_store.add_in(tx, job, ts), job), cancelled)


async def settle_for_author(
    db: Database, episode_id: int, user_id: int, decided_by: int
) -> AuthorRequest | None:
    """The member became an author another way (claim/assign): their pending request counts as approved."""
    async with db.transaction() as tx:
        return await _settle_in(tx, episode_id, user_id, decided_by, now_ts())


async def _settle_in(tx: Tx, episode_id: int, user_id: int, decided_by: int, ts: int) -> AuthorRequest | None:
    found = await tx.fetchone(
        "SELECT id FROM author_requests WHERE episode_id = ? AND user_id = ? AND status = 'pending'",
        (episode_id, user_id),
    )
    if found is None:
        return None
    # No message of its own: the member hears of the assignment (or sees their claim in the thread).
    row = await _decide(tx, found[0], RequestStatus.APPROVED, decided_by, None, ts, tell=False)
    return AuthorRequest.from_row(row) if row else None


async def tell_attempted(db: Database, request_id: int) -> None:
    """Mark that a DM telling the member is about to be sent (its outcome may get lost)."""
    await db.execute(
        "UPDATE author_requests SET tell_attempted_at = COALESCE(tell_attempted_at, ?) WHERE id = ?",
        (now_ts(), request_id),
    )


async def told(db: Database, request_id: int, *, by_dm: bool) -> bool:
    """Record that the member was told; False when that was recorded already."""
    changed = await db.execute(
        "UPDATE author_requests SET told_at = ?, told_by_dm = ? WHERE id = ? AND told_at IS NULL",
        (now_ts(), int(by_dm), request_id),
    )
    return changed == 1


async def told_in_thread(
    db: Database, request_id: int, episode: Episode, note: NewNote, *, by_dm: bool
) -> tuple[int, job_store.NewJob] | None:
    """Record that the member was told and keep the note that says so in the thread, in one
    transaction (a retry never adds the note twice); (note id, its job), or None when already told."""
    ts = now_ts()
    async with db.transaction() as tx:
        told = await tx.execute(
            "UPDATE author_requests SET told_at = ?, told_by_dm = ? WHERE id = ? AND told_at IS NULL",
            (ts, int(by_dm), request_id),
        )
        if told != 1:
            return None
        return await add_note_in(tx, episode, note, ts)


# -- telling a member they were assigned (a TELL_JOB job whose payload names no request) -------------------

_JOB_COLS = "id, guild_id, kind, due_at, payload, dedupe_key, attempts, created_at"


async def pending_tell(db: Database, job_id: int) -> job_store.Job | None:
    """The telling job `job_id` while it is still to be done (None once the member was told)."""
    row = await db.fetchone(f"SELECT {_JOB_COLS} FROM jobs WHERE id = ? AND state = 'pending'", (job_id,))
    return job_store.Job.from_row(row) if row else None


async def told_of_assignment(
    db: Database, job_id: int, episode: Episode, note: NewNote | None
) -> tuple[int, job_store.NewJob] | None:
    """Finish the telling job `job_id` and keep `note` for the episode's thread, in one transaction (a
    retry never tells twice); (note id, its job), or None when there is no note or it was told already."""
    ts = now_ts()
    async with db.transaction() as tx:
        finished = await tx.execute(
            "UPDATE jobs SET state = 'done', finished_at = ?, attempts = attempts + 1 "
            "WHERE id = ? AND state = 'pending'",
            (ts, job_id),
        )
        if finished != 1 or note is None:
            return None
        return await add_note_in(tx, episode, note, ts)
