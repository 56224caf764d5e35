"""The Markdown dossier under hostile names, titles and text, rendered by a CommonMark renderer with raw
HTML allowed (the worst a viewer could do): members' text stays text — no HTML of theirs, no link but the
http(s) URLs they wrote, no heading of theirs among the dossier's."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from cogs.research.export import render
from tests.domain.test_dossier_seed import HOSTILE_NAME, HOSTILE_TITLE, seed_dossier

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py renders the Markdown dossier here")


class Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def rendered() -> tuple[str, list[tuple[str, dict[str, str | None]]]]:
    text = render(seed_dossier(), "markdown")[1]
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).render(text)
    return html, Tags(html).tags


def test_no_html_of_members_gets_through(rendered):
    html, tags = rendered
    names = {tag for tag, _ in tags}
    assert names <= {"h1", "h2", "h3", "p", "ul", "ol", "li", "a", "strong", "em", "blockquote", "br", "code"}
    assert not any(attr.startswith("on") for _, attrs in tags for attr in attrs)
    ids = [attrs["id"] for tag, attrs in tags if tag == "a" and "id" in attrs]
    assert all(re.fullmatch(r"c\d+|s\d+|key-research|contributions|bibliography|credits", i) for i in ids), (
        ids
    )
    assert "&lt;script&gt;" in html and "<script" not in html


def test_only_http_links_members_wrote(rendered):
    _, tags = rendered
    hrefs = [attrs["href"] for tag, attrs in tags if tag == "a" and "href" in attrs]
    assert hrefs and all(h.startswith(("#", "https://", "http://")) for h in hrefs), hrefs
    assert not [h for h in hrefs if "evil.example/%22" in h or "javascript" in h.lower()]


def test_headings_are_the_dossiers_own(rendered):
    html, _ = rendered
    headings = re.findall(r"<h([1-3])>(.*?)</h\1>", html)
    assert [level for level, _ in headings].count("1") == 1
    assert [text for level, text in headings if level == "2"] == [
        "Contents",
        "Key research",
        "Other contributions",
        "Bibliography",
        "Credits",
    ]
    assert all(re.match(r"#\d+ · ", text) for level, text in headings if level == "3")
    assert "# not a heading" in html  # the member's line, as text in a quote


def test_names_and_titles_read_as_written():
    text = render(seed_dossier(), "markdown")[1]
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).render(text)
    plain = re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    plain = plain.replace("&amp;", "&")
    assert HOSTILE_NAME in plain
    assert HOSTILE_TITLE in plain
