"""A member whose author request is decided is told exactly once: by DM, else in the thread, even
when Discord refuses for a while or the bot can't record that it told them."""

from __future__ import annotations

import sqlite3

import discord
import pytest

from bot.core import jobs as job_store
from cogs.assignments import store as request_store
from cogs.assignments.telling import Telling

CODE = "1924-01"
TELL_ASSIGNED = Telling.tell_assigned


def dms(member) -> list[str]:
    return [m.content for m in member.user.dm_channel.history()]


@pytest.fixture
async def volunteered(world):
    await world.episode(CODE)
    await world.alice.slash(world.general, "episode volunteer", episode=CODE, pitch="I know the sources")
    return world.review.last_message


async def test_a_refused_dm_is_sent_later_once(world, volunteered):
    world.env.inject_error(
        "POST", f"/channels/{world.alice.user.dm_channel.id}/messages", status=500, times=1
    )
    r = await world.host.click(volunteered, label="Approve")
    assert "I'll tell them as soon as" in r.followups[-1].content
    assert dms(world.alice) == []
    await world.env.advance_time(120)
    [dm] = dms(world.alice)
    assert "approved" in dm
    await world.env.advance_time(3600)
    assert len(dms(world.alice)) == 1
    notes = [m.content for m in world.thread_of(CODE).history() if "is now an author" in (m.content or "")]
    assert len(notes) == 1
    assert await job_store.pending(world.bot.services.db, request_store.TELL_JOB) == []


async def test_a_dm_sent_but_not_recorded_is_not_sent_again(world, volunteered, monkeypatch):
    real = request_store.told
    failures = iter([sqlite3.OperationalError("database is locked")])

    async def flaky(db, request_id, *, by_dm):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return await real(db, request_id, by_dm=by_dm)

    monkeypatch.setattr(request_store, "told", flaky)
    shown = await world.host.click(volunteered, label="Decline")
    r = await world.host.submit_modal(shown, {"reason": "Not this season"})
    assert "Declined" in r.followups[-1].content
    assert len(dms(world.alice)) == 1
    await world.env.advance_time(600)
    assert len(dms(world.alice)) == 1  # the job found the DM instead of sending it again
    request = (await request_store.list_pending(world.bot.services.db, world.guild.id)) or None
    assert request is None
    assert await job_store.pending(world.bot.services.db, request_store.TELL_JOB) == []


async def test_a_member_who_left_discord_is_told_in_the_thread(world, volunteered):
    world.env.inject_error(
        "POST", f"/channels/{world.alice.user.dm_channel.id}/messages", status=403, code=50007,
        message="Cannot send messages to this user", times=None,
    )  # fmt: skip
    shown = await world.host.click(volunteered, label="Decline")
    r = await world.host.submit_modal(shown, {"reason": "Not this season"})
    assert "told them in the thread" in r.followups[-1].content
    await world.env.advance_time(600)
    declined = [m for m in world.thread_of(CODE).history() if "declined" in (m.content or "")]
    assert len(declined) == 1


async def test_a_decision_whose_answer_never_ran_still_shows_and_is_told_after_a_restart(
    world, volunteered, restart, monkeypatch
):
    """The bot stops right after the approval is saved, before it touched Discord."""

    async def stopped(*args, **kwargs):
        raise RuntimeError("the process stopped here")

    monkeypatch.setattr("cogs.assignments.views._show_decision", stopped)
    await world.host.click(volunteered, label="Approve")
    world.env.errors.clear()
    await restart()
    await world.env.advance_time(120)
    decision = next(f.value for f in world.review.last_message.embeds[0].fields if f.name == "Decision")
    assert decision.startswith("✅ Approved")
    assert len(dms(world.alice)) == 1


# -- `/episode assign` tells the member ----------------------------------------------------------------


def thread_notes(world) -> list[discord.Message]:
    """What the bot posted in the episode's thread after the starter message."""
    return world.thread_of(CODE).history()[1:]


def pinged(world, channel, message) -> list[int]:
    """The members Discord actually notified for a message."""
    return list(world.env.backend.get_message(channel.id, message.id).ping_user_ids)


def posts_to(world, channel_id: int) -> list:
    return [
        r
        for r in world.env.http_requests
        if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"
    ]


def close_dms(world, member) -> None:
    """Discord refuses every DM to this member, as it does when their DMs are closed."""
    world.env.inject_error(
        "POST", f"/channels/{member.user.dm_channel.id}/messages", status=403, code=50007,
        message="Cannot send messages to this user", times=None,
    )  # fmt: skip


async def tells_pending(world) -> list:
    return await job_store.pending(world.bot.services.db, request_store.TELL_JOB)


async def assign(world, member=None):
    return await world.host.slash(world.general, "episode assign", episode=CODE, member=member or world.alice)


@pytest.fixture
async def episode(world):
    return await world.episode(CODE)


async def test_an_assigned_member_is_told_by_dm(world, episode):
    r = await assign(world)
    assert r.response.ephemeral
    assert r.response.content == (
        f"{world.alice.mention} is now an author of **{CODE} · Lenin's Death and Stalin's Rise**. I told them by DM."
    )
    [dm] = dms(world.alice)
    thread = world.thread_of(CODE)
    assert dm == (
        f"✍️ **indy** made you an author of **{CODE} · Lenin's Death and Stalin's Rise** in **History Hub**.\n"
        f"Its research thread, where the sources and notes are: "
        f"https://discord.com/channels/{world.guild.id}/{thread.id}"
    )
    [dm_post] = posts_to(world, world.alice.user.dm_channel.id)
    assert dm_post.json["allowed_mentions"] == {"parse": []}
    [note] = thread_notes(world)
    assert note.content == f"✍️ {world.host.mention} added {world.alice.mention} as an author of this episode."
    assert pinged(world, thread, note) == []  # told by DM: the thread's note pings nobody
    assert await tells_pending(world) == []
    await world.env.advance_time(3600)
    assert len(dms(world.alice)) == 1
    assert len(thread_notes(world)) == 1


async def test_the_host_is_answered_before_the_dm_is_sent(world, episode):
    """The DM waits its turn behind the bot's other requests: the host's answer does not wait for it, and
    is brought up to date once the member has been told."""
    before = len(world.env.http_requests)
    r = await assign(world)
    requests = [(q.method, q.path, q.json) for q in world.env.http_requests[before:]]
    answer = next(
        i
        for i, (method, path, _) in enumerate(requests)
        if method == "POST" and path.startswith("/interactions/")
    )
    dm = next(
        i
        for i, (method, path, _) in enumerate(requests)
        if method == "POST" and path == f"/channels/{world.alice.user.dm_channel.id}/messages"
    )
    assert answer < dm
    first = requests[answer][2]["data"]["content"]
    assert first.startswith(f"{world.alice.mention} is now an author of **{CODE}")
    assert "letting them know" in first
    assert r.response.content.endswith("I told them by DM.")


async def test_a_host_assigning_themselves_gets_no_dm(world, episode):
    r = await assign(world, world.host)
    assert (
        r.response.content
        == f"{world.host.mention} is now an author of **{CODE} · Lenin's Death and Stalin's Rise**."
    )
    assert dms(world.host) == []
    [note] = thread_notes(world)
    assert note.content == f"✍️ {world.host.mention} is now writing this episode."
    assert await tells_pending(world) == []


async def test_already_an_author_is_not_told_again(world, episode):
    await assign(world)
    r = await assign(world)
    assert "already an author" in r.response.content
    assert "told them" not in r.response.content
    await world.env.advance_time(600)
    assert len(dms(world.alice)) == 1


async def test_dms_closed_the_thread_mention_pings_only_that_member(world, episode):
    close_dms(world, world.alice)
    r = await assign(world)
    assert r.response.content.endswith("Their DMs are closed, so I told them in the thread.")
    assert dms(world.alice) == []
    thread = world.thread_of(CODE)
    [note] = thread_notes(world)
    assert note.content == (
        f"✍️ {world.host.mention} added {world.alice.mention} as an author of this episode.\n"
        f"{world.alice.mention}, I couldn't reach you by DM, so I'm telling you here."
    )
    [request] = [p for p in posts_to(world, thread.id) if "couldn't reach you" in p.json.get("content", "")]
    mentions = request.json["allowed_mentions"]
    assert mentions["parse"] == []  # no @everyone, no roles, no other member named in the text
    assert [int(u) for u in mentions["users"]] == [world.alice.id]
    assert not mentions.get("roles")
    assert pinged(world, thread, note) == [world.alice.id]  # the host is mentioned, not pinged
    await world.env.advance_time(3600)
    assert len(thread_notes(world)) == 1
    assert await tells_pending(world) == []


async def test_a_dm_refused_once_is_sent_later_once(world, episode):
    world.env.inject_error(
        "POST", f"/channels/{world.alice.user.dm_channel.id}/messages", status=500, times=1
    )
    r = await assign(world)
    assert r.response.content.endswith(
        "I couldn't reach them just now; I'll tell them as soon as Discord lets me."
    )
    assert dms(world.alice) == []
    await world.env.advance_time(120)
    [dm] = dms(world.alice)
    assert "made you an author" in dm
    await world.env.advance_time(3600)
    assert len(dms(world.alice)) == 1
    [note] = thread_notes(world)
    assert "added" in note.content
    assert pinged(world, world.thread_of(CODE), note) == []
    assert await tells_pending(world) == []


async def test_the_bot_stopping_before_it_told_them_tells_them_after_the_restart(
    world, episode, restart, monkeypatch
):
    """The assignment is saved, then the process stops before it touched the member's DMs."""

    async def stopped(self, job_id):
        raise RuntimeError("the process stopped here")

    monkeypatch.setattr(Telling, "tell_assigned", stopped)
    await assign(world)
    world.env.errors.clear()
    assert dms(world.alice) == []
    monkeypatch.setattr(Telling, "tell_assigned", TELL_ASSIGNED)  # the next process tells as usual
    await restart()
    await world.env.advance_time(120)
    assert len(dms(world.alice)) == 1
    assert len(thread_notes(world)) == 1
    await world.env.advance_time(3600)
    assert len(dms(world.alice)) == 1
    assert await tells_pending(world) == []


async def test_a_dm_sent_but_not_recorded_before_a_restart_is_not_sent_again(
    world, episode, restart, monkeypatch
):
    real = request_store.told_of_assignment
    failures = iter([sqlite3.OperationalError("database is locked")])

    async def flaky(db, job_id, episode, note):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return await real(db, job_id, episode, note)

    monkeypatch.setattr(request_store, "told_of_assignment", flaky)
    r = await assign(world)
    assert "as soon as Discord lets me" in r.response.content
    assert len(dms(world.alice)) == 1
    await restart()
    await world.env.advance_time(600)
    assert len(dms(world.alice)) == 1  # the job found the DM instead of sending it again
    [note] = thread_notes(world)
    assert pinged(world, world.thread_of(CODE), note) == []
    assert await tells_pending(world) == []


async def test_assigned_again_before_being_told_is_told_once(world, episode):
    world.env.inject_error(
        "POST", f"/channels/{world.alice.user.dm_channel.id}/messages", status=500, times=1
    )
    await assign(world)
    await world.host.slash(world.general, "episode unassign", episode=CODE, member=world.alice)
    r = await assign(world)
    assert r.response.content.endswith("I told them by DM.")
    await world.env.advance_time(3600)
    assert len(dms(world.alice)) == 1
    assert await tells_pending(world) == []


async def test_removed_before_being_told_hears_nothing(world, episode):
    world.env.inject_error(
        "POST", f"/channels/{world.alice.user.dm_channel.id}/messages", status=500, times=1
    )
    await assign(world)
    await world.host.slash(world.general, "episode unassign", episode=CODE, member=world.alice)
    await world.env.advance_time(3600)
    assert dms(world.alice) == []
    assert not [n for n in thread_notes(world) if "added" in n.content]
    assert await tells_pending(world) == []


async def test_assigning_a_bot_is_refused(world, episode):
    robot = world.guild.add_member(world.env.create_user("carl-bot", bot=True))
    r = await assign(world, robot)
    assert r.response.ephemeral
    assert r.response.content == "Bots can't write episodes: pick a member."
    assert await tells_pending(world) == []
    assert thread_notes(world) == []
