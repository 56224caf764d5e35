"""Shared fixtures: a temporary database per test, bots that are always closed, a configured server."""

from __future__ import annotations

from dataclasses import dataclass

import discord
import pytest
import pytest_asyncio
from simcord import Env

from bot import create_bot
from bot.core.interactions import unwrap
from bot.errors import ArchivistError
from tests.model.profiles import register_profiles

# hypothesis reads --hypothesis-profile before pytest reaches tests/model/conftest.py: register here.
register_profiles()


@pytest.fixture(autouse=True)
def refusals_are_answers(monkeypatch):
    """A refusal (`ArchivistError`) is the bot answering a member, not a bug: simcord does not record it.

    The bot answers every failure in one place, the tree's `on_error` (bot.core.interactions), as
    discord.py intends. simcord records every exception that reaches an `on_error` and fails the test
    with it; that is right for bugs, and wrong for a member told "that episode doesn't exist". So every
    `Env` (the `simcord_env` fixture's and the model test's own) records everything but refusals, which
    keeps `env.errors` meaning "what the bot could not handle" for the tests that read it mid-test. What a
    refused member sees is asserted by the tests themselves; tests/test_error_path.py proves that an
    unexpected exception is still recorded (and fails a test) and a refusal is not."""
    record = Env._record_error  # simcord's one recorder (private: it has no public filter)

    def record_unless_refusal(env: Env, error: BaseException) -> None:
        if not isinstance(unwrap(error), ArchivistError):
            record(env, error)

    monkeypatch.setattr(Env, "_record_error", record_unless_refusal)


@pytest.fixture
def db_path(tmp_path, monkeypatch):
    path = tmp_path / "archivist.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.delenv("DISCORD_GUILD_ID", raising=False)
    monkeypatch.setenv("LOG_DIR", "")
    monkeypatch.setenv("GC_FREEZE", "0")  # hundreds of bots in one process: keep their heaps collectable
    return path


@pytest_asyncio.fixture
async def bots(db_path):
    """Build bots with create_bot(); every one is closed at teardown."""
    built = []

    def build():
        bot = create_bot()
        built.append(bot)
        return bot

    yield build
    for bot in built:
        if not bot.is_closed() or bot.services.db.is_open:
            await bot.close()


@pytest.fixture
def simcord_bot(bots):
    return bots()


@dataclass
class World:
    env: object
    guild: object
    forum: object
    review: object
    announcements: object
    general: object
    host_role: object
    admin: object
    host: object
    alice: object
    bob: object

    @property
    def bot(self):
        return self.env.bot

    def thread_of(self, code: str):
        """The forum post of an episode, as members see it."""
        for thread in self.forum.threads:
            if thread.name.startswith(f"{code} "):
                return thread
        raise AssertionError(f"no post for {code}")

    async def episode(self, code: str = "1924-01", title: str = "Lenin's Death and Stalin's Rise", **kw):
        r = await self.host.slash(self.general, "episode create", code=code, title=title, **kw)
        assert "Created" in (r.response.content or ""), r.response.content
        return self.thread_of(code)


async def build_world(env, *, name: str = "History Hub") -> World:
    guild = env.create_guild(name)
    admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    host_role = guild.create_role("Host")
    forum = guild.create_forum_channel("episode-research")
    review = guild.create_text_channel("author-review")
    announcements = guild.create_text_channel("announcements")
    general = guild.create_text_channel("general")
    admin = guild.add_member(env.create_user("admin"), roles=[admin_role])
    host = guild.add_member(env.create_user("indy"), roles=[host_role])
    alice = guild.add_member(env.create_user("veles"))
    bob = guild.add_member(env.create_user("spartacus"))
    r = await admin.slash(
        general, "config channels", research_forum=forum, review=review, announcements=announcements
    )
    assert r.response.ephemeral
    await admin.slash(general, "config roles", host=host_role)
    return World(env, guild, forum, review, announcements, general, host_role, admin, host, alice, bob)


@pytest_asyncio.fixture
async def world(simcord_env) -> World:
    return await build_world(simcord_env)


@pytest.fixture
def restart(simcord_env, bots):
    """Close the bot, run `offline` (acting while it is down), start a new bot on the same database."""

    async def do(offline=None):
        await simcord_env.bot.close()
        if offline is not None:
            await offline()
        await simcord_env.restart_bot(bots())
        return simcord_env.bot

    return do
