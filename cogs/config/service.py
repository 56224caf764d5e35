"""Per-server settings: read them, change them, tell the features that keep jobs in line with them, check
that the bot can work with them (`/config check`), and welcome a server the bot joins."""

from __future__ import annotations

import discord

from bot.core.db import Database
from bot.core.dms import DirectMessages
from cogs.config import check, store
from cogs.config.check import Problem, Report
from cogs.config.store import GuildSettings
from cogs.config.welcome import Welcome

SETTINGS_CHANGED = "archivist_settings_changed"  # the event (`on_archivist_settings_changed(guild_id)`)


class ConfigService:
    def __init__(self, bot: discord.Client, db: Database) -> None:
        self.bot = bot
        self.db = db
        # the set-up steps posted when the bot joins a server (the owner's DM through remembered channels)
        self.welcome = Welcome(db, DirectMessages(bot, db))

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

    async def check(self, guild: discord.Guild) -> Report:
        """`/config check`: the bot's permissions in the configured channels, the server, its intents."""
        return check.check_server(guild, await self.get(guild.id), self.bot.intents)

    async def channel_warnings(self, guild: discord.Guild, columns: set[str]) -> list[Problem]:
        """What the bot lacks in the channels just set (the `columns` of the settings)."""
        return check.check_channels(guild, await self.get(guild.id), columns)
