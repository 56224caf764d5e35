"""Telling a member of the decision on their author request: a DM, else a mention in the episode's thread.

Telling is a `request_outcome` job stored with the decision, so it happens once, even across a restart:
a DM whose answer was lost is looked for before it is sent again, and the note in the thread is kept
until Discord takes it.
"""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.jobs import Job
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from bot.core.service import FeatureService
from cogs.assignments import store
from cogs.assignments.store import TELL_JOB, TELL_RETRY_SECONDS, AuthorRequest, RequestStatus
from cogs.assignments.views import episode_label, thread_link
from cogs.episodes import store as episode_store
from cogs.episodes.posts_store import NewNote
from cogs.episodes.service import EpisodeService
from cogs.episodes.store import Episode
from cogs.episodes.sync import refusal_outcome

log = logging.getLogger(__name__)

DM_LOOKBACK = 10  # recent DMs searched for a decision's DM whose sending may have arrived
DM_CLOSED = frozenset({50007, 10013})  # Cannot send messages to this user, Unknown User


class DecisionTelling(FeatureService):
    """Tells the member of an approval or a decline, exactly once."""

    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        self._locks: dict[int, asyncio.Lock] = {}  # `tell_job` handles TELL_JOB (see bot.wiring)

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
        guild = self.bot.get_guild(episode.guild_id)
        where = f" in **{guild.name}**" if guild else ""
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

    async def tell_job(self, job: Job) -> Outcome:
        return await self._tell(job.payload["request_id"], attempts=job.attempts)

    async def _tell(self, request_id: int, *, attempts: int) -> Outcome:
        lock = self._locks.setdefault(request_id, asyncio.Lock())
        try:
            async with lock:
                return await self._tell_once(request_id, attempts)
        finally:
            if not lock.locked() and self._locks.get(request_id) is lock:
                del self._locks[request_id]

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
        text = self._decision_dm(request, episode)
        try:
            user = self.bot.get_user(request.user_id) or await self.bot.fetch_user(request.user_id)
            channel = user.dm_channel or await user.create_dm()
            if request.tell_attempted_at is None or not await self._dm_arrived(channel, text, request):
                await store.tell_attempted(self.db, request.id)
                await channel.send(
                    text, allowed_mentions=discord.AllowedMentions.none(), nonce=f"tell{request.id}"
                )
            by_dm = True
        except discord.HTTPException as exc:
            if exc.status not in (403, 404) or (exc.status == 404 and exc.code not in DM_CLOSED):
                log.warning("could not tell user %s of request %s (%s)", request.user_id, request.id, exc)
                return refusal_outcome(exc, attempts, "the DM", TELL_RETRY_SECONDS)
            log.info(
                "could not DM user %s (%s %s); telling them in the thread",
                request.user_id,
                exc.status,
                exc.code,
            )
            by_dm = False
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

    async def _dm_arrived(self, channel: discord.DMChannel, text: str, request: AuthorRequest) -> bool:
        """Whether an earlier DM of this decision reached the member after all (its answer was lost)."""
        me = self.bot.user.id if self.bot.user else None
        since = request.tell_attempted_at.timestamp() - 1 if request.tell_attempted_at else 0
        try:
            async for message in channel.history(limit=DM_LOOKBACK):
                if message.created_at.timestamp() < since:
                    break
                if message.author.id == me and message.content == text:
                    return True
        except discord.Forbidden:
            log.info("can't read the DMs of user %s to check request %s", request.user_id, request.id)
        return False
