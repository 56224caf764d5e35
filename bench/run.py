"""Archivist at scale: seeds a large community through the storage layer, drives the real bot through
simcord, prints a table and writes bench/results.json.

    python3 tasks.py bench            # full size: 500 episodes, 5,000 members, 100,000 contributions,
                                      # 20,000 pending reminders
    python3 tasks.py bench --small    # a quick run at a tenth of the size

Latency is the bot's time per interaction, measured inside the simulator: from the command tree receiving
it until the member's answer was delivered (the "p50"/"p99" columns, which the targets apply to), and the
whole handler including the card, tag and thread updates made after answering ("handler" columns); next
to a bare `ping` command measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import timedelta
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
    between_rounds,
    build,
    pct,
    phase,
    sample_rss,
    timed,
)

from bot.clock import now, now_ts
from bot.core import jobs as job_store
from bot.core.db import STATEMENTS
from cogs.episodes import lists_store
from cogs.episodes import store as episode_store
from cogs.reminders import store as reminder_store
from cogs.research import search_store
from cogs.research import store as contribution_store

WORDS = (  # noqa: SIM905 — reads better as prose
    "Lenin died in January 1924 and Moscow queued for days to see him; Petrograd became Leningrad; "
    "Stalin as General Secretary placed loyal people in the party apparatus; the triumvirate of "
    "Zinoviev Kamenev and Stalin kept Trotsky out; Dzerzhinsky and the Cheka; the testament warned "
    "about Stalin; the thirteenth congress let him stay; Krupskaya sided with the opposition; "
    "socialism in one country; the fifteenth congress expelled Trotsky and Zinoviev"
).split()
REPS = [0]


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


PROFILED: dict[str, cProfile.Profile] = {}


async def main(small: bool) -> dict:
    scale = 10 if small else 1
    n_episodes, n_members, n_contrib, n_reminders = (
        500 // scale,
        5000 // scale,
        100_000 // scale,
        20_000 // scale,
    )
    big_episode = 10_000 // scale
    reps = REPS[0] or (40 if small else 200)
    rng = random.Random(1924)
    workdir = tempfile.mkdtemp(prefix="archivist-bench-")
    os.environ["DATABASE_PATH"] = str(Path(workdir) / "bench.sqlite3")
    os.environ["LOG_DIR"] = ""
    results: dict = {"scale": {"episodes": n_episodes, "members": n_members, "contributions": n_contrib,
                               "pending_reminders": n_reminders}}  # fmt: skip
    async with simcord.run(build(), check_errors=False) as env:
        guild = env.create_guild("History Channel Research")
        admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
        host_role = guild.create_role("Host")
        forum = guild.create_forum_channel("episode-research")
        review = guild.create_text_channel("author-review")
        announcements = guild.create_text_channel("announcements")
        general = guild.create_text_channel("general")
        started = time.perf_counter()
        members = [guild.add_member(env.create_user(f"member{i}")) for i in range(n_members)]
        seed_members_s = time.perf_counter() - started
        admin = guild.add_member(env.create_user("admin"), roles=[admin_role, host_role])
        host = guild.add_member(env.create_user("indy"), roles=[host_role])
        alice, bob = members[0], members[1]
        await admin.slash(
            general, "config channels", research_forum=forum, review=review, announcements=announcements
        )
        await admin.slash(general, "config roles", host=host_role)

        phase("seeding")
        # -- seeding through the storage layer ---------------------------------------------------
        started = time.perf_counter()
        real_codes = [f"R{i:03}" for i in range(10)]
        for code in real_codes:
            await host.slash(general, "episode create", code=code, title=f"Real episode {code}")
        db = env.bot.services.db
        for i in range(n_episodes - len(real_codes)):
            await episode_store.create(
                db, guild_id=guild.id, code=f"1924-{i:03}", title=f"{text(rng, 4)} {i}"[:90], description=None,
                created_by=host.id, forum_id=forum.id, thread_id=10**15 + i, starter_message_id=10**15 + i,
            )  # fmt: skip
        episodes = await lists_store.list_filtered(db, guild.id)
        big = next(e for e in episodes if e.code == "R000")
        ts = now_ts()
        rows = []
        for i in range(n_contrib):
            episode = big if i < big_episode else episodes[i % len(episodes)]
            author = members[i % len(members)]
            body = text(rng, 60) + (f" https://example.org/source/{i % 500}" if i % 7 == 0 else "")
            rows.append(
                contribution_store.NewContribution(
                    guild_id=guild.id,
                    episode_id=episode.id,
                    author_id=author.id,
                    origin="form",
                    body=body,
                    created_at=ts - (n_contrib - i),
                    title=text(rng, 5),
                    sources=f"Source book {i % 300}",
                    author_name=f"member{i % len(members)}",
                )
            )
            if len(rows) == 5000:
                await contribution_store.add_many(db, rows)
                rows = []
        if rows:
            await contribution_store.add_many(db, rows)
        due_far = now() + timedelta(days=30)
        job_rows = []
        for i in range(n_reminders):
            owner = members[i % len(members)]
            reminder = await reminder_store.create(
                db, guild_id=guild.id, user_id=owner.id, channel_id=general.id, text=text(rng, 8),
                due_at=int((due_far + timedelta(minutes=i)).timestamp()), private=False,
            )  # fmt: skip
            job_rows.append(
                (
                    guild.id,
                    "reminder",
                    reminder.due_at.timestamp(),
                    {"reminder_id": reminder.id},
                    f"reminder:{reminder.id}:{int(reminder.due_at.timestamp())}",
                    now().timestamp(),
                )
            )
        await job_store.add_many(db, job_rows)
        results["seed_seconds"] = round(time.perf_counter() - started, 1)
        results["seed_members_seconds"] = round(seed_members_s, 1)
        sample_rss()

        phase("start-up")
        # -- start-up with that database ----------------------------------------------------------
        await env.bot.close()
        started = time.perf_counter()
        await env.restart_bot(build())
        results["startup_ms"] = round(1000 * (time.perf_counter() - started), 1)
        db = env.bot.services.db
        sample_rss()

        # -- interactive commands -----------------------------------------------------------------
        samples: dict[str, list[float]] = {}
        GC_PAUSES.clear()
        thread_of = {t.name.split()[0]: t for t in forum.threads}
        big_thread = thread_of["R000"]
        phase("interactions")
        for i in range(reps):
            phase(f"rep {i}")
            member = members[2 + i % (len(members) - 2)]
            await timed(samples, "ping", alice.slash(general, "ping"))
            await timed(samples, "/help", alice.slash(general, "help"))
            await timed(
                samples,
                "/episode info",
                alice.slash(general, "episode info", episode=rng.choice(episodes).code),
            )
            await timed(samples, "/episode list", alice.slash(general, "episode list"))
            await timed(
                samples,
                "/episode list status",
                alice.slash(general, "episode list", status="in_research"),
            )
            await timed(samples, "/episode list author", alice.slash(general, "episode list", author=host))
            new_status = "writing" if i % 2 == 0 else "in_research"
            await timed(
                samples,
                "/episode status",
                host.slash(general, "episode status", episode="R001", status=new_status),
            )
            await timed(
                samples,
                "/episode edit",
                host.slash(general, "episode edit", episode="R002", description=f"Angle {i}"),
            )
            cmd = "episode claim" if i % 2 == 0 else "episode unclaim"
            await timed(samples, f"/{cmd}", host.slash(general, cmd, episode="R003"))
            cmd = "episode assign" if i % 2 == 0 else "episode unassign"
            await timed(samples, f"/{cmd}", host.slash(general, cmd, episode="R004", member=bob))
            await timed(
                samples,
                "/episode volunteer",
                member.slash(general, "episode volunteer", episode="R005", pitch="I can write this"),
            )
            await timed(samples, "/episode requests", host.slash(general, "episode requests"))
            await timed(
                samples,
                "/episode deadline",
                host.slash(
                    general, "episode deadline", episode="R006", milestone="script", when=f"in {10 + i} days"
                ),
            )
            await timed(
                samples,
                "/research list",
                alice.slash(general, "research list", episode=rng.choice(episodes).code),
            )
            await timed(
                samples,
                "/research search",
                alice.slash(general, "research search", query=rng.choice(WORDS)),
            )
            await timed(
                samples,
                "/research credits",
                alice.slash(general, "research credits", episode=rng.choice(episodes).code),
            )
            await timed(
                samples,
                "/research export (small)",
                alice.slash(general, "research export", episode=episodes[-1 - i % 50].code, format="json"),
            )
            await timed(
                samples,
                "/research submit (form)",
                alice.slash(general, "research submit", episode="R007"),
            )
            await timed(
                samples,
                "/remind me",
                member.slash(general, "remind me", when="in 3 days", text="Check the sources"),
            )
            await timed(samples, "/remind list", member.slash(general, "remind list"))
            await timed(
                samples,
                "/remind timezone",
                member.slash(general, "remind timezone", tz="Europe/Warsaw"),
            )
            await timed(samples, "/config show", admin.slash(general, "config show"))
            await timed(
                samples,
                "/config reminders",
                admin.slash(general, "config reminders", offsets="3d,1d,0"),
            )
            await timed(
                samples,
                "autocomplete episode",
                alice.autocomplete(
                    general, "episode info", "episode", rng.choice(["19", "R0", "lenin", "24-1"])
                ),
            )
            await timed(
                samples,
                "autocomplete remind cancel",
                member.autocomplete(general, "remind cancel", "reminder", ""),
            )
            await timed(
                samples,
                "autocomplete timezone",
                alice.autocomplete(general, "remind timezone", "tz", rng.choice(["eur", "new", "war"])),
            )
            if i % 10 == 9:
                sample_rss()
            await between_rounds(env)  # untimed: see bench/common.py
        PROFILED.update(PROFILE)
        PROFILE.clear()  # --profile covers the rounds above only
        ping_p50 = statistics.median(ANSWER_TIME["ping"])
        table = {}
        for name, values in sorted(ANSWER_TIME.items()):
            handler = BOT_TIME[name]
            table[name] = {
                "p50_ms": round(pct(values, 0.5), 3),
                "p99_ms": round(pct(values, 0.99), 3),
                "ratio_to_ping_p50": round(pct(values, 0.5) / ping_p50, 1),
                "handler_p50_ms": round(pct(handler, 0.5), 3),
                "handler_p99_ms": round(pct(handler, 0.99), 3),
                "n": len(values),
            }
        results["interactions"] = table
        results["gc_full_collections_during_interactions"] = len(GC_PAUSES)
        results["gc_full_collection_max_ms"] = round(max(GC_PAUSES, default=0.0), 1)
        results["gc_frozen_objects"] = gc.get_freeze_count()
        results["gc_tracked_objects_after_interactions"] = len(gc.get_objects())
        round_trip = [v for values in samples.values() for v in values]
        results["simulator_round_trip_p50_ms"] = round(pct(round_trip, 0.5), 1)

        phase("export and search")
        # -- export and search at scale -----------------------------------------------------------
        for fmt in ("markdown", "json", "csv"):
            before = len(BOT_TIME["research export"])
            started = time.perf_counter()
            r = await alice.slash(general, "research export", episode="R000", format=fmt)
            results[f"export_10k_{fmt}_round_trip_ms"] = round(1000 * (time.perf_counter() - started), 1)
            results[f"export_10k_{fmt}_bot_ms"] = round(BOT_TIME["research export"][before], 1)
            attachment = (r.response.attachments or [a for f in r.followups for a in f.attachments])[0]
            results[f"export_10k_{fmt}_bytes"] = len(await attachment.read())
        credits_ms = []
        for _ in range(5):
            before = len(BOT_TIME["research credits"])
            await alice.slash(general, "research credits", episode="R000")
            credits_ms.append(BOT_TIME["research credits"][before])
        results["credits_10k_contributions_5k_members_p50_ms"] = round(pct(credits_ms, 0.5), 1)
        search_ms = []
        for word in WORDS[:40]:
            started = time.perf_counter()
            await search_store.search(db, guild.id, f'"{word}"', limit=10)
            search_ms.append(1000 * (time.perf_counter() - started))
        results["search_all_storage_p50_ms"] = round(pct(search_ms, 0.5), 2)
        results["search_all_storage_p99_ms"] = round(pct(search_ms, 0.99), 2)

        phase("ingest")
        # -- ingest: a member posting in an episode thread ----------------------------------------
        metrics = env.bot.services.metrics
        metrics.clear("research.ingest_ms")
        handler_ms = []
        poster = members[3]
        for i in range(30):
            started_q = metrics.counter(STATEMENTS)
            started = time.perf_counter()
            await poster.send(big_thread, f"Research note {i}: {text(rng, 40)} https://example.org/n/{i}")
            handler_ms.append(1000 * (time.perf_counter() - started))
        results["ingest_round_trip_p50_ms"] = round(pct(handler_ms, 0.5), 2)
        results["ingest_queries_per_message"] = round((metrics.counter(STATEMENTS) - started_q), 1)
        timings = metrics.samples("research.ingest_ms")
        results["ingest_handler_p50_ms"] = round(pct(timings, 0.5), 3)
        results["ingest_handler_p99_ms"] = round(pct(timings, 0.99), 3)

        phase("scheduler")
        # -- the scheduler ------------------------------------------------------------------------
        await env.advance_time(60)
        w0 = metrics.counter("scheduler.wakeups")
        pending = await job_store.pending(db)
        q0 = metrics.counter(STATEMENTS)
        soonest = min(j.due_at for j in pending)
        idle = max(0.0, min(7 * 24 * 3600, soonest - now().timestamp() - 60))
        await env.advance_time(idle)
        results["scheduler_pending_jobs"] = len(pending)
        results["scheduler_idle_seconds_simulated"] = round(idle)
        results["scheduler_idle_queries"] = metrics.counter(STATEMENTS) - q0
        results["scheduler_idle_wakeups"] = metrics.counter("scheduler.wakeups") - w0

        burst_channels = [guild.create_text_channel(f"burst-{i}") for i in range(10)]
        due = now() + timedelta(hours=2)
        stamp = f"<t:{int(due.timestamp())}>"
        for i in range(1000):
            # Set through /remind me, as members do: the scheduler learns of them from inside the bot.
            owner = members[10 + i % (len(members) - 10)]
            await owner.slash(
                burst_channels[i % len(burst_channels)], "remind me", when=stamp, text=f"Burst reminder {i}"
            )
        before = len(env.http_requests)
        busy_before = metrics.total("scheduler.round_ms")
        await env.advance_time(max(0.0, (due - now()).total_seconds()) + 120)
        posts = [
            e for e in env.http_requests[before:]
            if e.method == "POST" and any(e.path == f"/channels/{c.id}/messages" for c in burst_channels)
        ]  # fmt: skip
        delivered = sum(1 for c in burst_channels for m in c.history() if "Burst reminder" in m.content)
        results["burst_jobs"] = 1000
        results["burst_messages_sent"] = len(posts)
        results["burst_channels"] = len(burst_channels)
        results["burst_bot_seconds"] = round((metrics.total("scheduler.round_ms") - busy_before) / 1000, 3)
        last = max((m.created_at for c in burst_channels for m in c.history()), default=due)
        results["burst_virtual_seconds_until_last"] = round((last - due).total_seconds(), 1)
        # The simulator does not enforce Discord's rate limits, so a 429 cannot happen there; what shows the
        # bot would not meet one is its pacing: Discord allows 5 messages per channel per 5 seconds.
        worst = 0
        for channel in burst_channels:
            stamps = sorted(
                m.created_at.timestamp() for m in channel.history() if "Burst reminder" in m.content
            )
            worst = max([worst, *(sum(1 for t in stamps if s <= t < s + 5) for s in stamps)])
        results["burst_max_messages_per_channel_per_5s"] = worst
        results["burst_delivered_messages_visible"] = delivered
        sample_rss()
        await env.bot.close()
    results["peak_rss_mb"] = round(PEAK_RSS[0] / 2**20, 1)
    results["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "discord.py": discord.__version__,
        "simcord": simcord.__version__,
    }
    return results


def print_table(results: dict) -> None:
    print(f"\nArchivist benchmark — {json.dumps(results['scale'])}")
    print("the bot's time per interaction, milliseconds: until the member's answer was delivered, and the")
    print("whole handler (incl. the card, tag and thread updates made after answering)")
    print(
        f"{'interaction':36} {'p50':>8} {'p99':>8} {'× ping':>7} {'handler50':>10} {'handler99':>10} {'n':>5}"
    )
    for name, row in sorted(results["interactions"].items(), key=lambda kv: kv[0] != "ping"):
        print(
            f"{name:36} {row['p50_ms']:8.3f} {row['p99_ms']:8.3f} {row['ratio_to_ping_p50']:7.1f} "
            f"{row['handler_p50_ms']:10.3f} {row['handler_p99_ms']:10.3f} {row['n']:5}"
        )
    print()
    for key, value in results.items():
        if key not in {"interactions", "scale", "machine"}:
            print(f"{key:40} {value}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="a tenth of the size, for a quick check")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--reps", type=int, default=0, help="rounds of interactions (default 200, small 40)")
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="INTERACTION",
        help='cProfile one interaction, e.g. "episode status"; stats go to bench/profile-<name>.prof',
    )
    args = parser.parse_args()
    REPS[0] = args.reps
    for name in args.profile:
        PROFILE[name] = cProfile.Profile()
    outcome = asyncio.run(main(args.small))
    for name, profile in PROFILED.items():
        target = ROOT / "bench" / f"profile-{name.replace(' ', '-')}.prof"
        profile.dump_stats(target)
        print(f"profile of {name!r}: {target} (python -m pstats {target.relative_to(ROOT)})")
    print_table(outcome)
    Path(args.out).write_text(json.dumps(outcome, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
