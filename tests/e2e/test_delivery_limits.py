"""Deliveries within Discord's limits: a deadline reminder for an episode with very many authors, a
digest of a huge archive, a Show reminder of several long private reminders, a refused history read."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import discord
import pytest
from simcord.backend.models import Overwrite
from simcord.enums import OverwriteType

from cogs.digest import store as digest_store
from cogs.episodes import authors_store
from cogs.episodes import store as episode_store
from tests.e2e.test_delivery_exactly_once import crash_after_send, digests, notes, now

HOUR = 3600


def posts_to(env, channel_id):
    return [
        r for r in env.http_requests if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"
    ]


@pytest.mark.simcord(check_errors=False)  # the status card of 150 authors is not this test's business
async def test_a_deadline_reminder_for_150_authors_fits_and_says_how_many_more(world):
    env = world.env
    thread = await world.episode("1924-01")
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, "1924-01")
    authors = [10**17 + n for n in range(150)]
    for user_id in authors:
        await authors_store.add_author(world.bot.services.db, episode.id, user_id, world.host.id)
    r = await world.host.slash(
        world.general, "episode deadline", episode="1924-01", milestone="script", when="in 2 hours"
    )
    assert "Script" in (r.response.content or "")
    await env.advance_time(2 * HOUR + 10)
    [note] = notes(thread)
    assert len(note.content) <= 2000
    assert "more authors)" in note.content and "Script" in note.content
    pinged = posts_to(env, thread.id)[-1].json["allowed_mentions"]["users"]
    assert 0 < len(pinged) <= 100
    assert all(f"<@{u}>" in note.content for u in pinged)


async def test_a_digest_of_a_huge_archive_stops_at_ten_pages_and_says_how_many_more(world):
    env = world.env
    for n in range(400):
        await episode_store.create(
            world.bot.services.db, guild_id=world.guild.id, code=f"E{n:03d}", title="A long title " + "x" * 60,
            description=None, created_by=world.host.id, forum_id=world.forum.id, thread_id=10**17 + n,
            starter_message_id=10**17 + n,
        )  # fmt: skip
    await env.advance_time((datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC) - now()).total_seconds())
    await env.advance_time(HOUR)
    pages = digests(world.announcements)
    assert len(pages) == 10
    assert all(len(p.embeds[0].description) <= 4096 for p in pages)
    last = pages[-1].embeds[0].description
    shown = sum(p.embeds[0].description.count("• ") for p in pages)
    in_research = len(await digest_store.research_counts(world.bot.services.db, world.guild.id))
    [left] = re.findall(r"… and ([\d,]+) more not shown\.", last)
    assert shown + int(left.replace(",", "")) == 400 + in_research


async def test_show_reminder_of_several_long_private_reminders_shows_each_whole(world):
    env = world.env
    dm = world.alice.user.dm_channel
    env.inject_error("POST", f"/channels/{dm.id}/messages", status=403, code=50007, times=None)
    texts = ["a" * 1500, "b" * 1500]
    for text in texts:
        await world.alice.slash(world.general, "remind me", when="1h", text=text, private=True)
    await env.advance_time(HOUR + 10)
    [note] = [m for m in world.general.history() if "🔒" in m.content]
    r = await world.alice.click(note, label="Show reminder")
    shown = [r.response.content, *(f.content for f in r.followups)]
    assert all(len(s) <= 2000 for s in shown)
    assert all(any(text in s for s in shown) for text in texts)


@pytest.mark.simcord(check_errors=False)
async def test_an_unknown_attempt_waits_while_the_history_cannot_be_read_then_is_found(world, monkeypatch):
    env = world.env
    thread = await world.episode("1924-01")
    await world.host.slash(
        world.general, "episode deadline", episode="1924-01", milestone="script", when="in 2 hours"
    )
    # Discord accepts the reminder, then neither write about it reaches the database; and Discord
    # answers every read of the thread's messages with a 500 for a while.
    crash_after_send(monkeypatch)
    env.inject_error("GET", f"/channels/{thread.id}/messages", status=500, times=None)
    await env.advance_time(2 * HOUR + 10)
    assert len(notes(thread)) == 1
    await env.advance_time(HOUR)
    assert len(notes(thread)) == 1  # it could not look, so it did not send
    reads = [
        r for r in env.http_requests if r.method == "GET" and r.path == f"/channels/{thread.id}/messages"
    ]
    assert reads
    assert await deadline_job_states(world) == ["pending"]
    env.backend.faults.clear()
    await env.advance_time(HOUR)
    assert len(notes(thread)) == 1
    assert await deadline_job_states(world) == ["done"]


async def deadline_job_states(world):
    rows = await world.bot.services.db.fetchall(
        "SELECT state FROM jobs WHERE kind = 'deadline' AND dedupe_key LIKE '%:0' ORDER BY id"
    )
    return [r[0] for r in rows]


async def test_a_title_longer_once_escaped_is_cut_visibly_in_the_reminder(world):
    env = world.env
    title = ("The_Long_March_" * 6)[:90]  # 90 characters, more once its underscores are escaped
    r = await world.host.slash(world.general, "episode create", code="1934-10", title=title)
    assert "Created" in (r.response.content or ""), r.response.content
    thread = world.thread_of("1934-10")
    await world.host.slash(
        world.general, "episode deadline", episode="1934-10", milestone="script", when="in 2 hours"
    )
    await env.advance_time(2 * HOUR + 10)
    [note] = notes(thread)
    assert "The\\_Long\\_March" in note.content and "…" in note.content


@pytest.mark.simcord(check_errors=False)
async def test_an_unknown_attempt_in_a_channel_the_bot_may_no_longer_read_is_not_held_back(
    world, restart, caplog
):
    env = world.env
    thread = await world.episode("1924-01")
    await world.host.slash(
        world.general, "episode deadline", episode="1924-01", milestone="script", when="in 2 hours"
    )
    env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=1)  # outcome unknown
    await env.advance_time(2 * HOUR + 10)
    assert notes(thread) == []

    async def offline():
        env.backend.set_overwrite(
            world.forum.id,
            Overwrite(
                target_id=env.backend.bot_user.id,
                type=OverwriteType.MEMBER,
                allow=0,
                deny=discord.Permissions(read_message_history=True).value,
            ),
        )

    await restart(offline)
    await env.advance_time(HOUR)
    # It cannot look, and Discord would answer an empty list: rather than hold the reminder back for
    # ever, it sends it, with the nonce of the first attempt (Discord drops a copy it already has).
    assert len(notes(thread)) == 1
    assert await deadline_job_states(world) == ["done"]
    assert "cannot read channel" in caplog.text
