"""The HTML dossier read as a parser reads it: one self-contained file, everything members wrote escaped,
links only to http(s) URLs members wrote (and the thread, messages, doi.org and openlibrary.org), every
#N reference landing on an anchor. tests/test_dossier_browser.py opens it in a real browser."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from cogs.research.export import Dossier, credits_of, render
from tests.domain.test_dossier_seed import (
    HOSTILE_NAME,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    contribution,
    seed_dossier,
)


class Page(HTMLParser):
    """The tags, attributes, ids, links and text of a document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.ids: list[str] = []
        self.links: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value))
        found = dict(attrs)
        if "id" in found:
            self.ids.append(found["id"])
        if tag == "a":
            self.links.append(found)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def html() -> str:
    name, text = render(seed_dossier(), "html")
    assert name == "1924-01-research.html"
    return text


def test_one_self_contained_file_with_no_script(html):
    page = Page(html)
    assert html.startswith("<!DOCTYPE html>")
    assert page.tags.count("style") == 1 and page.tags.count("script") == 0
    for tag in ("img", "iframe", "object", "embed", "link", "base", "form", "svg", "video", "audio"):
        assert tag not in page.tags, tag
    assert [a for a in page.attrs if a[1].startswith("on")] == []
    assert [a for a in page.attrs if a[1] in ("src", "srcset", "action", "formaction")] == []
    style = html[html.index("<style>") : html.index("</style>")]
    assert (
        "url(" not in style and "@import" not in style and "http" not in style and "@font-face" not in style
    )
    assert "default-src 'none'" in html  # and a Content-Security-Policy in case a browser finds anything


def test_links_go_only_where_members_pointed_and_never_leak(html):
    page = Page(html)
    external = {a["href"] for a in page.links if not a["href"].startswith("#")}
    assert external == {
        "https://discord.com/channels/1/2",  # the thread
        *(f"https://discord.com/channels/1/2/{100 + n}" for n in (1, 2, 3, 5, 6, 7)),  # the messages
        "https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin?utm_source=forum",
        "https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/",
        "http://en.wikipedia.org/wiki/Nadezhda_Krupskaya#Later_life",
        "https://doi.org/10.2307/2495085",
        "https://www.britannica.com/place/Soviet-Union/",
        "https://openlibrary.org/isbn/9780330491396",  # for the ISBN Veles wrote
        "https://openlibrary.org/isbn/9780394573946",  # for the ISBN Spartacus wrote
        "https://evil.example/",  # written by the hostile member: an http(s) URL, so a link
        "https://ok.example/page?a=1&b=",  # ends where the quote after it starts
    }
    for link in page.links:
        if not link["href"].startswith("#"):
            assert link["rel"] == "noopener noreferrer nofollow", link
    assert "javascript:" not in " ".join(a["href"] for a in page.links)


def test_every_reference_lands_on_an_anchor(html):
    page = Page(html)
    assert len(page.ids) == len(set(page.ids))
    internal = {a["href"][1:] for a in page.links if a["href"].startswith("#")}
    assert internal <= set(page.ids)
    assert {
        "key-research",
        "contributions",
        "bibliography",
        "credits",
        "c1",
        "c2",
        "c7",
        "s1",
        "s6",
    } <= internal
    assert "c4" not in page.ids  # excluded: not shown


def test_what_members_wrote_is_text_and_nothing_else(html):
    page = Page(html)
    text = "".join(page.text)
    for hostile in (HOSTILE_NAME, HOSTILE_TITLE, *HOSTILE_TEXT.splitlines()):
        assert hostile in text, hostile
    assert "<script>" not in html and "<img" not in html and "<svg" not in html
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in html
    assert html.count("</article>") == html.count("<article")  # the text's </article> closed nothing


def test_control_characters_are_dropped_and_text_stays_whole():
    entry = contribution(1, seed_dossier().entries[0].author, "Lenin\x00 died\x07 in\x1b 1924\u2028 ok")
    dossier = Dossier(seed_dossier().episode, (entry,), credits_of((entry,)))
    html = render(dossier, "html")[1]
    assert "Lenin died in 1924\u2028 ok" in html
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", html)


def test_lone_surrogates_do_not_break_the_file():
    entry = contribution(1, seed_dossier().entries[0].author, "broken \ud800 emoji")
    dossier = Dossier(seed_dossier().episode, (entry,), credits_of((entry,)))
    html = render(dossier, "html")[1]
    assert "broken \ufffd emoji" in html
    html.encode("utf-8")


def test_reading_order_and_words(html):
    text = re.sub(r"\s+", " ", "".join(Page(html).text))
    assert text.index("Key research #1 · Lenin's death") < text.index("Other contributions #2")
    assert "Corrected by #2 (Spartacus)" in text and "Answered by #3 (Veles)" in text
    assert "In reply to #1 (Veles)" in text
    assert "3 likes" in text and "1 like " in text and "no likes" in text and "(s)" not in text
    assert "ok thanks" not in text and "1 left out (#4, marked excluded)" in text
    assert "Spartacus — 2 contributions" in text and "Indy — 1 contribution" in text
    assert "<@" not in text and "1456000000000000011" not in html


def test_a_reply_to_a_left_out_contribution_says_so_without_a_link():
    dossier = seed_dossier(hostile=False)
    entries = tuple(replace(e, mark="excluded") if e.id == 1 else e for e in dossier.entries)
    html = render(Dossier(dossier.episode, entries, credits_of(entries)), "html")[1]
    text = re.sub(r"\s+", " ", "".join(Page(html).text))
    assert "In reply to #1 (Veles, left out)" in text
    assert 'href="#c1"' not in html
    assert "Lenin had seemed" not in text


def test_an_empty_dossier_still_reads():
    dossier = seed_dossier()
    html = render(Dossier(dossier.episode, ()), "html")[1]
    text = "".join(Page(html).text)
    assert "No contributions yet." in text and "No sources cited." in text and "No contributors yet." in text
