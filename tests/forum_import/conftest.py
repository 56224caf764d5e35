"""Fixtures for forum-import tests: a local Discourse look-alike serving the sample forum."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.forum_import.server import ForumServer


@pytest.fixture
def forum_server() -> Iterator[ForumServer]:
    """The sample forum on 127.0.0.1 (its own thread), with fault switches; stopped after the test."""
    server = ForumServer().start()
    try:
        yield server
    finally:
        server.stop()
