"""Forum import rules: codes and titles from topic titles, the first post's Author/Status lines,
image links, topic references and forum addresses as an admin types them."""

from __future__ import annotations

import hashlib

import pytest

from bot.errors import InvalidInput
from cogs.episodes.rules import DESCRIPTION_MAX, validate_code
from cogs.forum_import.rules import (
    absolute_images,
    forum_url,
    is_local_host,
    read_first_post,
    split_title,
    topic_ref,
)


@pytest.mark.parametrize(
    ("title", "code", "rest"),
    [
        (
            "1924 01 Lenin’s Death and Stalin’s rise to Power",
            "1924-01",
            "Lenin’s Death and Stalin’s rise to Power",
        ),
        ("1925-10 - The Locarno Treaties", "1925-10", "The Locarno Treaties"),
        ("1925.10: The Locarno Treaties", "1925-10", "The Locarno Treaties"),
        ("1924 Lenin’s funeral", "1924", "Lenin’s funeral"),
        ("  1924   01   Lenin  ", "1924-01", "Lenin"),
        ("The Locarno Treaties", "F4711", "The Locarno Treaties"),
        ("1920s Berlin nightlife", "F4711", "1920s Berlin nightlife"),  # a decade, not a code
        ("Spartacus’ Q&A 2", "F4711", "Spartacus’ Q&A 2"),
        ("1924 01", "1924-01", "1924 01"),  # nothing after the code: the title stays whole
    ],
)
def test_split_title(title, code, rest):
    assert split_title(title, 4711) == (code, rest)
    assert validate_code(code) == code


def test_split_title_keeps_the_code_within_20_characters():
    code, rest = split_title("2021 05 12 13 14 15 16 17 Veles’ marathon", 9)
    assert code == "2021-05-12-13-14-15" and len(code) <= 20
    assert rest == "16 17 Veles’ marathon"


def test_split_title_cuts_long_titles_visibly():
    code, rest = split_title("1924 01 " + "Lenin " * 40, 1)
    assert code == "1924-01"
    assert len(rest) == 90 and rest.endswith("…")


@pytest.mark.parametrize(
    ("raw", "authors", "status"),
    [
        ("Author: @Spartacus @Indy\nStatus: In Research\n\nText", ("Spartacus", "Indy"), "in_research"),
        (
            "Authors: @Spartacus, @Indy and @Veles\nStatus: Writing\n\nText",
            ("Spartacus", "Indy", "Veles"),
            "writing",
        ),
        ("author: spartacus, indy\nstatus: RECORDED\n\nText", ("spartacus", "indy"), "recorded"),
        ("**Author:** @Indy  \n**Status:** published\n\nText", ("Indy",), "published"),
        ("* Author: Spartacus & Indy\n* Status: shelved\n\nText", ("Spartacus", "Indy"), "shelved"),
        ("Author: [@Veles](/u/veles)\nStatus: in_research\n\nText", ("Veles",), "in_research"),
        ("AUTHORS: @Indy @indy\nSTATUS: in-research\n\nText", ("Indy",), "in_research"),  # once each
        ("Author: @Spartacus Status: Writing\n\nText", ("Spartacus",), "writing"),  # on one line
        ("Author: TBD\nStatus: Writing\n\nText", (), "writing"),
        ("Status: Recorded\n\nText", (), "recorded"),
        ("Author: @Indy\n\nText", ("Indy",), "in_research"),  # no status: In Research
        ("Text", (), "in_research"),
    ],
)
def test_first_post_authors_and_status(raw, authors, status):
    got_authors, got_status, description = read_first_post(raw)
    assert (got_authors, got_status) == (authors, status)
    assert description == "Text"


def test_first_post_description_is_the_rest():
    raw = (
        "Author: @Spartacus @Indy\nStatus: In Research\n\n"
        "Please post any ideas or research for this episode.\n\nSources welcome."
    )
    assert (
        read_first_post(raw)[2] == "Please post any ideas or research for this episode.\n\nSources welcome."
    )


def test_unknown_status_stays_in_the_description():
    authors, status, description = read_first_post("Author: @Indy\nStatus: On hold until 2025\n\nLocarno")
    assert authors == ("Indy",) and status == "in_research"
    assert description == "Status: On hold until 2025\n\nLocarno"


def test_first_post_description_is_cut_visibly():
    _, _, description = read_first_post("Author: @Veles\n\n" + "Lenin died in 1924. " * 200)
    assert len(description) == DESCRIPTION_MAX and description.endswith("…")


def _base62(sha1: str) -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    number, out = int(sha1, 16), ""
    while number:
        number, digit = divmod(number, 62)
        out = alphabet[digit] + out
    return out


def test_images_from_cooked_for_upload_references():
    sha_map = hashlib.sha1(b"map of the Rhineland").hexdigest()
    sha_photo = hashlib.sha1(b"Stresemann photo").hexdigest()
    sha_lost = hashlib.sha1(b"not in cooked").hexdigest()
    raw = (
        f"The zone: ![map|690x388](upload://{_base62(sha_map)}.png)\n"
        f"![photo](upload://{_base62(sha_photo)}.jpeg) and ![x](upload://{_base62(sha_lost)}.gif)"
    )
    cooked = (
        f'<p>The zone: <a class="lightbox" href="/uploads/default/original/1X/{sha_map}.png">'
        f'<img src="/uploads/default/optimized/1X/{sha_map}_2_690x388.png" alt="map"></a></p>'
        '<img src="/images/emoji/twitter/smile.png" class="emoji">'
        f'<img src="//cdn.example.net/original/2X/{sha_photo}.jpeg" data-base62-sha1="{_base62(sha_photo)}">'
    )
    assert absolute_images(raw, cooked, "https://forum.example.org") == (
        f"https://forum.example.org/uploads/default/original/1X/{sha_map}.png",
        f"https://cdn.example.net/original/2X/{sha_photo}.jpeg",
        f"https://forum.example.org/uploads/short-url/{_base62(sha_lost)}.gif",
    )
    assert absolute_images("no images, just https://example.org/a.png", cooked, "https://f.org") == ()


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("4711", 4711),
        (" #4711 ", 4711),
        ("https://forum.example.org/t/lenins-death/4711", 4711),
        ("https://forum.example.org/t/lenins-death/4711/3?u=veles", 4711),
        ("https://forum.example.org/t/4711", 4711),
        ("https://forum.example.org/t/4711/3", 4711),
        ("/t/lenins-death/4711.json", 4711),
        ("https://example.org/forum/t/lenins-death/4711#reply", 4711),
    ],
)
def test_topic_ref(text, topic):
    assert topic_ref(text) == topic


@pytest.mark.parametrize(
    "text", ["", "lenin", "https://forum.example.org/latest", "/t/lenins-death", "0", "-3"]
)
def test_topic_ref_refuses_what_is_not_a_topic(text):
    with pytest.raises(InvalidInput, match="not a forum topic"):
        topic_ref(text)


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("https://forum.example.org", "https://forum.example.org"),
        ("https://Forum.Example.org/", "https://forum.example.org"),
        ("https://forum.example.org/latest", "https://forum.example.org"),
        ("https://forum.example.org/c/episode-research/5", "https://forum.example.org"),
        ("https://forum.example.org/t/lenins-death/4711/2", "https://forum.example.org"),
        ("https://example.org/forum/latest?order=activity", "https://example.org/forum"),
        ("https://forum.example.org:443", "https://forum.example.org"),
        ("https://forum.example.org:8443/", "https://forum.example.org:8443"),
        ("forum.example.org", "https://forum.example.org"),
        ("http://127.0.0.1:4200/latest", "http://127.0.0.1:4200"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://192.168.1.20", "http://192.168.1.20"),
        ("http://10.0.0.7/forum/", "http://10.0.0.7/forum"),
        ("http://forum.lan", "http://forum.lan"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_forum_url(text, url):
    assert forum_url(text) == url


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("http://forum.example.org", "only allowed for a forum on the local network"),
        ("http://8.8.8.8", "only allowed for a forum on the local network"),
        ("ftp://forum.example.org", "not a web address"),
        ("file:///etc/passwd", "not a web address"),
        ("javascript:alert(1)", "not a web address"),
        ("https://admin:secret@forum.example.org", "DISCOURSE_API_KEY"),
        ("https://", "no host name"),
        ("", "forum's address"),
        ("https://forum.example.org:99999", "not a web address"),
    ],
)
def test_forum_url_refusals(text, sentence):
    with pytest.raises(InvalidInput, match=sentence):
        forum_url(text)


def test_local_hosts():
    assert all(is_local_host(h) for h in ["127.0.0.1", "::1", "localhost", "10.1.2.3", "forum.local", "nas"])
    assert not any(is_local_host(h) for h in ["8.8.8.8", "forum.example.org", "2001:4860::8888"])
