"""Reading the stored research counts of migration 0014 (kept by triggers on `contributions`): an episode's
figures, its credited people and its most-cited sources, each read in time that does not grow with the episode.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from bot.core.db import Database


@dataclass(frozen=True, slots=True)
class EpisodeFigures:
    contributions: int  # every contribution, excluded ones too
    marked_excluded: int
    contributors: int  # members and forum names not linked to a member, as the card counts them
    credited: int  # people the credits name (contributions not marked excluded)
    sources: int  # distinct sources cited (before merging those written together, see `TopSources`)


async def figures(db: Database, episode_id: int) -> EpisodeFigures:
    row = await db.fetchone(
        "SELECT contributions, marked_excluded, contributors, credited, sources FROM episode_stats "
        "WHERE episode_id = ?",
        (episode_id,),
    )
    return EpisodeFigures(*row) if row else EpisodeFigures(0, 0, 0, 0, 0)


class CreditRow(NamedTuple):
    """One person of the credits, as stored. `member_id` None: a forum name not linked to a member, whose
    name as written on its first contribution counted is `forum_name` (None for a member: see
    `stored_names`)."""

    member_id: int | None
    credited: int
    forum_name: str | None


async def credit_rows(db: Database, episode_id: int, offset: int, limit: int) -> tuple[int, list[CreditRow]]:
    """(how many people the credits name, the people from `offset`): most contributions first, then by
    first contribution (not marked excluded). One range of the `episode_credits_rank` index, the people
    in one JSON value: one row to step through, however many people (each row stepped lets other
    threads take the interpreter lock; an export written meanwhile would then slow every row down)."""
    row = await db.fetchone(
        "SELECT s.credited, (SELECT json_group_array(json_array("
        "  c.credited, c.first_at, c.first_id, c.who, CASE WHEN substr(c.who, 1, 1) = 'f' "
        "  THEN (SELECT author_name FROM contributions WHERE id = c.first_id) END)) FROM ("
        "  SELECT * FROM episode_credits WHERE episode_id = ?1 "
        "  ORDER BY credited DESC, first_at, first_id LIMIT ?2 OFFSET ?3"
        ") c) FROM episode_stats s WHERE s.episode_id = ?1",
        (episode_id, limit, offset),
    )
    if row is None:
        return 0, []
    ranked = json.loads(row[1])
    # The order the index gave (an aggregate's order is not promised): most credited first, then by first
    # contribution. Two stable sorts by C-level keys, each a single pass over rows already in order.
    ranked.sort(key=itemgetter(1, 2))
    ranked.sort(key=itemgetter(0), reverse=True)
    return row[0], [
        CreditRow(None if who[0] == "f" else int(who[1:]), n, name) for n, _, _, who, name in ranked
    ]


async def stored_names(db: Database, episode_id: int, member_ids: Collection[int]) -> dict[int, str | None]:
    """The name stored with the first contribution of the episode each member appears in (as its author; None
    when they first appear as the member who added a message): the name the dossier falls back on for a
    member gone from the server. Per member, the first of their contributions (`contributions_episode_author`)
    and whether they added one before it (`contributions_added_by`)."""
    row = await db.fetchone(
        "SELECT json_group_array(json_array(m.value, (SELECT CASE WHEN EXISTS ("
        "    SELECT 1 FROM contributions y INDEXED BY contributions_added_by WHERE y.episode_id = ?1 "
        "    AND y.added_by = m.value AND y.created_at <= x.created_at AND (y.created_at < x.created_at OR y.id < x.id)"
        "  ) THEN NULL ELSE x.author_name END "
        "  FROM contributions x INDEXED BY contributions_episode_author "
        "  WHERE x.episode_id = ?1 AND x.author_id = m.value ORDER BY x.created_at, x.id LIMIT 1"
        "))) FROM json_each(?2) m",
        (episode_id, json.dumps(sorted(set(member_ids)))),
    )
    return {member_id: name for member_id, name in json.loads(row[0])} if row else {}


@dataclass(frozen=True, slots=True)
class StoredCitation:
    """A source as one contribution cites it, and where in the dossier's reading order it is cited."""

    place: tuple[int, int, int, int]  # (0 for key research else 1, created_at, contribution number, idx)
    key: str
    kind: str
    ident: str
    words: str
    link: str | None
    aliases: tuple[str, ...] = ()

    @property
    def contribution_id(self) -> int:
        return self.place[2]


@dataclass(frozen=True, slots=True)
class StoredSource:
    """A source cited in an episode, under its own key: by how many contributions, where first, and how its
    first citation writes it (`words`: the first words written beside it, in reading order)."""

    cites: int
    first: StoredCitation
    words: str


_CITATION = (
    "cc.other, cc.created_at, cc.contribution_id, cc.idx, cc.key, cc.kind, cc.ident, cc.words, cc.link"
)


def _citation(r: tuple) -> StoredCitation:
    return StoredCitation((r[0], r[1], r[2], r[3]), r[4], r[5], r[6], r[7], r[8])


@dataclass(frozen=True, slots=True)
class TopSources:
    """An episode's most-cited sources. Keys written on the same line as another key of the same source (a
    URL beside a DOI, a book beside its ISBN) are `aliased`: the bibliography merges those in reading
    order, so they are left out of `top` and read whole (`citations_of`); every other key is a source of
    its own."""

    total: int  # sources the episode cites, each key on its own (`EpisodeFigures.sources`)
    top: list[StoredSource]  # the most cited (by contributions), then the first cited; no aliased key
    aliased: frozenset[str]
    aliased_cited: int  # how many of `aliased` are cited (each a source of its own in `total`)


# The keys written together with another in an episode (?1), each once.
_ALIASED = (
    "WITH aliased(key) AS ("
    "  SELECT key FROM contribution_citations WHERE episode_id = ?1 AND aliases IS NOT NULL"
    "  UNION SELECT j.value FROM contribution_citations a, json_each(a.aliases) j"
    "  WHERE a.episode_id = ?1 AND a.aliases IS NOT NULL"
    ") "
)


async def top_sources(db: Database, episode_id: int, limit: int) -> TopSources:
    """The `limit` sources cited by the most contributions, then the first cited (see `TopSources`), in
    one statement: ranges of `episode_sources_rank` and of the index of the aliased citations."""
    rows = await db.fetchall(
        f"{_ALIASED}SELECT s.sources, (SELECT json_group_array(key) FROM aliased), "
        "(SELECT COUNT(*) FROM episode_sources e WHERE e.episode_id = ?1 AND e.key IN aliased), "
        f"es.cites, {_CITATION}, "
        "(SELECT w.words FROM contribution_citations w WHERE w.episode_id = es.episode_id AND w.key = es.key "
        "AND w.words != '' ORDER BY w.other, w.created_at, w.contribution_id, w.idx LIMIT 1) "
        "FROM episode_stats s LEFT JOIN ("
        "  SELECT * FROM episode_sources WHERE episode_id = ?1 AND key NOT IN aliased "
        "  ORDER BY cites DESC, first_other, first_at, first_id, first_idx LIMIT ?2"
        ") es ON es.episode_id = s.episode_id "
        "LEFT JOIN contribution_citations cc ON cc.contribution_id = es.first_id AND cc.idx = es.first_idx "
        "WHERE s.episode_id = ?1 ORDER BY es.cites DESC, es.first_other, es.first_at, es.first_id, es.first_idx",
        (episode_id, limit),
    )
    if not rows:
        return TopSources(0, [], frozenset(), 0)
    return TopSources(
        rows[0][0],
        [StoredSource(r[3], _citation(r[4:13]), r[13] or "") for r in rows if r[3] is not None],
        frozenset(json.loads(rows[0][1])),
        rows[0][2],
    )


async def citations_of(db: Database, episode_id: int, keys: Collection[str]) -> list[StoredCitation]:
    """Every citation of `keys` in the episode, in reading order, with the other keys written beside it."""
    rows = await db.fetchall(
        f"SELECT {_CITATION}, cc.aliases FROM contribution_citations cc "
        "WHERE cc.episode_id = ? AND cc.key IN (SELECT value FROM json_each(?)) "
        "ORDER BY cc.other, cc.created_at, cc.contribution_id, cc.idx",
        (episode_id, json.dumps(sorted(keys))),
    )
    return [
        StoredCitation(
            (r[0], r[1], r[2], r[3]), r[4], r[5], r[6], r[7], r[8], tuple(json.loads(r[9])) if r[9] else ()
        )
        for r in rows
    ]
