"""create_bot(): builds Archivist from the environment. No module-level bot, no globals.

The one composition root: `Archivist` builds every service (`bot.wiring.build_services`, held as
`bot.services`), registers every job kind, listener and persistent button (`register_handlers`), and in
`setup_hook` adds every cog, handed its services (`feature_cogs`), in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import signal
import time
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from bot import wiring
from bot.config import Settings
from bot.core import ratelimit, timezones
from bot.core.interactions import ArchivistTree
from cogs.config import store as settings_store

log = logging.getLogger(__name__)

TREE_HASH_KEY = "command_tree_hash"
TREE_SCOPE_KEY = "command_tree_scope"  # where the commands were synced last: "global" or "guild:<id>"
STOP_GRACE = 5.0  # seconds running commands get to finish when the bot stops
RESTARTING = "Archivist is restarting, try again in a moment."


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
        self._stop_task: asyncio.Task[None] | None = None  # the clean stop, once begun
        self._stop_reason: str | None = None  # why, when a signal asked for the stop
        self._answers: set[asyncio.Task[None]] = set()  # "restarting" answers being sent
        self._gate_interactions()

    async def setup_hook(self) -> None:
        if self.stopping:  # stopped before it started: nothing to open
            return
        # Every REST call from here on goes through the global pacer (simcord's client too: it is in
        # place by now).
        ratelimit.install(self, self.services.pacer)
        try:
            if not self.services.db.is_open:  # `python -m bot run` opens it before contacting Discord
                await self.services.db.open()
            for cog in wiring.feature_cogs(self, self.services, wiring.episode_group()):
                await self.add_cog(cog)
            # The time zones' table that reading a `when` needs: built here, not in a member's command.
            await asyncio.to_thread(timezones.abbreviations, discord.utils.utcnow().year)
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
        """Register the slash commands with Discord, only when their definition or scope changed.

        With DISCORD_GUILD_ID the commands exist in that server only: never also a global copy, which
        members would see twice. The other scope is emptied once when the scope changes (a global copy
        left by an earlier start, or the server copy when DISCORD_GUILD_ID is removed); the scope synced
        last is kept in `meta`, so this costs Discord nothing on an ordinary start."""
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        for kind in (discord.AppCommandType.message, discord.AppCommandType.user):
            payload += [c.to_dict(self.tree) for c in self.tree.get_commands(type=kind)]
        guild_id = self.settings.guild_id
        scope = f"guild:{guild_id}" if guild_id else "global"
        digest = hashlib.sha256(
            json.dumps([payload, guild_id], sort_keys=True, default=str).encode()
        ).hexdigest()
        db = self.services.db
        synced_scope = await settings_store.get_meta(db, TREE_SCOPE_KEY)
        if not force and synced_scope == scope and await settings_store.get_meta(db, TREE_HASH_KEY) == digest:
            log.info("command tree unchanged; not syncing")
            return False
        if guild_id:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            if synced_scope != scope:
                # Whatever an earlier start left globally (or a first start cannot know): emptied once.
                await self._empty_commands(None)
            if synced_scope is not None and synced_scope.startswith("guild:") and synced_scope != scope:
                await self._empty_commands(int(synced_scope.removeprefix("guild:")))
        else:
            await self.tree.sync()
            if synced_scope is not None and synced_scope.startswith("guild:"):
                await self._empty_commands(int(synced_scope.removeprefix("guild:")))
        await settings_store.set_meta(db, TREE_HASH_KEY, digest)
        await settings_store.set_meta(db, TREE_SCOPE_KEY, scope)
        self.synced_commands = True
        log.info(
            "command tree synced (%d top-level commands, %s)",
            len(payload),
            f"server {guild_id} only" if guild_id else "global",
        )
        return True

    async def _empty_commands(self, guild_id: int | None) -> None:
        """Remove every command of one scope from Discord (the global one when `guild_id` is None),
        without touching the tree the bot answers with."""
        assert self.application_id is not None
        try:
            if guild_id is None:
                await self.http.bulk_upsert_global_commands(self.application_id, payload=[])
            else:
                await self.http.bulk_upsert_guild_commands(self.application_id, guild_id, payload=[])
        except (discord.Forbidden, discord.NotFound):
            # The bot has left that server (or lost applications.commands there): nothing to remove.
            log.info("could not remove the old commands of server %s (no access); left as they are", guild_id)
            return
        log.info("removed the old %s copy of the commands", f"server {guild_id}" if guild_id else "global")

    # -- stopping -------------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        """True from the moment a stop begins: new interactions are turned away, events go unhandled."""
        return self._stop_task is not None

    def stop_on_signals(self, starting: asyncio.Task[Any] | None = None) -> None:
        """SIGTERM (a service manager's stop) and SIGINT (Ctrl+C) stop the bot cleanly (see `close`).
        Before the bot is ready, `starting` (the task starting it) is cancelled instead: there is no
        member's work to finish yet, and a start cut short leaves nothing half-done (a migration is one
        transaction)."""
        loop = asyncio.get_running_loop()

        def on_signal(name: str) -> None:
            if starting is not None and not starting.done() and not self.is_ready():
                log.info("%s while starting: start abandoned", name)
                starting.cancel()
            self.request_stop(name)

        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):  # Windows event loops have no signal handlers
                loop.add_signal_handler(sig, on_signal, sig.name)

    def request_stop(self, reason: str = "stop requested") -> None:
        """Begin a clean stop in the background (from a signal handler); `close()` waits for it."""
        if self._stop_task is not None:
            log.info("%s: already stopping", reason)
            return
        log.info("%s: stopping (running work gets %.0f s to finish)", reason, STOP_GRACE)
        self._stop_reason = reason
        self._stop_task = asyncio.get_running_loop().create_task(self._stop(), name="archivist-stop")

    async def close(self) -> None:
        """Stop cleanly: take no new work (members' interactions are answered "restarting", gateway
        events are left to the catch-up at the next start, the scheduler starts no job), let what runs
        finish (at most STOP_GRACE seconds, then it is cancelled; a delivery cut short is settled at the
        next start by the outbox), then close Discord and the database. Any number of calls wait for
        the one stop."""
        if self._stop_task is None:
            self._stop_task = asyncio.get_running_loop().create_task(self._stop(), name="archivist-stop")
        await asyncio.shield(self._stop_task)

    async def _stop(self) -> None:
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            self.services.scheduler.stop(), self._let_running_work_finish(), return_exceptions=True
        )
        try:
            await super().close()
        finally:
            await self.services.db.close()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        if self._stop_reason is not None:
            log.info("stopped cleanly in %.1f s", time.perf_counter() - started)

    async def _let_running_work_finish(self, grace: float = STOP_GRACE) -> None:
        """Wait for members' commands, clicks, forms and event handlers that are running, at most
        `grace` seconds; then cancel what is left (their transactions roll back)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        me = asyncio.current_task()
        waited = False
        while True:
            running = {
                t for t in asyncio.all_tasks() if t is not me and not t.done() and _is_work(t.get_name())
            }
            if not running:
                if waited:
                    log.info("running work finished")
                return
            left = deadline - loop.time()
            if left <= 0:
                log.warning("cancelling %d piece(s) of work still running after %.0f s", len(running), grace)
                for task in running:
                    task.cancel()
                await asyncio.wait(running, timeout=1.0)
                return
            if not waited:
                log.info("waiting for %d piece(s) of running work", len(running))
                waited = True
            await asyncio.wait(running, timeout=left)

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        if self._stop_task is not None and not self.is_closed() and not event_name.startswith(_OWN_EVENTS):
            return  # stopping: Discord's events are caught up at the next start, like any missed while away
        super().dispatch(event_name, *args, **kwargs)

    def _gate_interactions(self) -> None:
        """While stopping, a new interaction is answered "restarting" instead of being started.

        discord.py hands interactions to the tree and the views straight from its gateway parser, with
        no hook before them, so the gate wraps that parser."""
        parsers = self._connection.parsers
        parse = parsers["INTERACTION_CREATE"]

        def gated(data: Any) -> None:
            if self._stop_task is None or self.is_closed():
                parse(data)
                return
            interaction = discord.Interaction(data=data, state=self._connection)
            task = asyncio.get_running_loop().create_task(
                _turn_away(interaction), name="archivist-stopping-answer"
            )
            self._answers.add(task)
            task.add_done_callback(self._answers.discard)

        parsers["INTERACTION_CREATE"] = gated


# discord.py names the tasks a member's work runs in: slash commands, buttons and selects, forms, and
# event listeners; the gate's own answers are waited for too.
_WORK_TASKS = ("CommandTree-invoker", "discord-ui-", "discord.py: ", "archivist-stopping-answer")


# Events the bot's own running work dispatches (its commands' completion, its settings' changes): these
# still reach their listeners while it stops.
_OWN_EVENTS = ("archivist_", "app_command_", "command_")


def _is_work(task_name: str) -> bool:
    return task_name.startswith(_WORK_TASKS)


async def _turn_away(interaction: discord.Interaction) -> None:
    try:
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await interaction.response.send_message(RESTARTING, ephemeral=True)
    except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
        log.info("could not tell a member the bot is restarting: %s", exc)


def create_bot(settings: Settings | None = None) -> Archivist:
    """Build the bot from environment variables (.env already loaded), or from `settings` when given.
    Needs no token."""
    return Archivist(settings if settings is not None else Settings.from_env())
