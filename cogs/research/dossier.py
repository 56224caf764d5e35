"""The research dossier as plain data, and the order a script writer reads it in: key research first,
then every other contribution by date, replies linked both ways, the bibliography and the credits.

Shared by every renderer (cogs.research.export, cogs.research.dossier_html); never imports discord.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from cogs.research import bibliography
from cogs.research.bibliography import Citation, Source

if TYPE_CHECKING:
    from cogs.research.store import Contribution

MARKS = ("normal", "key", "excluded")


@dataclass(frozen=True, slots=True)
class Person:
    id: int | None  # None: a forum author not linked to a member
    name: str

    @property
    def plain(self) -> str:
        """The name on one line (never empty), as the dossier prints it."""
        return plain_name(self.name)


def plain_name(name: str) -> str:
    """A name on one line (never empty), as the dossier prints it (`Person.plain`)."""
    return " ".join(name.split()) or "someone"


@dataclass(frozen=True, slots=True)
class DossierEntry:
    id: int  # the contribution number
    author: Person
    origin: str  # thread | form | menu | forum
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
    mark: str = "normal"  # normal | key (first in the dossier) | excluded (left out of it)


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


def _who(person: Person) -> object:
    """Who a person is for counting: their member id, else (a forum author) their name."""
    return person.id if person.id is not None else ("forum", person.plain)


def credits_of(entries: Iterable[DossierEntry]) -> tuple[Credit, ...]:
    """Contributors with their number of contributions, excluded ones not counted: most first, then by
    first contribution."""
    counts: dict[object, int] = {}
    people: dict[object, Person] = {}
    for entry in entries:
        if entry.mark == "excluded":
            continue
        who = _who(entry.author)
        counts[who] = counts.get(who, 0) + 1
        people.setdefault(who, entry.author)
    # `people` is in order of first contribution, and sorted() is stable: ties keep that order.
    ranked = sorted(people, key=lambda who: -counts[who])
    return tuple(Credit(people[who], counts[who]) for who in ranked)


def entries_of(
    rows: Sequence[Contribution],
    liked: Mapping[int, Sequence[int]],
    person: Callable[[int | None, str | None], Person],
) -> tuple[DossierEntry, ...]:
    """Stored contributions (oldest first) as dossier entries, with who liked each (`liked`:
    contribution id -> member ids) and the contribution each reply answers. `person(user id, stored
    name)` names the members (user id None: a forum author not linked to a member, named by the stored
    forum name): the caller resolves names, after reading the rows. A contribution imported from the
    forum adds the likes it had there, and answers the contribution its forum post replied to."""
    by_message = {r.message_id: r.id for r in rows if r.message_id is not None}
    recorded = {r.id for r in rows}
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
                likes=len(who_liked) + row.forum_likes,
                liked_by=who_liked,
                attachments=tuple((a.filename, a.url) for a in row.attachments),
                links=row.links,
                reply_to_message_id=reply,
                reply_to_id=(by_message.get(reply) if reply else None)
                or (row.reply_to_id if row.reply_to_id in recorded else None),
                added_by=person(row.added_by, None) if row.added_by is not None else None,
                mark=row.mark,
            )
        )
    return tuple(entries)


# -- words --------------------------------------------------------------------------------------------


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "no likes", "1 like", "3 likes"."""
    many = plural or singular + "s"
    return f"no {many}" if n == 0 else f"1 {singular}" if n == 1 else f"{n} {many}"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def one_line(text: str | None, limit: int = 80) -> str:
    """The text on one line, cut at a word with "…" beyond `limit` characters."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2 :] else cut) + "…"


# -- replies ------------------------------------------------------------------------------------------

# A reply is a correction when its words say so: "correct", "correction", "actually", "typo", "mistake",
# "misspelled", "spelling", "wrong", "erratum", "nitpick", "should be/read/say", "not X but Y", or a
# sentence ending "…, not X." Agreeing ("you're right", "you are correct") is not a correction.
_CORRECTION = re.compile(
    r"\b(?:(?:in)?correct(?:ion|ed|ly)?|actually|typos?|mistakes?|mistaken|misspel\w*|spell(?:ing|ed|t)"
    r"|wrong|errat(?:um|a)|nitpick|should\s+(?:be|read|say))\b"
    r"|\bnot\s+[\w'’-]+(?:\s+[\w'’-]+)?,?\s+but\b"
    r"|,\s*not\s+(?!sure\b|really\b|yet\b|just\b|only\b|much\b)[\w'’-]+\s*[.!]?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_AGREEING = re.compile(r"\byou(?:['’]re|\s+are)\s+(?:absolutely\s+)?(?:right|correct)\b", re.IGNORECASE)


def reply_kind(text: str) -> str:
    """ "corrected" when a reply's words read like a correction (see `_CORRECTION`), else "answered"."""
    return "corrected" if _CORRECTION.search(_AGREEING.sub(" ", text)) else "answered"


@dataclass(frozen=True, slots=True)
class Link:
    """A reference from one contribution to another: "#5 (Spartacus)"."""

    number: int
    author: str
    shown: bool  # the other one is in this dossier (not excluded): a link to it works
    kind: str = ""  # on the replies under a contribution: "corrected" or "answered"


@dataclass(frozen=True, slots=True)
class Shown:
    """One contribution as the Markdown and HTML dossiers show it."""

    entry: DossierEntry
    reply_to: Link | None  # the contribution it answers
    reply_elsewhere: bool  # it answers a message that is not in the research record
    replies: tuple[Link, ...]  # the contributions answering it (excluded ones left out)
    sources: tuple[str, ...]  # the lines of its sources field (`Source:` lines are in its text already)
    cites: tuple[int, ...]  # the numbers of the bibliography's sources it cites

    @property
    def label(self) -> str:
        """Its title, or the beginning of its text when it has none."""
        return (
            one_line(self.entry.title, 90)
            if self.entry.title
            else one_line(self.entry.body, 70) or "(no text)"
        )


@dataclass(frozen=True, slots=True)
class Layout:
    """The dossier as the renderers read it. Held in memory (`layout_of`), or read from the database
    as it is written (cogs.research.export_stream): `entries`, `key` and `others` are then collections
    that read their rows each time they are gone through."""

    episode: DossierEpisode
    entries: Collection[DossierEntry]  # every contribution, excluded ones too, oldest first (JSON, CSV)
    key: Collection[Shown]
    others: Collection[Shown]
    left_out: tuple[int, ...]  # the numbers of excluded contributions (their content is not shown)
    bibliography: Collection[Source]
    credits: tuple[Credit, ...]
    cites: Mapping[int, tuple[int, ...]]  # contribution number -> the bibliography's sources it cites

    @property
    def summary(self) -> str:
        """ "6 contributions from 3 contributors, 2 of them key research; 1 left out (#7, marked excluded)"."""
        shown = len(self.key) + len(self.others)
        text = f"{count(shown, 'contribution')} from {count(len(self.credits), 'contributor')}"
        if self.key:
            text += f", {len(self.key)} of them key research"
        if self.left_out:
            numbers = ", ".join(f"#{n}" for n in self.left_out)
            text += f"; {len(self.left_out)} left out ({numbers}, marked excluded)"
        return text


def reading_order(entries: Iterable[DossierEntry]) -> list[DossierEntry]:
    """Key research first, then every other contribution, each part by date; excluded ones left out."""
    kept = [e for e in sorted(entries, key=lambda e: (e.created_at, e.id)) if e.mark != "excluded"]
    return [e for e in kept if e.mark == "key"] + [e for e in kept if e.mark != "key"]


def sources_of(entries: Iterable[DossierEntry]) -> tuple[Source, ...]:
    """The bibliography: numbered by first citation in reading order, excluded contributions left out."""
    order = reading_order(entries)
    return bibliography.collect((e.id, bibliography.citations_in(e.body, e.sources, e.links)) for e in order)


@dataclass(frozen=True, slots=True)
class Gathered:
    """What must be known before the first contribution is written: the bibliography, the sources each
    contribution cites, the replies under each, and the credits. Held in memory (`InMemory`), or for
    an export on disk (cogs.research.export_store.Scratch): then the collections read it back as they
    are gone through."""

    bibliography: Collection[Source]
    cites: Mapping[int, tuple[int, ...]]
    replies: Mapping[int, tuple[Link, ...]]
    credits: tuple[Credit, ...]


class Keeper(Protocol):
    """Where a first pass keeps the bibliography it gathers and the replies it finds."""

    def add_citations(self, number: int, citations: Sequence[Citation]) -> None: ...

    def add_reply(self, target: int, when: datetime, link: Link) -> None: ...

    def kept(
        self,
    ) -> tuple[Collection[Source], Mapping[int, tuple[int, ...]], Mapping[int, tuple[Link, ...]]]:
        """(the bibliography, source numbers by contribution, replies by contribution, oldest first)."""
        ...


class InMemory:
    """A first pass's bibliography and replies held in memory."""

    def __init__(self) -> None:
        self._sources = bibliography.Collector()
        self._replies: dict[int, list[tuple[tuple[datetime, int], Link]]] = {}

    def add_citations(self, number: int, citations: Sequence[Citation]) -> None:
        self._sources.add(number, citations)

    def add_reply(self, target: int, when: datetime, link: Link) -> None:
        self._replies.setdefault(target, []).append(((when, link.number), link))

    def kept(
        self,
    ) -> tuple[Collection[Source], Mapping[int, tuple[int, ...]], Mapping[int, tuple[Link, ...]]]:
        sources = self._sources.sources()
        cites: dict[int, list[int]] = {}
        for source in sources:
            for number in source.cited_by:
                cites.setdefault(number, []).append(source.number)
        replies = {
            target: tuple(link for _, link in sorted(links, key=lambda x: x[0]))
            for target, links in self._replies.items()
        }
        return sources, {number: tuple(found) for number, found in cites.items()}, replies


class FirstPass:
    """Gathers a dossier's `Gathered` from its shown contributions, given one at a time in reading order
    (key research first, then the rest, each by date; excluded ones never given)."""

    def __init__(self, keeper: Keeper | None = None) -> None:
        self._keeper = keeper if keeper is not None else InMemory()
        self._people: dict[object, tuple[int, tuple[datetime, int], Person]] = {}

    def add(self, entry: DossierEntry) -> None:
        self._keeper.add_citations(
            entry.id, bibliography.citations_in(entry.body, entry.sources, entry.links)
        )
        if entry.reply_to_id is not None:
            kind = reply_kind(f"{entry.title or ''}\n{entry.body}")
            self._keeper.add_reply(
                entry.reply_to_id, entry.created_at, Link(entry.id, entry.author.plain, True, kind)
            )
        when = (entry.created_at, entry.id)
        who = _who(entry.author)
        n, first, person = self._people.get(who, (0, when, entry.author))
        self._people[who] = (n + 1, first, person) if first <= when else (n + 1, when, entry.author)

    def finish(self) -> Gathered:
        sources, cites, replies = self._keeper.kept()
        # Credits as `credits_of` ranks them: most contributions first, then by first contribution.
        ranked = sorted(self._people.values(), key=lambda p: (-p[0], p[1]))
        return Gathered(
            bibliography=sources,
            cites=cites,
            replies=replies,
            credits=tuple(Credit(person, n) for n, _, person in ranked),
        )


def shown_of(entry: DossierEntry, reply_to: Link | None, gathered: Gathered) -> Shown:
    """One contribution as the Markdown and HTML dossiers show it; `reply_to` links the contribution it
    answers, when that one is recorded."""
    return Shown(
        entry=entry,
        reply_to=reply_to,
        reply_elsewhere=entry.reply_to_message_id is not None and reply_to is None,
        replies=gathered.replies.get(entry.id, ()),
        sources=tuple(bibliography.source_lines(None, entry.sources)),
        cites=gathered.cites.get(entry.id, ()),
    )


def layout_of(dossier: Dossier) -> Layout:
    """The dossier in reading order, with its bibliography and the replies linked both ways."""
    everything = {e.id: e for e in dossier.entries}
    order = reading_order(dossier.entries)
    first = FirstPass()
    for entry in order:
        first.add(entry)
    gathered = first.finish()

    def shown(entry: DossierEntry) -> Shown:
        target = everything.get(entry.reply_to_id) if entry.reply_to_id is not None else None
        reply_to = None
        if target is not None:
            reply_to = Link(target.id, target.author.plain, target.mark != "excluded")
        return shown_of(entry, reply_to, gathered)

    return Layout(
        episode=dossier.episode,
        entries=dossier.entries,
        key=tuple(shown(e) for e in order if e.mark == "key"),
        others=tuple(shown(e) for e in order if e.mark != "key"),
        left_out=tuple(sorted(e.id for e in dossier.entries if e.mark == "excluded")),
        bibliography=gathered.bibliography,
        credits=dossier.credits or credits_of(dossier.entries),
        cites=gathered.cites,
    )
