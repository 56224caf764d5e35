"""Notes the bot posts in an episode's thread are kept until Discord takes them, and posted once."""

from __future__ import annotations

import sqlite3

from bot.core import jobs as job_store
from cogs.episodes import posts_store

CODE = "1924-01"


def notes(world, code: str = CODE) -> list[str]:
    return [m.content for m in world.thread_of(code).history()[1:]]


async def move(world, status: str = "writing", note: str | None = "Script time"):
    options = {"episode": CODE, "status": status} | ({"note": note} if note else {})
    return await world.host.slash(world.general, "episode status", **options)


async def test_a_refused_status_note_is_posted_later_once(world):
    thread = await world.episode(CODE)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=1)
    r = await move(world)
    assert "now **Writing**" in r.response.content
    assert "shortly" in r.followups[-1].content
    assert notes(world) == []
    await world.env.advance_time(120)
    [note] = notes(world)
    assert "to **Writing**" in note and "Script time" in note
    await world.env.advance_time(3600)
    assert len(notes(world)) == 1
    assert await job_store.pending(world.bot.services.db, posts_store.NOTE_JOB) == []


async def test_a_note_refused_until_a_restart_is_posted_after_it(world, restart):
    thread = await world.episode(CODE)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=503, times=None)
    await move(world)
    await world.env.advance_time(60)
    assert notes(world) == []
    await restart(lambda: _clear(world))
    await world.env.advance_time(120)
    assert len(notes(world)) == 1


async def _clear(world) -> None:
    world.env.backend.faults.clear()  # Discord takes posts again while the bot is away


async def test_a_note_posted_but_not_recorded_is_not_posted_again(world, monkeypatch):
    await world.episode(CODE)
    real = posts_store.note_posted
    failures = iter([sqlite3.OperationalError("database is locked")])

    async def flaky(db, note_id, message_id):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        await real(db, note_id, message_id)

    monkeypatch.setattr(posts_store, "note_posted", flaky)
    await move(world)
    assert len(notes(world)) == 1  # Discord took it; the bot could not write that down
    await world.env.advance_time(600)
    assert len(notes(world)) == 1  # the retry found it instead of posting it again
    assert await job_store.pending(world.bot.services.db, posts_store.NOTE_JOB) == []


async def test_author_and_request_notes_are_kept_too(world):
    thread = await world.episode(CODE)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=2)
    await world.host.slash(world.general, "episode assign", episode=CODE, member=world.alice)
    await world.bob.slash(world.general, "episode volunteer", episode=CODE)
    assert notes(world) == []
    await world.env.advance_time(120)
    assert sorted(notes(world)) == sorted(
        [
            f"✍️ {world.host.mention} added {world.alice.mention} as an author of this episode.",
            f"🙋 {world.bob.mention} would like to write this episode.",
        ]
    )


async def test_a_change_whose_card_update_never_ran_is_brought_up_to_date_at_start(
    world, restart, monkeypatch
):
    """The bot stops right after a change is saved, before it touched Discord: the card and the note
    still follow once it is back."""
    await world.episode(CODE)
    service = world.bot.services.episodes

    async def stopped(*args, **kwargs):
        raise RuntimeError("the process stopped here")

    monkeypatch.setattr(service.posts, "sync_card", stopped)
    monkeypatch.setattr(service.notes, "deliver_note", stopped)
    await move(world)
    world.env.errors.clear()
    await restart()
    await world.env.advance_time(120)
    card = world.thread_of(CODE).history()[0].embeds[0]
    assert next(f.value for f in card.fields if f.name == "Status") == "Writing"
    assert len(notes(world)) == 1
    assert {t.name for t in world.bot.get_channel(world.thread_of(CODE).id).applied_tags} == {
        "Writing",
        "Needs Author",
    }
