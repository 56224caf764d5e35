"""The weekly digest has no command: this cog keeps it scheduled (at start, after settings change)."""

from __future__ import annotations

from discord.ext import commands

from cogs.digest.service import DigestService


class Digest(commands.Cog):
    """The weekly digest in the announcements channel."""

    def __init__(self, service: DigestService) -> None:
        self.service = service

    @commands.Cog.listener()
    async def on_archivist_ready(self) -> None:
        await self.service.reconcile()

    @commands.Cog.listener()
    async def on_archivist_settings_changed(self, guild_id: int) -> None:
        await self.service.ensure_digest(guild_id, reschedule=True)
