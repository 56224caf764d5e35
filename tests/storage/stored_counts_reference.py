"""What the stored research counts (migration 0014) must hold, recomputed from the contributions themselves in
Python, for the tests of tests/storage/test_stored_counts.py and test_credits.py."""

from __future__ import annotations

import json

from bot.core.db import Database
from cogs.research import bibliography
from cogs.research.dossier import Person


def forum_plain(author_name: str | None) -> str:
    """How the dossier names a forum author not linked to a member (ResearchService.name_of, Person.plain)."""
    return Person(None, author_name or "a forum member").plain


async def expected(db: Database) -> dict[str, set[tuple]]:
    """Every stored count, as the tables should hold it."""
    rows = await db.fetchall(
        "SELECT id, episode_id, author_id, forum_author_id, author_name, mark, created_at, body, sources, links "
        "FROM contributions ORDER BY id"
    )
    stats: dict[int, list[int]] = {}
    card: dict[tuple[int, int], list[int]] = {}
    credits: dict[tuple[int, str], list] = {}
    citations: set[tuple] = set()
    sources: dict[tuple[int, str], list] = {}
    for r in rows:
        (cid, episode, author, forum_author, name, mark, created, body, text_sources, links) = tuple(r)
        figures = stats.setdefault(episode, [0, 0])
        figures[0] += 1
        figures[1] += mark == "excluded"
        who = author if author is not None else -forum_author
        group = card.setdefault((episode, who), [0, cid])
        group[0] += 1
        group[1] = min(group[1], cid)
        if mark == "excluded":
            continue
        key = f"m{author}" if author is not None else "f" + forum_plain(name)
        credit = credits.setdefault((episode, key), [0, (created, cid)])
        credit[0] += 1
        credit[1] = min(credit[1], (created, cid))
        found = bibliography.citations_in(body, text_sources, tuple(json.loads(links or "[]")))
        for idx, c in enumerate(found):
            place = (int(mark != "key"), created, cid, idx)
            citations.add((cid, idx, episode, c.key, *place[:2], c.kind, c.ident, c.words, c.link, c.aliases))
            source = sources.setdefault((episode, c.key), [0, place])
            source[0] += 1
            source[1] = min(source[1], place)
    per_episode: dict[int, list[int]] = {e: [n, x, 0, 0, 0] for e, (n, x) in stats.items()}
    for e, _ in card:
        per_episode[e][2] += 1
    for e, _ in credits:
        per_episode[e][3] += 1
    for e, _ in sources:
        per_episode[e][4] += 1
    return {
        "episode_stats": {(e, *v) for e, v in per_episode.items()},
        "episode_contributors": {(e, w, n, first) for (e, w), (n, first) in card.items()},
        "episode_credits": {(e, w, n, *first) for (e, w), (n, first) in credits.items()},
        "contribution_citations": citations,
        "episode_sources": {(e, k, n, *first) for (e, k), (n, first) in sources.items()},
    }


async def stored(db: Database) -> dict[str, set[tuple]]:
    """The stored counts as the tables hold them (episodes without contributions left out)."""
    citations = await db.fetchall(
        "SELECT contribution_id, idx, episode_id, key, other, created_at, kind, ident, words, link, aliases "
        "FROM contribution_citations"
    )
    return {
        "episode_stats": {
            tuple(r)
            for r in await db.fetchall(
                "SELECT episode_id, contributions, marked_excluded, contributors, credited, sources "
                "FROM episode_stats WHERE contributions > 0"
            )
        },
        "episode_contributors": {
            tuple(r)
            for r in await db.fetchall(
                "SELECT episode_id, who, contributions, first_id FROM episode_contributors"
            )
        },
        "episode_credits": {
            tuple(r)
            for r in await db.fetchall(
                "SELECT episode_id, who, credited, first_at, first_id FROM episode_credits"
            )
        },
        "contribution_citations": {
            (*tuple(r)[:10], tuple(json.loads(r[10])) if r[10] else ()) for r in citations
        },
        "episode_sources": {
            tuple(r)
            for r in await db.fetchall(
                "SELECT episode_id, key, cites, first_other, first_at, first_id, first_idx FROM episode_sources"
            )
        },
    }


async def assert_counts_exact(db: Database) -> None:
    want, got = await expected(db), await stored(db)
    for table in want:
        assert got[table] == want[table], (
            table,
            sorted(got[table] - want[table], key=repr)[:5],
            sorted(want[table] - got[table], key=repr)[:5],
        )
    # Episodes whose contributions all went keep a row of zeros.
    assert not await db.fetchall(
        "SELECT 1 FROM episode_stats WHERE contributions = 0 "
        "AND (marked_excluded, contributors, credited, sources) != (0, 0, 0, 0)"
    )
    assert not await db.fetchall("SELECT 1 FROM forum_credit_rows f WHERE NOT EXISTS ("
                                 "SELECT 1 FROM contributions c WHERE c.id = f.id AND c.author_id IS NULL "
                                 "AND c.mark != 'excluded')")  # fmt: skip
