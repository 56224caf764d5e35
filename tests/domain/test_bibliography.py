"""The bibliography's rules: one source whatever its written form (URLs, DOIs, ISBNs, books), Source:
lines, readable references, and the numbers of the contributions citing each source."""

from __future__ import annotations

import pytest

from cogs.research.bibliography import (
    books_in,
    citations_in,
    collect,
    doi_of_url,
    isbn13,
    source_lines,
    url_key,
)

# -- URLs ----------------------------------------------------------------------------------------------

SAME_PAGE = [
    "https://en.wikipedia.org/wiki/Nadezhda_Krupskaya",
    "http://en.wikipedia.org/wiki/Nadezhda_Krupskaya",
    "https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/",
    "https://EN.Wikipedia.org/wiki/Nadezhda_Krupskaya#Later_life",
    "https://en.m.wikipedia.org/wiki/Nadezhda_Krupskaya",
    "https://en.wikipedia.org:443/wiki/Nadezhda_Krupskaya",
    "https://en.wikipedia.org/wiki/Nadezhda_Krupskaya?utm_source=discord&utm_medium=chat",
    "https://en.wikipedia.org/wiki/Nadezhda_Krupskaya?fbclid=IwAR0abc",
    "https://en.wikipedia.org/wiki/Nadezhda_Krupskaya?gclid=x&si=y&igshid=z&mc_cid=1",
    "https://en.wikipedia.org/wiki/Nadezhda%5FKrupskaya",
]


@pytest.mark.parametrize("url", SAME_PAGE)
def test_one_page_in_any_written_form_is_one_key(url):
    assert url_key(url) == url_key(SAME_PAGE[0]) == "url:en.wikipedia.org/wiki/Nadezhda_Krupskaya"


def test_what_does_make_a_different_page():
    assert url_key("https://example.org/page?id=1") != url_key("https://example.org/page?id=2")
    assert url_key("https://example.org/a?x=1&y=2") == url_key("https://example.org/a?y=2&x=1")
    assert url_key("https://example.org:8080/a") != url_key("https://example.org/a")
    assert url_key("https://example.org/Page") != url_key("https://example.org/page")  # paths keep case
    assert url_key("https://de.wikipedia.org/wiki/Lenin") != url_key("https://en.wikipedia.org/wiki/Lenin")
    assert url_key("https://ru.wikipedia.org/wiki/Ленин") == url_key(
        "https://ru.wikipedia.org/wiki/%D0%9B%D0%B5%D0%BD%D0%B8%D0%BD"
    )


def test_urls_end_where_the_sentence_does():
    (a, b, c) = citations_in(
        "See https://example.org/a. Also (https://en.wikipedia.org/wiki/Lenin_(disambiguation)), "
        "and <https://example.org/b>!",
        None,
    )
    assert [a.ident, b.ident, c.ident] == [
        "https://example.org/a",
        "https://en.wikipedia.org/wiki/Lenin_(disambiguation)",
        "https://example.org/b",
    ]


def test_only_http_urls_are_sources_with_links():
    cited = citations_in("javascript:alert(1) ftp://example.org/x data:text/html,x", "javascript:alert(2)")
    assert [(c.kind, c.link) for c in cited] == [("text", None)]  # the sources line, as words only
    assert citations_in(None, None, links=["javascript:alert(3)", "https://ok.example/"])[0].link == (
        "https://ok.example/"
    )


# -- DOIs ----------------------------------------------------------------------------------------------

DOI_FORMS = [
    "10.2307/2495085",
    "doi:10.2307/2495085",
    "DOI: 10.2307/2495085.",
    "https://doi.org/10.2307/2495085",
    "http://dx.doi.org/10.2307/2495085",
    "https://doi.org/doi:10.2307/2495085",
    "https://doi.org/10.2307%2F2495085",
    "(doi:10.2307/2495085)",
]


@pytest.mark.parametrize("written", DOI_FORMS)
def test_a_doi_in_any_form_is_one_source(written):
    (citation,) = citations_in(f"Worth reading: {written}", None)
    assert citation.kind == "doi" and citation.key == "doi:10.2307/2495085"
    assert citation.ident == "doi:10.2307/2495085"
    assert citation.link == "https://doi.org/10.2307/2495085"


def test_dois_compare_without_case_and_keep_their_brackets():
    (one,) = citations_in("doi:10.1002/ABC.123 and doi:10.1002/abc.123", None)
    assert one.key == "doi:10.1002/abc.123" and one.ident == "doi:10.1002/ABC.123"  # as first written
    (bracketed,) = citations_in(
        "see 10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0 there", None
    )
    assert bracketed.ident == "doi:10.1002/(SICI)1097-4571(199806)49:8"
    assert doi_of_url("https://example.org/10.2307/2495085") is None  # a DOI in a publisher's URL stays a URL


# -- ISBNs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "0-330-49139-3",
        "0330491393",
        "0 330 49139 3",
        "978-0-330-49139-6",
        "9780330491396",
        "978 0 330 49139 6",
    ],
)
def test_isbn_10_and_13_in_any_spacing_are_one_number(written):
    assert isbn13(written) == "9780330491396"


@pytest.mark.parametrize(
    "written", ["0-330-49139-4", "9780330491397", "12345", "97803304913960", "0-8044-2957-Y"]
)
def test_a_wrong_check_digit_is_not_an_isbn(written):
    assert isbn13(written) is None


def test_isbn_10_with_an_x_check_digit():
    assert isbn13("0-8044-2957-X") == "9780804429573"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ISBN 0-330-49139-3", True),
        ("ISBN-13: 978-0-330-49139-6", True),
        ("isbn:0330491393", True),
        ("978-0-330-49139-6 (paperback)", True),  # 978/979 and 13 digits: an ISBN without the word
        ("0-330-49139-3 (paperback)", True),  # a hyphenated ISBN-10
        ("call 0330491393", False),  # ten bare digits could be anything
        ("ISBN 0-330-49139-4", False),  # wrong check digit
        ("in 1924-01-21", False),
    ],
)
def test_isbns_are_recognised_in_text(text, found):
    cited = citations_in(text, None)
    assert [c.key for c in cited if c.kind == "isbn"] == (["isbn:9780330491396"] if found else [])
    if found:
        assert cited[0].ident == "ISBN 978-0330491396"
        assert cited[0].link == "https://openlibrary.org/isbn/9780330491396"


# -- books ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Service, *Lenin: A Biography*",
        "I liked Service, _Lenin: A Biography_ a lot",
        'Robert Service\'s "Lenin: A Biography" is the one to read',
        "Robert Service’s “Lenin: A Biography”",
        "*Lenin: A Biography* by Robert Service",
        '"Lenin: A Biography (2000)" by Service',
    ],
)
def test_a_book_named_in_a_sentence_is_found(text):
    ((_, _, book),) = books_in(text)
    assert book.author.split()[-1] == "Service" and book.title.startswith("Lenin: A Biography")
    assert book.key == "book:service|lenin a biography"


@pytest.mark.parametrize(
    "text",
    [
        "Service's biography of Lenin",  # no italics or quotes: not recognised
        'Stalin said, "we will see"',  # a lower-case "title", and "said" is no author
        "However, *this* matters",
        "However, *The Guardian* says so",  # a sentence's first word is not an author
        "**Krupskaya** was his wife",  # bold is emphasis, not a title
        'he called it "the testament"',
    ],
)
def test_what_is_not_taken_for_a_book(text):
    assert books_in(text) == []


# -- source lines and readable references ----------------------------------------------------------------


def test_source_lines_in_a_message():
    body = (
        "Lenin died on 21 January 1924.\n"
        "Source: Service, Lenin: A Biography\n"
        "More text.\n"
        "**Sources:**\n"
        "- https://en.wikipedia.org/wiki/Vladimir_Lenin\n"
        "- Pipes, The Russian Revolution\n"
        "\n"
        "The source: of this is unclear"
    )
    assert source_lines(body, "- from the form\n\n2. second") == [
        "from the form",
        "second",
        "Service, Lenin: A Biography",
        "https://en.wikipedia.org/wiki/Vladimir_Lenin",
        "Pipes, The Russian Revolution",
    ]
    kinds = [(c.kind, c.words or c.ident) for c in citations_in(body, None)]
    assert kinds == [
        ("book", "Service, Lenin: A Biography"),
        ("url", "https://en.wikipedia.org/wiki/Vladimir_Lenin"),
        ("book", "Pipes, The Russian Revolution"),
    ]


def test_a_source_line_keeps_its_own_words_beside_a_doi_or_isbn():
    (isbn,) = citations_in(
        None, "Service, Robert. Lenin: A Biography. London: Macmillan, 2000. ISBN 0-330-49139-3"
    )
    assert isbn.words == "Service, Robert. Lenin: A Biography. London: Macmillan, 2000."
    assert isbn.aliases == ("book:service|lenin a biography",)  # the same book named elsewhere merges
    (doi,) = citations_in(None, "Wade, Krupskaya and the Soviet School, https://doi.org/10.2307/2495085")
    assert (doi.words, doi.ident) == ("Wade, Krupskaya and the Soviet School", "doi:10.2307/2495085")
    (joined,) = citations_in(None, "Pipes, The Russian Revolution; ISBN 978-0-394-57394-6")
    assert (joined.kind, joined.words) == ("isbn", "Pipes, The Russian Revolution")
    two = citations_in(None, "Pipes, The Russian Revolution; Figes, A People's Tragedy")
    assert [c.words for c in two] == ["Pipes, The Russian Revolution", "Figes, A People's Tragedy"]


def test_in_prose_an_identifier_takes_the_book_beside_it_or_a_short_line():
    (doi, book) = citations_in(
        'Wade, "Krupskaya and the Soviet School", doi:10.2307/2495085 and Service, *Lenin: A Biography*', None
    )
    assert (doi.words, book.words) == ("Wade, Krupskaya and the Soviet School", "Service, Lenin: A Biography")
    (short,) = citations_in("Smith's article on the funeral, doi:10.2307/2495085 (see also)", None)
    assert short.words == "Smith's article on the funeral"
    long_line = "A long paragraph about the funeral " + "and the queues " * 12 + "doi:10.2307/2495085"
    assert citations_in(long_line, None)[0].words == ""  # prose is not a reference


def test_the_bibliography_lists_each_source_once_with_the_contributions_citing_it():
    sources = collect(
        [
            (
                4,
                citations_in(
                    None, "Service, Robert. Lenin: A Biography. London: Macmillan, 2000. ISBN 0-330-49139-3"
                ),
            ),
            (
                2,
                citations_in(
                    "https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/ and doi:10.2307/2495085", None
                ),
            ),
            (7, citations_in('Robert Service\'s "Lenin: A Biography", 978-0-330-49139-6', None)),
            (9, citations_in("https://en.m.wikipedia.org/wiki/Nadezhda_Krupskaya?utm_source=x", None)),
            (9, citations_in("Wade, Krupskaya and the Soviet School: https://doi.org/10.2307/2495085", None)),
            (11, citations_in("Service, *Lenin: A Biography*", None)),
        ]
    )
    assert [(s.number, s.kind, s.reference, s.cited_by) for s in sources] == [
        (
            1,
            "isbn",
            "Service, Robert. Lenin: A Biography. London: Macmillan, 2000 — ISBN 978-0330491396",
            (4, 7, 11),
        ),
        (2, "url", "https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/", (2, 9)),
        (3, "doi", "Wade, Krupskaya and the Soviet School — doi:10.2307/2495085", (2, 9)),
    ]


def test_a_stronger_identifier_takes_over_a_source_first_cited_weaker():
    sources = collect(
        [
            (1, citations_in("Service, *Lenin: A Biography*", None)),
            (2, citations_in(None, "Service, Lenin: A Biography, ISBN 0-330-49139-3")),
        ]
    )
    (only,) = sources
    assert (only.kind, only.reference, only.cited_by) == (
        "isbn",
        "Service, Lenin: A Biography — ISBN 978-0330491396",
        (1, 2),
    )
    assert only.link == "https://openlibrary.org/isbn/9780330491396"
