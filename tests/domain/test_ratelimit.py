"""The global pacer's decisions on a simulated clock: never more than its limit in any one-second window,
round-robin between servers, a member's calls first, interaction answers never held, a call that gives
up holding no one up; and every waiting call wakes only when it could go (no polling)."""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
from dataclasses import dataclass, field

import discord
import pytest
from discord.http import Route
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.metrics import Metrics
from bot.core.ratelimit import APP, DIRECT, GlobalPacer, is_interaction_answer, key_of


@dataclass(frozen=True)
class Call:
    at: float  # seconds after the start
    key: str
    foreground: bool = False
    gives_up_at: float | None = None  # its task is cancelled then, if it is still waiting


@dataclass
class Run:
    sent: list[tuple[float, int]] = field(default_factory=list)  # (when, index of the call)
    gave_up: list[int] = field(default_factory=list)
    wakeups: int = 0
    pacer: GlobalPacer | None = None

    def times(self) -> list[float]:
        return [t for t, _ in self.sent]

    def order(self) -> list[int]:
        return [i for _, i in self.sent]


def run(calls: list[Call], limit: int = 45) -> Run:
    """Drive the pacer exactly as `GlobalPacer.acquire` does, on a simulated clock: every waiting call
    sleeps until the time `turn` gave it; timers due at the same moment fire in the order they were set
    (as under simcord)."""
    pacer = GlobalPacer(limit=limit)
    result = Run(pacer=pacer)
    order = itertools.count()
    events: list[tuple[float, int, str, int]] = []  # (when, order, what, call index)
    for i, call in enumerate(calls):
        heapq.heappush(events, (call.at, next(order), "arrive", i))
        if call.gives_up_at is not None:
            heapq.heappush(events, (call.gives_up_at, next(order), "cancel", i))
    tickets = {}
    asleep: dict[int, tuple[float, int]] = {}  # call index -> its pending wake-up (when, order)
    while events:
        now, n, what, i = heapq.heappop(events)
        if what == "cancel":
            if i in asleep:
                del asleep[i]
                pacer.leave(tickets[i])
                result.gave_up.append(i)
            continue
        if what == "wake":
            if asleep.get(i) != (now, n):
                continue  # cancelled meanwhile
            del asleep[i]
            result.wakeups += 1
        else:
            tickets[i] = pacer.join(calls[i].key, now, foreground=calls[i].foreground)
        wake = pacer.turn(tickets[i], now)
        if wake is None:
            result.sent.append((now, i))
        else:
            assert wake > now, "a waiting call must never be woken for nothing (no polling)"
            m = next(order)
            asleep[i] = (wake, m)
            heapq.heappush(events, (wake, m, "wake", i))
    assert not asleep
    assert pacer.stats().waiting == 0
    return result


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


calls = st.builds(
    Call,
    at=st.floats(min_value=0, max_value=4, allow_nan=False),
    key=st.sampled_from(["server-a", "server-b", "server-c", DIRECT]),
    foreground=st.booleans(),
    gives_up_at=st.none() | st.floats(min_value=0, max_value=8, allow_nan=False),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(calls, max_size=250), st.integers(min_value=1, max_value=50))
def test_no_one_second_window_ever_holds_more_than_the_limit(arrivals, limit):
    result = run(arrivals, limit)
    assert busiest_second(result.times()) <= limit
    assert result.pacer.stats().busiest_second <= limit
    went = result.order()
    assert len(went) == len(set(went))  # each call goes at most once
    assert sorted(went + result.gave_up) == list(range(len(arrivals)))  # and every call goes or gave up


def test_a_burst_goes_at_45_a_second_with_one_sleep_per_waiting_call():
    result = run([Call(0.0, DIRECT)] * 1000)
    times = result.times()
    assert busiest_second(times) == 45
    assert len(times) == 1000
    assert sum(1 for t in times if t == 0.0) == 45  # the first 45 go at once
    assert result.wakeups == 1000 - 45  # each of the others slept exactly once
    stats = result.pacer.stats()
    assert stats.requests == 1000 and stats.busiest_second == 45


def test_one_sending_at_a_time_never_waits_below_the_limit():
    result = run([Call(n * 0.05, "server-a") for n in range(100)])  # 20 a second
    assert result.wakeups == 0
    assert result.times() == [n * 0.05 for n in range(100)]


def test_a_server_behind_another_servers_burst_goes_at_the_next_turns():
    burst = [Call(0.0, "server-a")] * 500
    result = run([*burst, *[Call(0.01, "server-b")] * 5])
    b = [t for t, i in result.sent if i >= 500]
    assert b == [1.0] * 5  # the next places free, taking turns with server a's calls
    assert sum(1 for t in result.times() if t == 1.0) == 45  # so a had 40 of them
    assert busiest_second(result.times()) == 45


def test_a_burst_of_direct_messages_does_not_hold_a_servers_card_update():
    result = run([*[Call(0.0, DIRECT)] * 300, Call(2.5, "server-b")])
    order = result.order()
    card = order.index(300)
    at = result.sent[card][0]
    assert at == 3.0  # the next free place in the window
    assert sum(1 for t, _ in result.sent if t < at) == 3 * 45  # nothing else went first at that moment


def test_three_servers_bursting_at_once_take_turns():
    calls = [Call(0.0, key) for key in ("server-a", "server-b", "server-c") for _ in range(90)]
    result = run(calls)
    # The first 45 (all server a's, asked first) go at once; from then on the three take turns.
    for second in (1, 2):
        went = [calls[i].key for t, i in result.sent if t == second]
        assert len(went) == 45
        assert all(14 <= went.count(key) <= 16 for key in ("server-a", "server-b", "server-c")), went
    # Each wakes only when one of its server's calls could go: a few times, not once per turn.
    assert result.wakeups <= 3 * len(calls)


def test_a_members_command_goes_before_background_work():
    background = [Call(0.0, DIRECT)] * 200 + [Call(0.0, "server-a")] * 100
    result = run([*background, Call(1.5, "server-a", foreground=True), Call(1.5, "server-b", True)])
    at = {i: t for t, i in result.sent}
    assert at[300] == at[301] == 2.0  # the first places free after the command
    assert max(at.values()) == (302 - 1) // 45  # the background work goes on behind them, none lost


def test_a_call_that_gives_up_takes_no_place():
    result = run(
        [Call(0.0, "server-a"), Call(0.1, "server-a", gives_up_at=0.5), Call(0.2, "server-b")], limit=1
    )
    assert result.gave_up == [1]
    assert result.sent == [(0.0, 0), (1.0, 2)]


def test_calls_that_give_up_in_a_burst_leave_the_window_right():
    calls = [Call(0.0, DIRECT, gives_up_at=1.5 if n % 3 == 0 else None) for n in range(200)]
    result = run(calls)
    assert busiest_second(result.times()) <= 45
    assert len(result.sent) + len(result.gave_up) == 200
    assert result.pacer.stats().waiting == 0


async def test_a_cancelled_wait_holds_no_one_up():
    loop = asyncio.get_running_loop()
    metrics = Metrics()
    pacer = GlobalPacer(limit=1, per=0.2, clock=loop.time, metrics=metrics)
    await pacer.acquire("server-a")
    quitter = asyncio.create_task(pacer.acquire("server-a"))
    await asyncio.sleep(0)
    other = asyncio.create_task(pacer.acquire("server-b"))
    await asyncio.sleep(0)
    assert pacer.stats().waiting == 2
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    await other
    stats = pacer.stats()
    assert (stats.requests, stats.waiting, stats.waited) == (2, 0, 1)
    assert metrics.counter("pacer.requests") == 2 and len(metrics.samples("pacer.wait_ms")) == 2


def test_interaction_answers_are_never_paced():
    callback = Route(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        interaction_id=1,
        interaction_token="t",
    )
    followup = Route("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=9, webhook_token="t")
    edit = Route(
        "PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", webhook_id=9, webhook_token="t"
    )
    assert all(is_interaction_answer(r) for r in (callback, followup, edit))
    post = Route("POST", "/channels/{channel_id}/messages", channel_id=5)
    dm = Route("POST", "/users/@me/channels")
    assert not any(is_interaction_answer(r) for r in (post, dm))


async def test_calls_are_keyed_by_server_direct_messages_or_the_app():
    client = discord.Client(intents=discord.Intents.none())
    known: dict = {}
    assert key_of(client, Route("PATCH", "/guilds/{guild_id}/members/@me", guild_id=77), known) == 77
    assert key_of(client, Route("POST", "/users/@me/channels"), known) == DIRECT
    # A channel in no server the bot knows (a direct message channel it has not cached).
    assert key_of(client, Route("POST", "/channels/{channel_id}/messages", channel_id=5), known) == DIRECT
    assert key_of(client, Route("GET", "/applications/@me"), known) == APP
    await client.close()
