"""Every cog loads, every command is described, no command names collide; failures have one path."""

from __future__ import annotations

from pathlib import Path

import discord
from discord import app_commands

from bot.app import COGS
from bot.core.interactions import ArchivistTree

ROOT = Path(__file__).resolve().parents[1]


async def test_every_cog_loads_and_commands_are_unique_and_described(simcord_env):
    bot = simcord_env.bot
    assert set(COGS) <= set(bot.extensions)
    assert isinstance(bot.tree, ArchivistTree)
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


def test_failures_have_one_path():
    """Every failure is answered by the tree's `on_error` (bot.core.interactions): no handler answers
    refusals itself, and nothing patches a command's private callback to do so."""
    sources = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/**/*.py")]
    assert len(sources) > 20
    for path in sources:
        text = path.read_text()
        assert "._callback" not in text, path
        assert "except ArchivistError" not in text, path
        if path.name != "interactions.py":
            assert "def on_error" not in text, path
