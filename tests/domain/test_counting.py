"""The SQL functions the stored counts' triggers call (cogs.research.counting): the sources of a contribution are
exactly the bibliography's, although texts and lines that cannot cite anything are not parsed."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cogs.research import bibliography
from cogs.research.counting import citations_json, forum_credit_name
from cogs.research.dossier import Person

PIECES = st.sampled_from(
    [
        "Lenin died in 1924 at Gorki.", "Krupskaya", " ", "\n", "\n\n", "Source:", "sources:", "**Sources**:", "SOURCE ",
        "https://en.wikipedia.org/wiki/Lenin", "HTTP://example.org/a?utm_source=x", "doi:10.1017/S0020859000001234",
        "10.1000/xyz", "ISBN 978-0-330-49139-6", "0-330-49139-3", "978 0 330 49139 6", "isbn 0-394-50241-5", "9780330491396", "1-2-3-4", "- ", "* ",
        "Service, *Lenin: A Biography*", "_Lenin_ by Robert Service", '"The Russian Revolution" by Pipes', "“Lenin”",
        "Pipes, The Russian Revolution", "; ", ", ", "ſource:", "1924-01", "Ленин", "é", "İSBN 0330491393",
        "ıSBN 0330491393", "HTTPS://EXAMPLE.ORG/A", "10.", "well-known",
    ]
)  # fmt: skip
TEXTS = st.lists(PIECES, max_size=14).map("".join)
LINKS = st.sampled_from(
    ["[]", "", None, '["https://example.org/paper"]', '["https://en.wikipedia.org/wiki/Lenin"]']
)


def expected(body, sources, links) -> list:
    found = bibliography.citations_in(body, sources, tuple(json.loads(links or "[]")))
    return [[c.key, c.kind, c.ident, c.words, c.link, list(c.aliases) or None] for c in found]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=TEXTS | st.text(max_size=80), sources=st.none() | TEXTS, links=LINKS)
@example(body="Plain words\nSee https://example.org/a\nmore words", sources=None, links="[]")
@example(body="Sources:\nService, Lenin: A Biography\n\nwords", sources=None, links=None)
@example(body="Lenin\nService wrote 0-330-49139-3 in 2000", sources=None, links="[]")  # a bare ISBN-10
def test_the_sources_are_the_bibliographys(body, sources, links):
    assert json.loads(citations_json(body, sources, links)) == expected(body, sources, links)


def test_texts_that_cannot_cite_are_not_parsed(monkeypatch):
    def refuse(*_):
        raise AssertionError("parsed")

    monkeypatch.setattr(bibliography, "citations_in", refuse)
    assert (
        citations_json("Lenin died on 21 January 1924 at Gorki.\nKrupskaya was his widow.", None, "[]")
        == "[]"
    )


@given(name=st.none() | st.text(max_size=20))
def test_forum_names_are_counted_as_the_dossier_prints_them(name):
    assert forum_credit_name(name) == Person(None, name or "a forum member").plain
