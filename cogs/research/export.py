"""The research dossier's files: Markdown, HTML (cogs.research.dossier_html), JSON and CSV, and the credits
to paste under a video. The dossier's data and reading order are cogs.research.dossier."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator

from bot.errors import InvalidInput
from cogs.research import credits, dossier_html, parts
from cogs.research.bibliography import Source, source_lines
from cogs.research.credits import credit_line, fit_items
from cogs.research.dossier import (
    Credit,
    Dossier,
    DossierEntry,
    DossierEpisode,
    Layout,
    Person,
    Shown,
    count,
    credits_of,
    entries_of,
    iso,
    layout_of,
    sources_of,
    when,
)

__all__ = [
    "CSV_COLUMNS",
    "RENDERERS",
    "Credit",
    "Dossier",
    "DossierEntry",
    "DossierEpisode",
    "Person",
    "bibliography",
    "credits_of",
    "credits_text",
    "entries_of",
    "package",
    "render",
    "renderer_for",
]


def bibliography(entries: Iterable[DossierEntry]) -> list[str]:
    """The bibliography's references as text, in order (see cogs.research.bibliography)."""
    return [s.reference for s in sources_of(entries)]


# -- Markdown ------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _md(text: str) -> str:
    """A name or title on one line, every Markdown and HTML character escaped."""
    return re.sub(r"^#", r"\\#", re.sub(r"([\\`*_\[\]<>|~])", r"\\\1", " ".join(text.split())))


def _md_line(line: str) -> str:
    """A line members wrote: their emphasis kept, but no HTML, no links of their own making (only bare
    http(s) URLs stay clickable) and no heading."""
    line = re.sub(r"<(https?://[^\s<>]+)>", r"\1", line)  # Discord's "no preview" brackets
    line = re.sub(r"([\\<>\[\]])", r"\\\1", line)
    return re.sub(r"^(\s*)#", r"\1\\#", line)


def _md_text(text: str) -> str:
    """Members' text as a quote, line by line (see `_md_line`)."""
    return "\n".join(f"> {_md_line(line)}" if line.strip() else ">" for line in text.splitlines() or [""])


def _md_link(text: str, url: str | None) -> str:
    if not url or not re.match(r"https?://", url, re.IGNORECASE) or re.search(r"[\s<>]", url):
        return text
    return f"<{url}>" if text == url else f"[{text}](<{url}>)"


def _md_refs(links: Iterable[tuple[int, str, bool]]) -> str:
    return ", ".join(
        f"[#{n}](#c{n}) ({_md(who)})" if shown else f"#{n} ({_md(who)}, left out)" for n, who, shown in links
    )


def _md_source(source: Source) -> str:
    words = _md(source.lead) if source.words else ""
    if source.kind == "url" and source.link:
        ident = f"<{source.link}>" if not re.search(r"[\s<>]", source.link) else _md(source.ident)
    else:
        ident = _md_link(_md(source.ident), source.link) if source.ident else ""
    text = f"{words} — {ident}" if words and ident else words or ident
    cited = ", ".join(f"[#{n}](#c{n})" for n in source.cited_by)
    return f'{source.number}. <a id="s{source.number}"></a>{text} · cited in {cited}'


def _md_entry(item: Shown) -> list[str]:
    """The lines of one contribution in the Markdown dossier."""
    e = item.entry
    lines = [f'<a id="c{e.id}"></a>', "", f"### #{e.id} · {_md(item.label)}", ""]
    byline = [f"**{_md(e.author.plain)}**", when(e.created_at)]
    if e.edited_at:
        byline[-1] += f" (edited {when(e.edited_at)})"
    if e.url:
        byline.append(_md_link("message", e.url))
    byline.append(count(e.likes, "like"))
    if e.mark == "key":
        byline.append("key research")
    lines.append(" · ".join(byline) + "  ")
    if item.reply_to is not None:
        r = item.reply_to
        lines.append(f"In reply to {_md_refs([(r.number, r.author, r.shown)])}  ")
    elif item.reply_elsewhere:
        lines.append("In reply to a message that is not in the research record  ")
    if e.added_by is not None and e.origin == "menu":
        lines.append(f"Added to the research by {_md(e.added_by.plain)}  ")
    lines += ["", _md_text(e.body or "(no text)"), ""]
    if item.sources:
        lines += ["**Sources:**", "", *(f"- {_md_line(s)}" for s in item.sources), ""]
    if item.cites:
        lines += ["Bibliography: " + ", ".join(f"[{n}](#s{n})" for n in item.cites), ""]
    if e.attachments:
        lines += ["**Attachments:**", ""]
        lines += [f"- {_md_link(_md(name), url)}" for name, url in e.attachments]
        lines.append("")
    for kind in ("corrected", "answered"):
        links = [(r.number, r.author, r.shown) for r in item.replies if r.kind == kind]
        if links:
            lines += [f"**{kind.capitalize()} by** {_md_refs(links)}", ""]
    return lines


def _md_toc(title: str, anchor: str, items: Iterable[Shown]) -> Iterator[str]:
    yield f"- [{title}](#{anchor})"
    for item in items:
        e = item.entry
        yield f"  - [#{e.id} · {_md(item.label)}](#c{e.id}) — {_md(e.author.plain)}"


def _lines(lines: Iterable[str]) -> str:
    return "".join(line + "\n" for line in lines)


def markdown_pieces(layout: Layout) -> Iterator[str]:
    """The Markdown dossier, piece by piece (a contribution is one piece, starting with its anchor)."""
    ep = layout.episode
    lines = [f"# {_md(ep.code)} · {_md(ep.title)}", "", "Research dossier compiled by Archivist.", ""]
    lines.append(f"- **Status:** {_md(ep.status)}")
    lines.append(f"- **Authors:** {', '.join(_md(a.plain) for a in ep.authors) or 'none yet'}")
    lines.append(f"- **Created:** {when(ep.created_at)}")
    lines.append(f"- **Last updated:** {when(ep.updated_at)}")
    lines += [f"- **{_md(label)}:** {when(at)}" for label, at in ep.dates]
    if ep.url:
        lines.append(f"- **Thread:** {_md_link(ep.url, ep.url)}")
    lines.append(f"- **Exported:** {when(ep.exported_at)}")
    lines.append(f"- **Research:** {layout.summary}")
    if ep.description:
        lines += ["", _md_text(ep.description)]
    others = "Other contributions" if layout.key else "Contributions"
    lines += ["", "## Contents", ""]
    yield _lines(lines)
    if layout.key:
        yield from (line + "\n" for line in _md_toc("Key research", "key-research", layout.key))
    yield from (line + "\n" for line in _md_toc(others, "contributions", layout.others))
    yield _lines(["- [Bibliography](#bibliography)", "- [Credits](#credits)", ""])
    if layout.key:
        yield _lines(['<a id="key-research"></a>', "", "## Key research", ""])
        for item in layout.key:
            yield _lines(_md_entry(item))
    yield _lines(['<a id="contributions"></a>', "", f"## {others}", ""])
    if not layout.others:
        yield _lines(["No other contributions." if layout.key else "No contributions yet.", ""])
    for item in layout.others:
        yield _lines(_md_entry(item))
    yield _lines(['<a id="bibliography"></a>', "", "## Bibliography", ""])
    for s in layout.bibliography:  # line by line: a bibliography can be long
        yield _md_source(s) + "\n"
    lines = [] if layout.bibliography else ["No sources cited."]
    lines += ["", '<a id="credits"></a>', "", "## Credits", ""]
    lines += [
        f"- {_md(c.person.plain)} — {count(c.contributions, 'contribution')}" for c in layout.credits
    ] or ["No contributors yet."]
    yield _lines(lines)


def render_markdown(dossier: Dossier) -> str:
    return "".join(markdown_pieces(layout_of(dossier)))


# -- JSON ----------------------------------------------------------------------------------------------


def _member_id(p: Person) -> str | None:
    """A member id as a string (ids exceed what JavaScript's numbers hold); None for a forum author."""
    return None if p.id is None else str(p.id)


def _person_json(p: Person | None) -> dict[str, str | None] | None:
    return None if p is None else {"id": _member_id(p), "name": p.name}


def _entry_json(e: DossierEntry, cites: Iterable[int]) -> dict[str, object]:
    return {
        "id": e.id,
        "author_id": _member_id(e.author),
        "author_name": e.author.name,
        "author": _person_json(e.author),
        "origin": e.origin,
        "mark": e.mark,
        "title": e.title,
        "text": e.body,
        "sources": source_lines(e.body, e.sources),
        "cites": list(cites),
        "links": list(e.links),
        "attachments": [{"filename": n, "url": u} for n, u in e.attachments],
        "created_at": iso(e.created_at),
        "edited_at": iso(e.edited_at),
        "url": e.url,
        "link": e.url,
        "likes": e.likes,
        "liked_by": [str(u) for u in e.liked_by],
        "reply_to": e.reply_to_id,
        "reply_to_message_id": str(e.reply_to_message_id) if e.reply_to_message_id else None,
        "added_by": _person_json(e.added_by),
    }


def source_json(s: Source) -> dict[str, object]:
    return {
        "number": s.number,
        "kind": s.kind,
        "key": s.key,
        "text": s.words or s.ident,
        "identifier": s.ident or None,
        "reference": s.reference,
        "link": s.link,
        "cited_by": list(s.cited_by),
    }


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def episode_json(ep: DossierEpisode) -> dict[str, object]:
    return {
        "code": ep.code,
        "title": ep.title,
        "status": ep.status,
        "description": ep.description,
        "authors": [_person_json(a) for a in ep.authors],
        "created_at": iso(ep.created_at),
        "updated_at": iso(ep.updated_at),
        "dates": [{"label": label, "at": iso(at)} for label, at in ep.dates],
        "url": ep.url,
        "exported_at": iso(ep.exported_at),
    }


def credits_json(credits: Iterable[Credit]) -> list[dict[str, object]]:
    return [
        {"id": _member_id(c.person), "name": c.person.name, "contributions": c.contributions} for c in credits
    ]


def entry_dump(e: DossierEntry, layout: Layout) -> str:
    """One contribution of the JSON dossier as `parts.dump` writes it (a JSON part holds it so)."""
    return parts.dump(_entry_json(e, layout.cites.get(e.id, ())))


def nested(dumped: str, level: int) -> str:
    """A value written by `parts.dump`, as it reads `level` deep in an object written with indent 1."""
    return dumped.replace("\n", "\n" + " " * level)


def json_list(dumped: Iterable[str], level: int) -> Iterator[str]:
    """A list of values written by `parts.dump`, as json.dumps(indent=1) writes it `level` deep."""
    opened = False
    for item in dumped:
        yield (",\n" if opened else "[\n") + " " * (level + 1) + nested(item, level + 1)
        opened = True
    yield "\n" + " " * level + "]" if opened else "[]"


def json_pieces(layout: Layout, entries: Iterable[str] | None = None) -> Iterator[str]:
    """The JSON dossier, piece by piece: exactly what json.dumps(indent=1) writes of one object with
    `episode`, `contributions` (every one, excluded ones with their mark, each with its stable `id`,
    the contribution number), `bibliography` and `credits`. `entries` are the contributions as
    `entry_dump` writes them (by default, from the layout)."""
    if entries is None:
        entries = (entry_dump(e, layout) for e in layout.entries)
    yield '{\n "episode": ' + nested(parts.dump(episode_json(layout.episode)), 1) + ',\n "contributions": '
    yield from json_list(entries, 1)
    yield ',\n "bibliography": '
    yield from json_list((parts.dump(source_json(s)) for s in layout.bibliography), 1)
    yield ',\n "credits": '
    yield from json_list((parts.dump(c) for c in credits_json(layout.credits)), 1)
    yield "\n}\n"


def render_json(dossier: Dossier) -> str:
    """One JSON object (see `json_pieces`). Member ids are strings (they exceed the integers JavaScript
    can hold); a forum author not linked to a member has a null id. A lone surrogate in members' text
    is written as a \\u escape, so the file is valid UTF-8 and valid JSON whatever members typed."""
    return "".join(json_pieces(layout_of(dossier)))


# -- CSV -----------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "created_at",
    "edited_at",
    "author_id",
    "author_name",
    "origin",
    "mark",
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


def csv_cells(e: DossierEntry) -> list[str]:
    """One contribution's row of the CSV file."""
    return [
        csv_cell(v)
        for v in (
            e.id,
            iso(e.created_at),
            iso(e.edited_at),
            e.author.id,
            e.author.name,
            e.origin,
            e.mark,
            e.title,
            e.body,
            "\n".join(source_lines(e.body, e.sources)),
            " ".join(e.links),
            " ".join(u for _, u in e.attachments),
            e.likes,
            e.url,
            e.reply_to_id,
        )
    ]


CSV_HEAD = CSV_BOM + parts.csv_row(CSV_COLUMNS)


def csv_rows(layout: Layout) -> Iterator[str]:
    """One row per contribution, oldest first (the file starts with `CSV_HEAD`)."""
    for e in layout.entries:
        yield parts.csv_row(csv_cells(e))


def render_csv(dossier: Dossier) -> str:
    """One row per contribution (excluded ones too, with their mark) under a header row, written by the
    csv module (every field quoted, CRLF rows), no cell ever a formula, with a UTF-8 byte order mark so
    Excel and LibreOffice read names in any script correctly."""
    return CSV_HEAD + "".join(csv_rows(layout_of(dossier)))


# -- credits -------------------------------------------------------------------------------------------


def credits_text(dossier: Dossier, limit: int = credits.LIMIT) -> str:
    """The credits to paste under a video: "Research: Veles, Spartacus, …" (plain names, most
    contributions first; excluded contributions do not count), then up to ten sources, most cited
    first, together within `limit` characters (YouTube's description limit). What does not fit is cut
    visibly ("… and N more"); the names keep at least half the room."""
    layout = layout_of(dossier)
    names = [c.person.plain for c in layout.credits] or ["no contributions yet"]
    ranked = sorted(layout.bibliography, key=lambda s: (-len(s.cited_by), s.number))
    sources = [credit_line(s) for s in ranked[: credits.SOURCES]]
    head, heading = credits.HEAD, credits.HEADING
    listed = fit_items(sources, len(ranked), 10**9, "\n")
    room = max(limit - len(heading) - len(listed), limit // 2) if ranked else limit
    people = head + fit_items(names, len(names), min(room, limit) - len(head), ", ")
    if not ranked:
        return people
    room = limit - len(people) - len(heading)
    listed = fit_items(sources, len(ranked), room, "\n")
    return people + heading + listed if listed and len(listed) <= room else people


# -- files ---------------------------------------------------------------------------------------------


def render_html(dossier: Dossier) -> str:
    return "".join(dossier_html.pieces(layout_of(dossier)))


RENDERERS: dict[str, tuple[str, Callable[[Dossier], str]]] = {
    "markdown": ("md", render_markdown),
    "html": ("html", render_html),
    "json": ("json", render_json),
    "csv": ("csv", render_csv),
}


def renderer_for(fmt: str) -> tuple[str, Callable[[Dossier], str]]:
    """(file extension, renderer) of an export format; refuses a format there is no renderer for."""
    try:
        return RENDERERS[fmt]
    except KeyError:
        raise InvalidInput("The format must be markdown, html, json or csv.") from None


def render(dossier: Dossier, fmt: str) -> tuple[str, str]:
    """(file name, text) of the dossier in `fmt`: markdown, html, json or csv. A lone surrogate in
    members' text (which UTF-8 cannot hold) comes out as U+FFFD in Markdown, HTML and CSV."""
    ext, renderer = renderer_for(fmt)
    return f"{dossier.episode.code}-research.{ext}", _SURROGATE.sub("\ufffd", renderer(dossier))


def package(name: str, text: str, limit: int) -> list[tuple[str, bytes]]:
    """The files to upload: the text itself when it is within the upload limit, else parts
    `<code>-research-part1.md`, `-part2.md`, … each within it (see cogs.research.parts). Raises
    InvalidInput when even a part cannot be made small enough."""
    payload = text.encode("utf-8")
    if len(payload) <= limit:
        return [(name, payload)]
    stem, ext = name.rsplit(".", 1)
    return [
        (f"{stem}-part{n}.{ext}", part.encode("utf-8"))
        for n, part in enumerate(parts.split(text, ext, limit), 1)
    ]
