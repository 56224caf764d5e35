"""The buttons under a delivered reminder: Snooze (1 hour, 1 day) and, for a private reminder that
could not be sent by DM, Show reminder.

They are `DynamicItem`s: the custom id carries the reminder id (or `m`, "the clicker's reminders in
this message", when several were grouped into one message), so they keep working after a restart once
registered with `bot.add_dynamic_items`. Only a reminder's owner can use them; what a click does is up
to the reminders cog (`ReminderActions`).
"""

from __future__ import annotations

import re
from typing import Protocol

import discord

from bot.core.interactions import ArchivistButton

SNOOZES = ((3600, "1 hour"), (86400, "1 day"))


class ReminderActions(Protocol):
    async def snooze_clicked(self, interaction: discord.Interaction, target: str, seconds: int) -> None: ...

    async def reveal_clicked(self, interaction: discord.Interaction, target: str) -> None: ...


def _actions(interaction: discord.Interaction) -> ReminderActions:
    cog = interaction.client.get_cog("Reminders")  # type: ignore[attr-defined]
    if cog is None:
        raise RuntimeError("the reminders cog is not loaded")
    return cog


class SnoozeButton(
    ArchivistButton,
    template=r"archivist:snooze:(?P<seconds>\d{1,7}):(?P<target>\d{1,19}|m)",
):
    def __init__(self, seconds: int, target: str) -> None:
        label = next((name for s, name in SNOOZES if s == seconds), f"{seconds // 60} min")
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
        await _actions(interaction).snooze_clicked(interaction, self.target, self.seconds)


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
        await _actions(interaction).reveal_clicked(interaction, self.target)


DYNAMIC_ITEMS = (SnoozeButton, RevealButton)


def delivered_view(target: str, *, reveal: bool = False) -> discord.ui.View:
    """Buttons for a delivered reminder (`target`: its id) or a grouped message (`target` = "m")."""
    view = discord.ui.View(timeout=None)
    if reveal:
        view.add_item(RevealButton(target))
    for seconds, _ in SNOOZES:
        view.add_item(SnoozeButton(seconds, target))
    return view
