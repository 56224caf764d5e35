"""Research: collect every member message in episode threads, the form and the context menu, keep
edits, deletions and likes, catch up after downtime, search, export, credit, remove, and thank.

Ingesting a message is one indexed lookup and one transaction; the status card is refreshed in
batches through the scheduler (`EpisodeService.refresh(…, delay=…)`), never per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import discord

from bot.clock import now, now_ts
from bot.core.db import Database
from bot.core.jobs import Job, NewJob
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from bot.core.service import FeatureService
from bot.errors import InvalidInput, NotAllowed, NotFound
from cogs.episodes import store as episode_store
from cogs.episodes.rules import THANKS_STATUSES, Status
from cogs.episodes.service import Change, EpisodeService
from cogs.episodes.store import Episode
from cogs.research import rules, store
from cogs.research import views as ui
from cogs.research.rules import Dossier, DossierEpisode, Person
from cogs.research.store import Added, Attachment, Contribution, NewContribution, SearchHit

log = logging.getLogger(__name__)

CARD_DELAY = 30.0  # seconds: card updates for new contributions are batched this long
THANKS_JOB = "research_thanks"
THANKS_RETRY = 60.0
FORM_POST_JOB = "research_form_post"
CATCH_UP_JOB = "research_catch_up"
CATCH_UP_RETRY = 30.0  # seconds before a thread's failed or unfinished catch-up is tried again (then backoff)
POST_RETRY = 60.0  # seconds before a form post Discord refused is tried again
LOOKBACK = 100  # recent thread messages searched for a post whose outcome is unknown
TITLE_MAX = 256
BODY_MAX = 4000
SOURCES_MAX = 4000
RECENT = 100  # messages of each thread read again at start, for edits and deletions made while away
CONFIRM_LIMIT = 100  # stored messages missing from a history read that are looked up one by one
UNKNOWN_MESSAGE = 10008  # Discord's error code: the message does not exist
_COLLECTED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
Progress = Callable[[], Awaitable[None]]


async def _no_progress() -> None:
    return None


@dataclass(frozen=True, slots=True)
class MessageData:
    """A Discord message reduced to what the record keeps."""

    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    author_name: str
    content: str
    attachments: tuple[Attachment, ...]
    created_at: int
    edited_at: int | None
    jump_url: str
    reply_to_message_id: int | None

    @property
    def empty(self) -> bool:
        return not self.content.strip() and not self.attachments

    def contribution(self, episode_id: int, origin: str, added_by: int | None = None) -> NewContribution:
        return NewContribution(
            guild_id=self.guild_id,
            episode_id=episode_id,
            author_id=self.author_id,
            author_name=self.author_name,
            origin=origin,
            body=self.content,
            attachments=self.attachments,
            links=tuple(rules.extract_links(self.content)),
            channel_id=self.channel_id,
            message_id=self.message_id,
            jump_url=self.jump_url,
            reply_to_message_id=self.reply_to_message_id,
            added_by=added_by,
            created_at=self.created_at,
            edited_at=self.edited_at,
        )


def message_data(message: discord.Message) -> MessageData:
    content = message.content or ""
    attachments = [Attachment(a.filename, a.url) for a in message.attachments]
    if not content and message.message_snapshots:  # a forwarded message: keep what was forwarded
        snapshot = message.message_snapshots[0]
        content = snapshot.content or ""
        attachments += [Attachment(a.filename, a.url) for a in snapshot.attachments]
    ref = message.reference
    reply_to = (
        ref.message_id
        if ref is not None and ref.type is discord.MessageReferenceType.reply and ref.message_id
        else None
    )
    author = message.author
    return MessageData(
        guild_id=message.guild.id if message.guild else 0,
        channel_id=message.channel.id,
        message_id=message.id,
        author_id=author.id,
        author_name=getattr(author, "display_name", None) or author.name,
        content=content,
        attachments=tuple(attachments),
        created_at=int(message.created_at.timestamp()),
        edited_at=int(message.edited_at.timestamp()) if message.edited_at else None,
        jump_url=message.jump_url,
        reply_to_message_id=reply_to,
    )


def collectable(message: discord.Message) -> bool:
    """A member's own message (not a bot's, not a webhook's, not a system message)."""
    return (
        message.guild is not None
        and not message.author.bot
        and message.webhook_id is None
        and message.type in _COLLECTED_TYPES
    )


@dataclass
class IngestStats:
    messages: int = 0
    seconds: float = 0.0


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


class ResearchService(FeatureService):
    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        self.stats = IngestStats()
        self.ingest_timings: deque[float] = deque(maxlen=10_000)  # ms per collected message, for benchmarks
        self.last_catch_up: dict[int, CatchUp] = {}
        self._touched = _LiveTouches()
        self._catch_up_task: asyncio.Task[None] | None = None
        self._watermarks: dict[int, int | None] = {}  # episode id -> last seen message id at start
        self._pending: set[int] = set()  # episodes not caught up yet since the start
        self._catching_up: set[int] = set()  # episodes whose catch-up is running right now
        # After a cog reload the first registration stays (it serves the same bot and database).
        with contextlib.suppress(ValueError):
            scheduler.register_each(THANKS_JOB, self._thanks_job)
        with contextlib.suppress(ValueError):
            scheduler.register_each(FORM_POST_JOB, self._form_post_job)
        with contextlib.suppress(ValueError):
            scheduler.register_each(CATCH_UP_JOB, self._catch_up_job)

    # -- collecting from threads ----------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if not isinstance(message.channel, discord.Thread) or not collectable(message):
            return
        started = time.perf_counter()
        await self.ingest(message_data(message))
        elapsed = time.perf_counter() - started
        self.stats.messages += 1
        self.stats.seconds += elapsed
        self.ingest_timings.append(1000 * elapsed)

    async def ingest(self, data: MessageData, *, respect_removals: bool = False) -> Added | None:
        """Store a member's message posted in an episode thread (nothing happens elsewhere)."""
        episode = await episode_store.get_by_thread(self.db, data.channel_id)
        if episode is None or episode.guild_id != data.guild_id:
            return None
        if data.empty:
            if episode.id not in self._pending:
                await episode_store.advance_last_seen(self.db, episode.id, data.message_id)
            return None
        added = await store.add(
            self.db,
            data.contribution(episode.id, "thread"),
            seen=episode.id not in self._pending,  # before catching up, older messages may be missing
            respect_removals=respect_removals,
        )
        if added.created:
            await self._card_later(episode.id)
        return added

    async def on_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if payload.guild_id is None or "content" not in payload.data:
            return
        message = payload.message
        if message.author.bot or message.webhook_id is not None:
            return
        if self._touched.active:
            self._touched.ids.add(message.id)
        data = message_data(message)
        changed = await self._store_edit(message.id, data)
        if changed or await store.is_stored(self.db, message.id):
            return
        if isinstance(message.channel, discord.Thread) and collectable(message):
            # Not stored yet (it was empty, or posted while the bot was away): collect it now.
            await self.ingest(data, respect_removals=True)

    async def on_delete(self, message_ids: Iterable[int]) -> None:
        ids = list(message_ids)
        if self._touched.active:
            self._touched.ids.update(ids)
        for episode_id in await store.delete_messages(self.db, ids):
            await self._card_later(episode_id)

    async def on_reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        if payload.guild_id is None or (self.bot.user and payload.user_id == self.bot.user.id):
            return
        if added and payload.member is not None and payload.member.bot:
            return
        if added:
            await store.add_like(self.db, payload.message_id, payload.user_id, str(payload.emoji))
        else:
            await store.remove_like(self.db, payload.message_id, payload.user_id, str(payload.emoji))

    async def on_reactions_cleared(self, message_id: int, emoji: str | None = None) -> None:
        await store.clear_likes(self.db, message_id, emoji)

    async def _card_later(self, episode_id: int) -> None:
        await self.episodes.refresh(episode_id, delay=CARD_DELAY)

    # -- catching up ------------------------------------------------------------------------------

    def start_catch_up(self) -> None:
        """Reconcile every episode thread with Discord in the background."""
        if self._catch_up_task is None or self._catch_up_task.done():
            self._catch_up_task = asyncio.create_task(self.catch_up_all(), name="archivist-research-catch-up")

    def stop(self) -> None:
        if self._catch_up_task is not None and not self._catch_up_task.done():
            self._catch_up_task.cancel()

    async def catch_up_all(self) -> None:
        started = time.perf_counter()
        episodes = [e for e in await episode_store.with_threads(self.db) if self.bot.get_guild(e.guild_id)]
        for episode in episodes:
            if episode.id in self._catching_up:
                continue  # its retry is running right now, and schedules the next one if it must
            try:
                result = await self.catch_up(episode)
                self.last_catch_up[episode.id] = result
                if not result.complete:
                    await self._catch_up_later(episode)
            except discord.HTTPException as exc:
                log.warning(
                    "could not catch up on the thread of episode %s, trying again: %s", episode.id, exc
                )
                await self._catch_up_later(episode)
            except Exception:
                log.exception("catching up on the thread of episode %s failed, trying again", episode.id)
                await self._catch_up_later(episode)
        log.info("caught up on %d episode thread(s) in %.2f s", len(episodes), time.perf_counter() - started)

    async def _catch_up_later(self, episode: Episode) -> None:
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

    async def _catch_up_job(self, job: Job) -> Outcome:
        """Try a thread's catch-up again until it completes (a refused read retries with backoff)."""
        episode = await episode_store.get(self.db, job.payload["episode_id"])
        if episode is None or episode.thread_id is None or self.bot.get_guild(episode.guild_id) is None:
            return DONE  # deleted, or a server the bot is not in (the start's catch-up covers it when it is)
        if episode.id not in self._pending:
            return DONE  # caught up meanwhile
        if episode.id in self._catching_up:
            return Retry("its catch-up is running", after=CATCH_UP_RETRY)
        try:
            result = await self.catch_up(episode)
        except discord.HTTPException as exc:
            return Retry(f"could not catch up on the thread: {exc}")
        self.last_catch_up[episode.id] = result
        return DONE if result.complete else Retry("a read was refused part-way")

    async def catch_up(self, episode: Episode) -> CatchUp:
        """Walk the thread's history: add missed messages, apply missed edits and deletions and likes.

        Only a complete walk moves the thread's last seen mark and ends its pending state; one cut short
        by a refused read (`complete` False, or a raised HTTPException) leaves both for the retry."""
        result = CatchUp()
        thread = await self.episodes.thread(episode)
        if thread is None:
            return result
        self._touched.active += 1
        self._catching_up.add(episode.id)
        try:
            stored = {s.message_id: s for s in await store.stored_in_channel(self.db, episode.id, thread.id)}
            removed = await store.removed_message_ids(self.db, episode.id)
            likes = await store.like_counts(self.db, episode.id, thread.id)
            read, complete = await self._read_recent(thread, self._watermark(episode))
            present = {m.id for m in read}
            newest = max(present, default=0)
            # Messages older than the read were not looked at: their absence from it means nothing.
            oldest = 0 if complete else min(present)
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
                        await self._store_edit(message.id, data)
                        result.updated += 1
                try:
                    if await self._catch_up_likes(message, likes.get(message.id, {})):
                        result.likes_fixed += 1
                except discord.HTTPException as exc:  # its likes wait for the retry; the walk goes on
                    log.warning("could not read the reactions of message %s: %s", message.id, exc)
                    result.complete = False
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
                if newest:
                    await episode_store.advance_last_seen(self.db, episode.id, newest)
                self._pending.discard(episode.id)  # from now on, live messages move its last seen message
        finally:
            self._catching_up.discard(episode.id)
            self._touched.active -= 1
            if not self._touched.active:
                self._touched.ids.clear()
        if result.added or result.deleted:
            await self._card_later(episode.id)
        if result.added or result.updated or result.deleted:
            log.info("episode %s caught up: %s", episode.code, result)
        return result

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

    async def load_watermarks(self) -> None:
        """Note, before any live message arrives, how far each thread was collected: catching up reads
        back to there, and until it has, live messages don't move that mark."""
        self._watermarks = {e.id: e.last_seen_message_id for e in await episode_store.with_threads(self.db)}
        self._pending = set(self._watermarks)

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
        await store.replace_likes(self.db, message.id, pairs)
        return True

    # -- the form and the context menu ----------------------------------------------------------

    async def submit(
        self,
        member: discord.Member,
        episode: Episode,
        title: str,
        body: str,
        sources: str | None,
        progress: Progress = _no_progress,
    ) -> tuple[int, discord.Message | None]:
        """Store a form contribution and post it in the thread, credited to its author."""
        title, body, sources = title.strip(), body.strip(), (sources or "").strip() or None
        if not title:
            raise InvalidInput("Give your contribution a title.")
        if not body:
            raise InvalidInput("The body of your contribution is empty.")
        if len(title) > TITLE_MAX or len(body) > BODY_MAX or len(sources or "") > SOURCES_MAX:
            raise InvalidInput(
                f"Too long: the title takes up to {TITLE_MAX} characters, the body and the sources up to "
                f"{BODY_MAX} each."
            )
        new = NewContribution(
            guild_id=episode.guild_id,
            episode_id=episode.id,
            author_id=member.id,
            author_name=member.display_name,
            origin="form",
            title=title,
            body=body,
            sources=sources,
            links=tuple(rules.extract_links(body, sources)),
            created_at=now_ts(),
        )
        retry_at = now().timestamp() + POST_RETRY

        def post_job(number: int) -> NewJob:
            return NewJob(FORM_POST_JOB, retry_at, {"contribution_id": number}, episode.guild_id)

        # Saved together with the job that posts it: if Discord refuses the post below, or the bot
        # stops before it, the job posts it later (and finds it first if it did arrive).
        number, job_id = await store.add_with_job(self.db, new, post_job, now().timestamp())
        self.scheduler.jobs_changed([post_job(number)])
        await progress()
        posted = await self._post_form(episode, number, member.id, title, body, sources)
        if posted is not None:
            await self.scheduler.cancel(job_id)
        await self._card_later(episode.id)
        return number, posted

    async def _post_form(
        self, episode: Episode, number: int, author_id: int, title: str, body: str, sources: str | None
    ) -> discord.Message | None:
        """Post a form contribution in the thread and link it to that post; None when refused."""
        posted = await self.episodes.post_in_thread(
            episode, embed=ui.form_embed(number, author_id, title, body, sources, episode.code)
        )
        if posted is not None:
            await self._link_form(number, posted)
        return posted

    async def _link_form(self, number: int, post: discord.Message) -> None:
        await store.set_message(
            self.db, number, channel_id=post.channel.id, message_id=post.id, jump_url=post.jump_url
        )

    async def _recent_own_posts(self, thread: discord.Thread) -> list[discord.Message]:
        """The bot's own posts among the thread's recent messages (empty when they can't be read)."""
        me = self.bot.user.id if self.bot.user else 0
        try:
            return [m async for m in thread.history(limit=LOOKBACK) if m.author.id == me]
        except discord.HTTPException as exc:
            log.warning("could not read recent messages of thread %s: %s", thread.id, exc)
            return []

    async def _form_post_job(self, job: Job) -> Outcome:
        """Post a form contribution whose post was refused or interrupted, unless it is there."""
        found = await store.get(self.db, job.guild_id or 0, job.payload["contribution_id"])
        if found is None or found.message_id is not None:
            return DONE  # removed meanwhile, or already posted
        episode = await episode_store.get(self.db, found.episode_id)
        if episode is None:
            return DONE
        thread = await self.episodes.thread(episode)
        if thread is None:
            return Failed("the episode's thread is gone")
        for message in await self._recent_own_posts(thread):
            if any(
                f.name == ui.NUMBER_FIELD and f.value == f"#{found.id}"
                for e in message.embeds
                for f in e.fields
            ):
                await self._link_form(found.id, message)  # it did arrive: the outcome was unknown
                return DONE
        posted = await self._post_form(
            episode, found.id, found.author_id, found.title or "", found.body, found.sources
        )
        if posted is None:
            return Retry("Discord refused the post", after=POST_RETRY)
        return DONE

    async def add_message(self, member: discord.Member, episode: Episode, message: discord.Message) -> Added:
        """**Add to research**: record any message for an episode (again: it says it is there)."""
        if message.guild is None or message.guild.id != episode.guild_id:
            raise InvalidInput("Only messages of this server can be added to its episodes.")
        existing = await store.get_by_message(self.db, episode.id, message.id)
        if existing is not None:
            return Added(existing.id, False)
        if self.bot.user is not None and message.author.id == self.bot.user.id:
            raise InvalidInput("That's one of my own posts: add a member's message instead.")
        data = message_data(message)
        if data.empty:
            raise InvalidInput("That message has no text or attachments to add.")
        added = await store.add(self.db, data.contribution(episode.id, "menu", added_by=member.id))
        if added.created:
            await self._card_later(episode.id)
        return added

    async def episode_of_thread(self, channel: discord.abc.Messageable | None) -> Episode | None:
        if not isinstance(channel, discord.Thread):
            return None
        return await episode_store.get_by_thread(self.db, channel.id)

    async def episode_by_id(self, guild_id: int | None, episode_id: int) -> Episode:
        """The episode a form was opened for (NotFound once it is deleted, or from another server)."""
        found = await episode_store.get(self.db, episode_id)
        if found is None or found.guild_id != guild_id:
            raise NotFound("That episode no longer exists, so this form can't be saved.")
        return found

    async def message_to_add(
        self, guild: discord.Guild | None, channel_id: int, message_id: int
    ) -> discord.Message:
        """The message an **Add to research** picker was opened for, read again from Discord."""
        if guild is None:
            raise NotFound("I can't see the channel of that message any more.")
        channel = guild.get_channel_or_thread(channel_id)
        if channel is None:  # an archived thread, say: not in the cache
            with contextlib.suppress(discord.HTTPException):
                channel = await self.bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable) or getattr(channel, "guild", None) != guild:
            raise NotFound("I can't see the channel of that message any more.")
        try:
            return await channel.fetch_message(message_id)
        except discord.NotFound:
            raise NotFound("That message was deleted meanwhile, so there is nothing to add.") from None
        except discord.HTTPException:
            raise InvalidInput("I can't read that message right now: try again in a moment.") from None

    async def episode_by_code(self, guild_id: int, code: str) -> Episode | None:
        return await episode_store.get_by_code(self.db, guild_id, code)

    async def recent_episodes(self, guild_id: int, limit: int = 25) -> list[tuple[str, str]]:
        return await self.episodes.suggest(guild_id, "", limit)

    # -- reading ----------------------------------------------------------------------------------

    async def contributions(
        self, episode: Episode, author_id: int | None = None, *, offset: int = 0, limit: int = 8
    ) -> tuple[int, list[Contribution]]:
        """One page of an episode's contributions, newest first, and how many there are in all."""
        return await store.page_for_episode(
            self.db, episode.id, offset=offset, limit=limit, author_id=author_id
        )

    async def contribution_choices(
        self, episode: Episode, user_id: int, typed: str
    ) -> list[store.ContributionChoice]:
        """For `/research remove`'s autocomplete: numbers starting with `typed`, the member's own first."""
        return await store.choices_for(self.db, episode.id, user_id, typed)

    async def search(
        self, guild_id: int, query: str, episode: Episode | None = None
    ) -> Callable[[int, int], Awaitable[tuple[int, list[SearchHit]]]]:
        """A reader of the search's pages: (offset, limit) -> (how many match in all, that page).
        Raises InvalidInput at once when the query holds nothing to search for."""
        match = rules.build_fts_query(query)
        episode_id = episode.id if episode else None
        total: int | None = None

        async def page(offset: int, limit: int) -> tuple[int, list[SearchHit]]:
            nonlocal total
            if total is None or offset == 0:
                total = await store.count_matches(self.db, guild_id, match, episode_id=episode_id)
            hits = await store.search(
                self.db, guild_id, match, episode_id=episode_id, limit=limit, offset=offset
            )
            return total, hits

        return page

    async def save_search(self, guild_id: int, query: str, episode: Episode | None) -> int:
        """An id for the search, which its page buttons carry (the query itself is too long for them)."""
        return await store.save_search(self.db, guild_id, episode.id if episode else None, query)

    async def saved_search(self, guild_id: int | None, search_id: int) -> tuple[str, Episode | None]:
        """(query, episode or None) of a saved search; NotFound when it or its episode is gone."""
        saved = await store.saved_search(self.db, guild_id or 0, search_id)
        if saved is None:
            raise NotFound("That search is no longer available: run `/research search` again.")
        episode = await self.episode_by_id(guild_id, saved.episode_id) if saved.episode_id else None
        return saved.query, episode

    async def credits(self, guild: discord.Guild, episode: Episode) -> list[tuple[int, str, int]]:
        """(member id, display name, contributions) of every contributor, most first."""
        rows = await store.contributors(self.db, episode.id)
        return [(r.author_id, self.name_of(guild, r.author_id, r.author_name), r.contributions) for r in rows]

    def name_of(self, guild: discord.Guild | None, user_id: int, stored: str | None = None) -> str:
        member = guild.get_member(user_id) if guild else None
        if member is not None:
            return member.display_name
        if stored:
            return stored
        user = self.bot.get_user(user_id)
        return user.display_name if user else f"member {user_id}"

    async def dossier(self, guild: discord.Guild | None, episode: Episode) -> Dossier:
        """The episode's research as plain data, ready to render (names as members see them now)."""
        people: dict[int, Person] = {}

        def person(user_id: int, stored: str | None = None) -> Person:
            found = people.get(user_id)
            if found is None:
                found = people[user_id] = Person(user_id, self.name_of(guild, user_id, stored))
            return found

        entries = tuple(await store.dossier_entries(self.db, episode.id, person))
        data = await episode_store.card_data(self.db, episode.id, contributor_limit=0)
        header = DossierEpisode(
            code=episode.code,
            title=episode.title,
            status=episode.status.label,
            description=episode.description,
            authors=tuple(person(a) for a in data.authors),
            created_at=episode.created_at,
            updated_at=episode.updated_at,
            exported_at=now(),
            dates=tuple((f"{d.milestone.label} deadline", d.due_at) for d in data.deadlines),
            url=f"https://discord.com/channels/{episode.guild_id}/{episode.thread_id}"
            if episode.thread_id
            else None,
        )
        return Dossier(header, entries, rules.credits_of(entries))

    async def export(
        self, guild: discord.Guild, episode: Episode, fmt: str, progress: Progress = _no_progress
    ) -> tuple[str, bytes]:
        """(file name, bytes) of the episode's dossier; zipped only when over the upload limit."""
        if fmt not in rules.RENDERERS:
            raise InvalidInput("The format must be markdown, json or csv.")
        await progress()
        dossier = await self.dossier(guild, episode)
        # Rendering a large dossier takes a while: do it off the event loop so the bot keeps answering.
        name, text = await asyncio.to_thread(rules.render, dossier, fmt)
        return await asyncio.to_thread(rules.package, name, text, guild.filesize_limit)

    async def _store_edit(self, message_id: int, data: MessageData) -> list[int]:
        """Apply a message's current text and attachments to its stored contribution(s); the episodes changed."""
        return await store.update_message(
            self.db,
            message_id,
            body=data.content,
            links=rules.extract_links(data.content),
            attachments=data.attachments,
            edited_at=data.edited_at,
            author_name=data.author_name,
        )

    # -- removal ----------------------------------------------------------------------------------

    async def remove(self, member: discord.Member, episode: Episode, number: int) -> Change:
        """Take a contribution out of the record; `publish()` then updates the card and notes it in the
        thread, once the member has their answer."""
        found = await store.get(self.db, episode.guild_id, number)
        if found is None or found.episode_id != episode.id:
            raise NotFound(f"There is no contribution #{number} in `{episode.code}`: see `/research list`.")
        if found.author_id != member.id and not await self.episodes.is_host(member):
            raise NotAllowed("Only the contributor and hosts can remove a contribution.")
        if not await store.remove(self.db, found, member.id):
            raise NotFound(f"Contribution #{number} was already removed.")
        note = f"🗑️ <@{member.id}> removed contribution #{found.id} by <@{found.author_id}> from the research record."
        return Change(episode, publish=lambda: self.episodes.publish(episode, note))

    # -- thank-you --------------------------------------------------------------------------------

    async def on_status(self, episode: Episode, old: Status, actor_id: int) -> None:
        """The first time an episode reaches Recorded or Published: thank every contributor, once."""
        if episode.status not in THANKS_STATUSES:
            return
        contributors = await store.contributor_ids(self.db, episode.id)
        if not contributors:
            return  # nobody to thank yet; a later move to Recorded or Published will
        messages = rules.chunk_mentions(
            f"🎉 **{episode.code} · {episode.title}** is {episode.status.label.lower()}! "
            "Thank you to everyone whose research went into it:",
            contributors,
            footer=f"Your contributions stay in the episode's research dossier: `/research export episode:{episode.code}`.",
        )
        # The claim and the job that delivers the thank-you are one write: a refusal or a stop
        # before the posts below leaves the job to post them (it skips what did arrive).
        job = NewJob(
            THANKS_JOB,
            now().timestamp() + THANKS_RETRY,
            {"episode_id": episode.id, "messages": messages},
            episode.guild_id,
        )
        job_id = await store.claim_thanks(self.db, episode.id, job, now().timestamp())
        if job_id is None:
            return  # thanked before
        self.scheduler.jobs_changed([job])
        if not await self._post_thanks(episode, messages):
            await self.scheduler.cancel(job_id)

    async def _post_thanks(self, episode: Episode, messages: list[str]) -> list[str]:
        """Post the messages in order; returns those not posted (from the first refusal on)."""
        for index, text in enumerate(messages):
            ping = [int(u) for u in re.findall(r"<@!?(\d+)>", text)]
            if await self.episodes.post_in_thread(episode, text, ping=ping) is None:
                return messages[index:]
        return []

    async def _thanks_job(self, job: Job) -> Outcome:
        episode = await episode_store.get(self.db, job.payload["episode_id"])
        if episode is None:
            return Failed("the episode was deleted")
        thread = await self.episodes.thread(episode)
        if thread is None:
            return Failed("the episode's thread is gone")
        # Some of them may have arrived before a refusal or a stop: never post one twice.
        posted = {m.content.strip() for m in await self._recent_own_posts(thread)}
        messages = [m for m in job.payload["messages"] if m.strip() not in posted]
        if await self._post_thanks(episode, messages):
            return Retry("Discord refused the thank-you", after=THANKS_RETRY)
        return DONE
