"""The one scheduler: persisted jobs, one sleeper task, a handler per job kind.

The sleeper sleeps until the earliest pending job (known in memory, so an idle bot runs no query),
delivers every due job, records each outcome, and sleeps again. Scheduling something sooner, or
cancelling the job it waits for, restarts it. When nothing is pending the task simply ends.

Job kinds take turns. Each kind's due jobs are cut into slices of about one second of the global
pacer's requests (`SLICE` jobs); the kinds are served round-robin, one slice each, in the one sleeper
task, and each slice's outcomes are recorded as soon as its handler returns. So ten thousand private
reminders falling due at once never hold another server's deadline reminder, card update or digest
behind them for more than a turn, and a crash or a stop loses at most one slice's records. Between two
rounds of turns the sleeper looks for kinds that fell due meanwhile, so they join the turns too.

Handlers registered with `register` receive a slice of their kind's due jobs at once (so they can
group messages per channel: a kind may pass `together`, which says which jobs must stay in one slice,
such as one member's reminders that go as one DM) and return an outcome per job id: `DONE`,
`Retry(...)` or `Failed(...)`. Handlers registered with `register_each` get one job at a time, and
their turn ends after `SLICE` jobs or `TURN` seconds. A job is marked done only after its handler says
so; an exception in a handler retries that slice (or job) with backoff.

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
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
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
BATCH = 2000  # due jobs of a kind read at once (a kind's `together` groups work within one read)
SLICE = 45  # jobs of a kind per turn: about one second of the global pacer's requests (45 a second)
TURN = 1.0  # seconds a one-at-a-time kind's turn may take before the next kind's turn
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
# Which of a kind's due jobs must be handed over in one slice: jobs given the same key stay together.
Together = Callable[[list[Job]], Awaitable[Mapping[int, Hashable]]]


def backoff(attempts: int) -> float:
    """30 s, 60 s, 120 s … capped at 15 minutes."""
    return float(min(30 * 2 ** max(attempts, 0), 900))


def is_late(job: Job, at: float | None = None) -> bool:
    at = now().timestamp() if at is None else at
    return at - job.due_at > LATE_AFTER


def slices(jobs: list[Job], keys: Mapping[int, Hashable], size: int = SLICE) -> list[list[Job]]:
    """Cut a kind's due jobs into slices of at most `size` jobs, keeping the jobs that share a key
    (`keys`: job id → key; a job without one, or with None, is on its own) in one slice (a group larger
    than `size` is a slice of its own). Servers take turns, one group each, so that another server's job
    is in the first slice, not after a burst of one server's; each server's groups keep their order."""
    groups: dict[Hashable, list[Job]] = {}
    for job in jobs:
        given = keys.get(job.id)
        key = ("job", job.id) if given is None else ("key", given)
        groups.setdefault(key, []).append(job)
    servers: dict[int | None, deque[list[Job]]] = {}
    for group in groups.values():
        servers.setdefault(group[0].guild_id, deque()).append(group)
    cut: list[list[Job]] = []
    turns = deque(servers.values())
    while turns:
        queue = turns.popleft()
        group = queue.popleft()
        if cut and len(cut[-1]) + len(group) <= size:
            cut[-1].extend(group)
        else:
            cut.append(list(group))
        if queue:
            turns.append(queue)
    return cut


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


class Scheduler:
    def __init__(self, db: Database, metrics: Metrics | None = None, *, slice_size: int = SLICE) -> None:
        """`metrics` (the database's when not given) counts `scheduler.wakeups` and `scheduler.turns`,
        and times each delivery round as `scheduler.round_ms`; `slice_size`: jobs of a kind per turn."""
        self.db = db
        self.slice_size = slice_size
        self.metrics = metrics if metrics is not None else db.metrics
        self._handlers: dict[str, Handler] = {}
        self._each: dict[str, Callable[[Job], Awaitable[Outcome]]] = {}
        self._together: dict[str, Together] = {}
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

    def register(self, kind: str, handler: Handler, *, together: Together | None = None) -> None:
        """`handler` gets a slice of the kind's due jobs at a time; `together`, if given, says which of
        them must be in one slice (jobs it gives the same key; by default slices are cut anywhere)."""
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._handlers[kind] = handler
        if together is not None:
            self._together[kind] = together

    def unregister(self, kind: str) -> None:
        """Forget a kind's handler (when its cog unloads); its jobs stay pending until one is registered."""
        self._handlers.pop(kind, None)
        self._each.pop(kind, None)
        self._together.pop(kind, None)

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
        """Deliver what is due, the kinds taking turns (one slice each) until none is due.

        A stop (`_stopping`) lets the slice (or one-at-a-time job) being delivered finish and be
        recorded, and starts nothing more: the rest waits for the next start."""
        started = time.perf_counter()
        # Each kind's slices still to deliver. A kind's jobs are read again only once its slices are all
        # delivered and recorded, so no job is handed over twice; one retried soon comes back in this round.
        hand: dict[str, deque[list[Job]]] = {}
        while not self._stopping:
            joined = await self._take_in(hand)
            if not hand:
                break
            # One turn each; kinds that just joined (they have waited) first.
            for kind in [*joined, *(k for k in hand if k not in joined)]:
                if self._stopping:
                    break
                await self._turn(kind, hand[kind])
                if not hand[kind]:
                    del hand[kind]
        self.metrics.observe("scheduler.round_ms", 1000 * (time.perf_counter() - started))

    async def _take_in(self, hand: dict[str, deque[list[Job]]]) -> list[str]:
        """Read the due jobs of every kind not in `hand` (up to BATCH; when more are due, a share of every
        kind's and server's), add their slices to it and return those kinds."""
        at, skip = now().timestamp(), list(hand)
        due = await job_store.due(self.db, at, BATCH, skip_kinds=skip)
        if len(due) == BATCH:  # more are due than one read takes: every kind and server gets its share
            due = await job_store.due(self.db, at, BATCH, skip_kinds=skip, fair=True)
        by_kind: dict[str, list[Job]] = {}
        for job in due:
            by_kind.setdefault(job.kind, []).append(job)
        for kind, jobs in by_kind.items():
            hand[kind] = deque(await self._slices(kind, jobs))
        return list(by_kind)

    async def _slices(self, kind: str, jobs: list[Job]) -> list[list[Job]]:
        if kind in self._each:
            return [[job] for job in jobs]
        keys: Mapping[int, Hashable] = {}
        together = self._together.get(kind)
        if together is not None:
            try:
                keys = await together(jobs)
            except Exception:
                log.exception("could not group %d %s job(s); slicing them anywhere", len(jobs), kind)
        return slices(jobs, keys, self.slice_size)

    async def _turn(self, kind: str, queue: deque[list[Job]]) -> None:
        """One kind's turn: its next slice, or its next one-at-a-time jobs (up to a slice of them, for at
        most TURN seconds); each slice's or job's outcomes are recorded as soon as they are known."""
        self.metrics.count("scheduler.turns")
        each = self._each.get(kind)
        if each is None or kind not in self._handlers:
            batch = queue.popleft()
            await self._record(kind, batch, await self._deliver(kind, batch))
            return
        began = time.monotonic()
        for _ in range(self.slice_size):
            [job] = queue.popleft()
            await self._record(kind, [job], {job.id: await self._run_one(each, job)})
            if not queue or self._stopping or time.monotonic() - began >= TURN:
                break

    async def _record(self, kind: str, batch: list[Job], outcomes: dict[int, Outcome]) -> None:
        """Record the outcomes of one slice of a kind (a failed write raises: the round stops)."""
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
