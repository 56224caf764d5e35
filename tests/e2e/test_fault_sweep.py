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
from datetime import timedelta

import discord
import pytest

from cogs.episodes import authors_store, lists_store
from cogs.episodes import store as episode_store
from tests.conftest import World, build_world

STATUSES = (403, 404, 429, 500)
_counter = itertools.count()


@dataclass
class Scenario:
    act: Callable[[World], Awaitable[object]]
    setup: Callable[[World], Awaitable[None]] | None = None
    answered: bool = True  # an interaction the member expects an answer to
    # What must have happened once retries ran, given the injected status (403/404 are permanent:
    # a sensible fallback or a clear refusal is enough then).
    verify: Callable[[World, int], Awaitable[None]] | None = None


async def with_episode(w: World) -> None:
    await w.episode("1924-01", "Lenin's Death")


async def with_research(w: World) -> None:
    await with_episode(w)
    await w.alice.send(w.thread_of("1924-01"), "Lenin died on 21 January 1924; Petrograd became Leningrad.")


async def with_volunteer(w: World) -> None:
    await with_episode(w)
    await w.alice.slash(w.general, "episode volunteer", episode="1924-01", pitch="I know the sources")


async def with_author(w: World) -> None:
    await with_episode(w)
    await w.host.slash(w.general, "episode assign", episode="1924-01", member=w.alice)


async def with_deadline(w: World) -> None:
    await with_author(w)
    await w.host.slash(
        w.general, "episode deadline", episode="1924-01", milestone="research", when="in 2 days"
    )


async def with_reminder(w: World) -> None:
    await w.alice.slash(w.general, "remind me", when="in 10 minutes", text="Check the Rapallo sources")


def messages_with(channel, text: str) -> list:
    return [m for m in channel.history() if text in (m.content or "")]


async def decline(w: World):
    shown = await w.host.click(w.review.last_message, label="Decline")
    return await w.host.submit_modal(shown, {"reason": "Already taken"})


async def submit_research(w: World):
    shown = await w.alice.slash(w.general, "research submit", episode="1924-01")
    return await w.alice.submit_modal(
        shown, {"title": "Funeral", "body": "Moscow queued for four days.", "sources": "Service, Lenin"}
    )


async def is_author(w: World, status: int) -> None:
    episode = await episode_store.get_by_code(w.bot.services.db, w.guild.id, "1924-01")
    assert w.alice.id in await authors_store.authors(w.bot.services.db, episode.id)


async def reminder_delivered_once(w: World, status: int) -> None:
    await w.env.advance_time(3600)
    places = [w.general, w.announcements, w.alice.user.dm_channel]
    assert sum(len(messages_with(place, "Check the Rapallo sources")) for place in places) == 1


async def one_thank_you(w: World, status: int) -> None:
    thanks = [m for m in w.thread_of("1924-01").history() if "Thank you" in (m.content or "")]
    assert len(thanks) == 1


async def one_digest(w: World, status: int) -> None:
    digests = [m for m in w.announcements.history() if m.embeds]
    assert len(digests) <= 1
    if status not in (403, 404):
        assert len(digests) == 1, f"no digest after a {status}"


async def advance_to_deadline_reminder(w: World):
    await w.env.advance_time(24 * 3600 + 60)


async def advance_to_digest(w: World):
    """To just after the next Monday 09:00 UTC (the default digest time)."""
    current = discord.utils.utcnow()
    target = (current + timedelta(days=(7 - current.weekday()) % 7)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    if target <= current:
        target += timedelta(days=7)
    await w.env.advance_time((target - current).total_seconds() + 60)


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
    "episode claim": Scenario(
        lambda w: w.host.slash(w.general, "episode claim", episode="1924-01"), with_episode
    ),
    "episode unclaim": Scenario(
        lambda w: w.alice.slash(w.general, "episode unclaim", episode="1924-01"), with_author
    ),
    "episode assign": Scenario(
        lambda w: w.host.slash(w.general, "episode assign", episode="1924-01", member=w.alice),
        with_episode,
        verify=is_author,
    ),
    "episode unassign": Scenario(
        lambda w: w.host.slash(w.general, "episode unassign", episode="1924-01", member=w.alice), with_author
    ),
    "episode volunteer": Scenario(
        lambda w: w.alice.slash(
            w.general, "episode volunteer", episode="1924-01", pitch="I know the sources"
        ),
        with_episode,
    ),
    "episode requests": Scenario(lambda w: w.host.slash(w.general, "episode requests"), with_volunteer),
    "review approve": Scenario(
        lambda w: w.host.click(w.review.last_message, label="Approve"), with_volunteer, verify=is_author
    ),
    "review decline": Scenario(decline, with_volunteer),
    "episode deadline": Scenario(
        lambda w: w.host.slash(
            w.general, "episode deadline", episode="1924-01", milestone="research", when="in 5 days"
        ),
        with_episode,
    ),
    "research submit": Scenario(submit_research, with_episode),
    "research list": Scenario(
        lambda w: w.alice.slash(w.general, "research list", episode="1924-01"), with_research
    ),
    "research export": Scenario(
        lambda w: w.alice.slash(w.general, "research export", episode="1924-01"), with_research
    ),
    "research search": Scenario(
        lambda w: w.alice.slash(w.general, "research search", query="Leningrad"), with_research
    ),
    "research credits": Scenario(
        lambda w: w.alice.slash(w.general, "research credits", episode="1924-01"), with_research
    ),
    "research remove": Scenario(
        lambda w: w.host.slash(w.general, "research remove", episode="1924-01", contribution=1), with_research
    ),
    "add to research": Scenario(
        lambda w: w.alice.context_menu(
            w.thread_of("1924-01"), "Add to research", w.thread_of("1924-01").last_message
        ),
        with_research,
    ),
    "remind me": Scenario(
        lambda w: w.alice.slash(
            w.general, "remind me", when="in 10 minutes", text="Check the Rapallo sources"
        ),
        verify=reminder_delivered_once,
    ),
    "remind list": Scenario(lambda w: w.alice.slash(w.general, "remind list"), with_reminder),
    "remind cancel": Scenario(
        lambda w: w.alice.slash(w.general, "remind cancel", reminder="1"), with_reminder
    ),
    "remind timezone": Scenario(lambda w: w.alice.slash(w.general, "remind timezone", tz="Europe/Warsaw")),
    "auto: reminder delivery": Scenario(
        lambda w: w.env.advance_time(601), with_reminder, answered=False, verify=reminder_delivered_once
    ),
    "auto: deadline reminder": Scenario(
        advance_to_deadline_reminder,
        with_deadline,
        answered=False,
    ),
    "auto: thank-you": Scenario(
        lambda w: w.host.slash(w.general, "episode status", episode="1924-01", status="recorded"),
        with_research,
        verify=one_thank_you,
    ),
    "auto: weekly digest": Scenario(advance_to_digest, answered=False, verify=one_digest),
}


def route_key(entry) -> tuple[str, str]:
    return entry.method, re.sub(r"\d{5,}", "*", entry.path)


def answered(result) -> bool:
    return result is not None and (
        result.response is not None or bool(result.followups) or result.modal is not None
    )


async def check_invariants(w: World) -> None:
    """What must hold in every server once retries had their time."""
    db = w.bot.services.db
    threads = {t.id: t for t in w.forum.threads}
    for episode in await lists_store.list_filtered(db, w.guild.id):
        assert episode.thread_id in threads, f"episode {episode.code} points at a missing post"
        data = await lists_store.card_data(db, episode.id)
        starter = next(m for m in threads[episode.thread_id].history() if m.id == episode.starter_message_id)
        status = next(f.value for f in starter.embeds[0].fields if f.name == "Status")
        assert status == episode.status.label, f"card of {episode.code} shows {status}"
        tags = {t.name for t in w.bot.get_channel(episode.thread_id).applied_tags}
        assert episode.status.label in tags
        assert ("Needs Author" in tags) == (not data.authors)
    # every thread in the forum belongs to an episode: nothing orphaned by a failed create
    known = {e.thread_id for e in await lists_store.list_filtered(db, w.guild.id)}
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
        if scenario.verify:
            await scenario.verify(w, status)
        follow_up = await w.alice.slash(w.general, "episode list")
        assert follow_up.response.embeds, context
