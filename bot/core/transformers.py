"""`EpisodeArg`: the one place an `episode` option is looked up and autocompleted, for every command.

A command declares `episode: EpisodeArg` (or `EpisodeArg | None` for an optional one) and receives the
`Episode` of the interaction's server with that code; an unknown code is refused with the episodes
service's `NotFound` before the command runs, the same text wherever the option appears. Members are
offered episodes by code or title as they type. The episodes service is the one `create_bot()` built,
reached through `services_of(interaction)`: no cog is looked up by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.core.interactions import services_of
from cogs.episodes.store import Episode

if TYPE_CHECKING:
    from cogs.episodes.service import EpisodeService

CHOICE_MAX = 100  # Discord's limit on a choice's name, and on the typed text searched


def episodes_of(interaction: discord.Interaction) -> EpisodeService:
    """The episodes service the composition root built."""
    return services_of(interaction).episodes


class EpisodeTransformer(app_commands.Transformer):
    """An episode option: typed as its code, suggested by code or title, converted to the `Episode`."""

    async def transform(self, interaction: discord.Interaction, value: str) -> Episode:
        return await episodes_of(interaction).resolve(interaction.guild_id, value)

    async def autocomplete(  # type: ignore[override]  # the choices are codes, not episodes
        self, interaction: discord.Interaction, value: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        rows = await episodes_of(interaction).suggest(interaction.guild_id, value[:CHOICE_MAX])
        return [
            app_commands.Choice(name=f"{code} · {title}"[:CHOICE_MAX], value=code) for code, title in rows
        ]


EpisodeArg = app_commands.Transform[Episode, EpisodeTransformer]
