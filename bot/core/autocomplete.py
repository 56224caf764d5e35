"""Autocomplete callbacks shared by every cog: time zones. (Episodes: `bot.core.transformers.EpisodeArg`.)"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.core import timezones


async def timezone(_: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=z, value=z) for z in timezones.suggest(current)]
