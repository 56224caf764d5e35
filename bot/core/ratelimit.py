"""One global pacer for every REST call the bot makes: never more than 45 in any one-second window
(Discord allows a bot 50 a second; a burst over it meets 429s, and 10,000 of those in ten minutes get the
host's address banned for a while), fair between servers, a member's own command first.

- **Sliding window, not a bucket.** A call goes only when fewer than `limit` calls went in the second
  before it, however that second is placed; a bucket that refills at once would let 2 × 45 through in a
  moment spanning its refill.
- **Fair between servers.** Waiting calls are served round-robin by key: a server's id, `DIRECT` for
  direct messages (and channels the bot knows no server for), `APP` for the bot's own account. A burst of
  one server's posts or of the members' reminders lets every other server's call through at the next turn
  (start-time fair queueing: each call gets the round its key is on; rounds are served in order).
- **Members first.** Calls made while handling a member's interaction (a command, a button, a form: the
  tasks discord.py runs them in, `INTERACTION_TASKS`) go before any background work's: the scheduler's
  deliveries, the catch-up, card syncs. Interaction answers
  themselves (`/interactions/.../callback`, the interaction's webhook: follow-ups, edits of the answer)
  are never held: Discord does not count them against the global limit.
- The per-channel pacing of automatic posts (`pacing.ChannelPacer`, in the outbox) is kept as it is.

How a call waits: the calls allowed are decided in order, only at the moment they go, and only for calls
whose owners are awake. A waiting call sleeps (`asyncio.sleep`: no event, queue or future is waited on)
until the earliest moment it could possibly go: the window's next free places for every call ahead of it
in the fair order, and not before the call at the head of that order wakes. That moment is a lower bound,
so nobody sleeps past their turn; a call that finds others went ahead of it (a server's call that arrived
meanwhile, a member's command) sleeps again until its new earliest moment, always a later one. A burst of
one kind is let through with one sleep per call. Deciding is O(log n) per call (a heap and a Fenwick tree).

`time.monotonic()` is the clock (it follows simcord's virtual clock in tests). The pacer sits above
discord.py's HTTP client (`install`, from `setup_hook`), so it also paces simcord's, which replaces that
client before the bot logs in.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import discord

from bot.core.metrics import Metrics

LIMIT = 45  # calls in any one-second window (Discord's global limit is 50: 5 spare for clock skew)
PER = 1.0

DIRECT = "direct"  # direct messages, and channels the bot knows no server for (not in its cache)
APP = "app"  # the bot's own account and application: commands, gateway, users

FOREGROUND, BACKGROUND = 0, 1

# The tasks discord.py runs a member's interaction in: slash commands and context menus, view buttons
# and selects, forms, persistent buttons, `on_interaction` listeners. Work they start in tasks of their own
# (the scheduler restarted by a new reminder, say) is background work.
INTERACTION_TASKS = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-modal-dispatch-",
    "discord-ui-dynamic-item-",
    "discord.py: on_interaction",
)

_WAITING, _GONE, _LEFT = 0, 1, 2


@dataclass(frozen=True, slots=True)
class PacerStats:
    """What the pacer did since it was built (or since `reset_stats`)."""

    requests: int  # calls paced (let through)
    unpaced: int  # interaction answers, never held
    busiest_second: int  # the most paced calls let through in any one-second window
    waited: int  # calls that could not go at once
    wait_total: float  # seconds, summed over every paced call
    wait_peak: float  # seconds, the longest any one call waited
    wakeups: int  # times a waiting call woke up (one per call in a plain burst)
    waiting: int  # calls waiting right now


class _Tally:
    """How many waiting calls hold each round (a Fenwick tree from `base`), so that the number of calls
    in earlier rounds is found in O(log n). Rounds below the class's current round are never added."""

    def __init__(self) -> None:
        self._by_round: dict[int, int] = {}
        self._base = 0
        self._tree = [0] * 65  # 1-based; index i holds round base + i - 1

    def add(self, round_: int, delta: int, floor: int) -> None:
        """`delta` calls more (or fewer) in `round_`; `floor` is the lowest round any call can have now."""
        left = self._by_round.get(round_, 0) + delta
        if left:
            self._by_round[round_] = left
        else:
            del self._by_round[round_]
        i = round_ - self._base + 1
        if i < 1 or i >= len(self._tree):
            self._rebuild(floor)
            return
        tree = self._tree
        while i < len(tree):
            tree[i] += delta
            i += i & -i

    def below(self, round_: int) -> int:
        """How many waiting calls are in rounds before `round_`."""
        i = min(round_ - self._base, len(self._tree) - 1)
        total = 0
        while i > 0:
            total += self._tree[i]
            i -= i & -i
        return total

    def _rebuild(self, floor: int) -> None:
        base = min(floor, min(self._by_round, default=floor))
        span = max(self._by_round, default=base) - base + 1
        size = 64
        while size < 2 * span:
            size *= 2
        self._base = base
        self._tree = tree = [0] * (size + 1)
        for round_, n in self._by_round.items():
            i = round_ - base + 1
            while i <= size:
                tree[i] += n
                i += i & -i


class _Key:
    __slots__ = ("next_round", "waiting")

    def __init__(self, next_round: int) -> None:
        self.next_round = next_round
        self.waiting = 0


class _Class:
    """Foreground or background calls: their rounds, their keys, how many wait."""

    def __init__(self) -> None:
        self.round = 0  # the round of the call let through last
        self.keys: dict[Hashable, _Key] = {}
        self.tally = _Tally()
        self.waiting = 0


class Ticket:
    """One waiting call's place: its key, class and round, and when its owner is (or will be) awake."""

    __slots__ = ("alarm", "cls", "key", "round", "state")

    def __init__(self, key: Hashable, cls: int, round_: int, alarm: float) -> None:
        self.key = key
        self.cls = cls
        self.round = round_
        self.alarm = alarm
        self.state = _WAITING

    @property
    def granted(self) -> bool:
        return self.state == _GONE


def _monotonic() -> float:
    return time.monotonic()  # looked up at each call: simcord swaps it for its virtual clock


class GlobalPacer:
    """Decides when each REST call may go (`acquire`); the deciding part (`join`, `turn`, `leave`) is
    plain synchronous code on the injected clock, tested without an event loop."""

    def __init__(
        self,
        limit: int = LIMIT,
        per: float = PER,
        *,
        clock: Callable[[], float] = _monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.limit = limit
        self.per = per
        self._clock = clock
        self._metrics = metrics
        self._window: deque[float] = deque(maxlen=limit)  # when the last `limit` calls went
        self._heap: list[tuple[int, int, int, Ticket]] = []  # (class, round, arrival, ticket)
        self._classes = (_Class(), _Class())
        self._arrivals = itertools.count()
        self.reset_stats()

    # -- deciding ---------------------------------------------------------------------------------------

    def join(self, key: Hashable, now: float, *, foreground: bool = False) -> Ticket:
        """A call of `key` wants to go (its owner is awake at `now`); ask `turn` when it may."""
        cls = FOREGROUND if foreground else BACKGROUND
        klass = self._classes[cls]
        state = klass.keys.get(key)
        if state is None:
            state = klass.keys[key] = _Key(klass.round)
        round_ = max(klass.round, state.next_round)
        state.next_round = round_ + 1
        state.waiting += 1
        klass.waiting += 1
        klass.tally.add(round_, 1, klass.round)
        ticket = Ticket(key, cls, round_, now)
        heapq.heappush(self._heap, (cls, round_, next(self._arrivals), ticket))
        return ticket

    def turn(self, ticket: Ticket, now: float) -> float | None:
        """The ticket's owner is awake at `now`: None when its call goes now, else when to wake again
        (always later than `now`)."""
        ticket.alarm = now
        self._let_through(now)
        if ticket.granted:
            return None
        ticket.alarm = self._earliest(ticket, now)
        return ticket.alarm

    def leave(self, ticket: Ticket) -> None:
        """A waiting call gave up (its task was cancelled): it holds no one up and takes no place."""
        if ticket.state != _WAITING:
            return
        ticket.state = _LEFT
        self._forget(ticket)

    def _let_through(self, now: float) -> None:
        """Let calls go in fair order while the window has room and the next one's owner is awake."""
        heap = self._heap
        while heap:
            ticket = heap[0][3]
            if ticket.state != _WAITING:
                heapq.heappop(heap)
                continue
            if ticket.alarm > now or not self._room(now):
                return
            heapq.heappop(heap)
            ticket.state = _GONE
            self._classes[ticket.cls].round = ticket.round
            self._forget(ticket)
            self._went(now)

    def _forget(self, ticket: Ticket) -> None:
        klass = self._classes[ticket.cls]
        klass.tally.add(ticket.round, -1, klass.round)
        state = klass.keys[ticket.key]
        state.waiting -= 1
        if not state.waiting:
            del klass.keys[ticket.key]
        klass.waiting -= 1
        if not klass.waiting:
            klass.round = 0  # a fresh start: rounds (and the tally) stay small

    def _room(self, now: float) -> bool:
        return len(self._window) < self.limit or self._window[0] + self.per <= now

    def _slot(self, n: int, now: float) -> float:
        """When the n-th call from now could go at the earliest, were calls let through back to back."""
        laps, place = divmod(n - 1, self.limit)
        empty = self.limit - len(self._window)
        start = now if place < empty else max(now, self._window[place - empty] + self.per)
        return start + laps * self.per

    def _earliest(self, ticket: Ticket, now: float) -> float:
        """The earliest moment this call could go: after every call ahead of it in the fair order, and
        not before the head of that order is awake. A lower bound: later arrivals only push it back."""
        klass = self._classes[ticket.cls]
        ahead = klass.tally.below(ticket.round)
        if ticket.cls == BACKGROUND:
            ahead += self._classes[FOREGROUND].waiting
        at = self._slot(ahead + 1, now)
        head = self._head()
        if head is not None and head is not ticket:
            at = max(at, head.alarm)
        return at

    def _head(self) -> Ticket | None:
        heap = self._heap
        while heap and heap[0][3].state != _WAITING:
            heapq.heappop(heap)
        return heap[0][3] if heap else None

    # -- waiting ----------------------------------------------------------------------------------------

    async def acquire(self, key: Hashable, *, foreground: bool = False) -> None:
        """Wait until a call of `key` may go (it is counted as gone when this returns)."""
        started = now = self._clock()
        ticket = self.join(key, now, foreground=foreground)
        try:
            while (wake := self.turn(ticket, now)) is not None:
                await asyncio.sleep(wake - now)
                self._wakeups += 1
                now = self._clock()
        finally:
            self.leave(ticket)  # nothing when it went
        waited = now - started
        if waited > 0:
            self._waited += 1
            self._wait_total += waited
            self._wait_peak = max(self._wait_peak, waited)
        if self._metrics is not None:
            self._metrics.count("pacer.requests")
            self._metrics.observe("pacer.wait_ms", 1000 * waited)

    def passed(self) -> None:
        """An interaction answer went without pacing (counted only)."""
        self._unpaced += 1
        if self._metrics is not None:
            self._metrics.count("pacer.unpaced")

    # -- stats ------------------------------------------------------------------------------------------

    def _went(self, now: float) -> None:
        self._window.append(now)
        self._requests += 1
        recent = self._recent
        recent.append(now)
        while recent[0] + self.per <= now:
            recent.popleft()
        self._busiest = max(self._busiest, len(recent))

    def stats(self) -> PacerStats:
        return PacerStats(
            requests=self._requests,
            unpaced=self._unpaced,
            busiest_second=self._busiest,
            waited=self._waited,
            wait_total=self._wait_total,
            wait_peak=self._wait_peak,
            wakeups=self._wakeups,
            waiting=sum(klass.waiting for klass in self._classes),
        )

    def reset_stats(self) -> None:
        """Zero the stats (the window itself is kept: pacing stays right)."""
        self._requests = self._unpaced = self._waited = self._wakeups = self._busiest = 0
        self._wait_total = self._wait_peak = 0.0
        self._recent: deque[float] = deque()


# -- the bot's HTTP client ------------------------------------------------------------------------------


def is_interaction_answer(route: discord.http.Route) -> bool:
    """An answer to a member's interaction: its callback, or its webhook (follow-ups, the answer's edits)."""
    return route.path.startswith("/interactions/") or (
        route.path.startswith("/webhooks/") and route.webhook_token is not None
    )


KEYS_KEPT = 4096  # channels whose key is remembered (discord.py looks a channel up in every server)


def server_of(client: discord.Client, channel_id: int) -> int | str:
    """The server a channel is in, `DIRECT` for a DM or a channel the bot knows no server for."""
    guild = getattr(client.get_channel(channel_id), "guild", None)
    return guild.id if guild is not None else DIRECT


def key_of(client: discord.Client, route: discord.http.Route, known: dict[int, Hashable]) -> Hashable:
    """Whose call this is, for fairness: the server's id, `DIRECT` or `APP`. `known` remembers the
    key of each channel asked about."""
    if route.guild_id is not None:
        return int(route.guild_id)
    if route.channel_id is not None:
        channel_id = int(route.channel_id)
        key = known.get(channel_id)
        if key is None:
            key = server_of(client, channel_id)
            if len(known) >= KEYS_KEPT:
                known.clear()
            known[channel_id] = key
        return key
    if route.path.startswith("/users/@me/channels"):  # opening a direct message
        return DIRECT
    return APP


def in_foreground() -> bool:
    """True inside the task discord.py runs a member's interaction in."""
    task = asyncio.current_task()
    return task is not None and task.get_name().startswith(INTERACTION_TASKS)


def install(client: discord.Client, pacer: GlobalPacer) -> None:
    """Pace every REST call of `client.http`, the HTTP client in use from now on (simcord installs its
    own before the bot logs in, so this runs in `setup_hook`). Installing twice does nothing."""
    http = client.http
    request = http.request
    if getattr(request, "pacer", None) is pacer:
        return
    known: dict[int, Hashable] = {}

    @functools.wraps(request)
    async def paced(route: discord.http.Route, **kwargs: Any) -> Any:
        if is_interaction_answer(route):
            pacer.passed()
        else:
            await pacer.acquire(key_of(client, route, known), foreground=in_foreground())
        return await request(route, **kwargs)

    paced.pacer = pacer  # type: ignore[attr-defined]
    http.request = paced  # type: ignore[method-assign]
