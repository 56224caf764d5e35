"""A member's DM channel with the bot, in as few requests as Discord allows.

discord.py's way, `user.dm_channel or await user.create_dm()`, looks the user up (`GET /users/{id}`) when
they are not cached and opens the channel (`POST /users/@me/channels`) whenever it is not among the 128
DM channels it keeps: up to three requests per DM. Here the channel's id is remembered in the database
(`bot.core.dm_store`): a remembered channel costs nothing to reach (a `PartialMessageable`), a new one is
opened without looking the user up (one request) and remembered. A member's DM channel with the bot
never changes; should Discord ever answer that a remembered one is unknown (404, code 10003), it is
forgotten and opened again, once.

Counts `dms.opened` (channels opened) and `dms.reopened` (remembered ones Discord no longer knew).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

import discord

from bot.clock import now_ts
from bot.core import dm_store
from bot.core.db import Database
from bot.core.metrics import Metrics

log = logging.getLogger(__name__)

UNKNOWN_CHANNEL = 10003
KEPT = 50_000  # channel ids kept in memory besides the database (a few MB at most)


def unknown_channel(exc: discord.HTTPException) -> bool:
    """Discord does not know this channel (any more)."""
    return exc.status == 404 and exc.code == UNKNOWN_CHANNEL


class DirectMessages:
    """Reaches members' DM channels: remembered ones at no cost, others opened once and remembered."""

    def __init__(self, bot: discord.Client, db: Database, metrics: Metrics | None = None) -> None:
        self.bot = bot
        self.db = db
        self.metrics = metrics if metrics is not None else db.metrics
        self._known: dict[int, int] = {}  # user id → DM channel id, as the database remembers it

    async def prepare(self, user_ids: Iterable[int]) -> None:
        """Read the remembered channels of many members at once (before DMing them one by one)."""
        wanted = [u for u in dict.fromkeys(user_ids) if u not in self._known]
        if not wanted:
            return
        found = await dm_store.get_many(self.db, wanted)
        self._keep({u: c.channel_id for u, c in found.items()})

    async def resolve(self, user_id: int) -> tuple[discord.PartialMessageable, bool]:
        """The member's DM channel, and whether it was remembered (False: opened just now). Raises what
        Discord answers when it cannot be opened (e.g. 404 Unknown User)."""
        channel_id = self._known.get(user_id)
        if channel_id is None:
            remembered = await dm_store.get(self.db, user_id)
            if remembered is not None:
                channel_id = remembered.channel_id
                self._keep({user_id: channel_id})
        if channel_id is not None:
            return self._partial(channel_id), True
        return await self._open(user_id), False

    async def channel(self, user_id: int) -> discord.PartialMessageable:
        return (await self.resolve(user_id))[0]

    async def reopen(self, user_id: int, stale_id: int) -> discord.PartialMessageable:
        """Discord does not know the remembered channel `stale_id`: forget it, open the member's DM anew."""
        log.info("DM channel %s of user %s is unknown to Discord; opening a new one", stale_id, user_id)
        self.metrics.count("dms.reopened")
        if self._known.get(user_id) == stale_id:
            del self._known[user_id]
        await dm_store.forget(self.db, user_id, stale_id)
        return await self._open(user_id)

    async def send(self, user_id: int, **kwargs: Any) -> discord.Message:
        """Send a DM (`kwargs` as `Messageable.send` takes them), opening the channel again once when a
        remembered one is unknown. Raises what Discord answers otherwise (403: DMs closed)."""
        channel, remembered = await self.resolve(user_id)
        try:
            return await channel.send(**kwargs)
        except discord.NotFound as exc:
            if not remembered or not unknown_channel(exc):
                raise
        channel = await self.reopen(user_id, channel.id)
        return await channel.send(**kwargs)

    async def _open(self, user_id: int) -> discord.PartialMessageable:
        data = await self.bot.http.start_private_message(user_id)  # one request, no user look-up
        self.metrics.count("dms.opened")
        channel_id = int(data["id"])
        self._keep({user_id: channel_id})
        try:
            await dm_store.remember(self.db, user_id, channel_id, now_ts())
        except sqlite3.Error as exc:  # the DM goes out all the same; the next one opens it again
            log.warning("could not remember the DM channel of user %s: %s", user_id, exc)
        return self._partial(channel_id)

    def _partial(self, channel_id: int) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    def _keep(self, channels: dict[int, int]) -> None:
        if len(self._known) + len(channels) > KEPT:
            self._known.clear()  # the database still has them all
        self._known.update(channels)
