"""Research end to end: members post, edit, delete, react, submit forms, use Add to research, and
read back lists, searches, credits and exports, through the simulator."""

from __future__ import annotations

import csv
import io
import json

import discord
import pytest
from simcord import OptionError

from cogs.episodes import store as episode_store
from tests.conftest import build_world

CODE = "1924-01"
DEATH = "Lenin died on 21 January 1924, aged 53. See https://en.wikipedia.org/wiki/Vladimir_Lenin."
RENAME = "After his death Petrograd was renamed Leningrad, the city of the revolution."
CORRECTION = "Small correction: Krupskaya, not Krupska, is the usual spelling of his widow's name."


async def export(world, member, fmt="json", code=CODE, channel=None):
    r = await member.slash(channel or world.general, "research export", episode=code, format=fmt)
    assert r.response is not None, r
    files = r.response.attachments
    assert len(files) == 1, r.response.content
    return files[0].filename, (await files[0].read()).decode("utf-8-sig")  # CSV starts with a BOM


async def dossier(world, member=None, code=CODE) -> dict:
    _, text = await export(world, member or world.bob, "json", code)
    return json.loads(text)


def texts(data: dict) -> list[str]:
    return [c["text"] for c in data["contributions"]]


def pinged(world, message) -> list[int]:
    return list(world.env.backend.get_message(message.channel.id, message.id).ping_user_ids)


def card_field(message, name: str) -> str:
    return next(f.value for f in message.embeds[0].fields if f.name == name)


# -- collection ------------------------------------------------------------------------------------


async def test_thread_posts_edits_deletions_likes_and_replies_are_kept(world):
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)
    rename = await world.alice.send(thread, RENAME)
    await world.bob.send(thread, CORRECTION, reply_to=death)
    await world.bob.react(death, "👍")
    await world.host.react(death, "❤️")
    await world.host.react(death, "👍")
    await world.bob.react(rename, "👍")
    await world.bob.unreact(rename, "👍")
    await world.alice.edit(death, DEATH + " He had been ill since 1922.")
    doomed = await world.bob.send(thread, "Oops, wrong thread")
    await world.bob.delete(doomed)

    data = await dossier(world)
    rows = data["contributions"]
    assert texts(data) == [DEATH + " He had been ill since 1922.", RENAME, CORRECTION]
    first, second, third = rows
    assert first["author"] == {"id": str(world.alice.id), "name": "veles"}
    assert first["links"] == ["https://en.wikipedia.org/wiki/Vladimir_Lenin"]
    assert first["edited_at"] is not None
    assert first["url"].endswith(f"/{thread.id}/{death.id}")
    assert first["likes"] == 2  # two members; the host's two reactions count once
    assert sorted(first["liked_by"]) == sorted([str(world.bob.id), str(world.host.id)])
    assert second["likes"] == 0  # unreacted
    assert third["reply_to"] == first["id"]
    assert third["reply_to_message_id"] == str(death.id)
    assert all(c["origin"] == "thread" for c in rows)  # the bot's starter post is not research


async def test_card_counts_update_in_one_batch(world):
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)
    await world.bob.send(thread, RENAME)
    edits_before = [r for r in world.env.http_requests if r.method == "PATCH" and "/messages/" in r.path]
    starter = thread.history()[0]
    assert card_field(starter, "Contributions") == "0"  # not edited per message
    await world.env.advance_time(35)
    starter = thread.history()[0]
    assert card_field(starter, "Contributions") == "2"
    assert f"<@{world.alice.id}>" in card_field(starter, "Contributors")
    edits_after = [r for r in world.env.http_requests if r.method == "PATCH" and "/messages/" in r.path]
    assert len(edits_after) - len(edits_before) == 1


async def test_attachments_are_kept_with_their_names(world):
    thread = await world.episode(CODE)
    await world.alice.send(thread, "", attachments=[("mausoleum.jpg", b"\xff\xd8 fake jpeg")])
    data = await dossier(world)
    (row,) = data["contributions"]
    assert row["text"] == ""
    assert row["attachments"][0]["filename"] == "mausoleum.jpg"
    assert row["attachments"][0]["url"].startswith("http")


async def test_messages_elsewhere_and_from_bots_are_not_collected(world):
    await world.episode(CODE)
    await world.alice.send(world.general, DEATH)
    data = await dossier(world)
    assert data["contributions"] == []


# -- catching up after downtime ------------------------------------------------------------------


async def test_posts_edits_and_deletions_while_offline_are_caught_up(world, restart):
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, "Lenin died in 1924.")
    doomed = await world.bob.send(thread, "Petrograd kept its name.")
    rename = await world.alice.send(thread, RENAME)

    async def offline():
        await world.alice.edit(death, DEATH)
        await world.bob.delete(doomed)
        await world.bob.send(thread, CORRECTION)
        await world.host.react(death, "👍")

    await restart(offline)
    data = await dossier(world)
    assert texts(data) == [DEATH, RENAME, CORRECTION]
    assert data["contributions"][0]["likes"] == 1
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    assert episode.last_seen_message_id == thread.history()[-1].id

    await restart()  # nothing happened meanwhile: nothing changes, nothing is duplicated
    assert texts(await dossier(world)) == [DEATH, RENAME, CORRECTION]

    # The new bot never cached these messages: edits and deletions still reach the record.
    await world.alice.edit(death, DEATH + " (edited after the restart)")
    await world.alice.delete(rename)
    assert texts(await dossier(world)) == [DEATH + " (edited after the restart)", CORRECTION]


# -- the form -------------------------------------------------------------------------------------


async def test_submit_form_stores_posts_credits_and_is_not_collected_twice(world):
    thread = await world.episode(CODE)
    shown = await world.alice.slash(world.general, "research submit", episode=CODE)
    assert shown.modal is not None
    ids = [c["custom_id"] for row in shown.modal["components"] for c in row["components"]]
    assert ids == ["title", "body", "sources"]
    r = await world.alice.submit_modal(
        shown,
        {
            "title": "The mausoleum",
            "body": "The congress decided to embalm the body and build a mausoleum. @everyone look",
            "sources": "- Service, Lenin: A Biography\n- https://example.org/mausoleum",
        },
    )
    assert r.response.ephemeral
    data = await dossier(world)
    (row,) = data["contributions"]
    assert f"#{row['id']}" in r.response.content
    assert row["origin"] == "form"
    assert row["title"] == "The mausoleum"
    assert row["sources"] == ["Service, Lenin: A Biography", "https://example.org/mausoleum"]
    post = thread.history()[-1]
    assert post.author.bot
    embed = post.embeds[0]
    assert embed.title == "The mausoleum"
    assert f"<@{world.alice.id}>" in card_field(post, "Contributed by")
    assert pinged(world, post) == []
    assert not post.mention_everyone
    assert row["url"].endswith(f"/{post.id}")
    await world.bob.react(post, "👍")  # likes on the bot's post of a form count for the form
    assert (await dossier(world))["contributions"][0]["likes"] == 1


async def test_a_submitted_form_is_answered_before_it_is_posted(world):
    """The post in the thread waits its turn behind the bot's other requests: the member's answer does not
    wait for it, and links to the post once it is made."""
    thread = await world.episode(CODE)
    shown = await world.alice.slash(world.general, "research submit", episode=CODE)
    before = len(world.env.http_requests)
    r = await world.alice.submit_modal(
        shown, {"title": "Queues", "body": "People queued for days in the frost."}
    )
    requests = world.env.http_requests[before:]
    [answer] = [
        i for i, q in enumerate(requests) if q.method == "POST" and q.path.startswith("/interactions/")
    ]
    [post] = [
        i
        for i, q in enumerate(requests)
        if q.method == "POST" and q.path == f"/channels/{thread.id}/messages"
    ]
    assert answer < post
    (row,) = (await dossier(world))["contributions"]
    saved = f"Saved as contribution **#{row['id']}** for `{CODE}`"
    assert requests[answer].json["data"]["content"] == f"{saved}; posting it in the episode's thread…"
    assert r.response.content == f"{saved} and posted in {thread.history()[-1].jump_url}."


async def test_submit_form_refusals(world):
    await world.episode(CODE)
    r = await world.alice.slash(world.general, "research submit", episode="1999-99")
    assert r.response.ephemeral
    assert "no episode" in r.response.content.lower()
    shown = await world.alice.slash(world.general, "research submit", episode=CODE)
    r = await world.alice.submit_modal(shown, {"title": "   ", "body": "text"})
    assert r.response.ephemeral
    assert "title" in r.response.content.lower()
    assert (await dossier(world))["contributions"] == []


# -- Add to research ------------------------------------------------------------------------------


async def test_add_to_research_inside_a_thread(world):
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)
    r = await world.bob.context_menu(thread, "Add to research", death)
    assert r.response.ephemeral
    assert "already" in r.response.content
    number = (await dossier(world))["contributions"][0]["id"]
    # Removed from the record, then deliberately added back: recorded once, by who added it.
    await world.alice.slash(world.general, "research remove", episode=CODE, contribution=number)
    r = await world.bob.context_menu(thread, "Add to research", death)
    assert "Added" in r.response.content
    r = await world.bob.context_menu(thread, "Add to research", death)
    assert "already" in r.response.content
    (row,) = (await dossier(world))["contributions"]
    assert row["origin"] == "menu"
    assert row["added_by"]["id"] == str(world.bob.id)
    assert row["author"]["id"] == str(world.alice.id)
    starter = thread.history()[0]
    r = await world.bob.context_menu(thread, "Add to research", starter)
    assert "own posts" in r.response.content


async def test_add_to_research_elsewhere_asks_which_episode(world):
    await world.episode(CODE)
    await world.episode("1925-01", "Locarno")
    post = await world.alice.send(world.general, RENAME)
    r = await world.bob.context_menu(world.general, "Add to research", post)
    assert r.response.ephemeral
    picked = await world.bob.select(r.response, [CODE])
    assert "Added" in picked.response.content
    (row,) = (await dossier(world))["contributions"]
    assert row["origin"] == "menu"
    assert row["url"].endswith(f"/{world.general.id}/{post.id}")
    assert row["author"]["id"] == str(world.alice.id)

    r = await world.bob.context_menu(world.general, "Add to research", post)
    shown = await world.bob.click(r.response, label="Enter a code")
    assert shown.modal is not None
    again = await world.bob.submit_modal(shown, {"code": CODE.upper()})
    assert "already" in again.response.content
    shown = await world.bob.click(r.response, label="Enter a code")
    wrong = await world.bob.submit_modal(shown, {"code": "nope"})
    assert "no episode" in wrong.response.content.lower()
    assert len((await dossier(world))["contributions"]) == 1


# -- list, export, search, credits ---------------------------------------------------------------


async def test_list_newest_first_with_contributor_filter(world):
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)
    await world.bob.send(thread, CORRECTION)
    await world.alice.send(thread, RENAME)
    r = await world.host.slash(world.general, "research list", episode=CODE)
    assert r.response.ephemeral
    text = r.response.embeds[0].description
    assert text.index("Petrograd") < text.index("Krupskaya") < text.index("Lenin died")
    assert f"<@{world.bob.id}>" in text
    assert "<t:" in text
    r = await world.host.slash(world.general, "research list", episode=CODE, contributor=world.bob.user)
    text = r.response.embeds[0].description
    assert "Krupskaya" in text and "Petrograd" not in text


async def test_list_is_paged(world):
    thread = await world.episode(CODE)
    for i in range(9):
        await world.alice.send(thread, f"Fact number {i}")
    r = await world.bob.slash(world.general, "research list", episode=CODE)
    assert "Page 1 of 2" in r.response.embeds[0].footer.text
    nxt = await world.bob.click(r.response, label="Next")
    assert "Fact number 0" in nxt.response.embeds[0].description


async def test_export_formats_parse_back(world):
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)
    await world.bob.send(thread, CORRECTION, reply_to=death)
    await world.bob.send(thread, "Same page again: https://en.wikipedia.org/wiki/Vladimir_Lenin/")
    await world.host.react(death, "👍")

    name, md = await export(world, world.bob, "markdown")
    assert name == f"{CODE}-research.md"
    for section in (
        "# 1924-01",
        "## Contributions",
        "## Bibliography",
        "## Credits",
        "**Status:** In Research",
    ):
        assert section in md
    assert md.count("en.wikipedia.org/wiki/Vladimir_Lenin") == 3  # two posts, one bibliography entry
    assert "**veles**" in md and str(world.alice.id) not in md  # plain names, no ids or mentions
    assert "· 1 like" in md

    name, text = await export(world, world.bob, "json")
    assert name == f"{CODE}-research.json"
    data = json.loads(text)
    assert data["episode"]["code"] == CODE
    assert [c["id"] for c in data["contributions"]] == sorted(c["id"] for c in data["contributions"])
    assert [(s["link"], s["cited_by"]) for s in data["bibliography"]] == [
        ("https://en.wikipedia.org/wiki/Vladimir_Lenin", [1, 3])
    ]
    assert [c["name"] for c in data["credits"]] == ["spartacus", "veles"]

    name, text = await export(world, world.bob, "csv")
    assert name == f"{CODE}-research.csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["text"] for r in rows] == texts(data)
    assert rows[0]["likes"] == "1"
    assert rows[1]["reply_to"] == str(data["contributions"][0]["id"])


async def test_export_of_an_unknown_episode_is_refused(world):
    r = await world.bob.slash(world.general, "research export", episode="nope")
    assert r.response.ephemeral
    assert "no episode" in r.response.content.lower()
    assert not r.response.attachments


HOSTILE = [
    '"',
    "AND OR",
    "*",
    "NEAR(",
    "Krupskaya) OR (",
    "col:umn",
    "Dzierżyński",
    "Ленин",
    "🙂 Lenin 🙂",
    "'; DROP TABLE contributions; --",
]


async def test_search_takes_any_text(world):
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)
    await world.bob.send(thread, CORRECTION)
    await world.alice.send(thread, "Feliks Dzierżyński (Дзержинский) led the Cheka; Ленин trusted him.")
    r = await world.host.slash(world.general, "research search", query="krupskaya")
    assert r.response.ephemeral
    body = r.response.embeds[0].description
    assert "**Krupskaya**" in body and f"<@{world.bob.id}>" in body
    for query in HOSTILE:
        r = await world.host.slash(world.general, "research search", query=query)
        assert r.response.ephemeral, query
        assert r.response.embeds or r.response.content, query
    r = await world.host.slash(world.general, "research search", query="Ленин")
    assert "Cheka" in r.response.embeds[0].description
    r = await world.host.slash(world.general, "research search", query="dzierzynski")
    assert "Cheka" in r.response.embeds[0].description
    r = await world.host.slash(world.general, "research search", query="🙂 🎉")
    assert "nothing to search" in r.response.content.lower()
    r = await world.host.slash(world.general, "research search", query='"Lenin died"')
    assert "Lenin" in r.response.embeds[0].description
    r = await world.host.slash(world.general, "research search", query="Petrograd OR Krupsk*")
    assert "Krupskaya" in r.response.embeds[0].description


async def test_search_is_limited_to_the_server_and_the_episode(world):
    thread = await world.episode(CODE)
    other = await world.episode("1925-01", "Locarno")
    await world.alice.send(thread, DEATH)
    await world.alice.send(other, "Lenin was already dead when Locarno was signed.")
    r = await world.host.slash(world.general, "research search", query="Lenin", episode="1925-01")
    body = r.response.embeds[0].description
    assert "Locarno" in body and "1924-01" not in body

    elsewhere = await build_world(world.env, name="Other Server")
    r = await elsewhere.host.slash(elsewhere.general, "research search", query="Lenin")
    assert "Nothing matches" in r.response.embeds[0].description
    r = await elsewhere.host.slash(elsewhere.general, "research export", episode=CODE)
    assert "no episode" in r.response.content.lower()


async def test_credits_lists_names_and_mentions_without_pinging(world):
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)
    await world.alice.send(thread, RENAME)
    await world.bob.send(thread, CORRECTION)
    r = await world.host.slash(world.general, "research credits", episode=CODE)
    assert r.response.ephemeral
    assert r.response.content == (
        "```\nResearch: veles, spartacus\n\nSources:\n- https://en.wikipedia.org/wiki/Vladimir_Lenin\n```"
    )
    assert f"<@{world.alice.id}>" in r.response.embeds[0].description
    assert pinged(world, r.response.message) == []
    r = await world.host.slash(world.general, "research credits", episode="1924-01")
    assert r.response.content.startswith("```")
    await world.episode("1925-01", "Locarno")
    r = await world.host.slash(world.general, "research credits", episode="1925-01")
    assert "no contributions" in r.response.content


# -- thank-you ------------------------------------------------------------------------------------


async def test_single_thank_you_pings_every_contributor_once(world):
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)
    await world.alice.send(thread, RENAME)
    await world.bob.send(thread, CORRECTION)
    r = await world.host.slash(world.general, "episode status", episode=CODE, status="recorded")
    assert "Recorded" in r.response.content
    thanks = [m for m in thread.history() if m.author.bot and "Thank you" in m.content]
    assert len(thanks) == 1
    message = thanks[0]
    assert message.content.count(f"<@{world.alice.id}>") == 1
    assert message.content.count(f"<@{world.bob.id}>") == 1
    assert sorted(pinged(world, message)) == sorted([world.alice.id, world.bob.id])
    await world.host.slash(world.general, "episode status", episode=CODE, status="published")
    thanks = [m for m in thread.history() if m.author.bot and "Thank you" in m.content]
    assert len(thanks) == 1


async def test_thank_you_is_retried_when_discord_refuses(world):
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=2)
    await world.host.slash(world.general, "episode status", episode=CODE, status="recorded")
    assert not [m for m in thread.history() if "Thank you" in m.content]
    await world.env.advance_time(65)
    thanks = [m for m in thread.history() if "Thank you" in m.content]
    assert len(thanks) == 1
    assert pinged(world, thanks[0]) == [world.alice.id]
    await world.env.advance_time(300)
    assert len([m for m in thread.history() if "Thank you" in m.content]) == 1


# -- removal --------------------------------------------------------------------------------------


async def test_remove_permissions_and_history(world, restart):
    thread = await world.episode(CODE)
    await world.episode("1925-01", "Locarno")
    await world.alice.send(thread, DEATH)
    await world.bob.send(thread, CORRECTION)
    alice_no, bob_no = (c["id"] for c in (await dossier(world))["contributions"])

    r = await world.bob.slash(world.general, "research remove", episode=CODE, contribution=alice_no)
    assert r.response.ephemeral and "Only the contributor and hosts" in r.response.content
    r = await world.bob.slash(world.general, "research remove", episode="1925-01", contribution=bob_no)
    assert "no contribution" in r.response.content.lower()
    r = await world.bob.slash(world.general, "research remove", episode=CODE, contribution=999999)
    assert "no contribution" in r.response.content.lower()

    r = await world.bob.slash(world.general, "research remove", episode=CODE, contribution=bob_no)
    assert r.response.ephemeral and f"#{bob_no}" in r.response.content
    r = await world.host.slash(world.general, "research remove", episode=CODE, contribution=alice_no)
    assert f"#{alice_no}" in r.response.content
    assert (await dossier(world))["contributions"] == []
    notes = [m for m in thread.history() if m.author.bot and "removed contribution" in m.content]
    assert len(notes) == 2 and all(pinged(world, m) == [] for m in notes)

    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    events = [
        e
        for e in await episode_store.history(world.bot.services.db, episode.id)
        if e.kind == "contribution_removed"
    ]
    assert [(e.actor_id, e.subject_id, e.from_value) for e in events] == [
        (world.bob.id, world.bob.id, str(bob_no)),
        (world.host.id, world.alice.id, str(alice_no)),
    ]
    await restart()  # catching up does not bring removed messages back
    assert (await dossier(world))["contributions"] == []


@pytest.mark.parametrize("number", [0, -3])
async def test_remove_rejects_numbers_out_of_range(world, number):
    await world.episode(CODE)
    with pytest.raises(OptionError, match="≥ 1"):  # Discord's client refuses it before the bot sees it
        await world.alice.slash(world.general, "research remove", episode=CODE, contribution=number)


async def test_remove_autocompletes_numbers(world):
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)
    choices = await world.alice.autocomplete(
        world.general, "research remove", "contribution", "", episode=CODE
    )
    assert len(choices) == 1 and choices[0]["name"].startswith("#")
    assert isinstance(choices[0]["value"], int)

    for i in range(30):
        await world.bob.send(thread, f"Bob's note {i} on the funeral queues")
    choices = await world.alice.autocomplete(
        world.general, "research remove", "contribution", "", episode=CODE
    )
    assert len(choices) == 25
    own, *others = [c["value"] for c in choices]
    assert own < min(others)  # her own (older) contribution first, then the newest
    assert others == sorted(others, reverse=True)
    typed = str(own)[:-1]
    choices = await world.alice.autocomplete(
        world.general, "research remove", "contribution", typed, episode=CODE
    )
    assert choices and all(str(c["value"]).startswith(typed) for c in choices)
    assert (
        await world.alice.autocomplete(world.general, "research remove", "contribution", "abc", episode=CODE)
        == []
    )


async def test_menu_is_a_message_command(world):
    cmd = world.bot.tree.get_command("Add to research", type=discord.AppCommandType.message)
    assert cmd is not None


async def test_bulk_deletion_by_a_moderator_removes_the_contributions(world):
    thread = await world.episode(CODE)
    keep = await world.alice.send(thread, DEATH)
    spam = [await world.bob.send(thread, f"spam {i}") for i in range(2)]
    await world.bot.get_channel(thread.id).delete_messages([discord.Object(m.id) for m in spam])
    await world.env.settle()
    assert texts(await dossier(world)) == [keep.content]


async def test_no_thank_you_without_contributors_until_there_are_some(world):
    thread = await world.episode(CODE)
    await world.host.slash(world.general, "episode status", episode=CODE, status="recorded")
    assert not [m for m in thread.history() if "Thank you" in m.content]
    await world.alice.send(thread, DEATH)
    await world.host.slash(world.general, "episode status", episode=CODE, status="published")
    thanks = [m for m in thread.history() if "Thank you" in m.content]
    assert len(thanks) == 1 and pinged(world, thanks[0]) == [world.alice.id]
    assert "published" in thanks[0].content
