"""Personal reminders and members' time zones."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_ts, now_ts
from bot.core import jobs as job_store
from bot.core.cache import CacheSlot
from bot.core.db import Database, Tx

_REMINDER_COLS = (
    "id, guild_id, user_id, channel_id, text, due_at, private, job_id, state, created_at, "
    "delivered_at, delivered_channel_id, message_id, snoozes"
)
PENDING, DELIVERED, CANCELLED, FAILED = "pending", "delivered", "cancelled", "failed"


@dataclass(frozen=True, slots=True)
class Reminder:
    id: int
    guild_id: int
    user_id: int
    channel_id: int
    text: str
    due_at: datetime
    private: bool
    job_id: int | None
    state: str
    created_at: datetime
    delivered_at: datetime | None
    delivered_channel_id: int | None
    message_id: int | None
    snoozes: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Reminder:
        return cls(
            id=row["id"],
            guild_id=row["guild_id"],
            user_id=row["user_id"],
            channel_id=row["channel_id"],
            text=row["text"],
            due_at=from_ts(row["due_at"]),
            private=bool(row["private"]),
            job_id=row["job_id"],
            state=row["state"],
            created_at=from_ts(row["created_at"]),
            delivered_at=from_ts(row["delivered_at"]),
            delivered_channel_id=row["delivered_channel_id"],
            message_id=row["message_id"],
            snoozes=row["snoozes"],
        )

    @property
    def pending(self) -> bool:
        return self.state == PENDING


# -- personal reminders --------------------------------------------------------------------------------


_INSERT_REMINDER = "INSERT INTO reminders (guild_id, user_id, channel_id, text, due_at, private, created_at) "


# Each member's (guild id, user id) pending reminders, as `/remind list` shows them and `/remind cancel`
# suggests them on every keystroke. Every function below that writes reminders forgets the member's entry
# (or, for the scheduler's batch updates, every entry) after its write (see bot.core.cache).
_PENDING: CacheSlot[tuple[int, int], list[Reminder]] = CacheSlot("pending_reminders")


def _forget_pending(db: Database, member: tuple[int, int] | None = None) -> None:
    """After a write: forget one member's (guild id, user id) pending reminders, or everyone's."""
    if member is None:
        _PENDING.on(db).clear()
    else:
        _PENDING.on(db).drop(member)


async def create(
    db: Database, *, guild_id: int, user_id: int, channel_id: int, text: str, due_at: int, private: bool
) -> Reminder:
    rid = await db.insert(
        _INSERT_REMINDER + "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (guild_id, user_id, channel_id, text, due_at, int(private), now_ts()),
    )
    _forget_pending(db, (guild_id, user_id))
    reminder = await get(db, int(rid or 0))
    assert reminder is not None
    return reminder


async def create_scheduled(
    db: Database,
    *,
    guild_id: int,
    user_id: int,
    channel_id: int,
    text: str,
    due_at: int,
    private: bool,
    job_kind: str,
    max_pending: int | None = None,
) -> tuple[Reminder, job_store.NewJob] | None:
    """A reminder and its delivery job, in one transaction: a reminder is never stored without one.

    With `max_pending`: None, and nothing stored, when the member already has that many pending (checked
    inside the transaction, so two reminders set at once cannot pass the limit together)."""
    created = now_ts()
    limit = -1 if max_pending is None else max_pending
    async with db.transaction() as tx:
        rid = await tx.insert(
            _INSERT_REMINDER + "SELECT ?, ?, ?, ?, ?, ?, ? WHERE ? < 0 OR (SELECT COUNT(*) FROM reminders "
            "WHERE guild_id = ? AND user_id = ? AND state = 'pending') < ?",
            (
                guild_id,
                user_id,
                channel_id,
                text,
                due_at,
                int(private),
                created,
                limit,
                guild_id,
                user_id,
                limit,
            ),
        )
        if rid is None:  # the member has `max_pending` already
            return None
        job = job_store.NewJob(job_kind, float(due_at), {"reminder_id": rid}, guild_id, job_key(rid, due_at))
        job_id = await job_store.add_in(tx, job, created)
        row = await tx.fetchone(
            f"UPDATE reminders SET job_id = ? WHERE id = ? RETURNING {_REMINDER_COLS}", (job_id, rid)
        )
    _forget_pending(db, (guild_id, user_id))
    assert row is not None
    return Reminder.from_row(row), job


@dataclass(frozen=True, slots=True)
class NewReminder:
    guild_id: int
    user_id: int
    channel_id: int
    text: str
    due_at: int
    private: bool = False


async def create_many(db: Database, rows: list[NewReminder]) -> list[Reminder]:
    """Bulk insert (for seeding benchmarks); the caller schedules their jobs."""
    created = now_ts()
    async with db.transaction() as tx:
        first = await tx.fetchone("SELECT COALESCE(MAX(id), 0) FROM reminders")
        await tx.executemany(
            _INSERT_REMINDER + "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(r.guild_id, r.user_id, r.channel_id, r.text, r.due_at, int(r.private), created) for r in rows],
        )
        found = await tx.fetchall(
            f"SELECT {_REMINDER_COLS} FROM reminders WHERE id > ? ORDER BY id", (first[0],)
        )
    _forget_pending(db)
    return [Reminder.from_row(r) for r in found]


async def set_job(db: Database, reminder_id: int, job_id: int) -> None:
    await db.execute("UPDATE reminders SET job_id = ? WHERE id = ?", (job_id, reminder_id))
    _forget_pending(db)


async def get(db: Database, reminder_id: int) -> Reminder | None:
    row = await db.fetchone(f"SELECT {_REMINDER_COLS} FROM reminders WHERE id = ?", (reminder_id,))
    return Reminder.from_row(row) if row else None


async def get_many(db: Database, ids: Iterable[int]) -> dict[int, Reminder]:
    ids = list(dict.fromkeys(ids))
    found: dict[int, Reminder] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        rows = await db.fetchall(
            f"SELECT {_REMINDER_COLS} FROM reminders WHERE id IN ({', '.join('?' for _ in part)})", part
        )
        found.update((r["id"], Reminder.from_row(r)) for r in rows)
    return found


async def count_pending(db: Database, guild_id: int, user_id: int) -> int:
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM reminders WHERE guild_id = ? AND user_id = ? AND state = 'pending'",
            (guild_id, user_id),
        )
    )


PENDING_LIST_LIMIT = 100


async def pending_for(
    db: Database, guild_id: int, user_id: int, limit: int = PENDING_LIST_LIMIT
) -> list[Reminder]:
    """A member's pending reminders, soonest first (the default-sized list is cached)."""
    key = (guild_id, user_id)
    cached = _PENDING.on(db).get(key) if limit == PENDING_LIST_LIMIT else None
    if cached is not None:
        return list(cached)
    rows = await db.fetchall(
        f"SELECT {_REMINDER_COLS} FROM reminders WHERE guild_id = ? AND user_id = ? AND state = 'pending' "
        "ORDER BY due_at, id LIMIT ?",
        (guild_id, user_id, limit),
    )
    found = [Reminder.from_row(r) for r in rows]
    if limit == PENDING_LIST_LIMIT:
        _PENDING.on(db).put(key, found)
    return list(found)


async def cancel(db: Database, reminder_id: int) -> bool:
    """Pending → cancelled; False when it was not pending."""
    async with db.transaction() as tx:
        changed = await tx.fetchall(
            "UPDATE reminders SET state = 'cancelled' WHERE id = ? AND state = 'pending' RETURNING guild_id, user_id",
            (reminder_id,),
        )
    for guild_id, user_id in changed:
        _forget_pending(db, (guild_id, user_id))
    return bool(changed)


async def mark_delivered(db: Database, ids: list[int], *, channel_id: int, message_id: int) -> None:
    """Record that Discord accepted the message carrying these reminders."""
    async with db.transaction() as tx:
        await mark_delivered_in(tx, ids, channel_id=channel_id, message_id=message_id, at=now_ts())
    _forget_pending(db)


async def mark_delivered_in(tx: Tx, ids: list[int], *, channel_id: int, message_id: int, at: float) -> None:
    """In the transaction that records the send (see `bot.core.outbox`): these reminders are delivered.
    Call `forget_pending` once it committed."""
    await tx.executemany(
        "UPDATE reminders SET state = 'delivered', delivered_at = ?, delivered_channel_id = ?, "
        "message_id = ? WHERE id = ? AND state = 'pending'",
        [(at, channel_id, message_id, rid) for rid in ids],
    )


def forget_pending(db: Database) -> None:
    """After reminders were written outside this module's functions: forget every cached list."""
    _forget_pending(db)


async def mark_failed(db: Database, ids: list[int]) -> None:
    await db.executemany(
        "UPDATE reminders SET state = 'failed' WHERE id = ? AND state = 'pending'", [(i,) for i in ids]
    )
    _forget_pending(db)


async def snooze_scheduled(
    db: Database, ids: list[int], due_at: int, job_kind: str
) -> tuple[list[Reminder], list[job_store.NewJob]]:
    """Delivered → pending again at `due_at`, each with its new delivery job, in one transaction.
    Only reminders still delivered change (a concurrent snooze that got there first wins); returns
    those, and their jobs."""
    snoozed: list[Reminder] = []
    jobs: list[job_store.NewJob] = []
    created = now_ts()
    async with db.transaction() as tx:
        for rid in ids:
            changed = await tx.fetchone(
                "UPDATE reminders SET state = 'pending', due_at = ?, job_id = NULL, snoozes = snoozes + 1 "
                "WHERE id = ? AND state = 'delivered' RETURNING guild_id",
                (due_at, rid),
            )
            if changed is None:
                continue
            job = job_store.NewJob(
                job_kind, float(due_at), {"reminder_id": rid}, changed[0], job_key(rid, due_at)
            )
            job_id = await job_store.add_in(tx, job, created)
            row = await tx.fetchone(
                f"UPDATE reminders SET job_id = ? WHERE id = ? RETURNING {_REMINDER_COLS}", (job_id, rid)
            )
            assert row is not None
            snoozed.append(Reminder.from_row(row))
            jobs.append(job)
    if snoozed:
        _forget_pending(db)
    return snoozed, jobs


async def in_message(db: Database, message_id: int) -> list[Reminder]:
    rows = await db.fetchall(
        f"SELECT {_REMINDER_COLS} FROM reminders WHERE message_id = ? ORDER BY id", (message_id,)
    )
    return [Reminder.from_row(r) for r in rows]


async def without_job(db: Database) -> list[Reminder]:
    """Pending reminders that have no pending job (a crash between saving and scheduling).

    A reminder's job carries the dedupe key `reminder:<id>:<due_at>` (see `job_key`)."""
    rows = await db.fetchall(
        f"SELECT {', '.join('r.' + c.strip() for c in _REMINDER_COLS.split(','))} FROM reminders r "
        "WHERE r.state = 'pending' AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.state = 'pending' "
        "AND j.dedupe_key = 'reminder:' || r.id || ':' || r.due_at)"
    )
    return [Reminder.from_row(r) for r in rows]


def job_key(reminder_id: int, due_at: int) -> str:
    """The dedupe key of a reminder's delivery job: one pending job per reminder and due time."""
    return f"reminder:{reminder_id}:{due_at}"


# -- members' time zones ---------------------------------------------------------------------------------


# Members' zones (user id → zone, per server) are read by every command that reads a time and written
# only by `set_timezone`. A server's are loaded once, all together (only members who chose a zone have a
# row), and kept in memory per connection; `set_timezone` updates them after its write (bot.core.cache).
_ZONES: CacheSlot[int, dict[int, str]] = CacheSlot("member_timezones")


async def get_timezone(db: Database, guild_id: int, user_id: int) -> str | None:
    zones = _ZONES.on(db).get(guild_id)
    if zones is None:
        rows = await db.fetchall("SELECT user_id, tz FROM member_timezones WHERE guild_id = ?", (guild_id,))
        # Another load may have stored (and `set_timezone` updated) this server's zones meanwhile: keep those.
        zones = _ZONES.on(db).get(guild_id)
        if zones is None:
            zones = _ZONES.on(db).put(guild_id, {r[0]: r[1] for r in rows})
    return zones.get(user_id)


async def set_timezone(db: Database, guild_id: int, user_id: int, tz: str) -> None:
    await db.execute(
        "INSERT INTO member_timezones (guild_id, user_id, tz, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (guild_id, user_id) DO UPDATE SET tz = excluded.tz, updated_at = excluded.updated_at",
        (guild_id, user_id, tz, now_ts()),
    )
    # Set after the write: a load that raced it cannot leave the old zone behind.
    zones = _ZONES.on(db).get(guild_id)
    if zones is not None:
        zones[user_id] = tz
