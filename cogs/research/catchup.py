"""Catching up on episode threads after downtime, in proportion to what changed.

At the start (`catch_up_start`, once the gateway filled the guild cache) each episode thread is looked
at without a request: an active thread whose last message is not newer than the last one collected
(its watermark) costs nothing; one with newer messages is read back to its watermark, newest first
(`before` paging: one request per 100 messages), each page stored in one transaction. A thread that is
not active (archived) is not read: nobody can post in it without unarchiving it. Only the archived
threads Discord lists as archived since the previous process last knew every thread collected (one
request per forum that has such threads; the time is kept in `meta` per server) are looked at, and
read only when they have newer messages (posts made while the bot was away, then auto-archived). A
thread unarchived while the bot runs (THREAD_UPDATE) is caught up then.

Edits, deletions and reactions made while the bot was away leave a thread's last message as it was:
they are reconciled in the background (`_reconcile`), over the last RECENT messages of each thread
that may have changed, newest threads first, starting RECONCILE_DELAY seconds after the start and
spending at most RECONCILE_BUDGET requests in any RECONCILE_WINDOW. Where it got to is kept in `meta`,
so a restart goes on from there (and round to where it began) instead of from the top. A message
leaves the record only on evidence (`_confirm_gone`).

The caches here (watermarks, pending episodes, live touches, what is owed a reconciliation) are plain
attributes: every caller runs on the bot's one event loop, so no two of them interleave except at an
`await`, and each is safe there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.jobs import Job
from bot.core.scheduler import DONE, Outcome, Retry, Scheduler
from bot.core.service import FeatureService
from cogs.config import store as settings_store
from cogs.episodes import store as episode_store
from cogs.episodes.service import EpisodeService
from cogs.episodes.store import Episode
from cogs.research import store
from cogs.research.messages import CARD_DELAY, collectable, message_data
from cogs.research.store import MessageEdit, NewContribution

log = logging.getLogger(__name__)

CATCH_UP_JOB = "research_catch_up"
CATCH_UP_RETRY = 30.0  # seconds before a thread's failed or unfinished catch-up is tried again (then backoff)
PAGE = 100  # messages per history request (Discord's maximum)
# Pages of a thread's history stored in one transaction. Each commit writes every database page it touched
# (the index leaves of up to 100 authors, a new segment of the full-text index, the stored counts), so fewer,
# larger commits store a long catch-up faster: on a copy of the million-contribution database, 100,000
# messages at 5,239–5,498/s a page at a time, 5,935–6,816/s five at a time, 7,072–9,832/s ten at a time. A
# write of ten pages holds the database for about 130 ms there; a command waits for one at most.
WRITE_PAGES = 10
RECENT = 100  # last messages of a thread reconciled for edits, deletions and reactions made while away
CONFIRM_LIMIT = 100  # stored messages missing from a history read that are looked up one by one
UNKNOWN_MESSAGE = 10008  # Discord's error code: the message does not exist
RECONCILE_DELAY = 10.0  # seconds after the start's catch-up before the background reconciliation begins
RECONCILE_BUDGET = (
    240  # requests the reconciliation may make in any RECONCILE_WINDOW (under 10% of Discord's 50/s)
)
RECONCILE_WINDOW = 60.0  # seconds
RECONCILE_RETRY = (
    30.0  # seconds before a thread whose reconciliation was refused is tried again (then doubled)
)
RECONCILE_TRIES = 5  # then it waits for the next start
CHECKED_SLACK = 600.0  # seconds taken off the time kept in `meta`: clocks of host and Discord may differ
_CHECKED_KEY = "research:threads-checked:{guild_id}"  # meta: every thread known collected at this time
_CURSOR_KEY = "research:reconcile-cursor"  # meta: thread id the unfinished reconciliation got to


@dataclass
class CatchUp:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    likes_fixed: int = 0
    read: int = 0  # messages read from Discord
    complete: bool = True  # False: a read was refused part-way; the thread's catch-up is tried again


@dataclass(frozen=True, slots=True)
class StartReport:
    """What the start's catch-up did (`ThreadCatchUp.started`, None until it is finished)."""

    threads: int  # episode threads of the servers the bot is in
    unchanged: int  # active threads with nothing new: no request
    read: int  # threads read back to their watermark
    archived_skipped: int  # archived threads with nothing new: not read
    added: int  # messages collected
    requests: int  # requests made (history pages, archived-thread lists, look-ups, reaction lists)
    seconds: float


@dataclass
class _LiveTouches:
    """Messages edited or deleted live while a catch-up runs: live events win over history pages."""

    ids: set[int] = field(default_factory=set)
    active: int = 0


@dataclass(frozen=True, slots=True)
class _PageChanges:
    """What a page of history changes in the record (`store.write_page`), oldest message first."""

    rows: list[NewContribution]
    edits: list[MessageEdit]
    likes: dict[int, list[tuple[int, str]]]  # message id -> (user id, emoji) pairs

    @classmethod
    def joined(cls, pages: list[_PageChanges]) -> _PageChanges:
        """The changes of consecutive pages (oldest first) as one write."""
        return cls(
            [r for p in pages for r in p.rows],
            [e for p in pages for e in p.edits],
            {m: pairs for p in pages for m, pairs in p.likes.items()},
        )


@dataclass
class _Owed:
    """A thread owed a reconciliation of its recent messages since the start."""

    episode_id: int
    thread_id: int
    guild_id: int
    thread: discord.Thread | None  # as the start found it (an archived one is not in the cache)
    attempts: int = 0
    not_before: float = 0.0  # monotonic seconds


class RequestBudget:
    """Counts the requests a piece of work makes; with a `limit`, at most that many in any `window`
    seconds, however the window is placed: `spend()`, awaited before each request, waits for room."""

    def __init__(self, limit: int | None = None, window: float = RECONCILE_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self.spent = 0
        self._recent: deque[float] = deque()

    async def spend(self) -> None:
        if self.limit is not None:
            while True:
                at = time.monotonic()
                while self._recent and self._recent[0] <= at - self.window:
                    self._recent.popleft()
                if len(self._recent) < self.limit:
                    break
                await asyncio.sleep(self._recent[0] + self.window - at)
            self._recent.append(time.monotonic())
        self.spent += 1


class ThreadCatchUp(FeatureService):
    """Reconciles every episode thread with Discord: what was posted, edited, deleted or liked while away."""

    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        self.last: dict[int, CatchUp] = {}  # episode id -> its latest catch-up
        self.started: StartReport | None = None  # the start's catch-up, once finished
        self.reconciled = 0  # threads reconciled in the background since the start
        self._touched = _LiveTouches()
        self._task: asyncio.Task[None] | None = None
        self._reconciler: asyncio.Task[None] | None = None
        self._budget = RequestBudget()  # replaced when the reconciliation starts
        self._watermarks: dict[int, int | None] = {}  # episode id -> last seen message id at start
        self._pending: set[int] = set()  # episodes not caught up yet since the start
        self._running: set[int] = set()  # episodes whose catch-up is running right now
        self._episodes: dict[int, int] = {}  # thread id -> episode id, at start
        self._guilds: dict[int, int] = {}  # episode id -> guild id, at start
        self._classified = False  # the start looked at every thread (pending ones are being read)
        self._owed: dict[int, _Owed] = {}  # episode id -> its reconciliation still to do
        self._cursor: int | None = None  # thread id where the previous process's reconciliation stopped

    def is_pending(self, episode_id: int) -> bool:
        """Not caught up yet since the start: older messages may be missing, its last seen mark waits."""
        return episode_id in self._pending

    @property
    def reconciling(self) -> bool:
        """The background reconciliation has threads left (some may wait for their catch-up)."""
        return bool(self._owed)

    @property
    def reconcile_requests(self) -> int:
        return self._budget.spent

    def touch(self, message_ids: Iterable[int]) -> None:
        """Messages edited or deleted live: a running catch-up leaves them to the live event."""
        if self._touched.active:
            self._touched.ids.update(message_ids)

    async def load_watermarks(self) -> None:
        """Note, before any live message arrives, how far each thread was collected: catching up reads
        back to there, and until it has, live messages don't move that mark."""
        episodes = await episode_store.with_threads(self.db)
        self._watermarks = {e.id: e.last_seen_message_id for e in episodes}
        self._episodes = {e.thread_id: e.id for e in episodes if e.thread_id is not None}
        self._guilds = {e.id: e.guild_id for e in episodes}
        self._pending = set(self._watermarks)

    def start(self) -> None:
        """Catch up on every episode thread in the background, then reconcile recent messages."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.catch_up_start(), name="archivist-research-catch-up")

    def stop(self) -> None:
        for task in (self._task, self._reconciler):
            if task is not None and not task.done():
                task.cancel()

    # -- the start ---------------------------------------------------------------------------------

    async def catch_up_start(self) -> None:
        """Look at every episode thread; read only those with messages newer than their watermark."""
        started = time.perf_counter()
        requests = RequestBudget()
        cursor = await settings_store.get_meta(self.db, _CURSOR_KEY)
        self._cursor = int(cursor) if cursor else None
        episodes = [e for e in await episode_store.with_threads(self.db) if self.bot.get_guild(e.guild_id)]
        unchanged = skipped = 0
        to_read: list[tuple[Episode, discord.Thread]] = []
        inactive: dict[tuple[int, int | None], list[Episode]] = {}
        for episode in episodes:
            assert episode.thread_id is not None
            if episode.id in self._running:
                continue  # its retry is running right now, and schedules the next one if it must
            guild = self.bot.get_guild(episode.guild_id)
            thread = guild.get_thread(episode.thread_id) if guild else None
            if thread is None or thread.archived:
                inactive.setdefault((episode.guild_id, episode.forum_id), []).append(episode)
                continue
            self._owe(episode, thread)
            if self._unchanged(episode, thread):
                self._pending.discard(episode.id)
                unchanged += 1
            else:
                to_read.append((episode, thread))
        for (guild_id, forum_id), waiting in inactive.items():
            listed = await self._archived_since(guild_id, forum_id, requests)
            for episode in waiting:
                if listed is None:  # Discord refused the list: each is tried again on its own
                    self._owe(episode, None)
                    await self._later(episode)
                    continue
                thread = listed.get(episode.thread_id or 0)
                if thread is None:  # archived before the previous process last checked: nothing new
                    self._pending.discard(episode.id)
                    skipped += 1
                    continue
                self._owe(episode, thread)  # archived since: edits made before that are possible
                if self._unchanged(episode, thread):
                    self._pending.discard(episode.id)
                    skipped += 1
                else:
                    to_read.append((episode, thread))
        self._classified = True
        added = 0
        for episode, thread in sorted(to_read, key=lambda pair: -pair[1].id):  # newest threads first
            if episode.id in self._running:
                continue
            result = await self._catch_up_or_later(episode, thread, requests)
            added += result.added if result else 0
        for guild_id in {e.guild_id for e in episodes}:
            await self._note_checked(guild_id)
        self.started = StartReport(
            threads=len(episodes),
            unchanged=unchanged,
            read=len(to_read),
            archived_skipped=skipped,
            added=added,
            requests=requests.spent,
            seconds=time.perf_counter() - started,
        )
        log.info(
            "research catch-up at start: %d thread(s), %d unchanged, %d read (%d message(s) added), "
            "%d archived not read, %d request(s) in %.2f s",
            len(episodes),
            unchanged,
            len(to_read),
            added,
            skipped,
            requests.spent,
            self.started.seconds,
        )
        self._reconcile_later(RECONCILE_DELAY)

    def _owe(self, episode: Episode, thread: discord.Thread | None) -> None:
        assert episode.thread_id is not None
        self._owed[episode.id] = _Owed(episode.id, episode.thread_id, episode.guild_id, thread)

    def _unchanged(self, episode: Episode, thread: discord.Thread) -> bool:
        """Nothing posted in the thread after the last message collected (or, in a thread nobody
        posted in yet, after the bot's own starter message)."""
        newest = thread.last_message_id or 0
        watermark = self._watermark(episode)
        return newest <= watermark or (not watermark and newest == episode.starter_message_id)

    async def _archived_since(
        self, guild_id: int, forum_id: int | None, requests: RequestBudget
    ) -> dict[int, discord.Thread] | None:
        """The forum's threads archived since every thread was last known collected (all of them when
        that is not known), by id; None when Discord refused the list. Discord lists them newest
        archived first, 100 per request."""
        guild = self.bot.get_guild(guild_id)
        forum = guild.get_channel(forum_id) if guild and forum_id else None
        if not isinstance(forum, discord.ForumChannel | discord.TextChannel):
            return {}  # the forum is gone, and its threads with it
        checked = await settings_store.get_meta(self.db, _CHECKED_KEY.format(guild_id=guild_id))
        since = float(checked) - CHECKED_SLACK if checked else None
        found: dict[int, discord.Thread] = {}
        listed = 0
        older = False
        try:
            await requests.spend()
            async for thread in forum.archived_threads(limit=None):
                listed += 1
                if since is None or thread.archive_timestamp.timestamp() >= since:
                    found[thread.id] = thread
                else:
                    older = True
                if listed % PAGE == 0:  # the page is read (its order is not relied on)
                    if older:
                        break  # the next page holds threads archived even earlier
                    await requests.spend()  # the next item comes with the next page
        except discord.HTTPException as exc:
            log.warning("could not list the archived threads of %s: %s", forum.id, exc)
            return None
        return found

    async def _note_checked(self, guild_id: int) -> None:
        """Keep the time at which every thread of a server is known collected (none pending), so the
        next start lists only the threads archived after it."""
        if not self._classified or any(self._guilds.get(e) == guild_id for e in self._pending):
            return
        try:
            await settings_store.set_meta(
                self.db, _CHECKED_KEY.format(guild_id=guild_id), str(now().timestamp())
            )
        except Exception:
            log.warning("could not note that the threads of server %s are collected", guild_id, exc_info=True)

    async def _catch_up_or_later(
        self, episode: Episode, thread: discord.Thread | None, requests: RequestBudget | None = None
    ) -> CatchUp | None:
        try:
            result = await self.catch_up(episode, thread, requests)
        except discord.HTTPException as exc:
            log.warning("could not catch up on the thread of episode %s, trying again: %s", episode.id, exc)
            await self._later(episode)
            return None
        except Exception:
            log.exception("catching up on the thread of episode %s failed, trying again", episode.id)
            await self._later(episode)
            return None
        self.last[episode.id] = result
        if not result.complete:
            await self._later(episode)
        return result

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
        if episode is None or episode.thread_id is None:
            self._pending.discard(job.payload["episode_id"])
            return DONE  # deleted: nothing left to collect
        if self.bot.get_guild(episode.guild_id) is None:
            return DONE  # a server the bot is not in (the start's catch-up covers it when it is)
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

    # -- one thread --------------------------------------------------------------------------------

    async def catch_up(
        self, episode: Episode, thread: discord.Thread | None = None, requests: RequestBudget | None = None
    ) -> CatchUp:
        """Read the thread back to its watermark, newest first: add what was missed, and apply the
        edits, deletions and likes of every message read (the last page reaches past the watermark
        at no extra cost).

        Only a complete catch-up moves the thread's last seen mark and ends its pending state; one cut
        short by a refused read (`complete` False, or a raised HTTPException) leaves both for the retry."""
        requests = requests or RequestBudget()
        result = CatchUp()
        if thread is None:
            if not isinstance(self.bot.get_channel(episode.thread_id or 0), discord.Thread):
                await requests.spend()
            thread = await self.episodes.posts.thread(episode)
        if thread is None:  # Discord says the thread is gone: nothing is left to collect
            await self._completed(episode)
            return result
        if self._unchanged(episode, thread):
            await self._completed(episode)
            return result
        watermark = self._watermark(episode)
        last_message_id = thread.last_message_id or 0
        self._touched.active += 1
        self._running.add(episode.id)
        try:
            present: set[int] = set()
            changes: list[_PageChanges] = []  # newest page first
            page: list[discord.Message] = []
            reached = whole = False
            await requests.spend()
            async for message in thread.history(limit=None):  # newest first, `before` paging
                page.append(message)
                reached = reached or message.id <= watermark
                if len(page) == PAGE:
                    present.update(m.id for m in page)
                    changes.append(await self._page_changes(episode, page, result, requests))
                    page = []
                    if reached:
                        break  # the rest of this page came with it; the next would cost a request
                    await requests.spend()  # the next item comes with the next page
            else:
                whole = True  # the read reached the thread's first message
                present.update(m.id for m in page)
                changes.append(await self._page_changes(episode, page, result, requests))
            changes.reverse()  # oldest first: the record keeps the thread's order
            for start in range(0, len(changes), WRITE_PAGES):
                await self._write(_PageChanges.joined(changes[start : start + WRITE_PAGES]), result)
            # Messages older than the read were not looked at: their absence from it means nothing.
            await self._remove_gone(episode, thread, present, 0 if whole else min(present), result, requests)
            if result.complete:
                if present:
                    newest = max(max(present), last_message_id)  # newer ids than the read's are gone
                    await episode_store.advance_last_seen(self.db, episode.id, newest)
                if result.read >= RECENT:  # its recent messages were all looked at: reconciled
                    self._owed.pop(episode.id, None)
                await self._completed(episode)  # from now on, live messages move its last seen message
        finally:
            self._running.discard(episode.id)
            self._touched.active -= 1
            if not self._touched.active:
                self._touched.ids.clear()
        await self._after(episode, result)
        return result

    async def _completed(self, episode: Episode) -> None:
        """The thread is caught up: live messages move its mark again; its reconciliation may go."""
        was_pending = episode.id in self._pending
        self._pending.discard(episode.id)
        if was_pending and self._classified:
            self._reconcile_later(0.0)
            await self._note_checked(episode.guild_id)

    async def _after(self, episode: Episode, result: CatchUp) -> None:
        if result.added or result.deleted:
            await self.episodes.posts.schedule_card_sync(episode.id, CARD_DELAY)
        if result.added or result.updated or result.deleted:
            log.info("episode %s caught up: %s", episode.code, result)

    async def _page_changes(
        self, episode: Episode, page: list[discord.Message], result: CatchUp, requests: RequestBudget
    ) -> _PageChanges:
        """What one page of messages read (newest first) changes in the record: the messages it lacks,
        the edits of those it holds in an older version, and the likes that changed (oldest first). A
        refused read of a message's reactions leaves its likes for the retry."""
        result.read += len(page)
        if not page:
            return _PageChanges([], [], {})
        state = await store.page_state(self.db, episode.id, [m.id for m in page])
        rows: list[NewContribution] = []
        edits: list[MessageEdit] = []
        likes: dict[int, list[tuple[int, str]]] = {}
        for message in reversed(page):
            if message.id in self._touched.ids:
                continue
            known = state.stored.get(message.id)
            if known is None:
                if not collectable(message) or message.id in state.removed:
                    continue
                data = message_data(message)
                if data.empty:
                    continue
                # Not `seen`: the mark moves only once the whole catch-up completed.
                rows.append(data.contribution(episode.id, "thread"))
            elif known.origin != "form" and collectable(message):
                data = message_data(message)
                if data.content != known.body or data.attachments != known.attachments:
                    edits.append(data.edit())
            try:
                pairs = await self._changed_likes(message, state.likes.get(message.id, {}), requests)
            except discord.HTTPException as exc:  # its likes wait for the retry; the page goes on
                log.warning("could not read the reactions of message %s: %s", message.id, exc)
                result.complete = False
                continue
            if pairs is not None:
                likes[message.id] = pairs
        return _PageChanges(rows, edits, likes)

    async def _write(self, changes: _PageChanges, result: CatchUp) -> None:
        """Store the changes of up to WRITE_PAGES pages in one transaction; live events that arrived
        meanwhile win."""
        touched = self._touched.ids
        edits = [e for e in changes.edits if e.message_id not in touched]
        written = await store.write_page(
            self.db,
            [r for r in changes.rows if r.message_id not in touched],
            edits=edits,
            likes={m: p for m, p in changes.likes.items() if m not in touched},
        )
        result.added += written.added
        result.updated += len(edits)
        result.likes_fixed += written.likes_replaced

    async def _changed_likes(
        self, message: discord.Message, known: dict[str, int], requests: RequestBudget
    ) -> list[tuple[int, str]] | None:
        """The members' (user id, emoji) reactions of a message, when they differ from `known`
        ({emoji: members}); None when they don't."""
        me = self.bot.user.id if self.bot.user else 0
        counts = {str(r.emoji): r.count - int(r.me) for r in message.reactions}
        counts = {k: v for k, v in counts.items() if v > 0}
        if counts == known:
            return None
        pairs: list[tuple[int, str]] = []
        for reaction in message.reactions:
            await requests.spend()
            seen = 0
            async for user in reaction.users(limit=None):  # 100 per request, as many as it counts
                seen += 1
                if seen % PAGE == 0 and seen < reaction.count:
                    await requests.spend()  # the next user comes with the next request
                if not user.bot and user.id != me:
                    pairs.append((user.id, str(reaction.emoji)))
        return pairs

    async def _remove_gone(
        self,
        episode: Episode,
        thread: discord.Thread,
        present: set[int],
        since: int,
        result: CatchUp,
        requests: RequestBudget,
    ) -> None:
        """Remove the stored messages from `since` on that the read did not show and Discord says are
        gone; a look-up cut short leaves the catch-up incomplete."""
        stored = await store.mirrored_ids_since(self.db, episode.id, thread.id, since)
        unseen = [mid for mid in stored if mid not in present]
        gone, checked = await self._confirm_gone(episode, thread, unseen, requests)
        if gone:
            await store.delete_messages(self.db, gone)
            result.deleted += len(gone)
        result.complete = result.complete and checked

    def _watermark(self, episode: Episode) -> int:
        """The newest message of the thread known to be collected when this process started (or when
        the thread was unarchived)."""
        if episode.id in self._watermarks:
            return self._watermarks[episode.id] or 0
        return episode.last_seen_message_id or 0

    async def _confirm_gone(
        self, episode: Episode, thread: discord.Thread, unseen: list[int], requests: RequestBudget
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
                await requests.spend()
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

    # -- edits, deletions and reactions made while away: the background reconciliation --------------

    def _reconcile_later(self, delay: float) -> None:
        """Run the reconciliation (after `delay` seconds) unless it runs already or nothing is owed."""
        if self.started is None and delay == 0.0:
            return  # the start runs it when it is finished
        if self._reconciler is not None and not self._reconciler.done():
            return
        if not self._owed:
            return
        self._reconciler = asyncio.create_task(self._reconcile(delay), name="archivist-research-reconcile")

    async def _reconcile(self, delay: float) -> None:
        """Reconcile the owed threads one by one, within the request budget; ends when none is left
        that can be done now (the others wait for their catch-up, which starts this again)."""
        if delay:
            await asyncio.sleep(delay)
        if self._budget.limit is None:
            self._budget = RequestBudget(RECONCILE_BUDGET, RECONCILE_WINDOW)
        while (owed := self._next_owed()) is not None:
            wait = owed.not_before - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            try:
                done = await self._reconcile_one(owed)
            except discord.HTTPException as exc:
                log.warning("could not reconcile the thread of episode %s: %s", owed.episode_id, exc)
                done = False
            except Exception:
                log.exception("reconciling the thread of episode %s failed", owed.episode_id)
                done = True  # a bug: not tried again in a loop
            if done:
                await self._reconciled(owed)
                continue
            owed.attempts += 1
            if owed.attempts >= RECONCILE_TRIES:
                log.warning(
                    "gave up reconciling the thread of episode %s after %d tries (until the next start)",
                    owed.episode_id,
                    owed.attempts,
                )
                await self._reconciled(owed)
            else:
                owed.not_before = time.monotonic() + RECONCILE_RETRY * 2 ** (owed.attempts - 1)
        if not self._owed:
            log.info(
                "edits and deletions made while away reconciled in %d thread(s) (%d request(s))",
                self.reconciled,
                self._budget.spent,
            )

    def _next_owed(self) -> _Owed | None:
        """The next thread to reconcile: newest threads first, going on from where the previous
        process stopped and round; the earliest waiting for a retry when none can go now."""
        ready = [
            o
            for o in self._owed.values()
            if o.episode_id not in self._pending and o.episode_id not in self._running
        ]
        if not ready:
            return None
        cursor = self._cursor

        def ring(o: _Owed) -> tuple[int, int]:
            return (0 if cursor is None or o.thread_id < cursor else 1, -o.thread_id)

        ready.sort(key=ring)
        at = time.monotonic()
        return next((o for o in ready if o.not_before <= at), min(ready, key=lambda o: o.not_before))

    async def _reconciled(self, owed: _Owed) -> None:
        self._owed.pop(owed.episode_id, None)
        self.reconciled += 1
        await settings_store.set_meta(self.db, _CURSOR_KEY, str(owed.thread_id) if self._owed else "")

    async def _reconcile_one(self, owed: _Owed) -> bool:
        """Read the thread's last RECENT messages (one request) and apply what changed: edits, likes,
        deletions (on evidence), messages the record lacks. True when done, False when a refusal left
        part of it for a retry."""
        episode = await episode_store.get(self.db, owed.episode_id)
        if episode is None or episode.thread_id != owed.thread_id:
            return True  # deleted meanwhile
        guild = self.bot.get_guild(owed.guild_id)
        thread = (guild.get_thread(owed.thread_id) if guild else None) or owed.thread
        if thread is None:
            await self._budget.spend()
            thread = await self.episodes.posts.thread(episode)
            if thread is None:
                return True  # Discord says it is gone
            owed.thread = thread
        result = CatchUp()
        self._touched.active += 1
        self._running.add(episode.id)
        try:
            await self._budget.spend()
            read = [m async for m in thread.history(limit=RECENT)]
            await self._write(await self._page_changes(episode, read, result, self._budget), result)
            present = {m.id for m in read}
            since = 0 if len(read) < RECENT else min(present)
            await self._remove_gone(episode, thread, present, since, result, self._budget)
        finally:
            self._running.discard(episode.id)
            self._touched.active -= 1
            if not self._touched.active:
                self._touched.ids.clear()
        await self._after(episode, result)
        return result.complete

    # -- live events (the research cog's listeners): a thread archived or unarchived, the bot's own posts

    async def thread_updated(self, before: discord.Thread, after: discord.Thread) -> None:
        if after.archived and not before.archived:
            await self._archived(after)
        elif before.archived and not after.archived:
            await self._unarchived(after)

    async def thread_joined(self, thread: discord.Thread) -> None:
        """discord.py's event for a thread it did not have, e.g. one unarchived (archived threads are
        not in the cache)."""
        if thread.archived:
            await self._archived(thread)
        else:
            await self._unarchived(thread)

    async def _archived(self, thread: discord.Thread) -> None:
        """Archived while the bot watches: the time every thread is known collected moves up to now."""
        if thread.id in self._episodes:
            await self._note_checked(thread.guild.id)

    async def _unarchived(self, thread: discord.Thread) -> None:
        """An episode thread is active again: collect what it has that is newer than its mark (posts
        made while it was archived can't be, but one the start could not check can)."""
        if self.started is None:
            return  # the start looks at it
        episode_id = self._episodes.get(thread.id)
        if episode_id is None:  # an episode created since the start (or another thread)
            found = await episode_store.get_by_thread(self.db, thread.id)
            if found is None:
                return
            episode_id = self._know(found)
        if episode_id in self._pending or episode_id in self._running:
            return  # its catch-up is under way or scheduled
        self._pending.add(episode_id)  # before another await: live messages no longer move its mark
        # Read after any live message that came first moved the mark, and before any later one could.
        episode = await episode_store.get(self.db, episode_id)
        if episode is None or episode.thread_id != thread.id:
            self._pending.discard(episode_id)
            return
        self._watermarks[episode_id] = episode.last_seen_message_id
        await self._catch_up_or_later(episode, thread)

    def _know(self, episode: Episode) -> int:
        """Remember an episode thread that appeared since the start."""
        if episode.thread_id is not None:
            self._episodes[episode.thread_id] = episode.id
        self._guilds[episode.id] = episode.guild_id
        return episode.id

    async def message_seen(self, message: discord.Message) -> None:
        """A message in an episode thread that is not collected (the bot's own, a system message)
        still moves the thread's last seen mark, so the next start finds the thread unchanged.
        Members' messages are the research service's (`ResearchService.ingest`)."""
        if not isinstance(message.channel, discord.Thread) or collectable(message):
            return
        episode_id = self._episodes.get(message.channel.id)
        if episode_id is None:  # an episode created since the start (or another thread): rare posts
            found = await episode_store.get_by_thread(self.db, message.channel.id)
            if found is None:
                return
            episode_id = self._know(found)
        if episode_id in self._pending:
            return
        await episode_store.advance_last_seen(self.db, episode_id, message.id)
