"""Counting database trips per command: every await that goes to the database thread.

A trip is one SQL statement (`db.statements` in the bot's `Metrics`) or one BEGIN / COMMIT (or
ROLLBACK) of a transaction; `Database.transaction()` costs two beside its statements, while
`Database.run` / `run_transaction` (a whole transaction on the database thread) is one, whatever it ran. `Trips` records
each one with the number of REST requests the bot had made by then, so the trips a member waits for
(those before the interaction's answer) are told apart from the follow-ups after it (card, tags,
notes). It observes the bot's own `Database` and `Metrics` objects; nothing the bot does changes.

    trips = Trips(env)
    with trips.counting():
        await member.slash(channel, "episode status", ...)
    trips.before_answer, trips.total
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

from bot.core.db import STATEMENTS

DEFER = 5  # the interaction callback type that only shows "thinking…"
_IN_RUN: ContextVar[bool] = ContextVar("in_run", default=False)  # a run's statements: no trips of their own


class Trips:
    def __init__(self, env) -> None:
        self.env = env
        self.marks: list[int] = []  # per trip: how many REST requests the bot had made by then
        self._start = 0

    @property
    def total(self) -> int:
        return len(self.marks)

    @property
    def before_answer(self) -> int:
        """Trips made before the bot answered the member (a "thinking…" defer is not an answer)."""
        answered = self._answer_index()
        return sum(1 for mark in self.marks if answered is None or mark <= answered)

    def _answer_index(self) -> int | None:
        for i, request in enumerate(self.env.http_requests[self._start :], start=self._start):
            callback = request.path.startswith("/interactions/") and request.path.endswith("/callback")
            if callback and (request.json or {}).get("type") != DEFER:
                return i
            if request.method == "PATCH" and request.path.endswith("/messages/@original"):
                return i
        return None

    def _mark(self) -> None:
        self.marks.append(len(self.env.http_requests))

    @contextmanager
    def counting(self) -> Iterator[Trips]:
        """Count the trips of the bot's database until the block ends."""
        db = self.env.bot.services.db
        metrics = db.metrics
        self.marks, self._start = [], len(self.env.http_requests)
        count, transaction, run, run_transaction = metrics.count, db.transaction, db.run, db.run_transaction

        def counted(name: str, n: int = 1) -> None:
            if name == STATEMENTS and not _IN_RUN.get():
                for _ in range(n):
                    self._mark()
            count(name, n)

        @asynccontextmanager
        async def counted_transaction():
            self._mark()  # BEGIN
            try:
                async with transaction() as tx:
                    yield tx
            finally:
                self._mark()  # COMMIT or ROLLBACK

        def one_trip(run):
            async def counted_run(fn):
                self._mark()  # the one trip
                token = _IN_RUN.set(True)
                try:
                    return await run(fn)
                finally:
                    _IN_RUN.reset(token)

            return counted_run

        metrics.count = counted
        db.transaction = counted_transaction
        db.run, db.run_transaction = one_trip(run), one_trip(run_transaction)
        try:
            yield self
        finally:
            del metrics.count
            del db.transaction
            del db.run, db.run_transaction
