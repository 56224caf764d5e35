"""`/remind …`: personal reminders, and what their Snooze and Show reminder buttons do."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import now
from bot.core import autocomplete, timezones
from bot.core.interactions import reply
from bot.core.pager import PageSources, QueryPager
from bot.core.text import excerpt, ts
from cogs.reminders.service import MAX_PENDING, TEXT_MAX, ReminderService
from cogs.reminders.store import Reminder

log = logging.getLogger(__name__)

WHEN_HELP = "e.g. in 2 hours, 2h30m, tomorrow 18:00, next friday 9am, 2026-01-10 18:00, <t:…>"


def _delivery_place(reminder: Reminder) -> str:
    return "by DM" if reminder.private else f"in <#{reminder.channel_id}>"


@app_commands.guild_only()
class RemindGroup(app_commands.Group, name="remind", description="Personal reminders"):
    def __init__(self, service: ReminderService) -> None:
        super().__init__()
        self.service = service

    @app_commands.command(name="me", description="Remind yourself of something later")
    @app_commands.describe(
        when=f"When to remind you: {WHEN_HELP}",
        text=f"What to remind you of (up to {TEXT_MAX} characters)",
        private="Send it by DM instead of in this channel",
    )
    async def me(
        self,
        interaction: discord.Interaction,
        when: app_commands.Range[str, 1, 100],
        text: app_commands.Range[str, 1, 4000],
        private: bool = False,
    ) -> None:
        reminder = await self.service.create(
            interaction.guild_id, interaction.user.id, interaction.channel_id, when, text, private
        )
        await reply(
            interaction,
            f"⏰ Reminder #{reminder.id}: I'll remind you {ts(reminder.due_at)} ({ts(reminder.due_at, 'R')}) "
            f"{_delivery_place(reminder)}.\n> {excerpt(text, 200)}",
        )

    @app_commands.command(name="list", description="Your pending reminders")
    async def list_(self, interaction: discord.Interaction) -> None:
        await (await self.list_pager(interaction, "")).send(interaction)

    async def list_pager(self, interaction: discord.Interaction, _args: str) -> QueryPager:
        """The clicker's pending reminders; its pages turn after a restart too (kind "reminders")."""
        reminders = await self.service.pending(interaction.guild_id, interaction.user.id)
        lines = [
            f"**#{r.id}** · {ts(r.due_at)} ({ts(r.due_at, 'R')}) · {_delivery_place(r)}\n> "
            + discord.utils.escape_markdown(excerpt(r.text, 80))
            for r in reminders
        ]

        async def page(start: int, size: int) -> tuple[int, list[str]]:
            return len(lines), lines[start : start + size]

        return QueryPager(
            interaction.user.id,
            lambda total: f"Your reminders ({total}/{MAX_PENDING})",
            page,
            empty="You have no pending reminders. Set one with `/remind me`.",
            kind="reminders",
        )

    @app_commands.command(name="cancel", description="Cancel one of your reminders")
    @app_commands.describe(reminder="The reminder to cancel (pick from your reminders)")
    async def cancel(
        self, interaction: discord.Interaction, reminder: app_commands.Range[str, 1, 100]
    ) -> None:
        cancelled = await self.service.cancel(interaction.guild_id, interaction.user.id, reminder)
        await reply(
            interaction,
            f"Cancelled reminder #{cancelled.id} (was due {ts(cancelled.due_at)}).\n> {excerpt(cancelled.text, 200)}",
        )

    @cancel.autocomplete("reminder")
    async def cancel_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        zone = ZoneInfo(await self.service.zone_for(interaction.guild_id, interaction.user.id))
        typed = current.strip().lstrip("#").lower()
        choices = []
        for r in await self.service.pending(interaction.guild_id, interaction.user.id):
            if typed and not (str(r.id).startswith(typed) or typed in r.text.lower()):
                continue
            when = r.due_at.astimezone(zone)
            name = f"#{r.id} · {when:%a %d %b %H:%M} · {excerpt(r.text, 60)}"
            choices.append(app_commands.Choice(name=name[:100], value=str(r.id)))
        return choices[:25]

    @app_commands.command(name="timezone", description="Your own time zone, for the times you type")
    @app_commands.describe(tz="An IANA time zone name, e.g. Europe/Berlin")
    @app_commands.autocomplete(tz=autocomplete.timezone)
    async def timezone(self, interaction: discord.Interaction, tz: app_commands.Range[str, 1, 100]) -> None:
        zone = timezones.validate(tz)
        await self.service.set_timezone(interaction.guild_id, interaction.user.id, zone)
        local = now().astimezone(ZoneInfo(zone))
        await reply(
            interaction,
            f"Your time zone is now `{zone}` (it's {local:%H:%M} there). "
            "Times you type without a zone are read in it.",
        )


class Reminders(commands.Cog):
    """Personal reminders."""

    def __init__(self, bot: commands.Bot, service: ReminderService, pages: PageSources) -> None:
        self.bot = bot
        self.service = service
        self.group = RemindGroup(service)
        pages.register("reminders", self.group.list_pager)  # its pages turn after a restart too

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.group)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command("remind")

    @commands.Cog.listener()
    async def on_archivist_ready(self) -> None:
        await self.service.reconcile()
