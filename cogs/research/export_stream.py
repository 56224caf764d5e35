"""A research export written to disk as it is rendered, in a worker thread, whatever the episode's size.

The rows are read a few hundred at a time from a snapshot of the database (cogs.research.export_store):
a first pass over the shown contributions gathers what must be known before the first one is written
(the bibliography, which sources each cites, the replies under each, the credits), then the renderers of
cogs.research.export and cogs.research.dossier_html go through the rows again, writing the file piece by
piece. The result is byte for byte what rendering the whole dossier in memory gives (`export.render`
and `export.package`): one file while it is within the upload limit, else the same part files, each
part's body written as it fills and its head ("Part N of M") once M is known. Never imports discord:
member names come resolved (`names`)."""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

from bot.errors import InvalidInput
from cogs.research import dossier_html, export, export_store, parts
from cogs.research.dossier import (
    DossierEntry,
    DossierEpisode,
    FirstPass,
    Gathered,
    Keeper,
    Layout,
    Link,
    Person,
    Shown,
    shown_of,
)
from cogs.research.export_store import ALL, KEY, OTHERS, CitingRow, ExportRow, Sizes
from cogs.research.parts import Parts, Plan, Spilled

T = TypeVar("T")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # UTF-8 cannot hold them: U+FFFD in Markdown, HTML and CSV


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str
    path: Path
    size: int


class Rows(Collection[T]):
    """Rows read from the snapshot each time they are gone through (the dossier goes through its
    contributions twice: the contents, then the text), counted beforehand."""

    def __init__(self, count: int, read: Callable[[], Iterator[T]]) -> None:
        self._count = count
        self._read = read

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        return self._read()

    def __contains__(self, item: object) -> bool:
        return any(row == item for row in self)


class Overflow(Exception):
    """The dossier turned out larger than the upload limit while it was written as one file."""


class People:
    """Members as the dossier names them: the names resolved on the event loop (`names`: member id ->
    name as members see it now), a forum author not linked to a member by their forum name."""

    def __init__(self, names: Mapping[int, str]) -> None:
        self._names = names
        self._people: dict[int, Person] = {}

    def __call__(self, user_id: int | None, stored: str | None) -> Person:
        if user_id is None:
            return Person(None, stored or "a forum member")
        found = self._people.get(user_id)
        if found is None:
            name = self._names.get(user_id) or stored or f"member {user_id}"
            found = self._people[user_id] = Person(user_id, name)
        return found


BREATH_EVERY = 0.002  # seconds of work between two pauses of the worker
BREATH = 0.0002  # seconds: long enough for the event loop's thread to wake up and take the GIL


class Breather:
    """Gives the GIL away every few milliseconds. A thread that reads SQLite and writes files releases
    the GIL at every row and every write, but takes it back at once: the event loop, waiting for it,
    would wait its full switch interval (5 ms) again each time and could be kept out for tens of
    milliseconds. A short sleep lets it in."""

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def __call__(self) -> None:
        now = time.perf_counter()
        if now - self._last >= BREATH_EVERY:
            time.sleep(BREATH)
            self._last = time.perf_counter()


@dataclass(frozen=True)
class Source:
    """One episode's research in a snapshot, and what the dossier needs around it. Setting `stop` ends
    the writing at the next rows read (`Stopped`)."""

    conn: sqlite3.Connection
    episode_id: int
    sizes: Sizes
    header: DossierEpisode
    names: Mapping[int, str]
    like_keys: Collection[str]
    stop: threading.Event = field(default_factory=threading.Event)
    breathe: Breather = field(default_factory=Breather)


class Stopped(Exception):
    """The export was stopped (the bot is stopping)."""


def _checked(rows: Iterator[T], stop: threading.Event, breathe: Breather) -> Iterator[T]:
    for n, row in enumerate(rows):
        if n % export_store.BATCH == 0 and stop.is_set():
            raise Stopped
        breathe()
        yield row


def _entry(row: ExportRow, person: People) -> DossierEntry:
    return DossierEntry(
        id=row.id,
        author=person(row.author_id, row.author_name),
        origin=row.origin,
        title=row.title,
        body=row.body,
        sources=row.sources,
        created_at=row.created_at,
        edited_at=row.edited_at,
        url=row.jump_url,
        likes=len(row.liked_by) + row.forum_likes,
        liked_by=row.liked_by,
        attachments=row.attachments,
        links=row.links,
        reply_to_message_id=row.reply_to_message_id,
        reply_to_id=row.reply_id,
        added_by=person(row.added_by, None) if row.added_by is not None else None,
        mark=row.mark,
    )


def _citing(row: CitingRow, person: People) -> DossierEntry:
    """What the first pass reads of a contribution (what it cites and answers) as an entry."""
    return DossierEntry(
        id=row.id,
        author=person(row.author_id, row.author_name),
        origin="",
        title=row.title,
        body=row.body,
        sources=row.sources,
        created_at=row.created_at,
        edited_at=None,
        url=None,
        likes=0,
        links=row.links,
        reply_to_id=row.reply_id,
        mark=row.mark,
    )


def gather(source: Source, person: People, keeper: Keeper) -> Gathered:
    """The first pass: the shown contributions in reading order (key research, then the rest)."""
    first = FirstPass(keeper)
    for which in (KEY, OTHERS):
        for row in _checked(
            export_store.citing_rows(source.conn, source.episode_id, which), source.stop, source.breathe
        ):
            first.add(_citing(row, person))
    return first.finish()


def layout(source: Source, keeper: Keeper | None) -> Layout:
    """The dossier's layout over the snapshot: its contributions read again each time they are gone
    through, what the first pass gathers kept by `keeper`. Without one (CSV needs none) it has no
    bibliography, replies or credits."""
    person = People(source.names)
    gathered = gather(source, person, keeper) if keeper is not None else Gathered((), {}, {}, ())
    sizes = source.sizes
    conn, episode_id, keys = source.conn, source.episode_id, source.like_keys

    def rows(which: str) -> Iterator[ExportRow]:
        return _checked(export_store.export_rows(conn, episode_id, which, keys), source.stop, source.breathe)

    def shown(row: ExportRow) -> Shown:
        reply_to = None
        if row.reply_id is not None:
            author = person(row.reply_author_id, row.reply_author_name)
            reply_to = Link(row.reply_id, author.plain, row.reply_mark != "excluded")
        return shown_of(_entry(row, person), reply_to, gathered)

    return Layout(
        episode=source.header,
        entries=Rows(sizes.contributions, lambda: (_entry(r, person) for r in rows(ALL))),
        key=Rows(sizes.key, lambda: (shown(r) for r in rows(KEY))),
        others=Rows(
            sizes.contributions - sizes.key - sizes.excluded, lambda: (shown(r) for r in rows(OTHERS))
        ),
        left_out=export_store.excluded_numbers(conn, episode_id),
        bibliography=gathered.bibliography,
        credits=gathered.credits,
        cites=gathered.cites,
    )


# -- the estimate -----------------------------------------------------------------------------------------

# What a contribution takes in each format beside its text and links, in bytes (measured on seeded
# research: dates, labels, markup, JSON's keys), and a line of the contents in Markdown and HTML.
_ROW = {"markdown": 200, "html": 460, "json": 560, "csv": 100}
_TOC_LINE = {"markdown": 100, "html": 160}
_HEAD = {"markdown": 1_500, "html": 9_000, "json": 1_000, "csv": 200}  # the header, its stylesheet


@dataclass(frozen=True, slots=True)
class Estimate:
    """About how large a dossier is in one format, from SQL alone (sums of lengths and counts)."""

    contributions: int
    size: int  # bytes, about
    parts: int  # about how many files: 1 when it fits in one, 0 when no part can hold its head
    head: int  # bytes, about, that every part repeats (part 1's contents list for Markdown and HTML)
    limit: int

    @property
    def splittable(self) -> bool:
        """Whether parts of it are likely to fit (a part must hold its head and some text)."""
        return self.head + 4_096 <= self.limit


def estimate(sizes: Sizes, fmt: str, limit: int) -> Estimate:
    """About how large the dossier of an episode of `sizes` is in `fmt`, and in how many parts it comes
    within `limit` bytes (before any rendering: whether to write parts, the member's progress message,
    and what a refusal suggests)."""
    if fmt in ("json", "csv"):
        rows = sizes.contributions
        text = sizes.body + sizes.title + sizes.sources + sizes.attachments + sizes.links + sizes.names
        text += sizes.urls * (2 if fmt == "json" else 1)
        head = _HEAD[fmt]
        if fmt == "json":  # who liked each; the bibliography and credits end the last part
            text += 25 * sizes.likes + sizes.sources
            head += sizes.links + sizes.sources
    else:
        rows = sizes.contributions - sizes.excluded
        shown = rows / max(sizes.contributions, 1)
        text = sizes.shown_body + 2 * sizes.shown_title + sizes.shown_sources
        text += int((sizes.urls + sizes.attachments + sizes.links) * shown)  # links; the bibliography
        head = _HEAD[fmt] + _TOC_LINE[fmt] * rows
    size = text + _ROW[fmt] * rows + head
    room = limit - head
    if size <= limit:
        parts = 1
    elif room <= 0:
        parts = 0
    else:
        parts = max(2, math.ceil((size - head) / room))
    return Estimate(sizes.contributions, int(size), parts, head, limit)


# -- writing ---------------------------------------------------------------------------------------------


class Whole:
    """The dossier as one file, written while it stays within the upload limit; dropped once it passes
    it (`fits` then False). Passing it raises `Overflow` when no parts are written beside it, and what
    refused the parts when they could not be made."""

    def __init__(self, path: Path, limit: int, parts: PartFiles | None) -> None:
        self.path = path
        self.size = 0
        self.fits = True
        self._limit = limit
        self._parts = parts
        self._out: BinaryIO | None = path.open("wb")

    def write(self, text: str) -> None:
        if not self.fits:
            return
        data = text.encode("utf-8")
        self.size += len(data)
        if self.size > self._limit:
            self.fits = False
            self.close()
            self.path.unlink(missing_ok=True)
            if self._parts is None:
                raise Overflow
            if self._parts.failed is not None:
                raise self._parts.failed
            return
        assert self._out is not None
        self._out.write(data)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


class Units(Protocol):
    """Where a streamed text's units go, piece by piece (`Parts`, or `PartFiles` which guards it)."""

    def open_unit(self) -> None: ...
    def unit_text(self, text: str) -> None: ...
    def close_unit(self) -> None: ...


class Cutter:
    """Cuts a dossier's text where `parts.split` cuts it, while it streams: before every line the
    format's unit pattern matches (`parts.MARKDOWN_UNIT`, `parts.HTML_UNIT`). What comes before the first
    unit (the header and contents) is written to `preamble`; then `begin()` is called once, and each unit
    goes to `parts` piece by piece (`open_unit`, `unit_text`, `close_unit`)."""

    def __init__(self, pattern: re.Pattern[str], preamble: Path, begin: Callable[[], Units]) -> None:
        self._pattern = pattern
        self._carry = ""  # the last line, not complete yet
        self.preamble = preamble
        self._preamble_out: BinaryIO | None = preamble.open("wb")
        self._begin = begin
        self._parts: Units | None = None
        self._in_unit = False

    def feed(self, text: str) -> None:
        buffer = self._carry + text
        end = buffer.rfind("\n") + 1
        self._carry = buffer[end:]
        self._lines(buffer[:end])

    def finish(self) -> None:
        self._lines(self._carry)
        self._carry = ""
        self._close_unit()
        self._end_preamble()

    def _lines(self, lines: str) -> None:
        """Complete lines (or the end of the text): a unit starts at each match."""
        pos = 0
        for match in self._pattern.finditer(lines):
            self._add(lines[pos : match.start()])
            pos = match.start()
            if self._in_unit:
                self._close_unit()
            else:
                self._end_preamble()
                self._parts = self._begin()
            self._in_unit = True
            if self._parts is not None:
                self._parts.open_unit()
        self._add(lines[pos:])

    def _add(self, text: str) -> None:
        if not text:
            return
        if self._in_unit:
            if self._parts is not None:
                self._parts.unit_text(text)
        elif self._preamble_out is not None:
            self._preamble_out.write(text.encode("utf-8"))

    def _close_unit(self) -> None:
        if self._in_unit and self._parts is not None:
            self._parts.close_unit()
        self._in_unit = False

    def _end_preamble(self) -> None:
        if self._preamble_out is not None:
            self._preamble_out.close()
            self._preamble_out = None


def _split_preamble(path: Path, delimiter: bytes, *, keep: bool) -> tuple[str, parts.Piece]:
    """(what comes before `delimiter`, with it when `keep`; the rest of the file after it)."""
    total = path.stat().st_size
    head = b""
    with path.open("rb") as file:
        while (at := head.find(delimiter)) < 0:
            block = file.read(1 << 16)
            if not block:
                return head.decode("utf-8"), ""
            head += block
    start = at + len(delimiter)
    return head[: start if keep else at].decode("utf-8"), Spilled(path, start, total - start)


# Spilled: a part's head (contents), a JSON part's end, the first pass's bibliography and replies.
PREAMBLE, ENDING, SCRATCH = ".preamble", ".ending", ".scratch.sqlite3"


class PartFiles:
    """Part files written beside the one file, in `folder`: their bodies as they fill, then the files
    assembled from them. When the parts can't be made (a head larger than the limit), that refusal is
    kept (`failed`): it stands only if the one file passes the limit too."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = folder
        self.limit = limit
        self.whole: Whole | None = None
        self.parts: Parts | None = None
        self.plan: Plan | None = None
        self.failed: InvalidInput | None = None

    @property
    def started(self) -> bool:
        return self.parts is not None or self.failed is not None

    def start(self, plan: Plan) -> None:
        self.plan = plan
        try:
            self.parts = Parts(plan, self.limit, lambda n: (self.folder / f".body{n}").open("w+b"))
        except InvalidInput as exc:
            self._fail(exc)

    def add(self, unit: str) -> None:
        self._do(lambda parts: parts.add(unit))

    def _do(self, step: Callable[[Parts], None]) -> None:
        if self.parts is None or self.failed is not None:
            return
        try:
            step(self.parts)
        except InvalidInput as exc:
            self._fail(exc)

    # A unit of a streamed text, piece by piece (see `Cutter`).
    def open_unit(self) -> None:
        self._do(lambda parts: parts.open_unit())

    def unit_text(self, text: str) -> None:
        self._do(lambda parts: parts.unit_text(text))

    def close_unit(self) -> None:
        self._do(lambda parts: parts.close_unit())

    def _fail(self, exc: InvalidInput) -> None:
        self.failed = exc
        self.close()
        if self.whole is not None and not self.whole.fits:
            raise exc

    def finish(self, name: str) -> list[ExportFile]:
        if self.failed is not None:
            raise self.failed
        assert self.parts is not None and self.plan is not None
        m = self.parts.finish()
        stem, ext = name.rsplit(".", 1)
        files = []
        for n, body in enumerate(self.parts.bodies, start=1):
            path = self.folder / f"{stem}-part{n}.{ext}"
            with path.open("wb") as out:
                parts.assemble(self.plan, n, m, body, out)
            files.append(ExportFile(path.name, path, path.stat().st_size))
        self.close()
        return files

    def close(self) -> None:
        if self.parts is not None:
            for body in self.parts.bodies:
                body.close()
                Path(body.name).unlink(missing_ok=True)
            self.parts = None


def write(source: Source, fmt: str, limit: int, folder: Path, *, split: bool) -> list[ExportFile]:
    """The dossier in `fmt` written to `folder`: one file when it is within `limit` bytes, else part
    files each within it. Without `split` only the one file is written, and Overflow is raised as soon
    as it passes the limit (the caller then writes it again with `split`). Raises InvalidInput when it
    passes the limit and even one part cannot be made small enough (see cogs.research.parts)."""
    ext, _ = export.renderer_for(fmt)
    name = f"{source.header.code}-research.{ext}"
    part_files = PartFiles(folder, limit) if split else None
    whole = Whole(folder / name, limit, part_files)
    if part_files is not None:
        part_files.whole = whole
    scratch = export_store.Scratch(folder / SCRATCH) if fmt != "csv" else None
    try:
        if fmt == "json":
            _write_json(layout(source, scratch), whole, part_files, folder)
        elif fmt == "csv":
            _write_csv(layout(source, None), whole, part_files)
        else:
            _write_text(layout(source, scratch), fmt, whole, part_files, folder)
        whole.close()
        if whole.fits:
            return [ExportFile(name, whole.path, whole.size)]
        assert part_files is not None  # else Overflow was raised
        return part_files.finish(name)
    finally:
        whole.close()
        if part_files is not None:
            part_files.close()
        if scratch is not None:
            scratch.close()
        for spilled in (PREAMBLE, ENDING, SCRATCH):
            (folder / spilled).unlink(missing_ok=True)


def _write_text(lay: Layout, fmt: str, whole: Whole, part_files: PartFiles | None, folder: Path) -> None:
    """Markdown or HTML: one stream of text, cut into units as `parts.split` cuts it."""
    if fmt == "html":
        pieces: Iterable[str] = dossier_html.pieces(lay)
        pattern, delimiter, make_plan = parts.HTML_UNIT, parts.HTML_HEAD_END.encode(), parts.html_plan
    else:
        pieces = export.markdown_pieces(lay)
        pattern, delimiter, make_plan = parts.MARKDOWN_UNIT, b"\n", parts.markdown_plan
    keep = fmt == "html"  # the HTML head keeps its </h1>; the Markdown title line drops its line break
    cutter = None
    if part_files is not None:

        def begin() -> PartFiles:  # the first unit: the head (with the contents) is complete
            part_files.start(make_plan(*_split_preamble(folder / PREAMBLE, delimiter, keep=keep)))
            return part_files

        cutter = Cutter(pattern, folder / PREAMBLE, begin)
    for piece in pieces:
        piece = _SURROGATE.sub("\ufffd", piece)
        whole.write(piece)
        if cutter is not None:
            cutter.feed(piece)
    if cutter is not None:
        cutter.finish()
        if part_files is not None and not part_files.started:  # no unit at all: one part, its head
            part_files.start(make_plan(*_split_preamble(folder / PREAMBLE, delimiter, keep=keep)))


def _write_json(lay: Layout, whole: Whole, part_files: PartFiles | None, folder: Path) -> None:
    if part_files is not None:
        ending = folder / ENDING
        with ending.open("wb") as out:  # written as it goes: a bibliography can be long
            bibliography = (parts.dump(export.source_json(s)) for s in lay.bibliography)
            credits = (parts.dump(c) for c in export.credits_json(lay.credits))
            out.write(b'\n],\n"bibliography": ')
            for piece in export.json_list(bibliography, 0):
                out.write(piece.encode("utf-8"))
            out.write(b',\n"credits": ')
            for piece in export.json_list(credits, 0):
                out.write(piece.encode("utf-8"))
            out.write(b"\n}\n")
        spilled = Spilled(ending, 0, ending.stat().st_size)
        part_files.start(parts.json_plan(parts.dump(export.episode_json(lay.episode)), spilled))

    def entries() -> Iterator[str]:
        for e in lay.entries:
            dumped = export.entry_dump(e, lay)
            if part_files is not None:
                part_files.add(dumped)
            yield dumped

    for piece in export.json_pieces(lay, entries()):
        whole.write(piece)


def _write_csv(lay: Layout, whole: Whole, part_files: PartFiles | None) -> None:
    if part_files is not None:
        part_files.start(parts.csv_plan(export.CSV_HEAD, export.CSV_COLUMNS.index("text")))
    whole.write(export.CSV_HEAD)
    for row in export.csv_rows(lay):
        row = _SURROGATE.sub("\ufffd", row)
        whole.write(row)
        if part_files is not None:
            part_files.add(row)
