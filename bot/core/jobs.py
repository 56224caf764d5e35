"""The scheduler's persisted jobs (the record of each message their deliveries send: bot.core.outbox_store)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.db import Database, Tx

_COLS = "id, guild_id, kind, due_at, payload, dedupe_key, attempts, created_at"


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    guild_id: int | None
    kind: str
    due_at: float  # unix seconds, UTC
    payload: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    attempts: int = 0
    created_at: float = 0.0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return cls(
            id=row["id"],
            guild_id=row["guild_id"],
            kind=row["kind"],
            due_at=row["due_at"],
            payload=json.loads(row["payload"]),
            dedupe_key=row["dedupe_key"],
            attempts=row["attempts"],
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to add, as `replace_group_in` takes them."""

    kind: str
    due_at: float
    payload: dict[str, Any]
    guild_id: int | None = None
    dedupe_key: str | None = None


async def replace_group_in(tx: Tx, prefix: str, jobs: list[NewJob], created_at: float) -> list[float]:
    """Inside `tx`: cancel the pending jobs whose dedupe key starts with `prefix`, then add `jobs`.

    Returns the due times of the jobs cancelled (the scheduler must know if its next one went)."""
    cancelled = await tx.fetchall(
        "UPDATE jobs SET state = 'cancelled', finished_at = due_at "
        "WHERE state = 'pending' AND dedupe_key IS NOT NULL AND dedupe_key >= ? AND dedupe_key < ? "
        "RETURNING due_at",
        (prefix, prefix + "\U0010ffff"),
    )
    if jobs:
        await tx.executemany(
            "INSERT INTO jobs (guild_id, kind, due_at, payload, dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(j.guild_id, j.kind, j.due_at, json.dumps(j.payload), j.dedupe_key, created_at) for j in jobs],
        )
    return [row[0] for row in cancelled]


async def add_in(tx: Tx, job: NewJob, created_at: float) -> int:
    """Inside `tx`: insert one pending job (its dedupe key must not be pending already); its id."""
    job_id = await tx.insert(
        "INSERT INTO jobs (guild_id, kind, due_at, payload, dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (job.guild_id, job.kind, job.due_at, json.dumps(job.payload), job.dedupe_key, created_at),
    )
    return int(job_id or 0)


async def replace_group(db: Database, prefix: str, jobs: list[NewJob], created_at: float) -> list[float]:
    return await replace_groups(db, [(prefix, jobs)], created_at)


async def replace_groups(
    db: Database, groups: list[tuple[str, list[NewJob]]], created_at: float
) -> list[float]:
    """`replace_group_in` for several groups in one transaction (one trip): all of them change, or none."""

    async def replace(tx: Tx) -> list[float]:
        cancelled: list[float] = []
        for prefix, jobs in groups:
            cancelled += await replace_group_in(tx, prefix, jobs, created_at)
        return cancelled

    return await db.run_transaction(replace)


async def add(
    db: Database,
    *,
    kind: str,
    due_at: float,
    payload: dict[str, Any],
    guild_id: int | None,
    dedupe_key: str | None,
    created_at: float,
    replace: bool,
) -> tuple[int, float]:
    """Insert a pending job. With a dedupe key already pending: keep the existing one (or, with
    `replace`, move it to the new time and payload). Returns (job id, its due time). One trip."""

    async def add_one(tx: Tx) -> tuple[int, float]:
        if dedupe_key is not None:
            existing = await tx.fetchone(
                "SELECT id, due_at FROM jobs WHERE dedupe_key = ? AND state = 'pending'", (dedupe_key,)
            )
            if existing is not None:
                if not replace:
                    return existing[0], existing[1]
                await tx.execute(
                    "UPDATE jobs SET due_at = ?, payload = ?, attempts = 0 WHERE id = ?",
                    (due_at, json.dumps(payload), existing[0]),
                )
                return existing[0], due_at
        job = NewJob(kind, due_at, payload, guild_id, dedupe_key)
        return await add_in(tx, job, created_at), due_at

    return await db.run_transaction(add_one)


async def add_many(
    db: Database, rows: list[tuple[int | None, str, float, dict[str, Any], str | None, float]]
) -> None:
    """Bulk insert (guild_id, kind, due_at, payload, dedupe_key, created_at), for seeding."""
    await db.executemany(
        "INSERT INTO jobs (guild_id, kind, due_at, payload, dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(g, k, d, json.dumps(p), key, c) for g, k, d, p, key, c in rows],
    )


async def due(
    db: Database, now: float, limit: int, *, skip_kinds: Sequence[str] = (), fair: bool = False
) -> list[Job]:
    """The earliest `limit` pending jobs due by `now`, but none of the kinds in `skip_kinds`. `fair`: when
    more are due than `limit`, every kind and server in turn (each one's earliest first, then each one's
    second, …), so that a burst of one server's jobs does not crowd another's out of the read (it costs a
    sort of every due job: ask for it only when a plain read came back full)."""
    skip = f"AND kind NOT IN ({', '.join('?' for _ in skip_kinds)}) " if skip_kinds else ""
    if fair:
        sql = (
            f"SELECT {_COLS} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY kind, guild_id ORDER BY due_at, id) "
            f"AS turn FROM jobs WHERE state = 'pending' AND due_at <= ? {skip}) ORDER BY turn, due_at, id LIMIT ?"
        )
    else:
        sql = f"SELECT {_COLS} FROM jobs WHERE state = 'pending' AND due_at <= ? {skip}ORDER BY due_at, id LIMIT ?"
    rows = await db.fetchall(sql, (now, *skip_kinds, limit))
    return [Job.from_row(r) for r in rows]


async def next_due(db: Database) -> float | None:
    return await db.fetchval("SELECT MIN(due_at) FROM jobs WHERE state = 'pending'")


async def get(db: Database, job_id: int) -> Job | None:
    row = await db.fetchone(f"SELECT {_COLS} FROM jobs WHERE id = ?", (job_id,))
    return Job.from_row(row) if row else None


async def pending(db: Database, kind: str | None = None, guild_id: int | None = None) -> list[Job]:
    where, params = ["state = 'pending'"], []
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if guild_id is not None:
        where.append("guild_id = ?")
        params.append(guild_id)
    rows = await db.fetchall(
        f"SELECT {_COLS} FROM jobs WHERE {' AND '.join(where)} ORDER BY due_at, id", params
    )
    return [Job.from_row(r) for r in rows]


async def finish(
    db: Database,
    *,
    done: list[int],
    failed: list[tuple[int, str]],
    retry: list[tuple[int, float, str]],
    now: float,
) -> None:
    """Record the outcomes of one batch of deliveries in one transaction (only pending jobs change: a
    job cancelled while it was being delivered stays cancelled)."""
    async with db.transaction() as conn:
        if done:
            await conn.executemany(
                "UPDATE jobs SET state = 'done', finished_at = ?, attempts = attempts + 1 "
                "WHERE id = ? AND state = 'pending'",
                [(now, i) for i in done],
            )
        if failed:
            await conn.executemany(
                "UPDATE jobs SET state = 'failed', finished_at = ?, attempts = attempts + 1, last_error = ? "
                "WHERE id = ? AND state = 'pending'",
                [(now, err, i) for i, err in failed],
            )
        if retry:
            await conn.executemany(
                "UPDATE jobs SET due_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ? "
                "AND state = 'pending'",
                [(at, err, i) for i, at, err in retry],
            )


async def cancel(db: Database, job_id: int) -> float | None:
    """Cancel one pending job; returns its due time, or None when it was not pending."""
    async with db.transaction() as conn:
        row = await conn.fetchone("SELECT due_at FROM jobs WHERE id = ? AND state = 'pending'", (job_id,))
        if row is None:
            return None
        await conn.execute(
            "UPDATE jobs SET state = 'cancelled', finished_at = due_at WHERE id = ?", (job_id,)
        )
        return row[0]
