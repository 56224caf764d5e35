"""The Discourse HTTP client: polite, bounded, retrying, and clear when a forum can't be read."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import aiohttp

from bot import clock
from bot.errors import InvalidInput
from cogs.forum_import.rules import forum_url, is_loopback_host

log = logging.getLogger(__name__)

CHUNK = 20  # posts per /t/{id}/posts.json request, Discourse's own page size
MAX_PAGES = 1000  # category pages (30 topics each) before giving up on a forum that never ends
MAX_REDIRECTS = 5
# Seconds between requests, under Discourse's default limits: 200 requests a minute per address
# (max_reqs_per_ip_per_minute), 60 a minute with an API key (max_admin_api_reqs_per_minute).
INTERNET_INTERVAL = 0.3
API_KEY_INTERVAL = 1.0
LOOPBACK_INTERVAL = 0.01  # a forum on this machine
USER_AGENT = "Archivist (Discord bot) forum import"

Params = Sequence[tuple[str, str]]


class ForumError(InvalidInput):
    """The forum could not be read; the message says why and what to do."""


class _Retry(Exception):
    """A transient failure: wait `delay` seconds (None: back off) and try again."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class DiscourseClient:
    """Reads a Discourse forum's public JSON API: category topic lists and whole topics.

    One request at a time at most every `min_interval` seconds (by default 0.3 s, 1 s with an API
    key, within Discourse's default rate limits; 0.01 s for a forum on this machine); 429 answers wait out `Retry-After` (at most `max_wait` seconds each,
    `max_retries` times); 5xx answers, dropped connections and timeouts are retried with backoff;
    an answer over `max_bytes` is refused while it is read. Every failure is a ForumError."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        api_username: str | None = None,
        session: aiohttp.ClientSession | None = None,
        min_interval: float | None = None,
        timeout: float = 20.0,
        max_bytes: int = 20 * 2**20,
        max_retries: int = 4,
        max_wait: float = 60.0,
        backoff: float = 1.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.base_url = forum_url(base_url)
        host = urlsplit(self.base_url).hostname or ""
        if min_interval is None:
            if is_loopback_host(host):
                min_interval = LOOPBACK_INTERVAL
            else:
                min_interval = API_KEY_INTERVAL if (api_key or "").strip() else INTERNET_INTERVAL
        self.min_interval = max(0.0, min_interval)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff
        self.requests_made = 0
        self._sleep = sleep
        self._api_key = (api_key or "").strip() or None
        self._api_username = (api_username or "").strip() or None
        self._session = session
        self._own_session = session is None
        self._lock = asyncio.Lock()
        self._last: float | None = None

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
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    # --- the two things an import needs ------------------------------------------------------------

    async def category_topic_ids(self, category: str) -> list[int]:
        """Every topic id of the category (its slug, `parent/child` slug or id), over all its pages,
        in listing order, without the category's own "About the … category" topic."""
        ref = category.strip().strip("/")
        if ref.startswith(("http://", "https://")) and "/c/" in ref:
            ref = ref.split("/c/", 1)[1].split("?")[0].strip("/").removesuffix(".json")
        if not ref:
            raise ForumError("Name the category to import by its slug (like `episode-research`) or id.")
        what = f"category `{ref[:60]}`"
        parts = [p for p in ref.split("/") if p]
        if parts[-1].isdigit():
            info = await self._get_json(f"/c/{parts[-1]}/show.json", (), what=what)
        else:
            slug_path = "/".join(quote(p, safe="") for p in parts)
            info = await self._get_json(f"/c/{slug_path}/find_by_slug.json", (), what=what)
        cat = info.get("category") if isinstance(info.get("category"), dict) else info
        cat_id, slug = cat.get("id"), cat.get("slug")
        if not isinstance(cat_id, int) or not isinstance(slug, str):
            raise self._not_discourse(f"{self.base_url}/c/{ref}", "a category without an id or slug")
        about_topic = cat.get("topic_id")
        ids: list[int] = []
        seen: set[int] = set()
        for page in range(MAX_PAGES):
            params = (("page", str(page)),) if page else ()
            data = await self._get_json(f"/c/{quote(slug, safe='')}/{cat_id}.json", params, what=what)
            topic_list = data.get("topic_list")
            if not isinstance(topic_list, dict) or not isinstance(topic_list.get("topics"), list):
                raise self._not_discourse(f"{self.base_url}/c/{slug}/{cat_id}.json", "no topic list")
            new = [
                t["id"]
                for t in topic_list["topics"]
                if isinstance(t, dict) and isinstance(t.get("id"), int) and t["id"] not in seen
            ]
            for topic_id in new:
                seen.add(topic_id)
                if topic_id != about_topic:
                    ids.append(topic_id)
            if not new or not topic_list.get("more_topics_url"):
                return ids
        raise ForumError(
            f"{what.capitalize()} still had more pages after {MAX_PAGES}: import it topic by topic."
        )

    async def topic(self, topic_id: int) -> dict:
        """The whole topic as one JSON, every post of `post_stream.stream` in `post_stream.posts`.

        `/t/{id}.json?include_raw=true` brings the first 20 posts; the rest come from
        `/t/{id}/posts.json?post_ids[]=…` in chunks of 20, merged in the stream's order. A post the
        forum no longer returns (deleted meanwhile) is left out of the stream too."""
        what = f"topic {topic_id}"
        data = await self._get_json(f"/t/{topic_id}.json", (("include_raw", "true"),), what=what)
        stream_data = data.get("post_stream")
        if not isinstance(stream_data, dict) or not isinstance(stream_data.get("posts"), list):
            raise self._not_discourse(f"{self.base_url}/t/{topic_id}.json", "no posts in the topic")
        by_id: dict[int, dict] = {}
        for post in stream_data["posts"]:
            if isinstance(post, dict) and isinstance(post.get("id"), int):
                by_id.setdefault(post["id"], post)
        stream = [pid for pid in stream_data.get("stream") or by_id if isinstance(pid, int)]
        missing = [pid for pid in stream if pid not in by_id]
        gone: set[int] = set()
        while missing:
            chunk = missing[:CHUNK]
            params = [("post_ids[]", str(pid)) for pid in chunk] + [("include_raw", "true")]
            more = await self._get_json(f"/t/{topic_id}/posts.json", params, what=what)
            posts = (more.get("post_stream") or {}).get("posts") if isinstance(more, dict) else None
            if not isinstance(posts, list):
                raise self._not_discourse(f"{self.base_url}/t/{topic_id}/posts.json", "no posts")
            for post in posts:
                if isinstance(post, dict) and isinstance(post.get("id"), int):
                    by_id.setdefault(post["id"], post)
            if not any(pid in by_id for pid in chunk):
                gone.update(chunk)  # asked for and not given: no longer visible
            missing = [pid for pid in stream if pid not in by_id and pid not in gone]
        if gone:
            log.warning("topic %s: %d posts of its stream are no longer served", topic_id, len(gone))
        ordered = [pid for pid in stream if pid in by_id]
        ordered += [pid for pid in by_id if pid not in set(ordered)]
        whole = dict(data)
        whole["post_stream"] = {**stream_data, "posts": [by_id[pid] for pid in ordered], "stream": ordered}
        return whole

    # --- HTTP ---------------------------------------------------------------------------------------

    async def _get_json(self, path: str, params: Params, *, what: str) -> dict:
        url = self.base_url + path
        attempt = 0
        while True:
            try:
                return await self._get_once(url, params, what=what)
            except _Retry as retry:
                if attempt >= self.max_retries:
                    raise self._gave_up(retry, attempt + 1, what) from None
                delay = retry.delay if retry.delay is not None else self.backoff * 2**attempt
                delay = min(max(delay, 0.0), self.max_wait)
                attempt += 1
                log.info("%s: %s; retry %d in %.1f s", url, retry.reason, attempt, delay)
                await self._sleep(delay)

    async def _get_once(self, url: str, params: Params, *, what: str) -> dict:
        session = self._ensure_session()
        target, query = url, list(params)
        for _ in range(MAX_REDIRECTS + 1):
            await self._pace()
            self.requests_made += 1
            try:
                async with session.get(
                    target,
                    params=query or None,
                    headers=self._headers(target),
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=self.timeout, sock_read=self.timeout),
                ) as response:
                    if response.status in {301, 302, 303, 307, 308} and "Location" in response.headers:
                        target = self._redirect(target, response.headers["Location"])
                        query = []  # the Location carries its own query
                        continue
                    self._check_status(response, what)
                    body = await self._read(response, target)
                    return self._decode(response, body, target)
            except (TimeoutError, aiohttp.ServerTimeoutError):
                raise _Retry("timed out") from None
            except aiohttp.ClientConnectorError as exc:
                raise ForumError(
                    f"Can't reach the forum at {self.base_url} ({_reason(exc)}): check the address "
                    "and that the forum is up."
                ) from None
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError):
                raise _Retry("the connection was dropped") from None
            except aiohttp.InvalidURL:
                raise ForumError(f"`{target[:120]}` is not an address the bot can read.") from None
        raise self._not_discourse(url, "it keeps redirecting")

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._own_session:
                raise ForumError("The forum connection was already closed.")
            self._session = aiohttp.ClientSession()
        return self._session

    async def _pace(self) -> None:
        async with self._lock:
            if self._last is not None:
                wait = self._last + self.min_interval - time.monotonic()
                if wait > 0:
                    await self._sleep(wait)
            self._last = time.monotonic()

    def _headers(self, target: str) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if _origin(target) == _origin(self.base_url):  # the key never goes to another site
            if self._api_key:
                headers["Api-Key"] = self._api_key
            if self._api_username:
                headers["Api-Username"] = self._api_username
        return headers

    def _redirect(self, current: str, location: str) -> str:
        target = urljoin(current, location)
        if urlsplit(target).scheme not in {"http", "https"}:
            raise self._not_discourse(current, "it redirects away from the web")
        return target

    def _check_status(self, response: aiohttp.ClientResponse, what: str) -> None:
        status = response.status
        if 200 <= status < 300:
            return
        if status == 429 or (status == 503 and "Retry-After" in response.headers):
            delay = self._retry_after(response.headers.get("Retry-After"))
            if delay > self.max_wait:
                raise ForumError(
                    f"The forum asks the bot to wait {_duration(delay)} before more requests "
                    "(too many requests); try the import again after that."
                )
            raise _Retry("too many requests (429)", delay)
        if status in {401, 403}:
            if self._api_key:
                raise ForumError(
                    f"The forum refused access to {what} (HTTP {status}) even with the API key: check "
                    "that DISCOURSE_API_KEY is valid, that DISCOURSE_API_USERNAME names a user who can "
                    "read it, and that the key's scope is Read-only (or Global)."
                )
            raise ForumError(
                f"The forum refused access to {what} (HTTP {status}): it is private. Create a read-only "
                "API key on the forum's /admin/api/keys page and set DISCOURSE_API_KEY and "
                "DISCOURSE_API_USERNAME in the bot's .env, then restart the bot."
            )
        if status in {404, 410}:
            raise ForumError(
                f"The forum has no {what} (HTTP {status}): check the number or name, or whether it was "
                "deleted or moved."
            )
        if status >= 500:
            raise _Retry(f"the forum answered HTTP {status}")
        raise ForumError(f"The forum answered HTTP {status} for {what}; the import stopped there.")

    def _retry_after(self, value: str | None) -> float:
        if not value:
            return self.backoff
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return self.backoff
        if when.tzinfo is None:
            return self.backoff
        return max(0.0, (when - clock.now()).total_seconds())

    async def _read(self, response: aiohttp.ClientResponse, url: str) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self.max_bytes:
            raise self._too_large(url)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large(url)
            chunks.append(chunk)
        return b"".join(chunks)

    def _decode(self, response: aiohttp.ClientResponse, body: bytes, url: str) -> dict:
        content_type = response.headers.get("Content-Type", "").lower()
        if "html" in content_type or body.lstrip()[:1] == b"<":
            raise self._not_discourse(url, "a web page")
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise self._not_discourse(url, "something that isn't JSON") from None
        if not isinstance(data, dict):
            raise self._not_discourse(url, "JSON of another shape")
        return data

    def _not_discourse(self, url: str, answer: str) -> ForumError:
        return ForumError(
            f"{self.base_url} doesn't look like a Discourse forum: {url[:160]} answered with {answer} "
            "instead of Discourse's JSON. Check the address (the forum's front page, like "
            "https://forum.example.org)."
        )

    def _too_large(self, url: str) -> ForumError:
        return ForumError(
            f"The forum's answer for {url[:160]} is larger than {self.max_bytes // 2**20} MiB; the bot "
            "stopped reading it."
        )

    def _gave_up(self, retry: _Retry, attempts: int, what: str) -> ForumError:
        if retry.delay is not None:
            return ForumError(
                f"The forum kept answering “too many requests” (429) for {what}, {attempts} times even "
                "after waiting as it asked; try the import again later."
            )
        if retry.reason == "timed out":
            return ForumError(
                f"The forum didn't answer for {what} within {self.timeout:g} s, {attempts} times; it "
                "may be down or very slow. Try again later."
            )
        return ForumError(f"Reading {what} failed {attempts} times ({retry.reason}); try again later.")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _reason(exc: aiohttp.ClientConnectorError) -> str:
    error = exc.os_error
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "its certificate isn't valid"
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return text.rstrip(".")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{round(seconds)} seconds"
    if seconds < 7200:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"
