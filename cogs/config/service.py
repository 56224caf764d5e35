"""Per-server settings: read them, change them, and tell the features that keep jobs in line with them."""

from __future__ import annotations

import discord

from bot.core.db import Database
from cogs.config import store
from cogs.config.store import GuildSettings

SETTINGS_CHANGED = "archivist_settings_changed"  # the event (`on_archivist_settings_changed(guild_id)`)


class ConfigService:
    def __init__(self, bot: discord.Client, db: Database) -> None:
        self.bot = bot
        self.db = db

    async def get(self, guild_id: int) -> GuildSettings:
        return await store.get(self.db, guild_id)

    async def update(
        self, guild_id: int, changes: dict[str, object], *, notify: bool = True
    ) -> GuildSettings:
        """Save `changes`; with `notify`, the deadline and digest jobs are brought in line (an event)."""
        cfg = await store.update(self.db, guild_id, **changes)
        if notify:
            self.bot.dispatch(SETTINGS_CHANGED, guild_id)
        return cfg
