"""Episodes end to end: members and hosts acting through the simulator."""

from __future__ import annotations

import discord


def card(message) -> discord.Embed:
    return message.embeds[0]


def field(embed: discord.Embed, name: str) -> str:
    return next(f.value for f in embed.fields if f.name == name)


async def starter(world, code):
    thread = world.thread_of(code)
    return thread.history()[0]


async def test_host_creates_episode_with_post_card_and_tags(world):
    r = await world.host.slash(
        world.general,
        "episode create",
        code="1924-01",
        title="Lenin's Death",
        description="The *succession* fight",
    )
    assert r.response.ephemeral
    assert "1924-01" in r.response.content
    thread = world.thread_of("1924-01")
    assert thread.name == "1924-01 Lenin's Death"
    first = await starter(world, "1924-01")
    assert "research" in first.content.lower()
    embed = card(first)
    assert field(embed, "Status") == "In Research"
    assert "Needs an author" in field(embed, "Authors")
    assert embed.description == "The *succession* fight"
    tags = {t.name for t in world.bot.get_channel(thread.id).applied_tags}
    assert tags == {"In Research", "Needs Author"}
    forum_tags = {t.name for t in world.bot.get_channel(world.forum.id).available_tags}
    assert {"In Research", "Writing", "Recorded", "Published", "Shelved", "Needs Author"} <= forum_tags
