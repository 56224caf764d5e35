"""Review messages of author requests: posting them where hosts decide, and keeping them there.

The volunteer's "would like to write this episode" note in the thread shows the outcome once the
request is settled (approved, declined, withdrawn): the note is amended, and a refused edit retried.

A volunteer's request is stored before anything is posted, so it is never lost: when the review
channel is missing or refuses the post, a `review_sync` job posts it later. The same job brings a
review message up to date when editing it after a decision failed.

Pending requests follow the review channel: when an admin picks another one, or a pending request's
review message is deleted, the request is posted (again) in the current review channel and its stored
message replaced; a message left in an old channel loses its buttons and points to the new one.
"""

from __future__ import annotations

import logging

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.jobs import Job
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from bot.core.service import FeatureService
from cogs.assignments import store
from cogs.assignments.store import AuthorRequest
from cogs.assignments.views import review_embed, review_view, volunteer_note, volunteer_note_decided
from cogs.episodes import store as episode_store
from cogs.episodes.service import EpisodeService
from cogs.episodes.store import Episode
from cogs.episodes.sync import UNKNOWN_GONE, refusal_outcome

log = logging.getLogger(__name__)

REVIEW_SYNC = store.REVIEW_JOB
REVIEW_RETRY_SECONDS = 60.0

REVIEW_PERMISSIONS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
}


class ReviewMessages(FeatureService):
    """Posts each pending request in the review channel and keeps its message showing its state."""

    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)  # `review_job` handles REVIEW_SYNC (see bot.wiring)

    async def channel(self, guild_id: int) -> tuple[discord.abc.Messageable | None, str | None]:
        cfg = await self.episodes.settings(guild_id)
        if cfg.review_channel_id is None:
            return (
                None,
                "no review channel is set yet (an admin can choose one with `/config channels review:`).",
            )
        guild = self.bot.get_guild(guild_id)
        channel = guild.get_channel(cfg.review_channel_id) if guild else None
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return None, (
                f"the review channel <#{cfg.review_channel_id}> is gone "
                "(an admin can choose another with `/config channels review:`)."
            )
        perms = channel.permissions_for(channel.guild.me)
        missing = [label for name, label in REVIEW_PERMISSIONS.items() if not getattr(perms, name)]
        if missing:
            return None, f"I can't post in {channel.mention}: give my role {', '.join(missing)} there."
        return channel, None

    async def post(self, request: AuthorRequest, episode: Episode, *, old_gone: bool = False) -> str | None:
        """Post the request for review; None when posted, else why not (and a retry is scheduled)."""
        channel, problem = await self.channel(request.guild_id)
        if channel is not None:
            try:
                await self._repost(channel, request, episode, old_gone=old_gone)
            except discord.Forbidden:
                problem = f"I'm not allowed to post in {channel.mention}: give my role Send Messages and Embed Links there."
            except discord.HTTPException as exc:
                problem = f"Discord refused the post in {channel.mention} ({exc.status})."
            else:
                return None
        log.info("review message for request %s not posted: %s", request.id, problem)
        await self.schedule_sync(request)
        return problem

    async def _send_review(
        self, channel: discord.abc.Messageable, request: AuthorRequest, episode: Episode
    ) -> discord.Message:
        # The nonce names this request's message in this channel after the one it replaces: a repeat of
        # the same post within minutes (its answer lost) gets Discord's first message back, not a second.
        replaces = request.review_message_id or 0
        return await channel.send(
            embed=review_embed(request, episode),
            view=review_view(request),
            allowed_mentions=discord.AllowedMentions.none(),
            nonce=f"rq{request.id}.{replaces % 10**12}",
        )

    async def _repost(
        self,
        channel: discord.TextChannel | discord.Thread,
        request: AuthorRequest,
        episode: Episode,
        *,
        old_gone: bool = False,
    ) -> discord.Message:
        """Post the request in the review channel and record the message; a message it replaces (in an
        old review channel) keeps its embed but loses its buttons and points to the new one."""
        message = await self._send_review(channel, request, episode)
        old_channel, old_message = request.review_channel_id, request.review_message_id
        await store.set_review_message(self.db, request.id, message.channel.id, message.id)
        if not old_gone and old_message not in (None, message.id) and old_channel is not None:
            await self._retire(old_channel, old_message, message)
        return message

    async def _retire(self, channel_id: int, message_id: int, replacement: discord.Message) -> None:
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            await channel.get_partial_message(message_id).edit(
                content=f"Moved to {replacement.jump_url}: decide it there.",
                view=None,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            # Its buttons still decide the same request (it is looked up by id), so nothing is lost.
            log.info("old review message %s not retired (%s)", message_id, exc.status)

    async def review_channel_changed(self, guild_id: int) -> int:
        """Pending requests follow the review channel: every one not posted in the current review
        channel (never posted, or posted in an old one) is posted there now; a refusal is retried by
        its `review_sync` job. Cheap when nothing moved: one query. Returns how many were posted."""
        channel, _ = await self.channel(guild_id)
        if channel is None:
            return 0
        posted = 0
        for request in await store.pending_not_in(self.db, guild_id, channel.id):
            episode = await episode_store.get(self.db, request.episode_id)
            if episode is None:
                continue
            try:
                await self._repost(channel, request, episode)
                posted += 1
            except discord.HTTPException as exc:
                log.info("request %s not moved to the review channel yet (%s)", request.id, exc.status)
                await self.schedule_sync(request)
        return posted

    async def check_review_messages(self, guild_id: int) -> int:
        """At start: pending requests whose review message was deleted while the bot was away are posted
        again. One read of the review channel's recent messages, then one look-up per pending message
        not among them; only Discord answering Unknown Message counts as deleted. Returns how many."""
        channel, _ = await self.channel(guild_id)
        if channel is None:
            return 0
        pending = [
            r for r in await store.list_pending(self.db, guild_id) if r.review_channel_id == channel.id
        ]
        if not pending:
            return 0
        try:
            seen = {m.id async for m in channel.history(limit=100)}
        except discord.HTTPException as exc:
            log.info("could not read the review channel %s (%s)", channel.id, exc.status)
            return 0
        gone: set[int] = set()
        for request in pending:
            if request.review_message_id in seen or request.review_message_id is None:
                continue
            try:
                await channel.fetch_message(request.review_message_id)
            except discord.NotFound as exc:
                if exc.code == 10008:
                    gone.add(request.review_message_id)
            except discord.HTTPException as exc:
                log.info("could not look up review message %s (%s)", request.review_message_id, exc.status)
        return await self.review_messages_deleted(guild_id, channel.id, gone) if gone else 0

    async def review_messages_deleted(self, guild_id: int, channel_id: int, message_ids: set[int]) -> int:
        """Pending requests whose review message was deleted (a delete event is the evidence) are posted
        again in the current review channel. Returns how many were. Deletions elsewhere than in the
        review channel cost no query (settings are cached)."""
        if (await self.episodes.settings(guild_id)).review_channel_id != channel_id:
            return 0
        reposted = 0
        for request in await store.pending_with_review_message(self.db, channel_id, message_ids):
            episode = await episode_store.get(self.db, request.episode_id)
            if episode is not None and await self.post(request, episode, old_gone=True) is None:
                reposted += 1
        return reposted

    async def show_in_thread(self, request: AuthorRequest, episode: Episode) -> bool:
        """Amend the volunteer's note in the episode's thread to show how the request was settled (its
        edit is retried until Discord takes it). False when it waits for a retry."""
        decided = volunteer_note_decided(request)
        if decided is None:
            return True
        since = int(request.created_at.timestamp())
        return await self.episodes.notes.amend_note(episode, volunteer_note(request.user_id), since, decided)

    async def update_review_message(self, request: AuthorRequest, episode: Episode) -> bool:
        """Show the request's current state on its review message and on the volunteer's note in the
        thread (each retried later when refused)."""
        await self.show_in_thread(request, episode)
        if request.review_message_id is None:
            return True
        try:
            await self._edit_review(request, episode)
            return True
        except discord.NotFound as exc:
            if exc.code in UNKNOWN_GONE:
                log.info("review message of request %s is gone", request.id)
                if request.is_pending:  # it must stay decidable: post it again
                    await self.schedule_sync(request, delay=0)
                return True
            log.warning("review message of request %s not updated (404); retrying later", request.id)
            await self.schedule_sync(request)
            return False
        except discord.HTTPException as exc:
            log.warning(
                "review message of request %s not updated (%s); retrying later", request.id, exc.status
            )
            await self.schedule_sync(request)
            return False

    async def _edit_review(self, request: AuthorRequest, episode: Episode) -> None:
        channel = self.bot.get_channel(request.review_channel_id) or await self.bot.fetch_channel(
            request.review_channel_id
        )
        await channel.get_partial_message(request.review_message_id).edit(
            embed=review_embed(request, episode),
            view=review_view(request),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    async def schedule_sync(self, request: AuthorRequest, delay: float = REVIEW_RETRY_SECONDS) -> None:
        await self.scheduler.schedule(
            REVIEW_SYNC,
            now().timestamp() + delay,
            {"request_id": request.id},
            guild_id=request.guild_id,
            dedupe_key=store.review_key(request.id),
        )

    async def review_job(self, job: Job) -> Outcome:
        request = await store.get(self.db, job.payload["request_id"])
        if request is None:
            return Failed("the request is gone")
        episode = await episode_store.get(self.db, request.episode_id)
        if episode is None:
            return Failed("the episode is gone")
        if request.is_pending:
            channel, problem = await self.channel(request.guild_id)
            if request.review_message_id is None or (
                channel is not None and request.review_channel_id != channel.id
            ):
                if channel is None:
                    return Retry(problem or "no review channel")
                try:
                    await self._repost(channel, request, episode)
                except discord.HTTPException as exc:
                    return _posting_refused(exc, job)
                return DONE
        elif request.review_message_id is None:
            return DONE  # decided before it was ever posted: nothing to show any more
        try:
            await self._edit_review(request, episode)
        except discord.HTTPException as exc:
            if exc.status == 404 and exc.code in UNKNOWN_GONE:
                if not request.is_pending:
                    return Failed("the review message was deleted")
                # It must stay decidable: post it again in the current review channel.
                channel, problem = await self.channel(request.guild_id)
                if channel is None:
                    return Retry(problem or "no review channel")
                try:
                    await self._repost(channel, request, episode, old_gone=True)
                except discord.HTTPException as again:
                    return _posting_refused(again, job)
                return DONE
            return refusal_outcome(exc, job.attempts, "the review message", REVIEW_RETRY_SECONDS)
        return DONE


def _posting_refused(exc: discord.HTTPException, job: Job) -> Outcome:
    """A pending request must reach the hosts: only a refusal that can never pass (400) stops its
    posting; a 403 is retried with backoff (up to 15 minutes apart) until a moderator allows it."""
    if exc.status == 403:
        return Retry(f"Discord refused the review message: 403 {exc.text or ''}".strip())
    return refusal_outcome(exc, job.attempts, "the review message", REVIEW_RETRY_SECONDS)
