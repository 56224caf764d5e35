"""Autocomplete callbacks shared by every cog: episodes by code or title, time zones."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.core import timezones


async def episode(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    if interaction.guild_id is None:
        return []
    rows = await interaction.client.episodes.suggest(interaction.guild_id, current[:100])
    return [app_commands.Choice(name=f"{code} · {title}"[:100], value=code) for code, title in rows]


async def timezone(_: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=z, value=z) for z in timezones.suggest(current)]
