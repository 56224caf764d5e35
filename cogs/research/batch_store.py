"""A page of contributions inserted whole (migration 0015): the per-row insert triggers are switched off inside
the writer's own transaction, and the page's rows are added to the full-text index in one statement and to
the stored research counts (migration 0014) grouped per episode, author and source — exactly what the
triggers would have added row by row, in a fraction of the time.

Every other write keeps the per-row triggers: the switch is a row of `page_write_open` written and deleted
inside the one transaction (a failure rolls it back with everything else).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.db import Tx
from cogs.research import counting

_INDEX = (
    "INSERT INTO contributions_fts (rowid, title, body, sources, scope) "
    "SELECT id, title, body, sources, 'g' || guild_id || ' e' || episode_id FROM contributions WHERE id > ?"
)  # as the trigger contributions_fts_insert does, for the whole page in one segment of the index
_STATS = (
    "INSERT INTO episode_stats (episode_id, contributions, marked_excluded) VALUES (?, ?, ?) "
    "ON CONFLICT (episode_id) DO UPDATE SET contributions = contributions + excluded.contributions, "
    "marked_excluded = marked_excluded + excluded.marked_excluded"
)
_CONTRIBUTORS = (
    "INSERT INTO episode_contributors (episode_id, who, contributions, first_id) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (episode_id, who) DO UPDATE SET contributions = contributions + excluded.contributions, "
    "first_id = MIN(first_id, excluded.first_id)"
)
_FORUM_ROWS = "INSERT INTO forum_credit_rows (episode_id, who, created_at, id) VALUES (?, ?, ?, ?)"
_CREDITS = (
    "INSERT INTO episode_credits (episode_id, who, credited, first_at, first_id) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (episode_id, who) DO UPDATE SET credited = credited + excluded.credited, "
    "first_at = CASE WHEN (excluded.first_at, excluded.first_id) < (first_at, first_id) "
    "  THEN excluded.first_at ELSE first_at END, "
    "first_id = CASE WHEN (excluded.first_at, excluded.first_id) < (first_at, first_id) "
    "  THEN excluded.first_id ELSE first_id END"
)
_CITATIONS = (
    "INSERT INTO contribution_citations "
    "(contribution_id, idx, episode_id, key, other, created_at, kind, ident, words, link, aliases) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_FIRST = ("first_other", "first_at", "first_id", "first_idx")
_SOURCES = (
    "INSERT INTO episode_sources (episode_id, key, cites, first_other, first_at, first_id, first_idx) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (episode_id, key) DO UPDATE SET cites = cites + excluded.cites, "
    + ", ".join(
        f"{c} = CASE WHEN (excluded.first_other, excluded.first_at, excluded.first_id, excluded.first_idx) "
        f"< (first_other, first_at, first_id, first_idx) THEN excluded.{c} ELSE {c} END"
        for c in _FIRST
    )
)


@dataclass
class _Counts:
    """A page's counts, as the triggers would have added them row by row. Keys: (episode, who) for
    `contributors` (member id, or minus a forum name's id) and `credits` ('m<member id>' or 'f<forum name>'),
    (episode, source key) for `sources`; each with [how many, the first (in reading order)]."""

    stats: dict[int, list[int]] = field(default_factory=dict)  # episode -> [contributions, marked excluded]
    contributors: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    forum_rows: list[tuple[int, str, int, int]] = field(default_factory=list)
    credits: dict[tuple[int, str], list] = field(default_factory=dict)
    citations: list[tuple] = field(default_factory=list)  # rows of contribution_citations
    sources: dict[tuple[int, str], list] = field(default_factory=dict)

    def add(self, row: Sequence) -> None:
        """One contribution added: (id, episode, author, forum author, name, mark, created, body, sources,
        links), as `_ADDED` reads it."""
        cid, episode, author, forum_author, name, mark, created, body, sources, links = row
        figures = self.stats.setdefault(episode, [0, 0])
        figures[0] += 1
        figures[1] += mark == "excluded"
        card = self.contributors.setdefault(
            (episode, author if author is not None else -forum_author), [0, cid]
        )
        card[0] += 1
        card[1] = min(card[1], cid)
        if mark == "excluded":
            return
        if author is not None:
            who = f"m{author}"
        else:
            who = "f" + counting.forum_credit_name(name)
            self.forum_rows.append((episode, who, created, cid))
        credit = self.credits.setdefault((episode, who), [0, (created, cid)])
        credit[0] += 1
        credit[1] = min(credit[1], (created, cid))
        other = int(mark != "key")
        for idx, c in enumerate(counting.citations(body, sources, links)):
            place = (other, created, cid, idx)
            aliases = counting.aliases_json(c)
            self.citations.append(
                (cid, idx, episode, c.key, other, created, c.kind, c.ident, c.words, c.link, aliases)
            )
            source = self.sources.setdefault((episode, c.key), [0, place])
            source[0] += 1
            source[1] = min(source[1], place)


_ADDED = (
    "SELECT id, episode_id, author_id, forum_author_id, author_name, mark, created_at, body, sources, links "
    "FROM contributions WHERE id > ? ORDER BY id"
)


async def insert_page_in(tx: Tx, sql: str, rows: Iterable[Mapping[str, object]]) -> int:
    """`sql` (an INSERT into contributions) for each of `rows`, then the full-text index and the stored counts
    of every row it added, in the transaction `tx`. Returns the rows added. Nothing else may write
    contributions in `tx` between these statements (the per-row insert triggers are off meanwhile), and `sql`
    must not replace rows (a replaced row's delete triggers would take out what was never put in)."""
    if "REPLACE" in sql.upper().split("INTO", 1)[0]:
        raise ValueError("a page's INSERT may ignore rows already stored, not replace them")
    await tx.execute("INSERT INTO page_write_open (open) VALUES (1)")
    since = (await tx.fetchone("SELECT COALESCE(MAX(id), 0) FROM contributions"))[0]
    added = await tx.executemany(sql, rows)
    if added > 0:
        await tx.execute(_INDEX, (since,))
        counts = _Counts()
        for row in await tx.fetchall(_ADDED, (since,)):
            counts.add(row)
        # The episode's row first: the triggers of the other tables count their new rows in it.
        await tx.executemany(_STATS, [(e, n, x) for e, (n, x) in counts.stats.items()])
        await tx.executemany(
            _CONTRIBUTORS, [(e, w, n, first) for (e, w), (n, first) in counts.contributors.items()]
        )
        if counts.forum_rows:
            await tx.executemany(_FORUM_ROWS, counts.forum_rows)
        if counts.credits:
            await tx.executemany(
                _CREDITS, [(e, w, n, *first) for (e, w), (n, first) in counts.credits.items()]
            )
        if counts.citations:
            await tx.executemany(_CITATIONS, counts.citations)
            await tx.executemany(
                _SOURCES, [(e, k, n, *first) for (e, k), (n, first) in counts.sources.items()]
            )
    await tx.execute("DELETE FROM page_write_open")
    return added
