"""`/remind …`: personal reminders (in a server, or in a DM with the bot), set, listed, edited, cancelled."""

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
from cogs.reminders import store
from cogs.reminders.service import MAX_PENDING, TEXT_MAX, ReminderService
from cogs.reminders.store import Reminder
from cogs.reminders.views import REPEAT_SUGGESTIONS, repeat_text

log = logging.getLogger(__name__)

# Option descriptions are at most 100 characters: "When to remind you: " and this fit.
WHEN_HELP = "e.g. in 2 hours, tomorrow 18:00, next friday 9am CEST, 2026-01-10 18:00, <t:…>"
REPEAT_HELP = "Repeat it: daily, weekly, monthly or every N days (1-365); none for no repetition"


def _scope(interaction: discord.Interaction) -> int:
    """The server the command was used in, or `store.DM` in a DM with the bot."""
    return interaction.guild_id or store.DM


def _locale(interaction: discord.Interaction) -> str:
    return str(interaction.locale)


def _delivery_place(reminder: Reminder) -> str:
    if reminder.in_dm:
        return "here in our DMs"
    return "by DM" if reminder.private else f"in <#{reminder.channel_id}>"


def _when_and_where(reminder: Reminder) -> str:
    """`<t:…:f> (<t:…:R>) in #general, repeats every day at 09:00 Europe/Berlin`."""
    text = f"{ts(reminder.due_at)} ({ts(reminder.due_at, 'R')}) {_delivery_place(reminder)}"
    repeats = repeat_text(reminder)
    return f"{text}, {repeats}" if repeats else text


@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
class RemindGroup(app_commands.Group, name="remind", description="Personal reminders"):
    def __init__(self, service: ReminderService) -> None:
        super().__init__()
        self.service = service

    @app_commands.command(name="me", description="Remind yourself of something later")
    @app_commands.describe(
        when=f"When to remind you: {WHEN_HELP}",
        text=f"What to remind you of (up to {TEXT_MAX} characters)",
        private="Send it by DM instead of in this channel",
        repeat=REPEAT_HELP,
    )
    async def me(
        self,
        interaction: discord.Interaction,
        when: app_commands.Range[str, 1, 100],
        text: app_commands.Range[str, 1, 4000],
        private: bool = False,
        repeat: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        reminder = await self.service.create(
            _scope(interaction),
            interaction.user.id,
            interaction.channel_id or 0,
            when,
            text,
            private,
            repeat=repeat,
            locale=_locale(interaction),
        )
        await reply(
            interaction,
            f"⏰ Reminder #{reminder.id}: I'll remind you {_when_and_where(reminder)}.\n> {excerpt(text, 200)}",
        )

    @app_commands.command(name="list", description="Your pending reminders")
    async def list_(self, interaction: discord.Interaction) -> None:
        await (await self.list_pager(interaction, "")).send(interaction)

    async def list_pager(self, interaction: discord.Interaction, _args: str) -> QueryPager:
        """The clicker's pending reminders; its pages turn after a restart too (kind "reminders")."""
        reminders = await self.service.pending(_scope(interaction), interaction.user.id)
        lines = []
        for r in reminders:
            repeats = repeat_text(r)
            lines.append(
                f"**#{r.id}** · {ts(r.due_at)} ({ts(r.due_at, 'R')}) · {_delivery_place(r)}"
                + (f" · 🔁 {repeats}" if repeats else "")
                + "\n> "
                + discord.utils.escape_markdown(excerpt(r.text, 80))
            )

        async def page(start: int, size: int) -> tuple[int, list[str]]:
            return len(lines), lines[start : start + size]

        return QueryPager(
            interaction.user.id,
            lambda total: f"Your reminders ({total}/{MAX_PENDING})",
            page,
            empty="You have no pending reminders. Set one with `/remind me`.",
            kind="reminders",
        )

    @app_commands.command(name="edit", description="Change one of your pending reminders")
    @app_commands.describe(
        reminder="The reminder to change (pick from your reminders)",
        when=f"Its new time: {WHEN_HELP}",
        text=f"Its new text (up to {TEXT_MAX} characters)",
        repeat=REPEAT_HELP,
    )
    async def edit(
        self,
        interaction: discord.Interaction,
        reminder: app_commands.Range[str, 1, 100],
        when: app_commands.Range[str, 1, 100] | None = None,
        text: app_commands.Range[str, 1, 4000] | None = None,
        repeat: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        edited = await self.service.edit(
            _scope(interaction),
            interaction.user.id,
            reminder,
            when=when,
            text=text,
            repeat=repeat,
            locale=_locale(interaction),
        )
        r = edited.reminder
        await reply(
            interaction,
            f"✏️ Reminder #{r.id} changed ({', '.join(edited.changed)}): I'll remind you {_when_and_where(r)}."
            f"\n> {excerpt(r.text, 200)}",
        )

    @app_commands.command(name="cancel", description="Cancel one of your reminders")
    @app_commands.describe(reminder="The reminder to cancel (pick from your reminders)")
    async def cancel(
        self, interaction: discord.Interaction, reminder: app_commands.Range[str, 1, 100]
    ) -> None:
        cancelled = await self.service.cancel(_scope(interaction), interaction.user.id, reminder)
        series = " It won't repeat any more." if cancelled.rule else ""
        await reply(
            interaction,
            f"Cancelled reminder #{cancelled.id} (was due {ts(cancelled.due_at)}).{series}\n"
            f"> {excerpt(cancelled.text, 200)}",
        )

    @edit.autocomplete("reminder")
    @cancel.autocomplete("reminder")
    async def reminder_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The caller's pending reminders here, narrowed by id or text (for edit and cancel)."""
        scope = _scope(interaction)
        zone = ZoneInfo(await self.service.zone_for(scope, interaction.user.id))
        typed = current.strip().lstrip("#").lower()
        choices = []
        for r in await self.service.pending(scope, interaction.user.id):
            if typed and not (str(r.id).startswith(typed) or typed in r.text.lower()):
                continue
            when = r.due_at.astimezone(zone)
            rule = r.rule
            repeats = f" · 🔁 {rule.label}" if rule else ""
            name = f"#{r.id} · {when:%a %d %b %H:%M}{repeats} · {excerpt(r.text, 60)}"
            choices.append(app_commands.Choice(name=name[:100], value=str(r.id)))
        return choices[:25]

    @me.autocomplete("repeat")
    @edit.autocomplete("repeat")
    async def repeat_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = " ".join(current.lower().split())
        number = "".join(c for c in typed if c.isdigit())[:3]
        suggestions = list(REPEAT_SUGGESTIONS)
        if number:
            suggestions.insert(0, f"every {number} days")
        return [
            app_commands.Choice(name=s, value=s)
            for s in dict.fromkeys(suggestions)
            if number or not typed or typed in s
        ][:25]

    @app_commands.command(name="timezone", description="Your own time zone, for the times you type")
    @app_commands.describe(tz="An IANA time zone name, e.g. Europe/Berlin")
    @app_commands.autocomplete(tz=autocomplete.timezone)
    async def timezone(self, interaction: discord.Interaction, tz: app_commands.Range[str, 1, 100]) -> None:
        zone = timezones.validate(tz)
        await self.service.set_timezone(_scope(interaction), interaction.user.id, zone)
        local = now().astimezone(ZoneInfo(zone))
        where = " in our DMs" if interaction.guild_id is None else ""
        await reply(
            interaction,
            f"Your time zone{where} is now `{zone}` (it's {local:%H:%M} there). "
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
