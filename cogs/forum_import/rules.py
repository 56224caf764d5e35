"""Forum import rules: codes and titles from topic titles, the first post's lines, URLs (pure)."""

from __future__ import annotations

import html
import ipaddress
import re
from urllib.parse import urljoin, urlsplit

from bot.errors import InvalidInput
from cogs.episodes.rules import CODE_MAX, DESCRIPTION_MAX, TITLE_MAX, Status

# --- titles ---------------------------------------------------------------------------------------

# Leading groups of digits ("1924 01", "1924-01", "1924.01"), then a separator or the end.
_LEADING_CODE = re.compile(r"^\s*(\d+(?:[ \t._/\-–]+\d+)*)(?=$|[\s:|\-–—.,)\]])")
_AFTER_CODE = re.compile(r"^[\s:|\-–—.,)\]]+")


def split_title(title: str, topic_id: int) -> tuple[str, str]:
    """(code, title): `1924 01 Lenin's Death…` → (`1924-01`, `Lenin's Death…`); no code → `F<id>`.

    The digit groups are joined by `-` as long as the code stays within 20 characters; groups that
    don't fit stay in the title. The title is cut visibly (…) to 90 characters."""
    text = " ".join(title.split())
    code = f"F{topic_id}"
    rest = text
    match = _LEADING_CODE.match(text)
    if match:
        groups = re.findall(r"\d+", match.group(1))
        taken: list[str] = []
        for group in groups:
            if len("-".join([*taken, group])) > CODE_MAX:
                break
            taken.append(group)
        if taken:
            code = "-".join(taken)
            left = groups[len(taken) :]
            rest = " ".join([*left, _AFTER_CODE.sub("", text[match.end() :])]).strip()
    if not rest:
        rest = text or f"Forum topic {topic_id}"
    return code, cut(rest, TITLE_MAX)


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, an ellipsis showing where it was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


# --- the first post -------------------------------------------------------------------------------

# `Author: …`, `Authors - …`, `**Author:** …`, `* Status: …` (list bullets and emphasis allowed).
_FIELD = re.compile(
    r"^\s*(?:[-*+>]\s+)?[*_]{0,2}\s*(?P<label>authors?|status)\s*[*_]{0,2}\s*[:：]\s*[*_]{0,2}(?P<value>.*)$",
    re.IGNORECASE,
)
_MENTION = re.compile(r"@([\w.\-]+)")
_SEPARATORS = re.compile(r"\s*(?:,|;|&|/|\+|\band\b|\s)\s*", re.IGNORECASE)
_NOBODY = frozenset({"tbd", "tba", "none", "nobody", "n/a", "na", "-", "?", "unassigned", "open"})
_STATUS_WORDS: dict[str, Status] = {
    **{s.value.replace("_", ""): s for s in Status},
    **{s.label.replace(" ", "").lower(): s for s in Status},
    "research": Status.IN_RESEARCH,
    "researching": Status.IN_RESEARCH,
}
_USERNAME_TRIM = "*_`'\"()[]<>.,:;!?"


def read_first_post(raw: str) -> tuple[tuple[str, ...], str, str]:
    """(authors' forum names, status option value, description) from the first post's Markdown.

    `Author:`/`Authors:` names the authors (`@a @b`, commas, `and`; names without `@` are taken as
    forum usernames too); `Status:` one of the five statuses in any case (default In Research). A
    status line that names none of them stays in the description, so nothing written is lost. The
    remaining text is the description, cut visibly to the episode description's limit."""
    authors: list[str] = []
    status: Status | None = None
    kept: list[str] = []
    seen_author = False
    for line in raw.replace("\r\n", "\n").split("\n"):
        match = _FIELD.match(line)
        if match is None:
            kept.append(line)
            continue
        label = match.group("label").lower()
        value = _strip_emphasis(match.group("value"))
        if label.startswith("author") and not seen_author:
            seen_author = True
            value, _, status_tail = _split_inline_status(value)
            authors = _authors(value)
            if status_tail is not None and status is None:
                status = _status(status_tail)
            continue
        if label == "status" and status is None and (found := _status(value)) is not None:
            status = found
            continue
        kept.append(line)
    description = cut(_tidy("\n".join(kept)), DESCRIPTION_MAX)
    return tuple(authors), (status or Status.IN_RESEARCH).value, description


def _strip_emphasis(value: str) -> str:
    return value.strip().strip("*_").strip()


def _split_inline_status(value: str) -> tuple[str, str, str | None]:
    """`@a @b Status: Writing` on one line → ("@a @b", "", "Writing")."""
    match = re.search(r"[*_]{0,2}\bstatus\s*[*_]{0,2}\s*[:：]", value, re.IGNORECASE)
    if match is None:
        return value, "", None
    return value[: match.start()], "", _strip_emphasis(value[match.end() :])


def _authors(value: str) -> list[str]:
    value = html.unescape(value)
    mentions = _MENTION.findall(value)
    if mentions:
        names = [name.rstrip(".-") for name in mentions]
    else:
        names = [part.strip(_USERNAME_TRIM) for part in _SEPARATORS.split(value)]
    result: list[str] = []
    seen: set[str] = set()
    for name in names:
        if not name or name.lower() in _NOBODY or name.lower() in seen:
            continue
        seen.add(name.lower())
        result.append(name)
    return result


def _status(value: str) -> Status | None:
    word = re.sub(r"[^a-z]", "", value.lower())
    return _STATUS_WORDS.get(word)


def _tidy(text: str) -> str:
    """Trailing spaces gone, runs of blank lines (left where lines were taken out) made one."""
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


# --- images ---------------------------------------------------------------------------------------

_UPLOAD = re.compile(r"upload://([A-Za-z0-9]+)(\.[A-Za-z0-9]+)?")
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_A_TAG = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _sha1_of(base62: str) -> str | None:
    """Discourse's short upload name back to the file's SHA-1 (`Upload.sha1_from_base62_encoded`)."""
    number = 0
    for char in base62:
        number = number * 62 + _BASE62.index(char)
    hexdigits = format(number, "x")
    return None if len(hexdigits) > 40 else hexdigits.rjust(40, "0")


def _attrs(tag: str) -> dict[str, str]:
    return {m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or "") for m in _ATTR.finditer(tag)}


def absolute_images(raw: str, cooked: str, base_url: str) -> tuple[str, ...]:
    """Absolute URLs of the images a post's `upload://` references point to, in order.

    Each is found in `cooked` (the full-size link around a thumbnail first, then the image itself)
    by its `data-base62-sha1` or its SHA-1 in the path; one `cooked` doesn't show falls back to the
    forum's `/uploads/short-url/…` address, which Discourse redirects to the file."""
    base = base_url.rstrip("/")
    candidates: list[tuple[str, str]] = []  # (base62 or "", url), full-size links first
    for tag in _A_TAG.findall(cooked):
        href = _attrs(tag).get("href", "")
        if "/uploads/" in href or "/original/" in href:
            candidates.append(("", href))
    for tag in _IMG_TAG.findall(cooked):
        attrs = _attrs(tag)
        if "emoji" in attrs.get("class", "") or "avatar" in attrs.get("class", ""):
            continue
        src = attrs.get("src") or attrs.get("data-orig-src", "")
        if src:
            candidates.append((attrs.get("data-base62-sha1", ""), src))
    found: list[str] = []
    for match in _UPLOAD.finditer(raw):
        name, ext = match.group(1), match.group(2) or ""
        sha1 = _sha1_of(name)
        url = next(
            (
                src
                for b62, src in candidates
                if (b62 and b62 == name) or (sha1 and sha1 in src and not src.startswith("upload://"))
            ),
            None,
        )
        absolute = _absolute(url, base) if url else f"{base}/uploads/short-url/{name}{ext}"
        if absolute not in found:
            found.append(absolute)
    return tuple(found)


def _absolute(url: str, base: str) -> str:
    if url.startswith("//"):
        return f"{urlsplit(base).scheme}:{url}"
    if url.startswith(("http://", "https://")):
        return url
    if url.startswith("/"):
        root = urlsplit(base)
        prefix = root.path.rstrip("/")
        path = url if prefix and url.startswith(prefix + "/") else f"{prefix}{url}"
        return f"{root.scheme}://{root.netloc}{path}"
    return urljoin(base + "/", url)


# --- what admins type -----------------------------------------------------------------------------

_TOPIC_PATH = re.compile(r"/t/(?P<a>[^/?#]+)(?:/(?P<b>[^/?#]+))?")


def topic_ref(text: str) -> int:
    """A topic id from `123`, `#123`, `https://forum/t/slug/123`, `/t/slug/123/4` or `/t/123`."""
    value = text.strip()
    bare = value.lstrip("#")
    if bare.isdigit():
        return _topic_id(bare, text)
    match = _TOPIC_PATH.search(value)
    if match:
        first, second = match.group("a"), match.group("b")
        first = first.removesuffix(".json")
        second = second.removesuffix(".json") if second else None
        # Discourse's own routes: /t/{id}, /t/{id}/{post number}, /t/{slug}/{id}[/{post number}].
        if first.isdigit():
            return _topic_id(first, text)
        if second and second.isdigit():
            return _topic_id(second, text)
    raise InvalidInput(
        f"`{text.strip()[:100]}` is not a forum topic: give its number (like `4711`) or its link "
        "(like `https://forum.example.org/t/lenins-death/4711`)."
    )


def _topic_id(digits: str, text: str) -> int:
    number = int(digits)
    if not 0 < number < 2**63:
        raise InvalidInput(f"`{text.strip()[:100]}` is not a forum topic number.")
    return number


# Discourse's own top-level routes: a forum URL pasted from the browser is cut before them.
_ROUTES = frozenset(
    {
        "latest", "new", "unread", "unseen", "top", "hot", "read", "posted", "bookmarks",
        "categories", "c", "t", "u", "users", "tag", "tags", "search", "about", "g", "groups",
        "badges", "admin", "posts", "p", "faq", "guidelines", "tos", "privacy", "login",
        "signup", "my", "review", "session", "categories_and_latest", "categories_and_top",
        "latest.json", "categories.json", "site.json", "about.json",
    }
)  # fmt: skip
_LOCAL_SUFFIXES = (".localhost", ".local", ".lan", ".home.arpa", ".internal", ".localdomain")


def forum_url(text: str) -> str:
    """The forum's base URL, normalised (`https://forum.example.org`); InvalidInput when not allowed.

    `https://` always; `http://` only for a forum on this machine or the local network (a private
    or loopback address, `localhost`, a `.local`/`.lan`/`.internal` name or a name without dots). A
    link to a page of the forum (`/latest`, `/c/…`, `/t/…`) is cut back to the forum itself."""
    value = text.strip()
    if not value:
        raise InvalidInput("Give the forum's address, like `https://forum.example.org`.")
    if "://" not in value:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", value) and not re.match(r"^[^:/]+:\d", value):
            raise _not_web(value)
        value = "https://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"`{value[:100]}` is not a web address ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise _not_web(value)
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise InvalidInput(f"`{value[:100]}` has no host name; give it like `https://forum.example.org`.")
    if parts.username or parts.password:
        raise InvalidInput(
            "Leave the user name and password out of the forum's address; for a private forum set "
            "DISCOURSE_API_KEY and DISCOURSE_API_USERNAME in the bot's .env instead."
        )
    if scheme == "http" and not is_local_host(host):
        raise InvalidInput(
            f"`{value[:100]}` uses http://, which is only allowed for a forum on the local network; "
            f"use https://{host}."
        )
    segments = [s for s in parts.path.split("/") if s]
    kept: list[str] = []
    for segment in segments:
        if segment.lower() in _ROUTES or segment.lower().endswith(".json"):
            break
        kept.append(segment)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc = f"{netloc}:{port}"
    path = "/" + "/".join(kept) if kept else ""
    return f"{scheme}://{netloc}{path}"


def _not_web(value: str) -> InvalidInput:
    return InvalidInput(
        f"`{value[:100]}` is not a web address: the forum's address starts with https:// "
        "(or http:// for a forum on the local network)."
    )


def is_local_host(host: str) -> bool:
    """Whether `host` is this machine or on the local network (where plain http:// is allowed)."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or "." not in host
    return address.is_private or address.is_loopback or address.is_link_local


def is_loopback_host(host: str) -> bool:
    """Whether `host` is this machine (a loopback address or `localhost`)."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
