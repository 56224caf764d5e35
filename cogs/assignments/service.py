"""Author assignment: hosts claim and assign, members volunteer, hosts approve or decline.

Every author change goes to the database first (with the episode's history) and comes back as a
`Change`: the command answers the member, then `publish()` refreshes the status card and Needs Author
tag and posts a short note in the episode's thread. Review messages live in `review.py`; telling the
member of an assignment or a decision (by DM, else in the thread) in `telling.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot.core.db import Database
from bot.core.scheduler import Scheduler
from bot.core.service import FeatureService
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from cogs.assignments import store, views
from cogs.assignments.review import ReviewMessages
from cogs.assignments.store import AuthorRequest, RequestStatus
from cogs.assignments.telling import Telling
from cogs.assignments.views import REASON_MAX, episode_label
from cogs.episodes import authors_store
from cogs.episodes.service import Change, EpisodeService
from cogs.episodes.store import Episode

log = logging.getLogger(__name__)

PITCH_MAX = 1000


async def _no_problem() -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Volunteered:
    request: AuthorRequest
    created: bool  # False: the member already had this request pending
    # Posts the request for review and notes it in the thread, after the member has their answer;
    # returns why the review message could not be posted yet (it will be, later), or None.
    post_for_review: Callable[[], Awaitable[str | None]] = _no_problem


@dataclass(frozen=True, slots=True)
class Assigned:
    change: Change
    # Tells the member, after the host has their answer (a DM waits its turn behind the bot's other
    # requests): True by DM, False in the thread, None when Discord refused for now (a job tells them
    # later). None itself when there is no one to tell: nothing changed, or a host assigned themselves.
    tell: Callable[[], Awaitable[bool | None]] | None = None


@dataclass(frozen=True, slots=True)
class Withdrawn:
    request: AuthorRequest
    episode: Episode | None  # None when it is gone
    note_id: int | None  # the note saying so, kept for the episode's thread


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
        self.review = ReviewMessages(bot, db, scheduler, episodes)
        self.telling = Telling(bot, db, scheduler, episodes)

    # -- authors ------------------------------------------------------------------------------------

    async def claim(self, member: discord.Member, episode: Episode) -> Change:
        await self.episodes.require_host(member, "claim episodes")
        note = self.episodes.notes.new(f"✍️ <@{member.id}> is now writing this episode.")
        return self._added(episode, await store.add_author(self.db, episode, member.id, member.id, note=note))

    async def assign(self, actor: discord.Member, episode: Episode, member: discord.Member) -> Assigned:
        """Make `member` an author; unless they are `actor`, `Assigned.tell` then tells them (by DM, else
        in the thread). The telling is stored with the assignment: it happens even if `tell` never runs."""
        await self.episodes.require_host(actor, "assign authors")
        if member.bot:
            raise InvalidInput("Bots can't write episodes: pick a member.")
        if member.guild.id != episode.guild_id:
            raise NotFound("That member isn't in this server.")
        if member.id == actor.id:  # a host claiming: the note in the thread is enough
            note = self.episodes.notes.new(f"✍️ <@{member.id}> is now writing this episode.")
            return Assigned(
                self._added(episode, await store.add_author(self.db, episode, member.id, actor.id, note=note))
            )
        tell = {
            "episode_id": episode.id,
            "user_id": member.id,
            "assigned_by": actor.id,
            "by_name": actor.display_name,
        }
        added = await store.add_author(self.db, episode, member.id, actor.id, tell=tell)
        change = self._added(episode, added)  # the telling posts the note in the thread
        if added is None or added.tell is None:
            return Assigned(change)
        job_id = added.tell[0]
        return Assigned(change, lambda: self.telling.tell_assigned(job_id))

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

    def _added(self, episode: Episode, added: store.Added | None) -> Change:
        """The change of a member made an author (`added`, None when they already were one): the card,
        the note kept with it, and their pending request (now moot) shown as approved."""
        if added is None:
            return Change(episode, changed=False)
        self.scheduler.jobs_changed(added.jobs, added.cancelled)
        settled = added.settled  # approved by whoever added them

        async def publish() -> bool:
            if settled is not None:
                await self.review.update_review_message(settled, episode)
            return await self.episodes.publish_kept(episode.id, added.note_id)

        return Change(episode, publish=publish)

    async def _remove(self, episode: Episode, user_id: int, actor_id: int, text: str) -> Change:
        note = self.episodes.notes.new(text)
        removed = await authors_store.remove_author(
            self.db, episode.id, user_id, actor_id, note=note, guild_id=episode.guild_id
        )
        if removed is None:
            return Change(episode, changed=False)
        self.scheduler.jobs_changed(removed.jobs)
        return Change(episode, publish=lambda: self.episodes.publish_kept(episode.id, removed.note_id))

    # -- volunteering ---------------------------------------------------------------------------------

    async def volunteer(self, member: discord.Member, episode: Episode, pitch: str | None) -> Volunteered:
        pitch = validate_pitch(pitch)
        is_author, existing = await store.volunteer_state(self.db, episode.id, member.id)
        if is_author:
            raise Conflict(f"You're already an author of **{episode_label(episode)}**: no need to volunteer.")
        if existing is not None:
            return Volunteered(existing, created=False)
        request = await store.create(
            self.db, guild_id=episode.guild_id, episode_id=episode.id, user_id=member.id, pitch=pitch
        )

        async def post_for_review() -> str | None:
            problem = await self.review.post(request, episode)
            await self.episodes.notes.note(episode, views.volunteer_note(member.id))
            return problem

        return Volunteered(request, created=True, post_for_review=post_for_review)

    async def withdraw(self, user: discord.abc.User, request_id: int, guild_id: int | None) -> Withdrawn:
        """Take back the member's own pending request; the review message and the thread follow in
        `after_withdrawal`, once the member has their answer."""
        request, episode = await store.get_with_episode(self.db, request_id, guild_id)
        if request is None or request.user_id != user.id:
            raise NotAllowed("Only the member who made this request can withdraw it.")
        note = self.episodes.notes.new(f"↩️ <@{user.id}> withdrew their request to write this episode.")
        withdrawn = await store.withdraw_announced(self.db, request_id, user.id, note)
        if withdrawn is None:
            current = await store.get(self.db, request_id)
            raise Conflict(already_decided(current or request))
        request, kept = withdrawn
        self.scheduler.jobs_changed(kept.jobs)
        return Withdrawn(request, episode, kept.note_id)

    async def after_withdrawal(self, withdrawn: Withdrawn) -> None:
        """The review message and the volunteer's note show the withdrawal; the note saying so is posted."""
        if withdrawn.episode is not None:
            await self.review.update_review_message(withdrawn.request, withdrawn.episode)
        if withdrawn.note_id is not None:
            await self.episodes.notes.deliver_note(withdrawn.note_id)

    # -- reviewing ------------------------------------------------------------------------------------

    async def decidable(self, member: discord.Member, request_id: int) -> tuple[AuthorRequest, Episode]:
        """The pending request a host may decide now; refusals raise (nothing changes)."""
        await self.episodes.require_host(member, "approve or decline author requests")
        request, episode = await store.get_with_episode(self.db, request_id, member.guild.id)
        if request is None or episode is None:
            raise NotFound("This request no longer exists (its episode may have been removed).")
        if not request.is_pending:
            await self.review.schedule_sync(request, delay=0)  # make sure the message shows the outcome
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
        await self.episodes.posts.sync_card(decided.episode.id)
        return await self._told(decided)

    async def after_decline(self, decided: Decided) -> Decided:
        """The member told (DM, else a mention in the thread), once (see after_approval)."""
        return await self._told(decided)

    async def pending(
        self, member: discord.Member, episode: Episode | None, *, offset: int = 0, limit: int = 10
    ) -> tuple[int, list[tuple[AuthorRequest, Episode]]]:
        """One page of the pending requests (hosts), oldest first, and how many are pending in all."""
        await self.episodes.require_host(member, "see author requests")
        episode_id = episode.id if episode else None
        total, page = await store.pending_page(
            self.db, member.guild.id, episode_id, offset=offset, limit=limit
        )
        return total, [(request, ep) for request, ep in page if ep is not None]

    async def review_hint(self, member: discord.Member) -> str | None:
        """For hosts: why new requests can't reach the review channel, if they can't."""
        await self.episodes.require_host(member, "see author requests")
        _, problem = await self.review.channel(member.guild.id)
        return f"⚠️ New requests can't reach the review channel: {problem}" if problem else None

    async def _told(self, decided: Decided) -> Decided:
        by_dm = await self.telling.tell(decided.request)
        return Decided(decided.request, decided.episode, told_by_dm=by_dm)
