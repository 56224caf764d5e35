"""Episodes: create, move, edit, and keep each episode's forum post (card, tags, name) in sync.

A change is committed to the database first and returned as a `Change`; the command answers the
member, then calls `Change.publish()` to bring the forum post up to date. When Discord refuses that
update, a `card_sync` job retries it within two minutes (and at the next start), so no change is
ever lost to a Discord hiccup, and no member waits on Discord's side of it for their answer.

Notes in the thread ("moved to Writing", "is now an author") are kept in the database before they are
posted (`thread_notes`) and delivered by a `thread_note` job until Discord takes them; the id of the
message that carries a note is recorded, so a retry never posts it twice.

A refusal that can never succeed (400: the payload is wrong; 404: the post or message is gone) is
logged once and not retried; 403 (a moderator changed permissions) is retried with backoff a few times,
then given up until the next change; everything else (429, 5xx) is retried until Discord takes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.jobs import Job
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from bot.errors import InvalidInput, NotAllowed, NotConfigured, NotFound
from cogs.config import store as settings_store
from cogs.config.store import GuildSettings
from cogs.episodes import rules, store
from cogs.episodes.rules import Status
from cogs.episodes.store import NOTE_JOB, CardData, Episode, NewNote, ThreadNote
from cogs.episodes.views import call_for_research, status_card

log = logging.getLogger(__name__)

CARD_SYNC = store.CARD_JOB
CARD_RETRY_SECONDS = 30.0
NOTE_RETRY_SECONDS = 30.0
INCOMPLETE_TRIES = 8  # a post whose forum can't take the tags: 30 s ×3, then 4, 8, 15, 15 min
FORBIDDEN_TRIES = 6  # a 403 is retried with backoff (30 s … 16 min) this many times, then given up
NOTE_LOOKBACK = 50  # recent messages searched for a note whose post may have arrived
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


class SyncIncomplete(Exception):
    """Discord took part of an update (e.g. the forum's tags could not be created yet)."""


def only_pinging(user_ids: list[int]) -> discord.AllowedMentions:
    """Mentions render for everyone but notify only these members (never roles or @everyone)."""
    users = [discord.Object(u) for u in user_ids]
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False, users=users)


UNKNOWN_GONE = frozenset({10003, 10004, 10008})  # Unknown Channel, Unknown Guild, Unknown Message


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


class EpisodeService:
    def __init__(self, bot: discord.Client, db: Database, scheduler: Scheduler) -> None:
        self.bot = bot
        self.db = db
        self.scheduler = scheduler
        self.status_listeners: list[StatusListener] = []
        self._note_locks: dict[int, asyncio.Lock] = {}
        scheduler.register_each(CARD_SYNC, self._card_job)
        scheduler.register_each(NOTE_JOB, self._note_job)

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
        if member.guild_permissions.manage_guild:
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
        no_host_role: NotConfigured | None = None
        try:
            if await self.is_host(member):
                return
        except NotConfigured as exc:
            no_host_role = exc
        if await store.is_author(self.db, episode.id, member.id):
            return
        if no_host_role is not None:
            raise no_host_role
        raise NotAllowed(f"Only hosts and the authors of `{episode.code}` can {doing}.")

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
        tags = await self._ensure_tags(forum)
        draft = Episode(0, guild.id, code, title, description, Status.IN_RESEARCH, forum.id, None, None,
                        member.id, now(), now(), None, None)  # fmt: skip
        card = status_card(CardData(draft, [], [], 0, [], 0))
        # Kept until the episode owning the post is saved: a post orphaned by a stop in between (or by a
        # refused delete below) is removed at the next start (`remove_orphaned_posts`).
        intent = await store.add_post_intent(self.db, guild.id, forum.id, rules.thread_name(code, title))
        created = await self._create_thread(
            forum,
            name=rules.thread_name(code, title),
            content=call_for_research(draft),
            embed=card,
            applied_tags=self._tags_for(tags, Status.IN_RESEARCH, has_authors=False),
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
            await self._delete_quietly(created.thread)
            raise
        if any(name not in tags for name in rules.managed_tag_names(Status.IN_RESEARCH, has_authors=False)):
            await self.refresh(episode.id, delay=CARD_RETRY_SECONDS)  # the tags could not be made yet
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
        await self.require_host_or_author(member, episode, "change its status")
        note = rules.validate_note(note)
        if status == episode.status:
            raise InvalidInput(f"`{episode.code}` is already {status.label}.")
        old = episode.status
        text = f"🔄 <@{member.id}> moved this episode from **{old.label}** to **{status.label}**."
        if note:
            text += f"\n> {note}"
        announcement = NewNote(text, now().timestamp() + NOTE_RETRY_SECONDS)
        episode, note_id, jobs = await store.set_status_announced(
            self.db, episode, status, member.id, note, announcement
        )
        self.scheduler.jobs_changed(jobs)

        async def publish() -> bool:
            synced = await self.refresh(episode.id)
            synced = await self.deliver_note(note_id) and synced
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
        return Change(episode, publish=lambda: self.refresh(episode.id))

    async def publish(self, episode: Episode, note: str | None = None) -> bool:
        """The post's card and tags, then an optional note in its thread (kept until Discord takes it);
        False when part of it waits for a retry."""
        synced = await self.refresh(episode.id)
        if note:
            synced = await self.note(episode, note) and synced
        return synced

    # -- notes in the thread ------------------------------------------------------------------------

    async def note(self, episode: Episode, content: str, *, ping: list[int] | None = None) -> bool:
        """Keep a note for the episode's thread and post it; pings only the members in `ping`.
        True when it is posted now; otherwise a `thread_note` job posts it when Discord lets it."""
        note = NewNote(content, now().timestamp() + NOTE_RETRY_SECONDS, tuple(ping or ()))
        note_id, job = await store.add_note(self.db, episode, note)
        self.scheduler.jobs_changed([job])
        return await self.deliver_note(note_id)

    async def deliver_note(self, note_id: int) -> bool:
        """Post a kept note now; True when it is in the thread (now or before), False when it waits."""
        try:
            outcome = await self._post_note(note_id, attempts=0)
        except Exception as exc:  # e.g. "database is locked" recording it: the job finds the post
            log.warning("note %s not recorded as posted (%s); its job will check", note_id, exc)
            return False
        return outcome is DONE

    async def _note_job(self, job: Job) -> Outcome:
        return await self._post_note(job.payload["note_id"], attempts=job.attempts)

    @asynccontextmanager
    async def _note_lock(self, note_id: int) -> AsyncIterator[None]:
        """One delivery of a note at a time (the command's and the job's may meet)."""
        lock = self._note_locks.setdefault(note_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._note_locks.get(note_id) is lock:
                del self._note_locks[note_id]

    async def _post_note(self, note_id: int, *, attempts: int) -> Outcome:
        async with self._note_lock(note_id):
            note = await store.get_note(self.db, note_id)
            if note is None:
                return Failed("the note is gone (its episode was removed)")
            if note.posted:
                return DONE
            episode = await store.get(self.db, note.episode_id)
            if episode is None:
                return Failed("the note's episode is gone")
            try:
                thread = await self.thread(episode)
                if thread is None:
                    return Failed(f"the post of episode {episode.code} is gone")
                if note.attempted_at is not None:
                    found = await self._find_note(thread, note)
                    if found is not None:
                        await store.note_posted(self.db, note.id, found)
                        return DONE
                await store.note_attempted(self.db, note.id)
                message = await thread.send(
                    note.content,
                    allowed_mentions=only_pinging(note.ping),
                    nonce=f"note{note.id}",  # Discord returns the first post for a repeat within minutes
                )
            except discord.HTTPException as exc:
                outcome = refusal_outcome(exc, attempts, "a note in the thread", NOTE_RETRY_SECONDS)
                log.warning("note %s of episode %s not posted: %s", note.id, episode.id, exc)
                return outcome
            await store.note_posted(self.db, note.id, message.id)
            return DONE

    async def _find_note(self, thread: discord.Thread, note: ThreadNote) -> int | None:
        """The id of the message carrying `note` when an earlier post of it reached the thread after all
        (its answer was lost, or the bot stopped before recording it). A 403 on the read means it can't
        be known: the note is posted (again) rather than lost."""
        me = self.bot.user.id if self.bot.user else None
        since = note.created_at.timestamp() - 1
        try:
            async for message in thread.history(limit=NOTE_LOOKBACK):
                if message.created_at.timestamp() < since:
                    break
                if message.author.id == me and message.content == note.content:
                    return message.id
        except discord.Forbidden:
            log.warning("can't read the thread %s to check note %s was posted", thread.id, note.id)
        return None

    # -- keeping Discord in sync --------------------------------------------------------------------

    async def refresh(self, episode_id: int, *, delay: float | None = None) -> bool:
        """Bring the post up to date now (or after `delay` seconds, coalescing bursts).

        Returns False when a retry is scheduled; a permanent refusal is logged and not retried."""
        if delay is not None:
            await self.scheduler.schedule(
                CARD_SYNC,
                now().timestamp() + delay,
                {"episode_id": episode_id},
                dedupe_key=store.card_key(episode_id),
            )
            return True
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
            await self.scheduler.schedule(
                CARD_SYNC,
                now().timestamp() + CARD_RETRY_SECONDS,
                {"episode_id": episode_id},
                dedupe_key=store.card_key(episode_id),
            )
            return False
        except SyncIncomplete as exc:
            log.warning("post of episode %s not fully updated (%s); retrying later", episode_id, exc)
            await self.scheduler.schedule(
                CARD_SYNC,
                now().timestamp() + CARD_RETRY_SECONDS,
                {"episode_id": episode_id},
                dedupe_key=store.card_key(episode_id),
            )
            return False

    async def sync_post(self, episode_id: int) -> None:
        """Card, name and tags of the episode's post; raises discord.HTTPException on refusal."""
        data = await store.card_data(self.db, episode_id)
        episode = data.episode
        thread = await self.thread(episode)
        if thread is None:
            raise LookupError(f"the post of episode {episode.code} is gone")
        if thread.archived:
            await thread.edit(archived=False)
        refused: discord.HTTPException | None = None
        try:
            await thread.get_partial_message(episode.starter_message_id).edit(embed=status_card(data))
        except discord.HTTPException as exc:
            refused = exc  # the name and tags still follow the episode; the card is retried after
            if exc.status == 404 and exc.code == 10003:  # Unknown Channel: the post itself is gone
                raise
        forum = thread.parent
        tags = await self._ensure_tags(forum) if isinstance(forum, discord.ForumChannel) else {}
        wanted_name = rules.thread_name(episode.code, episode.title)
        keep = [t for t in thread.applied_tags if t.name not in rules.MANAGED_TAGS]
        # Discord allows 5 tags on a post: the status (and Needs Author) come first, others fill the rest.
        applied = (self._tags_for(tags, episode.status, bool(data.authors)) + keep)[:5]
        if thread.name != wanted_name or {t.id for t in applied} != {t.id for t in thread.applied_tags}:
            await thread.edit(name=wanted_name, applied_tags=applied)
        if refused is not None:
            raise refused
        wanted = rules.managed_tag_names(episode.status, bool(data.authors))
        if any(name not in tags for name in wanted):
            raise SyncIncomplete(f"the forum lacks the tags {wanted}")

    async def _card_job(self, job: Job) -> Outcome:
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

    async def _ensure_tags(self, forum: discord.ForumChannel) -> dict[str, discord.ForumTag]:
        by_name = {t.name: t for t in forum.available_tags}
        missing = [name for name in rules.MANAGED_TAGS if name not in by_name]
        if missing and len(forum.available_tags) + len(missing) <= 20:
            try:
                forum = await forum.edit(
                    available_tags=[*forum.available_tags, *(discord.ForumTag(name=n) for n in missing)]
                )
                by_name = {t.name: t for t in forum.available_tags}
            except discord.HTTPException as exc:
                log.warning("could not create forum tags in %s: %s", forum.id, exc)
        return by_name

    @staticmethod
    def _tags_for(
        tags: dict[str, discord.ForumTag], status: Status, has_authors: bool
    ) -> list[discord.ForumTag]:
        return [tags[n] for n in rules.managed_tag_names(status, has_authors) if n in tags]

    @staticmethod
    def _check_forum_permissions(forum: discord.ForumChannel) -> None:
        perms = forum.permissions_for(forum.guild.me)
        missing = [label for name, label in FORUM_PERMISSIONS.items() if not getattr(perms, name)]
        if missing:
            raise NotAllowed(
                f"I'm missing permissions in {forum.mention}: {', '.join(missing)}. "
                "Give them to my role there, then run the command again."
            )

    @staticmethod
    async def _delete_quietly(thread: discord.Thread) -> bool:
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
        for intent in await store.post_intents(self.db):
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
                if await self._delete_quietly(thread):
                    removed += 1
                else:
                    gone = False
            if gone:
                await store.drop_post_intent(self.db, intent.id)
        return removed
