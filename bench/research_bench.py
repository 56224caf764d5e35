"""Research at scale: ingest cost per member message, export of a 10,000-contribution episode, and
full-text search over 100,000 contributions. Seeds through the storage layer, drives the real bot
through simcord, prints the numbers.

    .venv/bin/python bench/research_bench.py            # 100,000 contributions, 10,000 in one episode
    .venv/bin/python bench/research_bench.py --small    # a tenth of that, for a quick look

"bot time" is what the bot itself spends (measured inside the service with perf_counter); "round
trip" adds the simulator delivering the event or interaction and the REST calls the bot makes.
"""

from __future__ import annotations

import argparse
import asyncio
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
from bot.clock import now_ts  # noqa: E402
from bot.core.db import STATEMENTS  # noqa: E402
from cogs.episodes import store as episode_store  # noqa: E402
from cogs.research import likes_store, search_store, store  # noqa: E402
from cogs.research.messages import MessageData  # noqa: E402
from cogs.research.rules import build_fts_query, extract_links  # noqa: E402

# Rows per seeding transaction: short enough that the bot's own queries (the scheduler wakes up while
# seeding runs) never wait long on the one database connection.
SEED_BATCH = 500


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# A corpus that behaves like prose: a Zipf distribution over 30,000 words, where English function words
# take the top ranks and the names and terms of the period are spread over the ranks below them.
STOPWORDS = words(
    "the of and to in a was that he his for as on with by it at from which were had this be their an "
    "not but they who is have after its or been all one would more also when there into only her him "
    "than so most other some over about such these two new first"
)
TERMS = words(
    "Lenin Stalin Trotsky party congress Moscow Petrograd Leningrad Zinoviev Kamenev Bolshevik secretary "
    "general testament death body mausoleum Politburo Krupskaya Molotov Dzierżyński Cheka GPU OGPU NEP "
    "peasants grain Bukharin Rykov Tomsky Frunze Sovnarkom opposition socialism country fifteenth "
    "thirteenth triumvirate embalmed Gorki January 1924 1925 1927 illness Kremlin Georgia Ordzhonikidze"
)
FACTS = (
    "Lenin died on 21 January 1924 at Gorki, aged 53.",
    "Petrograd was renamed Leningrad after his death.",
    "Krupskaya, not Krupska, is the usual spelling of his widow's name.",
    "The fifteenth congress expelled Trotsky and Zinoviev from the party.",
    "Dzierżyński, head of the Cheka, finally sided with Stalin.",
)
QUERIES = [
    "Stalin",  # a frequent name
    "Krupskaya",
    "Trotsky Zinoviev",
    "Lenin OR Molotov",
    "Dzierz*",
    '"fifteenth congress"',
    "Frunze Bukharin Gorki",
    "Ленин",  # nothing matches
    'NEAR( "AND OR * col:x',  # hostile
    "stal*",
    "the",  # worst case: a word in nearly every contribution
]


class Corpus:
    def __init__(self, rng: random.Random, size: int = 30_000) -> None:
        self.rng = rng
        filler = [f"{a}{b}{c}" for a in ("ka", "lo", "mir", "sto", "vel", "dra", "ne", "ust") for b in
                  ("ra", "ten", "vo", "sk", "li", "mo", "dan", "tri") for c in range(size // 64 + 1)]  # fmt: skip
        vocab = list(STOPWORDS)
        rest = filler[: size - len(STOPWORDS)]
        step = max(1, 3000 // len(TERMS))
        for i, term in enumerate(TERMS):  # terms at ranks ~60 … ~3,000
            rest.insert(i * step, term)
        vocab += rest
        weights = [1 / (rank + 2) ** 1.07 for rank in range(len(vocab))]
        total = 0.0
        self.cum = []
        for w in weights:
            total += w
            self.cum.append(total)
        self.vocab = vocab

    def text(self, n: int) -> str:
        return " ".join(self.rng.choices(self.vocab, cum_weights=self.cum, k=n))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(label: str, value: str) -> None:
    print(f"  {label:<58} {value}")


async def seed(db, guild_id: int, big, members, n_total: int, n_big: int, corpus: Corpus) -> None:
    """n_total contributions: n_big in the big episode, the rest over 199 other episodes."""
    others = []
    for i in range(199):
        others.append(
            await episode_store.create(
                db,
                guild_id=guild_id,
                code=f"S{i:03}",
                title=f"Seed episode {i}",
                description=None,
                created_by=members[0].id,
                forum_id=1,
                thread_id=10**16 + i,
                starter_message_id=10**16 + i,
            )
        )
    ts = now_ts() - n_total
    batch: list[store.NewContribution] = []
    for i in range(n_total):
        episode = big if i < n_big else others[i % len(others)]
        author = members[i % len(members)]
        kind = i % 10
        body = corpus.text(corpus.rng.randint(40, 140))
        if i % 20 == 0:
            body = f"{FACTS[(i // 20) % len(FACTS)]} {body}"
        if kind < 2:
            body += (
                f" https://en.wikipedia.org/wiki/Topic_{i % 400} and https://example.org/archive/{i % 900}"
            )
        batch.append(
            store.NewContribution(
                guild_id=guild_id,
                episode_id=episode.id,
                author_id=author.id,
                origin="form" if kind == 9 else "thread",
                body=body,
                created_at=ts + i,
                title=corpus.text(5) if kind == 9 else None,
                sources=f"- Service, Lenin: A Biography, p. {i % 500}\n- https://example.org/book/{i % 300}"
                if kind in (3, 9)
                else None,
                links=tuple(extract_links(body)),
                channel_id=episode.thread_id,
                message_id=10**17 + i,
                jump_url=f"https://discord.com/channels/{guild_id}/{episode.thread_id}/{10**17 + i}",
                author_name=author.name,
            )
        )
        if len(batch) == SEED_BATCH:
            await store.add_many(db, batch)
            batch = []
    if batch:
        await store.add_many(db, batch)
    ids = [r[0] for r in await db.fetchall("SELECT id FROM contributions WHERE episode_id = ?", (big.id,))]
    likes = [(cid, members[(cid + k) % len(members)].id, "👍") for cid in ids for k in range(cid % 4)]
    for start in range(0, len(likes), SEED_BATCH):
        await likes_store.add_likes_many(db, likes[start : start + SEED_BATCH])


async def main(small: bool, tmp: str) -> None:
    n_total, n_big, n_posts = (10_000, 1_000, 60) if small else (100_000, 10_000, 200)
    corpus = Corpus(random.Random(1924))
    os.environ["DATABASE_PATH"] = str(Path(tmp) / "bench.sqlite3")
    os.environ.pop("DISCORD_GUILD_ID", None)
    os.environ["LOG_DIR"] = ""
    bot = create_bot()
    async with simcord.run(bot) as env:
        guild = env.create_guild("History Hub")
        host_role = guild.create_role("Host")
        admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
        forum = guild.create_forum_channel("episode-research")
        general = guild.create_text_channel("general")
        admin = guild.add_member(env.create_user("admin"), roles=[admin_role])
        host = guild.add_member(env.create_user("indy"), roles=[host_role])
        members = [guild.add_member(env.create_user(f"member{i}")) for i in range(40)]
        await admin.slash(general, "config channels", research_forum=forum)
        await admin.slash(general, "config roles", host=host_role)
        await host.slash(general, "episode create", code="BIG", title="Lenin's Death and Stalin's Rise")
        thread = next(t for t in forum.threads if t.name.startswith("BIG "))
        db = env.bot.services.db
        big = await episode_store.get_by_code(db, guild.id, "BIG")

        started = time.perf_counter()
        await seed(db, guild.id, big, members, n_total, n_big, corpus)
        await db.checkpoint()  # as a bulk import would: members should not wait on copying its log
        total = await db.fetchval("SELECT COUNT(*) FROM contributions WHERE guild_id = ?", (guild.id,))
        in_big = await db.fetchval("SELECT COUNT(*) FROM contributions WHERE episode_id = ?", (big.id,))
        print(
            f"\nSeeded {total:,} contributions ({in_big:,} in one episode) in {time.perf_counter() - started:.1f} s"
        )

        service = env.bot.services.research
        bot_guild = env.bot.get_guild(guild.id)

        # -- ingest ------------------------------------------------------------------------------
        print("\nIngest: a member posting in an episode thread (the bot's handler)")
        metrics = env.bot.services.metrics
        metrics.clear("research.ingest_ms")
        q0 = metrics.counter(STATEMENTS)
        trips = []
        for i in range(n_posts):
            author = members[i % len(members)]
            t0 = time.perf_counter()
            await author.send(thread, f"Note {i}: {corpus.text(80)} https://example.org/note/{i}")
            trips.append(1000 * (time.perf_counter() - t0))
        timings = metrics.samples("research.ingest_ms")
        row("messages", f"{len(timings)}")
        row("bot time per message: mean / p50 / p95 / max (ms)",
            f"{statistics.mean(timings):.2f} / {pct(timings, 0.5):.2f} / {pct(timings, 0.95):.2f} / {max(timings):.2f}")  # fmt: skip
        row(
            "SQL statements per message (incl. batched card refresh)",
            f"{(metrics.counter(STATEMENTS) - q0) / n_posts:.1f}",
        )
        row("simulator round trip per message p50 (ms)", f"{pct(trips, 0.5):.1f}")
        direct = []
        for i in range(n_posts):
            data = MessageData(
                guild_id=guild.id, channel_id=thread.id, message_id=10**18 + i, author_id=members[i % 40].id,
                author_name=members[i % 40].name, content=f"Note {i}: {corpus.text(80)} https://example.org/d/{i}",
                attachments=(), created_at=now_ts(), edited_at=None, reply_to_message_id=None,
                jump_url=f"https://discord.com/channels/{guild.id}/{thread.id}/{10**18 + i}",
            )  # fmt: skip
            t0 = time.perf_counter()
            await service.ingest(data)
            direct.append(1000 * (time.perf_counter() - t0))
        row(
            "service.ingest called directly: p50 / p95 (ms)",
            f"{pct(direct, 0.5):.2f} / {pct(direct, 0.95):.2f}",
        )

        # -- export ------------------------------------------------------------------------------
        big = await episode_store.get(db, big.id)
        print(f"\nExport of one episode with {in_big + n_posts:,} contributions")
        for fmt in ("markdown", "html", "json", "csv"):
            runs = []
            size = 0
            for _ in range(3):
                t0 = time.perf_counter()
                files = await service.export(bot_guild, big, fmt)
                runs.append(1000 * (time.perf_counter() - t0))
                size = sum(len(data) for _, data in files)
                name = files[0][0] + (f" (+{len(files) - 1} parts)" if len(files) > 1 else "")
            row(
                f"{fmt}: bot time best / worst of 3 (ms), size",
                f"{min(runs):.0f} / {max(runs):.0f} · {name} {size / 1e6:.1f} MB",
            )
        t0 = time.perf_counter()
        r = await members[0].slash(general, "research export", episode="BIG", format="markdown")
        trip = 1000 * (time.perf_counter() - t0)
        attachment = r.response.attachments[0]
        row("/research export markdown, simulator round trip (ms)", f"{trip:.0f} · {attachment.filename}")

        # -- search ------------------------------------------------------------------------------
        print(f"\nSearch over {total + n_posts:,} contributions (best 50, bm25, snippets)")
        all_runs: list[float] = []
        for query in QUERIES:
            runs = []
            hits = []
            for _ in range(5):
                t0 = time.perf_counter()
                hits = await search_store.search(db, guild.id, build_fts_query(query), limit=50)
                runs.append(1000 * (time.perf_counter() - t0))
            all_runs += runs
            matches = await db.fetchval(
                "SELECT COUNT(*) FROM contributions_fts WHERE contributions_fts MATCH ?",
                (build_fts_query(query),),
            )
            row(
                f"{query[:28]!r:<30} {matches:>7,} matches, p50 (ms)",
                f"{pct(runs, 0.5):.1f}  ({len(hits)} shown)",
            )
        row(
            "all queries: p50 / p95 / max (ms)",
            f"{pct(all_runs, 0.5):.1f} / {pct(all_runs, 0.95):.1f} / {max(all_runs):.1f}",
        )
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            await search_store.search(db, guild.id, build_fts_query("Stalin"), episode_id=big.id, limit=50)
            runs.append(1000 * (time.perf_counter() - t0))
        row("'Stalin' limited to the big episode, p50 (ms)", f"{pct(runs, 0.5):.1f}")
        t0 = time.perf_counter()
        await members[1].slash(general, "research search", query="Krupskaya Trotsky")
        row("/research search, simulator round trip (ms)", f"{1000 * (time.perf_counter() - t0):.1f}")
        await env.bot.close()
    print()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tenth of the size")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="archivist-research-bench-")
    try:
        asyncio.run(main(args.small, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
