# ruff: noqa: B023 — each round's lambdas are awaited at once, inside the iteration that made them
"""Archivist at 10k, 100k and 1M contributions: seeds the archive by direct SQL and the simulated Discord
directly in simcord, then measures, in one run and beside a bare `ping`, what grows with the archive or
with a burst: every interactive command, start-up, the cost of a restart in requests, search, the export of
the largest episode, a burst of private reminders, and memory. Prints tables, writes
bench/results-scale.json.

    python3 tasks.py bench --size 1m            # 10k, 100k and 1M, each in its own process, then growth
    python3 tasks.py bench --size 1m --no-growth   # 1M alone
    python3 tasks.py bench --size 100k          # one size (add --growth for the smaller ones too)
    python3 tasks.py bench --size 10k --reps 20 # a quick look

Sizes (everything scales with the contributions): 1m is 1,000,000 contributions over 1,000 episodes (one
of 100,000), 20,000 members, 100,000 pending reminders (10,000 of them private, of 10,000 members, due at
the same instant: the burst), 500 episode threads of 200 messages (the other threads archived). 100k and
10k are a tenth and a hundredth of that (at least 20 episodes).

A figure the bot under test cannot produce (a feature not there yet) is printed as "n/a", never a crash.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import discord
import simcord
from common import (
    ANSWER_TIME,
    BOT_TIME,
    GC_PAUSES,
    PEAK_RSS,
    PROFILE,
    ROOT,
    TRIPS,
    between_rounds,
    build,
    freeze,
    interaction_table,
    label_next,
    pct,
    phase,
    rss,
    sample_rss,
    trips,
)
from scale_report import growth_table, markdown_report, print_size
from scale_seed import (
    RARE_WORD,
    SIZES,
    WORDS,
    Size,
    add_offline_messages,
    message_text,
    seed_database,
    seed_world,
)
from simcord.backend import serializers
from simcord.http import router as simcord_router

from bot.clock import now

# simcord's GUILD_CREATE carries every thread of the server, archived ones too; Discord's carries the active
# threads only (a bot fetches an archived one when it needs it). Corrected here, so that a restart costs
# the requests it would cost against Discord.
_guild_create_payload = serializers.guild_create_payload


def _discord_guild_create(backend, guild):
    payload = dict(_guild_create_payload(backend, guild))
    payload["threads"] = [
        t for t in payload.get("threads", []) if not t.get("thread_metadata", {}).get("archived")
    ]
    return payload


serializers.guild_create_payload = _discord_guild_create

RESULTS = ROOT / "bench" / "results-scale.json"
GLOBAL_LIMIT = 50  # Discord's global rate limit: requests per second
INTERACTION_ROUTE = re.compile(r"^/(interactions|webhooks)/")
ID = re.compile(r"/\d+")


# -- the request log, with the virtual time of each request ------------------------------------------------


class StampedLog(list):
    """simcord's log of REST requests, with the virtual (and real) time each was made: simcord never
    answers 429, so the bot's pacing is measured from when its requests were made."""

    def __init__(self, clock) -> None:
        super().__init__()
        self.clock = clock
        self.virtual: list[float] = []
        self.real: list[float] = []

    def append(self, entry) -> None:
        super().append(entry)
        self.virtual.append(self.clock.elapsed)
        self.real.append(time.perf_counter())

    def clear(self) -> None:
        super().clear()
        self.virtual.clear()
        self.real.clear()


def own_requests(log: StampedLog, start: int = 0) -> list[tuple[float, object]]:
    """(virtual time, entry) of the bot's own REST calls since `start` (answers to interactions are not
    subject to the global rate limit and are left out)."""
    return [
        (log.virtual[i], log[i]) for i in range(start, len(log)) if not INTERACTION_ROUTE.match(log[i].path)
    ]


def route(entry) -> str:
    return f"{entry.method} {ID.sub('/{id}', entry.path)}"


def by_route(entries) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[route(entry)] = counts.get(route(entry), 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def pacing(stamps: list[float]) -> dict[str, float | int]:
    """Most requests in any one-second window (half-open, placed anywhere), and how many requests came
    when 50 or more had already been made in the second before them (each would have met a 429)."""
    stamps = sorted(stamps)
    most = over = 0
    left = 0
    for right, t in enumerate(stamps):
        while stamps[left] <= t - 1.0:
            left += 1
        in_window = right - left + 1
        most = max(most, in_window)
        over += in_window > GLOBAL_LIMIT
    return {"max_requests_in_any_second": most, "would_meet_429": over}


# -- event-loop stalls and memory, sampled during one operation ------------------------------------------


class LoopWatch:
    """Times every callback the event loop runs (asyncio's Handle._run) while active: the longest is the
    longest the loop was held. The simulator's own callbacks are timed too (they are short).

    simcord answers the bot's REST requests synchronously, inside the bot's task (`router.dispatch`,
    which also reads every uploaded file whole: 10 files of 10 MB take 40-70 ms in one step). Against
    Discord that work is on the other side of a socket, and aiohttp sends a file in 256 KiB chunks read in
    a worker thread. That time is taken out of each step (`longest`: the bot's part) and reported on its
    own (`simulator`: (ms, what) of the steps where the simulator's part was over 2 ms)."""

    def __init__(self) -> None:
        self.longest: list[tuple[float, str]] = []
        self.simulator: list[tuple[float, str]] = []
        self._original = asyncio.events.Handle._run
        self._dispatch = simcord_router.dispatch

    def __enter__(self) -> LoopWatch:
        original, dispatch = self._original, self._dispatch
        longest, simulator = self.longest, self.simulator
        in_simulator = [0.0]

        def timed_dispatch(*args, **kwargs):
            started = time.perf_counter()
            try:
                return dispatch(*args, **kwargs)
            finally:
                in_simulator[0] += time.perf_counter() - started

        def timed_run(handle) -> None:
            in_simulator[0] = 0.0
            started = time.perf_counter()
            original(handle)
            took = time.perf_counter() - started - in_simulator[0]
            if took > 0.002:
                longest.append((1000 * took, describe(handle) if took > 0.02 else ""))
            if in_simulator[0] > 0.002:
                simulator.append((1000 * in_simulator[0], describe(handle)))

        asyncio.events.Handle._run = timed_run
        simcord_router.dispatch = timed_dispatch
        return self

    def __exit__(self, *exc) -> None:
        asyncio.events.Handle._run = self._original
        simcord_router.dispatch = self._dispatch
        self.longest.sort(reverse=True)
        self.simulator.sort(reverse=True)

    @property
    def max_ms(self) -> float:
        return round(self.longest[0][0], 1) if self.longest else 0.0

    @property
    def simulator_max_ms(self) -> float:
        return round(self.simulator[0][0], 1) if self.simulator else 0.0


def describe(handle) -> str:
    """What a loop callback ran: for a task's step, where the task is suspended now (its chain of awaits,
    innermost last), which is where the long step ended."""
    callback = handle._callback
    cells = [c.cell_contents for c in (getattr(callback, "__closure__", None) or ()) if _filled(c)]
    for candidate in (callback, *cells, *handle._args):
        task = getattr(candidate, "__self__", None)
        if isinstance(task, asyncio.Task):
            chain, coro = [], task.get_coro()
            while coro is not None and len(chain) < 30:
                chain.append(getattr(coro, "__qualname__", type(coro).__name__))
                coro = getattr(coro, "cr_await", None)
            return " > ".join(chain[-3:])
    return repr(handle)[:160]


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


class RssWatch:
    """Samples the process's RSS every `every` seconds in a thread; `peak` is the highest seen."""

    def __init__(self, every: float = 0.005) -> None:
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            self._stop.wait(self.every)

    def __enter__(self) -> RssWatch:
        self.peak = rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        PEAK_RSS[0] = max(PEAK_RSS[0], self.peak)


def mb(n: int | float) -> float:
    return round(n / 2**20, 1)


# -- the run -------------------------------------------------------------------------------------------


class Run:
    """One size, in this process."""

    def __init__(self, size: Size, reps: int, workdir: str) -> None:
        self.size = size
        self.reps = reps
        self.db_path = str(Path(workdir) / "bench.sqlite3")
        self.results: dict = {"size": size.name, "scale": {
            "contributions": size.contributions, "episodes": size.episodes, "largest_episode": size.big,
            "members": size.members, "pending_reminders": size.reminders,
            "threads_with_messages": size.threads_with_messages, "messages_per_thread": size.messages_per_thread,
            "burst": size.burst, "reps": reps,
        }}  # fmt: skip
        self.broken: dict[str, str] = {}  # an interaction that failed, and why (its figures are n/a)
        self.ready_at: list[float] = []
        self.setup_ms: list[float] = []
        self.settle_timeout = 5.0  # simcord's default
        self.formats = ["markdown", "json", "csv"]

    # -- helpers ---------------------------------------------------------------------------------------

    def build(self) -> discord.Client:
        bot = build()

        async def on_archivist_ready() -> None:
            self.ready_at.append(time.perf_counter())

        bot.add_listener(on_archivist_ready, "on_archivist_ready")
        setup_hook = bot.setup_hook

        async def timed_setup_hook() -> None:  # the bot's own start: database checks, migrations, cogs, sync
            started = time.perf_counter()
            try:
                await setup_hook()
            finally:
                self.setup_ms.append(1000 * (time.perf_counter() - started))

        bot.setup_hook = timed_setup_hook
        return bot

    async def drain(self) -> bool:
        """Wait until the bot's work is done. simcord gives up on one settling step after 5 s of real
        time while the bot still works (a large export or credits list built in a thread at 1M): the
        bot's own figures are taken inside it and stay right, so the bench waits on in such steps."""
        for _ in range(240):  # 20 minutes at most
            try:
                await self.env.settle()
                return True
            except TimeoutError:
                self.results["settle_timeouts"] = self.results.get("settle_timeouts", 0) + 1
        return False

    async def act(self, action):
        """An interaction that may outlast simcord's settling step: its result, or None when it did (the
        bot's own times are recorded either way)."""
        try:
            return await action()
        except TimeoutError:
            self.results["settle_timeouts"] = self.results.get("settle_timeouts", 0) + 1
            await self.drain()
            return None

    async def advance(self, seconds: float) -> None:
        """Move the virtual clock, waiting on (see `drain`) when the bot's work outlasts a settling step."""
        target = self.env.backend.clock.elapsed + seconds
        while (left := target - self.env.backend.clock.elapsed) > 0:
            try:
                await self.env.advance_time(left)
            except TimeoutError:  # partial progress is kept: go on from there
                self.results["settle_timeouts"] = self.results.get("settle_timeouts", 0) + 1
                await self.drain()

    async def tidy(self, *, advance: bool = True) -> None:
        """`between_rounds` (untimed clean-up), after any work still running."""
        try:
            await between_rounds(self.env, drop_files=True, advance=advance)
        except TimeoutError:
            await self.drain()
            await between_rounds(self.env, drop_files=True, advance=advance)

    async def step(self, name: str, action):
        """One interaction of a round; one that fails is reported and not tried again."""
        if name in self.broken:
            return None
        try:
            return await self.act(action)
        except Exception as exc:
            self.broken[name] = f"{type(exc).__name__}: {exc}"[:300]
            phase(f"  {name} failed: {self.broken[name]}")
            return None

    async def section(self, name: str, coro) -> None:
        """A measuring section; one that fails leaves its figures n/a and the run goes on."""
        phase(name)
        try:
            await coro
        except Exception as exc:
            self.results.setdefault("failed_sections", {})[name] = f"{type(exc).__name__}: {exc}"[:300]
            phase(f"  section {name!r} failed: {exc!r}")

    # -- set-up ----------------------------------------------------------------------------------------

    async def main(self) -> dict:
        os.environ["DATABASE_PATH"] = self.db_path
        os.environ["LOG_DIR"] = ""
        rss_all = RssWatch(every=0.05)
        with rss_all:
            async with simcord.run(
                self.build(), check_errors=False, settle_timeout=self.settle_timeout
            ) as env:
                self.env = env
                env.backend.http_requests = self.log = StampedLog(env.backend.clock)
                await self.set_up()
                await self.seed()
                await self.section("start-up", self.start_up())
                await self.section("restart cost", self.restart_cost())
                await self.section("interactions", self.interactions())
                await self.section("largest episode", self.largest_episode())
                await self.section("search", self.search())
                await self.section("export", self.export())
                await self.section("DM burst", self.burst())
                await self.section("ingest", self.ingest())
                self.results["bot_errors"] = self.errors()
                await env.bot.close()
        self.results["peak_rss_mb"] = mb(max(rss_all.peak, PEAK_RSS[0]))
        self.results["broken_interactions"] = self.broken
        self.results["machine"] = {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "discord.py": discord.__version__,
            "simcord": simcord.__version__,
            "commit": _git("rev-parse", "--short", "HEAD"),
            "date": time.strftime("%Y-%m-%d %H:%M"),
        }
        return self.results

    def errors(self) -> dict[str, int]:
        """Exceptions the bot did not handle (refusals, which members are answered, are left out)."""
        from bot.core.interactions import unwrap
        from bot.errors import ArchivistError

        kinds: dict[str, int] = {}
        for error in self.env.errors:
            error = unwrap(error)
            if not isinstance(error, ArchivistError):
                key = f"{type(error).__name__}: {str(error)[:80]}"
                kinds[key] = kinds.get(key, 0) + 1
        return kinds

    async def set_up(self) -> None:
        phase(f"set-up ({self.size.name})")
        env = self.env
        self.guild = guild = env.create_guild("History Channel Research")
        admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
        self.host_role = guild.create_role("Host")
        self.forum = guild.create_forum_channel("episode-research")
        self.review = guild.create_text_channel("author-review")
        self.announcements = guild.create_text_channel("announcements")
        self.general = guild.create_text_channel("general")
        self.admin = guild.add_member(env.create_user("admin"), roles=[admin_role, self.host_role])
        self.host = guild.add_member(env.create_user("indy"), roles=[self.host_role])
        self.alice = guild.add_member(env.create_user("veles"))
        self.bob = guild.add_member(env.create_user("spartacus"))
        await self.admin.slash(
            self.general, "config channels", research_forum=self.forum, review=self.review,
            announcements=self.announcements,
        )  # fmt: skip
        await self.admin.slash(self.general, "config roles", host=self.host_role)
        for i in range(10):  # through the command: real cards, tags and threads the commands below edit
            await self.host.slash(self.general, "episode create", code=f"R{i:03}", title=f"Real episode {i}")
        self.picked = await self.bob.send(self.general, "Krupskaya is the correct spelling, not Krupskaja.")

    async def seed(self) -> None:
        env, size = self.env, self.size
        await env.bot.close()
        phase("seeding simcord (members, threads, messages)")
        started = time.perf_counter()
        self.world = seed_world(env, self.guild, self.forum, size)
        world_s = time.perf_counter() - started
        phase("seeding the database (direct SQL)")
        started = time.perf_counter()
        info = await seed_database(
            self.db_path, env, self.guild, self.forum, self.general, self.host, size, self.world,
            int(now().timestamp()),
        )  # fmt: skip
        db_s = time.perf_counter() - started
        freeze()  # the seeded simulated world is out of the collector's reach, as between rounds
        sample_rss()
        self.results["seed"] = {
            "simcord_s": round(world_s, 1),
            "database_s": round(db_s, 1),
            "total_s": round(world_s + db_s, 1),
            **self.world.seconds,
            **info,
            "database_mb": mb(Path(self.db_path).stat().st_size),
        }
        phase(f"  seeded in {world_s + db_s:.1f} s: {json.dumps(self.results['seed'])}")

    # -- start-up and restarts -------------------------------------------------------------------------

    async def restart(self, offline=None) -> dict:
        """Stop the bot, let `offline` happen, start it again; count its requests and database trips
        until its catch-up is finished, then those of any background reconciliation that follows."""
        env = self.env
        await env.bot.close()
        if offline is not None:
            offline()
        freeze()
        self.log.clear()
        self.ready_at.clear()
        self.setup_ms.clear()
        bot = self.build()
        started = time.perf_counter()
        with RssWatch(every=0.02):
            await env.restart_bot(bot)
        settled = time.perf_counter()
        catch_up = getattr(bot.services.research, "catch_up", None)

        def caught_up() -> bool | None:
            if hasattr(catch_up, "started"):
                return catch_up.started is not None
            task = getattr(catch_up, "_task", None)
            return None if task is None else task.done()

        waited = 0
        while caught_up() is False and waited < 3600:
            await self.advance(5)
            waited += 5
        done = time.perf_counter()
        at_done = len(self.log)
        metrics = bot.services.metrics
        trips_done = trips(metrics)
        report = getattr(catch_up, "started", None)
        # Then the background reconciliation of recent messages, if any, within its request budget: at
        # least 10 (virtual) minutes, longer while it says it has work left.
        reconciled = 0
        while reconciled < 600 or (getattr(catch_up, "reconciling", False) and reconciled < 4 * 3600):
            await self.advance(30)
            reconciled += 30
        later = own_requests(self.log, at_done)
        first = own_requests(self.log)[: len(own_requests(self.log)) - len(later)]
        background_trips = trips(metrics) - trips_done
        # simcord's READY lists no server (each arrives after it), and after a restart discord.py then does
        # not fill its member cache; against Discord, with the members intent, it does so before `on_ready`.
        # Filled here (gateway requests, not REST), so that the commands measured next find the members a
        # real server's bot would know, rather than reading every contributor's stored name.
        guild = bot.get_guild(self.guild.id)
        if guild is not None and not guild.chunked:
            await guild.chunk()
        return {
            "to_ready_ms": round(1000 * (self.ready_at[0] - started), 1) if self.ready_at else "n/a",
            "to_settled_ms": round(1000 * (settled - started), 1),
            "setup_hook_ms": round(self.setup_ms[0], 1) if self.setup_ms else "n/a",
            "catch_up_done": _na(caught_up()),
            "catch_up_real_s": round(done - started, 2),
            "catch_up_virtual_s": waited,
            "catch_up_report": _plain(report) if report is not None else "n/a",
            "requests_until_caught_up": len(first),
            "requests_until_caught_up_by_route": by_route(e for _, e in first),
            "db_trips_until_caught_up": trips_done,
            "background_virtual_s": reconciled,
            "requests_in_background": len(later),
            "requests_in_background_by_route": by_route(e for _, e in later),
            "requests_in_background_max_per_second": pacing([t for t, _ in later])[
                "max_requests_in_any_second"
            ],
            "db_trips_in_background": background_trips,
            "members_cached": len(guild.members) if guild is not None else 0,
        }

    async def start_up(self) -> None:
        first = await self.restart()
        self.results["startup"] = first
        db_mb = mb(Path(self.db_path).stat().st_size)
        phase(f"  ready in {first['to_ready_ms']} ms ({db_mb} MB database)")
        sample_rss()

    async def restart_cost(self) -> None:
        unchanged = await self.restart()
        self.results["restart_unchanged"] = unchanged
        phase(
            f"  unchanged: {unchanged['requests_until_caught_up']} requests, {unchanged['db_trips_until_caught_up']} trips"
        )
        # Then: ten threads get five new messages each while the bot is away.
        codes = list(self.world.messages)[:10]
        authors = [m.id for m in self.world.members[:50]]

        def post() -> None:
            for n, code in enumerate(codes):
                add_offline_messages(self.env, self.world.threads[code], authors, 5, f"Offline note {n}")

        before = await self.count("SELECT COUNT(*) FROM contributions")
        changed = await self.restart(post)
        changed["threads_changed"] = len(codes)
        changed["messages_posted_offline"] = 5 * len(codes)
        changed["collected"] = await self.count("SELECT COUNT(*) FROM contributions") - before
        self.results["restart_10_threads_changed"] = changed
        phase(
            f"  10 threads changed: {changed['requests_until_caught_up']} requests, collected {changed['collected']}"
        )

    async def count(self, sql: str, params=()) -> int:
        return int(await self.env.bot.services.db.fetchval(sql, params) or 0)

    # -- interactions ----------------------------------------------------------------------------------

    async def interactions(self) -> None:
        general = self.general
        alice, bob, host, admin = self.alice, self.bob, self.host, self.admin
        members = self.world.members
        codes = [f"R{i:03}" for i in range(10)] + list(self.world.threads)
        import random

        rng = random.Random(1917)
        ANSWER_TIME.clear()
        BOT_TIME.clear()
        TRIPS.clear()
        GC_PAUSES.clear()
        freeze()
        step = self.step
        for i in range(self.reps):
            if i % 20 == 0:
                phase(f"  round {i}/{self.reps}")
            member = members[i % len(members)]
            await step("ping", lambda: alice.slash(general, "ping"))
            await step("help", lambda: alice.slash(general, "help"))
            await step(
                "episode info", lambda: alice.slash(general, "episode info", episode=rng.choice(codes))
            )
            listed = await step("episode list", lambda: alice.slash(general, "episode list"))
            if listed is not None and listed.response is not None:
                label_next("button page next (episode list)")
                await step("page next", lambda: alice.click(listed.response, label="Next"))
            await step(
                "episode list status", lambda: alice.slash(general, "episode list", status="in_research")
            )
            await step("episode list author", lambda: alice.slash(general, "episode list", author=host))
            await step("episode list needs", lambda: alice.slash(general, "episode list", needs_author=True))
            status = "writing" if i % 2 == 0 else "in_research"
            await step(
                "episode status", lambda: host.slash(general, "episode status", episode="R001", status=status)
            )
            await step(
                "episode edit",
                lambda: host.slash(general, "episode edit", episode="R002", description=f"Angle {i}"),
            )
            cmd = "episode claim" if i % 2 == 0 else "episode unclaim"
            await step(cmd, lambda: host.slash(general, cmd, episode="R003"))
            cmd = "episode assign" if i % 2 == 0 else "episode unassign"
            await step(cmd, lambda: host.slash(general, cmd, episode="R004", member=bob))
            await step(
                "episode volunteer",
                lambda: member.slash(general, "episode volunteer", episode="R005", pitch="I can write this"),
            )
            await step("episode requests", lambda: host.slash(general, "episode requests"))
            request = self.review.last_message
            if request is not None and request.components:
                label_next("button decline (author request)")
                shown = await step("decline", lambda: host.click(request, label="Decline"))
                if shown is not None and shown.modal is not None:
                    label_next("form decline reason")
                    await step("decline form", lambda: host.submit_modal(shown, {}))
            await step(
                "episode deadline",
                lambda: host.slash(
                    general, "episode deadline", episode="R006", milestone="script", when=f"in {10 + i} days"
                ),
            )
            await step(
                "research list", lambda: alice.slash(general, "research list", episode=rng.choice(codes))
            )
            await step(
                "research search", lambda: alice.slash(general, "research search", query=rng.choice(WORDS))
            )
            await step(
                "research credits",
                lambda: alice.slash(general, "research credits", episode=rng.choice(codes[1:])),
            )
            await step(
                "research export",
                lambda: alice.slash(
                    general, "research export", episode=codes[-1 - i % min(40, len(codes) - 1)], format="json"
                ),
            )
            shown = await step(
                "research submit", lambda: alice.slash(general, "research submit", episode="R007")
            )
            number = None
            if shown is not None and shown.modal is not None:
                label_next("form research submit")
                sent = await step("research submit form", lambda: alice.submit_modal(shown, {
                    "title": f"Lenin's funeral, note {i}", "body": "Lenin died in January 1924; Moscow queued for days.",
                    "sources": "Pravda, 27 January 1924",
                }))  # fmt: skip
                found = re.search(r"#(\d+)", _content(sent))
                number = int(found.group(1)) if found else None
            if number is not None:
                await step(
                    "research mark",
                    lambda: host.slash(
                        general, "research mark", episode="R007", contribution=number, **{"as": "key"}
                    ),
                )
                await step(
                    "research remove",
                    lambda: alice.slash(general, "research remove", episode="R007", contribution=number),
                )
            await step("add to research", lambda: alice.context_menu(general, "Add to research", self.picked))
            made = await step(
                "remind me",
                lambda: member.slash(general, "remind me", when="in 3 days", text="Check the sources"),
            )
            found = re.search(r"#(\d+)", _content(made))
            await step("remind list", lambda: member.slash(general, "remind list"))
            if found:
                rid = found.group(1)
                await step(
                    "remind edit",
                    lambda: member.slash(
                        general, "remind edit", reminder=rid, text="Check the sources again"
                    ),
                )
                await step("remind cancel", lambda: member.slash(general, "remind cancel", reminder=rid))
            await step(
                "remind timezone", lambda: member.slash(general, "remind timezone", tz="Europe/Warsaw")
            )
            await step("config show", lambda: admin.slash(general, "config show"))
            await step(
                "config reminders", lambda: admin.slash(general, "config reminders", offsets="3d,1d,0")
            )
            await step("config timezone", lambda: admin.slash(general, "config timezone", tz="UTC"))
            await step("config research", lambda: admin.slash(general, "config research", likes="👍 ❤️ ⭐"))
            await step("config check", lambda: admin.slash(general, "config check"))
            await step("import authors", lambda: admin.slash(general, "import authors"))
            await step(
                "ac episode",
                lambda: alice.autocomplete(
                    general, "episode info", "episode", rng.choice(["19", "R0", "seeded", "24-1"])
                ),
            )
            await step(
                "ac remind cancel", lambda: member.autocomplete(general, "remind cancel", "reminder", "")
            )
            await step(
                "ac timezone",
                lambda: alice.autocomplete(
                    general, "remind timezone", "tz", rng.choice(["eur", "new", "war"])
                ),
            )
            await step(
                "ac research mark",
                lambda: host.autocomplete(
                    general, "research mark", "contribution", "", episode=rng.choice(codes)
                ),
            )
            if i % 10 == 9:
                sample_rss()
            await self.tidy()  # untimed: see between_rounds in bench/common.py
        self.results["interactions"] = interaction_table()
        self.results["gc_full_collections_during_interactions"] = len(GC_PAUSES)
        self.results["gc_full_collection_max_ms"] = round(max(GC_PAUSES, default=0.0), 1)

    # -- the largest episode, search, export --------------------------------------------------------------

    async def timed_command(self, name: str, actor, n: int, *args, **options) -> dict:
        """Run one command `n` times; its answer and handler times (inside the bot)."""
        before = len(ANSWER_TIME.get(name, []))
        for _ in range(n):
            await self.act(lambda: actor.slash(self.general, *args, **options))
        answers = ANSWER_TIME.get(name, [])[before:]
        handler = BOT_TIME.get(name, [])[before:]
        await self.tidy()
        if not answers:
            return {"p50_ms": "n/a"}
        return {
            "p50_ms": round(pct(answers, 0.5), 2),
            "p99_ms": round(pct(answers, 0.99), 2),
            "handler_p50_ms": round(pct(handler, 0.5), 2),
            "db_trips_p50": sorted(TRIPS.get(name, [0])[before:] or [0])[len(answers) // 2],
        }

    async def largest_episode(self) -> None:
        out = self.results["largest_episode"] = {}
        db = self.env.bot.services.db
        # The same commands on a typical episode of the same database too (the median by contributions:
        # about a hundredth of R000's size at 1M, with more people than the credits' text can name): whether
        # a command's time grows with the episode's size, seen within one database.
        typical = await db.fetchval(
            "SELECT e.code FROM episodes e JOIN episode_stats s ON s.episode_id = e.id WHERE e.code != 'R000' "
            "ORDER BY s.contributions, e.code LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM episode_stats)"
        )
        out["typical_code"] = typical
        for which, key, code in (("largest", "", "R000"), ("typical", "typical_", typical)):
            for command in ("episode info", "research credits"):
                out[key + command.replace(" ", "_")] = await self.timed_command(
                    command, self.alice, 20, command, episode=code
                )
            row = await db.fetchone(
                "SELECT s.contributions, s.credited FROM episode_stats s JOIN episodes e ON e.id = s.episode_id "
                "WHERE e.code = ?",
                (code,),
            )
            out[f"{which}_contributions"], out[f"{which}_credited"] = tuple(row) if row else (0, 0)
        out["research_list"] = await self.timed_command(
            "research list", self.alice, 20, "research list", episode="R000"
        )
        name = "autocomplete research mark"
        for typed in ("", "9"):
            before = len(ANSWER_TIME.get(name, []))
            for _ in range(20):
                await self.host.autocomplete(
                    self.general, "research mark", "contribution", typed, episode="R000"
                )
            answers = ANSWER_TIME.get(name, [])[before:]
            key = "autocomplete_research_mark" + ("_typed" if typed else "")
            out[key] = {
                "p50_ms": round(pct(answers, 0.5), 2) if answers else "n/a",
                "p99_ms": round(pct(answers, 0.99), 2) if answers else "n/a",
            }
        await self.tidy()

    async def search(self) -> None:
        out = self.results["search"] = {}
        service = self.env.bot.services.research
        for label, query in (("rare", RARE_WORD), ("common", "the")):
            times = []
            total = "n/a"
            try:
                for _ in range(20):
                    started = time.perf_counter()
                    read = await service.search(self.guild.id, query)
                    page = await read(0, 10)
                    total = page.total if page.exact else f"{page.total}+"
                    times.append(1000 * (time.perf_counter() - started))
                out[f"{label}_storage"] = {
                    "query": query,
                    "matches": total,
                    "p50_ms": round(pct(times, 0.5), 2),
                    "p99_ms": round(pct(times, 0.99), 2),
                }
            except Exception as exc:
                out[f"{label}_storage"] = {"query": query, "p50_ms": "n/a", "error": repr(exc)[:200]}
            out[f"{label}_command"] = await self.timed_command(
                "research search", self.alice, 20, "research search", query=query
            )

    LINKS = " https://example.org/source/{a} https://doi.org/10.1000/{b}"

    async def ingest(self) -> None:
        """Batched ingest into the seeded database: what a restart does with the messages posted while the
        bot was away, as the catch-up does: each page of 100 looked up (`store.page_state`), then
        WRITE_PAGES pages stored in one transaction (`store.write_page`), stored counts included. Measured
        last: the rows it adds change no other figure."""
        from cogs.research import store
        from cogs.research.catchup import WRITE_PAGES
        from cogs.research.store import NewContribution

        db = self.env.bot.services.db
        row = await db.fetchone("SELECT id, guild_id, thread_id FROM episodes WHERE code = 'R001'")
        n = min(100_000, max(2_000, self.size.contributions // 10))
        authors = [m.id for m in self.world.members[:500]]
        base = 9 * 10**17
        pages = []
        for start in range(0, n, 100):
            ids = range(base + start, base + min(start + 100, n))
            pages.append(
                [
                    NewContribution(
                        guild_id=row["guild_id"],
                        episode_id=row["id"],
                        author_id=authors[m % len(authors)],
                        author_name="member",
                        origin="thread",
                        body=message_text(m)
                        + (self.LINKS.format(a=m % 500, b=m % 300) if m % 5 == 0 else ""),
                        created_at=1_700_000_000 + m - base,
                        channel_id=row["thread_id"],
                        message_id=m,
                        jump_url=f"https://discord.com/channels/{row['guild_id']}/{row['thread_id']}/{m}",
                    )
                    for m in ids
                ]
            )
        with LoopWatch() as loop:
            started = time.perf_counter()
            for start in range(0, len(pages), WRITE_PAGES):
                rows = []
                for page in pages[start : start + WRITE_PAGES]:
                    state = await store.page_state(db, row["id"], [r.message_id for r in page])
                    rows += [r for r in page if r.message_id not in state.stored]
                await store.write_page(db, rows)
            seconds = time.perf_counter() - started
        self.results["ingest"] = {
            "messages": n,
            "seconds": round(seconds, 2),
            "messages_per_s": round(n / seconds),
            "with_sources": "1 in 5 (two links each)",
            "pages_per_write": WRITE_PAGES,
            "loop_stall_max_ms": loop.max_ms,
        }
        phase(f"  ingest: {n:,} messages in {seconds:.2f} s = {n / seconds:,.0f}/s")

    async def export(self) -> None:
        out = self.results["export"] = {}
        for fmt in self.formats:
            gc.collect()
            await asyncio.sleep(0)
            before_rss = rss()
            start = len(self.log)
            n_answers = len(BOT_TIME.get("research export", []))
            started = time.perf_counter()
            with LoopWatch() as loop, RssWatch(every=0.002) as memory:
                r = await self.act(
                    lambda: self.alice.slash(self.general, "research export", episode="R000", format=fmt)
                )
            round_trip = time.perf_counter() - started
            # The files as Discord (the simulator's CDN, emptied before) holds them.
            sizes = [len(data) for url, data in self.env.backend.cdn._blobs.items() if "/attachments/" in url]
            uploads = [
                self.log.real[i] for i in range(start, len(self.log))
                if isinstance(self.log[i].json, dict) and self.log[i].json.get("attachments")
            ]  # fmt: skip
            handler = BOT_TIME.get("research export", [])[n_answers:]
            answer = ANSWER_TIME.get("research export", [])[n_answers:]
            out[fmt] = {
                "handler_ms": round(handler[0], 1) if handler else "n/a",
                "answer_ms": round(answer[0], 1) if answer else "n/a",
                "last_file_sent_ms": round(1000 * (max(uploads) - started), 1) if uploads else "n/a",
                "round_trip_ms": round(1000 * round_trip, 1),
                "files": len(sizes),
                "bytes": sum(sizes),
                "largest_file_bytes": max(sizes, default=0),
                "loop_longest_ms": loop.max_ms,
                "loop_over_20ms": sum(1 for ms, _ in loop.longest if ms > 20),
                "loop_longest_callbacks": [f"{ms:.1f} ms {what}" for ms, what in loop.longest[:3]],
                "simulator_in_loop_longest_ms": loop.simulator_max_ms,
                "simulator_in_loop_steps": [f"{ms:.1f} ms {what}" for ms, what in loop.simulator[:3]],
                "peak_rss_growth_mb": mb(memory.peak - before_rss),
                "peak_rss_growth_less_simulator_files_mb": mb(memory.peak - before_rss - sum(sizes)),
                "answer_text": _content(r)[:200],
            }
            phase(
                f"  {fmt}: {json.dumps({k: v for k, v in out[fmt].items() if k != 'loop_longest_callbacks'})}"
            )
            await self.tidy()

    # -- the DM burst ----------------------------------------------------------------------------------

    async def burst(self) -> None:
        env, size = self.env, self.size
        await self.advance(max(0.0, self.world.burst_due - now().timestamp() - 60))
        await self.tidy(advance=False)
        # Another kind of job due at the same instant: R009's publishing deadline, whose reminder is posted
        # in its thread. Job kinds take turns, so it should go out within the burst's first seconds.
        due = datetime.fromtimestamp(self.world.burst_due, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        await self.host.slash(self.general, "episode deadline", episode="R009", milestone="publish", when=due)
        other_thread = await self.count("SELECT thread_id FROM episodes WHERE code = 'R009'")
        pending_sql = (
            "SELECT COUNT(*) FROM reminders WHERE state = 'pending' AND text LIKE 'Burst reminder %'"
        )
        metrics = env.bot.services.metrics
        limited = metrics.counter("outbox.rate_limited")
        pacer = getattr(env.bot.services, "pacer", None)  # the global pacer (bot.core.ratelimit), if any
        if pacer is not None:
            pacer.reset_stats()
        self.log.clear()
        v0 = env.backend.clock.elapsed
        started = time.perf_counter()
        pending = await self.count(pending_sql)
        timeouts = 0
        while pending and env.backend.clock.elapsed - v0 < 7200 and time.perf_counter() - started < 1800:
            try:
                await env.advance_time(5)
            except TimeoutError:
                timeouts += 1
            pending = await self.count(pending_sql)
        real_s = time.perf_counter() - started
        requests = own_requests(self.log)
        stamps = [t for t, _ in requests]
        dm_ids = set(env.backend.dm_channels.values())
        dm_posts = [
            t for t, e in requests if e.method == "POST" and e.path.endswith("/messages")
            and int(e.path.split("/")[2]) in dm_ids
        ]  # fmt: skip
        delivered = await self.count(
            "SELECT COUNT(*) FROM reminders WHERE state = 'delivered' AND text LIKE 'Burst reminder %'"
        )
        other_kind = [
            t for t, e in requests if e.method == "POST" and e.path == f"/channels/{other_thread}/messages"
        ]
        self.results["burst"] = {
            "reminders": size.burst,
            "delivered": delivered,
            "still_pending": pending,
            "requests": len(requests),
            "dm_messages": len(dm_posts),
            "dm_channels_opened": sum(
                1 for _, e in requests if e.method == "POST" and e.path == "/users/@me/channels"
            ),
            "requests_by_route": dict(list(by_route(e for _, e in requests).items())[:8]),
            **pacing(stamps),
            "requests_per_second_overall": round(len(stamps) / max(stamps[-1] - stamps[0], 1.0), 1)
            if stamps
            else 0,
            "virtual_s_first_to_last": round(stamps[-1] - stamps[0], 1) if stamps else 0,
            "real_s": round(real_s, 1),
            "bot_met_429": metrics.counter("outbox.rate_limited") - limited,
            # the deadline reminder (another job kind) due at the same instant: seconds after the first DM
            "other_kind_s_after_first_dm": round(other_kind[0] - min(dm_posts), 1)
            if other_kind and dm_posts
            else "n/a",
            "pacer": _plain(pacer.stats()) if pacer is not None else "n/a",
            "settle_timeouts": timeouts,
        }
        phase(f"  burst: {json.dumps(self.results['burst'])}")
        sample_rss()


def _na(value):
    return "n/a" if value is None else value


def _plain(value):
    """A dataclass (e.g. a report the bot keeps) as JSON-ready data."""
    try:
        import dataclasses

        return {
            k: v if isinstance(v, int | float | str | bool) else str(v)
            for k, v in dataclasses.asdict(value).items()
        }
    except TypeError:
        return str(value)


def _content(result) -> str:
    if result is None:
        return ""
    parts = [getattr(result.response, "content", None) or ""] if result.response is not None else []
    parts += [f.content or "" for f in result.followups]
    return " ".join(parts)


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


# -- command line ------------------------------------------------------------------------------------------


def run_one(size: str, reps: int, formats: list[str], out: Path, keep: str | None, settle: float) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"archivist-scale-{size}-") as workdir:
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
        run = Run(SIZES[size], reps or SIZES[size].reps, keep or workdir)
        run.formats = formats
        run.settle_timeout = settle
        results = asyncio.run(run.main())
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=list(SIZES), default="10k")
    parser.add_argument("--growth", action=argparse.BooleanOptionalAction, default=None,
                        help="also run the smaller sizes, each in its own process (default: on for 1m)")  # fmt: skip
    parser.add_argument("--reps", type=int, default=0, help="rounds of interactions (default per size)")
    parser.add_argument("--formats", default="markdown,json,csv", help="export formats measured, in order")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--keep", metavar="FOLDER", help="keep the database in FOLDER (one size only)")
    parser.add_argument(
        "--profile", action="append", default=[], metavar="INTERACTION",
        help='cProfile one interaction, e.g. "research credits"; stats go to bench/profile-<name>.prof',
    )  # fmt: skip
    parser.add_argument("--one", metavar="JSON", help=argparse.SUPPRESS)  # a child process: one size
    parser.add_argument("--settle-timeout", type=float, default=5.0, help=argparse.SUPPRESS)  # harness tests
    parser.add_argument("--report", action="store_true", help="print Markdown tables from --out and stop")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    if args.report:
        print("\n".join(markdown_report(json.loads(Path(args.out).read_text()).get("sizes", {}))))
        return 0
    if args.one:
        for name in args.profile:
            PROFILE[name] = cProfile.Profile()
        results = run_one(args.size, args.reps, formats, Path(args.one), args.keep, args.settle_timeout)
        for name, profile in PROFILE.items():
            target = ROOT / "bench" / f"profile-{name.replace(' ', '-')}.prof"
            profile.dump_stats(target)
            print(f"profile of {name!r}: {target}")
        print_size(results)
        return 0
    growth = args.growth if args.growth is not None else args.size == "1m"
    order = list(SIZES)
    sizes = (
        [s for s in order if s != "tiny" and order.index(s) <= order.index(args.size)]
        if growth
        else [args.size]
    )
    out = Path(args.out)
    try:
        kept = json.loads(out.read_text())
    except (OSError, ValueError):
        kept = {}
    all_results = kept.get("sizes", {})
    for size in sizes:
        started = time.perf_counter()
        child = Path(tempfile.gettempdir()) / f"archivist-scale-{size}-{os.getpid()}.json"
        command = [sys.executable, str(Path(__file__)), "--size", size, "--one", str(child), "--reps", str(args.reps),
                   "--formats", ",".join(formats), *(f"--profile={name}" for name in args.profile),
                   *([f"--keep={args.keep}/{size}"] if args.keep else [])]  # fmt: skip
        code = subprocess.call(command, cwd=ROOT)
        if code != 0 or not child.exists():
            print(f"\n--size {size} failed (exit {code})", file=sys.stderr)
            continue
        all_results[size] = json.loads(child.read_text())
        all_results[size]["runtime_s"] = round(time.perf_counter() - started, 1)
        child.unlink()
        out.write_text(json.dumps({"sizes": all_results}, indent=2, ensure_ascii=False) + "\n")
    if len([s for s in all_results if s != "tiny"]) > 1:
        print(f"\nGrowth (each size in its own process; all results in {out})")
        for line in growth_table(all_results):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
