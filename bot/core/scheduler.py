"""The one scheduler: persisted jobs, one sleeper task, a handler per job kind.

The sleeper sleeps until the earliest pending job (known in memory, so an idle bot runs no query),
delivers every due job, records each outcome, and sleeps again. Scheduling something sooner, or
cancelling the job it waits for, restarts it. When nothing is pending the task simply ends.

Handlers receive all due jobs of their kind at once (so they can group messages per channel) and
return an outcome per job id: `DONE`, `Retry(...)` or `Failed(...)`. A job is marked done only after
its handler says so; an exception in a handler retries that kind's batch with backoff. Outcomes are
recorded per kind as soon as its handler returns, and per job for handlers registered with
`register_each`, so that one kind's (or job's) trouble never holds back what others already did.

Recording an outcome is not what keeps a message from being sent twice: a handler that sends
something records each message itself (see the reminders' outbox), because a crash, or a refused
write, between the send and `finish` leaves the job pending and it runs again. When a `finish` write
fails the round stops and is tried again after a backoff, never in a tight loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import discord

from bot.clock import now
from bot.core import jobs as job_store
from bot.core.db import Database
from bot.core.jobs import Job
from bot.core.metrics import Metrics

log = logging.getLogger(__name__)

LATE_AFTER = 60.0  # seconds past due before a delivery counts as late
BATCH = 2000  # due jobs handed to the handlers at once (grouping works within one batch)
STOP_GRACE = 5.0  # seconds a stop waits for a round that is delivering


@dataclass(frozen=True, slots=True)
class Done:
    pass


@dataclass(frozen=True, slots=True)
class Retry:
    reason: str
    after: float | None = None  # seconds; None = exponential backoff


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str


DONE = Done()
Outcome = Done | Retry | Failed
Handler = Callable[[list[Job]], Awaitable[dict[int, Outcome]]]


def backoff(attempts: int) -> float:
    """30 s, 60 s, 120 s … capped at 15 minutes."""
    return float(min(30 * 2 ** max(attempts, 0), 900))


def is_late(job: Job, at: float | None = None) -> bool:
    at = now().timestamp() if at is None else at
    return at - job.due_at > LATE_AFTER


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


class Scheduler:
    def __init__(self, db: Database, metrics: Metrics | None = None) -> None:
        """`metrics` (the database's when not given) counts `scheduler.wakeups` and times each delivery
        round as `scheduler.round_ms`."""
        self.db = db
        self.metrics = metrics if metrics is not None else db.metrics
        self._handlers: dict[str, Handler] = {}
        self._each: dict[str, Callable[[Job], Awaitable[Outcome]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._next_due: float | None = None
        self._sleeping = False
        self._running = False
        self._stopping = False  # set by stop(): a running round starts nothing more
        # The earliest due time scheduled while the sleeper was delivering: the sleeper's own re-read
        # of the table may have run before that job was committed, so it takes the minimum of both.
        self._hint: float | None = None
        self._recompute: asyncio.Task[None] | None = None

    # -- set-up -------------------------------------------------------------------------------------

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._handlers[kind] = handler

    def unregister(self, kind: str) -> None:
        """Forget a kind's handler (when its cog unloads); its jobs stay pending until one is registered."""
        self._handlers.pop(kind, None)
        self._each.pop(kind, None)

    def register_each(self, kind: str, handler: Callable[[Job], Awaitable[Outcome]]) -> None:
        """Register a handler that deals with one job at a time; each job's outcome is recorded as
        soon as it is handled."""

        async def batch(jobs: list[Job]) -> dict[int, Outcome]:
            return {job.id: await self._run_one(handler, job) for job in jobs}

        self.register(kind, batch)
        self._each[kind] = handler

    @staticmethod
    async def _run_one(handler: Callable[[Job], Awaitable[Outcome]], job: Job) -> Outcome:
        try:
            return await handler(job)
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            return Retry(f"{type(exc).__name__}: {exc}")

    async def start(self) -> None:
        """Begin delivering: reads the earliest pending job once, then sleeps until it."""
        self._running = True
        self._stopping = False
        self._next_due = await job_store.next_due(self.db)
        self._spawn()

    async def stop(self) -> None:
        """Stop delivering: a sleeping sleeper is cancelled, a delivering one finishes its round first
        (at most STOP_GRACE seconds), so that what it sent is recorded."""
        self._running = False
        self._stopping = True
        if self._recompute is not None and not self._recompute.done():
            await self._recompute  # one quick query; its restart does nothing once stopped
        delivering = not self._sleeping
        task, self._task = self._task, None
        if task is not None and not task.done():
            if delivering:
                # Let the round finish and record what it sent (it ends once `_running` is off).
                await asyncio.wait({task}, timeout=STOP_GRACE)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- public API ---------------------------------------------------------------------------------

    async def schedule(
        self,
        kind: str,
        when: datetime | float,
        payload: dict[str, Any] | None = None,
        *,
        guild_id: int | None = None,
        dedupe_key: str | None = None,
        replace: bool = False,
    ) -> int:
        """Persist a job; returns its id. See jobs.add for the dedupe-key rules."""
        due = when.timestamp() if isinstance(when, datetime) else float(when)
        job_id, effective_due = await job_store.add(
            self.db,
            kind=kind,
            due_at=due,
            payload=payload or {},
            guild_id=guild_id,
            dedupe_key=dedupe_key,
            created_at=now().timestamp(),
            replace=replace,
        )
        self._consider(effective_due)
        return job_id

    async def cancel(self, job_id: int) -> bool:
        due = await job_store.cancel(self.db, job_id)
        if due is None:
            return False
        if self._waits_for_one_of([due]):
            await self._recompute_and_restart()
        return True

    async def replace_group(self, prefix: str, jobs: list[job_store.NewJob]) -> int:
        """Cancel the pending jobs whose dedupe key starts with `prefix` and add `jobs`, atomically;
        returns how many were cancelled."""
        cancelled = await job_store.replace_group(self.db, prefix, jobs, now().timestamp())
        self.jobs_changed(jobs, cancelled)
        return len(cancelled)

    async def replace_groups(self, groups: list[tuple[str, list[job_store.NewJob]]]) -> None:
        """`replace_group` for several groups, atomically."""
        cancelled = await job_store.replace_groups(self.db, groups, now().timestamp())
        self.jobs_changed([job for _, jobs in groups for job in jobs], cancelled)

    async def cancel_by_key_prefix(self, prefix: str) -> int:
        return await self.replace_group(prefix, [])

    def jobs_changed(self, added: Iterable[job_store.NewJob], cancelled: Iterable[float] = ()) -> None:
        """Tell the sleeper about jobs added or cancelled in a caller's transaction
        (`jobs.replace_group_in`), so that it wakes for the earliest."""
        for job in added:
            self._consider(job.due_at)
        if self._waits_for_one_of(cancelled):
            # It learns the next one in the background, so the member who moved a deadline does not
            # wait for that query.
            self._recompute_soon()

    @property
    def next_due(self) -> float | None:
        return self._next_due

    async def run_due_now(self) -> None:
        """Deliver whatever is due right now (used by tests and start-up reconciliation)."""
        await self._round()

    # -- internals ----------------------------------------------------------------------------------

    def _consider(self, due: float) -> None:
        if self._task is not None and not self._task.done() and not self._sleeping:
            self._hint = due if self._hint is None else min(self._hint, due)
        if self._next_due is None or due < self._next_due:
            self._next_due = due
            if self._running:
                self._restart()

    def _waits_for_one_of(self, cancelled: Iterable[float]) -> bool:
        """True when the sleeper is waiting for a job that was just cancelled."""
        earliest = min(cancelled, default=None)
        return (
            earliest is not None
            and self._next_due is not None
            and earliest <= self._next_due
            and self._sleeping
        )

    def _recompute_soon(self) -> None:
        if self._recompute is None or self._recompute.done():
            self._recompute = asyncio.get_running_loop().create_task(self._recompute_and_restart())

    async def _recompute_and_restart(self) -> None:
        self._next_due = await job_store.next_due(self.db)
        self._restart()

    def _restart(self) -> None:
        """Replace a sleeping (or finished) sleeper; a sleeper that is delivering re-reads on its own."""
        if self._task is not None and not self._task.done():
            if not self._sleeping:
                return
            self._task.cancel()
        self._sleeping = False
        self._spawn()

    def _spawn(self) -> None:
        if not self._running or self._next_due is None:
            return
        self._task = asyncio.create_task(self._loop(), name="archivist-scheduler")

    async def _loop(self) -> None:
        while self._running and self._next_due is not None:
            self._sleeping = True
            try:
                await discord.utils.sleep_until(datetime.fromtimestamp(self._next_due, tz=now().tzinfo))
            except asyncio.CancelledError:
                return
            finally:
                if asyncio.current_task() is self._task:
                    self._sleeping = False
            self.metrics.count("scheduler.wakeups")
            try:
                await self._round()
            except Exception:
                # Never let one bad round kill delivery: log it and try again a little later.
                log.exception("scheduler round failed")
                self._next_due = now().timestamp() + backoff(0)
                continue
            self._hint = None
            stored = await job_store.next_due(self.db)
            self._next_due = _earliest(stored, self._hint)
            self._hint = None

    async def _round(self) -> None:
        started = time.perf_counter()
        # A stop (`_stopping`) lets what is being delivered finish and be recorded, and starts nothing
        # more: the next batch, kind or one-at-a-time job waits for the next start.
        while not self._stopping:
            at = now().timestamp()
            due = await job_store.due(self.db, at, BATCH)
            if not due:
                break
            by_kind: dict[str, list[Job]] = {}
            for job in due:
                by_kind.setdefault(job.kind, []).append(job)
            for kind, batch in by_kind.items():
                await self._run_kind(kind, batch)
            if len(due) < BATCH:
                break
        self.metrics.observe("scheduler.round_ms", 1000 * (time.perf_counter() - started))

    async def _run_kind(self, kind: str, batch: list[Job]) -> None:
        if self._stopping:
            return
        each = self._each.get(kind)
        if each is not None and kind in self._handlers:
            for job in batch:
                if self._stopping:
                    break
                await self._record(kind, [job], {job.id: await self._run_one(each, job)})
        else:
            await self._record(kind, batch, await self._deliver(kind, batch))

    async def _record(self, kind: str, batch: list[Job], outcomes: dict[int, Outcome]) -> None:
        """Record the outcomes of one kind's batch (a failed write raises: the round stops)."""
        done: list[int] = []
        failed: list[tuple[int, str]] = []
        retry: list[tuple[int, float, str]] = []
        for job in batch:
            outcome = outcomes.get(job.id, Retry("handler returned no outcome"))
            if isinstance(outcome, Done):
                done.append(job.id)
            elif isinstance(outcome, Failed):
                log.warning("job %s (%s) failed for good: %s", job.id, kind, outcome.reason)
                failed.append((job.id, outcome.reason))
            else:
                delay = outcome.after if outcome.after is not None else backoff(job.attempts)
                log.info("job %s (%s) will be retried in %.0f s: %s", job.id, kind, delay, outcome.reason)
                retry.append((job.id, now().timestamp() + delay, outcome.reason))
        await job_store.finish(self.db, done=done, failed=failed, retry=retry, now=now().timestamp())

    async def _deliver(self, kind: str, batch: list[Job]) -> dict[int, Outcome]:
        handler = self._handlers.get(kind)
        if handler is None:
            return {job.id: Failed(f"no handler for job kind {kind!r}") for job in batch}
        started = time.perf_counter()
        try:
            outcomes = await handler(batch)
            log.info(
                "%s: %d job(s) handled in %.1f ms", kind, len(batch), 1000 * (time.perf_counter() - started)
            )
            return outcomes
        except Exception as exc:
            log.exception("handler for %s failed on %d job(s)", kind, len(batch))
            return {job.id: Retry(f"{type(exc).__name__}: {exc}") for job in batch}
