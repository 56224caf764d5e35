"""The forum import at scale: 1,000 topics of 50 posts (50,000 posts) into the database through the real
service, with a ticker measuring how long the event loop was ever kept from running, and members'
commands answered while the import runs. Then the same import again (every topic unchanged).

    .venv/bin/python bench/forum_import_bench.py                  # 1,000 topics × 50 posts
    .venv/bin/python bench/forum_import_bench.py --topics 100     # a quick look
    .venv/bin/python bench/forum_import_bench.py --in-research 20 # 20 of them get a forum post in Discord

Topics are built in memory as the importer's parser returns them (`ForumTopic`), so the figures are
the import's own: episodes, forum names, contributions, their full-text index, likes and replies, one
transaction per topic. Archive topics (Recorded, Published, Shelved) get no post in Discord; the
`--in-research` ones do, through the simulator.

The built topics stand in for the forum, which hands them over a page at a time: they are frozen out of
the garbage collector's reach (as `bench/run.py` freezes the simulator's world), so that its passes
walk the bot's heap, not the bench's. Full collections during each run are counted and timed.

For the longest stall the ticker also says how much of it the event loop's thread spent running and
how long it waited for a CPU (Linux's /proc/thread-self/schedstat): on a shared machine a stall the
thread spent waiting for a CPU was the machine's, not the bot's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import discord  # noqa: E402
import simcord  # noqa: E402

from bot import create_bot  # noqa: E402
from bot.core.db import STATEMENTS  # noqa: E402
from cogs.forum_import.discourse import REGULAR, ForumPost, ForumTopic  # noqa: E402

FORUM = "https://forum.example.org"
_CORPUS = (
    "the of and to in a was that he his for as on with by it at from which were had Lenin Stalin Trotsky "
    "party congress Moscow Petrograd Leningrad Zinoviev Kamenev Bolshevik secretary general testament "
    "death mausoleum Politburo Krupskaya Molotov Cheka NEP peasants grain Bukharin Rykov Tomsky Frunze "
    "Sovnarkom opposition Gorki January 1924 1925 illness Kremlin Locarno Stresemann Briand Chamberlain"
)
WORDS = _CORPUS.split()
ARCHIVE = ("recorded", "published", "shelved")
TICK = 0.005  # seconds the ticker sleeps; what it oversleeps is how long the loop was held


def text(rng: random.Random, n: int) -> str:
    body = " ".join(rng.choices(WORDS, k=n))
    return f"{body}. Source: https://example.org/{rng.randrange(10**6)}"


def make_topics(rng: random.Random, n_topics: int, n_posts: int, in_research: int) -> list[ForumTopic]:
    start = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    topics = []
    for t in range(n_topics):
        topic_id = 10_000 + t
        url = f"{FORUM}/t/topic-{topic_id}/{topic_id}"
        created = start + dt.timedelta(days=t)
        posts = []
        for number in range(2, n_posts + 2):
            user = f"user{rng.randrange(300)}"
            posts.append(
                ForumPost(
                    post_id=topic_id * 1_000_000 + number,  # unique for topics of any length
                    number=number,
                    username=user,
                    name=user.title(),
                    created_at=created + dt.timedelta(hours=number),
                    edited_at=None,
                    raw=text(rng, rng.randrange(60, 200)),
                    likes=rng.choice((0, 0, 0, 1, 2, 5)),
                    reply_to_number=rng.randrange(2, number) if number > 3 and rng.random() < 0.3 else None,
                    url=f"{url}/{number}",
                    images=(),
                    kind=REGULAR,
                    deleted=False,
                    hidden=False,
                )
            )
        status = "in_research" if t < in_research else ARCHIVE[t % 3]
        topics.append(
            ForumTopic(
                topic_id=topic_id,
                url=url,
                forum=FORUM,
                title=f"{1900 + t // 12} {t % 12 + 1:02d} Topic {t}",
                code=f"{1900 + t // 12}-{t % 12 + 1:02d}",
                episode_title=f"Topic {t}",
                status=status,
                authors=(f"user{t % 300}",),
                description="Please post any ideas or research for this episode.",
                created_at=created,
                posts=tuple(posts),
            )
        )
    return topics


class Ticker:
    """Sleeps TICK again and again; the longest oversleep is the longest the event loop was held. Each
    tick also notes the CPU time the loop's thread used and how long it waited for a CPU meanwhile."""

    def __init__(self) -> None:
        self.stalls: list[tuple[float, float, float]] = []  # (oversleep, thread ran, waited for a CPU)
        self._running = True

    async def run(self) -> None:
        with _CpuWait() as waited:
            while self._running:
                t0, c0, w0 = time.perf_counter(), time.thread_time(), waited()
                await asyncio.sleep(TICK)
                self.stalls.append((time.perf_counter() - t0 - TICK, time.thread_time() - c0, waited() - w0))

    def stop(self) -> None:
        self._running = False


class _CpuWait(contextlib.AbstractContextManager):
    """Seconds the calling thread has waited for a CPU (0.0 where Linux's schedstat is not available)."""

    def __enter__(self):
        try:
            self._fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None
        return self.read

    def read(self) -> float:
        if self._fd is None:
            return 0.0
        return int(os.pread(self._fd, 128, 0).split()[1]) / 1e9

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)


class FullCollections:
    """Generation-2 collections and how long each took (ms)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(1000 * (time.perf_counter() - self._started))


async def measured(label: str, env, guild, member, channel, topics, actor_id: int, ask: bool) -> None:
    service = env.bot.services.forum_import
    metrics = env.bot.services.metrics
    ticker = Ticker()
    full_gc = FullCollections()
    gc.callbacks.append(full_gc)
    tick_task = asyncio.get_running_loop().create_task(ticker.run())
    answers: list[float] = []
    done = asyncio.Event()

    async def member_asks() -> None:  # a member's command every 250 ms while the import runs
        while ask and not done.is_set():
            t0 = time.perf_counter()
            await member.slash(channel, "episode list")
            answers.append(time.perf_counter() - t0)
            await asyncio.sleep(0.25)

    asking = asyncio.get_running_loop().create_task(member_asks())
    q0 = metrics.counter(STATEMENTS)
    t0 = time.perf_counter()
    report = await service.import_topics(guild, topics, actor_id=actor_id)
    seconds = time.perf_counter() - t0
    done.set()
    await asking
    ticker.stop()
    await tick_task
    gc.callbacks.remove(full_gc)
    posts = sum(len(t.posts) for t in topics)
    stalls = sorted(ticker.stalls)
    longest, ran, waited = stalls[-1]
    print(f"\n{label}")
    print(f"  topics / posts                          {len(topics):,} / {posts:,}")
    print(f"  seconds                                 {seconds:.1f}")
    print(f"  posts per second                        {posts / seconds:,.0f}")
    print(
        f"  episodes created / updated / unchanged  {report.episodes_created} / {report.episodes_updated} / "
        f"{report.episodes_unchanged}"
    )
    print(
        f"  contributions added / updated / same    {report.contributions_added:,} / "
        f"{report.contributions_updated:,} / {report.contributions_unchanged:,}"
    )
    print(f"  SQL statements per topic                {(metrics.counter(STATEMENTS) - q0) / len(topics):.1f}")
    print(
        f"  event loop held, longest / p99 (ms)     {1000 * longest:.1f} / "
        f"{1000 * stalls[int(0.99 * (len(stalls) - 1))][0]:.1f}  ({len(stalls):,} ticks of {TICK * 1000:.0f} ms)"
    )
    print(
        f"  … the longest: loop thread ran / waited for a CPU (ms)  {1000 * ran:.1f} / {1000 * waited:.1f}"
        f"  (stalls over 20 ms: {sum(1 for s in stalls if s[0] > 0.020)})"
    )
    print(f"  most the loop thread ran in one tick (ms) {1000 * max(s[1] for s in stalls):.1f}")
    pauses = full_gc.pauses
    print(f"  full GC collections, longest (ms)       {len(pauses)}, {max(pauses, default=0):.1f}")
    if answers:
        print(
            f"  /episode list during it, p50 / max (ms) {1000 * statistics.median(answers):.0f} / "
            f"{1000 * max(answers):.0f}  ({len(answers)} commands)"
        )


async def main(n_topics: int, n_posts: int, in_research: int, ask: bool, workdir: str) -> None:
    os.environ["DATABASE_PATH"] = str(Path(workdir) / "bench.sqlite3")
    os.environ["LOG_DIR"] = ""
    rng = random.Random(1924)
    t0 = time.perf_counter()
    topics = make_topics(rng, n_topics, n_posts, in_research)
    gc.collect()
    gc.freeze()  # the forum's side (see the module's docstring)
    print(f"Built {n_topics:,} topics of {n_posts} posts in memory in {time.perf_counter() - t0:.1f} s")
    bot = create_bot()
    async with simcord.run(bot) as env:
        guild = env.create_guild("History Hub")
        admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
        forum = guild.create_forum_channel("episode-research")
        general = guild.create_text_channel("general")
        admin = guild.add_member(env.create_user("admin"), roles=[admin_role])
        for i in range(20):  # forum names equal to these usernames are linked as they are imported
            guild.add_member(env.create_user(f"user{i}"))
        reader = guild.add_member(env.create_user("reader"))
        await admin.slash(general, "config channels", research_forum=forum)
        bot_guild = env.bot.get_guild(guild.id)
        await measured("First import", env, bot_guild, reader, general, topics, admin.id, ask)
        await measured(
            "The same import again (a re-run)", env, bot_guild, reader, general, topics, admin.id, ask
        )
        size = Path(os.environ["DATABASE_PATH"]).stat().st_size
        print(f"\nDatabase file: {size / 2**20:.0f} MiB")
        await env.bot.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--in-research", type=int, default=0, help="topics (of the first) that get a post")
    parser.add_argument(
        "--quiet-members",
        action="store_true",
        help="no member commands during the import (the simulator answering them runs on the same event loop)",
    )
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="archivist-import-bench-")
    try:
        asyncio.run(main(args.topics, args.posts, args.in_research, not args.quiet_members, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
