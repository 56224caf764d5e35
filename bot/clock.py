"""The bot's one notion of "now": aware UTC, following discord.utils.utcnow (and simcord's clock)."""

from __future__ import annotations

import datetime as dt

import discord


def now() -> dt.datetime:
    return discord.utils.utcnow()


def now_ts() -> int:
    return int(now().timestamp())


def from_ts(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, tz=dt.UTC)
