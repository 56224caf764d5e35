"""A rendered dossier over the upload limit, split into parts that each fit: at contribution boundaries,
each part a file of its own format (Markdown and HTML with the episode's title and "Part N of M", JSON
each valid, CSV each with its header row and byte order mark). Only a single contribution larger than a
part is cut, visibly ("continued in part N")."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import InvalidInput

TOO_LARGE = (
    "This server's upload limit is too small for even one part of this dossier in this format. "
    "Try `format:csv` (the most compact), or ask an admin for a backup of the database (`archivist backup`)."
)
_MOST = 10**6  # the part numbers budgeted for in a part's head ("Part 1000000 of 1000000")


@dataclass(frozen=True)
class Plan:
    """How a rendered file comes apart: `head(n, m)` opens part n of m, `units` go whole into parts in
    order (joined by `sep`), `close(last)` ends a part; `cut(unit, room, next_part)` returns a piece of
    a unit within `room` bytes, marked "continued in part next_part", and the rest."""

    head: Callable[[int, int], str]
    units: list[str]
    close: Callable[[bool], str]
    cut: Callable[[str, int, int], tuple[str, str]]
    sep: str = ""


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut_text(marker: Callable[[int], str]) -> Callable[[str, int, int], tuple[str, str]]:
    """Cut at the last line break that fits (or anywhere, between characters, when there is none in
    the second half), the piece ending with `marker(next_part)`."""

    def cut(unit: str, room: int, next_part: int) -> tuple[str, str]:
        data = unit.encode("utf-8")[: max(room - size(marker(next_part)), 1)]
        at = data.rfind(b"\n")
        keep = data[: at + 1] if at >= len(data) // 2 else data
        piece = keep.decode("utf-8", errors="ignore")
        if not piece:
            raise InvalidInput(TOO_LARGE)
        return piece + marker(next_part), unit[len(piece) :]

    return cut


def _markdown(text: str) -> Plan:
    chunks = re.split(r'(?m)^(?=<a id="(?:c\d+|bibliography)"></a>$)', text)
    title, _, rest = chunks[0].partition("\n")

    def head(n: int, m: int) -> str:
        return f"{title}\n\n**Part {n} of {m}**\n" + (rest if n == 1 else "\n")

    marker = _cut_text(lambda n: f"\n\n*(continued in part {n})*\n\n")
    return Plan(head, chunks[1:], lambda last: "", marker)


_HTML_CLOSE = "</section>\n</main>\n</div>\n</body>\n</html>\n"


def _html(text: str) -> Plan:
    chunks = re.split(r'(?m)^(?=<article id="c\d+"|<section id="bibliography">)', text)
    top, h1, rest = chunks[0].partition("</h1>")

    def head(n: int, m: int) -> str:
        line = f'\n<p class="kicker">Part {n} of {m}</p>'
        return top + h1 + line + (rest if n == 1 else "\n</header>\n<main>\n<section>\n")

    marker = _cut_text(lambda n: f'\n<p class="note">(continued in part {n})</p>\n')
    return Plan(head, chunks[1:], lambda last: "" if last else _HTML_CLOSE, marker)


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _dump(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def _json(text: str) -> Plan:
    document = json.loads(text)
    episode = _dump(document["episode"])
    ending = f'\n],\n"bibliography": {_dump(document["bibliography"])},\n"credits": {_dump(document["credits"])}\n}}\n'

    def head(n: int, m: int) -> str:
        return f'{{\n"episode": {episode},\n"part": {n},\n"parts": {m},\n"contributions": [\n'

    def cut(unit: str, room: int, next_part: int) -> tuple[str, str]:
        entry = json.loads(unit)
        body = entry.get("text") or ""
        keep = len(body) * room // max(size(unit), 1)
        while keep > 0:
            piece = _dump({**entry, "text": body[:keep], "continued_in_part": next_part})
            if size(piece) <= room:
                return piece, _dump({**entry, "text": body[keep:]})
            keep = keep * 9 // 10
        raise InvalidInput(TOO_LARGE)

    units = [_dump(entry) for entry in document["contributions"]]
    return Plan(head, units, lambda last: ending if last else "\n]\n}\n", cut, sep=",\n")


def _csv_row(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerow(row)
    return out.getvalue()


def _csv(text: str) -> Plan:
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    header, *rows = csv.reader(io.StringIO(text.removeprefix(bom), newline=""))
    column = header.index("text")

    def cut(unit: str, room: int, next_part: int) -> tuple[str, str]:
        (row,) = csv.reader(io.StringIO(unit, newline=""))
        body = row[column]
        keep = len(body) * room // max(size(unit), 1)
        while keep > 0:
            marked = f"{body[:keep]} … (continued in part {next_part})"
            piece = _csv_row([*row[:column], marked, *row[column + 1 :]])
            if size(piece) <= room:
                return piece, _csv_row([*row[:column], body[keep:], *row[column + 1 :]])
            keep = keep * 9 // 10
        raise InvalidInput(TOO_LARGE)

    return Plan(lambda n, m: bom + _csv_row(header), [_csv_row(r) for r in rows], lambda last: "", cut)


PLANS: dict[str, Callable[[str], Plan]] = {"md": _markdown, "html": _html, "json": _json, "csv": _csv}


def split(text: str, ext: str, limit: int) -> list[str]:
    """The texts of the parts, in order, each at most `limit` bytes in UTF-8, together holding every
    unit of `text` (a file of extension `ext`). Raises InvalidInput when even one part cannot hold a
    head, its closing and a little text."""
    plan = PLANS[ext](text)
    reserve = max(size(plan.head(1, _MOST)), size(plan.head(2, _MOST))) + size(plan.close(False))
    room = limit - reserve - size(plan.sep)
    if room < 64:
        raise InvalidInput(TOO_LARGE)
    parts: list[list[str]] = [[]]
    used = 0
    for unit in plan.units:
        extra = size(unit) + (size(plan.sep) if parts[-1] else 0)
        if used + extra <= room:
            parts[-1].append(unit)
            used += extra
            continue
        if parts[-1]:
            parts.append([])
        while size(unit) > room:
            piece, unit = plan.cut(unit, room, len(parts) + 1)
            parts[-1].append(piece)
            parts.append([])
        parts[-1].append(unit)
        used = size(unit)
    ending = size(plan.close(True)) - size(plan.close(False))
    if used + ending > room:  # the last part's closing (JSON's bibliography and credits) needs one more
        parts.append([])
        if ending > room:
            raise InvalidInput(TOO_LARGE)
    m = len(parts)
    return [
        plan.head(n, m) + plan.sep.join(units) + plan.close(n == m) for n, units in enumerate(parts, start=1)
    ]
