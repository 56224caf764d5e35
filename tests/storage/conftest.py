"""Fixtures of the storage tests: a real SQLite file in a temporary folder, migrated, and the scheduler
on it."""

from __future__ import annotations

import pytest

from bot.core.db import Database
from bot.core.scheduler import Scheduler


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "archivist.sqlite3")
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def scheduler(db):
    s = Scheduler(db)
    yield s
    await s.stop()
