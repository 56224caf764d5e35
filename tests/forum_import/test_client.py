"""The Discourse client against a local forum: the sample by route, paging, long topics, and a forum
that misbehaves (429 with Retry-After, 403 with and without a key, 404, 500, HTML, oversized
answers, slow answers, redirects), at a polite pace."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import itertools
import socket
import time
import types

import pytest

from bot.errors import InvalidInput
from cogs.forum_import import client as client_module
from cogs.forum_import.client import DiscourseClient, ForumError
from cogs.forum_import.discourse import parse_topic
from tests.forum_import.server import ForumServer


class Waits:
    """A sleep that records what it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


def client(server: ForumServer, waits: Waits | None = None, **kwargs) -> DiscourseClient:
    kwargs.setdefault("min_interval", 0)
    if waits is not None:
        kwargs["sleep"] = waits
    return DiscourseClient(server.url, **kwargs)


async def test_sample_category_and_topics(forum_server):
    async with client(forum_server) as forum:
        assert await forum.category_topic_ids("episode-research") == [4711, 4712]
        assert await forum.category_topic_ids("5") == [4711, 4712]
        assert await forum.category_topic_ids(f"{forum_server.url}/c/episode-research/5") == [4711, 4712]
        seed = parse_topic(await forum.topic(4711), base_url=forum_server.url)
        long = parse_topic(await forum.topic(4712), base_url=forum_server.url)
    assert seed.authors == ("Spartacus", "Indy") and [p.number for p in seed.posts] == [2, 3, 4, 5, 6]
    assert seed.posts[0].url == f"{forum_server.url}/t/1924-01-lenins-death-and-stalins-rise-to-power/4711/2"
    assert len(long.posts) == 24 and long.skipped == ((9, "small action"), (13, "whisper"), (17, "deleted"))
    (rest,) = forum_server.seen("/t/4712/posts.json")
    assert rest.query["post_ids[]"] == ["471221", "471222", "471223", "471224", "471225"]
    assert rest.query["include_raw"] == ["true"]
    assert forum_server.seen("/t/4711.json")[0].query == {"include_raw": ["true"]}


async def test_topics_over_20_posts_come_in_chunks_of_20(forum_server):
    posts = [{"raw": f"Locarno note {n}", "username": "Mirna", "likes": n % 3} for n in range(2, 67)]
    forum_server.add_topic(4801, "1925 12 After Locarno", "Author: @Indy\nStatus: Writing", posts)
    async with client(forum_server) as forum:
        data = await forum.topic(4801)
    numbers = [p["post_number"] for p in data["post_stream"]["posts"]]
    assert numbers == list(range(1, 67))
    assert data["post_stream"]["stream"] == [p["id"] for p in data["post_stream"]["posts"]]
    chunks = [len(r.query["post_ids[]"]) for r in forum_server.seen("/t/4801/posts.json")]
    assert chunks == [20, 20, 6]
    topic = parse_topic(data, base_url=forum_server.url)
    assert len(topic.research) == 65 and topic.research[-1].raw == "Locarno note 66"


async def test_a_post_that_vanished_meanwhile_is_left_out(forum_server):
    posts = [{"raw": f"Spartacus on Locarno {n}"} for n in range(2, 31)]
    forum_server.add_topic(4802, "1925 11 Locarno aftermath", "Author: @Indy", posts)
    stored = forum_server.topics[4802]["post_stream"]
    gone = stored["posts"].pop(25)["id"]  # still listed in the stream, no longer served
    async with client(forum_server) as forum:
        data = await forum.topic(4802)
    assert gone not in data["post_stream"]["stream"] and len(data["post_stream"]["posts"]) == 29
    assert len(parse_topic(data, base_url=forum_server.url).posts) == 28


async def test_category_pages_until_the_last(forum_server):
    forum_server.add_category("archive", 9, about=True)
    for n in range(70):
        forum_server.add_topic(5000 + n, f"19{n:02d} 01 Episode {n}", "Author: @Veles", category="archive/9")
    async with client(forum_server) as forum:
        ids = await forum.category_topic_ids("archive")
    assert ids == [5000 + n for n in range(70)]  # the "About the Archive category" topic left out
    pages = [r.query.get("page", ["0"])[0] for r in forum_server.seen("/c/archive/9.json")]
    assert pages == ["0", "1", "2"]


async def test_a_forum_that_ignores_the_page_number_ends_the_listing(forum_server):
    forum_server.per_page = 1  # every page says there is more …
    forum_server.ignore_page = True  # … and it is always the first
    async with client(forum_server) as forum:
        assert await forum.category_topic_ids("episode-research") == [4711]
    assert len(forum_server.seen("/c/episode-research/5.json")) == 2


async def test_429_waits_as_long_as_retry_after_says(forum_server):
    forum_server.fail("/t/4711.json", 429, times=2, headers={"Retry-After": "7"})
    waits = Waits()
    async with client(forum_server, waits) as forum:
        data = await forum.topic(4711)
    assert waits.asked == [7.0, 7.0]
    assert len(data["post_stream"]["posts"]) == 6
    assert [r.status for r in forum_server.seen("/t/4711.json")] == [429, 429, 200]


async def test_429_retry_after_really_waited(forum_server):
    forum_server.fail("/t/4711.json", 429, times=1, headers={"Retry-After": "1"})
    async with client(forum_server) as forum:
        await forum.topic(4711)
    refused, served = forum_server.seen("/t/4711.json")
    assert (refused.status, served.status) == (429, 200)
    assert served.at - refused.at >= 0.95


async def test_429_retry_after_as_a_date(forum_server):
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    forum_server.fail(
        "/t/4711.json", 429, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}
    )
    waits = Waits()
    async with client(forum_server, waits) as forum:
        await forum.topic(4711)
    (waited,) = waits.asked
    assert 27 <= waited <= 31


async def test_429_without_end_gives_up_with_a_sentence(forum_server):
    forum_server.fail("/t/4711.json", 429, times=None, headers={"Retry-After": "2"})
    waits = Waits()
    async with client(forum_server, waits, max_retries=3) as forum:
        with pytest.raises(ForumError, match=r"kept answering “too many requests” .*4 times"):
            await forum.topic(4711)
    assert waits.asked == [2.0, 2.0, 2.0]
    assert len(forum_server.seen("/t/4711.json")) == 4


async def test_429_asking_for_hours_is_not_sat_out(forum_server):
    forum_server.fail("/t/4711.json", 429, headers={"Retry-After": "7200"})
    waits = Waits()
    async with client(forum_server, waits) as forum:
        with pytest.raises(ForumError, match="wait 2 hours"):
            await forum.topic(4711)
    assert waits.asked == []


async def test_403_without_an_api_key_says_how_to_set_one(forum_server):
    forum_server.require_api_key("k3y", "Spartacus")
    async with client(forum_server) as forum:
        with pytest.raises(
            ForumError, match=r"DISCOURSE_API_KEY and DISCOURSE_API_USERNAME in the bot's \.env"
        ):
            await forum.topic(4711)
    assert "Api-Key" not in forum_server.seen()[0].headers


async def test_api_key_and_username_are_sent(forum_server):
    forum_server.require_api_key("k3y", "Spartacus")
    async with client(forum_server, api_key="k3y", api_username="Spartacus") as forum:
        assert await forum.category_topic_ids("episode-research") == [4711, 4712]
        await forum.topic(4712)
    assert all(
        r.headers["Api-Key"] == "k3y" and r.headers["Api-Username"] == "Spartacus"
        for r in forum_server.seen()
    )
    assert all(r.status == 200 for r in forum_server.seen())


async def test_403_with_a_wrong_key_says_to_check_it(forum_server):
    forum_server.require_api_key("k3y", "Spartacus")
    async with client(forum_server, api_key="wrong", api_username="Spartacus") as forum:
        with pytest.raises(ForumError, match="even with the API key"):
            await forum.category_topic_ids("episode-research")


async def test_404_names_what_is_missing(forum_server):
    async with client(forum_server) as forum:
        with pytest.raises(ForumError, match=r"no topic 4799 \(HTTP 404\)"):
            await forum.topic(4799)
        with pytest.raises(ForumError, match="no category `lenin-memes`"):
            await forum.category_topic_ids("lenin-memes")
        with pytest.raises(ForumError, match="no category `77`"):
            await forum.category_topic_ids("77")


async def test_500_then_ok_is_retried_with_backoff(forum_server):
    forum_server.fail("/t/4712/posts.json", 500, times=2)
    waits = Waits()
    async with client(forum_server, waits) as forum:
        data = await forum.topic(4712)
    assert len(data["post_stream"]["posts"]) == 25
    assert waits.asked == [1.0, 2.0]


async def test_500_for_good_stops_with_a_sentence(forum_server):
    forum_server.fail("/t/4711.json", 502, times=None)
    waits = Waits()
    async with client(forum_server, waits, max_retries=2) as forum:
        with pytest.raises(ForumError, match=r"failed 3 times \(the forum answered HTTP 502\)"):
            await forum.topic(4711)


async def test_html_instead_of_json_is_not_discourse(forum_server):
    forum_server.html_instead("/c/*")
    async with client(forum_server) as forum:
        with pytest.raises(ForumError, match=r"doesn't look like a Discourse forum: .* a web page"):
            await forum.category_topic_ids("episode-research")


async def test_text_that_is_not_json_is_not_discourse(forum_server):
    forum_server.fail("/t/4711.json", 200, body="Lenin died in 1924")
    async with client(forum_server) as forum:
        with pytest.raises(ForumError, match="something that isn't JSON"):
            await forum.topic(4711)


@pytest.mark.parametrize("declare_length", [False, True])
async def test_oversized_answers_are_refused_while_reading(forum_server, declare_length):
    forum_server.oversized("/t/4711.json", 5 * 2**20, declare_length=declare_length)
    async with client(forum_server, max_bytes=2**20) as forum:
        with pytest.raises(ForumError, match="larger than 1 MiB"):
            await forum.topic(4711)


async def test_slow_answers_time_out(forum_server):
    forum_server.slow("/t/4711.json", 1.5, times=None)
    waits = Waits()
    async with client(forum_server, waits, timeout=0.3, max_retries=1) as forum:
        with pytest.raises(ForumError, match=r"didn't answer for topic 4711 within 0.3 s, 2 times"):
            await forum.topic(4711)
    assert waits.asked == [1.0]


async def test_redirects_are_followed_and_the_key_stays_home(forum_server):
    here = forum_server.url.replace("127.0.0.1", "localhost")
    forum_server.fail(
        "/t/4711.json", 301, headers={"Location": f"{here}/t/lenins-death/4711.json?include_raw=true"}
    )
    async with client(forum_server, api_key="k3y", api_username="Spartacus") as forum:
        data = await forum.topic(4711)
    assert data["id"] == 4711
    first, moved = forum_server.seen("/t/*4711.json")
    assert first.headers["Api-Key"] == "k3y" and "Api-Key" not in moved.headers
    assert moved.path == "/t/lenins-death/4711.json" and moved.query == {"include_raw": ["true"]}


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("ftp://forum.example.org", "not a web address"),
        ("file:///srv/forum.json", "not a web address"),
        ("http://forum.example.org", "only allowed for a forum on the local network"),
    ],
)
def test_only_http_and_https(url, sentence):
    with pytest.raises(InvalidInput, match=sentence):
        DiscourseClient(url)


async def test_a_forum_that_is_not_there():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    async with DiscourseClient(f"http://127.0.0.1:{port}", min_interval=0) as forum:
        with pytest.raises(ForumError, match=f"Can't reach the forum at http://127.0.0.1:{port}"):
            await forum.topic(4711)


def test_default_pace_is_polite_elsewhere_and_quick_at_home():
    assert DiscourseClient("https://forum.example.org").min_interval == 0.3  # 200 a minute
    assert DiscourseClient("https://forum.example.org", api_key="k3y").min_interval == 1.0  # 60 a minute
    assert DiscourseClient("http://127.0.0.1:8080").min_interval == 0.01
    assert DiscourseClient("https://forum.example.org", min_interval=1.5).min_interval == 1.5


async def test_requests_are_spaced_by_the_minimum_interval(forum_server, monkeypatch):
    """Spacing is checked on a clock of the test's own, moved only by the client's waits, so a loaded
    machine's delays can neither hide nor fake a gap."""
    clock = [1000.0]
    let_go: list[float] = []

    async def wait(seconds: float) -> None:
        clock[0] += seconds
        await asyncio.sleep(0)

    pace = DiscourseClient._pace

    async def recorded_pace(self) -> None:
        await pace(self)
        let_go.append(clock[0])

    monkeypatch.setattr(client_module, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(DiscourseClient, "_pace", recorded_pace)
    async with DiscourseClient(forum_server.url, min_interval=0.1, sleep=wait) as forum:
        await forum.category_topic_ids("episode-research")
        await forum.topic(4711)
        await forum.topic(4712)
    assert len(forum_server.seen()) == len(let_go) == 5  # every request the forum saw waited its turn
    gaps = [b - a for a, b in itertools.pairwise(let_go)]
    assert min(gaps) >= 0.1 - 1e-9, gaps


async def test_speed_30_topics_of_60_posts(forum_server, capsys):
    forum_server.add_category("speed", 11)
    for n in range(30):
        posts = [
            {
                "raw": f"Research {n}.{k}: Lenin died on 21 January 1924. " * 8,
                "username": f"member{k % 9}",
                "likes": k % 4,
            }
            for k in range(2, 61)
        ]
        forum_server.add_topic(
            6000 + n,
            f"1930 {n:02d} Episode {n}",
            "Author: @Veles\nStatus: Writing",
            posts,
            category="speed/11",
        )
    started = time.perf_counter()
    async with DiscourseClient(forum_server.url) as forum:  # the default pace for a forum on this machine
        topics = [
            parse_topic(await forum.topic(i), base_url=forum.base_url)
            for i in await forum.category_topic_ids("speed")
        ]
    seconds = time.perf_counter() - started
    assert len(topics) == 30 and all(len(t.research) == 59 for t in topics)
    with capsys.disabled():
        print(
            f"\n30 topics × 60 posts fetched and parsed from loopback: {seconds:.2f} s ({len(forum_server.seen())} requests)"
        )
    assert seconds < 10
