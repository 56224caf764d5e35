"""`/episode deadline`, and keeping deadline reminders in line with status and settings."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.interactions import publish_after_answer, reply
from bot.core.transformers import EpisodeArg
from cogs.deadlines import views
from cogs.deadlines.service import DeadlineService
from cogs.episodes.rules import Milestone
from cogs.reminders.cog import WHEN_HELP

MILESTONE_CHOICES = [app_commands.Choice(name=m.label, value=m.value) for m in Milestone]


class Deadlines(commands.Cog):
    """Episode deadlines and their reminders in the thread."""

    def __init__(self, service: DeadlineService, episode_group: app_commands.Group) -> None:
        self.service = service
        self.group = episode_group  # the shared `/episode` group, made by `bot.wiring`
        self.command = self._build_command()
        self.group.add_command(self.command)

    async def cog_unload(self) -> None:
        self.group.remove_command(self.command.name)

    @commands.Cog.listener()
    async def on_archivist_settings_changed(self, guild_id: int) -> None:
        await self.service.settings_changed(guild_id)

    def _build_command(self) -> app_commands.Command:
        service = self.service

        @app_commands.command(
            name="deadline", description="Set or move a deadline of an episode (hosts, its authors)"
        )
        @app_commands.describe(
            episode="The episode's code",
            milestone="Which deadline: research, script, recording or publish",
            when=f"When it is due: {WHEN_HELP}",
        )
        @app_commands.choices(milestone=MILESTONE_CHOICES)
        async def deadline(
            interaction: discord.Interaction,
            episode: EpisodeArg,
            milestone: str,
            when: app_commands.Range[str, 1, 100],
        ) -> None:
            result = await service.set_deadline(
                interaction.user, episode, Milestone(milestone), when, str(interaction.locale)
            )
            await reply(
                interaction, views.set_answer(result.info, result.previous, result.met, result.reminders)
            )
            await publish_after_answer(interaction, result.publish)

        return deadline
