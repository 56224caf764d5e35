"""The bot stays under Discord's global limit when hundreds of reminders fall due at once: never more than
45 requests in any second (of the virtual clock), every reminder delivered once; a member of another
server who uses a command in the middle of that burst is answered and served at once."""

from __future__ import annotations

import bisect

import pytest

from tests.conftest import build_world
from tests.e2e.clock import HOUR

MEMBERS = 200  # at 45 a second, about 4.5 seconds of requests


class Timed(list):
    """simcord's request log, with the moment (virtual clock) of each request beside it."""

    def __init__(self, env, entries) -> None:
        super().__init__(entries)
        self.env = env
        self.times: list[float | None] = [None] * len(entries)

    def append(self, entry) -> None:
        super().append(entry)
        self.times.append(self.env.now().timestamp())


def timed(env) -> Timed:
    log = Timed(env, env.backend.http_requests)
    env.backend.http_requests = log
    return log


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def paced(log: Timed, start: int) -> list[tuple[float, object]]:
    """The requests the pacer counts (every one but interaction answers), from `start` on."""
    return [
        (t, entry)
        for entry, t in zip(log[start:], log.times[start:], strict=True)
        if not entry.path.startswith(("/interactions/", "/webhooks/"))
    ]


async def reminders_for_many(world, text: str) -> list:
    members = [world.guild.add_member(world.env.create_user(f"reader{n}")) for n in range(MEMBERS)]
    for n, member in enumerate(members):
        r = await member.slash(world.general, "remind me", when="1h", text=f"{text} {n}", private=True)
        assert r.response.ephemeral
    return members


async def test_reminders_due_at_once_go_at_most_45_a_second_each_once(world):
    env = world.env
    members = await reminders_for_many(world, "Reread Krupskaya's memoir, chapter")
    log = timed(env)
    start = len(log)
    await env.advance_time(HOUR)
    for _ in range(10):  # at 45 a second the burst takes a while: follow it second by second
        await env.advance_time(1)
    sent = paced(log, start)
    dms = [t for t, entry in sent if entry.method == "POST" and entry.path.endswith("/messages")]
    assert len(dms) == MEMBERS
    assert busiest_second([t for t, _ in sent]) == 45  # paced: unpaced, they all went in one instant
    assert max(dms) - min(dms) >= (MEMBERS - 45) // 45  # spread over seconds, not one instant
    for n, member in enumerate(members):
        got = [m for m in member.user.dm_channel.history() if m.content.endswith(f"chapter {n}")]
        assert len(got) == 1, (n, got)
    stats = env.bot.services.pacer.stats()
    assert stats.busiest_second == 45 and stats.waiting == 0
    assert stats.requests >= len(sent) and stats.waited > 0


# Settling after the member's command waits (in real time) for timers due within the settle timeout:
# a short one keeps the burst's later seconds for the virtual clock.
@pytest.mark.simcord(settle_timeout=10.0)
async def test_a_member_of_another_server_is_served_during_the_burst(world):
    env = world.env
    await reminders_for_many(world, "Read about Spartacus, part")
    other = await build_world(env, name="Veles Readers")
    log = timed(env)
    start = len(log)
    await env.advance_time(HOUR)
    await env.advance_time(1)
    before = len(paced(log, start))
    assert 0 < before < MEMBERS  # the burst is going on

    asked = len(log)
    r = await other.host.slash(other.general, "episode create", code="1924-01", title="Lenin's death")
    assert "Created" in (r.response.content or "")
    created = [
        (t, entry)
        for t, entry in paced(log, asked)
        if entry.method == "POST" and entry.path == f"/channels/{other.forum.id}/threads"
    ]
    assert len(created) == 1  # the episode's forum post was made for the command, not left for later
    for _ in range(10):
        await env.advance_time(1)
    sent = paced(log, start)
    later = [t for t, entry in sent if t > created[0][0] and entry.path.startswith("/channels/")]
    assert later, "the burst was still going when the member was served"
    assert busiest_second([t for t, _ in sent]) <= 45


async def test_another_servers_reminder_is_not_held_behind_a_burst_of_dms(world):
    """Two hundred members' private reminders and one reminder of another server fall due together: the
    other server's is posted within the burst's first seconds, not after the last DM."""
    env = world.env
    await reminders_for_many(world, "Compare Trotsky's account, page")
    other = await build_world(env, name="Veles Readers")
    r = await other.host.slash(other.general, "remind me", when="1h", text="Check the 1924 congress dates")
    assert r.response.ephemeral
    log = timed(env)
    start = len(log)
    await env.advance_time(HOUR)
    for _ in range(10):
        await env.advance_time(1)
    sent = paced(log, start)
    posts = [(t, e) for t, e in sent if e.method == "POST" and e.path.endswith("/messages")]
    theirs = [t for t, e in posts if e.path == f"/channels/{other.general.id}/messages"]
    dms = [t for t, e in posts if e.path != f"/channels/{other.general.id}/messages"]
    assert len(theirs) == 1 and len(dms) == MEMBERS
    assert theirs[0] - min(dms) < 1.5  # served at one of the first turns
    assert theirs[0] < max(dms) - 2  # while the burst still had seconds to go
    assert [m.content for m in other.general.history() if "1924 congress" in m.content]
