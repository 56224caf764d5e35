"""Author assignment: hosts claim and assign, members volunteer, hosts approve or decline.

Every author change goes to the database first (with the episode's history) and comes back as a
`Change`: the command answers the member, then `publish()` refreshes the status card and Needs Author
tag and posts a short note in the episode's thread.

A volunteer's request is stored before anything is posted, so it is never lost: when the review
channel is missing or refuses the post, a `review_sync` job posts it later. The same job brings a
review message up to date when editing it after a decision failed.

Pending requests follow the review channel: when an admin picks another one, or a pending request's
review message is deleted, the request is posted (again) in the current review channel and its stored
message replaced; a message left in an old channel loses its buttons and points to the new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.jobs import Job
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from bot.core.service import FeatureService
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from cogs.assignments import store
from cogs.assignments.store import TELL_JOB, AuthorRequest, RequestStatus
from cogs.assignments.views import REASON_MAX, episode_label, review_embed, review_view, thread_link
from cogs.episodes import store as episode_store
from cogs.episodes.service import UNKNOWN_GONE, Change, EpisodeService, refusal_outcome
from cogs.episodes.store import Episode, NewNote

log = logging.getLogger(__name__)

REVIEW_SYNC = store.REVIEW_JOB
REVIEW_RETRY_SECONDS = 60.0
TELL_RETRY_SECONDS = 30.0
DM_LOOKBACK = 10  # recent DMs searched for a decision's DM whose sending may have arrived
DM_CLOSED = frozenset({50007, 10013})  # Cannot send messages to this user, Unknown User
PITCH_MAX = 1000

REVIEW_PERMISSIONS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
}


async def _no_problem() -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Volunteered:
    request: AuthorRequest
    created: bool  # False: the member already had this request pending
    # Posts the request for review and notes it in the thread, after the member has their answer;
    # returns why the review message could not be posted yet (it will be, later), or None.
    publish: Callable[[], Awaitable[str | None]] = _no_problem


@dataclass(frozen=True, slots=True)
class Decided:
    request: AuthorRequest
    episode: Episode
    told_by_dm: bool | None  # None: not told yet (Discord refused for now; a job tells them later)


def validate_pitch(pitch: str | None) -> str | None:
    if pitch is None or not pitch.strip():
        return None
    if len(pitch) > PITCH_MAX:
        raise InvalidInput(
            f"Your pitch is {len(pitch)} characters long; keep it to {PITCH_MAX} (you can say more in the thread)."
        )
    return pitch


def validate_reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"Keep the reason to {REASON_MAX} characters.")
    return reason.strip()


def already_decided(request: AuthorRequest) -> str:
    when = f"<t:{int(request.decided_at.timestamp())}:R>" if request.decided_at else ""
    if request.status is RequestStatus.WITHDRAWN:
        return f"This request was already withdrawn by the member {when}; nothing changed."
    return (
        f"This request was already decided: {request.status.label.lower()} by <@{request.decided_by}> {when}."
    )


class AssignmentService(FeatureService):
    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        try:
            scheduler.register_each(REVIEW_SYNC, self._review_job)
        except ValueError:
            # The cog was reloaded: the first service's handler stays (it holds no state of its own).
            log.debug("%s handler already registered", REVIEW_SYNC)
        try:
            scheduler.register_each(TELL_JOB, self._tell_job)
        except ValueError:
            log.debug("%s handler already registered", TELL_JOB)
        self._tell_locks: dict[int, asyncio.Lock] = {}

    # -- authors ------------------------------------------------------------------------------------

    async def claim(self, member: discord.Member, episode: Episode) -> Change:
        await self.episodes.require_host(member, "claim episodes")
        return await self._add(
            episode, member.id, member.id, f"✍️ <@{member.id}> is now writing this episode."
        )

    async def assign(self, actor: discord.Member, episode: Episode, member: discord.Member) -> Change:
        await self.episodes.require_host(actor, "assign authors")
        if member.bot:
            raise InvalidInput("Bots can't write episodes: pick a member.")
        if member.guild.id != episode.guild_id:
            raise NotFound("That member isn't in this server.")
        if member.id == actor.id:
            text = f"✍️ <@{member.id}> is now writing this episode."
        else:
            text = f"✍️ <@{actor.id}> added <@{member.id}> as an author of this episode."
        return await self._add(episode, member.id, actor.id, text)

    async def unclaim(self, member: discord.Member, episode: Episode) -> Change:
        # Only the episode's authors can unclaim; for anyone else there is simply nothing to remove.
        return await self._remove(
            episode, member.id, member.id, f"👋 <@{member.id}> is no longer writing this episode."
        )

    async def unassign(self, actor: discord.Member, episode: Episode, member: discord.Member) -> Change:
        await self.episodes.require_host(actor, "unassign authors")
        if member.id == actor.id:
            text = f"👋 <@{member.id}> is no longer writing this episode."
        else:
            text = f"👋 <@{actor.id}> removed <@{member.id}> from the authors of this episode."
        return await self._remove(episode, member.id, actor.id, text)

    async def _add(self, episode: Episode, user_id: int, actor_id: int, note: str) -> Change:
        if await episode_store.is_author(self.db, episode.id, user_id):
            return Change(episode, changed=False)
        if not await episode_store.add_author(self.db, episode.id, user_id, actor_id):
            return Change(episode, changed=False)
        # A pending request of theirs is now moot: it counts as approved by whoever added them.
        settled = await store.settle_for_author(self.db, episode.id, user_id, actor_id)

        async def publish() -> bool:
            if settled is not None:
                await self.update_review_message(settled, episode)
            return await self.episodes.publish(episode, note)

        return Change(episode, publish=publish)

    async def _remove(self, episode: Episode, user_id: int, actor_id: int, note: str) -> Change:
        if not await episode_store.is_author(self.db, episode.id, user_id):
            return Change(episode, changed=False)
        if not await episode_store.remove_author(self.db, episode.id, user_id, actor_id):
            return Change(episode, changed=False)
        return Change(episode, publish=lambda: self.episodes.publish(episode, note))

    # -- volunteering ---------------------------------------------------------------------------------

    async def volunteer(self, member: discord.Member, episode: Episode, pitch: str | None) -> Volunteered:
        pitch = validate_pitch(pitch)
        if await episode_store.is_author(self.db, episode.id, member.id):
            raise Conflict(f"You're already an author of **{episode_label(episode)}**: no need to volunteer.")
        existing = await store.pending_for(self.db, episode.id, member.id)
        if existing is not None:
            return Volunteered(existing, created=False)
        request = await store.create(
            self.db, guild_id=episode.guild_id, episode_id=episode.id, user_id=member.id, pitch=pitch
        )

        async def publish() -> str | None:
            problem = await self._post_review(request, episode)
            await self.episodes.note(episode, f"🙋 <@{member.id}> would like to write this episode.")
            return problem

        return Volunteered(request, created=True, publish=publish)

    async def withdraw(self, user: discord.abc.User, request_id: int, guild_id: int | None) -> AuthorRequest:
        request = await store.get(self.db, request_id, guild_id)
        if request is None or request.user_id != user.id:
            raise NotAllowed("Only the member who made this request can withdraw it.")
        withdrawn = await store.withdraw(self.db, request_id, user.id)
        if withdrawn is None:
            current = await store.get(self.db, request_id)
            raise Conflict(already_decided(current or request))
        episode = await episode_store.get(self.db, withdrawn.episode_id)
        if episode is not None:
            await self.update_review_message(withdrawn, episode)
            await self.episodes.note(episode, f"↩️ <@{user.id}> withdrew their request to write this episode.")
        return withdrawn

    # -- reviewing ------------------------------------------------------------------------------------

    async def decidable(self, member: discord.Member, request_id: int) -> tuple[AuthorRequest, Episode]:
        """The pending request a host may decide now; refusals raise (nothing changes)."""
        await self.episodes.require_host(member, "approve or decline author requests")
        request = await store.get(self.db, request_id, member.guild.id)
        episode = await episode_store.get(self.db, request.episode_id) if request else None
        if request is None or episode is None:
            raise NotFound("This request no longer exists (its episode may have been removed).")
        if not request.is_pending:
            await self._schedule_sync(request, delay=0)  # make sure the message shows the outcome
            raise Conflict(already_decided(request))
        return request, episode

    async def approve(self, member: discord.Member, request_id: int) -> Decided:
        request, episode = await self.decidable(member, request_id)
        decided = await store.approve(self.db, request.id, member.id)
        if decided is None:
            raise Conflict(already_decided(await store.get(self.db, request.id) or request))
        return Decided(decided, episode, told_by_dm=False)

    async def decline(self, member: discord.Member, request_id: int, reason: str | None) -> Decided:
        reason = validate_reason(reason)
        request, episode = await self.decidable(member, request_id)
        decided = await store.decline(self.db, request.id, member.id, reason)
        if decided is None:
            raise Conflict(already_decided(await store.get(self.db, request.id) or request))
        return Decided(decided, episode, told_by_dm=False)

    async def after_approval(self, decided: Decided) -> Decided:
        """Card and tags, then the member told (DM, else a mention in the thread) with a note in the
        thread. Telling is a job stored with the decision: it happens once, even across a restart."""
        await self.episodes.refresh(decided.episode.id)
        return await self._told(decided)

    async def after_decline(self, decided: Decided) -> Decided:
        """The member told (DM, else a mention in the thread), once (see after_approval)."""
        return await self._told(decided)

    async def _told(self, decided: Decided) -> Decided:
        try:
            outcome = await self._tell(decided.request.id, attempts=0)
        except Exception as exc:  # e.g. "database is locked" recording it: the job checks and finishes
            log.warning("telling the member of request %s waits for its job (%s)", decided.request.id, exc)
            outcome = Retry(str(exc))
        if isinstance(outcome, Retry):  # its job (stored with the decision) tells them: make it awaited
            await self.scheduler.schedule(
                TELL_JOB,
                now().timestamp() + TELL_RETRY_SECONDS,
                {"request_id": decided.request.id},
                guild_id=decided.request.guild_id,
                dedupe_key=f"tell:{decided.request.id}",
            )
        if outcome is not DONE:
            return Decided(decided.request, decided.episode, told_by_dm=None)
        request = await store.get(self.db, decided.request.id) if outcome is DONE else None
        by_dm = request.told_by_dm if request is not None else None
        return Decided(decided.request, decided.episode, told_by_dm=by_dm)

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

    async def _tell_job(self, job: Job) -> Outcome:
        return await self._tell(job.payload["request_id"], attempts=job.attempts)

    async def _tell(self, request_id: int, *, attempts: int) -> Outcome:
        lock = self._tell_locks.setdefault(request_id, asyncio.Lock())
        try:
            async with lock:
                return await self._tell_once(request_id, attempts)
        finally:
            if not lock.locked() and self._tell_locks.get(request_id) is lock:
                del self._tell_locks[request_id]

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
            await self.episodes.deliver_note(note_id)
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

    async def pending(
        self, member: discord.Member, episode: Episode | None, *, offset: int = 0, limit: int = 10
    ) -> tuple[int, list[tuple[AuthorRequest, Episode]]]:
        """One page of the pending requests (hosts), oldest first, and how many are pending in all."""
        await self.episodes.require_host(member, "see author requests")
        episode_id = episode.id if episode else None
        total = await store.count_pending(self.db, member.guild.id, episode_id)
        requests = await store.list_pending(self.db, member.guild.id, episode_id, offset=offset, limit=limit)
        found = []
        known: dict[int, Episode | None] = {episode.id: episode} if episode else {}
        for request in requests:
            if request.episode_id not in known:  # one lookup per episode, not per request
                known[request.episode_id] = await episode_store.get(self.db, request.episode_id)
            ep = known[request.episode_id]
            if ep is not None:
                found.append((request, ep))
        return total, found

    async def review_hint(self, member: discord.Member) -> str | None:
        """For hosts: why new requests can't reach the review channel, if they can't."""
        await self.episodes.require_host(member, "see author requests")
        _, problem = await self._review_channel(member.guild.id)
        return f"⚠️ New requests can't reach the review channel: {problem}" if problem else None

    # -- the review message ---------------------------------------------------------------------------

    async def _review_channel(self, guild_id: int) -> tuple[discord.abc.Messageable | None, str | None]:
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

    async def _post_review(
        self, request: AuthorRequest, episode: Episode, *, old_gone: bool = False
    ) -> str | None:
        """Post the request for review; None when posted, else why not (and a retry is scheduled)."""
        channel, problem = await self._review_channel(request.guild_id)
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
        await self._schedule_sync(request)
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
        channel, _ = await self._review_channel(guild_id)
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
                await self._schedule_sync(request)
        return posted

    async def check_review_messages(self, guild_id: int) -> int:
        """At start: pending requests whose review message was deleted while the bot was away are posted
        again. One read of the review channel's recent messages, then one look-up per pending message
        not among them; only Discord answering Unknown Message counts as deleted. Returns how many."""
        channel, _ = await self._review_channel(guild_id)
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
            if episode is not None and await self._post_review(request, episode, old_gone=True) is None:
                reposted += 1
        return reposted

    async def update_review_message(self, request: AuthorRequest, episode: Episode) -> bool:
        """Show the request's current state on its review message (retried later when refused)."""
        if request.review_message_id is None:
            return True
        try:
            await self._edit_review(request, episode)
            return True
        except discord.NotFound as exc:
            if exc.code in UNKNOWN_GONE:
                log.info("review message of request %s is gone", request.id)
                if request.is_pending:  # it must stay decidable: post it again
                    await self._schedule_sync(request, delay=0)
                return True
            log.warning("review message of request %s not updated (404); retrying later", request.id)
            await self._schedule_sync(request)
            return False
        except discord.HTTPException as exc:
            log.warning(
                "review message of request %s not updated (%s); retrying later", request.id, exc.status
            )
            await self._schedule_sync(request)
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

    async def _schedule_sync(self, request: AuthorRequest, delay: float = REVIEW_RETRY_SECONDS) -> None:
        await self.scheduler.schedule(
            REVIEW_SYNC,
            now().timestamp() + delay,
            {"request_id": request.id},
            guild_id=request.guild_id,
            dedupe_key=store.review_key(request.id),
        )

    async def _review_job(self, job: Job) -> Outcome:
        request = await store.get(self.db, job.payload["request_id"])
        if request is None:
            return Failed("the request is gone")
        episode = await episode_store.get(self.db, request.episode_id)
        if episode is None:
            return Failed("the episode is gone")
        if request.is_pending:
            channel, problem = await self._review_channel(request.guild_id)
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
                channel, problem = await self._review_channel(request.guild_id)
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
