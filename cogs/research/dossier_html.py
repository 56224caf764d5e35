"""The HTML dossier: one self-contained file (inline CSS, no scripts, no external fonts or images),
rendered by Jinja2 with autoescaping from templates/dossier.html, that reads and prints well.

Everything members wrote is escaped. Only http(s) URLs become links: the ones members wrote, the thread
and message links, and the doi.org / openlibrary.org links of the DOIs and ISBNs they cited; every
link is `rel="noopener noreferrer nofollow"`. A Content-Security-Policy forbids scripts and any
request, should a browser ever find something to run or load.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import jinja2
from markupsafe import Markup, escape

from cogs.research.bibliography import url_spans
from cogs.research.dossier import Layout, count, iso, when

REL = "noopener noreferrer nofollow"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not allowed in HTML text: dropped
_WEB_URL = re.compile(r"https?://[^\s<>\"'`\\]+", re.IGNORECASE)


def _clean(value: object) -> str:
    return _CONTROL.sub("", str(value))


def is_web_url(url: str | None) -> bool:
    return bool(url) and _WEB_URL.fullmatch(url or "") is not None


def link(url: str | None, text: str | None = None) -> Markup:
    """`text` (the URL itself by default) as a link to `url` when that is an http(s) URL, else as text."""
    label = _clean((url or "") if text is None else text)
    if not is_web_url(url):
        return escape(label)
    return Markup('<a href="{}" rel="{}">{}</a>').format(_clean(url), REL, label)


def linkify(text: str | None) -> Markup:
    """Members' text, escaped, with the http(s) URLs they wrote as links."""
    text = _clean(text or "")
    out, pos = [], 0
    for start, end, url in url_spans(text):
        out += [escape(text[pos:start]), link(url)]
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def _finalize(value: object) -> object:
    """Every `{{ … }}` without its control characters (markup built by the filters is clean already)."""
    return _clean(value) if isinstance(value, str) and not isinstance(value, Markup) else value


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cogs.research", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(link=link, linkify=linkify, when=when, iso=iso, count=count)
    return env


def template() -> jinja2.Template:
    """The dossier's template, compiled on first use (about 20 ms holding the GIL: the bot compiles it
    as it starts, not in the middle of an export)."""
    return _environment().get_template("dossier.html")


def pieces(layout: Layout) -> Iterator[str]:
    """The dossier as one HTML document, piece by piece as the template writes it."""
    return template().generate(d=layout, ep=layout.episode, rel=REL)


def render(layout: Layout) -> str:
    """The dossier as one HTML document."""
    return "".join(pieces(layout))
