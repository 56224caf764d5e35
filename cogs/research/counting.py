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
# a URL, a DOI "10.…", an ISBN label, a bare ISBN "978…"/"979…" or "1-2…", a `Source:` line, a title in
# italics or quotes). Most messages hold none and skip the parsing (0.1–0.3 ms a message otherwise).
# Matched with the same case rules as bibliography's own patterns (re.IGNORECASE, Unicode).
_MAY_CITE = re.compile(r'https?://|10\.\d|isbn|97[89]|\d-\d|source|[*_"“]', re.IGNORECASE)


def _links(text: str | None) -> tuple[str, ...]:
    """A contribution's `links` column as the dossier reads it (cogs.research.store)."""
    if not text or text == "[]":
        return ()
    try:
        found = json.loads(text)
    except ValueError:
        return ()
    return tuple(u for u in found if isinstance(u, str)) if isinstance(found, list) else ()


def citations_json(body: str | None, sources: str | None, links: str | None) -> str:
    """`archivist_citations(body, sources, links)`: the sources one contribution cites, in the order the
    bibliography reads them, as a JSON array of [key, kind, ident, words, link, aliases or null]."""
    cited_links = _links(links)
    if not sources and not cited_links and not _MAY_CITE.search(body or ""):
        return "[]"
    found = bibliography.citations_in(body, sources, cited_links)
    return json.dumps(
        [[c.key, c.kind, c.ident, c.words, c.link, list(c.aliases) or None] for c in found],
        ensure_ascii=False,
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
