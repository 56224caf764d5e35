"""Catching up on episode threads after downtime: the history walk, confirming deletions, and the retry job.

The caches here (watermarks, pending episodes, live touches) are plain attributes: every caller runs on
the bot's one event loop, so no two of them interleave except at an `await`, and each is safe there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.jobs import Job
from bot.core.scheduler import DONE, Outcome, Retry, Scheduler
from bot.core.service import FeatureService
from cogs.episodes import store as episode_store
from cogs.episodes.service import EpisodeService
from cogs.episodes.store import Episode
from cogs.research import likes_store, store
from cogs.research.messages import CARD_DELAY, collectable, message_data, store_edit
from cogs.research.store import StoredMessage

log = logging.getLogger(__name__)

CATCH_UP_JOB = "research_catch_up"
CATCH_UP_RETRY = 30.0  # seconds before a thread's failed or unfinished catch-up is tried again (then backoff)
RECENT = 100  # messages of each thread read again at start, for edits and deletions made while away
CONFIRM_LIMIT = 100  # stored messages missing from a history read that are looked up one by one
UNKNOWN_MESSAGE = 10008  # Discord's error code: the message does not exist


@dataclass
class CatchUp:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    likes_fixed: int = 0
    complete: bool = True  # False: a read was refused part-way; the thread's catch-up is tried again


@dataclass
class _LiveTouches:
    """Messages edited or deleted live while a catch-up runs: live events win over history pages."""

    ids: set[int] = field(default_factory=set)
    active: int = 0


class ThreadCatchUp(FeatureService):
    """Reconciles every episode thread with Discord: what was posted, edited, deleted or liked while away."""

    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        self.last: dict[int, CatchUp] = {}  # episode id -> its latest catch-up
        self._touched = _LiveTouches()
        self._task: asyncio.Task[None] | None = None
        self._watermarks: dict[int, int | None] = {}  # episode id -> last seen message id at start
        self._pending: set[int] = set()  # episodes not caught up yet since the start
        self._running: set[int] = set()  # episodes whose catch-up is running right now

    def is_pending(self, episode_id: int) -> bool:
        """Not caught up yet since the start: older messages may be missing, its last seen mark waits."""
        return episode_id in self._pending

    def touch(self, message_ids: Iterable[int]) -> None:
        """Messages edited or deleted live: a running catch-up leaves them to the live event."""
        if self._touched.active:
            self._touched.ids.update(message_ids)

    async def load_watermarks(self) -> None:
        """Note, before any live message arrives, how far each thread was collected: catching up reads
        back to there, and until it has, live messages don't move that mark."""
        self._watermarks = {e.id: e.last_seen_message_id for e in await episode_store.with_threads(self.db)}
        self._pending = set(self._watermarks)

    def start(self) -> None:
        """Reconcile every episode thread with Discord in the background."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.catch_up_all(), name="archivist-research-catch-up")

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def catch_up_all(self) -> None:
        started = time.perf_counter()
        episodes = [e for e in await episode_store.with_threads(self.db) if self.bot.get_guild(e.guild_id)]
        for episode in episodes:
            if episode.id in self._running:
                continue  # its retry is running right now, and schedules the next one if it must
            try:
                result = await self.catch_up(episode)
                self.last[episode.id] = result
                if not result.complete:
                    await self._later(episode)
            except discord.HTTPException as exc:
                log.warning(
                    "could not catch up on the thread of episode %s, trying again: %s", episode.id, exc
                )
                await self._later(episode)
            except Exception:
                log.exception("catching up on the thread of episode %s failed, trying again", episode.id)
                await self._later(episode)
        log.info("caught up on %d episode thread(s) in %.2f s", len(episodes), time.perf_counter() - started)

    async def _later(self, episode: Episode) -> None:
        """Persist a retry of the thread's catch-up (one per episode), so that what happened while the
        bot was away is collected and applied even when a read failed at its return."""
        try:
            await self.scheduler.schedule(
                CATCH_UP_JOB,
                now().timestamp() + CATCH_UP_RETRY,
                {"episode_id": episode.id},
                guild_id=episode.guild_id,
                dedupe_key=f"research:catch-up:{episode.id}",
            )
        except Exception:
            log.exception("could not schedule another catch-up of episode %s", episode.id)

    async def run_job(self, job: Job) -> Outcome:
        """Try a thread's catch-up again until it completes (a refused read retries with backoff)."""
        episode = await episode_store.get(self.db, job.payload["episode_id"])
        if episode is None or episode.thread_id is None or self.bot.get_guild(episode.guild_id) is None:
            return DONE  # deleted, or a server the bot is not in (the start's catch-up covers it when it is)
        if episode.id not in self._pending:
            return DONE  # caught up meanwhile
        if episode.id in self._running:
            return Retry("its catch-up is running", after=CATCH_UP_RETRY)
        try:
            result = await self.catch_up(episode)
        except discord.HTTPException as exc:
            return Retry(f"could not catch up on the thread: {exc}")
        self.last[episode.id] = result
        return DONE if result.complete else Retry("a read was refused part-way")

    async def catch_up(self, episode: Episode) -> CatchUp:
        """Walk the thread's history: add missed messages, apply missed edits and deletions and likes.

        Only a complete walk moves the thread's last seen mark and ends its pending state; one cut short
        by a refused read (`complete` False, or a raised HTTPException) leaves both for the retry."""
        result = CatchUp()
        thread = await self.episodes.posts.thread(episode)
        if thread is None:
            return result
        self._touched.active += 1
        self._running.add(episode.id)
        try:
            stored = {s.message_id: s for s in await store.stored_in_channel(self.db, episode.id, thread.id)}
            removed = await store.removed_message_ids(self.db, episode.id)
            likes = await likes_store.like_counts(self.db, episode.id, thread.id)
            read, complete = await self._read_recent(thread, self._watermark(episode))
            await self._walk(episode, read, stored, removed, likes, result)
            present = {m.id for m in read}
            # Messages older than the read were not looked at: their absence from it means nothing.
            oldest = 0 if complete else min(present)
            unseen = [
                mid
                for mid, s in stored.items()
                if s.origin != "form" and mid >= oldest and mid not in present
            ]
            gone, checked = await self._confirm_gone(episode, thread, unseen)
            if gone:
                await store.delete_messages(self.db, gone)
                result.deleted = len(gone)
            result.complete = result.complete and checked
            if result.complete:
                if newest := max(present, default=0):
                    await episode_store.advance_last_seen(self.db, episode.id, newest)
                self._pending.discard(episode.id)  # from now on, live messages move its last seen message
        finally:
            self._running.discard(episode.id)
            self._touched.active -= 1
            if not self._touched.active:
                self._touched.ids.clear()
        if result.added or result.deleted:
            await self.episodes.posts.schedule_card_sync(episode.id, CARD_DELAY)
        if result.added or result.updated or result.deleted:
            log.info("episode %s caught up: %s", episode.code, result)
        return result

    async def _walk(
        self,
        episode: Episode,
        read: list[discord.Message],
        stored: dict[int, StoredMessage],
        removed: set[int],
        likes: dict[int, dict[str, int]],
        result: CatchUp,
    ) -> None:
        """Apply the messages read (newest first) that the record lacks, holds in an older version, or
        holds with other likes (`likes`: message id -> {emoji: members}), counting into `result`."""
        for message in reversed(read):  # oldest first: a failure part-way leaves no gap behind
            if message.id in self._touched.ids:
                continue
            known = stored.get(message.id)
            if known is None:
                if not collectable(message) or message.id in removed:
                    continue
                data = message_data(message)
                if data.empty:
                    continue
                # Not `seen`: the mark moves only once the whole catch-up completed.
                added = await store.add(
                    self.db, data.contribution(episode.id, "thread"), respect_removals=True
                )
                result.added += int(added.created)
                if added.id is None:
                    continue
            elif known.origin != "form" and collectable(message):
                data = message_data(message)
                if data.content != known.body or data.attachments != known.attachments:
                    await store_edit(self.db, message.id, data)
                    result.updated += 1
            try:
                if await self._catch_up_likes(message, likes.get(message.id, {})):
                    result.likes_fixed += 1
            except discord.HTTPException as exc:  # its likes wait for the retry; the walk goes on
                log.warning("could not read the reactions of message %s: %s", message.id, exc)
                result.complete = False

    def _watermark(self, episode: Episode) -> int:
        """The newest message of the thread known to be collected when this process started."""
        if episode.id in self._watermarks:
            return self._watermarks[episode.id] or 0
        return episode.last_seen_message_id or 0

    async def _read_recent(
        self, thread: discord.Thread, watermark: int
    ) -> tuple[list[discord.Message], bool]:
        """The thread's messages newest first, back to the watermark (what was posted while the bot was
        away) and at least the last `RECENT` (for edits and deletions made meanwhile); and whether the
        read reached the thread's first message. Paged backwards, so it costs requests in proportion to
        what is new, plus one."""
        read: list[discord.Message] = []
        async for message in thread.history(limit=None):
            read.append(message)
            if len(read) >= RECENT and message.id <= watermark:
                return read, False
        return read, True

    async def _confirm_gone(
        self, episode: Episode, thread: discord.Thread, unseen: list[int]
    ) -> tuple[list[int], bool]:
        """The stored messages the history read did not show that Discord says are gone, and whether
        every look-up was answered (False: a refusal cut them short, the catch-up is tried again).

        A history read proves nothing by what it leaves out (it comes back empty without Read Message
        History, short after an outage): each missing message is fetched, newest first, at most
        `CONFIRM_LIMIT` per thread, and only "Unknown Message" for that very message removes it. A
        refusal or failure stops the look-ups and keeps the rest for the retry."""
        gone: list[int] = []
        answered = True
        for message_id in sorted(unseen, reverse=True)[:CONFIRM_LIMIT]:
            if message_id in self._touched.ids:
                continue  # a live event already dealt with it
            try:
                await thread.fetch_message(message_id)
            except discord.NotFound as exc:
                if exc.code != UNKNOWN_MESSAGE:
                    log.warning("could not check messages of episode %s: %s", episode.id, exc)
                    answered = False
                    break  # the thread itself is unknown or unreachable: that proves nothing
                gone.append(message_id)
            except discord.HTTPException as exc:
                log.warning("could not check messages of episode %s: %s", episode.id, exc)
                answered = False
                break
        return [m for m in gone if m not in self._touched.ids], answered

    async def _catch_up_likes(self, message: discord.Message, known: dict[str, int]) -> bool:
        me = self.bot.user.id if self.bot.user else 0
        counts = {str(r.emoji): r.count - int(r.me) for r in message.reactions}
        counts = {k: v for k, v in counts.items() if v > 0}
        if counts == known:
            return False
        pairs: list[tuple[int, str]] = []
        for reaction in message.reactions:
            async for user in reaction.users(limit=None):
                if not user.bot and user.id != me:
                    pairs.append((user.id, str(reaction.emoji)))
        await likes_store.replace_likes(self.db, message.id, pairs)
        return True
