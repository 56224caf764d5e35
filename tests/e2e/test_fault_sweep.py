"""Fault sweep: every command and automatic post, with Discord failing on each REST route it uses.

For each scenario the routes it uses are discovered by running it once; then, for every route and for
403, 404, 429 and 500, the scenario runs again in a fresh server with that route failing once. Each time:
the member gets an answer, nothing unexpected is raised, nothing is half-written (the invariants below hold
once retries had their time), and the bot still serves the next command.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from bot.storage import episodes as episode_store
from tests.conftest import World, build_world

STATUSES = (403, 404, 429, 500)
_counter = itertools.count()


@dataclass
class Scenario:
    act: Callable[[World], Awaitable[object]]
    setup: Callable[[World], Awaitable[None]] | None = None
    answered: bool = True  # an interaction the member expects an answer to


async def with_episode(w: World) -> None:
    await w.episode("1924-01", "Lenin's Death")


SCENARIOS: dict[str, Scenario] = {
    "episode create": Scenario(
        lambda w: w.host.slash(w.general, "episode create", code="1924-01", title="Lenin")
    ),
    "episode status": Scenario(
        lambda w: w.host.slash(w.general, "episode status", episode="1924-01", status="writing", note="go"),
        with_episode,
    ),
    "episode edit": Scenario(
        lambda w: w.host.slash(w.general, "episode edit", episode="1924-01", title="Lenin's Death and After"),
        with_episode,
    ),
    "episode info": Scenario(
        lambda w: w.alice.slash(w.general, "episode info", episode="1924-01"), with_episode
    ),
    "episode list": Scenario(lambda w: w.alice.slash(w.general, "episode list"), with_episode),
    "config show": Scenario(lambda w: w.admin.slash(w.general, "config show")),
    "help": Scenario(lambda w: w.alice.slash(w.general, "help")),
}


def route_key(entry) -> tuple[str, str]:
    return entry.method, re.sub(r"\d{5,}", "*", entry.path)


def answered(result) -> bool:
    return result is not None and (
        result.response is not None or bool(result.followups) or result.modal is not None
    )


async def check_invariants(w: World) -> None:
    """What must hold in every server once retries had their time."""
    db = w.bot.db
    threads = {t.id: t for t in w.forum.threads}
    for episode in await episode_store.list_filtered(db, w.guild.id):
        assert episode.thread_id in threads, f"episode {episode.code} points at a missing post"
        data = await episode_store.card_data(db, episode.id)
        starter = next(m for m in threads[episode.thread_id].history() if m.id == episode.starter_message_id)
        status = next(f.value for f in starter.embeds[0].fields if f.name == "Status")
        assert status == episode.status.label, f"card of {episode.code} shows {status}"
        tags = {t.name for t in w.bot.get_channel(episode.thread_id).applied_tags}
        assert episode.status.label in tags
        assert ("Needs Author" in tags) == (not data.authors)
    # every thread in the forum belongs to an episode: nothing orphaned by a failed create
    known = {e.thread_id for e in await episode_store.list_filtered(db, w.guild.id)}
    assert set(threads) <= known, "a forum post exists without its episode"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_fault_sweep(simcord_env, name):
    scenario = SCENARIOS[name]
    env = simcord_env

    async def fresh() -> World:
        w = await build_world(env, name=f"Server {next(_counter)}")
        if scenario.setup:
            await scenario.setup(w)
        return w

    w = await fresh()
    start = len(env.http_requests)
    result = await scenario.act(w)
    assert not scenario.answered or answered(result)
    routes = sorted(
        {
            route_key(e)
            for e in env.http_requests[start:]
            if "/interactions/" not in e.path and "/webhooks/" not in e.path
        }
    )
    for (method, path), status in itertools.product(routes, STATUSES):
        w = await fresh()
        env.inject_error(method, path, status=status, times=1)
        result = await scenario.act(w)
        context = f"{name} with {method} {path} failing {status}"
        assert not scenario.answered or answered(result), context
        unexpected = env.errors
        assert unexpected == [], f"{context}: {unexpected!r}"
        await env.advance_time(180)
        await check_invariants(w)
        follow_up = await w.alice.slash(w.general, "episode list")
        assert follow_up.response.embeds, context
