"""Discord's limits never break an episode's card, its review messages or its lists: every text is cut
visibly ("… and N more"), a refusal that can never succeed is not retried forever, and every list pages
through all of its items."""

from __future__ import annotations

import logging

import discord

from bot.core import jobs as job_store
from cogs.episodes import authors_store
from cogs.episodes import store as episode_store
from tests.e2e.test_assignments import CODE, card, field, tags


def fits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= 4096
    for f in embed.fields:
        assert len(f.name) <= 256 and len(f.value) <= 1024, (f.name, len(f.value))
    assert len(embed) <= 6000


async def add_authors(world, n: int) -> list[int]:
    """n members, each added as an author through the storage layer (as a long history would leave it)."""
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    ids = []
    for i in range(n):
        member = world.guild.add_member(world.env.create_user(f"author{i:02d}"))
        await authors_store.add_author(world.bot.services.db, episode.id, member.id, world.host.id)
        ids.append(member.id)
    return ids


async def test_card_with_45_authors_fits_and_keeps_following(world):
    await world.episode(CODE)
    await add_authors(world, 45)
    r = await world.host.slash(world.general, "episode status", episode=CODE, status="writing")
    assert "now **Writing**" in r.response.content
    assert not r.followups  # nothing waits: Discord took the card
    embed = card(world)
    fits(embed)
    authors = field(embed, "Authors")
    assert authors.endswith("more")
    shown = authors.count("<@")
    assert f"… and {45 - shown} more" in authors
    assert field(embed, "Status") == "Writing"
    assert tags(world) == {"Writing"}

    info = await world.alice.slash(world.general, "episode info", episode=CODE)
    assert info.response.embeds, info.response.content
    fits(info.response.embeds[0])


async def test_long_description_on_the_card_is_cut_visibly(world):
    await world.episode(CODE)
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    # An old row (or an import) may hold more than the command allows today.
    await world.bot.services.db.execute(
        "UPDATE episodes SET description = ? WHERE id = ?", ("word " * 1500, episode.id)
    )
    await add_authors(world, 60)
    await world.host.slash(world.general, "episode status", episode=CODE, status="writing")
    embed = card(world)
    fits(embed)
    assert embed.description.endswith("…")
    assert field(embed, "Status") == "Writing"


async def test_a_permanent_refusal_of_the_card_is_not_retried_forever(world, caplog):
    thread = await world.episode(CODE)
    world.env.inject_error(
        "PATCH",
        f"/channels/{thread.id}/messages/*",
        status=400,
        code=50035,
        message="Invalid Form Body",
        times=None,
    )
    with caplog.at_level(logging.INFO):
        await world.host.slash(world.general, "episode status", episode=CODE, status="writing")
        await world.env.advance_time(2 * 3600)
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    assert episode.status.label == "Writing"  # the database stays right
    assert tags(world) == {"Writing", "Needs Author"}  # tags follow even when the card can't
    assert await job_store.pending(world.bot.services.db, "card_sync") == []
    tries = [e for e in world.env.http_requests if e.method == "PATCH" and "/messages/" in e.path
             and str(thread.id) in e.path]  # fmt: skip
    assert len(tries) <= 2
    world.env.errors.clear()


async def walk(member, first) -> list[discord.Embed]:
    """Every page of a pager answer, clicking Next until it is disabled."""
    pages = [first.response.embeds[0]]
    message = first.response
    while True:
        buttons = (
            {c["label"]: c for row in message.components for c in row["components"]}
            if isinstance(message.components[0] if message.components else {}, dict)
            else {c.label: c for row in message.components for c in row.children}
        )
        nxt = buttons.get("Next")
        if nxt is None or (nxt["disabled"] if isinstance(nxt, dict) else nxt.disabled):
            return pages
        r = await member.click(first.response, label="Next")
        message = r.response
        pages.append(message.embeds[0])
        assert len(pages) < 50


MARKDOWN_TITLE = "*_~" * 30  # 90 characters, each escaped for the list: 180


async def test_requests_with_long_pitches_page_through_every_request(world):
    await world.episode(CODE, MARKDOWN_TITLE)
    volunteers = []
    for i in range(13):
        member = world.guild.add_member(world.env.create_user(f"volunteer{i:02d}"))
        volunteers.append(member)
        await member.slash(world.general, "episode volunteer", episode=CODE, pitch="*_" * 500)
    world.review.history()  # posted
    first = await world.host.slash(world.general, "episode requests")
    pages = await walk(world.host, first)
    for embed in pages:
        fits(embed)
        assert "(13)" in embed.title
    seen = "".join(e.description for e in pages)
    assert all(m.mention in seen for m in volunteers), [m.mention in seen for m in volunteers]
    assert sum(e.description.count("<@") for e in pages) == 13  # none shown twice


async def test_requests_with_a_warning_for_hosts_still_show_all_of_them(world):
    await world.episode(CODE, MARKDOWN_TITLE)
    locked = world.guild.create_text_channel(
        "locked", overwrites={world.guild.me: discord.PermissionOverwrite(send_messages=False)}
    )
    await world.admin.slash(world.general, "config channels", review=locked)
    volunteers = []
    for i in range(10):
        member = world.guild.add_member(world.env.create_user(f"v{i}"))
        volunteers.append(member)
        await member.slash(world.general, "episode volunteer", episode=CODE, pitch="x" * 300)
    first = await world.host.slash(world.general, "episode requests")
    pages = await walk(world.host, first)
    seen = "".join(e.description for e in pages)
    assert all(m.mention in seen for m in volunteers)
    assert all("I can't post in" in e.description for e in pages)


async def test_list_pages_turn_after_a_restart(world, restart):
    for n in range(23):
        await world.host.slash(world.general, "episode create", code=f"1924-{n:02d}", title=f"Episode {n}")
    first = await world.alice.slash(world.general, "episode list")
    assert first.response.embeds[0].footer.text == "Page 1 of 3"
    await restart()
    second = await world.alice.click(first.response, label="Next")
    embed = second.response.embeds[0]
    assert embed.footer.text == "Page 2 of 3"
    assert "1924-10" in embed.description and "1924-09" not in embed.description
    back = await world.alice.click(second.response, label="Previous")
    assert "1924-00" in back.response.embeds[0].description
    assert back.response.embeds[0].footer.text == "Page 1 of 3"


async def test_request_pages_turn_after_a_restart_for_hosts_only(world, restart):
    await world.episode(CODE)
    for i in range(12):
        member = world.guild.add_member(world.env.create_user(f"m{i}"))
        await member.slash(world.general, "episode volunteer", episode=CODE)
    first = await world.host.slash(world.general, "episode requests")
    await restart()
    world.env.backend.remove_member_role(world.guild.id, world.host.id, world.host_role.id)
    refused = await world.host.click(first.response, label="Next")
    assert "Only hosts" in refused.response.content
    world.env.backend.add_member_role(world.guild.id, world.host.id, world.host_role.id)
    second = await world.host.click(first.response, label="Next")
    assert second.response.embeds[0].footer.text == "Page 2 of 2"
    assert second.response.embeds[0].description.count("<@") == 2


async def test_a_forum_without_room_for_the_tags_is_not_retried_forever(world):
    forum = world.bot.get_channel(world.forum.id)
    await forum.edit(available_tags=[discord.ForumTag(name=f"topic {n}") for n in range(20)])
    await world.episode(CODE)
    assert tags(world) == set()  # no room for them: the post stands without
    await world.env.advance_time(6 * 3600)
    assert await job_store.pending(world.bot.services.db, "card_sync") == []
    assert field(card(world), "Status") == "In Research"


async def test_a_post_orphaned_by_a_stop_during_create_is_removed_at_the_next_start(
    world, restart, monkeypatch
):
    service = world.bot.services.episodes
    create = episode_store.create

    async def stopped(*args, **kwargs):
        raise RuntimeError("the process stopped here")

    async def nothing(thread):  # a stopped process cleans nothing up
        return False

    monkeypatch.setattr(episode_store, "create", stopped)
    monkeypatch.setattr(service.posts, "delete_quietly", nothing)
    await world.host.slash(world.general, "episode create", code=CODE, title="Lenin")
    world.env.errors.clear()
    monkeypatch.setattr(episode_store, "create", create)
    assert len(world.forum.threads) == 1  # the post exists, its episode doesn't
    await restart()
    await world.env.advance_time(5)
    assert world.forum.threads == []
    r = await world.host.slash(world.general, "episode create", code=CODE, title="Lenin")
    assert "Created" in r.response.content
    assert len(world.forum.threads) == 1
    await restart()
    await world.env.advance_time(5)
    assert len(world.forum.threads) == 1  # an episode's post is never taken for an orphan


async def test_the_status_tag_follows_even_on_a_post_with_five_other_tags(world):
    thread = await world.episode(CODE)
    forum = world.bot.get_channel(world.forum.id)
    forum = await forum.edit(
        available_tags=[*forum.available_tags, *(discord.ForumTag(name=f"era {n}") for n in range(5))]
    )
    mine = [t for t in forum.available_tags if t.name.startswith("era ")]
    await world.bot.get_channel(thread.id).edit(applied_tags=mine)  # a moderator tags the post
    await world.host.slash(world.general, "episode status", episode=CODE, status="writing")
    applied = tags(world)
    assert "Writing" in applied and len(applied) == 5
    assert "Needs Author" in applied  # the bot's tags come first; a moderator's make room
