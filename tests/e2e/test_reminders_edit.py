"""`/remind edit`: owner only, what changes and what is refused, and edits racing a delivery: whatever
the order, one delivery, and an answer that says what really happened."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest

from bot.core import outbox_store
from bot.errors import ArchivistError
from cogs.reminders import store as reminder_store
from tests.e2e.clock import HOUR, advance_to, at, reminders_in, stamp


async def remind(member, channel, when="2026-01-02 09:00", text="Check the Krupskaya spelling", **kw) -> str:
    r = await member.slash(channel, "remind me", when=when, text=text, **kw)
    assert "Reminder #" in r.response.content, r.response.content
    return r.response.content.split("#", 1)[1].split(":", 1)[0]


async def edit(member, channel, reminder: str, **changes) -> str:
    r = await member.slash(channel, "remind edit", reminder=reminder, **changes)
    assert r.response.ephemeral
    return r.response.content


async def test_the_owner_changes_time_text_and_repetition(world):
    env = world.env
    rid = await remind(world.alice, world.general)
    answer = await edit(
        world.alice, world.general, rid, when="2026-01-03 18:00", text="Krupskaya, not Krupskaja"
    )
    assert answer.startswith(f"✏️ Reminder #{rid} changed (time, text)")
    assert stamp(at(2026, 1, 3, 18)) in answer and "Krupskaya, not Krupskaja" in answer
    await advance_to(env, at(2026, 1, 3, 12))
    assert reminders_in(world.general) == []  # not at the old time
    answer = await edit(world.alice, world.general, rid, repeat="daily")
    assert "changed (repetition)" in answer and "repeats every day at 18:00 UTC" in answer
    await advance_to(env, at(2026, 1, 5, 12))
    messages = reminders_in(world.general)
    assert [m.created_at.astimezone(UTC).replace(second=0, microsecond=0) for m in messages] == [
        at(2026, 1, 3, 18), at(2026, 1, 4, 18)
    ]  # fmt: skip
    assert all(m.content.endswith("\nKrupskaya, not Krupskaja") for m in messages)


async def test_repeat_none_removes_the_repetition(world):
    env = world.env
    rid = await remind(world.alice, world.general, text="Daily Veles note", repeat="daily")
    await advance_to(env, at(2026, 1, 2, 12))
    answer = await edit(world.alice, world.general, rid, repeat="none")
    assert "changed (repetition)" in answer and "repeats" not in answer.split("(repetition)")[1]
    await advance_to(env, at(2026, 1, 6))
    assert len(reminders_in(world.general)) == 2  # the 2nd, and the 3rd as a one-off; then no more


async def test_an_edit_of_a_repeating_reminders_time_moves_the_series(world):
    env = world.env
    await world.alice.slash(world.general, "remind timezone", tz="Europe/Berlin")
    rid = await remind(world.alice, world.general, text="Spartacus chapter", repeat="daily")
    answer = await edit(world.alice, world.general, rid, when="2026-01-02 07:30")
    assert "repeats every day at 07:30 Europe/Berlin" in answer
    await advance_to(env, at(2026, 1, 4, 12))
    times = [
        m.created_at.astimezone(UTC).replace(second=0, microsecond=0) for m in reminders_in(world.general)
    ]
    assert times == [at(2026, 1, d, 6, 30) for d in (2, 3, 4)]


async def test_edit_suggestions_are_the_same_as_cancel(world):
    await remind(world.alice, world.general, text="first thing")
    await remind(world.alice, world.general, when="2026-01-03 09:00", text="second thing")
    for typed in ("", "second"):
        edit_choices = await world.alice.autocomplete(world.general, "remind edit", "reminder", typed)
        cancel_choices = await world.alice.autocomplete(world.general, "remind cancel", "reminder", typed)
        assert edit_choices == cancel_choices
    assert await world.bob.autocomplete(world.general, "remind edit", "reminder", "") == []


async def test_refusals(world):
    env = world.env
    rid = await remind(world.alice, world.general)
    assert "someone else" in await edit(world.bob, world.general, rid, text="Bob's words")
    assert "Tell me what to change" in await edit(world.alice, world.general, rid)
    assert "already like that" in await edit(
        world.alice, world.general, rid, text="Check the Krupskaya spelling"
    )
    assert "no reminder" in await edit(world.alice, world.general, "424242", text="x")
    assert "in the past" in await edit(world.alice, world.general, rid, when="yesterday")
    assert "1 to 365" in await edit(world.alice, world.general, rid, repeat="every 0 days")
    assert "1,501" in await edit(world.alice, world.general, rid, text="y" * 1501)
    # Nothing above changed it.
    [stored] = await reminder_store.pending_for(world.bot.services.db, world.guild.id, world.alice.id)
    assert (stored.text, stored.due_at, stored.repeat, stored.revision) == (
        "Check the Krupskaya spelling", at(2026, 1, 2, 9), None, 0,
    )  # fmt: skip
    await advance_to(env, at(2026, 1, 2, 12))
    answer = await edit(world.alice, world.general, rid, text="too late")
    assert "not pending any more (delivered)" in answer
    [message] = reminders_in(world.general)
    assert message.content.endswith("\nCheck the Krupskaya spelling")


async def test_a_delivery_discord_has_not_confirmed_cannot_be_edited(world):
    """A send answered with a 500 may have arrived: until the retry settles it, an edit is refused."""
    env = world.env
    rid = await remind(world.alice, world.general, text="Lenin's testament, 1924")
    env.inject_error("POST", f"/channels/{world.general.id}/messages", status=500, times=1)
    await advance_to(env, at(2026, 1, 2, 9, 0, 10))
    assert reminders_in(world.general) == []
    answer = await edit(world.alice, world.general, rid, text="changed my mind")
    assert "being delivered right now" in answer
    await env.advance_time(HOUR)
    [message] = reminders_in(world.general)
    assert message.content.endswith("\nLenin's testament, 1924")
    assert "not pending any more" in await edit(world.alice, world.general, rid, text="changed my mind")


@pytest.mark.parametrize("repeat", [None, "daily"])
async def test_an_edit_while_the_send_is_in_flight_is_refused_and_says_so(world, monkeypatch, repeat):
    """The edit arrives after the delivery recorded its intent and before Discord answered."""
    env = world.env
    extra = {"repeat": repeat} if repeat else {}
    rid = await remind(world.alice, world.general, text="Veles, god of cattle", **extra)
    service = world.bot.services.reminders
    answers: list[str] = []
    real = outbox_store.begin_send

    async def begin_then_edit(*args, **kwargs):
        send_id = await real(*args, **kwargs)
        if not answers:
            try:
                done = await service.edit(
                    world.guild.id, world.alice.id, rid, text="Veles, god of the underworld"
                )
                answers.append(f"changed {done.changed}")
            except ArchivistError as exc:
                answers.append(str(exc))
        return send_id

    monkeypatch.setattr(outbox_store, "begin_send", begin_then_edit)
    await advance_to(env, at(2026, 1, 2, 9, 0, 10))
    [answer] = answers
    assert "being delivered right now" in answer
    assert ("next time" in answer) is bool(repeat)
    [message] = reminders_in(world.general)
    assert message.content.endswith("\nVeles, god of cattle")
    monkeypatch.setattr(outbox_store, "begin_send", real)
    later = await edit(world.alice, world.general, rid, text="Veles, god of the underworld")
    if repeat is None:
        assert "not pending any more (delivered)" in later
        await advance_to(env, at(2026, 1, 4))
        assert len(reminders_in(world.general)) == 1
    else:
        assert "changed (text)" in later and stamp(at(2026, 1, 3, 9)) in later
        await advance_to(env, at(2026, 1, 3, 12))
        assert [m.content.rsplit("\n", 1)[1] for m in reminders_in(world.general)] == [
            "Veles, god of cattle", "Veles, god of the underworld"
        ]  # fmt: skip


@pytest.mark.parametrize("edit_first", [True, False])
@pytest.mark.parametrize("change", ["text", "when"])
async def test_an_edit_at_the_very_due_moment_ends_consistent(world, restart, edit_first, change):
    """The edit and the delivery round run at once (interleaved on the event loop), in either order: the
    reminder is delivered exactly once, and it is the edited one exactly when the edit said it changed."""
    env = world.env
    rid = await remind(world.alice, world.general, text="Spartacus, old text", repeat="daily")
    scheduler = world.bot.services.scheduler
    await scheduler.stop()  # the round below is the one that delivers
    await advance_to(env, at(2026, 1, 2, 9, 0, 5))
    service = world.bot.services.reminders
    changes = {"text": "Spartacus, new text"} if change == "text" else {"when": "2026-01-02 15:00"}

    async def do_edit() -> str:
        try:
            return f"changed {(await service.edit(world.guild.id, world.alice.id, rid, **changes)).changed}"
        except ArchivistError as exc:
            return str(exc)

    if edit_first:
        answer, _ = await asyncio.gather(do_edit(), scheduler.run_due_now())
    else:
        _, answer = await asyncio.gather(scheduler.run_due_now(), do_edit())
    edited = answer.startswith("changed")
    assert edited or "being delivered" in answer or "delivered just now" in answer, answer
    await restart()  # the handlings ran in the test's task: a fresh bot goes on from what is stored
    await advance_to(env, at(2026, 1, 2, 18))
    texts = [m.content.rsplit("\n", 1)[1] for m in reminders_in(world.general)]
    [stored] = await reminder_store.pending_for(world.bot.services.db, world.guild.id, world.alice.id)
    if change == "text":
        assert texts == (["Spartacus, new text"] if edited else ["Spartacus, old text"])
        assert stored.due_at == at(2026, 1, 3, 9)
    else:
        # Moved to 15:00 before any delivery: delivered then, and the series follows 15:00.
        assert texts == ["Spartacus, old text"]
        assert stored.due_at == (at(2026, 1, 3, 15) if edited else at(2026, 1, 3, 9))
    assert stored.sending_due is None
