"""Small text helpers every feature shares: Discord timestamps, thread links, one-line excerpts, counts.

Plain functions that never import discord, so `rules` modules may use them too.
"""

from __future__ import annotations

from datetime import datetime


def ts(when: datetime | float, style: str = "f") -> str:
    """A Discord timestamp (`<t:…:style>`) that each member sees in their own time zone."""
    value = when.timestamp() if isinstance(when, datetime) else when
    return f"<t:{int(value)}:{style}>"


def thread_url(guild_id: int, thread_id: int | None) -> str | None:
    """The web link to a thread (an episode's forum post), or None when there is no thread."""
    if thread_id is None:
        return None
    return f"https://discord.com/channels/{guild_id}/{thread_id}"


def excerpt(text: str | None, limit: int = 90) -> str:
    """One line of at most `limit` characters, cut visibly."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 1)].rstrip() + "…"


def plural(count: int, word: str) -> str:
    """`1 post`, `3 posts` (and `0 posts`)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
