"""Access to the shared `/episode` group, so several cogs can add subcommands to it."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands


def episode_group(bot: commands.Bot) -> app_commands.Group:
    group = bot.tree.get_command("episode")
    if not isinstance(group, app_commands.Group):
        raise RuntimeError("cogs.episodes.cog must be loaded before cogs that add /episode subcommands")
    return group
