"""When Archivist joins a server it posts its set-up steps: in the server's system channel when it may
post there, else by DM to the owner. A server it joins again (after being removed) gets a "welcome back"
that points to `/config check`; a server merely coming back after an outage gets nothing.

How the join is simulated: simcord adds the bot to every guild it creates, and announces the guild with
`unavailable: false`, which discord.py reads as "available again after an outage" (`on_guild_available`).
Discord announces a join with the same GUILD_CREATE event without that field, which discord.py turns
into `on_guild_join`. So a test builds the server (channels, system channel), then sends the bot the
GUILD_CREATE Discord sends when someone adds it."""

from __future__ import annotations

import discord
from simcord.backend import serializers
from simcord.backend.models import Overwrite
from simcord.enums import OverwriteType

from tests.conftest import build_world

ORDER = ["/config channels", "/config roles", "/config timezone", "/config reminders", "/config research", "/config check"]  # fmt: skip


async def joins(env, guild) -> None:
    """The bot is added to `guild`: Discord's GUILD_CREATE for a join (no `unavailable` field)."""
    payload = dict(serializers.guild_create_payload(env.backend, env.backend.get_guild(guild.id)))
    payload.pop("unavailable", None)
    env.backend.emit("GUILD_CREATE", payload)
    await env.settle()


def new_server(env, name: str = "Spartacus Readers", *, system_channel: bool = True):
    guild = env.create_guild(name)
    channel = guild.create_text_channel("welcome")
    if system_channel:
        env.backend.edit_guild(guild.id, {"system_channel_id": channel.id})
    return guild, channel


def welcomes(channel) -> list[discord.Embed]:
    return [e for m in channel.history() for e in m.embeds if "Archivist" in (e.title or "")]


def owner_dms(guild) -> list[discord.Embed]:
    return [e for m in guild.owner.dm_channel.history() for e in m.embeds]


def in_order(text: str) -> bool:
    """The steps (after the greeting) in the README's order."""
    steps = text.split("\n\n", 1)[1]
    places = [steps.find(step) for step in ORDER]
    return -1 not in places and places == sorted(places)


async def test_a_new_server_gets_the_set_up_steps_in_its_system_channel(simcord_env):
    env = simcord_env
    guild, channel = new_server(env)
    await env.settle()
    assert welcomes(channel) == []  # simcord's own announcement of the guild is not a join
    await joins(env, guild)
    [embed] = welcomes(channel)
    assert embed.title == "Setting up Archivist"
    assert "Thanks for adding Archivist to **Spartacus Readers**" in embed.description
    assert in_order(embed.description)
    assert "Community server" in embed.description and "Manage Server" in embed.description
    assert owner_dms(guild) == []


async def test_without_a_system_channel_the_owner_gets_a_dm(simcord_env):
    env = simcord_env
    guild, channel = new_server(env, system_channel=False)
    await joins(env, guild)
    assert welcomes(channel) == []
    [embed] = owner_dms(guild)
    assert embed.description.startswith("I couldn't post in the server's system channel")
    assert in_order(embed.description)


async def test_a_system_channel_the_bot_cannot_post_in_means_a_dm(simcord_env):
    env = simcord_env
    guild = env.create_guild("Indy's Archive")
    channel = guild.create_text_channel("welcome")
    me = env.bot.get_guild(guild.id).me
    env.backend.set_overwrite(
        channel.id,
        Overwrite(
            target_id=me.id,
            type=OverwriteType.MEMBER,
            allow=0,
            deny=discord.Permissions(send_messages=True).value,
        ),
    )
    env.backend.edit_guild(guild.id, {"system_channel_id": channel.id})
    await joins(env, guild)
    assert welcomes(channel) == []
    assert len(owner_dms(guild)) == 1


async def test_a_refused_system_channel_post_falls_back_to_the_owner(simcord_env):
    env = simcord_env
    guild, channel = new_server(env)
    env.inject_error("POST", f"/channels/{channel.id}/messages", status=500, times=1)
    await joins(env, guild)
    assert welcomes(channel) == []
    assert len(owner_dms(guild)) == 1


async def test_nowhere_to_post_is_logged_not_raised(simcord_env):
    env = simcord_env
    guild, channel = new_server(env, system_channel=False)
    env.inject_error("POST", "/channels/*/messages", status=403, code=50007, times=None)
    await joins(env, guild)
    assert owner_dms(guild) == [] and welcomes(channel) == []
    assert env.errors == []


async def test_joining_again_is_a_welcome_back_even_after_a_restart(simcord_env, restart):
    env = simcord_env
    guild, channel = new_server(env)
    await joins(env, guild)
    await restart()
    await joins(env, guild)
    first, again = welcomes(channel)
    assert first.title == "Setting up Archivist"
    assert again.title == "Welcome back to Archivist"
    assert "still here" in again.description and "`/config check`" in again.description
    assert in_order(again.description)


async def test_a_server_already_set_up_is_welcomed_back(world):
    world.env.backend.edit_guild(world.guild.id, {"system_channel_id": world.general.id})
    await joins(world.env, world.guild)
    [embed] = welcomes(world.general)
    assert embed.title == "Welcome back to Archivist"


async def test_other_servers_are_not_welcomed_when_one_joins(simcord_env):
    env = simcord_env
    world = await build_world(env)
    guild, channel = new_server(env)
    await joins(env, guild)
    assert len(welcomes(channel)) == 1
    assert [m for m in world.general.history() if m.embeds] == []
