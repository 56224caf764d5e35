"""The scheduler at scale, driving the real bot through simcord's virtual clock; prints the figures.

    .venv/bin/python bench/scheduler_bench.py            # 20,000 pending jobs, bursts of 1,000
    .venv/bin/python bench/scheduler_bench.py --small    # 2,000 pending jobs, bursts of 200

1. Idle: with N pending reminders (the earliest more than a week away), one simulated week —
   database statements run and sleeper wake-ups (both should be 0).
2. Cost of `schedule` and `cancel` with N and with 10×N pending jobs (statements per call, wall time
   per call, and the query plans, which use the `jobs` indexes: O(log n)).
3. A burst: 1,000 reminders due at the same instant, over 20 channels and all in one channel —
   wall time, virtual time until the last one was out, messages sent, 429s met, and the most
   messages any one channel got within 5 seconds (Discord allows 5).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simcord  # noqa: E402

from bot import create_bot  # noqa: E402
from bot.clock import now  # noqa: E402
from bot.core import jobs as job_store  # noqa: E402
from bot.core.db import STATEMENTS  # noqa: E402
from cogs.reminders import store as reminder_store  # noqa: E402


def row(label: str, value: object) -> None:
    print(f"  {label:<62} {value}")


async def seed_reminders(db, guild_id: int, channel_id: int, users: list[int], count: int, first_due) -> None:
    """`count` pending reminders (and their jobs), one a minute from `first_due` on."""
    for start in range(0, count, 5000):
        rows = [
            reminder_store.NewReminder(
                guild_id,
                users[i % len(users)],
                channel_id,
                f"Seeded reminder {i}",
                int((first_due + timedelta(minutes=i)).timestamp()),
            )
            for i in range(start, min(count, start + 5000))
        ]
        created = await reminder_store.create_many(db, rows)
        await job_store.add_many(
            db,
            [
                (
                    guild_id,
                    "reminder",
                    r.due_at.timestamp(),
                    {"reminder_id": r.id},
                    reminder_store.job_key(r.id, int(r.due_at.timestamp())),
                    now().timestamp(),
                )
                for r in created
            ],
        )


async def seed_jobs(db, count: int, first_due) -> None:
    """Plain pending jobs of a kind nobody handles, to grow the table without reminders."""
    for start in range(0, count, 10000):
        await job_store.add_many(
            db,
            [
                (None, "bench-filler", (first_due + timedelta(seconds=i)).timestamp(), {}, None, 0.0)
                for i in range(start, min(count, start + 10000))
            ],
        )


async def schedule_cancel_cost(env, label: str, calls: int) -> None:
    scheduler, db, metrics = env.bot.services.scheduler, env.bot.services.db, env.bot.services.metrics
    pending = len(await job_store.pending(db))
    later = now() + timedelta(days=90)
    q0, t0 = metrics.counter(STATEMENTS), time.perf_counter()
    ids = [
        await scheduler.schedule(
            "bench", later + timedelta(seconds=i), {"i": i}, dedupe_key=f"bench:{label}:{i}"
        )
        for i in range(calls)
    ]
    schedule_s, schedule_q = time.perf_counter() - t0, metrics.counter(STATEMENTS) - q0
    q0, t0 = metrics.counter(STATEMENTS), time.perf_counter()
    for job_id in ids:
        await scheduler.cancel(job_id)
    cancel_s, cancel_q = time.perf_counter() - t0, metrics.counter(STATEMENTS) - q0
    t0 = time.perf_counter()
    await scheduler.cancel_by_key_prefix(f"bench:{label}:")
    prefix_s = time.perf_counter() - t0
    row(
        f"schedule() with {pending:,} pending",
        f"{1e3 * schedule_s / calls:.2f} ms/call, {schedule_q / calls:.1f} statements/call",
    )
    row(
        f"cancel() with {pending:,} pending",
        f"{1e3 * cancel_s / calls:.2f} ms/call, {cancel_q / calls:.1f} statements/call",
    )
    row(f"cancel_by_key_prefix() with {pending:,} pending (none left)", f"{1e3 * prefix_s:.2f} ms")


async def plans(db) -> None:
    statements = {
        "next due": ("SELECT MIN(due_at) FROM jobs WHERE state = 'pending'", ()),
        "due now": (
            "SELECT id FROM jobs WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT 500",
            (0,),
        ),
        "dedupe": ("SELECT id, due_at FROM jobs WHERE dedupe_key = ? AND state = 'pending'", ("x",)),
        "cancel": ("SELECT due_at FROM jobs WHERE id = ? AND state = 'pending'", (1,)),
        "by prefix": (
            "UPDATE jobs SET state = 'cancelled' WHERE state = 'pending' AND dedupe_key IS NOT NULL "
            "AND dedupe_key >= ? AND dedupe_key < ?",
            ("a", "b"),
        ),
    }
    for name, (sql, params) in statements.items():
        detail = "; ".join(r[3] for r in await db.fetchall("EXPLAIN QUERY PLAN " + sql, params))
        row(f"plan: {name}", detail)


def _delivered(channels: list, label: str) -> int:
    return sum(m.content.count(f"{label} reminder") for c in channels for m in c.history())


async def burst(env, members, channels: list, count: int, label: str) -> None:
    """`count` reminders set with `/remind me` by the members, all due at the same instant."""
    metrics = env.bot.services.metrics  # every automatic post goes through the outbox, which counts them
    due = now().replace(microsecond=0) + timedelta(hours=2)
    when = f"<t:{int(due.timestamp())}>"
    t0 = time.perf_counter()
    for i in range(count):
        member, channel = members[i % len(members)], channels[i % len(channels)]
        await member.slash(
            channel, "remind me", when=when, text=f"{label} reminder {i}: read chapter {i % 40}"
        )
    set_s = time.perf_counter() - t0
    before = len(env.http_requests)
    sent_before, limited_before = metrics.counter("outbox.sent"), metrics.counter("outbox.rate_limited")
    wall = time.perf_counter()
    await env.advance_time((due - now()).total_seconds() + 1)
    first_wall = time.perf_counter() - wall
    first_round = metrics.samples("scheduler.round_ms")[-1] / 1000
    waited = 0
    while waited < 600 and _delivered(channels, label) < count:
        await env.advance_time(5)
        waited += 5
    wall = time.perf_counter() - wall
    ids = {c.id for c in channels}
    posts = [
        e for e in env.http_requests[before:]
        if e.method == "POST" and e.path.startswith("/channels/") and int(e.path.split("/")[2]) in ids
    ]  # fmt: skip
    messages = [m for c in channels for m in c.history() if f"{label} reminder" in m.content]
    delivered = sum(m.content.count(f"{label} reminder") for m in messages)
    last = max(m.created_at for m in messages)
    worst = 0
    for c in channels:
        times = sorted(m.created_at.timestamp() for m in c.history() if f"{label} reminder" in m.content)
        worst = max([worst] + [sum(1 for t in times if s <= t < s + 5) for s in times])
    row(f"burst {label}: reminders / channels", f"{count:,} / {len(channels)} (set in {set_s:.1f} s)")
    row(f"burst {label}: delivered (each exactly once)", f"{delivered:,}")
    row(
        f"burst {label}: messages sent (POST /channels/…/messages)",
        f"{len(posts)} ({metrics.counter('outbox.sent') - sent_before} accepted)",
    )
    row(f"burst {label}: 429s met", metrics.counter("outbox.rate_limited") - limited_before)
    row(f"burst {label}: most messages in one channel within 5 s", worst)
    row(
        f"burst {label}: bot time from due to last message", f"{(last - due).total_seconds():.0f} s (virtual)"
    )
    row(f"burst {label}: wall time of the first round / until all out", f"{first_wall:.2f} s / {wall:.2f} s")
    row(f"burst {label}: scheduler round time (first round)", f"{first_round:.3f} s")


async def seed_before_start(path: Path, n_pending: int) -> None:
    """The pending reminders exist before the bot starts, as after a restart."""
    from bot.core.db import Database

    db = Database(path)
    await db.open()
    t0 = time.perf_counter()
    await seed_reminders(db, 1, 1, [10 + i for i in range(50)], n_pending, now() + timedelta(days=8))
    row("seeding (before start)", f"{n_pending:,} reminders + jobs in {time.perf_counter() - t0:.1f} s")
    await db.close()


async def main(small: bool) -> None:
    n_pending, n_burst = (2_000, 200) if small else (20_000, 1_000)
    tmp = tempfile.mkdtemp(prefix="archivist-scheduler-bench-")
    path = Path(tmp) / "bench.sqlite3"
    os.environ["DATABASE_PATH"] = str(path)
    os.environ.pop("DISCORD_GUILD_ID", None)
    os.environ["LOG_DIR"] = ""
    logging.basicConfig(level=logging.WARNING)
    print(f"Archivist scheduler benchmark ({'small' if small else 'full'})")
    print("1. idle")
    await seed_before_start(path, n_pending)
    bot = create_bot()
    async with simcord.run(bot) as env:
        db, metrics = env.bot.services.db, env.bot.services.metrics
        await env.advance_time(10)
        q0, w0 = metrics.counter(STATEMENTS), metrics.counter("scheduler.wakeups")
        await env.advance_time(7 * 24 * 3600)
        idle_queries = metrics.counter(STATEMENTS) - q0
        idle_wakeups = metrics.counter("scheduler.wakeups") - w0
        row("pending jobs", f"{len(await job_store.pending(db)):,}")
        row("simulated idle time", "7 days")
        row("database statements while idle", idle_queries)
        row("scheduler wake-ups while idle", idle_wakeups)

        print("2. schedule / cancel")
        calls = 200 if small else 1000
        await schedule_cancel_cost(env, "n", calls)
        await seed_jobs(db, 9 * n_pending, now() + timedelta(days=400))
        await schedule_cancel_cost(env, "10n", calls)
        await plans(db)
        await db.execute("UPDATE jobs SET state = 'cancelled' WHERE kind = 'bench-filler'")

        print("3. bursts")
        guild = env.create_guild("Bench")
        members = [guild.add_member(env.create_user(f"m{i}")) for i in range(50)]
        spread = [guild.create_text_channel(f"burst-{i}") for i in range(20)]
        await burst(env, members, spread, n_burst, "spread")
        single = [guild.create_text_channel("burst-single")]
        await burst(env, members, single, n_burst, "single")
        await env.bot.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="a tenth of the size, for a quick look")
    args = parser.parse_args()
    asyncio.run(main(args.small))
