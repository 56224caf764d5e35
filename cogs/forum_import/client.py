"""The Discourse HTTP client: polite, bounded, retrying, and clear when a forum can't be read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType

import aiohttp

from bot.errors import InvalidInput


class ForumError(InvalidInput):
    """The forum could not be read; the message says why and what to do."""


class DiscourseClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        api_username: str | None = None,
        session: aiohttp.ClientSession | None = None,
        min_interval: float = 0.2,
        timeout: float = 20.0,
        max_bytes: int = 20 * 2**20,
        max_retries: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> DiscourseClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        raise NotImplementedError

    async def category_topic_ids(self, category: str) -> list[int]:
        """Every topic id of the category (its slug or id), over all pages, in listing order."""
        raise NotImplementedError

    async def topic(self, topic_id: int) -> dict:
        """The whole topic as one JSON, every post of `post_stream.stream` in `post_stream.posts`."""
        raise NotImplementedError
