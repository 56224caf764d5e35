"""Importing the old Discourse forum: topics become episodes, posts become contributions (origin
`forum`) credited to their forum names until an admin links them to members.

Each topic is written in one transaction, whole or not at all; a dry run writes it the same way and
rolls it back, so its report is exactly what an import would do. A re-run finds every topic and post by
its key on the forum: it updates what changed, adds what is new and never duplicates. After a topic is
committed, an episode In Research or Writing gets its forum post (card, tags, a line linking the old
topic); a job made in the topic's transaction opens it later when Discord refuses now. An import pings
nobody, posts no thank-you (recorded and published episodes count as thanked) and schedules no reminder.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import discord

from bot.clock import now, now_ts
from bot.core.db import Database, Tx
from bot.core.jobs import Job, NewJob
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from bot.core.service import FeatureService
from bot.errors import ArchivistError, Conflict, InvalidInput, NotAllowed, NotConfigured, NotFound
from cogs.episodes import lists_store, posts_store, rules, sync
from cogs.episodes import store as episode_store
from cogs.episodes.rules import Status
from cogs.episodes.service import FORUM_PERMISSIONS, EpisodeService
from cogs.episodes.sync import CARD_RETRY_SECONDS, refusal_outcome
from cogs.episodes.views import clip, starter_text, status_card
from cogs.forum_import import store
from cogs.forum_import.discourse import ForumPost, ForumTopic
from cogs.forum_import.store import EpisodeFields, ForumAuthor, PostRow, TopicRef
from cogs.research.rules import extract_links

log = logging.getLogger(__name__)

POST_STATUSES = frozenset({Status.IN_RESEARCH, Status.WRITING})  # these get a forum post in Discord
THANKED_STATUSES = frozenset({Status.RECORDED, Status.PUBLISHED})  # their thank-you counts as posted
POST_RETRY = 30.0  # seconds before the job retries a forum post Discord refused
POST_TRIES = 10  # a post refused this many times (403, no forum configured) waits for the next change
BATCH = 100  # posts per executemany; the event loop gets a turn between batches
CARDS_NOW = 10  # cards refreshed at once after a link (the others by their jobs, within a minute)
REMOVED = "removed from the research record in Discord"

Progress = Callable[["ImportProgress"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """How far an import is: reported after each topic."""

    topics_done: int
    topics_total: int | None  # None: not known in advance (topics still being read from the forum)
    posts_done: int
    current: str = ""  # the last topic's code and title


@dataclass(frozen=True, slots=True)
class TopicResult:
    """What happened to one topic. `outcome`: created, updated, unchanged, conflict (skipped: its code
    belongs to an episode that was not imported from it) or failed (nothing of it was written)."""

    topic_id: int
    url: str
    code: str
    title: str
    outcome: str
    reason: str | None = None
    episode_id: int | None = None
    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The closing report of an import (or of a dry run: what an import would do)."""

    dry_run: bool
    topics: tuple[TopicResult, ...]
    skipped: tuple[tuple[str, int], ...]  # (reason, posts), most first
    waiting: tuple[tuple[str, int], ...]  # (forum name, contributions + authorships) waiting for a link
    stopped: str | None = None  # why the import stopped before the last topic (the forum's answer)

    def _count(self, outcome: str) -> int:
        return sum(1 for t in self.topics if t.outcome == outcome)

    @property
    def episodes_created(self) -> int:
        return self._count("created")

    @property
    def episodes_updated(self) -> int:
        return self._count("updated")

    @property
    def episodes_unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def contributions_added(self) -> int:
        return sum(t.added for t in self.topics)

    @property
    def contributions_updated(self) -> int:
        return sum(t.updated for t in self.topics)

    @property
    def contributions_unchanged(self) -> int:
        return sum(t.unchanged for t in self.topics)

    @property
    def conflicts(self) -> tuple[TopicResult, ...]:
        return tuple(t for t in self.topics if t.outcome == "conflict")

    @property
    def failed(self) -> tuple[TopicResult, ...]:
        return tuple(t for t in self.topics if t.outcome == "failed")

    @property
    def changed_nothing(self) -> bool:
        return self.dry_run or all(t.outcome in ("unchanged", "conflict", "failed") for t in self.topics)

    def lines(self, limit: int = 10) -> list[str]:
        """The report in plain lines (Markdown), at most `limit` topics or names per list."""
        lines = ["**Dry run**: nothing was changed. An import would do this:"] if self.dry_run else []
        lines.append(
            f"Episodes: {self.episodes_created} created, {self.episodes_updated} updated, "
            f"{self.episodes_unchanged} unchanged."
        )
        lines.append(
            f"Contributions: {self.contributions_added} added, {self.contributions_updated} updated, "
            f"{self.contributions_unchanged} unchanged."
        )
        if self.skipped:
            lines.append("Posts skipped: " + ", ".join(f"{n} {reason}" for reason, n in self.skipped) + ".")
        for title, items in (
            ("Skipped, the code belongs to another episode", self.conflicts),
            ("Not imported (nothing of them was written)", self.failed),
        ):
            if items:
                shown = [f"`{t.code}` {plain(t.title, 60)} ({t.reason})" for t in items[:limit]]
                more = f"; … and {len(items) - limit} more" if len(items) > limit else ""
                lines.append(f"{title}: " + "; ".join(shown) + more)
        if self.waiting:
            shown = [f"{plain(name, 40)} ({n})" for name, n in self.waiting[:limit]]
            more = f", … and {len(self.waiting) - limit} more" if len(self.waiting) > limit else ""
            lines.append("Forum names waiting for `/import link`: " + ", ".join(shown) + more)
        if self.stopped:
            lines.append(f"Stopped early: {self.stopped}")
        return lines


def plain(text: str, limit: int) -> str:
    """A name or title from the forum on one line, cut visibly, its Markdown shown as typed."""
    return discord.utils.escape_markdown(clip(" ".join(text.split()), limit))


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What `/import link` changed: the forum name's contributions and authorships moved to the member."""

    forum_name: str  # as the forum spells it
    member_id: int
    changed: bool  # False: it was linked to this member already
    contributions: int
    authorships: int
    episodes: tuple[int, ...]


# -- one topic, planned before its transaction --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    key: tuple[str, int]  # (forum, topic id)
    fields: EpisodeFields
    fingerprint: str
    authors: tuple[str, ...]  # forum names in the Author line
    people: tuple[tuple[str, str | None], ...]  # every forum name in the topic: (username, display name)
    posts: tuple[tuple[ForumPost, str], ...]  # research posts with their images as attachments (JSON)


async def _plan(topic: ForumTopic) -> _Plan:
    """Everything about a topic that needs no database: checked fields, its fingerprint, its posts (a
    long topic gives the event loop a turn every BATCH posts)."""
    try:
        code = rules.validate_code(topic.code)
    except InvalidInput:
        raise InvalidInput(f"`{topic.code[:40]}` is not a valid episode code") from None
    try:
        status = Status(topic.status)
    except ValueError:
        status = Status.IN_RESEARCH
    title = clip(" ".join(topic.episode_title.split()) or topic.title.strip() or code, rules.TITLE_MAX)
    description = clip(topic.description.strip(), rules.DESCRIPTION_MAX) or None
    authors = tuple(dict.fromkeys(a for a in topic.authors if a.strip()))
    fields = EpisodeFields(
        code=code,
        title=title,
        description=description,
        status=status.value,
        created_at=int(topic.created_at.timestamp()),
        thanked=status in THANKED_STATUSES,
    )
    described = [title, description, status.value, sorted(a.lower() for a in authors)]
    fingerprint = hashlib.sha256(json.dumps(described, ensure_ascii=False).encode()).hexdigest()
    research = topic.research
    people: dict[str, tuple[str, str | None]] = {}
    for username in authors:
        people.setdefault(username.lower(), (username, None))
    for post in research:
        people.setdefault(post.username.lower(), (post.username, post.name))
    posts = []
    for part in _chunks(research):
        posts += [(post, store.attachments_json(post.images)) for post in part]
        await asyncio.sleep(0)
    return _Plan(
        (topic.forum, topic.topic_id), fields, fingerprint, authors, tuple(people.values()), tuple(posts)
    )


@dataclass(slots=True)
class _Written:
    """What a topic's transaction did (or, in a dry run, would have done)."""

    result: TopicResult
    jobs: list[NewJob] = field(default_factory=list)
    post: bool = False  # the episode needs its forum post
    names_changed: bool = False  # its code or title is new: autocomplete reads them again
    skipped: Counter[str] = field(default_factory=Counter)
    waiting: Counter[str] = field(default_factory=Counter)


class _RolledBack(Exception):
    """Ends a dry run's transaction (rolled back) carrying what it would have written."""

    def __init__(self, written: _Written) -> None:
        super().__init__("dry run")
        self.written = written


async def _each(topics: AsyncIterator[ForumTopic] | Iterable[ForumTopic]) -> AsyncIterator[ForumTopic]:
    if hasattr(topics, "__aiter__"):
        async for topic in topics:  # type: ignore[union-attr]
            yield topic
    else:
        for topic in topics:  # type: ignore[union-attr]
            yield topic


def _chunks(items: Sequence, size: int = BATCH) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ForumImportService(FeatureService):
    """`/import`: topics and posts into episodes and contributions; forum names linked to members."""

    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        self._post_locks: dict[int, asyncio.Lock] = {}  # `post_job` handles store.POST_JOB (bot.wiring)

    # -- importing ------------------------------------------------------------------------------------

    async def import_topics(
        self,
        guild: discord.Guild,
        topics: AsyncIterator[ForumTopic] | Iterable[ForumTopic],
        *,
        actor_id: int,
        dry_run: bool = False,
        progress: Progress | None = None,
        total: int | None = None,
    ) -> ImportReport:
        """Import topics one after another, each in one transaction (whole or not at all); `dry_run`
        reports the same and changes nothing. A topic that fails is reported and the import goes on;
        when the source itself stops (the forum refused, a file is not a topic: InvalidInput) the report
        says why in `stopped`."""
        if not dry_run:
            await self._check_forum(guild)
        if total is None and isinstance(topics, Sequence):
            total = len(topics)
        members = {m.name.lower(): m.id for m in guild.members if not m.bot}
        results: list[TopicResult] = []
        skipped: Counter[str] = Counter()
        waiting: Counter[str] = Counter()
        created_codes: dict[str, tuple[str, int]] = {}  # code (lower) -> topic key, of this run
        posts_done = 0
        stopped: str | None = None
        try:
            async for topic in _each(topics):
                written = await self._import_one(guild.id, topic, members, actor_id, dry_run, created_codes)
                results.append(written.result)
                skipped.update(written.skipped)
                waiting.update(written.waiting)
                posts_done += len(topic.posts) + 1
                if not dry_run:
                    self.scheduler.jobs_changed(written.jobs)
                    if written.names_changed:
                        episode_store.forget_codes(self.db, guild.id)
                    if written.post and written.result.episode_id is not None:
                        await self._open_post_now(written.result.episode_id)
                if progress is not None:
                    await progress(
                        ImportProgress(
                            len(results), total, posts_done, f"{written.result.code} {written.result.title}"
                        )
                    )
                await asyncio.sleep(0)  # the event loop's turn between topics
        except InvalidInput as exc:  # the source could not go on (the forum refused, a bad file, …)
            stopped = exc.message
        if not dry_run and any(r.outcome in ("created", "updated") for r in results):
            await self.db.checkpoint()  # a bulk write: the log is copied back now, not behind a command
        return ImportReport(
            dry_run=dry_run,
            topics=tuple(results),
            skipped=tuple(sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0]))),
            waiting=tuple(sorted(waiting.items(), key=lambda kv: (-kv[1], kv[0].lower()))),
            stopped=stopped,
        )

    async def _check_forum(self, guild: discord.Guild) -> None:
        """Episodes in research get a post in the research forum: it must be set, and the bot able to post."""
        forum = await self.episodes.forum(guild)
        perms = forum.permissions_for(guild.me)
        missing = [label for name, label in FORUM_PERMISSIONS.items() if not getattr(perms, name)]
        if missing:
            raise NotAllowed(
                f"I'm missing permissions in {forum.mention}: {', '.join(missing)}. Give them to my role "
                "there, then run the import again."
            )

    async def _import_one(
        self,
        guild_id: int,
        topic: ForumTopic,
        members: dict[str, int],
        actor_id: int,
        dry_run: bool,
        created_codes: dict[str, tuple[str, int]],
    ) -> _Written:
        def result(outcome: str, reason: str) -> _Written:
            return _Written(
                TopicResult(topic.topic_id, topic.url, topic.code, topic.episode_title, outcome, reason)
            )

        try:
            plan = await _plan(topic)
        except InvalidInput as exc:
            return result("failed", exc.message)
        try:
            async with self.db.transaction() as tx:
                written = await self._write_topic(tx, guild_id, topic, plan, members, actor_id, created_codes)
                if dry_run:
                    raise _RolledBack(written)
        except _RolledBack as rolled_back:
            written = rolled_back.written
        except (
            Exception
        ) as exc:  # the topic is left out (rolled back), the report says why, the import goes on
            if isinstance(exc, ArchivistError):
                return result("failed", exc.message)
            log.exception("forum topic %s (%s) was not imported", topic.topic_id, topic.url)
            return result("failed", f"an unexpected error ({type(exc).__name__}); see the bot's log")
        if written.result.outcome == "created":
            created_codes[plan.fields.code.lower()] = plan.key
        return written

    # Over 60 lines: one topic's transaction, read top to bottom (episode, names, posts, replies, jobs).
    async def _write_topic(
        self,
        tx: Tx,
        guild_id: int,
        topic: ForumTopic,
        plan: _Plan,
        members: dict[str, int],
        actor_id: int,
        created_codes: dict[str, tuple[str, int]],
    ) -> _Written:
        ts = now_ts()
        fields = plan.fields
        ref = TopicRef(guild_id, topic.forum, topic.topic_id, topic.url, plan.fingerprint)
        known = await store.imported_topic_in(tx, guild_id, topic.forum, topic.topic_id)
        written = _Written(TopicResult(topic.topic_id, topic.url, fields.code, fields.title, "unchanged"))
        written.skipped.update(reason for _, reason in topic.skipped)
        if known is None:
            claimed = created_codes.get(fields.code.lower())
            if (claimed is not None and claimed != plan.key) or await store.code_taken_in(
                tx, guild_id, fields.code
            ):
                reason = "an episode with this code exists that was not imported from this topic"
                written.result = replace(written.result, outcome="conflict", reason=reason)
                return written
            episode_id = await store.create_episode_in(tx, ref, fields, actor_id, ts)
            outcome, status, thread_id, describe = "created", fields.status, None, True
        else:
            episode_id, thread_id = known.episode_id, known.thread_id
            describe = known.fingerprint != plan.fingerprint
            if describe:
                await store.update_episode_in(tx, episode_id, ref, fields, actor_id, ts)
            outcome = "updated" if describe else "unchanged"
            status = fields.status if describe else known.status
            written.result = replace(written.result, code=known.code)
        written.names_changed = describe

        # Forum names: every name in the topic, linked at once when it is a member's username.
        authors = await store.forum_authors_in(tx, guild_id, topic.forum, plan.people, ts)
        for key, author in list(authors.items()):
            if author.member_id is None and key in members:
                linked = await store.link_in(tx, [author], members[key], actor_id, ts)
                written.jobs += linked.jobs
                if episode_id in linked.episodes:
                    outcome = "updated" if outcome == "unchanged" else outcome
                authors[key] = replace(author, member_id=members[key])
        if describe and await store.set_episode_authors_in(
            tx, episode_id, [authors[a.lower()] for a in plan.authors], actor_id, ts
        ):
            outcome = "updated" if outcome == "unchanged" else outcome

        added, updated, unchanged = await self._write_posts(
            tx, guild_id, topic, plan, episode_id, authors, written, ts
        )
        if outcome == "unchanged" and (added or updated):
            outcome = "updated"
        if thread_id is not None and outcome != "unchanged":
            written.jobs += await store.card_jobs_in(tx, [episode_id], ts)
        if thread_id is None and Status(status) in POST_STATUSES:
            written.post = True
            job = await store.post_job_in(tx, guild_id, episode_id, now().timestamp() + POST_RETRY, ts)
            written.jobs += [job] if job else []
        for name in plan.authors:
            if authors[name.lower()].member_id is None:
                written.waiting[authors[name.lower()].username] += 1
        written.result = replace(
            written.result,
            outcome=outcome,
            episode_id=episode_id,
            added=added,
            updated=updated,
            unchanged=unchanged,
        )
        return written

    async def _write_posts(
        self,
        tx: Tx,
        guild_id: int,
        topic: ForumTopic,
        plan: _Plan,
        episode_id: int,
        authors: dict[str, ForumAuthor],
        written: _Written,
        ts: int,
    ) -> tuple[int, int, int]:
        """A topic's research posts as contributions: new ones added, changed ones (text, images, likes,
        edits) updated, replies linked; (added, updated, unchanged)."""
        stored = await store.stored_posts_in(tx, guild_id, topic.forum, [p.post_id for p, *_ in plan.posts])
        new: list[PostRow] = []
        changed: list[tuple[int, PostRow]] = []
        unchanged = 0
        for index, (post, attachments) in enumerate(plan.posts, 1):
            if index % BATCH == 0:
                await asyncio.sleep(0)  # a long topic: the event loop's turn
            author = authors[post.username.lower()]
            old = stored.get(post.post_id)
            if old is not None and old.contribution_id is None:
                written.skipped[REMOVED] += 1
                continue
            if author.member_id is None:
                written.waiting[author.username] += 1
            edited_at = int(post.edited_at.timestamp()) if post.edited_at else None
            now_on_forum = (post.raw, attachments, post.url, edited_at, post.likes)
            if (
                old is not None
                and (old.body, old.attachments, old.jump_url, old.edited_at, old.forum_likes) == now_on_forum
            ):
                unchanged += 1
                continue
            row = PostRow(
                post_id=post.post_id, number=post.number, author_id=author.member_id, forum_author_id=author.id,
                author_name=author.username, body=post.raw, attachments=attachments,
                links=json.dumps(extract_links(post.raw), ensure_ascii=False), jump_url=post.url,
                created_at=int(post.created_at.timestamp()), edited_at=edited_at, forum_likes=post.likes,
            )  # fmt: skip
            if old is None:
                new.append(row)
            else:
                changed.append((old.contribution_id, row))
        for part in _chunks(new):
            await store.add_posts_in(tx, guild_id, episode_id, topic.forum, topic.topic_id, part, ts)
            await asyncio.sleep(0)
        for part in _chunks(changed):
            await store.update_posts_in(tx, part)
            await asyncio.sleep(0)
        # Replies: each imported post answers the contribution of the post it replied to, when recorded.
        numbers = await store.post_numbers_in(tx, guild_id, topic.forum, topic.topic_id)
        was = {old.contribution_id: old.reply_to_id for old in stored.values() if old.contribution_id}
        replies = []
        for index, (post, _) in enumerate(plan.posts, 1):
            if index % BATCH == 0:
                await asyncio.sleep(0)  # a long topic: the event loop's turn
            number = numbers.get(post.number)
            if number is None:
                continue
            target = numbers.get(post.reply_to_number) if post.reply_to_number else None
            target = None if target == number else target
            if was.get(number) != target:
                replies.append((target, number))
        for part in _chunks(replies):
            await store.set_replies_in(tx, part)
        return len(new), len(changed), unchanged

    # -- the forum post of an imported episode ---------------------------------------------------------

    async def _open_post_now(self, episode_id: int) -> None:
        """Right after the topic's commit; when Discord refuses, the topic's job opens it later."""
        try:
            await self.open_post(episode_id)
        except (discord.HTTPException, NotConfigured) as exc:
            log.warning("the forum post of imported episode %s waits for its job: %s", episode_id, exc)

    async def open_post(self, episode_id: int, *, by_job: bool = False) -> bool:
        """Open the forum post of an imported episode In Research or Writing: the call for research with
        a line linking the old topic, the status card and the tags, pinging nobody. True when it has
        its post (now or before) or needs none. Raises discord.HTTPException when Discord refused and
        NotConfigured without a research forum."""
        lock = self._post_locks.setdefault(episode_id, asyncio.Lock())
        try:
            async with lock:
                return await self._open_post(episode_id, by_job)
        finally:
            if not lock.locked() and self._post_locks.get(episode_id) is lock:
                del self._post_locks[episode_id]

    async def _open_post(self, episode_id: int, by_job: bool) -> bool:
        episode = await episode_store.get(self.db, episode_id)
        if episode is None or episode.thread_id is not None or episode.status not in POST_STATUSES:
            return True
        guild = self.bot.get_guild(episode.guild_id)
        if guild is None:
            raise NotConfigured("the bot is not in the episode's server")
        forum = await self.episodes.forum(guild)
        tags = await sync.ensure_tags(forum)
        data = await lists_store.card_data(self.db, episode_id)
        name = rules.thread_name(episode.code, episode.title)
        intent = await posts_store.add_post_intent(self.db, guild.id, forum.id, name)
        created = await forum.create_thread(
            name=name,
            content=starter_text(episode, await store.topic_url(self.db, episode_id)),
            embed=status_card(data),
            applied_tags=sync.tags_for(tags, episode.status, has_authors=bool(data.authors)),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        saved = await store.set_post(
            self.db,
            episode_id,
            forum_id=forum.id,
            thread_id=created.thread.id,
            starter_message_id=created.message.id,
            intent_id=intent,
        )
        if not saved:  # opened meanwhile by another path: this one is not wanted
            await self.episodes.posts.delete_quietly(created.thread)
            return True
        if not by_job:  # opened at once: its job is not needed (the job itself is recorded done)
            await self.scheduler.cancel_by_key_prefix(store.post_key(episode_id))
        wanted = rules.managed_tag_names(episode.status, bool(data.authors))
        if any(tag not in tags for tag in wanted):
            await self.episodes.posts.schedule_card_sync(episode_id, CARD_RETRY_SECONDS)
        return True

    async def post_job(self, job: Job) -> Outcome:
        """The `forum_import_post` job: open the post Discord refused when the topic was imported."""
        try:
            await self.open_post(job.payload["episode_id"], by_job=True)
        except discord.HTTPException as exc:
            return refusal_outcome(exc, job.attempts, "an imported episode's post", POST_RETRY)
        except NotConfigured as exc:  # no research forum (any more): tried a while, then left
            return Failed(exc.message) if job.attempts + 1 >= POST_TRIES else Retry(exc.message)
        return DONE

    # -- forum names -----------------------------------------------------------------------------------

    async def unlinked_authors(self, guild_id: int) -> list[tuple[str, int]]:
        """`/import authors`: forum names not linked to a member, with their contributions and
        authorships, most first."""
        return await store.unlinked(self.db, guild_id)

    async def forum_names(self, guild_id: int, prefix: str, limit: int = 25) -> list[str]:
        """For autocomplete: forum names starting with `prefix`, those waiting for a link first."""
        return await store.names_starting(self.db, guild_id, prefix, limit)

    async def link(self, guild_id: int, forum_name: str, member_id: int, *, actor_id: int) -> LinkResult:
        """`/import link`: the forum name's contributions and authorships become the member's, in every
        episode (list, search, export, credits, cards). Linking again to the same member changes
        nothing; a name linked to one member is never moved to another (Conflict)."""
        async with self.db.transaction() as tx:
            found = await store.named(tx, guild_id, forum_name)
            if not found:
                raise NotFound(
                    f"No forum name `{plain(forum_name, 60)}` was imported in this server: see `/import authors`."
                )
            others = sorted({a.member_id for a in found if a.member_id not in (None, member_id)})
            if others:
                raise Conflict(
                    f"`{plain(found[0].username, 60)}` is already linked to <@{others[0]}>: a forum name stays "
                    "with the member it was linked to."
                )
            todo = [a for a in found if a.member_id is None]
            linked = await store.link_in(tx, todo, member_id, actor_id, now_ts())
        self.scheduler.jobs_changed(linked.jobs)
        for episode_id in linked.episodes[:CARDS_NOW]:
            episode = await episode_store.get(self.db, episode_id)
            if episode is not None and episode.thread_id is not None:
                with contextlib.suppress(discord.HTTPException):
                    await self.episodes.posts.sync_card(episode_id)
        return LinkResult(
            forum_name=found[0].username,
            member_id=member_id,
            changed=bool(todo),
            contributions=linked.contributions,
            authorships=linked.authorships,
            episodes=linked.episodes,
        )
