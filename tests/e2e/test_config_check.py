"""`/config check` finds what keeps Archivist from working — each permission it needs, taken away in a
configured channel or from its role, the Community requirement, its intents, settings not made yet — and
says how to fix it; `/config channels` warns at once about a channel the bot can't work in."""

from __future__ import annotations

import discord
import pytest
from simcord.backend import serializers
from simcord.backend.models import Overwrite
from simcord.enums import OverwriteType

from cogs.config import store as settings_store
from cogs.config.check import FORUM_NEEDS, TEXT_NEEDS, check_server


@pytest.fixture
def community(world, monkeypatch):
    """Make the world's server a Community server. simcord always sends `features: []`; the payload is
    completed the way Discord sends it, and announced as Discord does (a GUILD_UPDATE)."""
    real = serializers.guild_create_payload

    def with_features(backend, guild):
        payload = real(backend, guild)
        if guild.id == world.guild.id:
            payload = {**payload, "features": ["COMMUNITY", "NEWS"]}
        return payload

    monkeypatch.setattr(serializers, "guild_create_payload", with_features)
    world.env.backend.edit_guild(world.guild.id, {})
    assert "COMMUNITY" in world.bot.get_guild(world.guild.id).features
    return world


async def check(world, member=None):
    r = await (member or world.admin).slash(world.general, "config check")
    assert r.response.ephemeral
    [embed] = r.response.embeds
    return embed


def problems(embed) -> dict[str, str]:
    return {f.name: f.value for f in embed.fields if f.name.startswith("❌")}


def deny(world, channel, permission: str) -> None:
    """A moderator's overwrite on `channel` that takes `permission` away from the bot."""
    world.env.backend.set_overwrite(
        channel.id,
        Overwrite(
            target_id=world.env.backend.bot_user.id,
            type=OverwriteType.MEMBER,
            allow=0,
            deny=discord.Permissions(**{permission: True}).value,
        ),
    )


async def test_all_is_well_when_everything_is_granted(community):
    embed = await check(community)
    assert embed.description.startswith("✅ All is well")
    assert problems(embed) == {}
    notes = {f.name: f.value for f in embed.fields}
    assert "Message Content Intent" in notes["Message content"]


async def test_members_without_manage_server_are_refused(world):
    commands = await world.bot.tree.fetch_commands()
    config = next(c for c in commands if c.name == "config")
    world.guild.set_command_permissions(config, {world.host: True})
    r = await world.host.slash(world.general, "config check")
    assert r.response.ephemeral and "Manage Server" in r.response.content
    assert not r.response.embeds


@pytest.mark.parametrize("permission", list(FORUM_NEEDS))
async def test_each_forum_permission_taken_away_is_named(community, permission):
    world = community
    deny(world, world.forum, permission)
    found = problems(await check(world))
    [(title, text)] = found.items()
    assert title == "❌ #episode-research (research forum)"
    assert f"**{FORUM_NEEDS[permission]}**" in text
    assert "Edit Channel (#episode-research) → Permissions" in text


@pytest.mark.parametrize("channel", ["review", "announcements"])
@pytest.mark.parametrize("permission", list(TEXT_NEEDS))
async def test_each_channel_permission_taken_away_is_named(community, channel, permission):
    world = community
    target = getattr(world, channel)
    deny(world, target, permission)
    found = problems(await check(world))
    [(title, text)] = found.items()
    assert title.startswith(f"❌ #{target.name} (")
    assert f"**{TEXT_NEEDS[permission]}**" in text


async def test_a_private_channel_the_bot_was_not_let_into_is_found(community):
    world = community
    hidden = world.guild.create_text_channel(
        "hosts-only",
        overwrites={
            world.guild.default_role: discord.PermissionOverwrite(view_channel=False),
            world.admin: discord.PermissionOverwrite(view_channel=True),
        },
    )
    await world.admin.slash(world.general, "config channels", review=hidden)
    text = problems(await check(world))["❌ #hosts-only (review channel)"]
    assert "I can't see this channel (**View Channel**)" in text


async def test_a_permission_taken_from_the_bot_s_role_is_fixed_in_the_server_settings(community):
    """Taken from the bot's role and from @everyone (which grants it by default) in Server Settings."""
    world = community
    guild = world.bot.get_guild(world.guild.id)
    bot_role = next(r for r in guild.me.roles if r.managed)
    for role in (bot_role, guild.default_role):
        perms = discord.Permissions(role.permissions.value)
        perms.embed_links = False
        world.env.backend.edit_role(world.guild.id, role.id, {"permissions": perms.value})
    found = problems(await check(world))
    assert len(found) == 3  # the forum, the review and the announcements channel
    for text in found.values():
        assert "**Embed Links**" in text
        assert f"Server Settings → Roles → **{bot_role.name}** → allow **Embed Links**" in text


async def test_a_server_without_community_is_named(world):
    found = problems(await check(world))
    assert "Community server" in found["❌ Server"]
    assert "Enable Community" in found["❌ Server"]


async def test_unset_and_gone_settings_are_named(world):
    other = world.env.create_guild("Veles Study Circle")
    admin_role = other.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    general = other.create_text_channel("general")
    admin = other.add_member(world.env.create_user("krupskaya"), roles=[admin_role])
    r = await admin.slash(general, "config check")
    found = problems(r.response.embeds[0])
    for name, option in [
        ("Research forum", "research_forum:"),
        ("Review channel", "review:"),
        ("Announcements channel", "announcements:"),
    ]:
        assert "Not set yet" in found[f"❌ {name}"] and f"`/config channels {option}`" in found[f"❌ {name}"]
    assert "`/config roles host:`" in found["❌ Host role"]
    # In the configured world: the announcements channel deleted, the host role too.
    world.env.backend.delete_channel(world.announcements.id)
    world.env.backend.delete_role(world.guild.id, world.host_role.id)
    found = problems(await check(world))
    assert "is gone" in found["❌ Announcements channel"]
    assert "is gone" in found["❌ Host role"]


async def test_without_message_content_the_check_says_how_to_enable_it(world):
    """The bot always asks for message content (Discord refuses it the connection otherwise), so the
    check runs here on the real simulated server with the intents a misconfigured build would have."""
    guild = world.bot.get_guild(world.guild.id)
    cfg = await settings_store.get(world.bot.services.db, guild.id)
    report = check_server(guild, cfg, discord.Intents.default())  # no message content, no members
    found = {p.what: p.fix for p in report.problems if p.where == "Intents"}
    [content] = [fix for what, fix in found.items() if "message content" in what]
    assert "Message Content Intent" in content
    assert any("Server Members Intent" in fix for fix in found.values())
    assert report.notes == []


# -- /config channels warns at once ---------------------------------------------------------------------


async def test_channels_warns_about_a_review_channel_the_bot_cannot_see(world):
    locked = world.guild.create_text_channel(
        "author-review-2", overwrites={world.guild.me: discord.PermissionOverwrite(view_channel=False)}
    )
    r = await world.admin.slash(world.general, "config channels", review=locked)
    assert r.response.ephemeral
    text = r.response.content
    assert text.startswith("Channels saved. But I can't do my work there yet:")
    assert "#author-review-2 (review channel)" in text and "**View Channel**" in text
    assert "`/config check`" in text
    r = await world.admin.slash(world.general, "config show")
    assert locked.mention in next(f.value for f in r.response.embeds[0].fields if f.name == "Review channel")


async def test_channels_warns_only_about_the_channels_being_set(world):
    deny(world, world.forum, "embed_links")
    news = world.guild.create_text_channel(
        "news", overwrites={world.guild.me: discord.PermissionOverwrite(send_messages=False)}
    )
    r = await world.admin.slash(world.general, "config channels", announcements=news)
    text = r.response.content
    assert "#news (announcements channel)" in text and "**Send Messages**" in text
    assert "without it Discord also withholds **Embed Links**" in text  # implied, not set by anyone
    assert "episode-research" not in text
    r = await world.admin.slash(world.general, "config channels", research_forum=world.forum)
    assert (
        "#episode-research (research forum)" in r.response.content and "**Embed Links**" in r.response.content
    )


async def test_channels_without_problems_just_saves(world):
    other = world.guild.create_text_channel("author-review-3")
    r = await world.admin.slash(world.general, "config channels", review=other)
    assert r.response.content == "Channels saved."
