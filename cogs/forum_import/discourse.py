"""Reading Discourse's topic JSON into typed topics and posts (pure: never imports discord)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.errors import InvalidInput

REGULAR = "regular"
MODERATOR = "moderator"
SMALL_ACTION = "small_action"
WHISPER = "whisper"


class NotATopic(InvalidInput):
    """The JSON (or file) is not a Discourse topic as `/t/{id}.json` serves it."""


@dataclass(frozen=True, slots=True)
class ForumPost:
    post_id: int
    number: int
    username: str
    name: str | None
    created_at: datetime
    edited_at: datetime | None
    raw: str
    likes: int
    reply_to_number: int | None
    url: str
    images: tuple[str, ...]
    kind: str
    deleted: bool
    hidden: bool

    @property
    def skip_reason(self) -> str | None:
        """Why this post is not research, or None when it is."""
        if self.kind == WHISPER:
            return "whisper"
        if self.kind == SMALL_ACTION:
            return "small action"
        if self.kind == MODERATOR:
            return "moderator post"
        if self.deleted:
            return "deleted"
        if self.hidden:
            return "hidden"
        if not self.raw.strip():
            return "empty"
        return None

    @property
    def is_research(self) -> bool:
        return self.number > 1 and self.skip_reason is None


@dataclass(frozen=True, slots=True)
class ForumTopic:
    topic_id: int
    url: str
    forum: str
    title: str
    code: str
    episode_title: str
    status: str
    authors: tuple[str, ...]
    description: str
    created_at: datetime
    posts: tuple[ForumPost, ...]

    @property
    def research(self) -> tuple[ForumPost, ...]:
        return tuple(post for post in self.posts if post.is_research)

    @property
    def skipped(self) -> tuple[tuple[int, str], ...]:
        return tuple((post.number, reason) for post in self.posts if (reason := post.skip_reason) is not None)


def parse_topic(data: Mapping, *, base_url: str) -> ForumTopic:
    """The topic in `data` (every post present, with `raw`), links built on `base_url`."""
    raise NotImplementedError
