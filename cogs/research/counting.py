"""What the stored research counts count (migration 0014): the SQL functions its triggers call, so that every
write of a contribution, whichever code makes it, updates the counts in its own transaction.

`bot.core.db.Database` registers `SQL_FUNCTIONS` on its connection before it migrates; a connection without
them (the sqlite3 shell, say) can read the database but not write contributions. Never imports discord.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from cogs.research import bibliography

# Every text `bibliography.citations_in` can find a source in holds one of these (see the module there:
# a URL "http…", a DOI "10.…", an ISBN label, a bare ISBN "978…"/"979…" or "1-2…", a `Source:` line, a title
# in italics or quotes). Most messages hold none and skip the parsing (0.1–0.3 ms a message otherwise). The
# words are looked for in lower case: bibliography's patterns ignore case, which also matches "İ"/"ı" to "i"
# and "ſ" to "s" (Python's re), so those are folded too.
_MARKS = ("http", "isbn", "source", "*", "_", '"', "“")
_FOLD = str.maketrans({0x130: "i", 0x131: "i", 0x17F: "s"})
_NUMBERS = (("97", re.compile("97[89]")), ("10.", re.compile(r"10\.\d")), ("-", re.compile(r"\d-\d")))


def _may_cite(text: str) -> bool:
    folded = text.translate(_FOLD).lower()
    return any(mark in folded for mark in _MARKS) or any(
        hint in text and pattern.search(text) is not None for hint, pattern in _NUMBERS
    )


def _links(text: str | None) -> tuple[str, ...]:
    """A contribution's `links` column as the dossier reads it (cogs.research.store)."""
    if not text or text == "[]":
        return ()
    try:
        found = json.loads(text)
    except ValueError:
        return ()
    return tuple(u for u in found if isinstance(u, str)) if isinstance(found, list) else ()


def _citing(body: str | None) -> str | None:
    """The part of a message's text the bibliography can find sources in: the whole text when it has a
    `Source:` line (the lines under it count too), else only its lines that may cite something (each other
    line is prose without a URL, DOI, ISBN or book: it cites nothing)."""
    if not body or not _may_cite(body):
        return None
    if "source" in body.translate(_FOLD).lower():
        return body
    return "\n".join(line for line in body.splitlines() if _may_cite(line))


def citations(body: str | None, sources: str | None, links: str | None) -> list[bibliography.Citation]:
    """The sources one contribution cites (its `body`, `sources` and `links` columns), in the order the
    bibliography reads them (`bibliography.citations_in`)."""
    cited_links = _links(links)
    text = _citing(body)
    if text is None and not sources and not cited_links:
        return []
    return bibliography.citations_in(text, sources, cited_links)


def citations_json(body: str | None, sources: str | None, links: str | None) -> str:
    """`archivist_citations(body, sources, links)`: `citations` as a JSON array of
    [key, kind, ident, words, link, aliases or null]."""
    found = citations(body, sources, links)
    if not found:
        return "[]"
    return json.dumps(
        [[c.key, c.kind, c.ident, c.words, c.link, list(c.aliases) or None] for c in found],
        ensure_ascii=False,
    )


def aliases_json(citation: bibliography.Citation) -> str | None:
    """A citation's `aliases` column as the triggers store it (SQLite's JSON of the list, or NULL)."""
    return (
        json.dumps(list(citation.aliases), ensure_ascii=False, separators=(",", ":"))
        if citation.aliases
        else None
    )


FORUM_MEMBER = "a forum member"  # the name of a forum author whose name is empty (ResearchService.name_of)


def forum_credit_name(author_name: str | None) -> str:
    """`archivist_forum_name(author_name)`: the name under which the credits count a forum author not linked
    to a member — their forum name on one line, as the dossier prints it (`Person.plain`)."""
    return " ".join((author_name or FORUM_MEMBER).split()) or "someone"


# (name, number of arguments, function): all deterministic.
SQL_FUNCTIONS: tuple[tuple[str, int, Callable[..., str]], ...] = (
    ("archivist_citations", 3, citations_json),
    ("archivist_forum_name", 1, forum_credit_name),
)
