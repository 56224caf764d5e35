"""Deadlines and the weekly digest end to end: `/episode deadline`, reminders in the thread, the digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import discord

from cogs.episodes import authors_store
from cogs.episodes import store as episode_store

HOUR = 3600
DAY = 86400


def now() -> datetime:
    return discord.utils.utcnow()


def stamp(when: datetime) -> int:
    return int(when.timestamp())


def notes(thread) -> list[discord.Message]:
    """The deadline reminders and overdue notes the bot posted in a thread."""
    return [m for m in thread.history() if m.content.startswith(("⏰", "⚠️", "<@"))]


def digests(channel) -> list[discord.Message]:
    return [m for m in channel.history() if m.embeds and "Weekly digest" in (m.embeds[0].title or "")]


async def advance_to(env, when: datetime) -> None:
    await env.advance_time((when - now()).total_seconds())


async def episode_with_author(world, code="1924-01", author=None):
    thread = await world.episode(code)
    found = await episode_store.get_by_code(world.bot.services.db, world.guild.id, code)
    if author is not None:
        await authors_store.add_author(world.bot.services.db, found.id, author.id, world.host.id)
    return thread, found


async def set_deadline(member, world, code, milestone, when):
    r = await member.slash(world.general, "episode deadline", episode=code, milestone=milestone, when=when)
    assert r.response.ephemeral or r.followups
    return r


def answer(r) -> str:
    return r.response.content or ""


def post_to(env, channel_id):
    return [
        r for r in env.http_requests if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"
    ]


async def test_deadline_reminders_at_each_offset_ping_the_authors_then_overdue(world):
    env = world.env
    thread, episode = await episode_with_author(world, author=world.alice)
    r = await set_deadline(world.host, world, "1924-01", "research", "2026-01-10 12:00")
    due = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert f"<t:{stamp(due)}:f>" in answer(r)
    for offset in (3 * DAY, DAY, 0):
        assert f"<t:{stamp(due - timedelta(seconds=offset))}:R>" in answer(r)
    card = thread.history()[0].embeds[0]
    deadlines = next(f.value for f in card.fields if f.name == "Deadlines")
    assert f"**Research**: <t:{stamp(due)}:f>" in deadlines
    history = await episode_store.history(world.bot.services.db, episode.id)
    assert history[-1].kind == "deadline"

    await advance_to(env, due - timedelta(days=3, seconds=10))
    assert notes(thread) == []
    await env.advance_time(20)
    [first] = notes(thread)
    assert first.content.startswith(f"<@{world.alice.id}>")
    assert f"<t:{stamp(due)}:R>" in first.content
    assert post_to(env, thread.id)[-1].json["allowed_mentions"]["users"] == [world.alice.id]
    await advance_to(env, due - timedelta(days=1) + timedelta(seconds=10))
    assert len(notes(thread)) == 2
    await advance_to(env, due + timedelta(seconds=10))
    assert len(notes(thread)) == 3
    assert "is now" in notes(thread)[-1].content
    await advance_to(env, due + timedelta(days=1, seconds=10))
    overdue = notes(thread)[-1]
    assert overdue.content.startswith(f"<@{world.alice.id}> ⚠️")
    assert "passed" in overdue.content and "In Research" in overdue.content
    await env.advance_time(7 * DAY)
    assert len(notes(thread)) == 4  # one overdue note, never more


async def test_without_an_author_the_note_pings_nobody(world):
    env = world.env
    thread, _ = await episode_with_author(world)
    await set_deadline(world.host, world, "1924-01", "script", "in 2 hours")
    await env.advance_time(2 * HOUR + 10)
    [note] = notes(thread)
    assert "No author yet" in note.content and "/episode volunteer" in note.content
    assert post_to(env, thread.id)[-1].json["allowed_mentions"]["users"] == []


async def test_moving_a_deadline_replaces_its_reminders(world):
    env = world.env
    thread, _ = await episode_with_author(world, author=world.alice)
    await set_deadline(world.host, world, "1924-01", "script", "2026-01-05 12:00")
    r = await set_deadline(world.alice, world, "1924-01", "script", "2026-01-20 12:00")
    assert "moved from" in answer(r)
    moved_note = thread.history()[-1].content
    assert "moved the **Script** deadline" in moved_note
    await advance_to(env, datetime(2026, 1, 7, tzinfo=UTC))
    assert notes(thread) == []  # nothing for the old date, not even "overdue"
    await advance_to(env, datetime(2026, 1, 17, 12, 0, 10, tzinfo=UTC))
    [note] = notes(thread)
    assert f"<t:{stamp(datetime(2026, 1, 20, 12, tzinfo=UTC))}:f>" in note.content


async def test_offsets_already_past_are_skipped(world):
    env = world.env
    thread, _ = await episode_with_author(world, author=world.alice)
    r = await set_deadline(world.host, world, "1924-01", "recording", "in 30 hours")
    assert answer(r).count(":R>") == 3  # the deadline itself, 1 day before, at the deadline
    await env.advance_time(31 * HOUR)
    assert len(notes(thread)) == 2


async def test_no_reminder_once_the_episode_passed_the_milestone(world):
    env = world.env
    thread, _ = await episode_with_author(world, author=world.alice)
    await set_deadline(world.host, world, "1924-01", "research", "in 2 days")
    r = await world.host.slash(world.general, "episode status", episode="1924-01", status="writing")
    assert "Writing" in answer(r) or r.followups
    await env.advance_time(4 * DAY)
    assert notes(thread) == []


async def test_milestone_met_behind_the_bots_back_is_checked_at_delivery(world):
    env = world.env
    thread, episode = await episode_with_author(world, author=world.alice)
    await set_deadline(world.host, world, "1924-01", "publish", "in 2 days")
    await episode_store.set_status(
        world.bot.services.db, episode, episode.status.PUBLISHED, world.host.id, None
    )
    await env.advance_time(4 * DAY)
    assert notes(thread) == []


async def test_setting_a_deadline_for_a_met_milestone_says_no_reminders(world):
    await episode_with_author(world, author=world.alice)
    await world.host.slash(world.general, "episode status", episode="1924-01", status="writing")
    r = await set_deadline(world.host, world, "1924-01", "research", "in 2 days")
    assert "no reminders" in answer(r)


async def test_who_may_set_deadlines_and_bad_input(world):
    await episode_with_author(world, author=world.alice)
    r = await world.bob.slash(
        world.general, "episode deadline", episode="1924-01", milestone="script", when="in 3 days"
    )
    assert r.response.ephemeral and "Only hosts and the authors" in answer(r)
    r = await world.alice.slash(
        world.general, "episode deadline", episode="1924-01", milestone="script", when="in 3 days"
    )
    assert "**Script** deadline" in answer(r)
    r = await world.host.slash(
        world.general, "episode deadline", episode="nope", milestone="script", when="in 3 days"
    )
    assert "no episode `nope`" in answer(r)
    r = await world.host.slash(
        world.general, "episode deadline", episode="1924-01", milestone="script", when="yesterday"
    )
    assert "in the past" in answer(r)
    choices = await world.host.autocomplete(world.general, "episode deadline", "episode", "1924")
    assert choices[0]["value"] == "1924-01"


async def test_changed_offsets_reschedule_pending_deadline_reminders(world):
    env = world.env
    thread, _ = await episode_with_author(world, author=world.alice)
    await set_deadline(world.host, world, "1924-01", "script", "2026-01-10 12:00")
    r = await world.admin.slash(world.general, "config reminders", offsets="12h")
    assert r.response.ephemeral
    await advance_to(env, datetime(2026, 1, 10, 0, 0, 10, tzinfo=UTC))
    [note] = notes(thread)
    assert "<t:" in note.content
    await advance_to(env, datetime(2026, 1, 10, 12, 0, 10, tzinfo=UTC))
    assert len(notes(thread)) == 1  # "0" is no longer an offset


async def test_deleted_thread_sends_the_reminder_to_announcements(world):
    env = world.env
    thread, _ = await episode_with_author(world, author=world.alice)
    await set_deadline(world.host, world, "1924-01", "script", "in 2 hours")
    await env.bot.get_channel(thread.id).delete()
    await env.advance_time(2 * HOUR + 10)
    [note] = [m for m in world.announcements.history() if "deadline" in m.content]
    assert "thread of **1924-01** is gone" in note.content
    assert f"<@{world.alice.id}>" in note.content


async def test_deadline_reminders_due_while_offline_speak_once(world, restart):
    env = world.env
    thread, _ = await episode_with_author(world, author=world.alice)
    await set_deadline(world.host, world, "1924-01", "script", "2026-01-05 12:00")

    async def offline():
        await advance_to(env, datetime(2026, 1, 5, 13, 0, tzinfo=UTC))

    await restart(offline)
    [note] = notes(thread)  # not three: only the latest reminder of the deadline
    assert "is now" in note.content and "This reminder was due" in note.content
    await restart()
    await env.advance_time(HOUR)
    assert len(notes(thread)) == 1


# -- the weekly digest ---------------------------------------------------------------------------------


async def test_weekly_digest_content_and_once_per_week(world, restart):
    env = world.env
    await world.episode("1924-01", "Lenin's Death")
    _, busy = await episode_with_author(world, "1924-02", author=world.alice)
    await world.episode("1923-05", "The Beer Hall Putsch")
    await world.host.slash(world.general, "episode status", episode="1923-05", status="writing")
    for author in (world.alice.id, world.bob.id, world.bob.id):
        await world.bot.services.db.execute(
            "INSERT INTO contributions (guild_id, episode_id, author_id, origin, body, created_at) "
            "VALUES (?, ?, ?, 'thread', 'notes', ?)",
            (world.guild.id, busy.id, author, stamp(now())),
        )
    await set_deadline(world.host, world, "1924-02", "script", "2026-01-12 18:00")
    await set_deadline(world.host, world, "1924-01", "publish", "2026-02-20 18:00")

    monday = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    await advance_to(env, monday - timedelta(seconds=10))
    assert digests(world.announcements) == []
    await env.advance_time(20)
    [digest] = digests(world.announcements)
    embed = digest.embeds[0]
    assert embed.title == "📰 Weekly digest · Week of 5 January"
    text = embed.description
    needs = text.split("**🔎")[0]
    assert "1924-01" in needs and "1923-05" in needs and "1924-02" not in needs
    research = text.split("**🔎")[1].split("**📅")[0]
    assert "**1924-02** · Lenin's Death and Stalin's Rise — 3 contributions from 2 members" in research
    assert "1923-05" not in research
    upcoming = text.split("**📅")[1]
    assert "1924-02" in upcoming and "Script" in upcoming and "1924-01" not in upcoming
    assert post_to(env, world.announcements.id)[-1].json["allowed_mentions"] == {"parse": []}

    await restart()
    await env.advance_time(DAY)
    assert len(digests(world.announcements)) == 1
    await advance_to(env, monday + timedelta(days=7, seconds=10))
    assert len(digests(world.announcements)) == 2
    assert digests(world.announcements)[-1].embeds[0].title.endswith("Week of 12 January")


async def test_digest_due_while_offline_is_sent_once(world, restart):
    env = world.env

    async def offline():
        await advance_to(env, datetime(2026, 1, 6, 12, 0, tzinfo=UTC))

    await restart(offline)
    [digest] = digests(world.announcements)
    assert "delayed" in digest.embeds[0].footer.text
    await restart()
    await advance_to(env, datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    assert len(digests(world.announcements)) == 1


async def test_long_digest_is_split(world):
    env = world.env
    for n in range(70):
        await world.episode(f"E{n:02d}", "A rather long episode title to fill the weekly digest " + "x" * 20)
    await advance_to(env, datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC))
    pages = digests(world.announcements)
    assert len(pages) >= 2
    assert all(len(p.embeds[0].description) <= 4096 for p in pages)
    assert "(1/" in pages[0].embeds[0].title
    joined = "".join(p.embeds[0].description for p in pages)
    assert all(f"E{n:02d}" in joined for n in range(70))


async def test_digest_follows_the_configured_day_time_and_zone_across_dst(world, restart):
    env = world.env
    berlin = ZoneInfo("Europe/Berlin")
    r = await world.admin.slash(world.general, "config timezone", tz="Europe/Berlin")
    assert r.response.ephemeral
    await world.admin.slash(world.general, "config reminders", digest_day="sunday", digest_time="18:30")
    # Through the spring change (29 March) …
    await advance_to(env, datetime(2026, 4, 6, tzinfo=UTC))
    await restart()  # a restart in between changes nothing
    # … and the autumn change (25 October).
    await advance_to(env, datetime(2026, 11, 2, tzinfo=UTC))
    sent = digests(world.announcements)
    local = [m.created_at.astimezone(berlin) for m in sent]
    assert all((t.weekday(), t.hour, t.minute) == (6, 18, 30) for t in local), local
    weeks = [t.isocalendar()[:2] for t in local]
    sundays = (datetime(2026, 11, 1) - datetime(2026, 1, 4)).days // 7 + 1
    assert len(weeks) == len(set(weeks)) == sundays == 44  # every Sunday, 4 January to 1 November, once
    utc_hours = {m.created_at.astimezone(UTC).hour for m in sent}
    assert utc_hours == {16, 17}  # 18:30 CEST and 18:30 CET


async def test_announcements_configured_later_gets_a_digest(simcord_env):
    env = simcord_env
    guild = env.create_guild("Second Server")
    admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    admin = guild.add_member(env.create_user("boss"), roles=[admin_role])
    news = guild.create_text_channel("news")
    general = guild.create_text_channel("general")
    await advance_to(env, datetime(2026, 1, 6, tzinfo=UTC))
    assert digests(news) == []
    r = await admin.slash(general, "config channels", announcements=news)
    assert r.response.ephemeral
    await advance_to(env, datetime(2026, 1, 12, 9, 0, 10, tzinfo=UTC))
    assert len(digests(news)) == 1


async def test_a_digest_refused_for_a_while_is_posted_once_the_permission_is_back(world):
    env = world.env
    monday = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    await advance_to(env, monday - timedelta(seconds=10))
    env.inject_error("POST", f"/channels/{world.announcements.id}/messages", status=403, times=3)
    await env.advance_time(20)
    assert digests(world.announcements) == []  # refused: a moderator took Send Messages away
    await env.advance_time(DAY)
    [digest] = digests(world.announcements)
    assert digest.embeds[0].title.endswith("Week of 5 January")
    await advance_to(env, monday + timedelta(days=7, seconds=10))
    assert [d.embeds[0].title for d in digests(world.announcements)][-1].endswith("Week of 12 January")
    assert len(digests(world.announcements)) == 2
