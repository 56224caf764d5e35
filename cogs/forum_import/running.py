"""Running an import for a command: topics read from the forum one at a time (fetched and parsed while
the previous ones are written), progress in the command's reply at most once every 2 seconds, one
import per server at a time, and the closing report delivered even when the reply can't be edited
any more (an import longer than Discord's 15 minutes for a reply: the report comes by DM)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field

import discord

from bot.errors import Conflict, InvalidInput
from cogs.forum_import.client import DiscourseClient, ForumError
from cogs.forum_import.discourse import ForumTopic, NotATopic, parse_topic
from cogs.forum_import.service import ImportProgress
from cogs.forum_import.views import progress_text

log = logging.getLogger(__name__)

PROGRESS_EVERY = 2.0  # seconds between two edits of the command's reply
GIVE_UP_AFTER = 3  # topics in a row that can't be read: the forum itself is failing, stop there


@dataclass(slots=True)
class TopicFeed:
    """The topics of a category, read from the forum one by one as the import asks for them.

    A topic that can't be read (deleted since it was listed, private, not a topic) is noted in
    `unreadable` and passed over; after `GIVE_UP_AFTER` such topics in a row the forum's own answer
    ends the import (the service reports why it stopped)."""

    client: DiscourseClient
    topic_ids: list[int]
    unreadable: list[tuple[int, str]] = field(default_factory=list)

    async def __aiter__(self) -> AsyncIterator[ForumTopic]:
        in_a_row = 0
        for topic_id in self.topic_ids:
            try:
                topic = parse_topic(await self.client.topic(topic_id), base_url=self.client.base_url)
            except (ForumError, NotATopic) as exc:
                in_a_row += 1
                if in_a_row >= GIVE_UP_AFTER:
                    raise
                log.info("forum topic %s can't be read: %s", topic_id, exc.message)
                self.unreadable.append((topic_id, exc.message))
                continue
            in_a_row = 0
            yield topic


async def forum_topics(
    client: DiscourseClient, category: str | None, topic_id: int | None
) -> tuple[TopicFeed | list[ForumTopic], int]:
    """What `/import discourse` imports, and how many topics: the one topic, read and checked now (so
    anything wrong with it is the command's answer), or the category's topics, read one by one as the
    import goes."""
    if topic_id is not None:
        return [parse_topic(await client.topic(topic_id), base_url=client.base_url)], 1
    ids = await client.category_topic_ids(category or "")
    if not ids:
        raise InvalidInput(f"The category `{(category or '')[:100]}` has no topics to import.")
    return TopicFeed(client, ids), len(ids)


def parsed(topics: Iterable[dict]) -> Iterable[ForumTopic]:
    """Topics of an upload (already checked by `read_upload`), parsed one at a time as they are imported."""
    for data in topics:
        yield parse_topic(data, base_url=None)


def _monotonic() -> float:
    return time.monotonic()  # looked up at each call: test harnesses replace it with their clock


class ProgressReply:
    """Shows an import's progress in the command's (deferred) reply, at most once every
    `PROGRESS_EVERY` seconds of the bot's clock; the "thinking…" answer counts as the first."""

    def __init__(
        self,
        interaction: discord.Interaction,
        source: str,
        *,
        dry_run: bool,
        every: float = PROGRESS_EVERY,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.interaction = interaction
        self.source = source
        self.dry_run = dry_run
        self.every = every
        self.clock = clock or _monotonic
        self.last = self.clock()
        self.edits = 0
        self.broken = False  # Discord refused an edit (e.g. the reply's 15 minutes are over)

    async def __call__(self, progress: ImportProgress) -> None:
        at = self.clock()
        if self.broken or at - self.last < self.every:
            return
        self.last = at
        try:
            await self.interaction.edit_original_response(
                content=progress_text(progress, self.source, dry_run=self.dry_run)
            )
            self.edits += 1
        except discord.HTTPException as exc:
            self.broken = True
            log.info("import progress can't be shown any more (%s); the report will follow", exc)


class Running:
    """One import per server at a time: a second one, started while the first runs, is refused."""

    def __init__(self) -> None:
        self._by_guild: dict[int, int] = {}  # guild id -> the admin who started the import

    @contextlib.contextmanager
    def hold(self, guild_id: int, member_id: int) -> Iterator[None]:
        started_by = self._by_guild.get(guild_id)
        if started_by is not None:
            raise Conflict(
                f"An import is already running in this server (started by <@{started_by}>): wait for "
                "its report, then start the next one."
            )
        self._by_guild[guild_id] = member_id
        try:
            yield
        finally:
            del self._by_guild[guild_id]
