"""create_bot(): builds Archivist from the environment. No module-level bot, no globals.

The one composition root: `Archivist` builds every service (`bot.wiring.build_services`, held as
`bot.services`), registers every job kind, listener and persistent button (`register_handlers`), and in
`setup_hook` adds every cog, handed its services (`feature_cogs`), in any order.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import time

import discord
from discord.ext import commands

from bot import wiring
from bot.config import Settings
from bot.core.interactions import ArchivistTree
from cogs.config import store as settings_store

log = logging.getLogger(__name__)

TREE_HASH_KEY = "command_tree_hash"


def intents() -> discord.Intents:
    value = discord.Intents.none()
    value.guilds = True
    value.members = True
    value.guild_messages = True
    value.guild_reactions = True
    value.dm_messages = True
    value.message_content = True
    return value


def freeze_startup_heap() -> None:
    """Once the caches are filled at start (members, channels, modules), move them out of the garbage
    collector's reach: a full collection would otherwise walk them all, pausing every command for as
    long as that takes (up to 180 ms measured with 5,000 members; see BENCHMARKS.md). Only objects made
    after start are collected from then on."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "froze %d start-up objects for the garbage collector in %.0f ms",
        gc.get_freeze_count(),
        1000 * (time.perf_counter() - started),
    )


class Archivist(commands.Bot):
    """The bot: owns the database, the scheduler and the services the cogs use."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents(),
            tree_cls=ArchivistTree,
            allowed_mentions=discord.AllowedMentions(
                everyone=False, roles=False, users=True, replied_user=False
            ),
        )
        self.settings = settings
        self.services = wiring.build_services(self, settings)
        wiring.register_handlers(self, self.services)
        self.synced_commands = False
        self._scheduler_started = False

    async def setup_hook(self) -> None:
        try:
            if not self.services.db.is_open:  # `python -m bot run` opens it before contacting Discord
                await self.services.db.open()
            for cog in wiring.feature_cogs(self, self.services, wiring.episode_group()):
                await self.add_cog(cog)
            await self.sync_commands()
        except BaseException:
            # A start that fails here must not leave the database's thread running: nothing else may
            # close this bot, and that thread alone keeps the process from ever exiting.
            await self.services.db.close()
            raise
        # Delivery starts once the gateway is ready (the guild cache is needed to deliver anything);
        # on_ready below starts it. Jobs that fell due while offline are delivered then, marked late.

    async def on_ready(self) -> None:
        if not self._scheduler_started:
            self._scheduler_started = True
            await self.services.scheduler.start()
            if self.settings.gc_freeze:
                freeze_startup_heap()
            await self.services.outbox.forget_old()
            self.dispatch("archivist_ready")
        log.info("Archivist is ready as %s in %d server(s)", self.user, len(self.guilds))

    async def sync_commands(self, *, force: bool = False) -> bool:
        """Sync the command tree only when its definition changed since the last sync."""
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        for kind in (discord.AppCommandType.message, discord.AppCommandType.user):
            payload += [c.to_dict(self.tree) for c in self.tree.get_commands(type=kind)]
        digest = hashlib.sha256(
            json.dumps([payload, self.settings.guild_id], sort_keys=True, default=str).encode()
        ).hexdigest()
        if not force and await settings_store.get_meta(self.services.db, TREE_HASH_KEY) == digest:
            log.info("command tree unchanged; not syncing")
            return False
        await self.tree.sync()
        if self.settings.guild_id:
            guild = discord.Object(self.settings.guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        await settings_store.set_meta(self.services.db, TREE_HASH_KEY, digest)
        self.synced_commands = True
        log.info("command tree synced (%d top-level commands)", len(payload))
        return True

    async def close(self) -> None:
        try:
            await self.services.scheduler.stop()
        finally:
            try:
                await super().close()
            finally:
                await self.services.db.close()


def create_bot(settings: Settings | None = None) -> Archivist:
    """Build the bot from environment variables (.env already loaded), or from `settings` when given.
    Needs no token."""
    return Archivist(settings if settings is not None else Settings.from_env())
