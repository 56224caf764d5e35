"""Routes, grouping and pacing of automatic posts: what the outbox sends where, in how many messages,
and how fast (Discord's per-channel limit)."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.clock import now
from bot.core.scheduler import Retry

MESSAGE_MAX = 2000
MAX_PINGS = 100  # Discord's limit on allowed_mentions.users


@dataclass(frozen=True, slots=True)
class Route:
    """One place to deliver something: a channel (`channel_id`) or a member's DMs (`dm_user_id`)."""

    text: str
    channel_id: int | None = None
    dm_user_id: int | None = None
    ping: tuple[int, ...] = ()
    reveal: bool = False  # private text shown in a channel: its item's kind puts it behind a button

    @property
    def key(self) -> str:
        return f"dm:{self.dm_user_id}" if self.dm_user_id is not None else f"ch:{self.channel_id}"

    @property
    def solo(self) -> bool:
        """Text with an open code block would swallow whatever is grouped after it."""
        return "```" in self.text


@dataclass(slots=True)
class Delivery:
    job_id: int
    routes: list[Route]
    item: str  # what is delivered, as the sends record it (see `Outbox.settle`)
    step: int = 0

    @property
    def route(self) -> Route:
        return self.routes[self.step]


class ChannelPacer:
    """At most `limit` messages per `per` seconds into one channel (Discord's per-channel limit is
    5 per 5 s): what does not fit now is retried a little later instead of meeting a 429."""

    def __init__(self, limit: int = 5, per: float = 5.0) -> None:
        self.limit = limit
        self.per = per
        self._sent: dict[str, list[float]] = {}

    def wait(self, key: str) -> float:
        at = now().timestamp()
        recent = [t for t in self._sent.get(key, []) if at - t < self.per]
        if recent:
            self._sent[key] = recent
        else:
            self._sent.pop(key, None)
        return 0.0 if len(recent) < self.limit else recent[0] + self.per - at

    def sent(self, key: str) -> None:
        self._sent.setdefault(key, []).append(now().timestamp())


def fit(text: str, limit: int = MESSAGE_MAX) -> str:
    """Cut a text that would break Discord's limit, visibly."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit + 40
    return text[: limit - 40] + f" … ({cut:,} characters cut)"


def pack(deliveries: list[Delivery], limit: int = MESSAGE_MAX) -> list[list[Delivery]]:
    """Group texts for one channel into as few messages of at most `limit` characters as possible."""
    messages: list[list[Delivery]] = []
    length = 0
    for delivery in deliveries:
        text = delivery.route.text
        if (
            not messages
            or delivery.route.solo
            or messages[-1][-1].route.solo
            or length + 2 + len(text) > limit
        ):
            messages.append([delivery])
            length = len(text)
        else:
            messages[-1].append(delivery)
            length += 2 + len(text)
    return messages


def transient(exc: BaseException) -> Retry:
    if isinstance(exc, discord.HTTPException):
        after = None
        if exc.status == 429:
            retry_after = getattr(exc, "retry_after", None)
            after = max(float(retry_after), 6.0) if retry_after else 10.0
        return Retry(f"HTTP {exc.status}", after=after)
    return Retry(f"{type(exc).__name__}: {exc}")
