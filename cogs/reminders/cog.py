"""`/remind …`, `/episode deadline`, deadline reminders and the weekly digest."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import now
from bot.core import autocomplete, timezones
from bot.core.groups import episode_group
from bot.core.interactions import publish_after_answer, reply
from bot.core.pager import Pager
from cogs.episodes.rules import Milestone
from cogs.reminders.service import MAX_PENDING, TEXT_MAX, ReminderService, SnoozeResult, ts
from cogs.reminders.store import Reminder
from cogs.reminders.views import DYNAMIC_ITEMS

log = logging.getLogger(__name__)

WHEN_HELP = "e.g. in 2 hours, 2h30m, tomorrow 18:00, next friday 9am, 2026-01-10 18:00, <t:…>"
MILESTONE_CHOICES = [app_commands.Choice(name=m.label, value=m.value) for m in Milestone]


def _service(interaction: discord.Interaction) -> ReminderService:
    cog = interaction.client.get_cog("Reminders")  # type: ignore[attr-defined]
    return cog.service


def _preview(text: str, size: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


def _where(reminder: Reminder) -> str:
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
            f"{_where(reminder)}.\n> {_preview(text, 200)}",
        )

    @app_commands.command(name="list", description="Your pending reminders")
    async def list_(self, interaction: discord.Interaction) -> None:
        reminders = await self.service.pending(interaction.guild_id, interaction.user.id)
        lines = [
            f"**#{r.id}** · {ts(r.due_at)} ({ts(r.due_at, 'R')}) · {_where(r)}\n> "
            + discord.utils.escape_markdown(_preview(r.text))
            for r in reminders
        ]
        title = f"Your reminders ({len(reminders)}/{MAX_PENDING})"
        await Pager(
            interaction.user.id,
            title,
            lines,
            empty="You have no pending reminders. Set one with `/remind me`.",
        ).send(interaction)

    @app_commands.command(name="cancel", description="Cancel one of your reminders")
    @app_commands.describe(reminder="The reminder to cancel (pick from your reminders)")
    async def cancel(
        self, interaction: discord.Interaction, reminder: app_commands.Range[str, 1, 100]
    ) -> None:
        cancelled = await self.service.cancel(interaction.guild_id, interaction.user.id, reminder)
        await reply(
            interaction,
            f"Cancelled reminder #{cancelled.id} (was due {ts(cancelled.due_at)}).\n> {_preview(cancelled.text, 200)}",
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
            name = f"#{r.id} · {when:%a %d %b %H:%M} · {_preview(r.text, 60)}"
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


@app_commands.command(
    name="deadline", description="Set or move a deadline of an episode (hosts, its authors)"
)
@app_commands.describe(
    episode="The episode's code",
    milestone="Which deadline: research, script, recording or publish",
    when=f"When it is due: {WHEN_HELP}",
)
@app_commands.autocomplete(episode=autocomplete.episode)
@app_commands.choices(milestone=MILESTONE_CHOICES)
async def deadline_command(
    interaction: discord.Interaction, episode: str, milestone: str, when: app_commands.Range[str, 1, 100]
) -> None:
    service = _service(interaction)
    found = await service.episodes.resolve(interaction.guild_id, episode)
    result = await service.set_deadline(interaction.user, found, Milestone(milestone), when)
    info = result.info
    text = f"📅 **{info.milestone.label}** deadline of **{info.code}**: {ts(info.due_at)} ({ts(info.due_at, 'R')})"
    if result.previous:
        text += f", moved from {ts(result.previous)}"
    text += "."
    if result.met:
        text += f" The episode is already {info.status.label}, so no reminders will be sent."
    elif result.reminders:
        text += " Reminders in the thread: " + ", ".join(ts(t, "R") for t in result.reminders) + "."
    else:
        text += " It's too close for advance reminders."
    await reply(interaction, text)
    await publish_after_answer(interaction, result.publish)


def snooze_answer(result: SnoozeResult) -> str:
    """What a Snooze click did: only what this click changed, and what others had already changed."""
    assert result.until is not None and result.reminders
    count = len(result.reminders)
    what = "this reminder" if count == 1 else f"{count} reminders"
    text = f"💤 Snoozed {what}: I'll remind you again {ts(result.until)} ({ts(result.until, 'R')})."
    if result.already:
        times = sorted({r.due_at for r in result.already})
        text += (
            f" {len(result.already)} more of yours here {'was' if len(result.already) == 1 else 'were'} "
            "already snoozed: " + ", ".join(ts(t) for t in times[:5]) + "."
        )
    return text


class Reminders(commands.Cog):
    """Personal reminders, episode deadlines and the weekly digest."""

    def __init__(self, bot) -> None:
        self.bot = bot
        self.service = ReminderService(bot, bot.db, bot.scheduler, bot.episodes)
        self.service.register()
        bot.tree.add_command(RemindGroup(self.service))
        episode_group(bot).add_command(deadline_command)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.tree.remove_command("remind")
        group = self.bot.tree.get_command("episode")
        if isinstance(group, app_commands.Group):
            group.remove_command("deadline")
        self.service.unregister()

    @commands.Cog.listener()
    async def on_archivist_ready(self) -> None:
        await self.service.reconcile()

    @commands.Cog.listener()
    async def on_archivist_settings_changed(self, guild_id: int) -> None:
        await self.service.settings_changed(guild_id)

    # -- what the buttons under a delivered reminder do (see cogs.reminders.views) -------------------------

    async def snooze_clicked(self, interaction: discord.Interaction, target: str, seconds: int) -> None:
        result = await self.service.snooze(
            interaction.guild_id,
            interaction.user.id,
            target,
            seconds,
            interaction.message.id if interaction.message else None,
        )
        await reply(interaction, snooze_answer(result))

    async def reveal_clicked(self, interaction: discord.Interaction, target: str) -> None:
        mine = await self.service.reveal(
            interaction.user.id, target, interaction.message.id if interaction.message else None
        )
        # Each reminder's text fits one message (TEXT_MAX); several are shown in as many as they need.
        messages: list[str] = []
        for r in mine:
            part = f"🔒 Reminder #{r.id}:\n{r.text}"
            if messages and len(messages[-1]) + 2 + len(part) <= 2000:
                messages[-1] += "\n\n" + part
            else:
                messages.append(part[:2000])
        for text in messages:
            await reply(interaction, text)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Reminders(bot))
