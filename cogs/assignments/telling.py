"""Telling a member they became an author (a host assigned them, or approved their request) or that their
request was declined: a DM, else a mention in the episode's thread that pings only them.

Telling is a `request_outcome` job stored in the same transaction as the decision or the assignment, so
it happens once, even across a restart: it is tried at once, and the job tries again later when Discord
refused. A DM whose answer was lost is looked for before it is sent again, and the note in the thread is
kept (with the job finished, or the request marked told, in one write) until Discord takes it. The DM
channel is reached through `bot.core.dms` (remembered: no look-up of the member, no opening of the DM).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import discord

from bot.clock import from_ts, now
from bot.core.db import Database
from bot.core.dms import DirectMessages, unknown_channel
from bot.core.jobs import Job
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from bot.core.service import FeatureService
from cogs.assignments import store
from cogs.assignments.store import TELL_JOB, TELL_RETRY_SECONDS, AuthorRequest, RequestStatus
from cogs.assignments.views import assigned_dm, assigned_note, episode_label, thread_link
from cogs.episodes import authors_store
from cogs.episodes import store as episode_store
from cogs.episodes.posts_store import NewNote
from cogs.episodes.service import EpisodeService
from cogs.episodes.store import Episode
from cogs.episodes.sync import refusal_outcome

log = logging.getLogger(__name__)

DM_LOOKBACK = 10  # recent DMs searched for a DM whose sending may have arrived
DM_CLOSED = frozenset({50007, 10013})  # Cannot send messages to this user, Unknown User


def dms_closed(exc: discord.HTTPException) -> bool:
    """Discord will never take this DM: the member's DMs are closed (403), or they left Discord."""
    return exc.status == 403 or (exc.status == 404 and exc.code in DM_CLOSED)


class Telling(FeatureService):
    """Tells a member of an assignment, an approval or a decline, exactly once (`tell_job` handles
    TELL_JOB, see bot.wiring)."""

    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        self._locks: dict[str, asyncio.Lock] = {}
        self.dms = DirectMessages(bot, db)

    async def tell_job(self, job: Job) -> Outcome:
        if "request_id" in job.payload:
            return await self._tell(job.payload["request_id"], attempts=job.attempts)
        outcome, _ = await self._tell_assigned(job.id, attempts=job.attempts, look_first=True)
        return outcome

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
        """One telling of the same thing at a time (the command's and the job's may meet)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    # -- the DM, shared -------------------------------------------------------------------------------

    async def _dm(
        self,
        user_id: int,
        text: str,
        *,
        look_since: datetime | None,
        nonce: str,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Make sure the member has `text` by DM: True when it is in their DMs (sent now, or found there
        when `look_since` says an earlier attempt may have arrived), False when Discord will never take
        it (DMs closed, or they left Discord). Other refusals raise `discord.HTTPException`."""
        try:
            channel, remembered = await self.dms.resolve(user_id)
            try:
                await self._dm_in(channel, user_id, text, look_since=look_since, nonce=nonce, before=before)
            except discord.NotFound as exc:
                if not remembered or not unknown_channel(exc):
                    raise
                channel = await self.dms.reopen(user_id, channel.id)
                await self._dm_in(channel, user_id, text, look_since=look_since, nonce=nonce, before=before)
            return True
        except discord.HTTPException as exc:
            if not dms_closed(exc):
                raise
            log.info(
                "could not DM user %s (%s %s); telling them in the thread", user_id, exc.status, exc.code
            )
            return False

    async def _dm_in(
        self,
        channel: discord.abc.Messageable,
        user_id: int,
        text: str,
        *,
        look_since: datetime | None,
        nonce: str,
        before: Callable[[], Awaitable[None]] | None,
    ) -> None:
        if look_since is None or not await self._dm_arrived(channel, text, look_since, user_id):
            if before is not None:
                await before()
            await channel.send(text, allowed_mentions=discord.AllowedMentions.none(), nonce=nonce)

    async def _dm_arrived(
        self, channel: discord.abc.Messageable, text: str, since: datetime, user_id: int
    ) -> bool:
        """Whether an earlier DM with `text` reached the member after all (its answer was lost)."""
        me = self.bot.user.id if self.bot.user else None
        after = since.timestamp() - 1
        try:
            async for message in channel.history(limit=DM_LOOKBACK):
                if message.created_at.timestamp() < after:
                    break
                if message.author.id == me and message.content == text:
                    return True
        except discord.Forbidden:
            log.info("can't read the DMs of user %s to check an earlier attempt", user_id)
        return False

    def _guild_name(self, guild_id: int) -> str | None:
        guild = self.bot.get_guild(guild_id)
        return guild.name if guild else None

    # -- an assignment ----------------------------------------------------------------------------------

    async def tell_assigned(self, job_id: int) -> bool | None:
        """Tell a member a host assigned them, now: True by DM, False in the thread, None not yet (the
        job `job_id`, stored with the assignment, tells them when Discord lets it)."""
        try:
            outcome, by_dm = await self._tell_assigned(job_id, attempts=0, look_first=False)
        except Exception as exc:  # e.g. "database is locked" recording it: the job checks and finishes
            log.warning("telling of assignment job %s waits for its job (%s)", job_id, exc)
            return None
        return by_dm if outcome is DONE else None

    async def _tell_assigned(
        self, job_id: int, *, attempts: int, look_first: bool
    ) -> tuple[Outcome, bool | None]:
        async with self._lock(f"assign:{job_id}"):
            return await self._tell_assigned_once(job_id, attempts, look_first)

    async def _tell_assigned_once(
        self, job_id: int, attempts: int, look_first: bool
    ) -> tuple[Outcome, bool | None]:
        job = await store.pending_tell(self.db, job_id)
        if job is None:
            return DONE, None  # told already
        user_id, by_id = int(job.payload["user_id"]), int(job.payload["assigned_by"])
        episode = await episode_store.get(self.db, int(job.payload["episode_id"]))
        if episode is None:
            return Failed("the episode is gone"), None
        if not await authors_store.is_author(self.db, episode.id, user_id):
            await store.told_of_assignment(self.db, job_id, episode, None)  # removed before they heard
            return DONE, None
        text = assigned_dm(
            episode, self._guild_name(episode.guild_id), str(job.payload.get("by_name") or f"<@{by_id}>")
        )
        look_since = from_ts(job.created_at) if look_first else None
        try:
            by_dm = await self._dm(user_id, text, look_since=look_since, nonce=f"assign{job_id}")
        except discord.HTTPException as exc:
            log.warning("could not tell user %s of their assignment (%s)", user_id, exc)
            return refusal_outcome(exc, attempts, "the DM", TELL_RETRY_SECONDS), None
        note = NewNote(
            assigned_note(user_id, by_id, by_dm=by_dm),
            now().timestamp() + TELL_RETRY_SECONDS,
            () if by_dm else (user_id,),
        )
        kept = await store.told_of_assignment(self.db, job_id, episode, note)
        if kept is not None:
            note_id, note_job = kept
            self.scheduler.jobs_changed([note_job])
            await self.episodes.notes.deliver_note(note_id)
        return DONE, by_dm

    # -- a decision on a request ------------------------------------------------------------------------

    async def tell(self, request: AuthorRequest) -> bool | None:
        """Tell the member now: True by DM, False in the thread, None not yet (its job tells them later)."""
        try:
            outcome = await self._tell(request.id, attempts=0)
        except Exception as exc:  # e.g. "database is locked" recording it: the job checks and finishes
            log.warning("telling the member of request %s waits for its job (%s)", request.id, exc)
            outcome = Retry(str(exc))
        if isinstance(outcome, Retry):  # its job (stored with the decision) tells them: make it awaited
            await self.scheduler.schedule(
                TELL_JOB,
                now().timestamp() + TELL_RETRY_SECONDS,
                {"request_id": request.id},
                guild_id=request.guild_id,
                dedupe_key=f"tell:{request.id}",
            )
        if outcome is not DONE:
            return None
        told = await store.get(self.db, request.id)
        return told.told_by_dm if told is not None else None

    def _decision_dm(self, request: AuthorRequest, episode: Episode) -> str:
        name = self._guild_name(episode.guild_id)
        where = f" in **{discord.utils.escape_markdown(name)}**" if name else ""
        if request.status is RequestStatus.APPROVED:
            link = thread_link(episode)
            return (
                f"✅ Good news: your request to write **{episode_label(episode)}**{where} was approved. "
                "You're now one of its authors" + (f": {link}" if link else ".")
            )
        text = f"Your request to write **{episode_label(episode)}**{where} was declined by a host."
        if request.reason:
            text += f"\nReason: {request.reason}"
        return text + "\nYour research in the thread is still very welcome."

    @staticmethod
    def _decision_note(request: AuthorRequest, by_dm: bool) -> str | None:
        """What the thread is told: always an approval; a decline only when the DM could not go."""
        if request.status is RequestStatus.APPROVED:
            note = (
                f"✅ <@{request.user_id}> is now an author of this episode "
                f"(request approved by <@{request.decided_by}>)."
            )
            if not by_dm:
                note += f"\n<@{request.user_id}>, I couldn't reach you by DM, so I'm telling you here."
            return note
        if by_dm:
            return None
        note = f"<@{request.user_id}>, your request to write this episode was declined (I couldn't DM you)."
        if request.reason:
            note += f"\nReason: {request.reason}"
        return note

    async def _tell(self, request_id: int, *, attempts: int) -> Outcome:
        async with self._lock(f"request:{request_id}"):
            return await self._tell_once(request_id, attempts)

    async def _tell_once(self, request_id: int, attempts: int) -> Outcome:
        request = await store.get(self.db, request_id)
        if request is None:
            return Failed("the request is gone")
        if request.told_at is not None or request.status not in (
            RequestStatus.APPROVED,
            RequestStatus.DECLINED,
        ):
            return DONE
        episode = await episode_store.get(self.db, request.episode_id)
        if episode is None:
            return Failed("the episode is gone")

        async def attempted() -> None:
            await store.tell_attempted(self.db, request.id)

        try:
            by_dm = await self._dm(
                request.user_id,
                self._decision_dm(request, episode),
                look_since=request.tell_attempted_at,
                nonce=f"tell{request.id}",
                before=attempted,
            )
        except discord.HTTPException as exc:
            log.warning("could not tell user %s of request %s (%s)", request.user_id, request.id, exc)
            return refusal_outcome(exc, attempts, "the DM", TELL_RETRY_SECONDS)
        note = self._decision_note(request, by_dm)
        if note is None:
            await store.told(self.db, request.id, by_dm=by_dm)
            return DONE
        ping = [] if by_dm else [request.user_id]
        kept = await store.told_in_thread(
            self.db,
            request.id,
            episode,
            NewNote(note, now().timestamp() + TELL_RETRY_SECONDS, tuple(ping)),
            by_dm=by_dm,
        )
        if kept is not None:
            note_id, job = kept
            self.scheduler.jobs_changed([job])
            await self.episodes.notes.deliver_note(note_id)
        return DONE
