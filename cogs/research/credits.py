"""`/research credits` from the stored counts (cogs.research.counts_store): the same text and people as the
dossier's credits (`cogs.research.export.credits_text`), read in time that does not grow with the episode —
only the people and sources that can fit in YouTube's 5,000 characters are read.

Never imports discord: names come from the caller's `NameOf` (the service resolves members in Discord).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import overload

from bot.core.db import Database
from cogs.research import counts_store
from cogs.research.bibliography import Citation, Source, collect
from cogs.research.counts_store import StoredCitation
from cogs.research.dossier import plain_name

# name_of(member id, stored name) -> the name members see; member id None: a forum author not linked to a
# member, named by the stored forum name (ResearchService.name_of).
NameOf = Callable[[int | None, str | None], str]
# present(member id) -> the member's name when it does not depend on the name stored with their contributions
# (they are in the server now), else None: then name_of(member id, stored name) names them.
Present = Callable[[int], str | None]


def _nobody_present(member_id: int) -> None:
    return None


LIMIT = 5000  # YouTube's description limit
SOURCES = 10  # the most-cited sources listed under the names
SOURCE_MAX = 300  # characters of one source line
PEOPLE = 700  # people listed with their counts at most (the embed's 4,096 characters hold at most ~680)
READ = 200  # people read at once after the first read, which is sized to the text (`_first_read`)
HEAD, HEADING = "Research: ", "\n\nSources:\n"
MORE = "… and {} more"  # the end of a list cut short (export's rule)
LISTED = 4096  # characters of the list shown under the credits (an embed's description)
GUESS = 10  # characters assumed for a name not resolved yet, when deciding how many to resolve


@dataclass(frozen=True, slots=True)
class Listed:
    """A person of the list shown under the credits, as the dossier's `credits` ranks them: a member
    (`id`: the list mentions them, no name needed) or a forum name not linked to a member (`plain`: that
    name on one line, as the dossier prints it; None for a member)."""

    id: int | None
    plain: str | None
    contributions: int


@dataclass(frozen=True, slots=True)
class Credits:
    """`text`: ready to paste under the video. `listed`: the first contributors (up to PEOPLE), most
    contributions first, as the dossier's `credits` lists them; `total`: how many there are in all."""

    text: str
    listed: tuple[Listed, ...]
    total: int


async def credits_for(
    db: Database, episode_id: int, name_of: NameOf, limit: int = LIMIT, *, present: Present = _nobody_present
) -> Credits:
    """The credits of an episode (see the module). Names through `present`, then `name_of`: only the
    people the text can name are named, and only the members `present` does not name have their stored
    names read (a few hundred index lookups at most). Sources from the stored citations."""
    ranked, sources_total = await _top_sources(db, episode_id)
    lines = [credit_line(s) for s in ranked]
    listed = fit_items(lines, sources_total, 10**9, "\n")
    room = max(limit - len(HEADING) - len(listed), limit // 2) if sources_total else limit
    room = min(room, limit) - len(HEAD)
    people = _People(db, episode_id, name_of, present)
    await people.read(_first_read(room))
    while True:
        total = people.total
        names = people.names if total else ["no contributions yet"]
        fitted = fit_items(names, max(total, 1), room, ", ", unread=total > len(names))
        if fitted is not None:
            break
        await people.name_more(room)
    text = HEAD + fitted
    if sources_total:
        room = limit - len(text) - len(HEADING)
        listed = fit_items(lines, sources_total, room, "\n")
        if listed and len(listed) <= room:
            text += HEADING + listed
    return Credits(text, await people.listed(), people.total)


def _first_read(room: int) -> int:
    """People read first: as many as `room` holds at GUESS characters a name (the text's names and the
    list's mentions usually come from them; more are read only when they fall short: names longer than
    guessed)."""
    return min(PEOPLE, _to_fill(room, GUESS + 2))


def _to_fill(room: int, per_name: int) -> int:
    """How many names fill `room` characters at `per_name` characters each (separator included), and a
    tenth more: the text must see the first name that does not fit, and guesses err."""
    return room * 11 // (10 * per_name) + 2


class _People:
    """The people of the credits as far as they are read (`rows`) and named (`names`, from the first)."""

    def __init__(self, db: Database, episode_id: int, name_of: NameOf, present: Present) -> None:
        self.db, self.episode_id, self.name_of, self.present = db, episode_id, name_of, present
        self.rows: list[counts_store.CreditRow] = []
        self.known: list[str | None] = []  # per row: its name when known without reading stored names
        self.names: list[str] = []  # plain names of rows[: len(names)]
        self.total = 0

    async def read(self, count: int) -> bool:
        """Read the next `count` people; False when there were none (all are read, or fewer than counted:
        removed meanwhile, and then what was read is all there is)."""
        if self.rows and len(self.rows) >= self.total:
            return False
        self.total, rows = await counts_store.credit_rows(self.db, self.episode_id, len(self.rows), count)
        if not rows:
            self.total = len(self.rows)
            return False
        self.rows += rows
        self.known += [
            self.name_of(None, row.forum_name) if row.member_id is None else self.present(row.member_id)
            for row in rows
        ]
        return True

    async def name_more(self, room: int) -> None:
        """Name the next people: about as many as the rest of `room` holds, judging by the names so far."""
        start = len(self.names)
        used = sum(len(n) + 2 for n in self.names)
        guess = used // start if start else GUESS + 2
        # Out of people read: about as many more as the rest of the room holds at the names' length so far.
        wanted = min(READ, _to_fill(room - used, guess))
        if start == len(self.rows) and not await self.read(max(wanted, 1)):
            return
        end = start
        while end < len(self.rows) and used <= room:
            name = self.known[end]
            used += len(name) + 2 if name is not None else guess
            end += 1
        # Past the room by a tenth: the text must see the first name that does not fit, and guesses err.
        end = min(len(self.rows), max(end + (end - start) // 10 + 1, start + 1))
        gone = [
            r.member_id for r, n in zip(self.rows[start:end], self.known[start:end], strict=True) if n is None
        ]
        stored = await counts_store.stored_names(self.db, self.episode_id, gone) if gone else {}
        for row, name in zip(self.rows[start:end], self.known[start:end], strict=True):
            if name is None:
                name = self.name_of(row.member_id, stored.get(row.member_id or 0))
            self.names.append(plain_name(name))

    async def listed(self) -> tuple[Listed, ...]:
        """The first people, as many as the list under the credits (LISTED characters) can show and one
        more (at most PEOPLE): a member takes `<@id> (n)` there, a forum name at least a character more
        than its count. Reads more people when those read so far do not fill it."""
        while True:
            listed, used = [], -1
            for row, name in zip(self.rows[:PEOPLE], self.known, strict=False):
                if row.member_id is None:
                    listed.append(Listed(None, plain_name(name or ""), row.credited))
                    used += 1 + len(f"x ({row.credited})")
                else:
                    listed.append(Listed(row.member_id, None, row.credited))
                    used += 1 + len(f"<@{row.member_id}> ({row.credited})")
                if used > LISTED:
                    return tuple(listed)
            if len(self.rows) >= PEOPLE or not await self.read(min(READ, PEOPLE - len(self.rows))):
                return tuple(listed)


@overload
def fit_items(items: Sequence[str], total: int, room: int, sep: str) -> str: ...
@overload
def fit_items(items: Sequence[str], total: int, room: int, sep: str, *, unread: bool) -> str | None: ...
def fit_items(items: Sequence[str], total: int, room: int, sep: str, *, unread: bool = False) -> str | None:
    """As many of `items` as fit in `room` characters, then "… and N more" for the rest of `total`
    (export's rule). With `unread` (more items than `items` exist), None when `items` ran out while room
    was left: the next ones must be read to know."""
    gap = len(sep)
    kept = length = 0
    for item in items:
        rest = total - kept - 1
        tail = gap + len(MORE) - 2 + len(str(rest)) if rest else 0  # len(sep + MORE.format(rest))
        grown = length + (gap if kept else 0) + len(item)
        if grown + tail > room:
            break
        length = grown
        kept += 1
    else:
        if unread:
            return None
    rest = total - kept
    return sep.join([*items[:kept], *([MORE.format(rest)] if rest else [])])


def credit_line(source: Source) -> str:
    """One source under the names: its reference and link on one line, cut at SOURCE_MAX."""
    text = source.reference
    if source.link and source.link not in text:
        text += f" {source.link}"
    text = " ".join(text.split())
    return "- " + (text if len(text) <= SOURCE_MAX else text[: SOURCE_MAX - 1] + "…")


# -- sources --------------------------------------------------------------------------------------------


async def _top_sources(db: Database, episode_id: int) -> tuple[list[Source], int]:
    """The SOURCES most-cited sources of the bibliography (most contributions first, then first cited),
    and how many sources it lists.

    A source written in one form only is counted under its key as stored. Keys written together on one
    line (`aliases`) are merged by the bibliography in reading order, so the citations of those keys are
    read whole and merged the same way (`bibliography.collect`): usually none, or a few."""
    found = await counts_store.top_sources(db, episode_id, SOURCES)
    total = found.total
    ranked = [(s.cites, s.first.place, _source(s.first, s.words)) for s in found.top]
    if found.aliased:
        merged = _merge(await counts_store.citations_of(db, episode_id, found.aliased))
        total += len(merged) - found.aliased_cited
        ranked += merged
    ranked.sort(key=lambda r: (-r[0], r[1]))
    return [source for _, _, source in ranked[:SOURCES]], total


def _source(citation: StoredCitation, words: str) -> Source:
    return Source(0, citation.kind, citation.key, words, citation.ident, citation.link, ())


def _merge(citations: list[StoredCitation]) -> list[tuple[int, tuple[int, int, int, int], Source]]:
    """(contributions citing it, where it was first cited, the source) of each source the bibliography makes
    of `citations` (in reading order). Each citation goes to `collect` on its own, numbered by its place in
    the list, so that each source's first number is the citation that made it."""
    sources = collect(
        (i, [Citation(c.kind, c.key, c.ident, c.words, c.link, c.aliases)]) for i, c in enumerate(citations)
    )
    return [
        (
            len({citations[i].contribution_id for i in s.cited_by}),
            citations[s.cited_by[0]].place,
            s,
        )
        for s in sources
    ]
