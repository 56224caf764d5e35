"""Bringing an episode's forum post up to date: its starter message (the call for research while it is
researched, thanks once it is recorded), card, name and tags (the `card_sync` job). The status tags are
created moderated, so only moderators (and the bot) can put them on or take them off a post.

A refusal that can never succeed (400: the payload is wrong; 404: the post or message is gone) is
logged once and not retried; 403 (a moderator changed permissions) is retried with backoff a few times,
then given up until the next change; everything else (429, 5xx) is retried until Discord takes it.
Posts orphaned by a stop while one was being created are removed at the next start.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.jobs import Job
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from cogs.episodes import lists_store, posts_store, rules, store
from cogs.episodes.rules import Status
from cogs.episodes.store import Episode
from cogs.episodes.views import starter_text, status_card

log = logging.getLogger(__name__)

CARD_SYNC = posts_store.CARD_JOB
CARD_RETRY_SECONDS = 30.0
INCOMPLETE_TRIES = 8  # a post whose forum can't take the tags: 30 s ×3, then 4, 8, 15, 15 min
FORBIDDEN_TRIES = 6  # a 403 is retried with backoff (30 s … 16 min) this many times, then given up
UNKNOWN_GONE = frozenset({10003, 10004, 10008})  # Unknown Channel, Unknown Guild, Unknown Message

# Where an episode's research began, when elsewhere (the old forum's topic): shown under its starter
# message. Registered by `bot.wiring`; the first answer that is not None wins.
OriginUrl = Callable[[int], Awaitable[str | None]]


class SyncIncomplete(Exception):
    """Discord took part of an update (e.g. the forum's tags could not be created yet)."""


def only_pinging(user_ids: list[int]) -> discord.AllowedMentions:
    """Mentions render for everyone but notify only these members (never roles or @everyone)."""
    users = [discord.Object(u) for u in user_ids]
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False, users=users)


def is_permanent(exc: discord.HTTPException) -> bool:
    """A refusal that the same request can never get past: 400 (the payload breaks a rule) or a 404
    saying what it changes is gone (Unknown Channel/Guild/Message: evidence, not a bare 404). 403 is
    not: a moderator may give the permission back."""
    return exc.status == 400 or (exc.status == 404 and exc.code in UNKNOWN_GONE)


def refusal_outcome(exc: discord.HTTPException, attempts: int, what: str, retry_after: float) -> Outcome:
    """What a scheduler job does after Discord refused `what`: give up on a permanent refusal (and on a
    403 that lasted FORBIDDEN_TRIES tries), otherwise try again."""
    reason = f"Discord refused {what}: {exc.status} {exc.code or ''} {exc.text or ''}".strip()
    if is_permanent(exc):
        return Failed(reason)
    if exc.status == 403:
        return Failed(reason) if attempts + 1 >= FORBIDDEN_TRIES else Retry(reason)
    return Retry(reason, after=retry_after)


def tags_for(tags: dict[str, discord.ForumTag], status: Status, has_authors: bool) -> list[discord.ForumTag]:
    """The forum's managed tags an episode in `status` wears (those the forum has)."""
    return [tags[n] for n in rules.managed_tag_names(status, has_authors) if n in tags]


def _moderated(tag: discord.ForumTag) -> discord.ForumTag:
    """The same tag (same id, name and emoji), moderated: only members who can manage posts apply it."""
    copy = discord.ForumTag(name=tag.name, emoji=tag.emoji, moderated=True)
    copy.id = tag.id
    return copy


async def ensure_tags(forum: discord.ForumChannel) -> dict[str, discord.ForumTag]:
    """The forum's tags by name, after creating the managed ones it lacks (when there is room), moderated.
    Managed tags made before they were created moderated become moderated when the bot may manage the
    forum (Manage Channel); without that permission they are left as they are (`/config check` says so)."""
    by_name = {t.name: t for t in forum.available_tags}
    missing = [name for name in rules.MANAGED_TAGS if name not in by_name]
    open_tags = {t.id for t in forum.available_tags if t.name in rules.MANAGED_TAGS and not t.moderated}
    room = len(forum.available_tags) + len(missing) <= 20
    may_manage = forum.permissions_for(forum.guild.me).manage_channels
    if (missing and room) or (open_tags and may_manage):
        kept = [_moderated(t) if t.id in open_tags and may_manage else t for t in forum.available_tags]
        created = [discord.ForumTag(name=n, moderated=True) for n in missing] if room else []
        try:
            forum = await forum.edit(available_tags=[*kept, *created])
            by_name = {t.name: t for t in forum.available_tags}
        except discord.HTTPException as exc:
            log.warning("could not create or moderate forum tags in %s: %s", forum.id, exc)
    return by_name


class PostSync:
    """Finds an episode's post and keeps its card, name and tags in step with the database."""

    def __init__(self, bot: discord.Client, db: Database, scheduler: Scheduler) -> None:
        self.bot = bot
        self.db = db
        self.scheduler = scheduler  # `card_job` handles its CARD_SYNC jobs (registered by `bot.wiring`)
        self.origin_urls: list[OriginUrl] = []  # see OriginUrl (registered by `bot.wiring`)

    async def origin_url(self, episode_id: int) -> str | None:
        for origin in self.origin_urls:
            url = await origin(episode_id)
            if url:
                return url
        return None

    async def thread(self, episode: Episode) -> discord.Thread | None:
        """The episode's post; None only on evidence that it is gone (Discord answered Unknown Channel).
        Any other refusal raises discord.HTTPException: the post may well be there."""
        if episode.thread_id is None:
            return None
        channel = self.bot.get_channel(episode.thread_id)
        if isinstance(channel, discord.Thread):
            return channel
        try:
            fetched = await self.bot.fetch_channel(episode.thread_id)
        except discord.NotFound as exc:
            if exc.code in UNKNOWN_GONE:
                return None
            raise
        return fetched if isinstance(fetched, discord.Thread) else None

    async def post_in_thread(
        self, episode: Episode, content: str | None = None, *, ping: list[int] | None = None, **kwargs
    ) -> discord.Message | None:
        """Post in the episode's thread; pings only the members in `ping`. None when Discord refused."""
        mentions = only_pinging(ping or [])
        try:
            thread = await self.thread(episode)
            if thread is None:
                return None
            return await thread.send(content, allowed_mentions=mentions, **kwargs)
        except discord.HTTPException as exc:
            log.warning("could not post in the thread of episode %s: %s", episode.id, exc)
            return None

    async def schedule_card_sync(self, episode_id: int, delay: float) -> None:
        """Bring the post up to date in `delay` seconds (one pending job per episode: bursts coalesce)."""
        await self.scheduler.schedule(
            CARD_SYNC,
            now().timestamp() + delay,
            {"episode_id": episode_id},
            dedupe_key=posts_store.card_key(episode_id),
        )

    async def sync_card(self, episode_id: int) -> bool:
        """Bring the post up to date now. False when Discord refused part of it and a retry is
        scheduled; True when it is up to date, or can never be (gone, or refused for good: logged)."""
        try:
            await self.sync_post(episode_id)
            return True
        except LookupError as exc:  # the post is gone (Discord said so): nothing left to update
            log.warning("status card of episode %s not updated: %s", episode_id, exc)
            return True
        except discord.HTTPException as exc:
            if is_permanent(exc):
                log.warning("Discord refused the post of episode %s for good: %s", episode_id, exc)
                return True
            log.warning("post of episode %s not fully updated (%s); retrying later", episode_id, exc)
        except SyncIncomplete as exc:
            log.warning("post of episode %s not fully updated (%s); retrying later", episode_id, exc)
        await self.schedule_card_sync(episode_id, CARD_RETRY_SECONDS)
        return False

    async def sync_post(self, episode_id: int) -> None:
        """Starter message, card, name and tags of the episode's post; raises discord.HTTPException on
        refusal. The starter message's text and card are one edit, so following the status costs nothing."""
        data = await lists_store.card_data(self.db, episode_id)
        episode = data.episode
        thread = await self.thread(episode)
        if thread is None:
            raise LookupError(f"the post of episode {episode.code} is gone")
        if thread.archived:
            await thread.edit(archived=False)
        refused: discord.HTTPException | None = None
        try:
            await thread.get_partial_message(episode.starter_message_id).edit(
                content=starter_text(episode, await self.origin_url(episode.id)),
                embed=status_card(data),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            refused = exc  # the name and tags still follow the episode; the card is retried after
            if exc.status == 404 and exc.code == 10003:  # Unknown Channel: the post itself is gone
                raise
        forum = thread.parent
        tags = await ensure_tags(forum) if isinstance(forum, discord.ForumChannel) else {}
        wanted_name = rules.thread_name(episode.code, episode.title)
        keep = [t for t in thread.applied_tags if t.name not in rules.MANAGED_TAGS]
        # Discord allows 5 tags on a post: the status (and Needs Author) come first, others fill the rest.
        applied = (tags_for(tags, episode.status, bool(data.authors)) + keep)[:5]
        if thread.name != wanted_name or {t.id for t in applied} != {t.id for t in thread.applied_tags}:
            await thread.edit(name=wanted_name, applied_tags=applied)
        if refused is not None:
            raise refused
        wanted = rules.managed_tag_names(episode.status, bool(data.authors))
        if any(name not in tags for name in wanted):
            raise SyncIncomplete(f"the forum lacks the tags {wanted}")

    async def card_job(self, job: Job) -> Outcome:
        try:
            await self.sync_post(job.payload["episode_id"])
        except LookupError as exc:
            return Failed(str(exc))
        except discord.HTTPException as exc:
            return refusal_outcome(exc, job.attempts, "the episode's post", CARD_RETRY_SECONDS)
        except SyncIncomplete as exc:
            # The forum has no room for the tags (20 at most) until a moderator removes some: tried for
            # about an hour, then left to the next change of the episode.
            if job.attempts + 1 >= INCOMPLETE_TRIES:
                return Failed(str(exc))
            return Retry(str(exc), after=None if job.attempts >= 3 else CARD_RETRY_SECONDS)
        return DONE

    @staticmethod
    async def delete_quietly(thread: discord.Thread) -> bool:
        """Remove a post no episode owns; False when Discord refused (its intent stays for the next start)."""
        try:
            await thread.delete()
            return True
        except discord.NotFound:
            return True
        except discord.HTTPException:
            log.warning("could not remove the orphaned post %s", thread.id)
            return False

    async def remove_orphaned_posts(self) -> int:
        """At start: posts whose creation was under way when the bot stopped, before their episode was
        saved, are removed (the host got no answer, or was told nothing was saved). A post counts as
        orphaned only if it is the bot's, has the intended name, and no episode owns it. Returns how many."""
        removed = 0
        me = self.bot.user.id if self.bot.user else None
        active: dict[int, list[discord.Thread]] = {}
        for intent in await posts_store.post_intents(self.db):
            guild = self.bot.get_guild(intent.guild_id)
            if guild is None:
                continue
            if guild.id not in active:
                try:  # Discord's own list, not the cache: absence from a cache proves nothing
                    active[guild.id] = await guild.active_threads()
                except discord.HTTPException as exc:
                    log.info("could not list the active posts of guild %s (%s)", guild.id, exc.status)
                    active[guild.id] = []
                    continue
            orphans = [
                t
                for t in active[guild.id]
                if t.parent_id == intent.forum_id
                and t.owner_id == me
                and t.name == intent.name
                and await store.get_by_thread(self.db, t.id) is None
            ]
            gone = True
            for thread in orphans:
                if await self.delete_quietly(thread):
                    removed += 1
                else:
                    gone = False
            if gone:
                await posts_store.drop_post_intent(self.db, intent.id)
        return removed
