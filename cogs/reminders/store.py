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
from bot.core.recurrence import Repeat

_REMINDER_COLS = (
    "id, guild_id, user_id, channel_id, text, due_at, private, job_id, state, created_at, "
    "delivered_at, delivered_channel_id, message_id, snoozes, repeat, repeat_anchor, repeat_zone, "
    "revision, sending_due"
)
PENDING, DELIVERED, CANCELLED, FAILED = "pending", "delivered", "cancelled", "failed"
DM = 0  # the guild_id of reminders (and members' zones) set in a DM with the bot


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
    repeat: str | None = None  # Repeat.code; None for a one-off
    repeat_anchor: str | None = None  # the wall time its occurrences follow (naive ISO)
    repeat_zone: str | None = None  # … in this IANA zone
    revision: int = 0  # how many edits it had
    sending_due: int | None = None  # the due time whose delivery has begun

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
            repeat=row["repeat"],
            repeat_anchor=row["repeat_anchor"],
            repeat_zone=row["repeat_zone"],
            revision=row["revision"],
            sending_due=row["sending_due"],
        )

    @property
    def pending(self) -> bool:
        return self.state == PENDING

    @property
    def rule(self) -> Repeat | None:
        """How it repeats, if it does."""
        return Repeat.from_code(self.repeat) if self.repeat else None

    @property
    def anchor(self) -> datetime | None:
        """The wall time (naive, in `repeat_zone`) its occurrences follow."""
        return datetime.fromisoformat(self.repeat_anchor) if self.repeat_anchor else None

    @property
    def in_dm(self) -> bool:
        return self.guild_id == DM

    @property
    def due_ts(self) -> int:
        return int(self.due_at.timestamp())


@dataclass(frozen=True, slots=True)
class Repetition:
    """What a repeating reminder stores: its rule's code, and the wall time and zone it follows."""

    code: str
    anchor: str  # naive ISO wall time
    zone: str


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One delivered occurrence of a repeating reminder, and the copy a Snooze made of it."""

    reminder_id: int
    due_at: int
    channel_id: int
    message_id: int
    snooze_id: int | None


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
    repetition: Repetition | None = None,
) -> tuple[Reminder, job_store.NewJob] | None:
    """A reminder and its delivery job, in one transaction: a reminder is never stored without one.

    With `max_pending`: None, and nothing stored, when the member already has that many pending (checked
    inside the transaction, so two reminders set at once cannot pass the limit together)."""
    created = now_ts()
    limit = -1 if max_pending is None else max_pending
    rep = repetition
    async with db.transaction() as tx:
        rid = await tx.insert(
            "INSERT INTO reminders (guild_id, user_id, channel_id, text, due_at, private, created_at, "
            "repeat, repeat_anchor, repeat_zone) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ? < 0 OR "
            "(SELECT COUNT(*) FROM reminders WHERE guild_id = ? AND user_id = ? AND state = 'pending') < ?",
            (
                guild_id,
                user_id,
                channel_id,
                text,
                due_at,
                int(private),
                created,
                rep.code if rep else None,
                rep.anchor if rep else None,
                rep.zone if rep else None,
                limit,
                guild_id,
                user_id,
                limit,
            ),
        )
        if rid is None:  # the member has `max_pending` already
            return None
        job = _job(job_kind, rid, due_at, guild_id)
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


# -- delivery: what is sent is claimed, what Discord accepted is recorded ---------------------------------


async def claim_for_delivery(db: Database, jobs: list[tuple[int, int]]) -> dict[int, Reminder]:
    """For each (reminder id, job id) about to be delivered: the reminder as it is now, if it is pending
    and that job is its own, marked as being sent at its due time (`sending_due`), in one write. What is
    read here is what is sent: an edit is refused from now until the delivery is recorded."""
    found: dict[int, Reminder] = {}
    async with db.transaction() as tx:
        for start in range(0, len(jobs), 400):
            part = jobs[start : start + 400]
            rows = await tx.fetchall(
                "UPDATE reminders SET sending_due = due_at FROM (VALUES "
                + ", ".join("(?, ?)" for _ in part)
                + ") AS v WHERE reminders.id = v.column1 AND reminders.state = 'pending' "
                f"AND (reminders.job_id IS NULL OR reminders.job_id = v.column2) RETURNING {_REMINDER_COLS}",
                [value for pair in part for value in pair],
            )
            found.update((r["id"], Reminder.from_row(r)) for r in rows)
    return found


async def pending_at_in(tx: Tx, dues: dict[int, int]) -> list[Reminder]:
    """Inside `tx`: those of the reminders (id → due time) that are still pending at that due time."""
    ids = list(dues)
    found: list[Reminder] = []
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        rows = await tx.fetchall(
            f"SELECT {_REMINDER_COLS} FROM reminders WHERE state = 'pending' AND id IN "
            f"({', '.join('?' for _ in part)})",
            part,
        )
        found += [r for r in map(Reminder.from_row, rows) if r.due_ts == dues[r.id]]
    return found


async def delivered_once_in(
    tx: Tx, reminder_ids: list[int], *, due_at: dict[int, int], channel_id: int, message_id: int, at: float
) -> None:
    """Inside the send's transaction: these one-off reminders, still pending at the due time that was
    sent, are delivered. Call `forget_pending` once it committed."""
    await tx.executemany(
        "UPDATE reminders SET state = 'delivered', delivered_at = ?, delivered_channel_id = ?, "
        "message_id = ?, sending_due = NULL WHERE id = ? AND state = 'pending' AND due_at = ?",
        [(at, channel_id, message_id, rid, due_at[rid]) for rid in reminder_ids],
    )


async def next_occurrence_in(
    tx: Tx,
    reminder: Reminder,
    next_due: int,
    job_kind: str,
    *,
    channel_id: int,
    message_id: int,
    at: float,
) -> job_store.NewJob | None:
    """Inside the send's transaction: the occurrence `reminder.due_at` of a repeating reminder was
    delivered in `message_id`; it stays pending, due at `next_due`, with that occurrence's job added.
    None when it was no longer pending at that due time (cancelled or edited meanwhile)."""
    due = reminder.due_ts
    moved = await tx.fetchone(
        "UPDATE reminders SET due_at = ?, sending_due = NULL, delivered_at = ?, delivered_channel_id = ?, "
        "message_id = ? WHERE id = ? AND state = 'pending' AND due_at = ? RETURNING guild_id",
        (next_due, at, channel_id, message_id, reminder.id, due),
    )
    if moved is None:
        return None
    await tx.execute(
        "INSERT OR IGNORE INTO reminder_occurrences (reminder_id, due_at, channel_id, message_id, "
        "delivered_at) VALUES (?, ?, ?, ?, ?)",
        (reminder.id, due, channel_id, message_id, at),
    )
    job = _job(job_kind, reminder.id, next_due, moved[0])
    job_id = await job_store.add_in(tx, job, at)
    await tx.execute("UPDATE reminders SET job_id = ? WHERE id = ?", (job_id, reminder.id))
    return job


# -- edits -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """What an edit writes: the whole new state of what a member can change."""

    text: str
    due_at: int
    repetition: Repetition | None


async def edit_scheduled(
    db: Database, read: Reminder, change: Change, job_kind: str
) -> tuple[Reminder, job_store.NewJob | None, list[float]] | None:
    """Write `change` over the reminder as it was `read`, and replace its job when its due time moves,
    in one transaction. None, and nothing written, unless it is still pending at the due time and
    revision that were read and no delivery of it has begun. Returns the reminder as stored, the new job
    (if any) and the due times of the jobs cancelled."""
    rep = change.repetition
    at = now_ts()
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "UPDATE reminders SET text = ?, due_at = ?, repeat = ?, repeat_anchor = ?, repeat_zone = ?, "
            "revision = revision + 1 WHERE id = ? AND state = 'pending' AND due_at = ? AND revision = ? "
            f"AND sending_due IS NULL RETURNING {_REMINDER_COLS}",
            (
                change.text,
                change.due_at,
                rep.code if rep else None,
                rep.anchor if rep else None,
                rep.zone if rep else None,
                read.id,
                read.due_ts,
                read.revision,
            ),
        )
        if row is None:
            return None
        if change.due_at == read.due_ts:
            return Reminder.from_row(row), None, []
        cancelled = await job_store.replace_group_in(tx, job_key(read.id, read.due_ts), [], at)
        job = _job(job_kind, read.id, change.due_at, read.guild_id)
        job_id = await job_store.add_in(tx, job, at)
        row = await tx.fetchone(
            f"UPDATE reminders SET job_id = ? WHERE id = ? RETURNING {_REMINDER_COLS}", (job_id, read.id)
        )
    _forget_pending(db, (read.guild_id, read.user_id))
    assert row is not None
    return Reminder.from_row(row), job, cancelled


# -- snoozing an occurrence of a repeating reminder ----------------------------------------------------------


async def occurrences_in(db: Database, message_id: int) -> list[Occurrence]:
    rows = await db.fetchall(
        "SELECT reminder_id, due_at, channel_id, message_id, snooze_id FROM reminder_occurrences "
        "WHERE message_id = ? ORDER BY reminder_id",
        (message_id,),
    )
    return [Occurrence(*r) for r in rows]


async def snooze_occurrences(
    db: Database, occurrences: list[Occurrence], due_at: int, job_kind: str
) -> tuple[list[Reminder], list[job_store.NewJob]]:
    """A one-off copy of each occurrence, due at `due_at`, with its job, in one transaction. Only
    occurrences not snoozed yet get one (a concurrent snooze that got there first wins); returns the
    copies made, and their jobs."""
    copies: list[Reminder] = []
    jobs: list[job_store.NewJob] = []
    created = now_ts()
    async with db.transaction() as tx:
        for occ in occurrences:
            # The transaction holds the one write lock: no other snooze runs between this read and
            # the write below.
            origin = await tx.fetchone(
                "SELECT r.guild_id FROM reminder_occurrences o JOIN reminders r ON r.id = o.reminder_id "
                "WHERE o.reminder_id = ? AND o.due_at = ? AND o.snooze_id IS NULL",
                (occ.reminder_id, occ.due_at),
            )
            if origin is None:
                continue
            rid = await tx.insert(
                "INSERT INTO reminders (guild_id, user_id, channel_id, text, due_at, private, created_at, "
                "snoozes) SELECT guild_id, user_id, channel_id, text, ?, private, created_at, 1 "
                "FROM reminders WHERE id = ?",
                (due_at, occ.reminder_id),
            )
            assert rid is not None
            job = _job(job_kind, rid, due_at, origin[0])
            job_id = await job_store.add_in(tx, job, created)
            row = await tx.fetchone(
                f"UPDATE reminders SET job_id = ? WHERE id = ? RETURNING {_REMINDER_COLS}", (job_id, rid)
            )
            await tx.execute(
                "UPDATE reminder_occurrences SET snooze_id = ? WHERE reminder_id = ? AND due_at = ?",
                (rid, occ.reminder_id, occ.due_at),
            )
            assert row is not None
            copies.append(Reminder.from_row(row))
            jobs.append(job)
    if copies:
        _forget_pending(db)
    return copies, jobs


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
                "UPDATE reminders SET state = 'pending', due_at = ?, job_id = NULL, snoozes = snoozes + 1, "
                "sending_due = NULL "
                "WHERE id = ? AND state = 'delivered' RETURNING guild_id",
                (due_at, rid),
            )
            if changed is None:
                continue
            job = _job(job_kind, rid, due_at, changed[0])
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
    """The reminders a delivered message carried: one-offs delivered in it, and repeating reminders one
    of whose occurrences it was."""
    rows = await db.fetchall(
        f"SELECT {_REMINDER_COLS} FROM reminders WHERE message_id = ? OR id IN "
        "(SELECT reminder_id FROM reminder_occurrences WHERE message_id = ?) ORDER BY id",
        (message_id, message_id),
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


def _job(kind: str, reminder_id: int, due_at: int, guild_id: int) -> job_store.NewJob:
    return job_store.NewJob(
        kind, float(due_at), {"reminder_id": reminder_id}, guild_id or None, job_key(reminder_id, due_at)
    )


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
