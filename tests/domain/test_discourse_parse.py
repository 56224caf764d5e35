"""Reading Discourse topic JSON: the sample forum's seed topic (Veles's research, the Krupskaya
correction answered by Veles, likes), a long topic with what is not research, and messy shapes."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from bot.errors import InvalidInput
from cogs.forum_import.discourse import UNKNOWN_FORUM, NotATopic, guess_forum, parse_topic
from tests.domain.test_forum_rules import _base62
from tests.forum_import.server import SAMPLE, ForumServer, sample_topic

FORUM = "https://forum.example.org"
SEED_URL = f"{FORUM}/t/1924-01-lenins-death-and-stalins-rise-to-power/4711"


def test_seed_topic_becomes_an_episode_with_its_research():
    topic = parse_topic(sample_topic(4711), base_url=FORUM)
    assert (topic.topic_id, topic.forum, topic.url) == (4711, FORUM, SEED_URL)
    assert topic.title == "1924 01 Lenin’s Death and Stalin’s rise to Power"
    assert (topic.code, topic.episode_title) == ("1924-01", "Lenin’s Death and Stalin’s rise to Power")
    assert topic.status == "in_research"
    assert topic.authors == ("Spartacus", "Indy")
    assert topic.description.startswith("Please post any ideas or research for this episode")
    assert "Author:" not in topic.description and "Status:" not in topic.description
    assert topic.created_at == dt.datetime(2021, 6, 14, 18, 2, tzinfo=dt.UTC)
    assert [p.number for p in topic.posts] == [2, 3, 4, 5, 6]
    assert topic.research == topic.posts and topic.skipped == ()

    research, correction, answer, thanks, reply = topic.posts
    assert research.username == "Veles" and research.post_id == 471102
    assert "Lenin died on January 21, 1924" in research.raw and "Krupska" in research.raw
    assert research.created_at == dt.datetime(2021, 6, 17, 20, 2, tzinfo=dt.UTC)
    assert research.url == f"{SEED_URL}/2" and research.edited_at is None
    assert correction.username == "Ardent" and "Krupskaya is probably the correct way" in correction.raw
    assert correction.reply_to_number == 2  # the correction answers Veles's research
    assert answer.username == "Veles" and answer.reply_to_number == 3 and "Polish way" in answer.raw
    assert [p.likes for p in topic.posts] == [0, 0, 1, 0, 1]
    assert thanks.username == "Spartacus" and thanks.reply_to_number == 2
    assert reply.reply_to_number == 5 and reply.kind == "regular" and not reply.deleted


def test_long_topic_skips_what_is_not_research():
    topic = parse_topic(sample_topic(4712), base_url=FORUM)
    assert (topic.code, topic.episode_title, topic.status) == ("1925-10", "The Locarno Treaties", "writing")
    assert topic.authors == ("Indy",)
    assert len(topic.posts) == 24 and [p.number for p in topic.posts] == list(range(2, 26))
    assert topic.skipped == ((9, "small action"), (13, "whisper"), (17, "deleted"))
    assert len(topic.research) == 21
    assert all(p.is_research for p in topic.research)
    by_number = {p.number: p for p in topic.posts}
    assert by_number[9].kind == "small_action" and by_number[13].kind == "whisper"
    assert by_number[17].deleted and not by_number[17].is_research
    assert by_number[5].likes == 4 and by_number[5].reply_to_number == 4
    assert by_number[25].username == "Ardent" and by_number[25].url.endswith("/4712/25")
    assert sum(p.likes for p in topic.research) == 44  # the topic's like count: all on research


def test_forum_is_taken_from_the_file_when_no_address_is_given():
    data = sample_topic(4711)
    assert guess_forum(data) == FORUM
    assert parse_topic(data).url == SEED_URL
    for post in data["post_stream"]["posts"]:
        post["avatar_template"] = "/letter_avatar_proxy/v4/letter/v/8edcca/{size}.png"
    assert guess_forum(data) is None
    assert parse_topic(data).forum == UNKNOWN_FORUM


def _topic(*posts: dict, first: str = "Author: @Veles\nStatus: Writing\n\nLenin’s funeral") -> dict:
    forum = ForumServer(sample=False)
    forum.add_category("episode-research", 5)
    return forum.add_topic(4801, "1924 02 Lenin’s funeral", first, list(posts))


def test_every_skip_reason():
    data = _topic(
        {"raw": "Krupskaya, not Krupska.", "username": "Ardent"},
        {"raw": "moderator note", "post_type": 2},
        {"raw": "closed the topic", "post_type": 3},
        {"raw": "hosts only", "post_type": 4},
        {"raw": "gone", "deleted": True},
        {"raw": "flagged", "hidden": True},
        {"raw": "   "},
        {"raw": "x", "user_deleted": True},
        {"raw": "", "action_code": "closed.enabled"},
    )
    topic = parse_topic(data, base_url=FORUM)
    assert [p.number for p in topic.research] == [2]
    assert topic.skipped == (
        (3, "moderator post"),
        (4, "small action"),
        (5, "whisper"),
        (6, "deleted"),
        (7, "hidden"),
        (8, "empty"),
        (9, "deleted"),
        (10, "small action"),
    )


def test_edited_posts_and_names():
    data = _topic(
        {
            "raw": "Lenin died in 1924.",
            "version": 2,
            "updated_at": "2021-06-20T10:00:00Z",
            "name": "Veles V.",
        },
        {"raw": "Same as before.", "version": 1, "updated_at": "2021-06-21T10:00:00Z"},
    )
    edited, unedited = parse_topic(data, base_url=FORUM).posts
    assert edited.edited_at == dt.datetime(2021, 6, 20, 10, 0, tzinfo=dt.UTC) and edited.name == "Veles V."
    assert unedited.edited_at is None
    assert edited.created_at.tzinfo is dt.UTC


def test_post_without_raw_falls_back_to_its_text():
    data = _topic({"raw": "Krupskaya", "cooked": "<p>Krupskaya &amp; Zinoviev</p><p>in Leningrad</p>"})
    del data["post_stream"]["posts"][1]["raw"]
    assert parse_topic(data, base_url=FORUM).posts[0].raw == "Krupskaya & Zinoviev\nin Leningrad"


def test_images_are_absolute_links():
    sha1 = "a" * 40
    data = _topic(
        {
            "raw": f"The mausoleum: ![photo|600x400](upload://{_base62(sha1)}.jpeg)",
            "cooked": f'<p><img src="/uploads/default/original/1X/{sha1}.jpeg" alt="photo"></p>',
        }
    )
    (post,) = parse_topic(data, base_url="https://example.org/forum").posts
    assert post.images == (f"https://example.org/forum/uploads/default/original/1X/{sha1}.jpeg",)


def test_title_without_code_gets_the_topic_number():
    data = _topic({"raw": "Spartacus’ notes"})
    data["title"] = "Lenin’s funeral"
    topic = parse_topic(data, base_url=FORUM)
    assert (topic.code, topic.episode_title) == ("F4801", "Lenin’s funeral")


@pytest.mark.parametrize(
    ("mutate", "sentence"),
    [
        (lambda d: d.clear(), "no `post_stream`"),
        (lambda d: d.pop("post_stream"), "no `post_stream`"),
        (lambda d: d.update(topic_list={"topics": []}), "category's list of topics"),
        (lambda d: d.pop("title"), "not the topic itself"),
        (lambda d: d.update(id="4711"), "no topic `id`"),
        (lambda d: d["post_stream"].update(posts=[]), "has no posts"),
        (lambda d: d["post_stream"]["posts"].pop(), "incomplete: 1 of its 6 posts"),
        (lambda d: d["post_stream"]["posts"][1].pop("post_number"), "no `id` or `post_number`"),
        (lambda d: d["post_stream"]["posts"][1].update(created_at="yesterday"), "no valid `created_at`"),
        (lambda d: [p.pop("raw") for p in d["post_stream"]["posts"]], "include_raw=true"),
    ],
)
def test_what_is_not_a_topic_is_refused(mutate, sentence):
    data = copy.deepcopy(sample_topic(4711))
    mutate(data)
    with pytest.raises(NotATopic, match=sentence) as caught:
        parse_topic(data, base_url=FORUM)
    assert isinstance(caught.value, InvalidInput)


def test_json_that_is_no_object_is_refused():
    for data in ([], "4711", None):
        with pytest.raises(NotATopic, match="not an object"):
            parse_topic(data, base_url=FORUM)  # type: ignore[arg-type]


def test_long_sample_topic_without_its_last_posts_is_incomplete():
    first_page = json.loads((SAMPLE / "t" / "4712.json").read_text(encoding="utf-8"))
    with pytest.raises(NotATopic, match=r"5 of its 25 posts .*print=true"):
        parse_topic(first_page, base_url=FORUM)
