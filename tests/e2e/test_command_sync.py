"""Where the slash commands are registered: with DISCORD_GUILD_ID in that server only, each command once
(a global copy left by an earlier start removed, once); without it globally only (a server copy left by
guild mode removed)."""

from __future__ import annotations

import discord
import pytest
import simcord


def offered(world, member) -> list[str]:
    """The slash commands a member is offered in #general (a name twice = listed twice in Discord)."""
    commands = world.env.backend.visible_commands(user_id=member.id, channel_id=world.general.id)
    return sorted(command["name"] for command in commands)


def each_once(world) -> None:
    """Every member is offered each command they may use once; the admin, every slash command."""
    for member in (world.alice, world.admin):
        assert len(offered(world, member)) == len(set(offered(world, member))), member
    assert offered(world, world.admin) == slash_names(world)


def scopes(world) -> dict[str, list[str]]:
    """The commands registered with Discord: globally and in the server."""
    backend = world.env.backend
    return {
        "global": sorted(c["name"] for c in backend.commands.get(None, {}).values()),
        "server": sorted(c["name"] for c in backend.commands.get(world.guild.id, {}).values()),
    }


def command_puts(world) -> list[str]:
    return [r.path for r in world.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]


def names(world) -> list[str]:
    """Every command's name: slash commands and the message menu."""
    return sorted(command.name for command in world.bot.tree.get_commands())


def slash_names(world) -> list[str]:
    return sorted(c.name for c in world.bot.tree.get_commands(type=discord.AppCommandType.chat_input))


async def guild_mode(monkeypatch, world, restart, *, fresh_database=None):
    monkeypatch.setenv("DISCORD_GUILD_ID", str(world.guild.id))
    if fresh_database is not None:
        monkeypatch.setenv("DATABASE_PATH", str(fresh_database))
    await restart()


async def test_without_a_server_id_commands_are_global_once(world):
    assert scopes(world) == {"global": names(world), "server": []}
    each_once(world)


async def test_a_server_id_moves_the_commands_into_the_server_and_removes_the_global_copy(
    world, restart, monkeypatch
):
    assert scopes(world)["global"]  # an earlier start registered them globally
    await guild_mode(monkeypatch, world, restart)
    assert scopes(world) == {"global": [], "server": names(world)}
    each_once(world)  # not a global and a server copy
    r = await world.alice.slash(
        world.general, "remind me", when="in 2 hours", text="read Krupskaya's memoirs"
    )
    assert "I'll remind you" in r.response.content  # the server copy answers
    with pytest.raises(simcord.SetupError):  # /remind in a DM needs the global copy: not there
        await world.alice.user.slash("remind me", when="in 2 hours", text="light a candle for Veles")
    before = command_puts(world)
    await restart()  # an ordinary start: nothing registered again, the global scope left alone
    assert command_puts(world) == before
    assert scopes(world) == {"global": [], "server": names(world)}


async def test_a_first_start_with_a_server_id_removes_a_global_copy_it_cannot_know_about(
    world, restart, monkeypatch, tmp_path
):
    """A new database (nothing remembered) in front of an application that has global commands, e.g.
    from the README's earlier advice, which registered both copies."""
    await guild_mode(monkeypatch, world, restart, fresh_database=tmp_path / "new.sqlite3")
    app = world.bot.application_id
    assert command_puts(world)[-2:] == [
        f"/applications/{app}/guilds/{world.guild.id}/commands",
        f"/applications/{app}/commands",
    ]
    assert scopes(world) == {"global": [], "server": names(world)}
    each_once(world)


async def test_removing_the_server_id_brings_the_commands_back_globally_once(world, restart, monkeypatch):
    await guild_mode(monkeypatch, world, restart)
    monkeypatch.delenv("DISCORD_GUILD_ID")
    await restart()
    assert scopes(world) == {"global": names(world), "server": []}
    each_once(world)
    r = await world.alice.user.slash("remind me", when="in 2 hours", text="light a candle for Veles")
    assert "I'll remind you" in r.response.content  # DMs have /remind again
