"""Research use cases: collect thread messages, the form and the menu; list, search, credit, export, remove,
mark, thank.

Catching up after downtime is `cogs.research.catchup` (`service.catch_up`); the bot's own posts and their
delivery jobs are `cogs.research.posting` (`service.posts`).

Ingesting a message is one indexed lookup and one transaction; the status card is refreshed in
batches through the scheduler (`PostSync.schedule_card_sync`), never per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import discord

from bot.clock import now, now_ts
from bot.core.db import Database
from bot.core.jobs import NewJob
from bot.core.scheduler import Scheduler
from bot.core.service import FeatureService
from bot.core.text import thread_url
from bot.errors import InvalidInput, NotAllowed, NotFound
from cogs.episodes import lists_store
from cogs.episodes import store as episode_store
from cogs.episodes.posts_store import NewNote
from cogs.episodes.rules import THANKS_STATUSES, Status
from cogs.episodes.service import Change, EpisodeService
from cogs.episodes.store import Episode
from cogs.research import credits as research_credits
from cogs.research import (
    dossier_html,
    export,
    export_store,
    export_stream,
    likes_store,
    rules,
    search_store,
    store,
)
from cogs.research.catchup import ThreadCatchUp
from cogs.research.export import Dossier, DossierEpisode, Person
from cogs.research.export_job import Export
from cogs.research.likes import server_like_emoji
from cogs.research.messages import CARD_DELAY, MessageData, collectable, message_data, store_edit
from cogs.research.posting import FORM_POST_JOB, POST_RETRY, THANKS_JOB, THANKS_RETRY, ResearchPosts
from cogs.research.rules import LikeEmoji
from cogs.research.store import MARKS, Added, Contribution, Marked, NewContribution

log = logging.getLogger(__name__)

TITLE_MAX = 256
BODY_MAX = 4000
SOURCES_MAX = 4000
Progress = Callable[[], Awaitable[None]]
NAMES_AT_ONCE = 500  # member names resolved for an export between two turns of the event loop


async def _no_progress() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Submitted:
    number: int  # the contribution's number, stored
    # Posts it in the episode's thread, after the member has their answer (the post waits its turn behind
    # the bot's other requests): the post, or None when Discord refused it for now (its job posts it).
    post: Callable[[], Awaitable[discord.Message | None]]


class ResearchService(FeatureService):
    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        self.catch_up = ThreadCatchUp(bot, db, scheduler, episodes)
        self.posts = ResearchPosts(bot, db, episodes)
        self._exports = asyncio.Semaphore(1)  # one export written at a time: memory stays bounded
        dossier_html.template()  # compiled now, while the bot starts (see there)
        # Their job kinds (THANKS_JOB, FORM_POST_JOB, CATCH_UP_JOB) and `on_status` are registered by
        # `bot.wiring`.

    # -- collecting from threads ----------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if not isinstance(message.channel, discord.Thread) or not collectable(message):
            return
        started = time.perf_counter()
        await self.ingest(message_data(message))
        self.db.metrics.observe("research.ingest_ms", 1000 * (time.perf_counter() - started))

    async def ingest(self, data: MessageData, *, respect_removals: bool = False) -> Added | None:
        """Store a member's message posted in an episode thread (nothing happens elsewhere)."""
        episode = await episode_store.get_by_thread(self.db, data.channel_id)
        if episode is None or episode.guild_id != data.guild_id:
            return None
        if data.empty:
            if not self.catch_up.is_pending(episode.id):
                await episode_store.advance_last_seen(self.db, episode.id, data.message_id)
            return None
        added = await store.add(
            self.db,
            data.contribution(episode.id, "thread"),
            # Before catching up, older messages may be missing: the last seen mark waits.
            seen=not self.catch_up.is_pending(episode.id),
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
        self.catch_up.touch([message.id])
        data = message_data(message)
        changed = await store_edit(self.db, message.id, data)
        if changed or await store.is_stored(self.db, message.id):
            return
        if isinstance(message.channel, discord.Thread) and collectable(message):
            # Not stored yet (it was empty, or posted while the bot was away): collect it now.
            await self.ingest(data, respect_removals=True)

    async def on_delete(self, message_ids: Iterable[int]) -> None:
        ids = list(message_ids)
        self.catch_up.touch(ids)
        for episode_id in await store.delete_messages(self.db, ids):
            await self._card_later(episode_id)

    async def on_reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        """Every member's reaction is kept, whatever its emoji: which are likes is decided when read
        (`like_emoji`), so changing the server's like emoji recounts them."""
        if payload.guild_id is None or (self.bot.user and payload.user_id == self.bot.user.id):
            return
        if added and payload.member is not None and payload.member.bot:
            return
        if added:
            await likes_store.add_like(self.db, payload.message_id, payload.user_id, str(payload.emoji))
        else:
            await likes_store.remove_like(self.db, payload.message_id, payload.user_id, str(payload.emoji))

    async def on_reactions_cleared(self, message_id: int, emoji: str | None = None) -> None:
        await likes_store.clear_likes(self.db, message_id, emoji)

    async def _card_later(self, episode_id: int) -> None:
        await self.episodes.posts.schedule_card_sync(episode_id, CARD_DELAY)

    # -- the form and the context menu ----------------------------------------------------------

    async def submit(
        self,
        member: discord.Member,
        episode: Episode,
        title: str,
        body: str,
        sources: str | None,
    ) -> Submitted:
        """Store a form contribution; `Submitted.post` then posts it in the thread, credited to its author
        (stored with a job that posts it if that post is refused or never made)."""
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

        async def post() -> discord.Message | None:
            posted = await self.posts.post_form(episode, number, member.id, title, body, sources)
            if posted is not None:
                await self.scheduler.cancel(job_id)
            await self._card_later(episode.id)
            return posted

        return Submitted(number, post)

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

    async def like_emoji(self, guild_id: int) -> LikeEmoji:
        """The emoji whose reactions count as likes in this server (`/config research likes`)."""
        return server_like_emoji(self.bot.get_guild(guild_id), await self.episodes.settings(guild_id))

    async def contributions(
        self, episode: Episode, author_id: int | None = None, *, offset: int = 0, limit: int = 8
    ) -> tuple[int, list[Contribution]]:
        """One page of an episode's contributions, newest first, and how many there are in all."""
        likes = await self.like_emoji(episode.guild_id)
        return await search_store.page_for_episode(
            self.db, episode.id, offset=offset, limit=limit, author_id=author_id, like_keys=likes.keys
        )

    async def contribution_choices(
        self, episode: Episode, user_id: int, typed: str
    ) -> list[search_store.ContributionChoice]:
        """For the autocomplete of `/research remove` and `mark`: numbers starting with `typed`, the member's own first."""
        return await search_store.choices_for(self.db, episode.id, user_id, typed)

    async def search(
        self, guild_id: int, query: str, episode: Episode | None = None
    ) -> Callable[[int, int], Awaitable[search_store.SearchPage]]:
        """A reader of the search's pages: (offset, limit) -> that page and how many match in all (exact
        up to 10,000 past the page's start, see `SearchPage.exact`). Raises InvalidInput at once when the
        query holds nothing to search for."""
        match = rules.build_fts_query(query)
        episode_id = episode.id if episode else None

        async def page(offset: int, limit: int) -> search_store.SearchPage:
            return await search_store.search_page(
                self.db, guild_id, match, episode_id=episode_id, limit=limit, offset=offset
            )

        return page

    async def save_search(self, guild_id: int, query: str, episode: Episode | None) -> int:
        """An id for the search, which its page buttons carry (the query itself is too long for them)."""
        return await search_store.save_search(self.db, guild_id, episode.id if episode else None, query)

    async def saved_search(self, guild_id: int | None, search_id: int) -> tuple[str, Episode | None]:
        """(query, episode or None) of a saved search; NotFound when it or its episode is gone."""
        saved = await search_store.saved_search(self.db, guild_id or 0, search_id)
        if saved is None:
            raise NotFound("That search is no longer available: run `/research search` again.")
        episode = await self.episode_by_id(guild_id, saved.episode_id) if saved.episode_id else None
        return saved.query, episode

    async def credits_text(self, guild: discord.Guild, episode: Episode) -> research_credits.Credits:
        """`/research credits`: the text to paste under the video (contributors' plain names and the
        most-cited sources, within YouTube's 5,000 characters), the first contributors with their
        contributions, most first, and how many there are (excluded contributions count for neither).
        Read from the counts stored with the research: as quick for 100,000 contributions as for ten."""

        def present(user_id: int) -> str | None:
            member = guild.get_member(user_id)
            return None if member is None else member.display_name

        return await research_credits.credits_for(
            self.db, episode.id, lambda user_id, stored: self.name_of(guild, user_id, stored), present=present
        )

    def name_of(self, guild: discord.Guild | None, user_id: int | None, stored: str | None = None) -> str:
        """A member's name as members see it now; for a forum author not linked to a member (no user
        id), the forum name."""
        if user_id is None:
            return stored or "a forum member"
        member = guild.get_member(user_id) if guild else None
        if member is not None:
            return member.display_name
        if stored:
            return stored
        user = self.bot.get_user(user_id)
        return user.display_name if user else f"member {user_id}"

    async def dossier(self, guild: discord.Guild | None, episode: Episode) -> Dossier:
        """The episode's research as plain data, ready to render (names as members see them now), held
        in memory whole: for the credits and tests. `/research export` streams it (`exporting`)."""
        people: dict[int, Person] = {}

        def person(user_id: int | str | None, stored: str | None = None) -> Person:
            if not isinstance(user_id, int):  # a forum author not linked to a member: their forum name
                return Person(None, self.name_of(guild, None, user_id or stored))
            found = people.get(user_id)
            if found is None:
                found = people[user_id] = Person(user_id, self.name_of(guild, user_id, stored))
            return found

        # Names are resolved here, after reading the rows: storage never reads Discord's member cache.
        likes = (await self.like_emoji(episode.guild_id)).keys
        rows = await store.for_episode(self.db, episode.id, like_keys=likes)
        entries = export.entries_of(rows, await likes_store.likers(self.db, episode.id, likes), person)
        header = await self._header(episode, person)
        return Dossier(header, entries, export.credits_of(entries))

    async def _header(self, episode: Episode, person: Callable[[int | str | None], Person]) -> DossierEpisode:
        data = await lists_store.card_data(self.db, episode.id, contributor_limit=0)
        return DossierEpisode(
            code=episode.code,
            title=episode.title,
            status=episode.status.label,
            description=episode.description,
            authors=tuple(person(a) for a in data.authors),
            created_at=episode.created_at,
            updated_at=episode.updated_at,
            exported_at=now(),
            dates=tuple((f"{d.milestone.label} deadline", d.due_at) for d in data.deadlines),
            url=thread_url(episode.guild_id, episode.thread_id),
        )

    @contextlib.asynccontextmanager
    async def exporting(
        self, guild: discord.Guild, episode: Episode, fmt: str, waiting: Progress = _no_progress
    ) -> AsyncIterator[Export]:
        """`/research export`: the episode's dossier in `fmt`, written to a temporary folder off the event
        loop (`Export.files()`), the folder removed on leaving. Its size is estimated from SQL first
        (`Export.estimate`): whether it comes in parts, and about how many. One export is written at a
        time (`waiting()` is awaited first when another one is under way), each from one snapshot of the
        database, both released once its files are written (their upload then reads them from disk)."""
        export.renderer_for(fmt)  # refuses an unknown format before any work
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="archivist-export-"))
        conn: sqlite3.Connection | None = None
        holding = False

        async def release() -> None:
            nonlocal conn, holding
            if conn is not None:
                done, conn = conn, None
                await asyncio.to_thread(export_store.close_snapshot, done)
            if holding:
                holding = False
                self._exports.release()

        try:
            if self._exports.locked():
                await waiting()
            await self._exports.acquire()
            holding = True
            path = Path(self.db.path)
            if self.db.path == ":memory:":  # no other connection can open it: a copy in the folder
                path = folder / "snapshot.sqlite3"
                await self.db.backup_to(path)
            conn = await asyncio.to_thread(export_store.open_snapshot, path)
            source = await self._export_source(guild, episode, conn)
            yield Export(source, fmt, self.upload_limit(guild), folder, release)
        finally:
            await release()
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def _export_source(
        self, guild: discord.Guild, episode: Episode, conn: sqlite3.Connection
    ) -> export_stream.Source:
        """What the worker needs besides the snapshot: the sizes, the header, and the names of everyone
        the dossier names, resolved here on the event loop a few hundred at a time."""

        def read() -> tuple[export_store.Sizes, list[tuple[int, str | None]]]:
            return export_store.sizes(conn, episode.id), export_store.first_names(conn, episode.id)

        sizes, named = await asyncio.to_thread(read)
        names: dict[int, str] = {}
        for n, (user_id, stored) in enumerate(named, 1):
            names[user_id] = self.name_of(guild, user_id, stored)
            if n % NAMES_AT_ONCE == 0:
                await asyncio.sleep(0)

        def person(user_id: int | str | None, stored: str | None = None) -> Person:
            if not isinstance(user_id, int):
                return Person(None, self.name_of(guild, None, user_id or stored))
            if user_id not in names:
                names[user_id] = self.name_of(guild, user_id, stored)
            return Person(user_id, names[user_id])

        header = await self._header(episode, person)
        likes = (await self.like_emoji(episode.guild_id)).keys
        return export_stream.Source(conn, episode.id, sizes, header, names, likes)

    async def export(self, guild: discord.Guild, episode: Episode, fmt: str) -> list[tuple[str, bytes]]:
        """(file name, bytes) of the episode's dossier: one file, or parts each within the server's upload
        limit when it is larger (read back from `exporting`: for tests and benchmarks)."""
        async with self.exporting(guild, episode, fmt) as job:
            files = await job.files()
            return [(f.name, await asyncio.to_thread(f.path.read_bytes)) for f in files]

    def upload_limit(self, guild: discord.Guild) -> int:
        """The largest file this server accepts, in bytes."""
        return guild.filesize_limit

    # -- removal ----------------------------------------------------------------------------------

    async def remove(self, member: discord.Member, episode: Episode, number: int) -> Change:
        """Take a contribution out of the record, its note for the thread kept with the removal (one trip
        to the database); `publish()` then updates the card and posts the note, once the member has their
        answer."""
        host, no_host_role = await self.episodes.host_or_why_not(member)

        def note(found: Contribution) -> NewNote:
            by = (
                f"<@{found.author_id}>"
                if found.author_id is not None
                else discord.utils.escape_markdown(self.name_of(None, None, found.author_name))
            )
            return self.episodes.notes.new(
                f"🗑️ <@{member.id}> removed contribution #{found.id} by {by} from the research record."
            )

        removal = await store.remove_announced(
            self.db, episode.guild_id, episode.id, number, member.id, host=host, note=note
        )
        if removal.found is None:
            raise NotFound(f"There is no contribution #{number} in `{episode.code}`: see `/research list`.")
        if removal.announced is None:
            raise no_host_role or NotAllowed("Only the contributor and hosts can remove a contribution.")
        self.scheduler.jobs_changed(removal.announced.jobs)
        note_id = removal.announced.note_id
        return Change(episode, publish=lambda: self.episodes.publish_kept(episode.id, note_id))

    # -- curation -------------------------------------------------------------------------------------

    async def mark(self, member: discord.Member, episode: Episode, number: int, mark: str) -> Marked:
        """`/research mark`: key research comes first in the dossier, excluded is left out of it."""
        if mark not in MARKS:
            raise InvalidInput("Mark a contribution as `key`, `excluded` or `normal`.")
        await self.episodes.require_host_or_author(member, episode, "mark its research")
        marked = await store.set_mark(self.db, episode.id, number, mark, member.id)
        if marked is None:
            raise NotFound(f"There is no contribution #{number} in `{episode.code}`: see `/research list`.")
        return marked

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
        if not await self.posts.post_thanks(episode, messages):
            await self.scheduler.cancel(job_id)
