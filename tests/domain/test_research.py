"""Research rules: links, safe FTS5 queries (checked against a real FTS5 table), excerpts, the
thank-you split, the bibliography and the three export formats."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime

import pytest

from bot.errors import InvalidInput
from cogs.research.export import (
    Dossier,
    DossierEntry,
    DossierEpisode,
    Person,
    bibliography,
    credits_of,
    package,
    render,
)
from cogs.research.rules import (
    build_fts_query,
    chunk_mentions,
    excerpt,
    extract_links,
    normalize_url,
    split_sources,
)

VELES, SPARTACUS = Person(11, "Veles"), Person(12, "Spartacus")
T0 = datetime(2024, 1, 21, 12, 0, tzinfo=UTC)


def test_links_drop_sentence_punctuation_but_keep_balanced_brackets():
    text = (
        "See https://en.wikipedia.org/wiki/Nadezhda_Krupskaya. Also (https://example.org/a) and "
        "https://en.wikipedia.org/wiki/Lenin_(disambiguation), <https://example.org/b>, "
        "and again https://example.org/a!"
    )
    assert extract_links(text) == [
        "https://en.wikipedia.org/wiki/Nadezhda_Krupskaya",
        "https://example.org/a",
        "https://en.wikipedia.org/wiki/Lenin_(disambiguation)",
        "https://example.org/b",
    ]
    assert extract_links(None, "", "no links here http://") == []


def test_same_page_normalizes_equal():
    assert normalize_url("http://www.Example.org/page/?utm_source=x#top") == normalize_url(
        "https://example.org/page"
    )
    assert normalize_url("https://example.org/page?id=1") != normalize_url("https://example.org/page?id=2")


FTS_HOSTILE = [
    '"',
    "AND OR",
    "*",
    "NEAR(",
    "NEAR(lenin stalin, 3)",
    "lenin AND",
    "OR lenin",
    "NOT stalin",
    "col:lenin",
    "title:lenin",
    "^lenin",
    "lenin)",
    "(((",
    "a - b + c",
    '"unbalanced',
    'say "Lenin died" twice "',
    "Ленин",
    "Dzierżyński",
    "列宁",
    "🙂lenin🙂",
    "x" * 500,
    "a\x00b",
    "'; DROP TABLE t; --",
    "lenin* stal*",
    "**lenin",
]


@pytest.fixture(scope="module")
def fts():
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, body, sources, tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.executemany(
        "INSERT INTO t (title, body, sources) VALUES (?, ?, ?)",
        [
            ("Lenin", "Lenin died on 21 January 1924.", ""),
            ("", "Feliks Dzierzynski led the Cheka; Ленин trusted him.", ""),
            ("", "Stalin and Trotsky; and or near.", ""),
            ("", "Krupskaya, not Krupska.", ""),
        ],
    )
    yield conn
    conn.close()


def search(conn, text):
    return [
        r[0]
        for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid", (build_fts_query(text),))
    ]


@pytest.mark.parametrize("text", FTS_HOSTILE)
def test_any_text_builds_a_valid_fts_query(fts, text):
    if not any(ch.isalnum() for ch in text):
        with pytest.raises(InvalidInput):
            search(fts, text)
        return
    search(fts, text)  # never an sqlite3.OperationalError


@pytest.mark.parametrize("text", ["", "   ", '"', "*", "🙂 🎉", "()", "-- ;", '""'])
def test_nothing_searchable_is_a_clear_error(text):
    with pytest.raises(InvalidInput, match="nothing to search"):
        build_fts_query(text)


def test_query_semantics(fts):
    assert search(fts, "lenin") == [1]
    assert search(fts, "LENIN 1924") == [1]
    assert search(fts, "lenin trotsky") == []  # all words must match
    assert search(fts, "lenin OR trotsky") == [1, 3]
    assert search(fts, "dzierżyński") == [2]  # diacritics folded
    assert search(fts, "Ленин") == [2]
    assert search(fts, "krups*") == [4]
    assert search(fts, "krups") == []
    assert build_fts_query("kr* x*") == '"kr" AND "x"'  # too short to be a prefix: a word
    assert search(fts, '"died on 21"') == [1]
    assert search(fts, '"21 on died"') == []
    assert search(fts, "AND OR") == [3]  # only operator words: searched as words
    assert search(fts, "NEAR") == [3]
    assert build_fts_query('Lenin "died on"') == '"Lenin" AND "died on"'
    assert build_fts_query('say "x') == '"say" AND "x"'


def test_excerpt_and_sources():
    assert excerpt("  one\n two  ") == "one two"
    assert excerpt("x" * 200, 10) == "x" * 9 + "…"
    assert split_sources("- Service, Lenin\n\n2. Pipes) The Russian Revolution\n* https://a.org\n") == [
        "Service, Lenin",
        "Pipes) The Russian Revolution",
        "https://a.org",
    ]


def test_thank_you_chunks_mention_everyone_once_under_the_limit():
    ids = [10**17 + i for i in range(250)] + [10**17]  # a repeat
    messages = chunk_mentions("Thank you to everyone:", ids, footer="See the dossier.")
    assert len(messages) > 1
    assert all(len(m) < 2000 for m in messages)
    joined = " ".join(messages)
    for uid in set(ids):
        assert joined.count(f"<@{uid}>") == 1
    assert messages[0].startswith("Thank you") and messages[-1].endswith("See the dossier.")
    assert chunk_mentions("Thanks:", [1, 2], footer="Bye") == ["Thanks: <@1> <@2>\nBye"]


def entry(id, author, body, *, sources=None, links=(), likes=0, reply_to_id=None, title=None, **kw):
    return DossierEntry(
        id=id,
        author=author,
        origin=kw.pop("origin", "thread"),
        title=title,
        body=body,
        sources=sources,
        created_at=T0,
        edited_at=None,
        url=f"https://discord.com/channels/1/2/{id}",
        likes=likes,
        links=tuple(links),
        reply_to_id=reply_to_id,
        **kw,
    )


def sample() -> Dossier:
    entries = (
        entry(
            1,
            VELES,
            "Lenin died on 21 January 1924.\n# not a heading of the dossier",
            links=["https://en.wikipedia.org/wiki/Vladimir_Lenin"],
            likes=2,
            liked_by=(12, 13),
        ),
        entry(
            2,
            SPARTACUS,
            "Krupskaya, not Krupska.",
            reply_to_id=1,
            title="Spelling",
            sources="- Service, Lenin: A Biography\n- https://www.en.wikipedia.org/wiki/Vladimir_Lenin/",
            links=["https://www.en.wikipedia.org/wiki/Vladimir_Lenin/"],
            origin="form",
        ),
        entry(
            3,
            VELES,
            'Petrograd became Leningrad, "the city", of the revolution, 1924.',
            attachments=(("map.png", "https://cdn/map.png"),),
        ),
    )
    episode = DossierEpisode(
        code="1924-01",
        title="Lenin's Death",
        status="Recorded",
        description=None,
        authors=(Person(13, "Indy"),),
        created_at=T0,
        updated_at=T0,
        exported_at=T0,
        dates=(("Script deadline", T0),),
    )
    return Dossier(episode, entries, credits_of(entries))


def test_bibliography_dedupes_sources_and_links():
    # The same page cited with www., a trailing slash (#2) and bare (#1) is one source, listed once.
    assert bibliography(sample().entries) == [
        "https://en.wikipedia.org/wiki/Vladimir_Lenin",
        "Service, Lenin: A Biography",
    ]


def test_credits_most_contributions_first():
    assert [(c.person.name, c.contributions) for c in credits_of(sample().entries)] == [
        ("Veles", 2),
        ("Spartacus", 1),
    ]


def test_markdown_dossier():
    name, text = render(sample(), "markdown")
    assert name == "1924-01-research.md"
    for part in (
        "# 1924-01 · Lenin's Death",
        "**Status:** Recorded",
        "**Authors:** Indy",
        "**Script deadline:** 2024-01-21 12:00 UTC",
        "**Research:** 3 contributions from 2 contributors",
        "## Contents",
        "## Contributions",
        "### #2 · Spelling",
        "**Spartacus** · 2024-01-21 12:00 UTC",
        "In reply to [#1](#c1) (Veles)",
        "**Corrected by** [#2](#c2) (Spartacus)",
        "2 likes",
        "> \\# not a heading of the dossier",
        "**Sources:**",
        "- [map.png](<https://cdn/map.png>)",
        "## Bibliography",
        "Service, Lenin: A Biography · cited in [#2](#c2)",
        "## Credits",
        "- Veles — 2 contributions",
        "- Spartacus — 1 contribution",
    ):
        assert part in text, part
    assert "\n# not a heading" not in text
    assert "<@" not in text and "id 11" not in text and "(s)" not in text  # plain names and plurals


def test_json_dossier_parses_with_stable_ids():
    name, text = render(sample(), "json")
    assert name == "1924-01-research.json"
    data = json.loads(text)
    assert [c["id"] for c in data["contributions"]] == [1, 2, 3]
    assert data["contributions"][0]["liked_by"] == ["12", "13"]
    assert data["contributions"][1]["reply_to"] == 1
    assert data["contributions"][1]["sources"] == [
        "Service, Lenin: A Biography",
        "https://www.en.wikipedia.org/wiki/Vladimir_Lenin/",
    ]
    assert data["credits"][0] == {"id": "11", "name": "Veles", "contributions": 2}
    assert data["episode"]["dates"] == [{"label": "Script deadline", "at": "2024-01-21T12:00:00Z"}]


def test_csv_dossier_one_row_per_contribution():
    name, text = render(sample(), "csv")
    assert name == "1924-01-research.csv"
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["text"].endswith("# not a heading of the dossier")  # newlines survive quoting
    assert rows[2]["text"] == 'Petrograd became Leningrad, "the city", of the revolution, 1924.'
    assert rows[2]["attachments"] == "https://cdn/map.png"
    assert rows[1]["reply_to"] == "1"


def test_unknown_format():
    with pytest.raises(InvalidInput):
        render(sample(), "pdf")


def test_large_files_come_in_parts_never_zipped():
    name, text = render(sample(), "markdown")
    assert package(name, text, 10**6) == [(name, text.encode())]
    files = package(name, text, len(text.encode()) * 2 // 3)
    assert [n for n, _ in files][:2] == ["1924-01-research-part1.md", "1924-01-research-part2.md"]
    assert all(not data.startswith(b"PK") for _, data in files)
    with pytest.raises(InvalidInput, match="upload limit"):
        package(name, text, 100)


def test_json_keeps_any_text_exactly():
    nasty = 'He said "no"\\n\tback\\slash \x00\x1f 🙂 Ленин </script> \u2028'
    entries = (
        entry(
            7,
            Person(5, 'Name "quoted" \\ 🙂'),
            nasty,
            title=nasty,
            sources=f"- {nasty}",
            links=['https://a.org/x?y=1&z="2"'],
        ),
    )
    dossier = Dossier(sample().episode, entries, credits_of(entries))
    data = json.loads(render(dossier, "json")[1])
    (row,) = data["contributions"]
    assert row["text"] == nasty and row["title"] == nasty
    assert row["author"] == {"id": "5", "name": 'Name "quoted" \\ 🙂'}
    assert row["sources"] == [nasty.strip()]
    assert row["links"] == ['https://a.org/x?y=1&z="2"']
    assert row["edited_at"] is None and row["added_by"] is None and row["reply_to"] is None


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("https://[abc", []),
        ("see http://[::1 and https://example.org]", ["https://example.org"]),
        (
            "https://[/path then https://en.wikipedia.org/wiki/Krupskaya",
            ["https://en.wikipedia.org/wiki/Krupskaya"],
        ),
    ],
)
def test_text_that_only_looks_like_a_url_is_no_link_and_no_crash(text, links):
    assert extract_links(text) == links
    assert normalize_url("https://[abc") == "https://[abc"  # its own key, never an exception
