"""The research dossier as plain data (names resolved by the caller), rendered as Markdown, JSON or CSV."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.errors import InvalidInput
from cogs.research.rules import extract_links, normalize_url, split_sources

if TYPE_CHECKING:
    from cogs.research.store import Contribution


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class DossierEntry:
    id: int  # the contribution number
    author: Person
    origin: str  # thread | form | menu
    title: str | None
    body: str
    sources: str | None
    created_at: datetime
    edited_at: datetime | None
    url: str | None
    likes: int
    liked_by: tuple[int, ...] = ()
    attachments: tuple[tuple[str, str], ...] = ()  # (filename, url)
    links: tuple[str, ...] = ()
    reply_to_message_id: int | None = None
    reply_to_id: int | None = None  # the contribution it answers, when that one is recorded too
    added_by: Person | None = None


@dataclass(frozen=True, slots=True)
class DossierEpisode:
    code: str
    title: str
    status: str
    description: str | None
    authors: tuple[Person, ...]
    created_at: datetime
    updated_at: datetime
    exported_at: datetime
    dates: tuple[tuple[str, datetime], ...] = ()  # deadlines and the like: (label, when)
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Credit:
    person: Person
    contributions: int


@dataclass(frozen=True, slots=True)
class Dossier:
    episode: DossierEpisode
    entries: tuple[DossierEntry, ...]  # oldest first
    credits: tuple[Credit, ...] = field(default=())


def credits_of(entries: Iterable[DossierEntry]) -> tuple[Credit, ...]:
    """Contributors with their number of contributions: most first, then by first contribution."""
    counts: dict[int, int] = {}
    people: dict[int, Person] = {}
    for entry in entries:
        counts[entry.author.id] = counts.get(entry.author.id, 0) + 1
        people.setdefault(entry.author.id, entry.author)
    # `people` is in order of first contribution, and sorted() is stable: ties keep that order.
    ranked = sorted(people, key=lambda uid: -counts[uid])
    return tuple(Credit(people[uid], counts[uid]) for uid in ranked)


def entries_of(
    rows: Sequence[Contribution],
    liked: Mapping[int, Sequence[int]],
    person: Callable[[int, str | None], Person],
) -> tuple[DossierEntry, ...]:
    """Stored contributions (oldest first) as dossier entries, with who liked each (`liked`:
    contribution id -> member ids) and the contribution each reply answers. `person(user id, stored
    name)` names the members: the caller resolves names, after reading the rows."""
    by_message = {r.message_id: r.id for r in rows if r.message_id is not None}
    entries = []
    for row in rows:
        who_liked = tuple(liked.get(row.id, ()))
        reply = row.reply_to_message_id
        entries.append(
            DossierEntry(
                id=row.id,
                author=person(row.author_id, row.author_name),
                origin=row.origin,
                title=row.title,
                body=row.body,
                sources=row.sources,
                created_at=row.created_at,
                edited_at=row.edited_at,
                url=row.jump_url,
                likes=len(who_liked),
                liked_by=who_liked,
                attachments=tuple((a.filename, a.url) for a in row.attachments),
                links=row.links,
                reply_to_message_id=reply,
                reply_to_id=by_message.get(reply) if reply else None,
                added_by=person(row.added_by, None) if row.added_by is not None else None,
            )
        )
    return tuple(entries)


def bibliography(entries: Iterable[DossierEntry]) -> list[str]:
    """Every source line and every URL cited, each once: a URL already part of a source line is not
    repeated on its own; the same page cited with small differences (www., a trailing /, utm_ tags)
    counts once."""
    entries = list(entries)
    seen: set[str] = set()
    items: list[str] = []
    for entry in entries:
        for line in split_sources(entry.sources):
            urls = extract_links(line)
            key = " ".join(line.casefold().split())
            url_keys = {normalize_url(u) for u in urls}
            if key in seen or (urls and url_keys <= seen and _is_only_urls(line, urls)):
                continue
            seen.add(key)
            seen.update(url_keys)
            items.append(line)
    for entry in entries:
        for url in entry.links:
            key = normalize_url(url)
            if key not in seen:
                seen.add(key)
                items.append(url)
    return items


def _is_only_urls(line: str, urls: list[str]) -> bool:
    rest = line
    for url in urls:
        rest = rest.replace(url, "")
    return not rest.strip(" -–—:;,.<>()[]")


@functools.lru_cache(maxsize=4096)
def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _quoted(text: str) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in text.splitlines()] or [">"]


@functools.lru_cache(maxsize=4096)
def _who(person: Person) -> str:
    return f"{_md_escape(person.name)} (<@{person.id}>, id {person.id})"


def _md_entry(entry: DossierEntry) -> list[str]:
    """The lines of one contribution in the Markdown dossier."""
    lines: list[str] = []
    heading = f"### #{entry.id}"
    if entry.title:
        heading += f" · {_md_escape(entry.title)}"
    lines += [heading, ""]
    lines.append(f"- **Author:** {_who(entry.author)}")
    date = _when(entry.created_at)
    if entry.edited_at:
        date += f" (edited {_when(entry.edited_at)})"
    lines.append(f"- **Date:** {date}")
    if entry.url:
        lines.append(f"- **Link:** {entry.url}")
    lines.append(f"- **Likes:** {entry.likes}")
    if entry.reply_to_id is not None:
        lines.append(f"- **In reply to:** #{entry.reply_to_id}")
    elif entry.reply_to_message_id is not None:
        lines.append(f"- **In reply to:** message {entry.reply_to_message_id}")
    if entry.added_by is not None and entry.origin == "menu":
        lines.append(f"- **Added by:** {_who(entry.added_by)}")
    lines += ["", *_quoted(entry.body or "(no text)"), ""]
    if entry.sources:
        lines += ["**Sources:**", ""]
        lines += [f"- {s}" for s in split_sources(entry.sources)]
        lines.append("")
    if entry.attachments:
        lines += ["**Attachments:**", ""]
        lines += [f"- [{_md_escape(name)}]({url})" for name, url in entry.attachments]
        lines.append("")
    return lines


def render_markdown(dossier: Dossier) -> str:
    ep = dossier.episode
    credits = dossier.credits or credits_of(dossier.entries)
    lines = [
        f"# {_md_escape(ep.code)} · {_md_escape(ep.title)}",
        "",
        "Research dossier compiled by Archivist.",
        "",
    ]
    lines.append(f"- **Status:** {ep.status}")
    authors = ", ".join(_who(a) for a in ep.authors) or "none yet"
    lines.append(f"- **Authors:** {authors}")
    lines.append(f"- **Created:** {_when(ep.created_at)}")
    lines.append(f"- **Last updated:** {_when(ep.updated_at)}")
    for label, when in ep.dates:
        lines.append(f"- **{_md_escape(label)}:** {_when(when)}")
    if ep.url:
        lines.append(f"- **Thread:** {ep.url}")
    lines.append(f"- **Exported:** {_when(ep.exported_at)}")
    lines.append(f"- **Contributions:** {len(dossier.entries)} from {len(credits)} contributor(s)")
    if ep.description:
        lines += ["", *_quoted(ep.description)]
    lines += ["", "## Contributions", ""]
    if not dossier.entries:
        lines += ["No contributions yet.", ""]
    for entry in dossier.entries:
        lines += _md_entry(entry)
    lines += ["## Bibliography", ""]
    bib = bibliography(dossier.entries)
    lines += [f"{i}. {item}" for i, item in enumerate(bib, 1)] or ["No sources or links cited."]
    lines += ["", "## Credits", ""]
    lines += [f"- {_who(c.person)} — {c.contributions} contribution(s)" for c in credits] or [
        "No contributors yet."
    ]
    return "\n".join(lines) + "\n"


# One encoder for every part: json.dumps(…, ensure_ascii=False) would build a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _person_json(p: Person | None) -> dict[str, str] | None:
    return None if p is None else {"id": str(p.id), "name": p.name}


def _entry_json(e: DossierEntry) -> dict[str, object]:
    return {
        "id": e.id,
        "author_id": str(e.author.id),
        "author_name": e.author.name,
        "author": _person_json(e.author),
        "origin": e.origin,
        "title": e.title,
        "text": e.body,
        "sources": split_sources(e.sources),
        "links": list(e.links),
        "attachments": [{"filename": n, "url": u} for n, u in e.attachments],
        "created_at": _iso(e.created_at),
        "edited_at": _iso(e.edited_at),
        "url": e.url,
        "link": e.url,
        "likes": e.likes,
        "liked_by": [str(u) for u in e.liked_by],
        "reply_to": e.reply_to_id,
        "reply_to_message_id": str(e.reply_to_message_id) if e.reply_to_message_id else None,
        "added_by": _person_json(e.added_by),
    }


def render_json(dossier: Dossier) -> str:
    """One JSON document: `episode`, `contributions` (one per line, each with its stable `id`, the
    contribution number), `bibliography` and `credits`. Member ids are strings (they exceed the
    integers JavaScript can hold). Every value is encoded by the json module, so the document is
    valid whatever members typed."""
    ep = dossier.episode
    credits = dossier.credits or credits_of(dossier.entries)
    episode = {
        "code": ep.code,
        "title": ep.title,
        "status": ep.status,
        "description": ep.description,
        "authors": [_person_json(a) for a in ep.authors],
        "created_at": _iso(ep.created_at),
        "updated_at": _iso(ep.updated_at),
        "dates": [{"label": label, "at": _iso(when)} for label, when in ep.dates],
        "url": ep.url,
        "exported_at": _iso(ep.exported_at),
    }
    people_credits = [
        {"id": str(c.person.id), "name": c.person.name, "contributions": c.contributions} for c in credits
    ]

    def block(items: Iterable[object]) -> str:
        encoded = [_JSON.encode(item) for item in items]
        return "[\n    " + ",\n    ".join(encoded) + "\n  ]" if encoded else "[]"

    return (
        f'{{\n  "episode": {_JSON.encode(episode)},\n'
        f'  "contributions": {block(_entry_json(e) for e in dossier.entries)},\n'
        f'  "bibliography": {block(bibliography(dossier.entries))},\n'
        f'  "credits": {block(people_credits)}\n}}\n'
    )


CSV_COLUMNS = (
    "id",
    "created_at",
    "edited_at",
    "author_id",
    "author_name",
    "origin",
    "title",
    "text",
    "sources",
    "links",
    "attachments",
    "likes",
    "url",
    "reply_to",
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only with it


def csv_cell(value: object) -> str:
    """A cell no spreadsheet reads as a formula: text starting with = + - @, a tab or a carriage
    return gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render_csv(dossier: Dossier) -> str:
    """One row per contribution under a header row, written by the csv module (every field quoted,
    CRLF rows), no cell ever a formula, with a UTF-8 byte order mark so Excel and LibreOffice read
    names in any script correctly."""
    out = io.StringIO()
    out.write(CSV_BOM)
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(
        [
            csv_cell(v)
            for v in (
                e.id,
                _iso(e.created_at),
                _iso(e.edited_at),
                e.author.id,
                e.author.name,
                e.origin,
                e.title,
                e.body,
                "\n".join(split_sources(e.sources)),
                " ".join(e.links),
                " ".join(u for _, u in e.attachments),
                e.likes,
                e.url,
                e.reply_to_id,
            )
        ]
        for e in dossier.entries
    )
    return out.getvalue()


RENDERERS = {"markdown": ("md", render_markdown), "json": ("json", render_json), "csv": ("csv", render_csv)}


def renderer_for(fmt: str) -> tuple[str, Callable[[Dossier], str]]:
    """(file extension, renderer) of an export format; refuses a format there is no renderer for."""
    try:
        return RENDERERS[fmt]
    except KeyError:
        raise InvalidInput("The format must be markdown, json or csv.") from None


def render(dossier: Dossier, fmt: str) -> tuple[str, str]:
    """(file name, text) of the dossier in `fmt`: markdown, json or csv."""
    ext, renderer = renderer_for(fmt)
    return f"{dossier.episode.code}-research.{ext}", renderer(dossier)


def package(name: str, text: str, limit: int) -> tuple[str, bytes]:
    """The file to upload: the text itself, or zipped when it is over the upload limit (never cut).
    Raises InvalidInput when even the zip is too large."""
    payload = text.encode("utf-8")
    if len(payload) <= limit:
        return name, payload
    buffer = io.BytesIO()
    # Level 1: several times faster than the default on megabytes of text, and text still shrinks ~3x.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(name, payload)
    if buffer.tell() > limit:
        raise InvalidInput(
            "This dossier is larger than this server's upload limit even when zipped; "
            "try the csv format, or ask an admin for a copy of the database."
        )
    return f"{name}.zip", buffer.getvalue()
