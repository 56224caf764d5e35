"""Every cog loads, every command is described, no command names collide."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.app import COGS


async def test_every_cog_loads_and_commands_are_unique_and_described(simcord_env):
    bot = simcord_env.bot
    assert set(COGS) <= set(bot.extensions)
    names = []
    for command in bot.tree.walk_commands():
        names.append(command.qualified_name)
        assert command.description and command.description != "…", command.qualified_name
        if isinstance(command, app_commands.Command):
            for param in command.parameters:
                assert param.description and param.description != "…", (
                    f"{command.qualified_name} {param.name}"
                )
    assert len(names) == len(set(names))
    menus = [m.name for m in bot.tree.get_commands(type=discord.AppCommandType.message)]
    assert len(menus) == len(set(menus))


def test_create_bot_needs_no_token(db_path, monkeypatch):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    from bot import create_bot

    bot = create_bot()
    assert bot.allowed_mentions.everyone is False and bot.allowed_mentions.roles is False
    assert bot.intents.members and bot.intents.message_content and bot.intents.guilds
