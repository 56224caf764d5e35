"""What the benchmarks share: the bot's own time per interaction (measured inside the bot), the bare `ping`
command beside which every figure is read, RSS and garbage-collection sampling, and the untimed clean-up
between rounds that keeps the simulator's cost out of the bot's figures.

Importing this module patches discord.py's answer methods (see `_answers`) so that the time until the
member's answer was delivered can be noted; nothing else in discord.py is changed.
"""

from __future__ import annotations

import contextvars
import cProfile
import functools
import gc
import sys
import time
from collections.abc import Awaitable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import discord  # noqa: E402
import psutil  # noqa: E402
from discord import app_commands  # noqa: E402

from bot import create_bot  # noqa: E402
from bot.core import interactions as _interactions  # noqa: E402
from bot.core.db import TRIPS as DB_TRIPS  # noqa: E402

PROCESS = psutil.Process()
PEAK_RSS = [0]

GC_PAUSES: list[float] = []  # milliseconds of each full (generation 2) collection
_gc_started = [0.0]
_gc_own = [False]  # the bench's own collections between rounds are not counted


def _gc_watch(event: str, info: dict) -> None:
    if info.get("generation") != 2 or _gc_own[0]:
        return
    if event == "start":
        _gc_started[0] = time.perf_counter()
    else:
        GC_PAUSES.append(1000 * (time.perf_counter() - _gc_started[0]))


gc.callbacks.append(_gc_watch)


def phase(name: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)


def rss() -> int:
    return PROCESS.memory_info().rss


def sample_rss() -> None:
    PEAK_RSS[0] = max(PEAK_RSS[0], rss())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


PROFILE: dict[str, cProfile.Profile] = {}  # --profile "episode status": cProfile around those interactions
BOT_TIME: dict[str, list[float]] = {}  # the whole handler, follow-on Discord updates included
ANSWER_TIME: dict[str, list[float]] = {}  # until the member's answer was delivered
TRIPS: dict[str, list[int]] = {}  # database trips (`trips`) during the whole handler
_ANSWER: contextvars.ContextVar[list[float | None] | None] = contextvars.ContextVar("answer", default=None)

# Buttons and forms do not pass through the command tree: the bench names the next one it sends
# (`label_next`), and its start is noted when discord.py builds the interaction.
_NEXT_LABEL: list[str | None] = [None]
_COMPONENTS: dict[int, tuple[str, float, list[float | None], int]] = {}  # id -> (label, start, answer, trips)
_METRICS: list[object] = [None]  # the running bot's metrics (for the trips of buttons and forms)


def label_next(label: str) -> None:
    """Name the next button click or form submission the bench sends (its row in the table)."""
    _NEXT_LABEL[0] = label


def _answers(method):
    """Wrap a discord.py method that delivers an answer, noting when the first one is done."""

    @functools.wraps(method)
    async def wrapper(*args, **kwargs):
        result = await method(*args, **kwargs)
        slot = _ANSWER.get()
        if slot is None and args:
            interaction = getattr(args[0], "_parent", args[0])
            found = _COMPONENTS.get(getattr(interaction, "id", 0) or 0)
            slot = found[2] if found else None
        if slot is not None and slot[0] is None:
            slot[0] = time.perf_counter()
        return result

    return wrapper


# What counts as the member's answer: a response, a form, autocomplete choices, or the message that
# replaces "thinking…" (a bare defer is not an answer).
for _cls, _names in (
    (discord.InteractionResponse, ("send_message", "edit_message", "send_modal", "autocomplete")),
    (discord.Interaction, ("edit_original_response",)),
    (discord.Webhook, ("send",)),
):
    for _attr in _names:
        setattr(_cls, _attr, _answers(getattr(_cls, _attr)))

_interaction_init = discord.Interaction.__init__


def _noting_init(self, *args, **kwargs) -> None:
    _interaction_init(self, *args, **kwargs)
    if self.type in (discord.InteractionType.component, discord.InteractionType.modal_submit):
        label = _NEXT_LABEL[0] or f"component {(self.data or {}).get('custom_id', '?')[:30]}"
        _NEXT_LABEL[0] = None
        metrics = _METRICS[0]
        before = trips(metrics) if metrics is not None else 0
        _COMPONENTS[self.id] = (label, time.perf_counter(), [None], before)


discord.Interaction.__init__ = _noting_init
_log_timing = _interactions._log_timing


def _timing_end(interaction: discord.Interaction) -> None:
    """`handle` (bot.core.interactions) ends every button's and form's handler with this call."""
    _log_timing(interaction)
    found = _COMPONENTS.pop(interaction.id, None)
    if found is None:
        return
    label, started, slot, before = found
    ended = time.perf_counter()
    BOT_TIME.setdefault(label, []).append(1000 * (ended - started))
    ANSWER_TIME.setdefault(label, []).append(1000 * ((slot[0] or ended) - started))
    metrics = _METRICS[0]
    if metrics is not None:
        TRIPS.setdefault(label, []).append(trips(metrics) - before)


_interactions._log_timing = _timing_end  # looked up at call time by `handle`


def trips(metrics) -> int:
    """Database trips so far (`db.trips`: every trip to the database thread, BEGIN and COMMIT one each)."""
    return metrics.counter(DB_TRIPS)


def instrument(bot: discord.Client) -> None:
    """Record per interaction (1) the time until the member's answer was delivered and (2) the bot's
    whole handler time, from the tree receiving it to the handler's end, including the simulated REST
    calls it awaits after answering (cards, tags, notes), without the simulator's settling window, and
    (3) the database trips meanwhile (`trips`; other work running at the same time
    counts too)."""
    original = bot.tree._call
    metrics = bot.services.metrics
    _METRICS[0] = metrics

    async def timed_call(interaction: discord.Interaction) -> None:
        name = _qualified(interaction.data or {})
        if interaction.type is discord.InteractionType.autocomplete:
            name = f"autocomplete {name}"
        slot: list[float | None] = [None]
        token = _ANSWER.set(slot)
        profiling = PROFILE.get(name)
        if profiling is not None:
            profiling.enable()
        trips_before = trips(metrics)
        started = time.perf_counter()
        try:
            await original(interaction)
        finally:
            ended = time.perf_counter()
            if profiling is not None:
                profiling.disable()
            _ANSWER.reset(token)
            BOT_TIME.setdefault(name, []).append(1000 * (ended - started))
            ANSWER_TIME.setdefault(name, []).append(1000 * ((slot[0] or ended) - started))
            TRIPS.setdefault(name, []).append(trips(metrics) - trips_before)

    bot.tree._call = timed_call


def _qualified(data: dict) -> str:
    parts = [data.get("name", "?")]
    options = data.get("options") or []
    while options and options[0].get("type") in (1, 2):
        parts.append(options[0]["name"])
        options = options[0].get("options") or []
    return " ".join(parts)


def build() -> discord.Client:
    """The real bot, instrumented, with a bare `ping` command beside which its figures are read."""
    bot = create_bot()
    instrument(bot)

    @app_commands.command(name="ping", description="Benchmark baseline: answers pong")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    bot.tree.add_command(ping)
    return bot


async def timed(samples: dict[str, list[float]], name: str, action: Awaitable[object]) -> object:
    started = time.perf_counter()
    result = await action
    samples.setdefault(name, []).append(1000 * (time.perf_counter() - started))
    return result


async def between_rounds(env, *, drop_files: bool = False, advance: bool = True) -> None:
    """Untimed, between rounds of interactions: what a real bot's process does not carry.

    - List views (Previous/Next pagers, forms) expire as they would between real users (the clock moves
      901 s): the simulator's settling walks every live view on every step, which would otherwise be
      counted in the bot's time (a cost discord.py itself does not have).
    - The simulator's log of every REST call and gateway event is dropped; Discord keeps no such record
      in a bot's process. With `drop_files`, so are the files it stored for uploads (Discord's CDN).
    - What is alive (the simulated Discord: every message, thread and interaction it holds) is moved out
      of the garbage collector's reach, as the bot does at start, so that full collections measure the
      bot's heap, not the simulated world's. GC pauses that remain are reported.

    `advance=False` skips the clock's move (when the bench must not pass a moment it waits for)."""
    if advance:
        await env.advance_time(901)
    env.backend.http_requests.clear()
    env.backend.transcript.clear()
    if drop_files:
        env.backend.cdn._blobs.clear()
    freeze()


def freeze() -> None:
    _gc_own[0] = True
    gc.collect()
    _gc_own[0] = False
    gc.freeze()


def interaction_table(ping_name: str = "ping") -> dict[str, dict]:
    """p50/p99 of every interaction seen, with its ratio to the ping's p50 and p99."""
    ping_p50 = pct(ANSWER_TIME[ping_name], 0.5)
    ping_p99 = pct(ANSWER_TIME[ping_name], 0.99)
    table = {}
    for name, values in sorted(ANSWER_TIME.items()):
        handler = BOT_TIME[name]
        counts = sorted(TRIPS.get(name, []))
        table[name] = {
            "p50_ms": round(pct(values, 0.5), 3),
            "p99_ms": round(pct(values, 0.99), 3),
            "ratio_to_ping_p50": round(pct(values, 0.5) / ping_p50, 1),
            "ratio_to_ping_p99": round(pct(values, 0.99) / ping_p99, 1),
            "handler_p50_ms": round(pct(handler, 0.5), 3),
            "handler_p99_ms": round(pct(handler, 0.99), 3),
            "db_trips_p50": counts[len(counts) // 2] if counts else None,
            "n": len(values),
            # the three slowest answers, as [sample number (0 = first), ms]: warm-up or a periodic spike
            "slowest": [[i, round(v, 2)] for i, v in sorted(enumerate(values), key=lambda x: -x[1])[:3]],
        }
    return table
