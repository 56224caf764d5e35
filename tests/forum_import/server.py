"""A local Discourse look-alike on 127.0.0.1 (own thread and loop) for forum-import tests."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "discourse"


class ForumServer:
    """Serves the sample forum by route, plus generated topics, with fault switches.

    `start()` / `stop()` (also a context manager); `.url` is `http://127.0.0.1:<port>`.
    """

    url: str

    def start(self) -> ForumServer:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def add_topic(
        self,
        topic_id: int,
        title: str,
        first_raw: str,
        posts: list[dict] | None = None,
        *,
        category: str = "episode-research/5",
    ) -> dict:
        """Adds a generated topic; `posts` are dicts with `raw` and optional post fields."""
        raise NotImplementedError

    def fail(
        self,
        path_glob: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> None:
        raise NotImplementedError

    def html_instead(self, path: str) -> None:
        raise NotImplementedError

    def oversized(self, path: str, size: int) -> None:
        raise NotImplementedError

    def require_api_key(self, key: str, username: str) -> None:
        raise NotImplementedError
