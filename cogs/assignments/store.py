"""Author requests ("intent to write"): recorded, decided exactly once, and linked to their review message;
authors added with the job that tells them.

Every decision is a conditional UPDATE (`… WHERE id = ? AND status = 'pending'`): whoever changes
the row first wins, every later or concurrent attempt gets None back and changes nothing.

Each command's change is one transaction whose statements read back what they changed (RETURNING),
and what a command reads first comes in one query (a request with its episode, a page with its total).
"""

# Over 400 lines: every decision, settlement and telling goes through the one conditional UPDATE
# (`_decide`) and the jobs it keeps, so they stay in the module that holds it.

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.clock import from_ts, now_ts
from bot.core import jobs as job_store
from bot.core.db import Database, Tx
from bot.errors import Conflict
from cogs.episodes.authors_store import AUTHOR_INSERT, add_author_in
from cogs.episodes.posts_store import (
    Announced,
    NewNote,
    add_jobs_unless_pending_in,
    add_note_in,
    announce_in,
    card_job,
)
from cogs.episodes.store import Episode, episode_cols, record_event_in

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
            rows = await tx.fetchall(
                "INSERT INTO author_requests (guild_id, episode_id, user_id, pitch, created_at) "
                f"VALUES (?, ?, ?, ?, ?) RETURNING {_COLS}",
                (guild_id, episode_id, user_id, pitch, ts),
            )
            await record_event_in(tx, episode_id, "author_requested", user_id, subject_id=user_id)
    except sqlite3.IntegrityError as exc:
        raise Conflict("You already have a pending request to write this episode.") from exc
    return AuthorRequest.from_row(rows[0])


async def get(db: Database, request_id: int, guild_id: int | None = None) -> AuthorRequest | None:
    """One request; with `guild_id`, only when it belongs to that server."""
    if guild_id is None:
        row = await db.fetchone(f"SELECT {_COLS} FROM author_requests WHERE id = ?", (request_id,))
    else:
        row = await db.fetchone(
            f"SELECT {_COLS} FROM author_requests WHERE id = ? AND guild_id = ?", (request_id, guild_id)
        )
    return AuthorRequest.from_row(row) if row else None


_REQUEST_COLS = ", ".join(f"r.{c.strip()}" for c in _COLS.split(","))
_EPISODE_COLS = episode_cols("e", "e_")
_JOIN_EPISODE = "FROM author_requests r LEFT JOIN episodes e ON e.id = r.episode_id "
_WITH_EPISODE = f"SELECT {_REQUEST_COLS}, {_EPISODE_COLS} {_JOIN_EPISODE}"


def _with_episode(row: sqlite3.Row) -> tuple[AuthorRequest, Episode | None]:
    return AuthorRequest.from_row(row), (Episode.from_row(row, "e_") if row["e_id"] is not None else None)


async def get_with_episode(
    db: Database, request_id: int, guild_id: int | None = None
) -> tuple[AuthorRequest | None, Episode | None]:
    """`get` and the request's episode, read together (None for what is gone)."""
    if guild_id is None:
        row = await db.fetchone(_WITH_EPISODE + "WHERE r.id = ?", (request_id,))
    else:
        row = await db.fetchone(_WITH_EPISODE + "WHERE r.id = ? AND r.guild_id = ?", (request_id, guild_id))
    return _with_episode(row) if row else (None, None)


async def volunteer_state(db: Database, episode_id: int, user_id: int) -> tuple[bool, AuthorRequest | None]:
    """Whether the member is an author of the episode, and their pending request for it, in one read."""
    row = await db.fetchone(
        "SELECT EXISTS (SELECT 1 FROM episode_authors WHERE episode_id = ? AND user_id = ?) AS is_author, "
        f"{_REQUEST_COLS} FROM (SELECT 1) LEFT JOIN author_requests r "
        "ON r.episode_id = ? AND r.user_id = ? AND r.status = 'pending'",
        (episode_id, user_id, episode_id, user_id),
    )
    assert row is not None
    return bool(row["is_author"]), (AuthorRequest.from_row(row) if row["id"] is not None else None)


async def pending_for(db: Database, episode_id: int, user_id: int) -> AuthorRequest | None:
    row = await db.fetchone(
        f"SELECT {_COLS} FROM author_requests WHERE episode_id = ? AND user_id = ? AND status = 'pending'",
        (episode_id, user_id),
    )
    return AuthorRequest.from_row(row) if row else None


def _pending_where(guild_id: int, episode_id: int | None, r: str = "") -> tuple[str, tuple[int, ...]]:
    """The condition of the pending requests of a server (or of one episode); `r` prefixes the columns."""
    if episode_id is None:
        return f"{r}guild_id = ? AND {r}status = 'pending'", (guild_id,)
    return f"{r}guild_id = ? AND {r}episode_id = ? AND {r}status = 'pending'", (guild_id, episode_id)


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


async def pending_page(
    db: Database, guild_id: int, episode_id: int | None, *, offset: int, limit: int
) -> tuple[int, list[tuple[AuthorRequest, Episode | None]]]:
    """One page of the pending requests (optionally of one episode), oldest first, each with its
    episode (None when it is gone), and how many are pending in all: one query."""
    where, params = _pending_where(guild_id, episode_id, "r.")
    rows = await db.fetchall(
        f"SELECT {_REQUEST_COLS}, {_EPISODE_COLS}, COUNT(*) OVER () AS total {_JOIN_EPISODE}"
        f"WHERE {where} ORDER BY r.created_at, r.id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    if not rows and offset:
        return await count_pending(db, guild_id, episode_id), []
    return (rows[0]["total"] if rows else 0), [_with_episode(r) for r in rows]


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


# Which pending request a decision takes: by id; by id when it is the member's own; a member's for an episode.
_BY_ID = "id = ?"
_BY_ID_OF_MEMBER = "id = ? AND user_id = ?"
_BY_EPISODE_AND_MEMBER = "episode_id = ? AND user_id = ?"


async def _decide(
    tx: Tx,
    which: str,
    params: tuple[int, ...],
    status: RequestStatus,
    decided_by: int,
    reason: str | None,
    ts: int,
    *,
    tell: bool = True,
) -> tuple[AuthorRequest, list[job_store.NewJob]] | None:
    """The conditional UPDATE every decision goes through (one statement, which reads the request back):
    the request when this call won, else None; with the jobs to add in the same transaction (the
    caller adds them, with its own, in one statement): with `tell`, one that tells the member of a
    host's decision, and one that brings the review message up to date when there is one."""
    rows = await tx.fetchall(
        "UPDATE author_requests SET status = ?, decided_by = ?, decided_at = ?, reason = ? "
        f"WHERE {which} AND status = 'pending' RETURNING {_COLS}",
        (status.value, decided_by, ts, reason, *params),
    )
    if not rows:
        return None
    request = AuthorRequest.from_row(rows[0])
    jobs = []
    payload = {"request_id": request.id}
    if tell and status is not RequestStatus.WITHDRAWN:  # the member is told, even if the bot stops now
        jobs.append(
            job_store.NewJob(
                TELL_JOB, ts + TELL_RETRY_SECONDS, payload, request.guild_id, f"tell:{request.id}"
            )
        )
    if request.review_message_id is not None:  # the review message shows the decision, even after a stop
        jobs.append(
            job_store.NewJob(
                REVIEW_JOB, ts + REVIEW_FOLLOW_SECONDS, payload, request.guild_id, review_key(request.id)
            )
        )
    return request, jobs


async def approve(db: Database, request_id: int, decided_by: int) -> AuthorRequest | None:
    """Approve and add the member as an author, in one transaction. None when it was already decided."""
    ts = now_ts()

    async def approve_in(tx: Tx) -> AuthorRequest | None:
        decided = await _decide(tx, _BY_ID, (request_id,), RequestStatus.APPROVED, decided_by, None, ts)
        if decided is None:
            return None
        request, jobs = decided
        note = f"request #{request.id} approved"
        if await add_author_in(tx, request.episode_id, request.user_id, decided_by, note=note, card=False):
            jobs.append(card_job(request.episode_id, request.guild_id, ts))
        await add_jobs_unless_pending_in(tx, jobs, ts)
        return request

    return await db.run_transaction(approve_in)


async def decline(db: Database, request_id: int, decided_by: int, reason: str | None) -> AuthorRequest | None:
    """Decline with an optional reason. None when it was already decided."""
    ts = now_ts()

    async def decline_in(tx: Tx) -> AuthorRequest | None:
        decided = await _decide(tx, _BY_ID, (request_id,), RequestStatus.DECLINED, decided_by, reason, ts)
        if decided is None:
            return None
        request, jobs = decided
        await record_event_in(
            tx,
            request.episode_id,
            "author_request_declined",
            decided_by,
            subject_id=request.user_id,
            note=reason,
        )
        await add_jobs_unless_pending_in(tx, jobs, ts)
        return request

    return await db.run_transaction(decline_in)


async def withdraw(db: Database, request_id: int, user_id: int) -> AuthorRequest | None:
    """The member takes back their own pending request. None when it was already decided (or not theirs)."""
    withdrawn = await withdraw_announced(db, request_id, user_id, None)
    return None if withdrawn is None else withdrawn[0]


async def withdraw_announced(
    db: Database, request_id: int, user_id: int, note: NewNote | None
) -> tuple[AuthorRequest, Announced] | None:
    """`withdraw`, keeping `note` for the episode's thread in the same transaction; the request and
    what was kept for Discord, or None when it was already decided (or not theirs)."""
    ts = now_ts()

    async def withdraw_in(tx: Tx) -> tuple[AuthorRequest, Announced] | None:
        decided = await _decide(
            tx, _BY_ID_OF_MEMBER, (request_id, user_id), RequestStatus.WITHDRAWN, user_id, None, ts
        )
        if decided is None:
            return None
        request, jobs = decided
        await record_event_in(tx, request.episode_id, "author_request_withdrawn", user_id, subject_id=user_id)
        return request, await announce_in(tx, request.episode_id, request.guild_id, note, ts, jobs)

    return await db.run_transaction(withdraw_in)


@dataclass(frozen=True, slots=True)
class Added:
    """A member just made an author (`add_author`)."""

    settled: AuthorRequest | None  # their pending request, now counted as approved
    tell: (
        tuple[int, job_store.NewJob] | None
    )  # the job that tells them (its id), when someone else added them
    cancelled: list[float]  # due times of an earlier telling of theirs for the episode, replaced
    note_id: int | None = None  # the note for the episode's thread kept with it, when one was given
    jobs: list[job_store.NewJob] = field(default_factory=list)  # every job added (for the scheduler)


def tell_assigned_key(episode_id: int, user_id: int) -> str:
    """The dedupe key of the job telling a member they were assigned an episode (it ends with `:` so
    that, as a prefix, it matches no other member's)."""
    return f"tell-assign:{episode_id}:{user_id}:"


async def add_author(
    db: Database,
    episode: Episode,
    user_id: int,
    actor_id: int,
    *,
    tell: dict[str, object] | None = None,
    note: NewNote | None = None,
) -> Added | None:
    """Make a member an author, settle their pending request (approved by `actor_id`: no message of its
    own), keep a card job, `note` for the episode's thread and, with `tell` (the job's payload), the job
    that tells them, in one transaction: the member is told even if the bot stops right after. None
    when they already were an author.

    Four statements in the usual case (no pending request, no telling): the author added (which also
    finds a pending request of theirs), its history, the note, and every job in one; one trip to the
    database thread."""
    ts = now_ts()

    async def add(tx: Tx) -> Added | None:
        added = await tx.fetchall(
            AUTHOR_INSERT + " RETURNING (SELECT id FROM author_requests "
            "WHERE episode_id = ? AND user_id = ? AND status = 'pending')",
            (episode.id, user_id, actor_id, ts, episode.id, user_id),
        )
        if not added:
            return None
        await record_event_in(tx, episode.id, "author_added", actor_id, subject_id=user_id)
        settled, jobs = None, [card_job(episode.id, episode.guild_id, ts)]
        if added[0][0] is not None:
            decided = await _settle_in(tx, episode.id, user_id, actor_id, ts)
            if decided is not None:
                settled, review_jobs = decided
                jobs += review_jobs
        tell_job, cancelled = None, []
        if tell is not None:
            key = tell_assigned_key(episode.id, user_id)
            tell_job = job_store.NewJob(TELL_JOB, ts + TELL_RETRY_SECONDS, tell, episode.guild_id, key)
            # Assigned, removed and assigned again before they were told: one telling, the latest.
            cancelled = await job_store.replace_group_in(tx, key, [], ts)
            jobs.append(tell_job)
        kept = await announce_in(tx, episode.id, episode.guild_id, note, ts, jobs)
        told = None if tell_job is None else (kept.job_id(tell_job.dedupe_key or "") or 0, tell_job)
        return Added(settled, told, cancelled, kept.note_id, kept.jobs)

    return await db.run_transaction(add)


async def settle_for_author(
    db: Database, episode_id: int, user_id: int, decided_by: int
) -> AuthorRequest | None:
    """The member became an author another way (claim/assign): their pending request counts as approved."""
    ts = now_ts()
    async with db.transaction() as tx:
        decided = await _settle_in(tx, episode_id, user_id, decided_by, ts)
        if decided is None:
            return None
        request, jobs = decided
        await add_jobs_unless_pending_in(tx, jobs, ts)
    return request


async def _settle_in(
    tx: Tx, episode_id: int, user_id: int, decided_by: int, ts: int
) -> tuple[AuthorRequest, list[job_store.NewJob]] | None:
    # No message of its own: the member hears of the assignment (or sees their claim in the thread).
    return await _decide(
        tx,
        _BY_EPISODE_AND_MEMBER,
        (episode_id, user_id),
        RequestStatus.APPROVED,
        decided_by,
        None,
        ts,
        tell=False,
    )


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
