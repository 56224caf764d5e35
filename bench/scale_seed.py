"""Seeding for `bench/scale.py`: the simulated Discord (members, episode threads, their messages, DM
channels) built directly in simcord's in-memory backend, and the bot's database filled by direct SQL
through `bot.core.db.Database` (so every migration, and every trigger they define, applies to the rows,
as it would to an import's).

Nothing here goes through the bot: it is closed while the world is seeded, and finds it all when it
starts, as a bot finds a server it has been away from.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

from simcord.actors import MemberActor
from simcord.backend.models import Message
from simcord.builders import ChannelHandle, UserHandle

from bot.core.db import Database

WORDS = (  # noqa: SIM905 — reads better as prose
    "Lenin died in January 1924 and Moscow queued for days to see him; Petrograd became Leningrad; "
    "Stalin as General Secretary placed loyal people in the party apparatus; the triumvirate of "
    "Zinoviev Kamenev and Stalin kept Trotsky out; Dzerzhinsky and the Cheka; the testament warned "
    "about Stalin; the thirteenth congress let him stay; Krupskaya sided with the opposition; "
    "socialism in one country; the fifteenth congress expelled Trotsky and Zinoviev"
).split()
RARE_WORD = "Veles"  # in one contribution of every RARE_EVERY: the "rare word" of the search figures
RARE_EVERY = 10_007
POOL = 4096  # distinct texts the contributions are drawn from (the index still holds every row)
STATUS_TAGS = {
    "in_research": "In Research",
    "recorded": "Recorded",
    "published": "Published",
    "shelved": "Shelved",
}
ARCHIVED_STATUSES = ("recorded", "published", "shelved")


@dataclass(frozen=True)
class Size:
    """One size of the benchmark: everything scales with the number of contributions."""

    name: str
    contributions: int
    episodes: int
    members: int
    reminders: int
    threads_with_messages: int
    messages_per_thread: int
    burst: int  # private reminders of as many members due at the same instant (part of `reminders`)
    reps: int  # rounds of interactions

    @property
    def big(self) -> int:
        """Contributions of the largest episode (R000)."""
        return self.contributions // 10


SIZES = {
    "tiny": Size("tiny", 2_000, 14, 60, 200, 2, 50, 20, 3),
    "10k": Size("10k", 10_000, 20, 200, 1_000, 10, 200, 100, 100),
    "100k": Size("100k", 100_000, 100, 2_000, 10_000, 50, 200, 1_000, 200),
    "1m": Size("1m", 1_000_000, 1_000, 20_000, 100_000, 500, 200, 10_000, 200),
}


@dataclass
class Seeded:
    """What the measurements need to know about the seeded world."""

    members: list[MemberActor]
    threads: dict[str, int] = field(default_factory=dict)  # episode code -> thread id
    starters: dict[str, int] = field(default_factory=dict)  # episode code -> starter message id
    messages: dict[str, list[int]] = field(default_factory=dict)  # code -> its member messages' ids
    archived: set[str] = field(default_factory=set)  # codes whose thread is archived
    dm_channels: dict[int, int] = field(default_factory=dict)  # burst member's user id -> DM channel id
    burst_due: int = 0  # unix seconds
    seconds: dict[str, float] = field(default_factory=dict)


def seeded_codes(size: Size) -> list[str]:
    """Codes of the episodes seeded directly (the first ten, R000–R009, are created through commands)."""
    return [f"1924-{i:04}" for i in range(size.episodes - 10)]


def message_text(k: int) -> str:
    """The text of the k-th seeded thread message (the record holds exactly this as its body)."""
    rng = random.Random(k)
    return " ".join(rng.choice(WORDS) for _ in range(40))


def seed_world(env, guild, forum, size: Size) -> Seeded:
    """Members, one forum thread per seeded episode (with its starter message by the bot), member messages
    in the first `threads_with_messages` threads, the rest archived; DM channels of the burst's members.
    Built in simcord's backend with no gateway event (the bot is closed meanwhile)."""
    backend = env.backend
    started = time.perf_counter()
    members = []
    for i in range(size.members):
        user = backend.make_user(f"member{i}")
        backend.add_member(guild.id, user.id)
        members.append(MemberActor(env, guild, UserHandle(env, user)))
    seeded = Seeded(members=members)
    seeded.seconds["simcord_members"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    tags = {tag["name"]: int(tag["id"]) for tag in backend.channels[forum.id].available_tags}
    bot_id = backend.bot_user.id
    k = 0
    for n, code in enumerate(seeded_codes(size)):
        with_messages = n < size.threads_with_messages
        status = "in_research" if with_messages else ARCHIVED_STATUSES[n % 3]
        applied = [tags[STATUS_TAGS[status]]] if STATUS_TAGS[status] in tags else []
        thread = backend.create_thread(
            forum.id, f"{code} Seeded episode {n}", bot_id, applied_tags=applied, broadcast=False
        )
        starter = _put(backend, thread, bot_id, f"Research for {code}: post what you find here.")
        seeded.threads[code] = thread.id
        seeded.starters[code] = starter
        if with_messages:
            ids = []
            for _ in range(size.messages_per_thread):
                ids.append(_put(backend, thread, members[k % len(members)].id, message_text(k)))
                k += 1
            seeded.messages[code] = ids
        else:
            thread.thread_metadata.archived = True
            thread.thread_metadata.archive_timestamp = backend.now_iso()
            seeded.archived.add(code)
    for member in members[: size.burst]:
        seeded.dm_channels[member.id] = backend.get_dm_channel(member.id).id
    seeded.seconds["simcord_threads_and_messages"] = round(time.perf_counter() - started, 2)
    return seeded


def _put(backend, thread, author_id: int, content: str) -> int:
    message = Message(
        id=backend.snowflake(),
        channel_id=thread.id,
        author_id=author_id,
        content=content,
        timestamp=backend.now_iso(),
    )
    backend.messages[thread.id][message.id] = message
    thread.last_message_id = message.id
    thread.message_count += 1
    return message.id


def add_offline_messages(env, thread_id: int, author_ids: list[int], n: int, tag: str) -> None:
    """Members post `n` messages in a thread while the bot is away (no gateway event reaches it)."""
    backend = env.backend
    thread = backend.channels[thread_id]
    for i in range(n):
        _put(backend, thread, author_ids[i % len(author_ids)], f"{tag} {i}: {message_text(10**7 + i)}")


def _pool(rng: random.Random) -> list[tuple[int, str, str, str, str]]:
    rows = []
    for i in range(POOL):
        body = " ".join(rng.choice(WORDS) for _ in range(60))
        links = "[]"
        if i % 7 == 0:
            url = f"https://example.org/source/{i % 500}"
            body += f" {url}"
            links = json.dumps([url])
        title = " ".join(rng.choice(WORDS) for _ in range(5))
        rows.append((i, title, body, f"Source book {i % 300}", links))
    return rows


async def seed_database(
    path: str, env, guild, forum, general, host, size: Size, seeded: Seeded, now_ts: int
) -> dict[str, object]:
    """Fill the bot's database by direct SQL (the bot is closed). Returns counts and seconds per part."""
    db = Database(path)
    await db.open()  # migrations applied, triggers in place
    info: dict[str, object] = {}
    try:
        rng = random.Random(1924)
        started = time.perf_counter()
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
        async with db.transaction() as tx:
            await tx.execute(
                "CREATE TEMP TABLE bench_text (i INTEGER PRIMARY KEY, title TEXT, body TEXT, sources TEXT, "
                "links TEXT)"
            )
            await tx.executemany("INSERT INTO bench_text VALUES (?, ?, ?, ?, ?)", _pool(rng))
            await tx.execute(
                "CREATE TEMP TABLE bench_member (i INTEGER PRIMARY KEY, user_id INTEGER, name TEXT)"
            )
            await tx.executemany(
                "INSERT INTO bench_member VALUES (?, ?, ?)",
                [(i, m.id, m.name) for i, m in enumerate(seeded.members)],
            )
            # -- episodes ---------------------------------------------------------------------------
            rows = []
            for n, code in enumerate(seeded_codes(size)):
                status = "in_research" if code not in seeded.archived else ARCHIVED_STATUSES[n % 3]
                last_seen = seeded.messages[code][-1] if code in seeded.messages else None
                rows.append(
                    (guild.id, code, f"Seeded episode {n}", status, forum.id, seeded.threads[code],
                     seeded.starters[code], host.id, now_ts - 86_400 * 400 + n, now_ts, last_seen)
                )  # fmt: skip
            await tx.executemany(
                "INSERT INTO episodes (guild_id, code, title, status, forum_id, thread_id, starter_message_id, "
                "created_by, created_at, updated_at, last_seen_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            await tx.execute(
                "INSERT INTO episode_authors (episode_id, user_id, added_by, added_at) "
                "SELECT id, ?, ?, ? FROM episodes WHERE guild_id = ? AND id % 3 = 0 AND code NOT LIKE 'R0%'",
                (host.id, host.id, now_ts, guild.id),
            )
            ids = {
                r[0]: r[1]
                for r in await tx.fetchall("SELECT code, id FROM episodes WHERE guild_id = ?", (guild.id,))
            }
            await tx.execute("CREATE TEMP TABLE bench_episode (i INTEGER PRIMARY KEY, id INTEGER)")
            order = ["R000", *sorted(c for c in ids if c != "R000")]
            await tx.executemany(
                "INSERT INTO bench_episode VALUES (?, ?)", list(enumerate(ids[c] for c in order))
            )
        info["seed_episodes_s"] = round(time.perf_counter() - started, 2)

        # -- contributions: the thread messages (exactly as the bot would have collected them) ----------
        started = time.perf_counter()
        k = 0
        thread_rows = []
        for code, message_ids in seeded.messages.items():
            thread_id = seeded.threads[code]
            for message_id in message_ids:
                author = seeded.members[k % len(seeded.members)]
                created = ((message_id >> 22) + 1420070400000) // 1000
                thread_rows.append(
                    (guild.id, ids[code], author.id, author.name, message_text(k), thread_id, message_id,
                     f"https://discord.com/channels/{guild.id}/{thread_id}/{message_id}", created)
                )  # fmt: skip
                k += 1
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO contributions (guild_id, episode_id, author_id, author_name, origin, body, "
                "channel_id, message_id, jump_url, created_at) VALUES (?, ?, ?, ?, 'thread', ?, ?, ?, ?, ?)",
                thread_rows,
            )
        # -- the rest: one in ten in the largest episode, the others spread over every other episode --
        rest = size.contributions - len(thread_rows)
        every = max(1, rest // size.big)  # one in `every` goes to the largest episode, `size.big` in all
        chunk = 100_000
        for offset in range(0, rest, chunk):
            count = min(chunk, rest - offset)
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO contributions (guild_id, episode_id, author_id, author_name, origin, title, "
                    "body, sources, links, created_at) "
                    "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) "
                    "SELECT ?, e.id, m.user_id, m.name, 'form', t.title, "
                    "t.body || CASE WHEN n.i % ? = 0 THEN ' ' || ? ELSE '' END, t.sources, t.links, ? + n.i "
                    "FROM n JOIN bench_text t ON t.i = n.i % ? JOIN bench_member m ON m.i = n.i % ? "
                    "JOIN bench_episode e ON e.i = CASE WHEN n.i % ? = 0 AND n.i / ? < ? THEN 0 "
                    "ELSE 1 + n.i % (SELECT COUNT(*) - 1 FROM bench_episode) END",
                    (offset, offset + count, guild.id, RARE_EVERY, RARE_WORD, now_ts - 2 * rest, POOL,
                     len(seeded.members), every, every, size.big),
                )  # fmt: skip
        big = await db.fetchval("SELECT COUNT(*) FROM contributions WHERE episode_id = ?", (ids["R000"],))
        info["big_episode_contributions"] = big
        info["seed_contributions_s"] = round(time.perf_counter() - started, 2)

        # -- likes on some of the largest episode's contributions ----------------------------------------
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT OR IGNORE INTO contribution_likes (contribution_id, user_id, emoji) "
                "SELECT c.id, m.user_id, '👍' FROM contributions c JOIN bench_member m ON m.i = c.id % ? "
                "WHERE c.episode_id = ? AND c.id % 20 = 0",
                (len(seeded.members), ids["R000"]),
            )

        # -- reminders: the burst (private, one per member, all due at once) and the rest, spread ------
        started = time.perf_counter()
        burst_due = now_ts + int(timedelta(days=9, hours=12).total_seconds())
        far = now_ts + int(timedelta(days=60).total_seconds())
        seeded.burst_due = burst_due
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO reminders (guild_id, user_id, channel_id, text, due_at, private, created_at) "
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) "
                "SELECT ?, m.user_id, ?, CASE WHEN n.i < ? THEN 'Burst reminder ' || n.i "
                "ELSE 'Check the sources of ' || t.title END, "
                "CASE WHEN n.i < ? THEN ? ELSE ? + 60 * n.i END, n.i < ?, ? "
                "FROM n JOIN bench_member m ON m.i = n.i % ? JOIN bench_text t ON t.i = n.i % ?",
                (size.reminders, guild.id, general.id, size.burst, size.burst, burst_due, far, size.burst,
                 now_ts, len(seeded.members), POOL),
            )  # fmt: skip
            await tx.execute(
                "INSERT INTO jobs (guild_id, kind, due_at, payload, dedupe_key, state, created_at) "
                "SELECT guild_id, 'reminder', due_at, json_object('reminder_id', id), "
                "'reminder:' || id || ':' || due_at, 'pending', ? FROM reminders WHERE job_id IS NULL "
                "AND state = 'pending' ORDER BY id",
                (now_ts,),
            )
            await tx.execute(
                "UPDATE reminders SET job_id = (SELECT j.id FROM jobs j WHERE j.state = 'pending' AND "
                "j.dedupe_key = 'reminder:' || reminders.id || ':' || reminders.due_at) WHERE job_id IS NULL"
            )
            await tx.execute(
                "INSERT OR IGNORE INTO member_timezones (guild_id, user_id, tz, updated_at) "
                "SELECT ?, user_id, 'Europe/Berlin', ? FROM bench_member WHERE i % 10 = 3",
                (guild.id, now_ts),
            )
            if "dm_channels" in tables:  # remembered DM channels (migration 0013), the steady state
                await tx.executemany(
                    "INSERT OR REPLACE INTO dm_channels (user_id, channel_id, remembered_at) VALUES (?, ?, ?)",
                    [(u, c, now_ts) for u, c in seeded.dm_channels.items()],
                )
        info["dm_channels_remembered"] = len(seeded.dm_channels) if "dm_channels" in tables else "n/a"
        info["seed_reminders_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        await db.checkpoint()
        info["seed_checkpoint_s"] = round(time.perf_counter() - started, 2)
        info["schema_version"] = await db.user_version()
    finally:
        await db.close()
    return info


def channel(env, guild, channel_id: int) -> ChannelHandle:
    """A handle on a channel or thread seeded in the backend."""
    return ChannelHandle(env, guild, env.backend.channels[channel_id])
