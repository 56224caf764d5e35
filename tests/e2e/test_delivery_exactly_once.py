"""Exactly once as members see it: deadline reminders, digests and personal reminders are never posted
twice, whatever fails between Discord accepting a message and the bot recording it (a refused database
write, a crash), and a Snooze answer always says what happened."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import discord
import pytest

from bot.core import jobs as job_store
from bot.core import outbox_store
from bot.errors import InvalidInput
from cogs.digest import store as digest_store
from cogs.episodes import authors_store
from cogs.episodes import store as episode_store
from cogs.reminders import store as reminder_store
from cogs.reminders.views import snooze_answer

HOUR = 3600
DAY = 86400


def now() -> datetime:
    return discord.utils.utcnow()


def notes(thread) -> list[discord.Message]:
    return [m for m in thread.history() if m.content.startswith(("⏰", "⚠️", "<@"))]


def digests(channel) -> list[discord.Message]:
    return [m for m in channel.history() if m.embeds and "Weekly digest" in (m.embeds[0].title or "")]


def reminders_in(channel) -> list[discord.Message]:
    return [m for m in channel.history() if "⏰" in (m.content or "")]


async def advance_to(env, when: datetime) -> None:
    await env.advance_time((when - now()).total_seconds())


def fail_once(monkeypatch, module, name: str, nth: int = 1) -> list[int]:
    """Make one of our storage writes refuse once (its `nth` call), as SQLite does when the file is
    locked."""
    real = getattr(module, name)
    calls: list[int] = []

    async def refusing(*args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            raise sqlite3.OperationalError("database is locked")
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, refusing)
    return calls


def crash_after_send(monkeypatch, nth: int = 1) -> None:
    """Discord accepts a message, then nothing the bot writes about it reaches the database (as if the
    process died right after the send): neither the delivery record (its `nth` one) nor the outcomes
    of the batch that sent it (the next `finish` after that)."""
    real_record, real_finish = outbox_store.record_delivery, job_store.finish
    records: list[int] = []
    armed: list[bool] = []

    async def record(*args, **kwargs):
        records.append(1)
        if len(records) == nth:
            armed.append(True)
            raise sqlite3.OperationalError("database is locked")
        return await real_record(*args, **kwargs)

    async def finish(*args, **kwargs):
        if armed and armed[-1]:
            armed.append(False)
            raise sqlite3.OperationalError("database is locked")
        return await real_finish(*args, **kwargs)

    monkeypatch.setattr(outbox_store, "record_delivery", record)
    monkeypatch.setattr(job_store, "finish", finish)


def looked_up(world) -> int:
    """How often the running bot looked for an earlier attempt among a channel's messages."""
    return world.bot.services.outbox.metrics.counter("outbox.look_ups")


async def deadline_world(world, when="in 2 hours"):
    thread = await world.episode("1924-01")
    found = await episode_store.get_by_code(world.bot.services.db, world.guild.id, "1924-01")
    await authors_store.add_author(world.bot.services.db, found.id, world.alice.id, world.host.id)
    r = await world.host.slash(
        world.general, "episode deadline", episode="1924-01", milestone="script", when=when
    )
    assert "Script" in (r.response.content or "")
    return thread


@pytest.mark.simcord(check_errors=False)
async def test_a_refused_finish_write_does_not_resend_deadline_reminders(world, monkeypatch):
    env = world.env
    thread = await deadline_world(world)
    await env.advance_time(2 * HOUR - 10)
    calls = fail_once(monkeypatch, job_store, "finish")  # the round that sends the reminder
    await env.advance_time(20)
    assert len(notes(thread)) == 1
    await env.advance_time(HOUR)
    assert len(calls) >= 2  # the round was recorded again later
    assert len(notes(thread)) == 1


@pytest.mark.simcord(check_errors=False)
async def test_deadline_reminder_accepted_before_a_crash_is_found_not_resent(world, monkeypatch, restart):
    env = world.env
    thread = await deadline_world(world)
    crash_after_send(monkeypatch)
    await env.advance_time(2 * HOUR + 10)
    assert len(notes(thread)) == 1
    await restart()
    await env.advance_time(HOUR)
    assert len(notes(thread)) == 1
    # Found among the thread's messages: the bot looked instead of posting again.
    assert looked_up(world) == 1


@pytest.mark.simcord(check_errors=False)
async def test_an_attempt_that_never_reached_discord_is_sent_after_the_look_up(world, monkeypatch, restart):
    env = world.env
    thread = await deadline_world(world)
    # Discord answers the send with a 500: the message may or may not exist, so before sending again
    # the bot looks, finds nothing, and sends it once.
    env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=1)
    await env.advance_time(2 * HOUR + 10)
    assert notes(thread) == []
    await env.advance_time(HOUR)
    assert len(notes(thread)) == 1
    assert looked_up(world) == 1
    # Both attempts carried the same nonce, which Discord enforces: had the first made a message
    # after all, Discord would have answered the second with it instead of making another.
    first, second = [
        r.json
        for r in env.http_requests
        if r.method == "POST"
        and r.path.endswith(f"{thread.id}/messages")
        and "Script" in (r.json or {}).get("content", "")
        and "deadline of" in r.json["content"]
    ]
    assert first["nonce"] == second["nonce"] and first["enforce_nonce"] is second["enforce_nonce"] is True
    await restart()
    await env.advance_time(6 * HOUR)
    assert len(notes(thread)) == 1


@pytest.mark.simcord(check_errors=False)
async def test_digest_accepted_before_a_crash_is_not_posted_again(world, monkeypatch, restart):
    env = world.env
    await world.episode("1924-01")
    crash_after_send(monkeypatch)
    fail_once(monkeypatch, digest_store, "record_digest")
    await advance_to(env, datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC))
    assert len(digests(world.announcements)) == 1
    await restart()
    await env.advance_time(HOUR)
    assert len(digests(world.announcements)) == 1
    await advance_to(env, datetime(2026, 1, 12, 9, 0, 10, tzinfo=UTC))
    assert len(digests(world.announcements)) == 2  # next week's comes as usual


@pytest.mark.simcord(check_errors=False)
async def test_a_long_digest_cut_short_by_a_crash_posts_each_page_once(world, monkeypatch, restart):
    env = world.env
    for n in range(70):
        await world.episode(f"E{n:02d}", "A rather long episode title to fill the weekly digest " + "x" * 20)
    # The second page is accepted, then nothing more is recorded (the process dies).
    crash_after_send(monkeypatch, nth=2)
    fail_once(monkeypatch, digest_store, "record_digest")
    await advance_to(env, datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC))
    await restart()
    await env.advance_time(HOUR)
    pages = digests(world.announcements)
    titles = [p.embeds[0].title for p in pages]
    assert len(titles) == len(set(titles)) >= 2, titles
    joined = "".join(p.embeds[0].description for p in pages)
    assert all(f"E{n:02d}" in joined for n in range(70))


@pytest.mark.simcord(check_errors=False)
async def test_grouped_personal_reminders_accepted_before_a_crash_are_not_resent(world, monkeypatch, restart):
    env = world.env
    for n in range(3):
        await world.alice.slash(world.general, "remind me", when="1h", text=f"alice {n}")
        await world.bob.slash(world.general, "remind me", when="1h", text=f"bob {n}")
    crash_after_send(monkeypatch)
    await env.advance_time(HOUR + 10)
    assert len(reminders_in(world.general)) == 1
    await restart()
    await env.advance_time(HOUR)
    [message] = reminders_in(world.general)
    assert all(f"alice {n}" in message.content and f"bob {n}" in message.content for n in range(3))
    # The look-up recorded them as delivered in that message: Snooze works on it.
    r = await world.alice.click(message, label="Snooze 1 hour")
    assert "Snoozed 3 reminders" in r.response.content


@pytest.mark.simcord(check_errors=False)
async def test_personal_reminder_whose_delivered_mark_failed_is_not_resent_at_start(
    world, monkeypatch, restart
):
    env = world.env
    await world.alice.slash(world.general, "remind me", when="1h", text="only once")
    fail_once(monkeypatch, outbox_store, "record_delivery")
    await env.advance_time(HOUR + 10)
    assert len(reminders_in(world.general)) == 1
    await restart()  # start-up finds the reminder pending without a pending job
    await env.advance_time(DAY)
    assert len(reminders_in(world.general)) == 1


# -- Snooze: two clicks at once ---------------------------------------------------------------------


async def test_two_snooze_clicks_at_once_each_answer_says_what_happened(world, restart):
    """simcord runs one member action at a time, so the two clicks race where the bot handles them:
    two Snooze handlings (1 hour, 1 day) of one delivered reminder, interleaved on the event loop."""
    env = world.env
    await world.alice.slash(world.general, "remind me", when="1h", text="stretch")
    await env.advance_time(HOUR + 1)
    [message] = reminders_in(world.general)
    [delivered] = await reminder_store.in_message(world.bot.services.db, message.id)
    service = world.bot.services.reminders

    async def click(seconds: int) -> str:
        try:
            result = await service.snooze(
                world.guild.id, world.alice.id, str(delivered.id), seconds, message.id
            )
        except InvalidInput as exc:
            return str(exc)
        return snooze_answer(result)

    answers = await asyncio.gather(click(HOUR), click(DAY))
    [stored] = await reminder_store.pending_for(world.bot.services.db, world.guild.id, world.alice.id)
    due = f"<t:{int(stored.due_at.timestamp())}:f>"
    assert all(due in a for a in answers), answers
    assert sum(a.startswith("💤 Snoozed this reminder") for a in answers) == 1, answers
    assert sum(a.startswith("Already snoozed") for a in answers) == 1, answers
    # (The handlings ran in the test's task, outside the simulator's clock: restart to wait for it.)
    await restart()
    await env.advance_time(stored.due_at.timestamp() - now().timestamp() - 10)
    assert len(reminders_in(world.general)) == 1
    await env.advance_time(2 * DAY)
    assert len(reminders_in(world.general)) == 2  # it came back once, when the answers said


async def test_a_click_on_an_already_snoozed_reminder_says_when_it_comes_back(world):
    env = world.env
    await world.alice.slash(world.general, "remind me", when="1h", text="stretch")
    await env.advance_time(HOUR + 1)
    [message] = reminders_in(world.general)
    first = await world.alice.click(message, label="Snooze 1 day")
    second = await world.alice.click(message, label="Snooze 1 hour")
    [stored] = await reminder_store.pending_for(world.bot.services.db, world.guild.id, world.alice.id)
    due = f"<t:{int(stored.due_at.timestamp())}:f>"
    assert first.response.content.startswith("💤 Snoozed this reminder") and due in first.response.content
    assert second.response.content.startswith("Already snoozed") and due in second.response.content


@pytest.mark.simcord(check_errors=False)
async def test_private_reminder_accepted_by_dm_before_a_crash_is_not_sent_again(world, monkeypatch, restart):
    env = world.env
    await world.alice.slash(world.general, "remind me", when="1h", text="secret plan", private=True)
    crash_after_send(monkeypatch)
    await env.advance_time(HOUR + 10)
    await restart()
    await env.advance_time(HOUR)
    dms = [m for m in world.alice.user.dm_channel.history() if "secret plan" in m.content]
    assert len(dms) == 1
    assert looked_up(world) == 1
    assert reminders_in(world.general) == []


@pytest.mark.simcord(check_errors=False)
async def test_an_unknown_attempt_whose_thread_was_deleted_goes_to_announcements_once(
    world, monkeypatch, restart
):
    env = world.env
    thread = await deadline_world(world)
    crash_after_send(monkeypatch)
    await env.advance_time(2 * HOUR + 10)
    assert len(notes(thread)) == 1

    await env.bot.get_channel(thread.id).delete()  # a moderator deletes the thread, note and all
    await restart()
    await env.advance_time(HOUR)
    moved = [m for m in world.announcements.history() if "thread of **1924-01** is gone" in m.content]
    assert len(moved) == 1


@pytest.mark.simcord(check_errors=False)
async def test_a_digest_page_discord_refuses_for_good_is_not_retried_for_ever(world):
    env = world.env
    await world.episode("1924-01")
    env.inject_error("POST", f"/channels/{world.announcements.id}/messages", status=400, code=50035, times=1)
    await advance_to(env, datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC))
    await env.advance_time(DAY)
    posts = [
        r
        for r in env.http_requests
        if r.method == "POST" and r.path == f"/channels/{world.announcements.id}/messages"
    ]
    assert len(posts) == 1  # refused once, logged, not tried every few minutes
    assert digests(world.announcements) == []
    await advance_to(env, datetime(2026, 1, 12, 9, 0, 10, tzinfo=UTC))
    assert len(digests(world.announcements)) == 1  # next week's is posted as usual
