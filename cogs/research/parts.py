"""A dossier over the upload limit, split into parts that each fit: at contribution boundaries, each part
a file of its own format (Markdown and HTML with the episode's title and "Part N of M", JSON each valid,
CSV each with its header row and byte order mark). Only a single contribution larger than a part is cut,
visibly ("continued in part N").

The same rule serves a rendered text (`split`) and a dossier streamed to disk (`Parts`, fed one unit at a
time by cogs.research.export_stream): units go whole into parts in order, each part's body written as it
fills; the heads ("Part N of M") are written once M is known (`assemble`)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bot.errors import InvalidInput

TOO_LARGE = (
    "This server's upload limit is too small for even one part of this dossier in this format. "
    "Try `format:csv` (the most compact), or ask an admin for a backup of the database (`archivist backup`)."
)
_MOST = 10**6  # the part numbers budgeted for in a part's head ("Part 1000000 of 1000000")


@dataclass(frozen=True, slots=True)
class Spilled:
    """Text kept in a file while a large dossier is written (its table of contents, its bibliography):
    `size` bytes of `path` from `start`, copied into a part where the head or the end holds it."""

    path: Path
    start: int
    size: int


Piece = str | Spilled


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def size_of(pieces: Iterable[Piece]) -> int:
    return sum(p.size if isinstance(p, Spilled) else size(p) for p in pieces)


@dataclass(frozen=True)
class Plan:
    """How a dossier comes apart: `head(n, m)` opens part n of m, units go whole into parts in order
    (joined by `sep`), `close(last)` ends a part; `cut(unit, room, next_part)` returns a piece of a unit
    within `room` bytes, marked "continued in part next_part", and the rest."""

    head: Callable[[int, int], Sequence[Piece]]
    close: Callable[[bool], Sequence[Piece]]
    cut: Callable[[str, int, int], tuple[str, str]]
    sep: str = ""


class Parts:
    """Places units into parts in order, each part at most `limit` bytes once its head and end are added:
    a unit goes into the current part when it fits, else it starts the next one; a unit larger than a part
    is cut. Each part's body (its units) is written to the stream `open_body(n)` gives. Raises InvalidInput
    when even one part cannot hold a head, its end and a little text."""

    def __init__(self, plan: Plan, limit: int, open_body: Callable[[int], BinaryIO]) -> None:
        self.plan = plan
        reserve = max(size_of(plan.head(1, _MOST)), size_of(plan.head(2, _MOST))) + size_of(plan.close(False))
        self.room = limit - reserve - size(plan.sep)
        if self.room < 64:
            raise InvalidInput(TOO_LARGE)
        self._open = open_body
        self._sep = plan.sep.encode("utf-8")
        self.bodies: list[BinaryIO] = [open_body(1)]
        self._units = 0  # in the current part
        self._used = 0

    def _next_part(self) -> None:
        self.bodies.append(self._open(len(self.bodies) + 1))
        self._units = 0

    def _put(self, data: bytes) -> None:
        if self._units:
            self.bodies[-1].write(self._sep)
        self.bodies[-1].write(data)
        self._units += 1

    def add(self, unit: str) -> None:
        # A unit of more characters than the room has more bytes too: it is cut without being encoded
        # whole (a long bibliography is one unit).
        data = unit.encode("utf-8") if len(unit) <= self.room else None
        if data is not None:
            extra = len(data) + (len(self._sep) if self._units else 0)
            if self._used + extra <= self.room:
                self._put(data)
                self._used += extra
                return
        if self._units:
            self._next_part()
        self._cut_in(unit)

    def _cut_in(self, unit: str) -> None:
        """A unit larger than a part's room, from the start of a part: cut (`plan.cut`) into parts of its
        own, its last piece beginning the part the next units join."""
        data = unit.encode("utf-8") if len(unit) <= self.room else None
        while data is None or len(data) > self.room:
            piece, unit = self.plan.cut(unit, self.room, len(self.bodies) + 1)
            self._put(piece.encode("utf-8"))
            self._next_part()
            data = unit.encode("utf-8") if len(unit) <= self.room else None
        self._put(data)
        self._used = len(data)

    # -- a unit given piece by piece (Markdown and HTML: a long bibliography is one unit) -----------------

    def open_unit(self) -> None:
        self._pending: list[str] = []
        self._chars = 0
        self._cutting = False

    def unit_text(self, text: str) -> None:
        """More of the open unit. It is held only until it passes a part's room: what `cut` takes from a
        unit depends on its first `room` characters alone, so the pieces are cut off as they are known
        (a Markdown or HTML cut; JSON and CSV units come whole through `add`)."""
        self._pending.append(text)
        self._chars += len(text)
        if self._chars <= self.room:
            return
        unit = "".join(self._pending)
        if not self._cutting:
            if self._units:
                self._next_part()
            self._cutting = True
        while len(unit) > self.room:
            piece, unit = self.plan.cut(unit, self.room, len(self.bodies) + 1)
            self._put(piece.encode("utf-8"))
            self._next_part()
        self._pending = [unit]
        self._chars = len(unit)

    def close_unit(self) -> None:
        unit = "".join(self._pending)
        self._pending = []
        if not self._cutting:
            self.add(unit)
            return
        self._cutting = False
        self._cut_in(unit)

    def finish(self) -> int:
        """The number of parts, once every unit is in (the last part's end may need a part of its own)."""
        ending = size_of(self.plan.close(True)) - size_of(self.plan.close(False))
        if self._used + ending > self.room:  # the last part's end (JSON's bibliography and credits)
            self._next_part()
            if ending > self.room:
                raise InvalidInput(TOO_LARGE)
        return len(self.bodies)


def write_pieces(out: BinaryIO, pieces: Iterable[Piece]) -> None:
    for piece in pieces:
        if isinstance(piece, Spilled):
            with piece.path.open("rb") as source:
                source.seek(piece.start)
                _copy(source, out, piece.size)
        else:
            out.write(piece.encode("utf-8"))


def _copy(source: BinaryIO, out: BinaryIO, length: int) -> None:
    while length > 0:
        block = source.read(min(length, 1 << 20))
        if not block:
            return
        out.write(block)
        length -= len(block)


def assemble(plan: Plan, n: int, m: int, body: BinaryIO, out: BinaryIO) -> None:
    """Part n of m: its head, its body (read from the start) and its end, written to `out`."""
    write_pieces(out, plan.head(n, m))
    body.seek(0)
    shutil.copyfileobj(body, out, 1 << 20)
    write_pieces(out, plan.close(n == m))


# -- plans of a rendered text ---------------------------------------------------------------------------


def _cut_text(marker: Callable[[int], str]) -> Callable[[str, int, int], tuple[str, str]]:
    """Cut at the last line break that fits (or anywhere, between characters, when there is none in
    the second half), the piece ending with `marker(next_part)`."""

    def cut(unit: str, room: int, next_part: int) -> tuple[str, str]:
        # The first `room` characters hold at least the first `room` bytes: only they are encoded.
        data = unit[:room].encode("utf-8")[: max(room - size(marker(next_part)), 1)]
        at = data.rfind(b"\n")
        keep = data[: at + 1] if at >= len(data) // 2 else data
        piece = keep.decode("utf-8", errors="ignore")
        if not piece:
            raise InvalidInput(TOO_LARGE)
        return piece + marker(next_part), unit[len(piece) :]

    return cut


# Where a Markdown or HTML dossier comes apart: before each contribution and before the bibliography.
MARKDOWN_UNIT = re.compile(r'(?m)^(?=<a id="(?:c\d+|bibliography)"></a>$)')
HTML_UNIT = re.compile(r'(?m)^(?=<article id="c\d+"|<section id="bibliography">)')


def markdown_plan(title: str, rest: Piece) -> Plan:
    """`title` is the dossier's first line; `rest` what comes after it before the first unit."""

    def head(n: int, m: int) -> list[Piece]:
        return [f"{title}\n\n**Part {n} of {m}**\n", rest if n == 1 else "\n"]

    marker = _cut_text(lambda n: f"\n\n*(continued in part {n})*\n\n")
    return Plan(head, lambda last: [], marker)


HTML_CLOSE = "</section>\n</main>\n</div>\n</body>\n</html>\n"
HTML_HEAD_END = "</h1>"


def html_plan(top: str, rest: Piece) -> Plan:
    """`top` is the document up to the end of its title (`</h1>`), `rest` what follows before the first
    unit."""

    def head(n: int, m: int) -> list[Piece]:
        return [
            f'{top}\n<p class="kicker">Part {n} of {m}</p>',
            rest if n == 1 else "\n</header>\n<main>\n<section>\n",
        ]

    marker = _cut_text(lambda n: f'\n<p class="note">(continued in part {n})</p>\n')
    return Plan(head, lambda last: [] if last else [HTML_CLOSE], marker)


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def dump(value: object) -> str:
    """JSON as the dossier writes it (indented by one, lone surrogates as \\u escapes)."""
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


JSON_SEP = ",\n"
JSON_CLOSE = "\n]\n}\n"


def json_plan(episode: str, ending: Piece) -> Plan:
    """`episode` is the episode's object as `dump` writes it; `ending` closes the last part (its
    bibliography and credits: see `json_ending`)."""

    def head(n: int, m: int) -> list[Piece]:
        return [f'{{\n"episode": {episode},\n"part": {n},\n"parts": {m},\n"contributions": [\n']

    def cut(unit: str, room: int, next_part: int) -> tuple[str, str]:
        entry = json.loads(unit)
        body = entry.get("text") or ""
        keep = len(body) * room // max(size(unit), 1)
        while keep > 0:
            piece = dump({**entry, "text": body[:keep], "continued_in_part": next_part})
            if size(piece) <= room:
                return piece, dump({**entry, "text": body[keep:]})
            keep = keep * 9 // 10
        raise InvalidInput(TOO_LARGE)

    return Plan(head, lambda last: [ending] if last else [JSON_CLOSE], cut, sep=JSON_SEP)


def json_ending(bibliography: str, credits: str) -> str:
    return f'\n],\n"bibliography": {bibliography},\n"credits": {credits}\n}}\n'


def csv_row(row: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerow(row)
    return out.getvalue()


def csv_plan(head_text: str, column: int) -> Plan:
    """`head_text` opens every part (the byte order mark and the header row); `column` is the text's."""

    def cut(unit: str, room: int, next_part: int) -> tuple[str, str]:
        (row,) = csv.reader(io.StringIO(unit, newline=""))
        body = row[column]
        keep = len(body) * room // max(size(unit), 1)
        while keep > 0:
            marked = f"{body[:keep]} … (continued in part {next_part})"
            piece = csv_row([*row[:column], marked, *row[column + 1 :]])
            if size(piece) <= room:
                return piece, csv_row([*row[:column], body[keep:], *row[column + 1 :]])
            keep = keep * 9 // 10
        raise InvalidInput(TOO_LARGE)

    return Plan(lambda n, m: [head_text], lambda last: [], cut)


def _markdown(text: str) -> tuple[Plan, list[str]]:
    chunks = MARKDOWN_UNIT.split(text)
    title, _, rest = chunks[0].partition("\n")
    return markdown_plan(title, rest), chunks[1:]


def _html(text: str) -> tuple[Plan, list[str]]:
    chunks = HTML_UNIT.split(text)
    top, h1, rest = chunks[0].partition(HTML_HEAD_END)
    return html_plan(top + h1, rest), chunks[1:]


def _json(text: str) -> tuple[Plan, list[str]]:
    document = json.loads(text)
    ending = json_ending(dump(document["bibliography"]), dump(document["credits"]))
    return json_plan(dump(document["episode"]), ending), [dump(e) for e in document["contributions"]]


def _csv(text: str) -> tuple[Plan, list[str]]:
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    header, *rows = csv.reader(io.StringIO(text.removeprefix(bom), newline=""))
    return csv_plan(bom + csv_row(header), header.index("text")), [csv_row(r) for r in rows]


PLANS: dict[str, Callable[[str], tuple[Plan, list[str]]]] = {
    "md": _markdown,
    "html": _html,
    "json": _json,
    "csv": _csv,
}


def split(text: str, ext: str, limit: int) -> list[str]:
    """The texts of the parts, in order, each at most `limit` bytes in UTF-8, together holding every
    unit of `text` (a file of extension `ext`). Raises InvalidInput when even one part cannot hold a
    head, its closing and a little text."""
    plan, units = PLANS[ext](text)
    parts = Parts(plan, limit, lambda n: io.BytesIO())
    for unit in units:
        parts.add(unit)
    m = parts.finish()
    out = []
    for n, body in enumerate(parts.bodies, start=1):
        file = io.BytesIO()
        assemble(plan, n, m, body, file)
        out.append(file.getvalue().decode("utf-8"))
    return out
