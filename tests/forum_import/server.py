"""A local Discourse look-alike on 127.0.0.1 (own thread and loop) for forum-import tests.

It serves the sample forum (`tests/forum_import/sample/`, the shapes Discourse's JSON API serves)
by route, plus topics a test adds, and can misbehave on request: 429 with Retry-After, 403 without
an API key, 404, 500, an HTML page instead of JSON, an oversized answer, a slow answer. It runs in
a thread with its own event loop, so simcord (which drives the test's loop and clock) never waits
on it. Requests are recorded with their headers and a real (perf_counter) time.

    with ForumServer() as forum:            # or forum.start() … forum.stop(); or the fixture
        client = DiscourseClient(forum.url)
        forum.fail("/t/4711.json", 429, times=2, headers={"Retry-After": "1"})
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import fnmatch
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

SAMPLE = Path(__file__).resolve().parent / "sample"
SAMPLE_CATEGORY = ("episode-research", 5)
CHUNK = 20  # posts per page of a topic, as Discourse sends them
PER_PAGE = 30  # topics per page of a category
FORUM_HOST = "forum.example.org"


def sample_topic(topic_id: int) -> dict:
    """A sample topic as one JSON with every post (4712's last posts merged from its posts.json)."""
    data = json.loads((SAMPLE / "t" / f"{topic_id}.json").read_text(encoding="utf-8"))
    more = SAMPLE / "t" / str(topic_id) / "posts.json"
    if more.exists():
        extra = json.loads(more.read_text(encoding="utf-8"))["post_stream"]["posts"]
        have = {p["id"] for p in data["post_stream"]["posts"]}
        data["post_stream"]["posts"] += [p for p in extra if p["id"] not in have]
    return data


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float  # time.perf_counter()
    status: int


@dataclass
class _Fault:
    glob: str
    status: int
    times: int | None  # None: every time
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes | None = None
    content_type: str = "application/json"
    size: int = 0  # oversized: bytes to stream
    declare_length: bool = False
    delay: float = 0.0


@dataclass
class _Category:
    slug: str
    id: int
    name: str
    topic_ids: list[int]
    about_topic: int | None = None


class ForumServer:
    """Serves the sample forum by route, plus generated topics, with fault switches.

    `start()` / `stop()` (also a context manager); `.url` is `http://127.0.0.1:<port>`."""

    def __init__(self, *, sample: bool = True, per_page: int = PER_PAGE) -> None:
        self.per_page = per_page
        self.ignore_page = False  # answer the first page whatever `?page=` asks (some forums do)
        self.topics: dict[int, dict] = {}
        self.categories: dict[int, _Category] = {}
        self.requests: list[Seen] = []
        self.url = ""
        self._faults: list[_Fault] = []
        self._api: tuple[str, str, str] | None = None  # key, username, glob
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        if sample:
            self._load_sample()

    # --- life ---------------------------------------------------------------------------------------

    def start(self) -> ForumServer:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._runner = web.AppRunner(
                    self._app(), access_log=None, handle_signals=False, shutdown_timeout=2.0
                )
                loop.run_until_complete(self._runner.setup())
                loop.run_until_complete(web.SockSite(self._runner, sock).start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-discourse", daemon=True)
        self._thread.start()
        if not ready.wait(10) or failure:
            raise RuntimeError(f"the test forum didn't start: {failure}")
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> ForumServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- content ------------------------------------------------------------------------------------

    def add_category(
        self, slug: str, category_id: int, *, name: str | None = None, about: bool = False
    ) -> None:
        """A category; with `about` it gets its "About the … category" topic, as Discourse makes one."""
        with self._lock:
            cat = _Category(slug, category_id, name or slug.replace("-", " ").title(), [])
            self.categories[category_id] = cat
        if about:
            about_id = 900_000 + category_id
            self.add_topic(
                about_id,
                f"About the {cat.name} category",
                "One topic per episode.",
                category=f"{slug}/{category_id}",
            )
            cat.about_topic = about_id

    def add_topic(
        self,
        topic_id: int,
        title: str,
        first_raw: str,
        posts: list[dict] | None = None,
        *,
        category: str | None = "episode-research/5",
        first_username: str = "Spartacus",
    ) -> dict:
        """Adds (or replaces) a topic; returns its whole JSON (every post, as `/t/{id}.json` with all
        posts would be). `posts` are dicts with `raw` and optionally `username`, `name`, `likes`,
        `reply_to`, `post_type`, `deleted`, `user_deleted`, `hidden`, `cooked`, `created_at`,
        `version`, `updated_at`, `id`, `action_code`."""
        slug = "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())[:80] or "topic"
        start = dt.datetime(2021, 6, 14, 18, 0, tzinfo=dt.UTC) + dt.timedelta(days=topic_id % 97)
        entries = [{"raw": first_raw, "username": first_username}, *(posts or [])]
        built = []
        for number, spec in enumerate(entries, start=1):
            built.append(self._post(topic_id, slug, number, spec, start + dt.timedelta(minutes=7 * number)))
        topic = {
            "post_stream": {"posts": built, "stream": [p["id"] for p in built]},
            "id": topic_id,
            "title": title,
            "fancy_title": title,
            "slug": slug,
            "posts_count": len(built),
            "created_at": built[0]["created_at"],
            "archetype": "regular",
            "category_id": None,
            "like_count": sum(self._likes(p) for p in built),
            "chunk_size": CHUNK,
            "details": {"created_by": {"username": first_username}},
        }
        with self._lock:
            for cat in self.categories.values():
                if topic_id in cat.topic_ids:
                    cat.topic_ids.remove(topic_id)
            if category is not None:
                cat = self._category_by_path(category)
                if cat is None:
                    raise ValueError(f"no category {category!r}: add_category() it first")
                cat.topic_ids.append(topic_id)
                topic["category_id"] = cat.id
            self.topics[topic_id] = topic
        return copy.deepcopy(topic)

    def topic_json(self, topic_id: int) -> dict:
        """The topic as one JSON with every post (what `/import file` accepts, and the client builds)."""
        with self._lock:
            return copy.deepcopy(self.topics[topic_id])

    def remove_topic(self, topic_id: int) -> None:
        with self._lock:
            self.topics.pop(topic_id, None)

    # --- fault switches -----------------------------------------------------------------------------

    def fail(
        self,
        path_glob: str,
        status: int,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> None:
        """The next `times` requests whose path matches `path_glob` (fnmatch; None: all of them)
        answer `status` with these headers and body (default: Discourse's JSON error)."""
        payload = body if body is not None else json.dumps(_error_body(status))
        with self._lock:
            self._faults.append(_Fault(path_glob, status, times, dict(headers or {}), payload))

    def html_instead(self, path_glob: str = "*", times: int | None = None) -> None:
        """Answer 200 with an HTML page (what a site that isn't Discourse, or a login wall, sends)."""
        page = "<!DOCTYPE html><html><head><title>Welcome</title></head><body>Hello</body></html>"
        with self._lock:
            self._faults.append(_Fault(path_glob, 200, times, {}, page, "text/html"))

    def oversized(
        self, path_glob: str, size: int, *, declare_length: bool = False, times: int | None = None
    ) -> None:
        """Answer 200 with `size` bytes of JSON-looking data, streamed (chunked, no Content-Length
        unless `declare_length`)."""
        with self._lock:
            self._faults.append(_Fault(path_glob, 200, times, size=size, declare_length=declare_length))

    def slow(self, path_glob: str, seconds: float, times: int | None = 1) -> None:
        """Answer matching requests only after `seconds` (real time)."""
        with self._lock:
            self._faults.append(_Fault(path_glob, 0, times, delay=seconds))

    def require_api_key(self, key: str, username: str, path_glob: str = "*") -> None:
        """Requests to matching paths without these Api-Key / Api-Username headers get 403."""
        with self._lock:
            self._api = (key, username, path_glob)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._api = None

    # --- what happened ------------------------------------------------------------------------------

    def seen(self, path_glob: str = "*") -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if fnmatch.fnmatchcase(r.path, path_glob)]

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests."""
        times = [r.at for r in self.seen()]
        return [b - a for a, b in itertools.pairwise(times)]

    # --- the app ------------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/c/{slug}/find_by_slug.json", self._find_by_slug)
        app.router.add_get("/c/{parent}/{slug}/find_by_slug.json", self._find_by_slug)
        app.router.add_get("/c/{id:\\d+}/show.json", self._show_category)
        app.router.add_get("/c/{path:.+}.json", self._category_list)
        app.router.add_get("/t/{id:\\d+}.json", self._topic)
        app.router.add_get("/t/{slug}/{id:\\d+}.json", self._topic)
        app.router.add_get("/t/{id:\\d+}/posts.json", self._posts)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        response = await self._answer(request, handler)
        record = Seen(
            request.method,
            request.path,
            {k: request.query.getall(k) for k in request.query},
            dict(request.headers),
            time.perf_counter(),
            response.status,
        )
        with self._lock:
            self.requests.append(record)
        return response

    async def _answer(self, request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
        fault = self._take_fault(request.path)
        if fault is not None and fault.delay:
            # Real time, on a worker thread: simcord may have replaced the monotonic clock loops use.
            await asyncio.get_running_loop().run_in_executor(None, time.sleep, fault.delay)
            fault = self._take_fault(request.path, skip_delays=True)
        if self._api is not None and fnmatch.fnmatchcase(request.path, self._api[2]):
            key, username, _ = self._api
            if request.headers.get("Api-Key") != key or request.headers.get("Api-Username") != username:
                return web.json_response(_error_body(403), status=403)
        if fault is not None:
            if fault.size:
                return await self._stream_oversized(request, fault)
            return web.Response(
                status=fault.status,
                headers=fault.headers,
                body=fault.body.encode() if isinstance(fault.body, str) else fault.body,
                content_type=fault.content_type,
            )
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return web.json_response(_error_body(404), status=404)
        except web.HTTPException as exc:
            return web.Response(status=exc.status, headers=exc.headers)

    def _take_fault(self, path: str, *, skip_delays: bool = False) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if skip_delays and fault.delay:
                    continue
                if fault.times == 0 or not fnmatch.fnmatchcase(path, fault.glob):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    async def _stream_oversized(self, request: web.Request, fault: _Fault) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        if fault.declare_length:
            response.content_length = fault.size
        await response.prepare(request)
        block = b'{"filler": "' + b"x" * 65_000 + b'"},'
        sent = 0
        try:
            while sent < fault.size:
                piece = block[: fault.size - sent]
                await response.write(piece)
                sent += len(piece)
            await response.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass  # the client stopped reading, as it should
        return response

    # --- routes -------------------------------------------------------------------------------------

    def _category_by_path(self, path: str) -> _Category | None:
        parts = [p for p in path.split("/") if p]
        if parts and parts[-1].isdigit():
            return self.categories.get(int(parts[-1]))
        if parts:
            return next((c for c in self.categories.values() if c.slug == parts[-1]), None)
        return None

    async def _find_by_slug(self, request: web.Request) -> web.Response:
        with self._lock:
            cat = self._category_by_path(request.match_info["slug"])
            if cat is None:
                raise web.HTTPNotFound()
            return web.json_response({"category": _category_info(cat)})

    async def _show_category(self, request: web.Request) -> web.Response:
        with self._lock:
            cat = self.categories.get(int(request.match_info["id"]))
            if cat is None:
                raise web.HTTPNotFound()
            return web.json_response({"category": _category_info(cat)})

    async def _category_list(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        with self._lock:
            cat = self._category_by_path(path)
            if cat is None:
                raise web.HTTPNotFound()
            if not path.split("/")[-1].isdigit():  # a slug alone: Discourse redirects to slug/id
                raise web.HTTPMovedPermanently(f"/c/{cat.slug}/{cat.id}.json?{request.query_string}")
            page = 0 if self.ignore_page else int(request.query.get("page", "0") or 0)
            ids = cat.topic_ids
            if cat.about_topic is not None and cat.about_topic in ids:  # pinned first, as Discourse does
                ids = [cat.about_topic, *[i for i in ids if i != cat.about_topic]]
            window = ids[page * self.per_page : (page + 1) * self.per_page]
            topics = [_summary(self.topics[i]) for i in window if i in self.topics]
            more = (page + 1) * self.per_page < len(ids)
        topic_list: dict = {"can_create_topic": False, "per_page": self.per_page, "topics": topics}
        if more:
            topic_list["more_topics_url"] = f"/c/{cat.slug}/{cat.id}?page={page + 1}"
        return web.json_response({"users": [], "topic_list": topic_list})

    async def _topic(self, request: web.Request) -> web.Response:
        topic_id = int(request.match_info["id"])
        include_raw = request.query.get("include_raw") in {"true", "1"}
        size = 1000 if request.query.get("print") == "true" else CHUNK
        with self._lock:
            topic = self.topics.get(topic_id)
            if topic is None:
                raise web.HTTPNotFound()
            data = copy.deepcopy(topic)
        data["post_stream"]["posts"] = [_visible(p, include_raw) for p in data["post_stream"]["posts"][:size]]
        return web.json_response(data)

    async def _posts(self, request: web.Request) -> web.Response:
        topic_id = int(request.match_info["id"])
        wanted = {int(v) for v in request.query.getall("post_ids[]", []) if v.isdigit()}
        include_raw = request.query.get("include_raw") in {"true", "1"}
        with self._lock:
            topic = self.topics.get(topic_id)
            if topic is None:
                raise web.HTTPNotFound()
            posts = [copy.deepcopy(p) for p in topic["post_stream"]["posts"] if p["id"] in wanted]
        return web.json_response(
            {"post_stream": {"posts": [_visible(p, include_raw) for p in posts]}, "id": topic_id}
        )

    # --- building ------------------------------------------------------------------------------------

    def _load_sample(self) -> None:
        listing = json.loads((SAMPLE / "c" / "episode-research" / "5.json").read_text(encoding="utf-8"))
        slug, cat_id = SAMPLE_CATEGORY
        ids = [t["id"] for t in listing["topic_list"]["topics"]]
        self.categories[cat_id] = _Category(slug, cat_id, "Episode Research", ids)
        for topic_id in ids:
            self.topics[topic_id] = sample_topic(topic_id)

    @staticmethod
    def _likes(post: dict) -> int:
        return sum(a.get("count", 0) for a in post.get("actions_summary", []) if a.get("id") == 2)

    @staticmethod
    def _post(topic_id: int, slug: str, number: int, spec: dict, when: dt.datetime) -> dict:
        username = spec.get("username", "Veles")
        raw = spec.get("raw", "")
        created = spec.get("created_at") or when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        paragraphs = "".join(f"<p>{part}</p>" for part in raw.split("\n\n") if part)
        deleted = spec.get("deleted", False)
        post = {
            "id": spec.get("id", topic_id * 1000 + number),
            "name": spec.get("name", username),
            "username": username,
            "avatar_template": f"/user_avatar/{FORUM_HOST}/{username.lower()}/{{size}}/1_2.png",
            "created_at": created,
            "updated_at": spec.get("updated_at", created),
            "cooked": spec.get("cooked", paragraphs),
            "raw": "(post deleted by author)" if spec.get("user_deleted") else raw,
            "post_number": number,
            "post_type": spec.get("post_type", 1),
            "reply_to_post_number": spec.get("reply_to"),
            "topic_id": topic_id,
            "topic_slug": slug,
            "version": spec.get("version", 1),
            "actions_summary": [{"id": 2, "count": spec["likes"]}] if spec.get("likes") else [],
            "hidden": spec.get("hidden", False),
            "deleted_at": created if deleted else None,
            "user_deleted": spec.get("user_deleted", False),
        }
        if spec.get("action_code"):
            post["action_code"] = spec["action_code"]
        return post


def _visible(post: dict, include_raw: bool) -> dict:
    if not include_raw or post.get("hidden"):
        post.pop("raw", None)
    return post


def _summary(topic: dict) -> dict:
    return {
        "id": topic["id"],
        "title": topic["title"],
        "fancy_title": topic.get("fancy_title", topic["title"]),
        "slug": topic.get("slug", ""),
        "posts_count": topic.get("posts_count", len(topic["post_stream"]["stream"])),
        "created_at": topic.get("created_at"),
        "category_id": topic.get("category_id"),
        "like_count": topic.get("like_count", 0),
    }


def _category_info(cat: _Category) -> dict:
    return {"id": cat.id, "name": cat.name, "slug": cat.slug, "topic_id": cat.about_topic}


def _error_body(status: int) -> dict:
    if status == 403:
        return {
            "errors": ["You are not permitted to view the requested resource."],
            "error_type": "invalid_access",
        }
    if status == 404:
        return {"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}
    if status == 429:
        return {
            "errors": ["You’ve performed this action too many times. Please wait a few seconds."],
            "error_type": "rate_limit",
            "extras": {"wait_seconds": 1},
        }
    return {"errors": [f"HTTP {status}"], "error_type": "error"}
