"""The dossier's bibliography: the sources members cite, recognised in what they wrote, each listed once
under a normalised key with the numbers of the contributions citing it. Pure text rules, no network.

What is recognised, and where:
- In a form's sources field, every line (split on `;` into several sources). In a message, the lines
  starting with `Source:` or `Sources:` (and, under a bare `Sources:` line, the lines that follow it up
  to a blank line) are source lines too.
- Anywhere: http(s) URLs; DOIs (`10.1234/…`, `doi:10.…`, `https://doi.org/…`, `dx.doi.org/…`); ISBNs,
  ISBN-10 or ISBN-13, with or without hyphens or spaces, only when their check digit is right — after
  the word `ISBN`, or without it as a 13-digit 978/979 number or a hyphenated ISBN-10.
- A book named in a sentence: `Author, *Title*` (or `_Title_`, `"Title"`, `“Title”`), `Author's "Title"`
  (or `*Title*`), `*Title* by Author`, `"Title" by Author` — Author being one to four capitalised
  words. In a source line, plain `Author, Title` is a book too. Not recognised: a title written without
  italics or quotes in a sentence ("Service's biography of Lenin"), or an author in lower case.

One source, whatever its written form: URLs that differ only by scheme, `www.`, Wikipedia's mobile
`m.`, the host's case, a default port, trailing slashes, the fragment, the order of query parameters or
tracking parameters (`utm_*`, `fbclid`, `gclid`, …); a DOI in any of its forms and any letter case; an
ISBN-10 and its ISBN-13; a book under the author's last name and its title without a parenthesis
("Service, Lenin: A Biography" = Robert Service's "Lenin: A Biography (2000)"). A URL, DOI or book on the
same source line as a DOI or ISBN is the same source.

A DOI or an ISBN comes out as a readable reference: the citing line's own words (an author and title
written next to it), then `doi:10.…` or `ISBN 978-…`, and a link to https://doi.org/… or
https://openlibrary.org/isbn/….
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit

# -- URLs ----------------------------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"'`|\\]+", re.IGNORECASE)
_TRAILING = ".,;:!?*_~'\"”’»›)]}>"
_PAIRS = {")": "(", "]": "[", "}": "{"}
TRACKING = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid"}
    | {"igsh", "_ga", "_gl", "si", "ref_src", "ref_url", "spm", "twclid", "ttclid", "li_fat_id"}
)


def _trim(text: str) -> str:
    """Drop punctuation that ends the sentence rather than the URL (or DOI), keeping balanced brackets."""
    while text and text[-1] in _TRAILING:
        last = text[-1]
        if last in _PAIRS and text.count(_PAIRS[last]) >= text.count(last):
            break
        text = text[:-1]
    return text


def _split(url: str) -> SplitResult | None:
    """The parts of a URL, or None when it cannot be one (an unclosed IPv6 bracket, a bad port)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    return parts


def url_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, url) of every http(s) URL in `text`, sentence punctuation left out."""
    spans = []
    for match in _URL.finditer(text):
        url = _trim(match.group(0))
        parts = _split(url)
        if parts is not None and parts.netloc:
            spans.append((match.start(), match.start() + len(url), url))
    return spans


@functools.lru_cache(maxsize=16384)
def url_key(url: str) -> str:
    """The key under which the same web page cited twice compares equal."""
    parts = _split(url.strip())
    if parts is None:
        return "url:" + url.strip()
    host = (parts.hostname or "").rstrip(".").removeprefix("www.")
    host = re.sub(r"^(\w+)\.m\.wikipedia\.org$", r"\1.wikipedia.org", host)
    if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
        host += f":{parts.port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~-._", errors="surrogatepass").rstrip("/")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING
    )
    return "url:" + host + path + ("?" + urlencode(query, errors="surrogatepass") if query else "")


# -- DOIs and ISBNs ------------------------------------------------------------------------------------

_DOI = re.compile(r"\b10\.\d{4,9}/[^\s<>\"'`|\\]+")
_DOI_HOSTS = ("doi.org", "dx.doi.org")
_ISBN_LABELLED = re.compile(
    r"\bISBN(?:-?1[03])?\s*:?\s*((?:97[89][-\s]?)?(?:\d[-\s]?){9}[\dXx])(?![\w-])", re.I
)
_ISBN_BARE = re.compile(r"(?<![\w-])(97[89](?:[-\s]?\d){10}|\d{1,5}-\d{1,7}-\d{1,7}-[\dXx])(?![\w-])")
_LABELS = re.compile(r"\b(?:doi|isbn(?:-?1[03])?)\b\s*:?", re.I)


def doi_of_url(url: str) -> str | None:
    """The DOI a doi.org (or dx.doi.org) link points to, else None."""
    parts = _split(url)
    if parts is None or (parts.hostname or "").removeprefix("www.") not in _DOI_HOSTS:
        return None
    doi = unquote(parts.path).lstrip("/").removeprefix("doi:")
    return doi if re.fullmatch(r"10\.\d{4,9}/\S+", doi) else None


def doi_link(doi: str) -> str:
    return "https://doi.org/" + quote(doi, safe="/:;()[]._-~,", errors="surrogatepass")


def isbn13(written: str) -> str | None:
    """The ISBN-13 of an ISBN-10 or ISBN-13 written with or without hyphens/spaces; None when it is
    not one (wrong length or check digit)."""
    digits = re.sub(r"[-\s]", "", written).upper()
    if re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        if total % 11:
            return None
        digits = "978" + digits[:9]
        return digits + str(-sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits)) % 10)
    if re.fullmatch(r"97[89]\d{10}", digits):
        total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits))
        return digits if total % 10 == 0 else None
    return None


# -- books ---------------------------------------------------------------------------------------------

_NAME = r"[^\W\d_][\w.'’-]*(?:[ \t]+[^\W\d_][\w.'’-]*){0,3}"
_TITLE = r"(?<![*\w])\*(?!\*)([^*\n]{2,150}?)\*(?![*\w])|(?<!\w)_([^_\n]{2,150}?)_(?!\w)|\"([^\"\n]{2,150}?)\"|“([^”\n]{2,150}?)”"
_TITLED = re.compile(_TITLE)
_AUTHOR_BEFORE = re.compile(rf"(?<![\w.'’-])(?P<author>{_NAME})(?:,|['’]s)[ \t]*$")  # Author, / Author's
_AUTHOR_AFTER = re.compile(rf",?[ \t]+by[ \t]+(?P<author>{_NAME})")  # by Author
_NAME_MAX = 80  # characters before a title where its author is looked for
_PLAIN_BOOK = re.compile(rf"(?P<author>{_NAME}),[ \t]*(?P<title>[^,\n]{{2,150}})")
_WORD = r"[^\W\d_][\w'’-]*"
_REFERENCE_BOOK = re.compile(
    rf"(?P<last>{_WORD}),[ \t]+(?P<first>{_WORD}(?:[ \t]+[^\W\d_][\w.'’-]*)?)\.[ \t]+(?P<title>[^.]{{2,150}}?)(?:\.(?:[ \t].*)?)?"
)
_NOT_AUTHORS = frozenset(
    [
        "also",
        "and",
        "but",
        "however",
        "i",
        "in",
        "it",
        "no",
        "note",
        "ok",
        "see",
        "so",
        "than",
        "that",
        "the",
        "then",
        "this",
        "thanks",
        "yeah",
        "yes",
        "edit",
        "ps",
    ]
)


def _author(words: str) -> str | None:
    """The capitalised words that end `words` (a name), or None when there are none."""
    kept: list[str] = []
    for word in reversed(words.split()):
        if not word[0].isupper():
            break
        kept.insert(0, word)
    if not kept or (len(kept) == 1 and kept[0].casefold().strip(".") in _NOT_AUTHORS):
        return None
    return " ".join(kept)


@dataclass(frozen=True, slots=True)
class Book:
    author: str
    title: str

    @property
    def key(self) -> str:
        title = re.sub(r"\s*\([^)]*\)\s*$", "", self.title)  # "(2000)", "(Macmillan, 2000)"
        return "book:" + _norm(self.author.split()[-1]) + "|" + _norm(title)

    @property
    def reference(self) -> str:
        return f"{self.author}, {self.title}"


def books_in(text: str) -> list[tuple[int, int, Book]]:
    """(start, end, book) of every book named with its title in italics or quotes (see the module)."""
    found: list[tuple[int, int, Book]] = []
    for match in _TITLED.finditer(text):
        title = next(g for g in match.groups() if g).strip()
        if not (title[:1].isupper() or title[:1].isdigit()):
            continue
        before = _AUTHOR_BEFORE.search(text, max(0, match.start() - _NAME_MAX), match.start())
        after = _AUTHOR_AFTER.match(text, match.end())
        if before and (author := _author(before.group("author"))):
            found.append((before.start("author"), match.end(), Book(author, title)))
        elif after and (author := _author(after.group("author"))):
            found.append((match.start(), after.end(), Book(author, title)))
    return found


def _plain_book(line: str) -> Book | None:
    """A source line that is `Author, Title` or `Last, First. Title. …` (a reference list's style)."""
    line = line.strip()
    match = _REFERENCE_BOOK.fullmatch(line)
    if match is not None:
        author, title = f"{match.group('first')} {match.group('last')}", match.group("title").strip()
    elif (match := _PLAIN_BOOK.fullmatch(line.rstrip("."))) is not None:
        author, title = match.group("author").strip(), match.group("title").strip()
    else:
        return None
    if _author(author) != author or not title[:1].isupper():
        return None
    return Book(author, title)


# -- citations -----------------------------------------------------------------------------------------

STRENGTH = {"doi": 3, "isbn": 3, "url": 2, "book": 1, "text": 0}  # the identifier a source is listed by


def _norm(text: str) -> str:
    """Case, accents and punctuation folded: words joined by one space."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return " ".join(re.findall(r"[^\W_]+", "".join(c for c in text if not unicodedata.combining(c))))


@dataclass(frozen=True, slots=True)
class Citation:
    """One source as one contribution cites it."""

    kind: str  # url | doi | isbn | book | text
    key: str  # the same source in any written form has the same key
    ident: str = ""  # the URL as written, doi:10.…, ISBN 978-…; "" for a book or a text
    words: str = ""  # the citing line's own words (author, title…), "" when there are none
    link: str | None = None  # http(s) only: the member's URL, or doi.org / openlibrary.org for a DOI / ISBN
    aliases: tuple[str, ...] = ()  # keys of the same source written on the same line


@dataclass(frozen=True, slots=True)
class Source:
    """One entry of the bibliography."""

    number: int
    kind: str
    key: str
    words: str
    ident: str
    link: str | None
    cited_by: tuple[int, ...]

    @property
    def lead(self) -> str:
        """The words, as they come before the identifier (without a final full stop then)."""
        return self.words.removesuffix(".") if self.ident else self.words

    @property
    def reference(self) -> str:
        """Readable: "Service, Lenin: A Biography — ISBN 978-0330491396"; a bare URL or DOI alone."""
        return f"{self.lead} — {self.ident}" if self.words and self.ident else self.words or self.ident


_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1")
_SOURCE_LINE = re.compile(
    r"^\s*(?:[-*•>]\s*)?(?:\*\*|__)?sources?(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$", re.I
)
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s+")
_FILLER = re.compile(
    r"^(?:see|also|and|or|via|here|at|in|from)\b\s*|\s*\b(?:see|and|or|via|here|at|in|from)$", re.I
)
_WORDS_MAX = 160  # a longer line of a message is prose: an identifier in it is cited on its own


def _words(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` without the identifiers at `spans` and their labels, markup and dangling punctuation."""
    kept, pos = [], 0
    for start, end in sorted(spans):
        kept.append(text[pos:start])
        kept.append(" ")
        pos = max(pos, end)
    kept.append(text[pos:])
    out = _LABELS.sub(" ", "".join(kept))
    out = re.sub(r"\[([^\]]*)\]\(\s*\)", r"\1", out)  # [title](url) without its url
    out = re.sub(r"\((?:\s*(?:see|also|cf\.?|and|or)\b)*\s*\)|\[\s*\]|<\s*>", " ", out, flags=re.I)
    out = _EMPHASIS.sub(r"\2", out)
    out = " ".join(out.split())
    while True:  # what was only there to introduce the identifier: "see", "and", a dangling "."
        trimmed = _FILLER.sub("", out).strip(" -–—:;,|/<>").rstrip("([").removesuffix(" .")
        if trimmed == out:
            break
        out = trimmed
    return out if sum(c.isalpha() for c in out) >= 4 else ""


def _identifiers(text: str) -> tuple[list[tuple[int, int]], list[Citation]]:
    """Where the URLs, DOIs and ISBNs of `text` are written, and their citations (each once, no words yet)."""
    found: list[tuple[int, int, Citation]] = []
    for start, end, url in url_spans(text):
        doi = doi_of_url(url)
        if doi:
            found.append(
                (start, end, Citation("doi", "doi:" + doi.casefold(), "doi:" + doi, link=doi_link(doi)))
            )
        else:
            found.append((start, end, Citation("url", url_key(url), url, link=url)))
    masked = _mask(text, [(s, e) for s, e, _ in found])
    for match in _DOI.finditer(masked):
        doi = _trim(match.group(0))
        citation = Citation("doi", "doi:" + doi.casefold(), "doi:" + doi, link=doi_link(doi))
        found.append((match.start(), match.start() + len(doi), citation))
    masked = _mask(text, [(s, e) for s, e, _ in found])
    for pattern in (_ISBN_LABELLED, _ISBN_BARE):
        for match in pattern.finditer(masked):
            number = isbn13(match.group(1))
            if number:
                ident = f"ISBN {number[:3]}-{number[3:]}"
                link = f"https://openlibrary.org/isbn/{number}"
                found.append(
                    (match.start(), match.end(), Citation("isbn", "isbn:" + number, ident, link=link))
                )
        masked = _mask(text, [(s, e) for s, e, _ in found])
    found.sort(key=lambda item: item[0])
    unique: dict[str, Citation] = {}
    for _, _, citation in found:
        unique.setdefault(citation.key, citation)
    return [(s, e) for s, e, _ in found], list(unique.values())


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _with(citation: Citation, words: str, aliases: Iterable[str] = ()) -> Citation:
    return Citation(citation.kind, citation.key, citation.ident, words, citation.link, tuple(aliases))


def _source_segment(segment: str) -> list[Citation]:
    """The citations of one source (a line of a sources field, or a part of it between `;`)."""
    spans, ids = _identifiers(segment)
    books = books_in(segment)
    words = _words(segment, spans)
    if not ids:
        book = books[0][2] if books else _plain_book(words)
        written = words or _EMPHASIS.sub(r"\2", segment.strip())
        if book:
            return [Citation("book", book.key, words=written)]
        key = _norm(segment)
        return [Citation("text", "text:" + key, words=written)] if key else []
    book = books[0][2] if books else _plain_book(words) if words else None
    strong = [c for c in ids if c.kind in ("doi", "isbn")]
    urls = [c for c in ids if c.kind == "url"]
    if words and len(strong) <= 1 and (strong or len(urls) == 1):
        main = strong[0] if strong else urls[0]
        aliases = [c.key for c in ids if c is not main] + ([book.key] if book else [])
        return [_with(main, words, aliases)]
    first, *rest = ids
    return [_with(first, words), *rest]


def _prose_line(line: str) -> list[Citation]:
    """The citations in a line of a message that is not a source line: its identifiers and the books
    it names. A DOI or ISBN takes the line's words when the line is short, or the book named next to it."""
    spans, ids = _identifiers(line)
    books = books_in(line)
    strong = [c for c in ids if c.kind in ("doi", "isbn")]
    if len(strong) == 1:
        beside = [
            b for b in books if any(_adjacent(line, b[1], s) or _adjacent(line, e, b[0]) for s, e in spans)
        ]
        if beside:
            words, aliases = beside[0][2].reference, [beside[0][2].key]
            books.remove(beside[0])
        else:
            words = _words(line, spans) if len(line) <= _WORDS_MAX else ""
            aliases = []
        ids = [_with(c, words, aliases) if c is strong[0] else c for c in ids]
    return ids + [Citation("book", b.key, words=b.reference) for _, _, b in books]


def _adjacent(text: str, end: int, start: int) -> bool:
    """Only punctuation, spaces or a doi/ISBN label between `end` and `start`: "Author, *Title*, ISBN …"."""
    return 0 <= start - end <= 12 and not _words(_LABELS.sub("", text[end:start]), []).strip("()[] ")


def _segments(line: str) -> list[str]:
    """A source line's parts between semicolons; a part that is only an identifier stays with the words
    before it ("Pipes, The Russian Revolution; ISBN …" is one source)."""
    parts: list[str] = []
    for part in re.split(r";\s+", line):
        if parts and not _identifiers(parts[-1])[1] and not _words(part, _identifiers(part)[0]):
            parts[-1] += "; " + part
        else:
            parts.append(part)
    return parts


def source_lines(body: str | None, sources: str | None) -> list[str]:
    """The lines that are sources: every line of the sources field, then the `Source:` lines of the text."""
    lines = [_BULLET.sub("", line).strip() for line in (sources or "").splitlines()]
    lines = [line for line in lines if line]
    return lines + [line for line, is_source in _body_lines(body) if is_source]


def _body_lines(body: str | None) -> list[tuple[str, bool]]:
    """The lines of a message, each with whether it is a source line (see the module)."""
    out: list[tuple[str, bool]] = []
    listing = False
    for raw in (body or "").splitlines():
        match = _SOURCE_LINE.match(raw)
        if match:
            rest = match.group(1).strip()
            listing = not rest
            if rest:
                out.append((rest, True))
            continue
        if listing and raw.strip():
            out.append((_BULLET.sub("", raw).strip(), True))
            continue
        listing = False
        if raw.strip():
            out.append((raw, False))
    return out


def citations_in(body: str | None, sources: str | None, links: Sequence[str] = ()) -> list[Citation]:
    """Every source one contribution cites, in the order written, each once."""
    found: list[Citation] = []
    for line in source_lines(None, sources):
        for segment in _segments(line):
            found += _source_segment(segment)
    for line, is_source in _body_lines(body):
        if is_source:
            for segment in _segments(line):
                found += _source_segment(segment)
        else:
            found += _prose_line(line)
    keys = {k for c in found for k in (c.key, *c.aliases)}
    for url in links:  # links recorded with the message and not written in its text
        if url_spans(url) == [(0, len(url), url)] and url_key(url) not in keys:
            found.append(Citation("url", url_key(url), url, link=url))
            keys.add(url_key(url))
    unique: dict[str, Citation] = {}
    for citation in found:
        unique.setdefault(citation.key, citation)
    return list(unique.values())


@dataclass(slots=True)
class _Entry:
    main: Citation
    words: str
    cited_by: list[int] = field(default_factory=list)


class Collector:
    """The bibliography gathered one contribution at a time, in reading order (see `collect`)."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._by_key: dict[str, int] = {}
        self._numbers: set[int] = set()  # given before: only then can a source list a number already

    def add(self, number: int, citations: Sequence[Citation]) -> None:
        entries, by_key = self._entries, self._by_key
        again = number in self._numbers
        self._numbers.add(number)
        for citation in citations:
            keys = (citation.key, *citation.aliases)
            index = next((by_key[k] for k in keys if k in by_key), None)
            if index is None:
                index = len(entries)
                entries.append(_Entry(citation, citation.words))
            entry = entries[index]
            if STRENGTH[citation.kind] > STRENGTH[entry.main.kind]:
                entry.main = citation
            entry.words = entry.words or citation.words
            # A source cited by thousands is not searched through for each: within one call, the number
            # can only be its last.
            listed = entry.cited_by[-1:] == [number] or (again and number in entry.cited_by)
            if not listed:
                entry.cited_by.append(number)
            for key in keys:
                by_key.setdefault(key, index)

    def sources(self) -> tuple[Source, ...]:
        """The bibliography gathered, numbered. The collector is emptied as its entries become sources
        (a large bibliography is not held twice)."""
        self._by_key.clear()
        self._numbers.clear()
        entries, self._entries = self._entries, []
        entries.reverse()  # taken from the end, oldest first
        out = []
        while entries:
            e = entries.pop()
            out.append(
                Source(
                    number=len(out) + 1,
                    kind=e.main.kind,
                    key=e.main.key,
                    words=e.words,
                    ident=e.main.ident,
                    link=e.main.link,
                    cited_by=tuple(e.cited_by),
                )
            )
        return tuple(out)


def collect(cited: Iterable[tuple[int, Sequence[Citation]]]) -> tuple[Source, ...]:
    """The bibliography of (contribution number, its citations) in reading order: each source once,
    numbered in order of first citation, with the numbers of the contributions citing it. Its
    identifier is the strongest written (a DOI or ISBN over a URL over a book), its words the first
    written next to it."""
    collector = Collector()
    for number, citations in cited:
        collector.add(number, citations)
    return collector.sources()
