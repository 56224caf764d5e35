"""Episodes: the use cases (create, move, edit) and who may do them (hosts, authors).

A change is committed to the database first and returned as a `Change`; the command answers the
member, then calls `Change.publish()` to bring the forum post up to date (`sync.PostSync`) and post a
note in its thread (`notes.ThreadNotes`). When Discord refuses, a job retries it, so no change is
ever lost to a Discord hiccup, and no member waits on Discord's side of it for their answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.permissions import is_admin
from bot.core.scheduler import Scheduler
from bot.errors import InvalidInput, NotAllowed, NotConfigured, NotFound
from cogs.config import store as settings_store
from cogs.config.store import GuildSettings
from cogs.episodes import authors_store, posts_store, rules, store, sync
from cogs.episodes.lists_store import CardData
from cogs.episodes.notes import ThreadNotes
from cogs.episodes.rules import Status
from cogs.episodes.store import Episode
from cogs.episodes.sync import CARD_RETRY_SECONDS, PostSync
from cogs.episodes.views import starter_text, status_card

log = logging.getLogger(__name__)

StatusListener = Callable[[Episode, Status, int], Awaitable[None]]
Progress = Callable[[], Awaitable[None]]


async def _no_progress() -> None:
    return None


async def _nothing_to_publish() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Change:
    """A change saved in the database. `publish()` then brings Discord up to date (the card, tags and a
    note in the thread) and returns False when Discord refused part of it and a retry is scheduled.
    Commands answer the member first and publish after."""

    episode: Episode
    changed: bool = True  # False: nothing to do (e.g. already an author)
    publish: Callable[[], Awaitable[bool]] = _nothing_to_publish


# What the bot needs in the research forum, with the words Discord's settings screen uses.
FORUM_PERMISSIONS = {
    "view_channel": "View Channel",
    "send_messages": "Create Posts / Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
}


class EpisodeService:
    """The episode use cases and the one host/author permission check every feature uses."""

    def __init__(self, bot: discord.Client, db: Database, scheduler: Scheduler) -> None:
        self.bot = bot
        self.db = db
        self.scheduler = scheduler
        self.status_listeners: list[StatusListener] = []
        self.posts = PostSync(bot, db, scheduler)
        self.notes = ThreadNotes(bot, db, scheduler, self.posts)

    # -- lookups and permissions --------------------------------------------------------------------

    async def settings(self, guild_id: int) -> GuildSettings:
        return await settings_store.get(self.db, guild_id)

    async def resolve(self, guild_id: int, code: str) -> Episode:
        episode = await store.get_by_code(self.db, guild_id, code)
        if episode is None:
            raise NotFound(
                f"There is no episode `{code.strip()[:40]}` in this server. "
                "Pick one from the suggestions or see `/episode list`."
            )
        return episode

    async def is_host(self, member: discord.Member) -> bool:
        """Members with the configured host role; server admins (Manage Server) count as hosts too."""
        if is_admin(member):
            return True
        cfg = await self.settings(member.guild.id)
        if cfg.host_role_id is None:
            raise NotConfigured("No host role is set yet: an admin can set it with `/config roles`.")
        return any(role.id == cfg.host_role_id for role in member.roles)

    async def require_host(self, member: discord.Member, doing: str = "do that") -> None:
        if not await self.is_host(member):
            raise NotAllowed(f"Only hosts can {doing}.")

    async def require_host_or_author(self, member: discord.Member, episode: Episode, doing: str) -> None:
        # Hosts first: that needs no query (settings are cached), the authors' list does.
        host, no_host_role = await self.host_or_why_not(member)
        if host or await authors_store.is_author(self.db, episode.id, member.id):
            return
        raise self._not_host_or_author(episode, doing, no_host_role)

    async def host_or_why_not(self, member: discord.Member) -> tuple[bool, NotConfigured | None]:
        """Whether the member is a host (no query: settings are cached), and when no host role is set
        yet, the refusal that says so."""
        try:
            return await self.is_host(member), None
        except NotConfigured as exc:
            return False, exc

    @staticmethod
    def _not_host_or_author(episode: Episode, doing: str, no_host_role: NotConfigured | None) -> Exception:
        """The refusal of a member who is neither a host nor an author of `episode`."""
        return no_host_role or NotAllowed(f"Only hosts and the authors of `{episode.code}` can {doing}.")

    async def forum(self, guild: discord.Guild) -> discord.ForumChannel:
        cfg = await self.settings(guild.id)
        channel = guild.get_channel(cfg.research_forum_id) if cfg.research_forum_id else None
        if not isinstance(channel, discord.ForumChannel):
            raise NotConfigured(
                "No research forum is set yet: an admin can choose it with `/config channels research_forum:`."
            )
        return channel

    async def suggest(self, guild_id: int, text: str, limit: int = 25) -> list[tuple[str, str]]:
        """(code, title) pairs matching what a member is typing."""
        return rules.suggest(await store.codes_and_titles(self.db, guild_id), text, limit)

    # -- use cases ----------------------------------------------------------------------------------

    async def create(
        self,
        guild: discord.Guild,
        member: discord.Member,
        code: str,
        title: str,
        description: str | None,
        progress: Progress = _no_progress,
    ) -> tuple[Episode, discord.Thread]:
        await self.require_host(member, "create episodes")
        code = rules.validate_code(code)
        title = rules.validate_title(title)
        description = rules.validate_description(description)
        if await store.code_exists(self.db, guild.id, code):
            raise InvalidInput(f"An episode with the code `{code}` already exists. Pick another code.")
        forum = await self.forum(guild)
        self._check_forum_permissions(forum)
        await progress()
        tags = await sync.ensure_tags(forum)
        draft = Episode(0, guild.id, code, title, description, Status.IN_RESEARCH, forum.id, None, None,
                        member.id, now(), now(), None, None)  # fmt: skip
        card = status_card(CardData(draft, [], [], 0, [], 0))
        # Kept until the episode owning the post is saved: a post orphaned by a stop in between (or by a
        # refused delete below) is removed at the next start (`remove_orphaned_posts`).
        intent = await posts_store.add_post_intent(
            self.db, guild.id, forum.id, rules.thread_name(code, title)
        )
        created = await self._create_thread(
            forum,
            name=rules.thread_name(code, title),
            content=starter_text(draft),
            embed=card,
            applied_tags=sync.tags_for(tags, Status.IN_RESEARCH, has_authors=False),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        try:
            episode = await store.create(
                self.db,
                guild_id=guild.id,
                code=code,
                title=title,
                description=description,
                created_by=member.id,
                forum_id=forum.id,
                thread_id=created.thread.id,
                starter_message_id=created.message.id,
                intent_id=intent,
            )
        except BaseException:
            await self.posts.delete_quietly(created.thread)
            raise
        if any(name not in tags for name in rules.managed_tag_names(Status.IN_RESEARCH, has_authors=False)):
            await self.posts.schedule_card_sync(
                episode.id, CARD_RETRY_SECONDS
            )  # the tags could not be made yet
        return episode, created.thread

    async def _create_thread(
        self, forum: discord.ForumChannel, **kwargs
    ) -> discord.channel.ThreadWithMessage:
        try:
            return await forum.create_thread(**kwargs)
        except discord.Forbidden as exc:
            raise NotAllowed(
                f"I can't create posts in {forum.mention}: give my role "
                f"{', '.join(FORUM_PERMISSIONS.values())} there, then run the command again."
            ) from exc
        except discord.HTTPException as exc:
            raise InvalidInput(
                f"Discord refused to create the post ({exc.status}). Nothing was saved; please try again."
            ) from exc

    async def set_status(
        self, member: discord.Member, episode: Episode, status: Status, note: str | None
    ) -> Change:
        doing = "change its status"
        # Hosts pass without a query. For anyone else the move itself checks that they are an author
        # (no read of its own); when another refusal is coming, the check runs first, as it always has:
        # who may comes before what is wrong with the request.
        host, no_host_role = await self.host_or_why_not(member)
        if not host and (status == episode.status or (note is not None and len(note) > rules.NOTE_MAX)):
            await self.require_host_or_author(member, episode, doing)
        note = rules.validate_note(note)
        if status == episode.status:
            raise InvalidInput(f"`{episode.code}` is already {status.label}.")
        old = episode.status
        text = f"🔄 <@{member.id}> moved this episode from **{old.label}** to **{status.label}**."
        if note:
            text += f"\n> {note}"
        moved = await store.set_status_announced(
            self.db,
            episode,
            status,
            member.id,
            note,
            self.notes.new(text),
            author_id=None if host else member.id,
        )
        if moved is None:
            raise self._not_host_or_author(episode, doing, no_host_role)
        episode, note_id, jobs = moved
        self.scheduler.jobs_changed(jobs)

        async def publish() -> bool:
            synced = await self.publish_kept(episode.id, note_id)
            for listener in self.status_listeners:
                try:
                    await listener(episode, old, member.id)
                except Exception:
                    log.exception("status listener %r failed for episode %s", listener, episode.id)
            return synced

        return Change(episode, publish=publish)

    async def edit(
        self, member: discord.Member, episode: Episode, title: str | None, description: str | None
    ) -> Change:
        await self.require_host(member, "edit episodes")
        if title is None and description is None:
            raise InvalidInput("Give a new `title`, a new `description`, or both.")
        if title is not None:
            title = rules.validate_title(title)
        if description is not None:
            description = rules.validate_description(description) or ""
        episode = await store.edit(self.db, episode, title=title, description=description, actor_id=member.id)
        return Change(episode, publish=lambda: self.posts.sync_card(episode.id))

    async def publish_kept(self, episode_id: int, note_id: int | None) -> bool:
        """After a change that kept its note in its own transaction: the post's card and tags, then
        that note posted (once); False when part of it waits for a retry."""
        synced = await self.posts.sync_card(episode_id)
        if note_id is not None:
            synced = await self.notes.deliver_note(note_id) and synced
        return synced

    async def publish(self, episode: Episode, note: str | None = None) -> bool:
        """The post's card and tags, then an optional note in its thread (kept until Discord takes it);
        False when part of it waits for a retry."""
        synced = await self.posts.sync_card(episode.id)
        if note:
            synced = await self.notes.note(episode, note) and synced
        return synced

    # -- pass-throughs still used by cogs/research/posting.py (then `posts.*` directly) ---------------

    @staticmethod
    def _check_forum_permissions(forum: discord.ForumChannel) -> None:
        perms = forum.permissions_for(forum.guild.me)
        missing = [label for name, label in FORUM_PERMISSIONS.items() if not getattr(perms, name)]
        if missing:
            raise NotAllowed(
                f"I'm missing permissions in {forum.mention}: {', '.join(missing)}. "
                "Give them to my role there, then run the command again."
            )
