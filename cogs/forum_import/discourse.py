"""Reading Discourse's topic JSON into typed topics and posts (pure: never imports discord)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

from bot.errors import InvalidInput
from cogs.forum_import.rules import absolute_images, forum_url, read_first_post, split_title

REGULAR = "regular"
MODERATOR = "moderator"
SMALL_ACTION = "small_action"
WHISPER = "whisper"
# Discourse's Post.types: 1 regular, 2 moderator action, 3 small action, 4 whisper.
_KINDS = {1: REGULAR, 2: MODERATOR, 3: SMALL_ACTION, 4: WHISPER}
# actions_summary entry for likes (PostActionType :like).
_LIKE_ACTION = 2
# The forum a topic file came from, when the file doesn't tell (RFC 2606: `.invalid` never resolves).
UNKNOWN_FORUM = "https://forum.invalid"


class NotATopic(InvalidInput):
    """The JSON (or file) is not a Discourse topic as `/t/{id}.json` serves it."""


@dataclass(frozen=True, slots=True)
class ForumPost:
    post_id: int
    number: int
    username: str
    name: str | None
    created_at: dt.datetime
    edited_at: dt.datetime | None
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
        """Why this post is not research, or None when it is (the first post is the topic's own)."""
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
    created_at: dt.datetime
    posts: tuple[ForumPost, ...]

    @property
    def research(self) -> tuple[ForumPost, ...]:
        return tuple(post for post in self.posts if post.is_research)

    @property
    def skipped(self) -> tuple[tuple[int, str], ...]:
        """(post number, reason) of every post after the first that is not research."""
        return tuple((post.number, reason) for post in self.posts if (reason := post.skip_reason) is not None)


def parse_topic(data: Mapping, *, base_url: str | None = None) -> ForumTopic:
    """The topic in `data` (every post present, with `raw`), its links built on `base_url`.

    `base_url` None (a topic from a file) takes the forum from the JSON itself (the host in its
    avatar paths), else `UNKNOWN_FORUM`. Raises NotATopic, with a sentence, for anything that is
    not a whole Discourse topic."""
    topic_id, title, posts_data = _shape(data)
    forum = forum_url(base_url) if base_url else guess_forum(data) or UNKNOWN_FORUM
    slug = _text(data.get("slug")) or _slug_of(posts_data)
    topic_url = f"{forum}/t/{slug}/{topic_id}" if slug else f"{forum}/t/{topic_id}"
    _check_complete(data, posts_data, topic_id)
    by_number: dict[int, ForumPost] = {}
    for index, post in enumerate(posts_data):
        parsed = _post(post, index, topic_url)
        by_number.setdefault(parsed.number, parsed)
    first = by_number.pop(1, None)
    raw_first = first.raw if first is not None else ""
    if not any(isinstance(p, Mapping) and isinstance(p.get("raw"), str) for p in posts_data):
        raise NotATopic(
            f"Topic {topic_id} was saved without its posts' text (`raw`): open "
            f"`/t/{topic_id}.json?include_raw=true&print=true` on the forum and save that instead."
        )
    authors, status, description = read_first_post(raw_first)
    code, episode_title = split_title(title, topic_id)
    created = _when(data.get("created_at"))
    if created is None:
        created = first.created_at if first is not None else min(p.created_at for p in by_number.values())
    return ForumTopic(
        topic_id=topic_id,
        url=topic_url,
        forum=forum,
        title=title,
        code=code,
        episode_title=episode_title,
        status=status,
        authors=authors,
        description=description,
        created_at=created,
        posts=tuple(by_number[n] for n in sorted(by_number)),
    )


def guess_forum(data: Mapping) -> str | None:
    """The forum's https:// address from the host Discourse writes into local avatar paths."""
    templates: list[str] = []
    stream = data.get("post_stream")
    if isinstance(stream, Mapping) and isinstance(stream.get("posts"), list):
        templates += [p.get("avatar_template") for p in stream["posts"] if isinstance(p, Mapping)]
    details = data.get("details")
    if isinstance(details, Mapping) and isinstance(details.get("created_by"), Mapping):
        templates.append(details["created_by"].get("avatar_template"))
    for template in templates:
        if isinstance(template, str):
            match = re.match(r"^/user_avatar/([A-Za-z0-9.\-]+\.[A-Za-z]{2,})(?::\d+)?/", template)
            if match:
                return f"https://{match.group(1).lower()}"
    return None


def _shape(data: object) -> tuple[int, str, list]:
    if not isinstance(data, Mapping):
        raise NotATopic("This isn't a Discourse topic: the JSON is not an object with a topic in it.")
    if "topic_list" in data:
        raise NotATopic(
            "This is a category's list of topics, not a topic: import the category with "
            "`/import discourse`, or save each topic's `/t/{id}.json?include_raw=true`."
        )
    stream = data.get("post_stream")
    if not isinstance(stream, Mapping) or not isinstance(stream.get("posts"), list):
        raise NotATopic(
            "This isn't a Discourse topic: it has no `post_stream` with posts "
            "(save the topic's `/t/{id}.json?include_raw=true`)."
        )
    topic_id = data.get("id")
    if not isinstance(topic_id, int) or isinstance(topic_id, bool) or topic_id <= 0:
        raise NotATopic("This isn't a Discourse topic: it has no topic `id`.")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise NotATopic(
            f"This holds posts of topic {topic_id} but not the topic itself (no title): "
            f"save `/t/{topic_id}.json?include_raw=true` too."
        )
    if not stream["posts"]:
        raise NotATopic(f"Topic {topic_id} has no posts in it.")
    return topic_id, title.strip(), stream["posts"]


def _check_complete(data: Mapping, posts: list, topic_id: int) -> None:
    """Every post the stream lists must be there: a topic is imported whole or not at all."""
    stream = data["post_stream"].get("stream")
    if not isinstance(stream, list):
        return
    have = {p.get("id") for p in posts if isinstance(p, Mapping)}
    missing = [pid for pid in stream if pid not in have]
    if missing:
        raise NotATopic(
            f"Topic {topic_id} is incomplete: {len(missing)} of its {len(stream)} posts are not in it "
            f"(Discourse sends 20 at a time). Save `/t/{topic_id}.json?include_raw=true&print=true`, "
            "which holds up to 1,000 posts, or import it with `/import discourse`."
        )


def _post(post: object, index: int, topic_url: str) -> ForumPost:
    if not isinstance(post, Mapping):
        raise NotATopic(f"Post {index + 1} of this topic is not a post object.")
    post_id, number = post.get("id"), post.get("post_number")
    if not _is_int(post_id) or not _is_int(number) or number < 1:
        raise NotATopic(f"Post {index + 1} of this topic has no `id` or `post_number`.")
    created = _when(post.get("created_at"))
    if created is None:
        raise NotATopic(f"Post {number} of this topic has no valid `created_at` date.")
    updated = _when(post.get("updated_at"))
    version = post.get("version")
    edited = (version > 1) if _is_int(version) else (updated is not None and updated > created)
    raw = post.get("raw")
    cooked = _text(post.get("cooked"))
    if not isinstance(raw, str):
        raw = html_to_text(cooked)
    post_type = post.get("post_type", 1)
    kind = _KINDS.get(post_type, SMALL_ACTION) if _is_int(post_type) else SMALL_ACTION
    if post.get("action_code") and kind == REGULAR:
        kind = SMALL_ACTION
    reply_to = post.get("reply_to_post_number")
    username = _text(post.get("username")) or _text(post.get("display_username")) or "unknown"
    return ForumPost(
        post_id=post_id,
        number=number,
        username=username,
        name=_text(post.get("name")) or None,
        created_at=created,
        edited_at=(updated or created) if edited else None,
        raw=raw,
        likes=_likes(post),
        reply_to_number=reply_to if _is_int(reply_to) and reply_to > 0 else None,
        url=f"{topic_url}/{number}",
        images=absolute_images(raw, cooked, topic_url.split("/t/")[0]),
        kind=kind,
        deleted=bool(post.get("deleted_at")) or bool(post.get("user_deleted")),
        hidden=bool(post.get("hidden")),
    )


def _likes(post: Mapping) -> int:
    summary = post.get("actions_summary")
    if isinstance(summary, list):
        for action in summary:
            if isinstance(action, Mapping) and action.get("id") == _LIKE_ACTION:
                count = action.get("count")
                return count if _is_int(count) and count > 0 else 0
    count = post.get("like_count")
    return count if _is_int(count) and count > 0 else 0


def _slug_of(posts: list) -> str:
    for post in posts:
        if isinstance(post, Mapping) and (slug := _text(post.get("topic_slug"))):
            return slug
    return ""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _when(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


class _Text(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(cooked: str) -> str:
    """Plain text of a post's HTML, for a post saved without its Markdown."""
    if not cooked:
        return ""
    parser = _Text()
    parser.feed(cooked)
    parser.close()
    text = html.unescape("".join(parser.parts))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
