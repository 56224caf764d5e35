"""The reads of a research export, on a read-only connection of its own (used in a worker thread, so the
bot's one connection and its event loop stay free): one snapshot of the database for the whole export,
rows read a few hundred at a time, oldest first.

The database is in WAL mode: this connection's read transaction sees the research as it was when the
export began, while the bot goes on writing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from bot.clock import from_ts
from cogs.research.bibliography import STRENGTH, Citation, Source
from cogs.research.dossier import Link
from cogs.research.likes_store import is_like, keys_param

BATCH = 500  # rows fetched from SQLite at a time
KEY, OTHERS, SHOWN, ALL = "key", "others", "shown", "all"  # which contributions a read covers
_MARKS = {
    KEY: "c.mark = 'key'",
    OTHERS: "c.mark = 'normal'",
    SHOWN: "c.mark != 'excluded'",
    ALL: "1",
}


def open_snapshot(path: str | Path) -> sqlite3.Connection:
    """A read-only connection on the database file, for one thread at a time (the export's worker may
    move between the threads of the default executor), with its read transaction begun: every read
    after the first sees the same snapshot until `close_snapshot`."""
    uri = "file:" + quote(str(Path(path).resolve())) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=5)
    conn.row_factory = sqlite3.Row
    conn.execute("BEGIN")
    return conn


def close_snapshot(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("COMMIT")
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much an episode's research holds, from SQL alone: contributions and bytes of their text."""

    contributions: int = 0
    key: int = 0
    excluded: int = 0
    body: int = 0  # bytes (UTF-8) of the text of every contribution
    title: int = 0
    sources: int = 0
    attachments: int = 0  # bytes of the attachments' JSON (names and URLs)
    links: int = 0
    urls: int = 0  # bytes of the message links
    names: int = 0  # bytes of the stored author names
    replies: int = 0  # contributions answering a message
    likes: int = 0  # reactions recorded (likes or not: an upper bound)
    shown_body: int = 0  # bytes of the text of the contributions that are not excluded
    shown_title: int = 0
    shown_sources: int = 0


def sizes(conn: sqlite3.Connection, episode_id: int) -> Sizes:
    row = conn.execute(
        "SELECT COUNT(*), TOTAL(c.mark = 'key'), TOTAL(c.mark = 'excluded'), "
        "TOTAL(length(CAST(c.body AS BLOB))), TOTAL(length(CAST(c.title AS BLOB))), "
        "TOTAL(length(CAST(c.sources AS BLOB))), TOTAL(length(CAST(c.attachments AS BLOB))), "
        "TOTAL(length(CAST(c.links AS BLOB))), TOTAL(length(c.jump_url)), "
        "TOTAL(length(CAST(c.author_name AS BLOB))), TOTAL(c.reply_to_message_id IS NOT NULL), "
        "TOTAL(CASE WHEN c.mark != 'excluded' THEN length(CAST(c.body AS BLOB)) END), "
        "TOTAL(CASE WHEN c.mark != 'excluded' THEN length(CAST(c.title AS BLOB)) END), "
        "TOTAL(CASE WHEN c.mark != 'excluded' THEN length(CAST(c.sources AS BLOB)) END) "
        "FROM contributions c WHERE c.episode_id = ?",
        (episode_id,),
    ).fetchone()
    likes = conn.execute(
        "SELECT COUNT(*) FROM contribution_likes l JOIN contributions c ON c.id = l.contribution_id "
        "WHERE c.episode_id = ?",
        (episode_id,),
    ).fetchone()[0]
    n = [int(v or 0) for v in row]
    return Sizes(
        contributions=n[0],
        key=n[1],
        excluded=n[2],
        body=n[3],
        title=n[4],
        sources=n[5],
        attachments=n[6],
        links=n[7],
        urls=n[8],
        names=n[9],
        replies=n[10],
        likes=int(likes),
        shown_body=n[11],
        shown_title=n[12],
        shown_sources=n[13],
    )


def first_names(conn: sqlite3.Connection, episode_id: int) -> list[tuple[int, str | None]]:
    """(member id, stored name) of everyone the episode's contributions name (authors and whoever added
    a message with **Add to research**), each once: the name stored with their first mention, oldest
    contribution first, its author before who added it (None when that mention was an addition)."""
    rows = conn.execute(
        "SELECT uid, stored FROM ("
        " SELECT uid, stored, ROW_NUMBER() OVER (PARTITION BY uid ORDER BY created_at, id, slot) AS n FROM ("
        "  SELECT author_id AS uid, author_name AS stored, created_at, id, 0 AS slot FROM contributions"
        "  WHERE episode_id = ? AND author_id IS NOT NULL"
        "  UNION ALL"
        "  SELECT added_by, NULL, created_at, id, 1 FROM contributions"
        "  WHERE episode_id = ? AND added_by IS NOT NULL"
        " )"
        ") WHERE n = 1",
        (episode_id, episode_id),
    )
    return [(r[0], r[1]) for r in rows]


def excluded_numbers(conn: sqlite3.Connection, episode_id: int) -> tuple[int, ...]:
    rows = conn.execute(
        "SELECT id FROM contributions WHERE episode_id = ? AND mark = 'excluded' ORDER BY id", (episode_id,)
    )
    return tuple(r[0] for r in rows)


# The contribution a reply answers, when it is recorded in the same episode: the one mirroring the
# message it replies to, else (an imported forum reply) the one it was imported as answering.
_REPLY = (
    "COALESCE((SELECT m.id FROM contributions m WHERE m.episode_id = c.episode_id "
    "AND m.message_id = c.reply_to_message_id), "
    "(SELECT r.id FROM contributions r WHERE r.id = c.reply_to_id AND r.episode_id = c.episode_id))"
)


@dataclass(frozen=True, slots=True)
class CitingRow:
    """What the first pass over the shown contributions reads: what they cite and answer."""

    id: int
    author_id: int | None
    author_name: str | None
    title: str | None
    body: str
    sources: str | None
    links: tuple[str, ...]
    created_at: datetime
    mark: str
    reply_id: int | None  # the recorded contribution it answers


def citing_rows(conn: sqlite3.Connection, episode_id: int, which: str) -> Iterator[CitingRow]:
    """The contributions `which` covers (KEY, OTHERS or SHOWN), oldest first."""
    cursor = conn.execute(
        "SELECT c.id, c.author_id, c.author_name, c.title, c.body, c.sources, c.links, c.created_at, c.mark, "
        f"{_REPLY} AS reply_id FROM contributions c WHERE c.episode_id = ? AND {_MARKS[which]} "
        "ORDER BY c.created_at, c.id",
        (episode_id,),
    )
    while batch := cursor.fetchmany(BATCH):
        for r in batch:
            yield CitingRow(
                id=r["id"],
                author_id=r["author_id"],
                author_name=r["author_name"],
                title=r["title"],
                body=r["body"],
                sources=r["sources"],
                links=_links(r["links"]),
                created_at=from_ts(r["created_at"]),
                mark=r["mark"],
                reply_id=r["reply_id"],
            )


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One contribution as the dossier writes it, with the contribution it answers (when recorded)."""

    id: int
    author_id: int | None  # None: a forum author not linked to a member (`author_name` is the forum name)
    author_name: str | None
    origin: str
    title: str | None
    body: str
    sources: str | None
    attachments: tuple[tuple[str, str], ...]  # (filename, url)
    links: tuple[str, ...]
    jump_url: str | None
    reply_to_message_id: int | None
    added_by: int | None
    created_at: datetime
    edited_at: datetime | None
    mark: str
    forum_likes: int
    liked_by: tuple[int, ...]  # members who reacted with a like emoji, by id
    reply_id: int | None  # the recorded contribution it answers
    reply_author_id: int | None  # that contribution's author, name and mark
    reply_author_name: str | None
    reply_mark: str | None


def export_rows(
    conn: sqlite3.Connection, episode_id: int, which: str, like_keys: Collection[str]
) -> Iterator[ExportRow]:
    """The contributions `which` covers (KEY, OTHERS, SHOWN or ALL), oldest first; likes counted with
    `like_keys` (`LikeEmoji.keys`)."""
    cursor = conn.execute(
        "SELECT c.id, c.author_id, c.author_name, c.origin, c.title, c.body, c.sources, c.attachments, "
        "c.links, c.jump_url, c.reply_to_message_id, c.added_by, c.created_at, c.edited_at, c.mark, "
        "c.forum_likes, (SELECT group_concat(u) FROM (SELECT DISTINCT l.user_id AS u FROM contribution_likes l "
        f"WHERE l.contribution_id = c.id AND {is_like()})) AS liked_by, "
        "t.id AS reply_id, t.author_id AS t_author_id, t.author_name AS t_author_name, t.mark AS t_mark "
        f"FROM contributions c LEFT JOIN contributions t ON t.id = {_REPLY} "
        f"WHERE c.episode_id = ? AND {_MARKS[which]} ORDER BY c.created_at, c.id",
        (keys_param(like_keys), episode_id),
    )
    while batch := cursor.fetchmany(BATCH):
        for r in batch:
            yield ExportRow(
                id=r["id"],
                author_id=r["author_id"],
                author_name=r["author_name"],
                origin=r["origin"],
                title=r["title"],
                body=r["body"],
                sources=r["sources"],
                attachments=_attachments(r["attachments"]),
                links=_links(r["links"]),
                jump_url=r["jump_url"],
                reply_to_message_id=r["reply_to_message_id"],
                added_by=r["added_by"],
                created_at=from_ts(r["created_at"]),
                edited_at=from_ts(r["edited_at"]),
                mark=r["mark"],
                forum_likes=r["forum_likes"],
                liked_by=tuple(sorted(int(u) for u in r["liked_by"].split(","))) if r["liked_by"] else (),
                reply_id=r["reply_id"],
                reply_author_id=r["t_author_id"],
                reply_author_name=r["t_author_name"],
                reply_mark=r["t_mark"],
            )


def _links(text: str | None) -> tuple[str, ...]:
    return () if not text or text == "[]" else tuple(json.loads(text))


def _attachments(text: str | None) -> tuple[tuple[str, str], ...]:
    if not text or text == "[]":
        return ()
    return tuple((a.get("filename", ""), a.get("url", "")) for a in json.loads(text))


# -- the scratch of one export ---------------------------------------------------------------------------

_SCRATCH = (
    "CREATE TABLE entries (n INTEGER PRIMARY KEY, kind TEXT, key TEXT, ident TEXT, words TEXT, link TEXT)",
    "CREATE TABLE keys (key TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE cited (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, number INTEGER NOT NULL, UNIQUE (n, number))",
    "CREATE INDEX cited_number ON cited (number, n)",
    "CREATE TABLE replies (target INTEGER NOT NULL, at REAL NOT NULL, number INTEGER NOT NULL, "
    "author TEXT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (target, at, number)) WITHOUT ROWID",
)


class Scratch:
    """What the first pass of an export gathers (the bibliography, the replies under each contribution),
    kept in a database file of the export's own folder rather than in memory: an episode where every
    contribution cites sources of its own has as many sources as contributions. A `dossier.Keeper`; the
    bibliography is gathered exactly as `bibliography.Collector` gathers it, and read back in order."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE"):
            self.conn.execute(f"PRAGMA {pragma}")
        for statement in _SCRATCH:
            self.conn.execute(statement)
        self.conn.execute("BEGIN")
        # Which contributions cite a source, which are answered: one bit each, so that the many that
        # neither cite nor are answered are never looked up.
        self._citing = Bits()
        self._answered = Bits()

    def close(self) -> None:
        self.conn.close()

    def add_citations(self, number: int, citations: Sequence[Citation]) -> None:
        conn = self.conn
        for citation in citations:
            keys = (citation.key, *citation.aliases)
            found = dict(
                conn.execute(f"SELECT key, n FROM keys WHERE key IN ({','.join('?' * len(keys))})", keys)
            )
            n = next((found[k] for k in keys if k in found), None)
            if n is None:
                n = conn.execute(
                    "INSERT INTO entries (kind, key, ident, words, link) VALUES (?, ?, ?, ?, ?)",
                    (citation.kind, citation.key, citation.ident, citation.words, citation.link),
                ).lastrowid
            else:
                kind, words = conn.execute("SELECT kind, words FROM entries WHERE n = ?", (n,)).fetchone()
                if STRENGTH[citation.kind] > STRENGTH[kind]:
                    conn.execute(
                        "UPDATE entries SET kind = ?, key = ?, ident = ?, link = ? WHERE n = ?",
                        (citation.kind, citation.key, citation.ident, citation.link, n),
                    )
                if not words and citation.words:
                    conn.execute("UPDATE entries SET words = ? WHERE n = ?", (citation.words, n))
            conn.execute("INSERT OR IGNORE INTO cited (n, number) VALUES (?, ?)", (n, number))
            self._citing.add(number)
            conn.executemany("INSERT OR IGNORE INTO keys (key, n) VALUES (?, ?)", [(k, n) for k in keys])

    def add_reply(self, target: int, when: datetime, link: Link) -> None:
        self.conn.execute(
            "INSERT INTO replies (target, at, number, author, kind) VALUES (?, ?, ?, ?, ?)",
            (target, when.timestamp(), link.number, link.author, link.kind),
        )
        self._answered.add(target)

    def kept(
        self,
    ) -> tuple[Collection[Source], Mapping[int, tuple[int, ...]], Mapping[int, tuple[Link, ...]]]:
        self.conn.execute("COMMIT")
        return _Bibliography(self.conn), _Cites(self.conn, self._citing), _Replies(self.conn, self._answered)


class Bits:
    """A set of contribution numbers as one bit each (an eighth of a byte per number up to the largest)."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, number: int) -> None:
        at = number >> 3
        if at >= len(self._bits):
            self._bits.extend(bytes(at + 1 - len(self._bits) + len(self._bits) // 2))
        self._bits[at] |= 1 << (number & 7)

    def __contains__(self, number: int) -> bool:
        at = number >> 3
        return at < len(self._bits) and bool(self._bits[at] & (1 << (number & 7)))


class _Bibliography(Collection[Source]):
    """The sources, numbered in order of first citation, read back each time they are gone through."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._count = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def __len__(self) -> int:
        return self._count

    def __contains__(self, item: object) -> bool:
        return any(source == item for source in self)

    def __iter__(self) -> Iterator[Source]:
        cited = self._conn.execute("SELECT n, number FROM cited ORDER BY n, id")
        pending = cited.fetchone()
        entries = self._conn.execute("SELECT n, kind, key, ident, words, link FROM entries ORDER BY n")
        while batch := entries.fetchmany(BATCH):
            for n, kind, key, ident, words, link in batch:
                numbers = []
                while pending is not None and pending[0] == n:
                    numbers.append(pending[1])
                    pending = cited.fetchone()
                yield Source(n, kind, key, words, ident, link, tuple(numbers))


class _Cites(Mapping[int, tuple[int, ...]]):
    """Contribution number -> the numbers of the sources it cites."""

    def __init__(self, conn: sqlite3.Connection, citing: Bits) -> None:
        self._conn = conn
        self._citing = citing

    def __getitem__(self, number: int) -> tuple[int, ...]:
        if number not in self._citing:
            raise KeyError(number)
        found = tuple(
            r[0] for r in self._conn.execute("SELECT n FROM cited WHERE number = ? ORDER BY n", (number,))
        )
        if not found:
            raise KeyError(number)
        return found

    def __iter__(self) -> Iterator[int]:
        return (r[0] for r in self._conn.execute("SELECT DISTINCT number FROM cited ORDER BY number"))

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(DISTINCT number) FROM cited").fetchone()[0]


class _Replies(Mapping[int, tuple[Link, ...]]):
    """Contribution number -> the contributions answering it, oldest first."""

    def __init__(self, conn: sqlite3.Connection, answered: Bits) -> None:
        self._conn = conn
        self._answered = answered

    def __getitem__(self, target: int) -> tuple[Link, ...]:
        if target not in self._answered:
            raise KeyError(target)
        rows = self._conn.execute(
            "SELECT number, author, kind FROM replies WHERE target = ? ORDER BY at, number", (target,)
        )
        found = tuple(Link(number, author, True, kind) for number, author, kind in rows)
        if not found:
            raise KeyError(target)
        return found

    def __iter__(self) -> Iterator[int]:
        return (r[0] for r in self._conn.execute("SELECT DISTINCT target FROM replies ORDER BY target"))

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(DISTINCT target) FROM replies").fetchone()[0]
