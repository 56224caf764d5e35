"""The one aiosqlite connection: WAL, foreign keys, numbered migrations, transactions."""

# Over 400 lines: the checks of the file before it is opened (inspect_file) belong with the one place
# that opens it, and SQL stays in this module, the job store and the store modules.

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import aiosqlite

from bot.core.cache import AnyCache
from bot.core.metrics import Metrics

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# SQLite copies the write-ahead log back into the database file ("checkpoint") when it has grown; left
# to itself it does so inside the commit that crossed the line, with an fsync, which stalled the command
# behind it for 20–170 ms. Archivist checkpoints instead in the background, on its own connection and
# thread, every this many commits.
CHECKPOINT_EVERY_COMMITS = 100
STATEMENTS = "db.statements"  # the metric every statement counts in
TRIPS = "db.trips"  # and every trip to the database thread (one or more statements; BEGIN and COMMIT are one each)
CHECKPOINTS = "db.checkpoints"  # and every checkpoint completed
UPKEEP_STEPS = "db.upkeep_steps"  # and every upkeep step run (see `Upkeep`)
# Upkeep: work a store module leaves out of its writes for the background (the full-text index merging its
# segments, migration 0016). One step: a bounded piece of that work on the database thread, in a transaction
# of its own, returning whether more is left. Steps run on the bot's connection before each background
# checkpoint, one trip at a time: whatever members asked for meanwhile goes between two steps.
Upkeep = Callable[[sqlite3.Connection], bool]
# Modules whose SQL_FUNCTIONS ((name, number of arguments, function), deterministic) the schema's triggers
# call: registered on the connection before anything else runs on it, migrations included (0014's stored
# counts are kept by triggers that read a contribution's sources through one of them).
SCHEMA_FUNCTIONS = ("cogs.research.counting",)
_T = TypeVar("_T")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order; versions must be unique."""
    found = []
    for entry in resources.files("bot.core").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions) or (versions and versions[0] < 1):
        raise RuntimeError(f"migration numbers must be unique and start at 1: {versions}")
    return found


def schema_functions() -> list[tuple[str, int, Callable[..., Any]]]:
    """The SQL functions of every module in SCHEMA_FUNCTIONS."""
    return [f for module in SCHEMA_FUNCTIONS for f in importlib.import_module(module).SQL_FUNCTIONS]


class DatabaseFileError(Exception):
    """The database file can't be used as it is. str() is one sentence for the person running the bot;
    nothing has been written to the file."""


_SQLITE_MAGIC = b"SQLite format 3\x00"
_LEFT_AS_IS = "the file was left as it is"


def latest_version() -> int:
    return migrations()[-1][0]


# Over 60 lines: one check after another, each with its own sentence for the admin; read top to bottom.
def inspect_file(path: str | Path, *, writable: bool = True) -> int:
    """Look at the database file without writing anything, before any connection opens it: the schema
    version it holds (0 when it does not exist yet or is empty). With `writable`, the file and its folder
    must be writable (the bot writes, and keeps its write-ahead log beside the file).

    Raises DatabaseFileError, one sentence, for a folder, an unreadable, read-only, damaged, truncated
    or non-SQLite file, and for a schema newer than this code knows."""
    p = Path(path)
    try:
        if p.is_dir():
            raise DatabaseFileError(
                f"DATABASE_PATH ({p}) is a folder, not a database file: point it at a file such as "
                f"{p / 'archivist.sqlite3'}."
            )
        exists = p.exists()
    except OSError as exc:
        raise DatabaseFileError(f"the database file {p} can't be looked at ({_reason(exc)}).") from exc
    if not exists:
        return 0
    try:
        with p.open("rb") as file:
            header = file.read(100)
        size = p.stat().st_size
    except OSError as exc:
        raise DatabaseFileError(
            f"the database file {p} can't be read ({_reason(exc)}); check its permissions."
        ) from exc
    if size == 0:
        if writable:
            _require_writable(p)
        return 0  # SQLite's own view: an empty file is a new database, and there is nothing to lose
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise DatabaseFileError(
            f"{p} is not an Archivist database (not an SQLite file, or its first page is damaged): "
            f"restore a backup or point DATABASE_PATH elsewhere; {_LEFT_AS_IS}."
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The size in the header is only the file's own when no write-ahead log is waiting to be copied back
    # (a checkpoint cut short writes page 1 before the pages that lengthen the file; the log redoes it).
    header_counts = int.from_bytes(header[24:28], "big") == int.from_bytes(header[92:96], "big")
    if header_counts and not _has_log(p) and size < pages * page_size:
        raise DatabaseFileError(
            f"the database file {p} is truncated ({size:,} of {pages * page_size:,} bytes): restore a "
            f"backup; {_LEFT_AS_IS}."
        )
    try:
        conn = sqlite3.connect(_read_only_uri(p), uri=True)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            # Every page read once (a fraction of a second for a large archive): damage inside the file
            # stops the start here, not some command later.
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise DatabaseFileError(
            f"the database file {p} is damaged ({exc}): restore a backup; {_LEFT_AS_IS}."
        ) from exc
    if problems != ["ok"]:
        raise DatabaseFileError(
            f"the database file {p} is damaged ({'; '.join(' '.join(x.split()) for x in problems)[:200]}): "
            f"restore a backup; {_LEFT_AS_IS}."
        )
    latest = latest_version()
    if version > latest:
        raise DatabaseFileError(_newer_schema(p, version, latest))
    if writable:
        _require_writable(p)
    return version


def _require_writable(p: Path) -> None:
    try:
        with p.open("r+b"):  # opening for writing changes nothing: no byte written, no truncation
            pass
    except OSError as exc:
        raise DatabaseFileError(
            f"the database file {p} is read-only ({_reason(exc)}): Archivist writes to it, so make it "
            f"writable or point DATABASE_PATH at a writable copy; {_LEFT_AS_IS}."
        ) from exc
    folder = p.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseFileError(
            f"the folder {folder} is read-only: Archivist keeps its write-ahead log beside the database "
            f"file, so the folder must be writable; {_LEFT_AS_IS}."
        )


def _newer_schema(p: Path | str, version: int, latest: int) -> str:
    return (
        f"the database file {p} has schema version {version}, newer than this Archivist knows "
        f"({latest}): run the newer Archivist that wrote it, or restore a backup; {_LEFT_AS_IS}."
    )


def _has_log(p: Path) -> bool:
    log = Path(f"{p}-wal")
    return log.exists() and log.stat().st_size > 0


def _read_only_uri(p: Path) -> str:
    """A read-only URI. Without a write-ahead log or rollback journal beside the file nobody is writing
    to it, so it is also opened immutable: SQLite then creates no -wal/-shm files next to it."""
    uri = "file:" + quote(str(p.resolve())) + "?mode=ro"
    if not Path(f"{p}-wal").exists() and not Path(f"{p}-journal").exists():
        uri += "&immutable=1"
    return uri


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _prepare_folder(p: Path) -> None:
    folder = p.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseFileError(
            f"the folder for the database, {folder}, can't be created ({_reason(exc)}): create it or "
            "point DATABASE_PATH elsewhere."
        ) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseFileError(
            f"the folder {folder} is read-only, so the database can't be created in it: point "
            "DATABASE_PATH elsewhere."
        )


@dataclass(frozen=True, slots=True)
class Result:
    lastrowid: int | None
    rowcount: int

    @property
    def inserted(self) -> int | None:
        """The id of the row an INSERT added (the last one, for several); None when it added none."""
        return self.lastrowid if self.rowcount > 0 else None


class Reader(Protocol):
    """What reads need: `Database` itself (each read one trip), or the reader of `Database.read` (one trip
    for all of them)."""

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None: ...
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...
    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any: ...


class Tx:
    """The statements of one open transaction.

    Every statement is one trip to the database thread: writes go through the connection's one write
    cursor (writes are serialised by the transaction lock; a finished INSERT/UPDATE/DELETE leaves no
    statement open), reads and RETURNING statements through `execute_fetchall`, which closes its cursor
    in the same trip."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement; returns the number of rows it changed."""
        return (await self._write(sql, params)).rowcount

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """One INSERT; returns the new row's id, or None when it inserted nothing (OR IGNORE, or
        INSERT … SELECT … WHERE whose condition did not hold)."""
        return (await self._write(sql, params)).inserted

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """One write statement for each of `rows`; returns the number of rows they changed."""
        self._db.metrics.count(STATEMENTS)
        self._db.metrics.count(TRIPS)
        cur = await self._db.writer.executemany(sql, rows)
        return cur.rowcount

    async def _write(self, sql: str, params: Sequence[Any]) -> Result:
        self._db.metrics.count(STATEMENTS)
        self._db.metrics.count(TRIPS)
        cur = await self._db.writer.execute(sql, params)
        return Result(cur.lastrowid, cur.rowcount)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        return await self._db.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return await self._db.fetchall(sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class _ThreadReader:
    """The reads of `Database.read`, each run at once on the sqlite3 connection (on the database thread):
    a body awaiting only these never suspends."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.statements = 0

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        self.statements += 1
        cur = self._conn.execute(sql, params)
        try:
            return cur.fetchall()
        finally:
            cur.close()

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class _ThreadTx(_ThreadReader, Tx):
    """The statements of a transaction run whole on the database thread (`Database.run_transaction`):
    each runs at once on the sqlite3 connection, so a body awaiting only these never suspends. Made with
    the connection alone (`_ThreadReader.__init__`, first in line): nothing here touches the loop."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._now(sql, params).rowcount

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        return self._now(sql, params).inserted

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        self.statements += 1
        cur = self._conn.executemany(sql, rows)
        try:
            return cur.rowcount
        finally:
            cur.close()

    def _now(self, sql: str, params: Sequence[Any]) -> Result:
        self.statements += 1
        cur = self._conn.execute(sql, params)
        try:
            return Result(cur.lastrowid, cur.rowcount)
        finally:
            cur.close()


def _drive(body: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that never suspends (it awaits only `_ThreadReader` / `_ThreadTx` statements) to its
    end, here."""
    try:
        body.send(None)
    except StopIteration as done:
        return done.value
    body.close()
    raise RuntimeError("a body run on the database thread awaited something other than its statements")


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], _T]) -> _T:
    """On the database thread: BEGIN IMMEDIATE, `fn`, COMMIT, or ROLLBACK on any error (re-raised)."""
    conn.execute("BEGIN IMMEDIATE").close()
    try:
        result = fn(conn)
        conn.execute("COMMIT").close()
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK").close()
        raise
    return result


class Database:
    """Owns the connection. Writes go through `transaction()` (serialised by a lock), or `run` /
    `run_transaction` for a whole transaction in one trip to the database thread; every statement
    counts as `db.statements` in `metrics`, every checkpoint as `db.checkpoints`."""

    def __init__(self, path: str | Path, metrics: Metrics | None = None) -> None:
        self.path = str(path)
        self.metrics = metrics if metrics is not None else Metrics()
        self._conn: aiosqlite.Connection | None = None
        self._writer: aiosqlite.Cursor | None = None
        self._lock = asyncio.Lock()
        self._commits_since_checkpoint = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._upkeep: list[Upkeep] = []
        self._closing = False
        # Read-through caches owned by store modules (see bot.core.cache), dropped when the connection closes.
        self.caches: dict[str, AnyCache] = {}

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    @property
    def writer(self) -> aiosqlite.Cursor:
        """The cursor every write statement runs on (under the write lock)."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self, *, target_version: int | None = None, read_only: bool = False) -> None:
        """Check the file (without writing to it), connect, and bring the schema up to date.

        A file that can't be used raises DatabaseFileError before anything is written to it, and a
        failed open leaves no connection (nor its thread) behind. `read_only` connects without
        writing anything: no log mode change, no migration (for `check` and `backup`)."""
        self._closing = False  # opened again after a close: upkeep runs again
        if self.path != ":memory:":
            p = Path(self.path)
            await asyncio.to_thread(inspect_file, p, writable=not read_only)
            if not read_only:
                await asyncio.to_thread(_prepare_folder, p)
        try:
            try:
                if read_only:
                    target = _read_only_uri(Path(self.path))
                    self._conn = await aiosqlite.connect(target, isolation_level=None, uri=True)
                else:
                    self._conn = await aiosqlite.connect(self.path, isolation_level=None)
                self._conn.row_factory = sqlite3.Row
                for name, arguments, function in schema_functions():
                    await self._conn.create_function(name, arguments, function, deterministic=True)
                self._writer = await self._conn.cursor()
                # recursive_triggers: a row that INSERT OR REPLACE replaces fires its delete triggers (the
                # full-text index and the stored counts of 0014 follow it); no trigger writes its own table.
                pragmas = ["foreign_keys=ON", "busy_timeout=5000", "recursive_triggers=ON"]
                if not read_only:
                    pragmas = ["journal_mode=WAL", *pragmas, "synchronous=NORMAL"]
                if self.path != ":memory:" and not read_only:
                    # See CHECKPOINT_EVERY_COMMITS. No journal_size_limit: cutting a log grown by a bulk
                    # import back on its next write stalled that write for 0.8 s; SQLite removes the log
                    # at close.
                    pragmas.append("wal_autocheckpoint=0")
                for pragma in pragmas:
                    await self._run(f"PRAGMA {pragma}")
            except sqlite3.Error as exc:
                raise DatabaseFileError(
                    f"the database file {self.path} can't be opened ({exc}); {_LEFT_AS_IS}."
                ) from exc
            if not read_only:
                await self.migrate(target_version)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        self._closing = True  # upkeep stops at its next step
        if self._checkpointing is not None:
            await self._checkpointing  # a thread cannot be cancelled: let it finish
            self._checkpointing = None
        self.caches.clear()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            writer, self._writer = self._writer, None
            if writer is not None:
                await writer.close()
            await conn.close()

    async def user_version(self) -> int:
        return int(await self.fetchval("PRAGMA user_version"))

    async def migrate(self, target_version: int | None = None) -> list[str]:
        """Apply pending migrations in one transaction; returns the names applied."""
        current = await self.user_version()
        if current > latest_version():  # never "upgrade" a newer schema into something else
            raise DatabaseFileError(_newer_schema(self.path, current, latest_version()))
        pending = [
            m for m in migrations() if m[0] > current and (target_version is None or m[0] <= target_version)
        ]
        if not pending:
            return []
        async with self.transaction() as tx:
            for version, name, sql in pending:
                log.info("applying migration %s", name)
                for statement in _split_sql(sql):
                    await tx.execute(statement)
                await tx.execute(f"PRAGMA user_version = {int(version)}")
        return [name for _, name, _ in pending]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error. Not re-entrant."""
        async with self._lock:
            await self._run("BEGIN IMMEDIATE")
            try:
                yield Tx(self)
            except BaseException:
                await self._run("ROLLBACK")
                raise
            await self._run("COMMIT")
            self._committed()

    async def run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """A whole transaction in one trip to the database thread: under the write lock, BEGIN
        IMMEDIATE, `fn(connection)` on that thread, COMMIT; on any exception ROLLBACK and re-raise, nothing
        written. `fn` gets the sqlite3 connection itself (rows are `sqlite3.Row`, the schema's SQL
        functions are registered, so its triggers run) and must not keep it. One commit towards the
        background checkpoint; one `db.statements` (what `fn` runs is not seen statement by statement:
        `run_transaction` counts each)."""
        return await self._on_thread(lambda conn: (fn(conn), 1))

    async def run_transaction(self, body: Callable[[Tx], Awaitable[_T]]) -> _T:
        """`body(tx)`, an async store function of statements (`*_in(tx, …)`), run whole on the database
        thread in one trip, as `run`, each statement counted in `db.statements`. It must await nothing but
        `tx`'s statements: when it does, RuntimeError and nothing is written."""

        def whole(conn: sqlite3.Connection) -> tuple[_T, int]:
            tx = _ThreadTx(conn)
            return _drive(body(tx)), tx.statements  # type: ignore[arg-type]

        return await self._on_thread(whole)

    async def read(self, body: Callable[[Reader], Awaitable[_T]]) -> _T:
        """`body(reader)`, an async store function of reads, run whole on the database thread in one trip
        (a use case's reads together, rather than a trip each). No transaction of its own and no write
        lock: like `fetchall`, each read sees what is committed. It must await nothing but `reader`'s
        reads: when it does, RuntimeError. Each read counts in `db.statements`."""

        def whole(conn: sqlite3.Connection) -> tuple[_T, int]:
            reader = _ThreadReader(conn)
            return _drive(body(reader)), reader.statements  # type: ignore[arg-type]

        result, statements = await self._trip(whole)
        self.metrics.count(STATEMENTS, statements)
        return result

    async def _on_thread(self, fn: Callable[[sqlite3.Connection], tuple[_T, int]]) -> _T:
        async with self._lock:
            result, statements = await self._transaction_trip(fn)
            self.metrics.count(STATEMENTS, statements)
            self._committed()
            return result

    async def _transaction_trip(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """`fn` in a transaction of its own (`_in_transaction`), in one trip to the database thread; the
        caller holds the write lock."""
        return await self._trip(_in_transaction, fn)

    async def _trip(self, fn: Callable[..., _T], *args: Any) -> _T:
        """`fn(connection, *args)` on the database thread, in one trip."""
        self.metrics.count(TRIPS)
        conn = self.conn
        # aiosqlite has no public way to run a function on its thread: `_execute` queues one there (as
        # each of its own methods does). Used only here; tests/storage/test_db_run.py covers it.
        return await conn._execute(fn, conn._conn, *args)

    def _committed(self) -> None:
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint >= CHECKPOINT_EVERY_COMMITS and (
            self._checkpointing is None or self._checkpointing.done()
        ):
            self._commits_since_checkpoint = 0
            self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint())

    def upkeep(self, step: Upkeep) -> None:
        """Run `step` in the background (see `Upkeep`): before every background checkpoint, again and
        again until it says nothing is left (or the database closes)."""
        self._upkeep.append(step)

    async def run_upkeep(self) -> int:
        """Every upkeep step until each says nothing is left: how many steps ran. Between two steps the
        event loop runs, so a command waits for one step at most (a few milliseconds)."""
        ran = 0
        for step in self._upkeep:
            more = True
            while more and not self._closing:
                async with self._lock:
                    if self._conn is None:
                        return ran
                    more = await self._transaction_trip(step)
                ran += 1
                self.metrics.count(UPKEEP_STEPS)
                await asyncio.sleep(0)
        return ran

    async def _checkpoint(self) -> None:
        """Background upkeep then checkpoints, one round after another while a round of commits landed
        during the last: a round that fell due while one was running is not left in the log until some
        later commit."""
        while True:
            try:
                await self.run_upkeep()
                await self.checkpoint()
            except sqlite3.Error as exc:  # the next one will catch up; SQLite also checkpoints at close
                log.warning("background upkeep or checkpoint of %s failed: %s", self.path, exc)
                return
            if self._commits_since_checkpoint < CHECKPOINT_EVERY_COMMITS:
                return
            self._commits_since_checkpoint = 0

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file now, in a thread. The bot does this every
        CHECKPOINT_EVERY_COMMITS commits; a bulk import should call it when done, so that the next
        background checkpoint does not have a large log to copy while members are waiting."""
        running = self._checkpointing
        if running is not None and not running.done() and running is not asyncio.current_task():
            await running  # one at a time
        if self.path != ":memory:":
            await asyncio.to_thread(_checkpoint, self.path)
            self.metrics.count(CHECKPOINTS)

    async def _run(self, sql: str) -> None:
        self.metrics.count(TRIPS)
        await self.conn.execute_fetchall(sql)  # one trip to the database thread, cursor closed there

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction; returns the number of rows it changed."""
        return (await self._write(sql, params)).rowcount

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """One INSERT in its own transaction; returns the new row's id, or None when it inserted nothing."""
        return (await self._write(sql, params)).inserted

    async def _write(self, sql: str, params: Sequence[Any]) -> Result:
        async with self._lock:
            self.metrics.count(STATEMENTS)
            self.metrics.count(TRIPS)
            cur = await self.writer.execute(sql, params)
            self._committed()
            return Result(cur.lastrowid, cur.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Reads make one trip to the database thread (execute, fetch and close together)."""
        self.metrics.count(STATEMENTS)
        self.metrics.count(TRIPS)
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def backup_to(self, target: str | Path) -> None:
        """A consistent copy through SQLite's online backup API, safe while the bot runs."""
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(str(target)) as dest:
            await self.conn.backup(dest)


def _checkpoint(path: str) -> None:
    """Copy the write-ahead log into the database file, on a connection of its own (run in a thread).
    PASSIVE: it never waits for, nor blocks, the bot's reads and writes."""
    conn = sqlite3.connect(path, timeout=5)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise RuntimeError(f"incomplete SQL statement in migration: {buffer[:80]!r}")
    return statements
