"""Every cog loads, every command is described, no command names collide; failures have one path."""

from __future__ import annotations

import random
from pathlib import Path

import discord
from discord import app_commands
from simcord import Env

from bot import wiring
from bot.core.interactions import ArchivistTree

ROOT = Path(__file__).resolve().parents[1]
FEATURE_COGS = {
    "Admin",
    "Episodes",
    "Assignments",
    "Research",
    "Reminders",
    "Deadlines",
    "Digest",
    "Help",
    "ForumImport",
}


def command_names(bot) -> list[str]:
    names = [command.qualified_name for command in bot.tree.walk_commands()]
    return names + [m.name for m in bot.tree.get_commands(type=discord.AppCommandType.message)]


async def test_every_cog_loads_and_commands_are_unique_and_described(simcord_env):
    bot = simcord_env.bot
    assert set(bot.cogs) == FEATURE_COGS
    assert not bot.extensions  # every cog is handed its services by the composition root, none loaded by name
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


async def test_cogs_work_added_in_any_order(bots, monkeypatch, tmp_path):
    """No cog depends on another being added first: reversed or shuffled, the same commands exist and
    the cogs that add `/episode` subcommands answer."""
    in_order = wiring.feature_cogs
    seen = []
    orders = (list, lambda cogs: cogs[::-1], lambda cogs: random.Random(11).sample(cogs, len(cogs)))
    for n, arrange in enumerate(orders):
        monkeypatch.setattr(wiring, "feature_cogs", lambda *a, arrange=arrange: arrange(in_order(*a)))
        monkeypatch.setenv("DATABASE_PATH", str(tmp_path / f"order{n}.sqlite3"))  # a new bot: syncs its tree
        env = Env(bots())
        await env.start()
        try:
            guild = env.create_guild("Order")
            general = guild.create_text_channel("general")
            member = guild.add_member(env.create_user("reader"))
            assert set(env.bot.cogs) == FEATURE_COGS
            seen.append(sorted(command_names(env.bot)))
            r = await member.slash(general, "episode deadline", episode="none", milestone="script", when="1d")
            assert "no episode" in (r.response.content or "")
            r = await member.slash(general, "help")
            assert r.response.embeds
        finally:
            await env.shutdown()
    assert seen[0] == seen[1] == seen[2]
