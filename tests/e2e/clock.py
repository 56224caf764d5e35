"""The virtual clock as the reminder tests read it: now, a UTC moment, a Discord timestamp, moving time."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

HOUR = 3600
DAY = 86400


def now() -> datetime:
    return discord.utils.utcnow()


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def stamp(when: datetime) -> str:
    """How a confirmation shows `when`: `<t:…:f>`."""
    return f"<t:{int(when.timestamp())}:f>"


async def advance_to(env, when: datetime) -> None:
    await env.advance_time((when - now()).total_seconds())


def reminders_in(channel) -> list[discord.Message]:
    """The personal reminders delivered in a channel (as members see them)."""
    return [m for m in channel.history() if m.content.startswith("⏰")]
