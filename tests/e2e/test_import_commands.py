"""`/import …` as an admin uses it, against a local Discourse look-alike serving the sample forum: a
category or one topic imported (posts in Discord only for episodes still in research or writing),
progress at most every 2 seconds, re-runs and dry runs that change nothing, uploads, a misbehaving
forum, forum names listed and linked, and everyone else refused."""

from __future__ import annotations

import io
import json
import re
import zipfile

import discord
import pytest

from bot.core import dm_store
from cogs.forum_import import cog as import_cog
from tests.forum_import.server import SAMPLE, ForumServer

SEED, LOCARNO, PUTSCH = "1924-01", "1925-10", "1923-11"
DAY = 24 * 3600


@pytest.fixture
def forum():
    """The sample forum (`episode-research`: the seed topic 4711, In Research, and 4712, 25 posts,
    Writing) plus a recorded episode's topic, on 127.0.0.1."""
    server = ForumServer().start()
    server.add_topic(
        4713,
        "1923 11 The Beer Hall Putsch",
        "Author: @Indy\nStatus: Recorded\n\nResearch for the Munich putsch episode.",
        [
            {"raw": "Hitler and Ludendorff marched on 9 November 1923; the police stopped them.", "username": "Mirna"},
            {"raw": "@Mirna recorded today, this research was essential. Thank you!", "username": "Indy", "reply_to": 2},
        ],
    )  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


async def run(world, member=None, **options):
    return await (member or world.admin).slash(world.general, "import discourse", **options)


async def import_category(world, forum, **options):
    r = await run(world, url=forum.url, category="episode-research", **options)
    assert r.response.embeds, r.response.content
    return r


def report(r) -> tuple[str, str]:
    embed = r.response.embeds[0]
    return embed.title, embed.description


def answer(r) -> str:
    assert r.response.ephemeral
    return r.response.content


def writes(requests) -> list:
    """What the bot asked Discord to post, edit or create outside the interaction's own reply."""
    return [
        (x.method, x.path)
        for x in requests
        if x.method in {"POST", "PATCH", "PUT", "DELETE"}
        and not x.path.startswith(("/interactions/", "/webhooks/"))
    ]


def pinged(requests) -> list[str]:
    """Mentions in the bot's messages that Discord would notify (mentions in embeds never do)."""
    hits = []
    for x in requests:
        if not isinstance(x.json, dict):
            continue
        body = x.json.get("message", x.json)  # a new forum post carries its first message
        content = body.get("content") or ""
        allowed = body.get("allowed_mentions") or {"parse": ["users", "roles", "everyone"]}
        for kind, ref in re.findall(r"<@(&?)!?(\d+)>", content):
            kind = "roles" if kind else "users"
            if kind in allowed.get("parse", []) or ref in allowed.get(kind, []):
                hits.append(ref)
        if re.search(r"@(everyone|here)", content) and "everyone" in allowed.get("parse", []):
            hits.append("everyone")
    return hits


async def info(world, code):
    r = await world.alice.slash(world.general, "episode info", episode=code)
    return r.response.content or "", r.response.embeds


async def test_a_category_becomes_episodes_with_posts_for_those_in_research_or_writing(world, forum):
    start = len(world.env.http_requests)
    r = await import_category(world, forum)
    title, text = report(r)
    assert r.response.ephemeral and title == "Import finished"
    assert "Episodes: 3 created, 0 updated, 0 unchanged." in text
    assert "Contributions: 28 added, 0 updated, 0 unchanged." in text  # 5 + 21 + 2 research posts
    assert "Posts skipped: 1 deleted, 1 small action, 1 whisper." in text
    assert "Forum names waiting for `/import link`: Mirna (9), Ardent (6), TobiasH (4)" in text
    assert "`/import authors`" in text
    # In Research and Writing get their post, with the card and a line linking the old topic.
    posts = sorted(t.name for t in world.forum.threads)
    assert posts == ["1924-01 Lenin’s Death and Stalin’s rise to Power", "1925-10 The Locarno Treaties"]
    starter = world.thread_of(SEED).history()[0]
    assert f"<{forum.url}/t/1924-01-lenins-death-and-stalins-rise-to-power/4711>" in starter.content
    card = starter.embeds[0]
    assert {f.name: f.value for f in card.fields}["Contributions"] == "5"
    # The recorded episode is kept without a post and works with the episode commands.
    _, embeds = await info(world, PUTSCH)
    assert "Recorded" in str(embeds[0].to_dict())
    r = await world.alice.slash(world.general, "research list", episode=PUTSCH)
    assert "Hitler and Ludendorff" in r.response.embeds[0].description
    # Nobody pinged, no thank-you for the recorded episode, no reminders: nothing more, a day later.
    assert pinged(world.env.http_requests[start:]) == []
    assert [path for _, path in writes(world.env.http_requests[start:])] == [
        f"/channels/{world.forum.id}",  # the forum's status tags
        f"/channels/{world.forum.id}/threads",
        f"/channels/{world.forum.id}/threads",
    ]
    after = len(world.env.http_requests)
    await world.env.advance_time(DAY)
    assert writes(world.env.http_requests[after:]) == []
    assert world.alice.user.dm_channel is None or not world.alice.user.dm_channel.history()


async def test_progress_shows_at_most_every_two_seconds_and_429_waits_as_asked(world, forum):
    """Two topics answer 429 with Retry-After: 10. The import waits (on the bot's clock) before asking
    again, and its reply shows how far it got, edited no more than once every 2 seconds."""
    for n in range(3):
        title = f"1930 0{n + 1} Reparations, part {n + 1}"
        forum.add_topic(
            5000 + n, title, "Status: Writing", [{"raw": f"Dawes plan note {n}", "username": "Veles"}]
        )
    forum.fail("/t/5000.json", 429, headers={"Retry-After": "10"})
    forum.fail("/t/5001.json", 429, headers={"Retry-After": "10"})
    start = len(world.env.http_requests)
    r = await run(world, url=forum.url, category="episode-research")
    # The import waits for the forum: nothing was asked again yet, the reply still "thinking".
    assert r.deferred and r.response.content == "" and len(forum.seen("/t/5000.json")) == 1
    await world.env.advance_time(9)
    assert len(forum.seen("/t/5000.json")) == 1
    await world.env.advance_time(2)
    assert len(forum.seen("/t/5000.json")) == 2
    assert r.response.content.startswith("⏳ Importing from http://127.0.0.1:")
    assert "4 of 6 topics" in r.response.content and "1930-01 Reparations, part 1" in r.response.content
    # Running: a second import is refused rather than racing the first.
    second = await run(world, url=forum.url, topic="4711")
    assert "already running" in answer(second) and f"<@{world.admin.id}>" in answer(second)
    await world.env.advance_time(11)
    title, text = report(r)
    assert title == "Import finished" and "Episodes: 6 created" in text
    edits = [  # the refused second import was answered at once, without editing anything
        x.json["content"]
        for x in world.env.http_requests[start:]
        if x.method == "PATCH" and x.path.endswith("/messages/@original")
    ]
    assert edits[-1] is None  # the closing report replaced the progress
    # Topics 4711, 4712 and 4713 came at once (no edit: the "thinking…" answer is under 2 s old); 5000
    # after 10 s (an edit), 5001 after 10 s more (an edit), 5002 right after it (no edit).
    assert [re.search(r"\d+ of 6", e)[0] for e in edits[:-1]] == ["4 of 6", "5 of 6"]


async def test_a_second_run_changes_nothing(world, forum):
    await import_category(world, forum)
    messages = {t.id: len(t.history()) for t in world.forum.threads}
    start = len(world.env.http_requests)
    title, text = report(await import_category(world, forum))
    assert title == "Import finished"
    assert "Episodes: 0 created, 0 updated, 3 unchanged." in text
    assert "Contributions: 0 added, 0 updated, 28 unchanged." in text
    assert "Nothing new since the last import" in text
    assert writes(world.env.http_requests[start:]) == []
    assert {t.id: len(t.history()) for t in world.forum.threads} == messages
    assert len(world.forum.threads) == 2


async def test_a_changed_topic_is_updated_and_new_posts_added(world, forum):
    await import_category(world, forum)
    topic = forum.topic_json(4713)
    forum.add_topic(
        4713,
        "1923 11 The Beer Hall Putsch",
        topic["post_stream"]["posts"][0]["raw"],
        [{"raw": p["raw"], "username": p["username"]} for p in topic["post_stream"]["posts"][1:]]
        + [{"raw": "Source: Kershaw, Hitler 1889–1936: Hubris, ch. 5.", "username": "Veles"}],
    )
    _, text = report(await import_category(world, forum))
    assert "Episodes: 0 created, 1 updated, 2 unchanged." in text
    assert "Contributions: 1 added, 0 updated, 28 unchanged." in text


async def test_a_dry_run_changes_nothing_and_says_so(world, forum):
    start = len(world.env.http_requests)
    title, text = report(await import_category(world, forum, dry_run=True))
    assert title == "Dry run: nothing was changed"
    assert "Episodes: 3 created" in text and "Contributions: 28 added" in text
    assert writes(world.env.http_requests[start:]) == [] and world.forum.threads == []
    r = await world.alice.slash(world.general, "episode info", episode=SEED)
    assert "no episode" in r.response.content.lower()
    r = await world.admin.slash(world.general, "import authors")
    assert "Ardent" not in r.response.embeds[0].description
    # The real import afterwards does exactly what the dry run said.
    _, real = report(await import_category(world, forum))
    assert real.splitlines()[:2] == text.splitlines()[1:3]


async def test_one_topic_by_its_id_or_address(world, forum):
    r = await run(world, url=forum.url + "/", topic=f"{forum.url}/t/1925-10-the-locarno-treaties/4712")
    _, text = report(r)
    assert "Episodes: 1 created" in text and "Contributions: 21 added" in text
    assert [t.name for t in world.forum.threads] == ["1925-10 The Locarno Treaties"]
    assert len(forum.seen("/t/4712/posts.json")) == 1  # the posts past the first 20
    _, text = report(await run(world, url=forum.url, topic="4711"))
    assert "Episodes: 1 created" in text and "Contributions: 5 added" in text


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "one of the two"),
        ({"category": "episode-research", "topic": "4711"}, "one of the two"),
    ],
)
async def test_what_to_import_is_named_once(world, forum, options, expected):
    r = await run(world, url=forum.url, **options)
    assert expected in answer(r) and "`category`" in answer(r) and "`topic`" in answer(r)
    assert forum.seen() == []


@pytest.mark.parametrize(
    "url", ["ftp://forum.example.org", "javascript:alert(1)", "forum dot example", "file:///etc/passwd"]
)
async def test_only_web_addresses(world, forum, url):
    r = await run(world, url=url, category="episode-research")
    assert "http" in answer(r) and not r.response.embeds
    assert forum.seen() == [] and world.forum.threads == []


async def test_a_private_forum_without_a_key_names_the_settings(world, forum):
    forum.require_api_key("k3y", "archivist")
    r = await run(world, url=forum.url, category="episode-research")
    assert "DISCOURSE_API_KEY" in answer(r) and "DISCOURSE_API_USERNAME" in answer(r)
    assert not r.response.embeds and world.forum.threads == []


@pytest.fixture
def api_key(monkeypatch):
    """The forum's API key in the bot's environment (read when the bot is built: ask before `world`)."""
    monkeypatch.setenv("DISCOURSE_API_KEY", "k3y")
    monkeypatch.setenv("DISCOURSE_API_USERNAME", "archivist")


async def test_the_api_key_from_the_environment_opens_a_private_forum(api_key, world, forum):
    forum.require_api_key("k3y", "archivist")
    _, text = report(await import_category(world, forum))
    assert "Episodes: 3 created" in text
    assert {(s.headers.get("Api-Key"), s.headers.get("Api-Username")) for s in forum.seen()} == {
        ("k3y", "archivist")
    }


async def test_a_topic_that_is_gone(world, forum):
    r = await run(world, url=forum.url, topic="9999")
    assert "no topic 9999" in answer(r) and "404" in answer(r)
    assert world.forum.threads == []


async def test_a_site_that_is_not_discourse(world, forum):
    forum.html_instead()
    r = await run(world, url=forum.url, topic="4711")
    assert "doesn't look like a Discourse forum" in answer(r) and not r.response.embeds


async def test_an_oversized_answer_is_not_read(world, forum):
    forum.oversized("/t/4711.json", 21 * 2**20)
    r = await run(world, url=forum.url, topic="4711")
    assert "larger than 20 MiB" in answer(r) and world.forum.threads == []


async def test_a_forum_asking_to_wait_hours_is_told_so(world, forum):
    forum.fail("/c/*", 429, headers={"Retry-After": "7200"})
    r = await run(world, url=forum.url, category="episode-research")
    assert "wait 2 hours" in answer(r)


async def test_a_topic_that_cant_be_read_is_reported_and_the_others_imported(world, forum):
    forum.fail("/t/4712.json", 404)
    title, text = report(await import_category(world, forum))
    assert title == "Import finished, with problems"
    assert "Episodes: 2 created" in text
    assert (
        "Topics that couldn't be read (nothing of them was imported): 4712 (The forum has no topic 4712"
        in text
    )
    assert sorted(t.name[:7] for t in world.forum.threads) == [SEED]
    # Once the forum serves it again, a re-run brings it in.
    _, text = report(await import_category(world, forum))
    assert "Episodes: 1 created, 0 updated, 2 unchanged." in text


async def test_a_forum_failing_topic_after_topic_stops_the_import(world, forum):
    forum.fail("/t/*.json", 404, times=None)
    title, text = report(await import_category(world, forum))
    assert title == "Import finished, with problems"
    assert "Episodes: 0 created" in text
    assert "Stopped early: The forum has no topic 4713" in text
    assert "4711 (The forum has no topic 4711" in text and "4712 (" in text
    assert len(forum.seen("/t/*.json")) == 3


# -- /import file -----------------------------------------------------------------------------------


def sample_file(path: str) -> bytes:
    return (SAMPLE / path).read_bytes()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def upload(world, name, data, member=None, **options):
    return await (member or world.admin).slash(world.general, "import file", file=(name, data), **options)


async def test_a_topic_file(world):
    r = await upload(world, "4711.json", sample_file("t/4711.json"))
    title, text = report(r)
    assert title == "Import finished" and "Episodes: 1 created" in text and "Contributions: 5 added" in text
    assert r.response.embeds[0].footer.text == "From `4711.json`"
    assert [t.name[:7] for t in world.forum.threads] == [SEED]
    # The same file again: nothing changes.
    _, text = report(await upload(world, "4711.json", sample_file("t/4711.json")))
    assert "Episodes: 0 created, 0 updated, 1 unchanged." in text


async def test_a_zip_of_topics_as_the_forum_serves_them(world, forum):
    data = zipped(
        {
            "forum/t/4711.json": sample_file("t/4711.json"),
            "forum/t/4712.json": sample_file("t/4712.json"),
            "forum/t/4712/posts.json": sample_file("t/4712/posts.json"),
            "forum/t/4713.json": json.dumps(forum.topic_json(4713)).encode(),
        }
    )
    title, text = report(await upload(world, "old-forum.zip", data, dry_run=True))
    assert title == "Dry run: nothing was changed" and world.forum.threads == []
    _, text = report(await upload(world, "old-forum.zip", data))
    assert "Episodes: 3 created" in text and "Contributions: 28 added" in text
    assert len(world.forum.threads) == 2


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.txt", b"Krupskaya, not Krupska", "isn't JSON"),
        ("5.json", sample_file("c/episode-research/5.json"), "a category's list of topics"),
        ("page.json", b'{"users": []}', "isn't a Discourse topic"),
        ("empty.json", b"", "is empty"),
        ("broken.zip", b"PK\x03\x04 not really a zip", "isn't a readable .zip"),
    ],
)
async def test_a_file_that_isnt_a_topic(world, name, data, expected):
    r = await upload(world, name, data)
    assert expected in answer(r) and not r.response.embeds
    r = await world.alice.slash(world.general, "episode list")
    assert SEED not in str(r.response.embeds[0].to_dict())


async def test_an_oversized_file_is_refused_before_it_is_downloaded(world, monkeypatch):
    monkeypatch.setattr(import_cog, "MAX_UPLOAD", 20_000)  # the seed topic's file is 22 KB
    r = await upload(world, "4711.json", sample_file("t/4711.json"))
    assert answer(r).startswith("`4711.json` is 22 KiB; I read files up to 20 KiB. Split the topics")
    assert not r.response.embeds and world.forum.threads == []


# -- who may ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("import discourse", {"url": "http://127.0.0.1:9", "category": "episode-research"}),
        ("import file", {"file": ("4711.json", b"{}")}),
        ("import authors", {}),
        ("import link", {"forum_name": "Ardent", "member": None}),
    ],
)
async def test_only_admins_import(world, command, options):
    """Even where a server lets everyone see `/import` (integration settings), the bot refuses."""
    group = next(c for c in await world.bot.tree.fetch_commands() if c.name == "import")
    world.guild.set_command_permissions(group, {world.alice: True, world.host: True})
    options = {k: (world.bob if v is None else v) for k, v in options.items()}
    for member in (world.alice, world.host):
        r = await member.slash(world.general, command, **options)
        assert answer(r) == "Only members with the Manage Server permission can import the old forum."


async def test_the_import_group_is_for_servers_with_manage_server_by_default(world):
    commands = {c.name: c for c in world.bot.tree.get_commands()}
    group = commands["import"]
    assert group.guild_only and group.default_permissions == discord.Permissions(manage_guild=True)
    assert {c.name for c in group.commands} == {"discourse", "file", "authors", "link"}


async def test_help_lists_the_import_for_admins_only(world):
    body = "\n".join(
        f.value for f in (await world.admin.slash(world.general, "help")).response.embeds[0].fields
    )
    assert "/import discourse" in body and "/import link" in body
    for member in (world.alice, world.host):
        body = str((await member.slash(world.general, "help")).response.embeds[0].to_dict())
        assert "/import" not in body


# -- forum names ------------------------------------------------------------------------------------


async def test_authors_lists_the_names_waiting_for_a_link(world, forum):
    r = await world.admin.slash(world.general, "import authors")
    assert r.response.ephemeral and "Every imported forum name is linked" in r.response.embeds[0].description
    await import_category(world, forum)
    embed = (await world.admin.slash(world.general, "import authors")).response.embeds[0]
    assert embed.title == "Forum names waiting for a link (3)"
    lines = embed.description.splitlines()
    assert "/import link" in lines[0]
    assert lines[1:] == ["**Mirna** — 9", "**Ardent** — 6", "**TobiasH** — 4"]


async def test_many_names_are_paged(world, forum):
    posts = [{"raw": f"Note {n} on the Dawes plan", "username": f"reader{n:02}"} for n in range(45)]
    forum.add_topic(5100, "1924 08 The Dawes Plan", "Status: In Research", posts)
    await import_category(world, forum)
    r = await world.admin.slash(world.general, "import authors")
    embed = r.response.embeds[0]
    assert embed.title == "Forum names waiting for a link (48)" and embed.footer.text == "Page 1 of 3"
    page = await world.admin.click(r.response.message, label="Next")
    assert "reader" in page.response.embeds[0].description


async def test_linking_a_name_makes_its_research_the_members(world, forum):
    await import_category(world, forum)
    ardent = world.guild.add_member(world.env.create_user("ardent_k"))
    r = await world.admin.slash(world.general, "import link", forum_name="Ardent", member=ardent)
    assert answer(r) == (
        f"Linked forum name **Ardent** to <@{ardent.id}>: 6 contributions and 0 authorships in 2 episodes "
        "are now theirs, everywhere (lists, search, exports, credits, cards)."
    )
    assert pinged([x for x in world.env.http_requests if x.path.endswith("/messages/@original")]) == []
    r = await world.alice.slash(world.general, "research list", episode=SEED, contributor=ardent)
    assert "One thing that the current post is missing" in r.response.embeds[0].description
    card = world.thread_of(SEED).history()[0].embeds[0]
    assert f"<@{ardent.id}>" in str(card.to_dict())
    names = (await world.admin.slash(world.general, "import authors")).response.embeds[0].description
    assert "Ardent" not in names and "Mirna" in names
    # Again: nothing changes.
    r = await world.admin.slash(world.general, "import link", forum_name="ardent", member=ardent)
    assert answer(r) == f"Forum name **Ardent** is already linked to <@{ardent.id}>; nothing changed."


async def test_an_author_name_linked_brings_the_authorship(world, forum):
    await import_category(world, forum)
    mirna = world.guild.add_member(world.env.create_user("mirna.k"))
    r = await world.admin.slash(world.general, "import link", forum_name="Mirna", member=mirna)
    assert "contributions and" in answer(r)
    r = await world.admin.slash(world.general, "import link", forum_name="TobiasH", member=world.alice)
    assert "4 contributions" in answer(r)


async def test_link_refusals(world, forum):
    await import_category(world, forum)
    r = await world.admin.slash(world.general, "import link", forum_name="Lenin", member=world.bob)
    assert "No forum name `Lenin`" in answer(r) and "/import authors" in answer(r)
    robot = world.guild.add_member(world.env.create_user("another-bot", bot=True))
    r = await world.admin.slash(world.general, "import link", forum_name="Ardent", member=robot)
    assert "is a bot" in answer(r)
    await world.admin.slash(world.general, "import link", forum_name="Ardent", member=world.bob)
    r = await world.admin.slash(world.general, "import link", forum_name="Ardent", member=world.host)
    assert "already linked" in answer(r) and f"<@{world.bob.id}>" in answer(r)
    r = await world.alice.slash(world.general, "research list", episode=SEED, contributor=world.bob)
    assert "One thing that the current post is missing" in r.response.embeds[0].description


async def test_forum_names_autocomplete_for_admins(world, forum):
    await import_category(world, forum)
    names = await world.admin.autocomplete(world.general, "import link", "forum_name", "")
    assert [c["value"] for c in names][:3] == ["Ardent", "Mirna", "TobiasH"]
    assert {"Veles", "Spartacus", "Indy"} <= {c["value"] for c in names}
    names = await world.admin.autocomplete(world.general, "import link", "forum_name", "mi")
    assert [c["value"] for c in names] == ["Mirna"]
    group = next(c for c in await world.bot.tree.fetch_commands() if c.name == "import")
    world.guild.set_command_permissions(group, {world.alice: True})
    assert await world.alice.autocomplete(world.general, "import link", "forum_name", "") == []


async def test_the_report_comes_by_dm_when_the_reply_cant_be_edited_any_more(world, forum):
    """Discord takes edits of a command's reply for 15 minutes; a longer import sends its report by DM."""
    world.env.inject_error(
        "PATCH", "/webhooks/*/messages/@original", status=401, code=50027, message="Invalid Webhook Token"
    )
    r = await run(world, url=forum.url, category="episode-research")
    assert not r.response.embeds and len(world.forum.threads) == 2  # the import went on
    (dm,) = world.admin.user.dm_channel.history()
    assert dm.content == "Your forum import has finished."
    assert "Episodes: 3 created" in dm.embeds[0].description
    remembered = await dm_store.get(world.bot.services.db, world.admin.id)
    assert remembered is not None and remembered.channel_id == dm.channel.id  # the next DM opens nothing


async def test_an_import_needs_the_research_forum_but_a_dry_run_does_not(simcord_env, forum):
    guild = simcord_env.create_guild("New Server")
    general = guild.create_text_channel("general")
    admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    admin = guild.add_member(simcord_env.create_user("owner"), roles=[admin_role])
    r = await admin.slash(general, "import discourse", url=forum.url, category="episode-research")
    assert "/config channels" in answer(r) and not r.response.embeds
    r = await admin.slash(general, "import discourse", url=forum.url, topic="4711", dry_run=True)
    assert r.response.embeds[0].title == "Dry run: nothing was changed"
