"""Slash-command groups that several cogs share (such as `/episode`): made once by the composition root
(`bot.wiring.episode_group`) and handed to each cog that adds subcommands to it, so no cog needs another
to be added first."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands


def add_subcommands(cog: commands.Cog, group: app_commands.Group) -> list[app_commands.Command]:
    """Make the cog's slash commands subcommands of `group` (instead of top-level commands); returns them."""
    moved = [c for c in cog.__cog_app_commands__ if isinstance(c, app_commands.Command)]
    for command in moved:
        group.add_command(command)
    # discord.py adds what is left in this list to the tree as top-level commands when the cog is added.
    cog.__cog_app_commands__ = [c for c in cog.__cog_app_commands__ if c not in moved]
    return moved


def remove_subcommands(group: app_commands.Group, commands_: list[app_commands.Command]) -> None:
    for command in commands_:
        group.remove_command(command.name)
