"""Research rules as plain functions: links, safe full-text queries, excerpts, sources, the thank-you's split."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.core.text import excerpt as excerpt  # one excerpt for every feature; kept importable from here
from bot.errors import InvalidInput

MESSAGE_LIMIT = 2000
QUERY_MAX_TERMS = 24
PREFIX_MIN = 3  # letters before a * (shorter prefixes would match most of the index)

# -- links ---------------------------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"'`|]+", re.IGNORECASE)
_TRAILING = ".,;:!?*_~'\"”’»›)]}>"
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _trim_url(url: str) -> str:
    """Drop punctuation that ends the sentence rather than the URL, keeping balanced brackets."""
    while url and url[-1] in _TRAILING:
        last = url[-1]
        if last in _PAIRS and url.count(_PAIRS[last]) >= url.count(last):
            break
        url = url[:-1]
    return url


def extract_links(*texts: str | None) -> list[str]:
    """Every http(s) URL in the texts, in order of appearance, without repeats."""
    found: dict[str, None] = {}
    for text in texts:
        for match in _URL.finditer(text or ""):
            url = _trim_url(match.group(0))
            if len(url) > len("https://") and urlsplit(url).netloc:
                found.setdefault(url, None)
    return list(found)


@functools.lru_cache(maxsize=16384)
def normalize_url(url: str) -> str:
    """A key under which the same web page cited twice compares equal."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith("utm_")
        ]
    )
    path = parts.path.rstrip("/")
    return urlunsplit(
        ("https" if parts.scheme.lower() in ("http", "https") else parts.scheme, host, path, query, "")
    )


# -- full-text search ----------------------------------------------------------------------------------

_TERM = re.compile(r"[^\W_]+(?:\*)?", re.UNICODE)  # letters/digits (any script), optional trailing *
_OPERATORS = {"AND", "OR", "NOT", "NEAR"}


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _terms(text: str) -> list[str]:
    return [m.group(0) for m in _TERM.finditer(text)]


def build_fts_query(text: str) -> str:
    """An FTS5 MATCH expression for any member text; never an FTS5 syntax error.

    Every word is quoted (so AND, NOT, NEAR, parentheses, colons and stray quotes are plain text);
    words inside a pair of double quotes form a phrase; a word of 3+ letters ending in * matches as a
    prefix; the word OR in capitals between two terms means either. Raises InvalidInput when nothing
    searchable is left (only punctuation, emoji or spaces)."""
    pieces = text.split('"')
    if len(pieces) % 2 == 0:  # an unbalanced quote: the last one is plain text
        pieces = [*pieces[:-2], pieces[-2] + " " + pieces[-1]]
    items: list[tuple[str, str]] = []  # (kind, fts text): kind "term" or "or"
    for index, piece in enumerate(pieces):
        if index % 2 == 1:  # a quoted phrase
            words = [w.rstrip("*") for w in _terms(piece)]
            words = [w for w in words if w]
            if words:
                items.append(("term", _quote(" ".join(words))))
            continue
        for word in _terms(piece):
            bare = word.rstrip("*")
            if not bare:
                continue
            if bare in _OPERATORS and not word.endswith("*"):
                items.append(("op", bare))
                continue
            prefix = word.endswith("*") and len(bare) >= PREFIX_MIN
            items.append(("term", _quote(bare) + ("*" if prefix else "")))
    terms = [(k, v) for k, v in items if k == "term"]
    if not terms:
        # Only operator words ("AND OR"): search for them as words rather than refuse.
        items = [("term", _quote(v)) for k, v in items if k == "op"]
        terms = items
    if not terms:
        raise InvalidInput(
            "There is nothing to search for in that: use at least one word (letters or digits)."
        )
    out: list[str] = []
    pending_or = False
    count = 0
    for kind, value in items:
        if kind == "op":
            pending_or = pending_or or (value == "OR" and bool(out))
            continue
        if count >= QUERY_MAX_TERMS:
            break
        if out:
            out.append("OR" if pending_or else "AND")
        out.append(value)
        pending_or = False
        count += 1
    return " ".join(out)


# -- text helpers --------------------------------------------------------------------------------------


def join_within(items: Sequence[str], limit: int, *, sep: str = "\n", more: str = "… and {n} more") -> str:
    """As many whole items as fit in `limit` characters, then "… and N more" for the rest (the
    marker always fits: items are dropped to make room for it). An item longer than the limit on
    its own is cut with "…"."""
    if len(sep.join(items)) <= limit:
        return sep.join(items)
    kept: list[str] = []
    length = 0
    for index, item in enumerate(items):
        tail = more.format(n=len(items) - index - 1)
        extra = len(item) + (len(sep) if kept else 0)
        if length + extra + len(sep) + len(tail) > limit:
            break
        kept.append(item)
        length += extra
    left = len(items) - len(kept)
    tail = more.format(n=left)
    if not kept and len(tail) + len(sep) < limit:
        # Not even the first item fits whole: show its beginning rather than nothing.
        room = limit - len(tail) - len(sep)
        return items[0][: max(room - 1, 0)].rstrip() + "…" + sep + more.format(n=left - 1)
    return sep.join([*kept, tail])[:limit]


def clip(text: str, limit: int, marker: str = "… (cut: the full text is in the export)") -> str:
    """`text` within `limit` characters: whole lines while they fit, cut visibly otherwise."""
    if len(text) <= limit:
        return text
    room = limit - len(marker) - 1
    head = text[:room]
    if "\n" in head[room // 2 :]:
        head = head[: head.rindex("\n")]  # end at a whole line when one ends in the second half
    return head.rstrip() + "\n" + marker


def split_sources(sources: str | None) -> list[str]:
    """The lines of a sources field, without list bullets or numbering."""
    if not sources:
        return []
    lines = []
    for line in (sources or "").splitlines():
        cleaned = re.sub(r"^\s*(?:[-*•·]|\d+[.)])\s*", "", line).strip()
        if cleaned:
            lines.append(cleaned)
    return lines


MENTIONS_MAX = 100  # members one message may ping (Discord's allowed_mentions.users limit)


def chunk_mentions(
    header: str,
    user_ids: Sequence[int],
    footer: str = "",
    limit: int = MESSAGE_LIMIT,
    max_mentions: int = MENTIONS_MAX,
) -> list[str]:
    """The thank-you as messages shorter than `limit` characters with at most `max_mentions`
    mentions each, every member mentioned exactly once."""
    messages: list[str] = []
    current = header
    count = 0
    for mention in (f"<@{u}>" for u in dict.fromkeys(user_ids)):
        candidate = f"{current} {mention}" if current else mention
        if current and (len(candidate) >= limit or count >= max_mentions):
            messages.append(current)
            current = mention
            count = 1
        else:
            current = candidate
            count += 1
    if footer:
        if len(current) + 1 + len(footer) < limit:
            current = f"{current}\n{footer}"
        else:
            messages.append(current)
            current = footer
    messages.append(current)
    return messages
