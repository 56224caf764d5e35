"""Research rules as plain functions: links, safe full-text queries, excerpts, sources, the thank-you's split,
and which emoji count as likes."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import regex

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
            if len(url) > len("https://") and _has_host(url):
                found.setdefault(url, None)
    return list(found)


def _has_host(url: str) -> bool:
    """Whether `url` names a host; text that only looks like a URL (`https://[abc`) does not."""
    try:
        return bool(urlsplit(url).netloc)
    except ValueError:  # an unclosed IPv6 bracket and the like: not a link
        return False


@functools.lru_cache(maxsize=16384)
def normalize_url(url: str) -> str:
    """A key under which the same web page cited twice compares equal."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # not a well-formed URL: it is its own key
        return url.strip()
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


def join_within(
    items: Sequence[str],
    limit: int,
    *,
    sep: str = "\n",
    more: str = "… and {n} more",
    total: int | None = None,
) -> str:
    """As many whole items as fit in `limit` characters, then "… and N more" for the rest (the
    marker always fits: items are dropped to make room for it). An item longer than the limit on
    its own is cut with "…". `total`: how many items there are when `items` holds only the first."""
    count = len(items) if total is None else total
    if count == len(items) and len(sep.join(items)) <= limit:
        return sep.join(items)
    kept: list[str] = []
    length = 0
    for index, item in enumerate(items):
        tail = more.format(n=count - index - 1)
        extra = len(item) + (len(sep) if kept else 0)
        if length + extra + len(sep) + len(tail) > limit:
            break
        kept.append(item)
        length += extra
    left = count - len(kept)
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


# -- like emoji ----------------------------------------------------------------------------------------

DEFAULT_LIKES = ("👍", "❤️", "⭐", "🔥")
MAX_LIKES = 20
RESET_WORDS = {"default", "reset"}
_CUSTOM_EMOJI = regex.compile(r"<a?:([A-Za-z0-9_]{1,32}):(\d{15,21})>")
_STORED_CUSTOM = regex.compile(r"<a?:[^:<>]*:(\d+)>")
_KEYCAP = regex.compile(r"[0-9#*]\uFE0F?\u20E3")
_FLAG = regex.compile(r"\p{Regional_Indicator}{2}")
_PICTURE = regex.compile(
    r"\p{Extended_Pictographic}[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F\u200D\u20E3\U000E0020-\U000E007F]*"
)
# What does not make a different like: the emoji-style selector (❤ and ❤️) and skin tones (👍🏽 is 👍).
UNSTYLED = {0xFE0F: None, **{tone: None for tone in range(0x1F3FB, 0x1F400)}}


def like_key(emoji: str) -> str:
    """What identifies a reaction's emoji when counting likes: a custom emoji (`<:name:id>`, renamed or
    not) is its id; a unicode emoji is itself without its emoji-style selector and skin tone.
    `cogs.research.likes_store.EMOJI_KEY` computes the same in SQL."""
    custom = _STORED_CUSTOM.fullmatch(emoji)
    return custom[1] if custom else emoji.translate(UNSTYLED)


def _is_emoji(text: str) -> bool:
    return any(p.fullmatch(text) for p in (_KEYCAP, _FLAG, _PICTURE))


def parse_like_emoji(text: str) -> tuple[str, ...] | None:
    """`/config research likes`: emoji separated by spaces (unicode, or custom `<:name:id>` /
    `<a:name:id>`), in the order given, each once; None for `default` / `reset` (the default set).
    Refuses text that is not emoji, and more than MAX_LIKES."""
    if text.strip().lower() in RESET_WORDS:
        return None
    found: dict[str, str] = {}  # key -> emoji as given
    for word in re.split(r"[\s,]+", text.strip()):
        pos = 0
        while pos < len(word):
            custom = _CUSTOM_EMOJI.match(word, pos)
            piece = custom[0] if custom else regex.match(r"\X", word, pos=pos)[0]
            if not custom and not _is_emoji(piece):
                raise InvalidInput(
                    f"`{_shown(word)}` is not an emoji. Give emoji separated by spaces, picked with Discord's "
                    "emoji picker (the server's own emoji too), e.g. `👍 📜`; or `default` for 👍 ❤️ ⭐ 🔥."
                )
            found.setdefault(like_key(piece), piece)
            pos += len(piece)
    if not found:
        raise InvalidInput("Give at least one emoji, e.g. `👍 📜`, or `default` for 👍 ❤️ ⭐ 🔥.")
    if len(found) > MAX_LIKES:
        raise InvalidInput(f"At most {MAX_LIKES} like emoji, please (that was {len(found)}).")
    return tuple(found.values())


def _shown(word: str) -> str:
    """A member's word echoed inside `code`: short, on one line, its backticks unable to break out."""
    word = " ".join(word.split()).replace("`", "'")
    return word if len(word) <= 40 else word[:39] + "…"


@dataclass(frozen=True, slots=True)
class LikeEmoji:
    """The emoji whose reactions count as likes in a server."""

    emoji: tuple[str, ...]  # as shown
    chosen: bool  # set with `/config research likes` (False: the default set)
    forum_default: str | None = None  # the research forum's default reaction, when it joined the default set

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(like_key(e) for e in self.emoji)

    def counts(self, emoji: str) -> bool:
        return like_key(emoji) in self.keys

    @property
    def shown(self) -> str:
        return " ".join(self.emoji)


def like_emoji(configured: str | None, forum_default: str | None = None) -> LikeEmoji:
    """The like emoji of a server: exactly those set (`configured`, space-separated as stored), or the
    default set plus the research forum's default reaction (`forum_default`) when it is not one of them."""
    if configured:
        return LikeEmoji(tuple(configured.split()), chosen=True)
    if forum_default and like_key(forum_default) not in {like_key(e) for e in DEFAULT_LIKES}:
        return LikeEmoji((*DEFAULT_LIKES, forum_default), chosen=False, forum_default=forum_default)
    return LikeEmoji(DEFAULT_LIKES, chosen=False)
