"""The JSON dossier: one object built by the json module with the fields the spec lists, valid UTF-8
and valid JSON whatever members typed (lone surrogates, control characters, NUL — a property test)."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from cogs.research.export import Dossier, Person, credits_of, render
from tests.domain.test_dossier_seed import contribution, seed_dossier

NASTY = [
    "\x00",
    "\x1f",
    "\x7f",
    "\ud800",
    "\udfff",
    "\ud83d",
    "\u2028",
    "\u2029",
    "\ufeff",
    '"',
    "\\",
    "</script>",
    "}]",
]
SHAPES = [
    "https://x.org/a?q=",
    "https://doi.org/",
    "10.1234/",
    "ISBN ",
    "\nSources: ",
    "\n- ",
    " *",
    '"',
    ", ",
]
PIECES = st.one_of(st.characters(exclude_categories=()), st.sampled_from(NASTY), st.sampled_from(SHAPES))
TEXT = st.lists(PIECES, max_size=40).map("".join)


def same_text(a: str, b: str) -> bool:
    """Equal once surrogate pairs written as two code points are read as the one character they make."""

    def norm(s: str) -> str:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")

    return norm(a) == norm(b)


def exported(dossier: Dossier) -> dict:
    name, text = render(dossier, "json")
    assert name.endswith("-research.json")
    return json.loads(text.encode("utf-8").decode("utf-8"))  # strict UTF-8 both ways


def test_the_fields_the_spec_lists():
    data = exported(seed_dossier())
    assert list(data) == ["episode", "contributions", "bibliography", "credits"]
    assert data["episode"]["code"] == "1924-01" and data["episode"]["exported_at"] == "2024-01-24T12:00:00Z"
    by_id = {c["id"]: c for c in data["contributions"]}
    assert sorted(by_id) == [1, 2, 3, 4, 5, 6, 7]  # every one, the excluded one too
    first = by_id[1]
    for key in (
        "id",
        "author_id",
        "author_name",
        "created_at",
        "text",
        "sources",
        "likes",
        "reply_to",
        "mark",
        "link",
        "origin",
    ):
        assert key in first, key
    assert (first["author_id"], first["author_name"], first["mark"], first["likes"]) == (
        "1456000000000000011",
        "Veles",
        "key",
        3,
    )
    assert (
        first["created_at"] == "2024-01-21T13:00:00Z"
        and first["link"] == "https://discord.com/channels/1/2/101"
    )
    assert first["sources"] == [
        "Service, Robert. Lenin: A Biography. London: Macmillan, 2000. ISBN 0-330-49139-3",
        "https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin?utm_source=forum",
    ]
    assert first["cites"] == [1, 2]
    assert by_id[2]["reply_to"] == 1 and by_id[1]["reply_to"] is None
    assert by_id[4]["mark"] == "excluded" and by_id[4]["text"] == "ok thanks!"
    assert (by_id[5]["author_id"], by_id[5]["author_name"], by_id[5]["origin"]) == (None, "Indy", "forum")
    assert (
        by_id[6]["origin"] == "form"
        and by_id[6]["sources"][0] == "Pipes, The Russian Revolution; ISBN 978-0-394-57394-6"
    )


def test_bibliography_and_credits_are_objects():
    data = exported(seed_dossier())
    assert data["bibliography"][0] == {
        "number": 1,
        "kind": "isbn",
        "key": "isbn:9780330491396",
        "text": "Service, Robert. Lenin: A Biography. London: Macmillan, 2000.",
        "identifier": "ISBN 978-0330491396",
        "reference": "Service, Robert. Lenin: A Biography. London: Macmillan, 2000 — ISBN 978-0330491396",
        "link": "https://openlibrary.org/isbn/9780330491396",
        "cited_by": [1, 5],
    }
    assert [(b["kind"], b["key"]) for b in data["bibliography"][1:4]] == [
        ("url", "url:en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin"),
        ("url", "url:en.wikipedia.org/wiki/Nadezhda_Krupskaya"),
        ("doi", "doi:10.2307/2495085"),
    ]
    assert data["credits"][:3] == [
        {"id": "1456000000000000011", "name": "Veles", "contributions": 2},
        {"id": "1456000000000000012", "name": "Spartacus", "contributions": 2},
        {"id": None, "name": "Indy", "contributions": 1},
    ]


def test_it_is_one_json_object_not_a_template():
    text = render(seed_dossier(), "json")[1]
    assert json.loads(text) == json.loads(json.dumps(json.loads(text)))
    assert text.startswith("{") and text.endswith("}\n")


@settings(max_examples=150, deadline=None)
@given(name=TEXT, title=TEXT, body=TEXT, sources=TEXT)
def test_valid_json_whatever_members_typed(name, title, body, sources):
    entry = replace(contribution(1, Person(5, name), body, title=title, sources=sources), links=(body,))
    dossier = Dossier(
        replace(seed_dossier().episode, title=title, description=body), (entry,), credits_of((entry,))
    )
    data = exported(dossier)
    (row,) = data["contributions"]
    assert same_text(row["text"], body) and same_text(row["title"], title)
    assert same_text(row["author_name"], name) and same_text(data["episode"]["title"], title)
    assert row["links"] == [body] or same_text(row["links"][0], body)
    for other in ("markdown", "html", "csv"):
        render(dossier, other)[1].encode("utf-8")  # every format is valid UTF-8 too
