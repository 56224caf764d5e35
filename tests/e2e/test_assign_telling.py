"""A member whose author request is decided is told exactly once: by DM, else in the thread, even
when Discord refuses for a while or the bot can't record that it told them."""

from __future__ import annotations

import sqlite3

import pytest

from bot.core import jobs as job_store
from cogs.assignments import store as request_store

CODE = "1924-01"


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
