"""How reminders read (their repetition, in lists and confirmations), and the buttons under a delivered
reminder: Snooze (1 hour, 1 day) and, for a private reminder that could not be sent by DM, Show reminder.
A message grouping several reminders also has two menus, "Snooze just one for 1 hour / 1 day", listing
each of them (so one can be snoozed while the others stay delivered).

They are `DynamicItem`s: the custom id carries the reminder id (or `m`, "the clicker's reminders in
this message", when several were grouped into one message; a menu's choices carry the ids), so they keep
working after a restart once registered with `bot.add_dynamic_items` (by `bot.app`). Only a reminder's
owner can use them; a click calls the reminders service the composition root built
(`services_of(interaction).reminders`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord

from bot.core.interactions import ArchivistButton, reply, services_of
from bot.core.text import ts

if TYPE_CHECKING:
    from cogs.reminders.service import SnoozeResult
    from cogs.reminders.store import Reminder

SNOOZES = ((3600, "1 hour"), (86400, "1 day"))
CHOICES_MAX = 25  # options in one select menu (Discord's limit): reminders one grouped message may carry
LABEL_MAX = 100  # characters of a menu option's label (Discord's limit)
REPEAT_SUGGESTIONS = ("daily", "weekly", "monthly", "every 2 days", "every 3 days", "every 14 days", "none")


def repeat_text(reminder: Reminder) -> str:
    """`repeats every day at 09:00 Europe/Berlin`; empty for a one-off."""
    rule, anchor, zone = reminder.rule, reminder.anchor, reminder.repeat_zone
    if rule is None or anchor is None or zone is None:
        return ""
    on = ""
    if rule.kind == "weekly":
        on = f" on {anchor:%A}s"
    elif rule.kind == "monthly":
        on = f" on the {_ordinal(anchor.day)}" + (" (or the month's last day)" if anchor.day > 28 else "")
    return f"repeats {rule.label}{on} at {anchor:%H:%M} {zone}"


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


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


async def snooze_clicked(interaction: discord.Interaction, target: str, seconds: int) -> None:
    result = await services_of(interaction).reminders.snooze(
        interaction.guild_id,
        interaction.user.id,
        target,
        seconds,
        interaction.message.id if interaction.message else None,
    )
    await reply(interaction, snooze_answer(result))


async def reveal_clicked(interaction: discord.Interaction, target: str) -> None:
    mine = await services_of(interaction).reminders.reveal(
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


class SnoozeButton(
    ArchivistButton,
    template=r"archivist:snooze:(?P<seconds>\d{1,7}):(?P<target>\d{1,19}|m)",
):
    def __init__(self, seconds: int, target: str) -> None:
        label = _snooze_label(seconds)
        super().__init__(
            discord.ui.Button(
                label=f"Snooze {label}",
                emoji="💤",
                style=discord.ButtonStyle.secondary,
                custom_id=f"archivist:snooze:{seconds}:{target}",
            )
        )
        self.seconds = seconds
        self.target = target

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> SnoozeButton:
        return cls(int(match["seconds"]), match["target"])

    async def clicked(self, interaction: discord.Interaction) -> None:
        await snooze_clicked(interaction, self.target, self.seconds)


class RevealButton(ArchivistButton, template=r"archivist:reveal:(?P<target>\d{1,19}|m)"):
    def __init__(self, target: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Show reminder",
                emoji="🔒",
                style=discord.ButtonStyle.primary,
                custom_id=f"archivist:reveal:{target}",
            )
        )
        self.target = target

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> RevealButton:
        return cls(match["target"])

    async def clicked(self, interaction: discord.Interaction) -> None:
        await reveal_clicked(interaction, self.target)


def _snooze_label(seconds: int) -> str:
    return next((name for s, name in SNOOZES if s == seconds), f"{seconds // 60} min")


class SnoozeOneMenu(ArchivistButton, template=r"archivist:snooze-one:(?P<seconds>\d{1,7})"):
    """ "Snooze just one for …": a grouped message's reminders, one option each (value: its id). A select
    menu, answered through `ArchivistButton`'s one error path like the buttons."""

    def __init__(self, seconds: int, options: list[discord.SelectOption]) -> None:
        menu = discord.ui.Select(
            custom_id=f"archivist:snooze-one:{seconds}",
            placeholder=f"💤 Snooze just one for {_snooze_label(seconds)}…",
            options=options,
        )
        super().__init__(menu)  # type: ignore[arg-type]  # a DynamicItem wraps any dispatchable item
        self.menu = menu
        self.seconds = seconds

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Select, match: re.Match[str], /
    ) -> SnoozeOneMenu:
        return cls(int(match["seconds"]), item.options)

    async def clicked(self, interaction: discord.Interaction) -> None:
        chosen = self.menu.values[0] if self.menu.values else ""
        await snooze_clicked(interaction, chosen if chosen.isdigit() else "0", self.seconds)


DYNAMIC_ITEMS = (SnoozeButton, RevealButton, SnoozeOneMenu)


def choice_label(reminder: Reminder, *, show_text: bool) -> str:
    """How a grouped message's menus name one of its reminders: `#12 · its text` (cut to fit), or
    `#12 · private reminder` where others could read it."""
    text = " ".join(reminder.text.split()) if show_text else "private reminder"
    label = f"#{reminder.id} · {text}"
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1] + "…"


def delivered_view(
    target: str, *, reveal: bool = False, choices: list[tuple[int, str]] = ()
) -> discord.ui.View:
    """Buttons for a delivered reminder (`target`: its id) or a grouped message (`target` = "m"); a
    grouped message's `choices` (reminder id, label; at most `CHOICES_MAX`) also get the Snooze-one menus."""
    view = discord.ui.View(timeout=None)
    if reveal:
        view.add_item(RevealButton(target))
    for seconds, _ in SNOOZES:
        view.add_item(SnoozeButton(seconds, target))
    if len(choices) > 1:
        options = [discord.SelectOption(label=label, value=str(i)) for i, label in choices[:CHOICES_MAX]]
        for seconds, _ in SNOOZES:
            view.add_item(SnoozeOneMenu(seconds, options))
    view.stop()  # its buttons answer by custom id (dynamic items): nothing need be kept per message
    return view
